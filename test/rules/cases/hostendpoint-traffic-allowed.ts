import type { KubeObject } from '../../../src/admission/types.ts';
import type { RuleCase } from '../case.ts';
import { guide, guideCluster, policy } from '../guide.ts';

const hep = (name: string, node: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'HostEndpoint',
  metadata: { name, labels },
  spec: { node, interfaceName: 'eth0', expectedIPs: ['10.0.0.13'] },
});
const node3 = hep('node3-eth0', 'node3', { 'k8s-role': 'node' });
const node3Bare = hep('node3-eth0', 'node3');
const normalForward = policy('forward-ssh-only', { applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }] });
const node1 = guide('host-endpoints')[0]!;

export const cases: RuleCase[] = [
  { name: 'labelled like the guide: host and pod traffic allowed', object: node3, cluster: guideCluster(), expect: [] },
  {
    name: 'no label: no policy allows host traffic',
    object: node3Bare,
    cluster: guideCluster(),
    expect: ['metadata.labels'],
    messageIncludes: ['after this write, TCP/UDP traffic to host node3', 'outside the node-port range 30000:32767', "host endpoint's default deny", 'no policy selects it'],
  },
  { name: 'UPDATE dropping the label', operation: 'UPDATE', object: node3Bare, oldObject: node3, cluster: guideCluster(), expect: ['metadata.labels'] },
  { name: 'UPDATE of an endpoint that was cut off already', operation: 'UPDATE', object: node3Bare, oldObject: node3Bare, cluster: guideCluster(), expect: [] },
  {
    name: 'forward policy without the pod-CIDR allow drops forwarded pod traffic',
    object: node3,
    cluster: guideCluster({ without: ['allow-to-pods'], plus: [normalForward] }),
    expect: ['metadata.labels'],
    messageIncludes: ['forwarded pod traffic (TCP/UDP) through node3', '192.168.0.0/16', 'forward-path default deny'],
  },
  { name: 'existing endpoint cut off: reported without "after this write"', mode: 'existing', object: node3Bare, cluster: guideCluster(), expect: ['metadata.labels'], messageIncludes: ['TCP/UDP traffic to host node3'] },
  { name: 'existing guide endpoint', mode: 'existing', object: node1, cluster: guideCluster(), expect: [] },
  { name: 'static fallback: policies unknown', object: node3Bare, expect: [] },
  {
    name: "DELETE of a node's last endpoint lifts the pre-DNAT policies",
    operation: 'DELETE',
    object: node1,
    oldObject: node1,
    cluster: guideCluster(),
    expect: ['metadata.name'],
    messageIncludes: ['node node1 has no host endpoint left', '"allow-cluster-ips"'],
  },
  {
    name: 'DELETE while the node keeps another endpoint',
    operation: 'DELETE',
    object: node1,
    oldObject: node1,
    cluster: { ...guideCluster(), hostEndpoints: [...guide('host-endpoints'), hep('node1-eth1', 'node1', { 'k8s-role': 'node' })] },
    expect: [],
  },
  { name: 'DELETE of an endpoint no pre-DNAT policy selects', operation: 'DELETE', object: node3Bare, oldObject: node3Bare, cluster: guideCluster(), expect: [] },
];
