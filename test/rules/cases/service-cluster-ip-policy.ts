import type { KubeObject } from '../../../src/admission/types.ts';
import { exposedService, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';
import { guideCluster } from '../guide.ts';

const svcA: KubeObject = tweak(exposedService, { spec: { clusterIP: '10.20.30.40', ports: [{ port: 80, protocol: 'TCP' }] } });
const svcB: KubeObject = tweak(exposedService, { metadata: { name: 'svc-b' }, spec: { clusterIP: '10.20.30.41' } });

export const cases: RuleCase[] = [
  { name: 'guide set: cluster IP A allowed', object: svcA, cluster: guideCluster(), expect: [] },
  { name: 'guide set: cluster IP B allowed', object: svcB, cluster: guideCluster(), expect: [] },
  { name: 'allow-cluster-ips removed', object: svcA, cluster: guideCluster({ without: ['allow-cluster-ips'] }), expect: ['spec.clusterIP'], messageIncludes: ['10.20.30.40', 'preDNAT: true'] },
  { name: 'an IP no policy names', object: tweak(svcA, { spec: { clusterIP: '10.20.30.99' } }), cluster: guideCluster(), expect: ['spec.clusterIP'] },
  { name: 'not exposed', object: withLabels(svcA, {}), cluster: guideCluster({ without: ['allow-cluster-ips'] }), expect: [] },
  { name: 'Local mode is secured by pod policy', object: tweak(svcA, { spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } }), cluster: guideCluster({ without: ['allow-cluster-ips'] }), expect: [] },
  { name: 'static fallback: policies unknown', object: svcA, expect: [] },
  { name: 'a null port entry is skipped', object: tweak(svcA, { spec: { ports: [null, { port: 80, protocol: 'TCP' }] } }), cluster: guideCluster({ without: ['allow-cluster-ips'] }), expect: ['spec.clusterIP'] },
  { name: 'a port with a protocol Services do not have is skipped', object: tweak(svcA, { spec: { ports: [{ port: 80, protocol: 'all()' }] } }), cluster: guideCluster({ without: ['allow-cluster-ips'] }), expect: [] },
  { name: 'port 0 is skipped', object: tweak(svcA, { spec: { ports: [{ port: 0 }] } }), cluster: guideCluster({ without: ['allow-cluster-ips'] }), expect: [] },
];
