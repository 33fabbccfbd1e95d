import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { KubeObject } from '../../../src/admission/types.ts';
import { exposedService, tweak } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';
import { guideCluster, guidePolicy, policy } from '../guide.ts';

const deny = YAML.parse(readFileSync(new URL('../../fixtures/guide-with-deny/deny-cluster-ips.yaml', import.meta.url), 'utf8')) as KubeObject;
const svcA: KubeObject = tweak(exposedService, { metadata: { namespace: 'default' }, spec: { clusterIP: '10.20.30.40', ports: [{ port: 443, protocol: 'TCP' }] } });
const svcB: KubeObject = tweak(exposedService, { metadata: { name: 'svc-b', namespace: 'default' }, spec: { clusterIP: '10.20.30.41', ports: [{ port: 80, protocol: 'TCP' }] } });
const many: KubeObject[] = Array.from({ length: 40 }, (_, i) => tweak(exposedService, { metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { clusterIP: `10.20.30.${100 + i}`, ports: [{ port: 443, protocol: 'TCP' }] } }));
const withServices = (c: ReturnType<typeof guideCluster>, services: KubeObject[] = [svcA, svcB]) => ({ ...c, exposedServices: services });
const guideAllows = guidePolicy('allow-cluster-ips').spec!['ingress'] as unknown[];
// Rule 0 loses its source nets (everyone may reach cluster IP A); rule 1 (cluster IP B) stays.
const widened = tweak(guidePolicy('allow-cluster-ips'), { spec: { ingress: [{ action: 'Allow', destination: { nets: ['10.20.30.40/32'] } }, guideAllows[1]] } });

export const cases: RuleCase[] = [
  {
    name: 'adding the deny: svc-a and svc-b are no longer reachable from everyone else',
    object: deny,
    cluster: withServices(guideCluster()),
    expect: ['spec'],
    messageIncludes: ['default/svc-a 10.20.30.40:443/TCP is no longer reachable from 0.0.0.0/0 except 50.60.0.0/16 (still from 50.60.0.0/16)', 'default/svc-b 10.20.30.41:80/TCP is no longer reachable from 0.0.0.0/0 except 70.80.90.0/24'],
  },
  {
    name: 'UPDATE widening the allow for cluster IP A behind the deny: svc-a becomes reachable from 0.0.0.0/0, svc-b unchanged',
    object: widened,
    operation: 'UPDATE',
    oldObject: guidePolicy('allow-cluster-ips'),
    cluster: withServices(guideCluster({ plus: [deny] })),
    expect: ['spec'],
    messageIncludes: ['after this change, default/svc-a 10.20.30.40:443/TCP becomes reachable from 0.0.0.0/0 (was 50.60.0.0/16)'],
  },
  {
    name: 'DELETE of the deny: the after state lacks it',
    object: deny,
    operation: 'DELETE',
    oldObject: deny,
    cluster: withServices(guideCluster({ plus: [deny] })),
    expect: ['metadata.name'],
    messageIncludes: ['becomes reachable from 0.0.0.0/0 (was 50.60.0.0/16)'],
  },
  { name: 'a policy that cannot touch the cluster IPs: silent', object: policy('allow-ssh', { types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }] }), cluster: withServices(guideCluster({ plus: [deny] })), expect: [] },
  { name: 'a change that keeps every answer: silent', object: guidePolicy('allow-cluster-ips'), operation: 'UPDATE', oldObject: guidePolicy('allow-cluster-ips'), cluster: withServices(guideCluster({ plus: [deny] })), expect: [] },
  {
    name: 'many Services change: the list is capped with a count',
    object: deny,
    cluster: withServices(guideCluster(), many),
    expect: ['spec'],
    messageIncludes: ['more exposed Service ports change.'],
  },
  { name: 'static fallback: nothing to compare', object: deny, expect: [] },
];
