import { exposedService as svc, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

const bgp = (cidrs: string[]) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'BGPConfiguration',
  metadata: { name: 'default' },
  spec: { serviceClusterIPs: cidrs.map((cidr) => ({ cidr })) },
});

export const cases: RuleCase[] = [
  { name: 'nothing known: silent', object: svc, expect: [] },
  { name: 'inside configured CIDR', object: svc, config: { network: { advertisedServiceCIDRs: ['10.96.0.0/24'] } }, expect: [] },
  { name: 'outside configured CIDR', object: svc, config: { network: { advertisedServiceCIDRs: ['10.96.1.0/24'] } }, expect: ['spec.clusterIP'], messageIncludes: ['10.96.0.40', '10.96.1.0/24'] },
  { name: 'BGPConfiguration wins over config', object: svc, config: { network: { advertisedServiceCIDRs: ['10.96.1.0/24'] } }, cluster: { bgpConfiguration: bgp(['10.96.0.0/16']) }, expect: [] },
  { name: 'BGPConfiguration excludes it', object: svc, cluster: { bgpConfiguration: bgp(['10.97.0.0/16']) }, expect: ['spec.clusterIP'] },
  { name: 'BGPConfiguration advertises nothing', object: svc, cluster: { bgpConfiguration: bgp([]) }, expect: ['spec.clusterIP'], messageIncludes: ['advertises no service cluster IPs'] },
  {
    name: 'dual-stack: IPv6 outside',
    object: tweak(svc, { spec: { clusterIPs: ['10.96.0.40', 'fd00:10:96::40'] } }),
    cluster: { bgpConfiguration: bgp(['10.96.0.0/16', 'fd00:10:97::/112']) },
    expect: ['spec.clusterIPs[1]'],
  },
  { name: 'dual-stack: both inside', object: tweak(svc, { spec: { clusterIPs: ['10.96.0.40', 'fd00:10:96::40'] } }), cluster: { bgpConfiguration: bgp(['10.96.0.0/16', 'fd00:10:96::/112']) }, expect: [] },
  { name: 'not exposed', object: withLabels(svc, {}), cluster: { bgpConfiguration: bgp(['10.97.0.0/16']) }, expect: [] },
  { name: 'headless', object: tweak(svc, { spec: { clusterIP: 'None' } }), cluster: { bgpConfiguration: bgp(['10.97.0.0/16']) }, expect: [] },
];
