import type { RuleCase } from '../case.ts';
import { guide, guideCluster, guidePolicy, policy } from '../guide.ts';

// An all-interfaces endpoint listed first, with the labels of the guide's eth0 ones: untracked policy skips it only.
const allInterfaces = { ...guide('host-endpoints')[0]!, metadata: { name: 'node3-all', labels: { 'k8s-role': 'node' } }, spec: { node: 'node3', interfaceName: '*', expectedIPs: ['10.0.0.13'] } };

export const cases: RuleCase[] = [
  ...['allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints'].map((name) => ({ name: `guide set: ${name}`, object: guidePolicy(name), cluster: guideCluster(), expect: [] })),
  {
    name: 'host-traffic policy removed',
    object: guidePolicy('allow-to-pods'),
    cluster: guideCluster({ without: ['allow-traffic-hostendpoints'] }),
    expect: ['spec'],
    messageIncludes: ['TCP/UDP', "host endpoints selected by \"k8s-role == 'node'\"", 'ports outside 30000:32767', 'notPorts ["30000:32767"]'],
  },
  {
    name: 'a TCP-only host policy leaves UDP dropped',
    object: policy('allow-host-tcp', { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { notPorts: ['30000:32767'] } }] }),
    cluster: guideCluster({ without: ['allow-traffic-hostendpoints'] }),
    expect: ['spec'],
    messageIncludes: ['UDP traffic'],
  },
  {
    name: 'a normal Deny ahead of the guide policy',
    object: policy('deny-host', { order: 1, ingress: [{ action: 'Deny', protocol: 'TCP' }] }),
    cluster: guideCluster(),
    expect: ['spec'],
    messageIncludes: ['ingress rule 0 (Deny) of policy "deny-host"'],
  },
  {
    name: 'an untracked Deny drops on eth0 endpoints, though not on an all-interfaces one alike in labels',
    object: policy('untracked-deny', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP' }] }),
    cluster: { ...guideCluster(), hostEndpoints: [allInterfaces, ...guide('host-endpoints')] },
    expect: ['spec'],
    messageIncludes: ['TCP traffic', '(e.g. "node1-eth0")'],
  },
  { name: 'static fallback: other policies unknown', object: guidePolicy('allow-to-pods'), expect: [] },
  {
    name: 'DELETE of allow-traffic-hostendpoints cuts host traffic',
    operation: 'DELETE',
    object: guidePolicy('allow-traffic-hostendpoints'),
    oldObject: guidePolicy('allow-traffic-hostendpoints'),
    cluster: guideCluster(),
    expect: ['spec'],
    messageIncludes: ['after deleting GlobalNetworkPolicy "allow-traffic-hostendpoints"', 'TCP/UDP', 'ports outside 30000:32767'],
  },
  { name: 'DELETE of allow-cluster-ips leaves host traffic allowed', operation: 'DELETE', object: guidePolicy('allow-cluster-ips'), oldObject: guidePolicy('allow-cluster-ips'), cluster: guideCluster(), expect: [] },
  {
    name: 'DELETE when host traffic was dropped already is not the delete\'s doing',
    operation: 'DELETE',
    object: guidePolicy('allow-cluster-ips'),
    oldObject: guidePolicy('allow-cluster-ips'),
    cluster: guideCluster({ without: ['allow-traffic-hostendpoints'] }),
    expect: [],
  },
  { name: 'existing policy: judged on the HostEndpoint instead', mode: 'existing', object: guidePolicy('allow-to-pods'), cluster: guideCluster({ without: ['allow-traffic-hostendpoints'] }), expect: [] },
];
