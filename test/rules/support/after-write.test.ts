/**
 * Host-endpoint classes are derived per cluster snapshot: two snapshots that share their
 * HostEndpoint array but hold different policies must each get their own answer.
 */
import t from 'tap';
import { hostEndpointClasses } from '../../../src/rules/support/after-write.ts';
import { config, hostEndpoint, preDNATPolicy, snapshot, tweak, withLabels } from '../../helpers.ts';

const cfg = config();
const hostEndpoints = [hostEndpoint, withLabels(tweak(hostEndpoint, { metadata: { name: 'edge1-eth0' } }), { 'k8s-role': 'edge' })];
const nodesPolicy = preDNATPolicy;
const edgePolicy = tweak(preDNATPolicy, { metadata: { name: 'allow-edge' }, spec: { selector: "k8s-role == 'edge'" } });

const policiesBy = (cluster: ReturnType<typeof snapshot>): Record<string, string[]> =>
  Object.fromEntries(hostEndpointClasses({ cluster, config: cfg }).map((c) => [c.representative.name, c.policies.map((p) => p.name)]));

t.test('two snapshots sharing the HostEndpoint array follow their own policies', async (t) => {
  const first = snapshot({ source: 'cluster', hostEndpoints, globalNetworkPolicies: [nodesPolicy] });
  const second = snapshot({ source: 'cluster', hostEndpoints, globalNetworkPolicies: [nodesPolicy, edgePolicy] });
  t.equal(first.hostEndpoints, second.hostEndpoints, 'the array is shared');
  t.same(policiesBy(first), { 'node1-eth0': ['allow-cluster-ips'], 'edge1-eth0': [] });
  t.same(policiesBy(second), { 'node1-eth0': ['allow-cluster-ips'], 'edge1-eth0': ['allow-edge'] }, 'the second snapshot sees its edge policy');
  t.same(policiesBy(first), { 'node1-eth0': ['allow-cluster-ips'], 'edge1-eth0': [] }, 'and the first still answers for itself');
});

t.test('two snapshots sharing the policy array follow their own host endpoints', async (t) => {
  const policies = [nodesPolicy, edgePolicy];
  const first = snapshot({ source: 'cluster', hostEndpoints: [hostEndpoint], globalNetworkPolicies: policies });
  const second = snapshot({ source: 'cluster', hostEndpoints, globalNetworkPolicies: policies });
  t.same(policiesBy(first), { 'node1-eth0': ['allow-cluster-ips'] });
  t.same(policiesBy(second), { 'node1-eth0': ['allow-cluster-ips'], 'edge1-eth0': ['allow-edge'] });
});

t.test('one snapshot is derived once', async (t) => {
  const cluster = snapshot({ source: 'cluster', hostEndpoints, globalNetworkPolicies: [nodesPolicy] });
  t.equal(hostEndpointClasses({ cluster, config: cfg }), hostEndpointClasses({ cluster, config: cfg }), 'the same classes object');
});

t.test('a change elsewhere in the cluster keeps what was derived from the host endpoints and policies', async (t) => {
  const before = snapshot({ source: 'cluster', hostEndpoints, globalNetworkPolicies: [nodesPolicy] });
  // A new snapshot after a Service or NetworkPolicy change: the store keeps the unchanged lists.
  const after = { ...before, exposedServices: [...before.exposedServices], networkPolicies: [] };
  t.not(after, before);
  t.equal(hostEndpointClasses({ cluster: after, config: cfg }), hostEndpointClasses({ cluster: before, config: cfg }), 'the same classes object');
  t.not(hostEndpointClasses({ cluster: before, config: config({ network: { hostEndpointSelector: "k8s-role == 'edge'" } }) }), hostEndpointClasses({ cluster: before, config: cfg }), 'another config derives its own');
});
