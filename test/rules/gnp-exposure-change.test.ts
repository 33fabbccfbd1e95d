import t from 'tap';
import { gnpExposureChange } from '../../src/rules/gnp-exposure-change.ts';
import { config, snapshot } from '../helpers.ts';
import { cases } from './cases/gnp-exposure-change.ts';

const run = (name: string) => {
  const c = cases.find((x) => x.name.startsWith(name))!;
  return gnpExposureChange.check({ stage: 'validate', operation: c.operation ?? 'CREATE', object: c.object, oldObject: c.oldObject ?? null, config: config({}), cluster: snapshot(c.cluster ?? {}) });
};

t.test('only the Services whose answer changes are named', async (t) => {
  const [f] = run('UPDATE widening');
  t.match(f!.message, /svc-a/);
  t.notMatch(f!.message, /svc-b/);
});

t.test('an existing policy is not a change: silent in an audit (each Service is judged by service-cluster-ip-open)', async (t) => {
  const c = cases.find((x) => x.name.startsWith('UPDATE widening'))!;
  const ctx = { stage: 'validate' as const, operation: c.operation ?? 'CREATE', object: c.object, oldObject: c.oldObject ?? null, config: config({}), cluster: snapshot(c.cluster ?? {}) };
  t.equal(gnpExposureChange.check(ctx).length, 1, 'the write is reported');
  t.same(gnpExposureChange.check({ ...ctx, mode: 'existing' }), [], 'the same policy as it stands is not');
});

t.test('the capped list stays within the warning budget and counts the rest', async (t) => {
  const [f] = run('many Services');
  t.ok(f!.message.length < 2_000, `${f!.message.length} characters`);
  const named = f!.message.match(/default\/svc-\d+ /g)!.length;
  const rest = Number(/and (\d+) more exposed Service ports change\.$/.exec(f!.message)![1]);
  t.equal(named + rest, 40, 'every changed port is named or counted');
});

t.test('groups after a write are the groups of the new policy list', async (t) => {
  const { compilePolicy } = await import('../../src/calico/policy.ts');
  const { groupsAfterWrite, hostGroups } = await import('../../src/rules/support/service-reach.ts');
  const { guideCluster, policy } = await import('./guide.ts');
  const base = guideCluster();
  const edge = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'edge1-eth0', labels: { 'k8s-role': 'node', zone: 'edge' } }, spec: { node: 'edge1', interfaceName: 'eth0', expectedIPs: ['10.0.1.11'] } };
  const ctx = { cluster: snapshot({ ...base, hostEndpoints: [...base.hostEndpoints!, edge] }), config: config({}) };
  const before = hostGroups(ctx);
  t.same(before.map((g) => g.names), [['edge1-eth0', 'node1-eth0', 'node2-eth0']], 'the guide treats every node alike');
  const edgeOnly = policy('edge-deny', { selector: "zone == 'edge'", preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });
  const after = groupsAfterWrite(before, compilePolicy(edgeOnly));
  const recomputed = hostGroups({ ...ctx, cluster: snapshot({ ...ctx.cluster, globalNetworkPolicies: [...ctx.cluster.globalNetworkPolicies, edgeOnly] }) });
  t.same(after.map((g) => g.names).sort(), recomputed.map((g) => g.names).sort());
  t.same(after.map((g) => g.names).sort(), [['edge1-eth0'], ['node1-eth0', 'node2-eth0']]);
});

t.test('host groups: endpoints apart only in what forwarded traffic does not decide on share a group, in the snapshot order', async (t) => {
  const { hostGroups } = await import('../../src/rules/support/service-reach.ts');
  const { guideCluster } = await import('./guide.ts');
  const base = guideCluster();
  const [node1, node2] = base.hostEndpoints!;
  const named = (name: string, spec: Record<string, unknown>) => ({ ...node1!, metadata: { ...node1!.metadata, name }, spec: { ...node1!.spec, ...spec } });
  const hostEndpoints = [node1!, named('node3-all', { interfaceName: '*' }), { ...node2!, spec: { ...node2!.spec, profiles: ['projectcalico-default-allow'] } }, named('node4-eth0', { node: 'node4' })];
  const groups = hostGroups({ cluster: snapshot({ ...base, hostEndpoints }), config: config({}) });
  t.same(groups.map((g) => g.members.map((m) => m.name)), [['node1-eth0', 'node2-eth0', 'node4-eth0'], ['node3-all']], 'a profile does not split a group, an all-interfaces endpoint does');
  t.same(groups.map((g) => g.hostEndpoint.name), ['node1-eth0', 'node3-all'], 'the first endpoint of each group stands for it');
});
