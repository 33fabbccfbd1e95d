/** The snapshot store keeps each bucket sorted by key through adds, replaces and removes, and rebuilds only what changed. */
import t from 'tap';
import fc from 'fast-check';
import type { KubeObject } from '../../src/admission/types.ts';
import { SnapshotStore } from '../../src/cluster/snapshot-store.ts';
import { defaultConfig } from '../../src/config/load.ts';

const config = defaultConfig();
const hep = (name: string, v: number): KubeObject => ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name }, spec: { node: name, v } });

t.test('lists stay sorted by key whatever the order of events', async (t) => {
  const op = fc.record({ remove: fc.boolean(), name: fc.stringMatching(/^[a-e]{1,3}$/), v: fc.nat(3) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const store = new SnapshotStore('cluster', config);
      const expected = new Map<string, KubeObject>();
      for (const { remove, name, v } of ops) {
        const object = hep(name, v);
        if (remove) {
          store.remove('hostEndpoints', object);
          expected.delete(name);
        } else {
          store.upsert('hostEndpoints', object);
          expected.set(name, object);
        }
        store.snapshot(); // rebuilt between events too, as the request path does
      }
      const want = [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, o]) => o);
      const got = store.snapshot().hostEndpoints;
      return got.length === want.length && got.every((o, i) => o === want[i]);
    }),
    { seed: 15, numRuns: 300 },
  );
  t.pass('300 random event sequences');
});

t.test('a change rebuilds its own bucket only', async (t) => {
  const store = new SnapshotStore('cluster', config);
  store.upsert('hostEndpoints', hep('a', 1));
  store.upsert('globalNetworkPolicies', { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'p' }, spec: {} });
  const before = store.snapshot();
  t.equal(store.snapshot(), before, 'no change: the same snapshot');
  store.upsert('hostEndpoints', hep('a', 2));
  const after = store.snapshot();
  t.not(after, before);
  t.not(after.hostEndpoints, before.hostEndpoints, 'the changed bucket is rebuilt');
  t.equal(after.globalNetworkPolicies, before.globalNetworkPolicies, 'the other keeps its list');
  t.ok(Object.isFrozen(after.hostEndpoints), 'lists are frozen');
});
