import { hostEndpoint, preDNATPolicy as p, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

const normal = tweak(p, { spec: { preDNAT: undefined, applyOnForward: undefined } });

export const cases: RuleCase[] = [
  { name: 'already preDNAT', object: p, expect: [] },
  { name: 'nets outside service ranges', object: tweak(normal, { spec: { ingress: [{ action: 'Allow', destination: { nets: ['192.168.0.0/16'] } }] } }), expect: [] },
  { name: 'selector is not the host-endpoint selector', object: tweak(normal, { spec: { selector: "app == 'web'" } }), expect: [] },
  { name: 'doNotTrack policy left alone', object: tweak(normal, { spec: { doNotTrack: true, applyOnForward: true } }), expect: [] },
  {
    name: 'host-endpoint policy on a cluster IP',
    object: normal,
    expect: ['spec.preDNAT'],
    messageIncludes: ['10.96.0.40/32', 'spec.ingress[0]'],
    patched: { spec: { preDNAT: true, applyOnForward: true } },
  },
  { name: 'selector text differs but means the same', object: tweak(normal, { spec: { selector: 'k8s-role=="node"' } }), expect: ['spec.preDNAT'] },
  { name: 'advertised CIDR counts as a service range', object: tweak(normal, { spec: { ingress: [{ action: 'Allow', destination: { nets: ['172.30.0.10/32'] } }] } }), config: { network: { advertisedServiceCIDRs: ['172.30.0.0/24'] } }, expect: ['spec.preDNAT'] },
  { name: 'selects a known HostEndpoint', object: tweak(normal, { spec: { selector: "has(k8s-role)" } }), cluster: { hostEndpoints: [hostEndpoint] }, expect: ['spec.preDNAT'] },
  { name: 'selects no known HostEndpoint', object: normal, cluster: { hostEndpoints: [withLabels(hostEndpoint, { 'k8s-role': 'edge' })] }, expect: [] },
  { name: 'egress rules: cannot patch', object: tweak(normal, { spec: { types: ['Ingress', 'Egress'], egress: [{ action: 'Allow' }] } }), expect: ['spec.preDNAT'], unpatchable: true, messageIncludes: ['separate policy'] },
];
