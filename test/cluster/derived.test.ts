/** perSnapshot keys what it derives by the parts it reads (and its arguments), by identity. */
import t from 'tap';
import { perSnapshot } from '../../src/cluster/derived.ts';
import { EMPTY_SNAPSHOT, type ClusterSnapshot } from '../../src/cluster/types.ts';
import type { KubeObject } from '../../src/admission/types.ts';

const object = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Thing', metadata: { name } });

t.test('computed once per combination of the parts it reads and its arguments', async (t) => {
  const calls: string[] = [];
  const names = perSnapshot(['globalNetworkPolicies', 'bgpConfiguration'], (c, tag: { tag: string }) => {
    calls.push(tag.tag);
    return [...c.globalNetworkPolicies.map((p) => p.metadata!.name), c.bgpConfiguration?.metadata?.name ?? '-'];
  });
  const a = { tag: 'a' };
  const b = { tag: 'b' };
  const policies = [object('p1')];
  const s1: ClusterSnapshot = { ...EMPTY_SNAPSHOT, globalNetworkPolicies: policies };
  const cases: Array<[string, ClusterSnapshot, { tag: string }, string[], boolean]> = [
    ['first use computes', s1, a, ['p1', '-'], true],
    ['the same snapshot again', s1, a, ['p1', '-'], false],
    ['another snapshot with the same parts (a Service changed)', { ...s1, exposedServices: [object('svc')] }, a, ['p1', '-'], false],
    ['another argument', s1, b, ['p1', '-'], true],
    ['a changed part it reads', { ...s1, globalNetworkPolicies: [object('p2')] }, a, ['p2', '-'], true],
    ['a BGPConfiguration where there was none', { ...s1, bgpConfiguration: object('default') }, a, ['p1', 'default'], true],
  ];
  for (const [name, snapshot, arg, want, computes] of cases) {
    const before = calls.length;
    t.same(names(snapshot, arg), want, name);
    t.equal(calls.length - before, computes ? 1 : 0, `${name}: ${computes ? 'computed' : 'kept'}`);
  }
});
