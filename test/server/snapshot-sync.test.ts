/** The worker's snapshot copy: after the messages it equals the sender's, whatever changed, in any slice size. */
import t from 'tap';
import fc from 'fast-check';
import type { KubeObject } from '../../src/admission/types.ts';
import { snapshotFromObjects } from '../../src/cluster/manifests.ts';
import { EMPTY_SNAPSHOT, type ClusterSnapshot } from '../../src/cluster/types.ts';
import { defaultConfig } from '../../src/config/load.ts';
import { snapshotMessages, snapshotReplica, type SnapshotMessage } from '../../src/server/snapshot-sync.ts';
import { syntheticCluster } from '../../bench/admit.ts';

const config = defaultConfig();
const service = (name: string, ip: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', labels: { 'clusterip-guard.io/exposed': 'true' } },
  spec: { clusterIP: ip, ports: [{ port: 443, protocol: 'TCP' }] },
});
const base = [...syntheticCluster(5, 4), service('a', '10.96.0.1'), service('b', '10.96.0.2'), service('c', '10.96.0.3')];

/** Plain-data view, so frozen arrays and key order do not matter. */
const plain = (s: ClusterSnapshot) => JSON.parse(JSON.stringify(s));

function replay(replica: ReturnType<typeof snapshotReplica>, prev: ClusterSnapshot | null, next: ClusterSnapshot, slice?: number): SnapshotMessage[] {
  // structuredClone stands for postMessage: the replica never shares objects with the sender.
  const messages = [...snapshotMessages(prev, next, slice)].map((m) => structuredClone(m));
  for (const m of messages) replica.apply(m);
  return messages;
}

t.test('a first sync sends everything; later ones only what changed', async (t) => {
  const replica = snapshotReplica();
  const first = snapshotFromObjects(base, config);
  replay(replica, null, first, 3);
  t.same(plain(replica.snapshot()), plain(first), 'everything, in slices of 3');

  const changed = [...base.filter((o) => o.metadata?.name !== 'b' && o.metadata?.name !== 'team-1'), service('a', '10.96.0.9'), service('d', '10.96.0.4')];
  // Unchanged objects are the same objects, as the snapshot store keeps them.
  const second = snapshotFromObjects(changed.map((o) => base.find((b) => b === o) ?? o), config);
  const messages = replay(replica, first, second, 2);
  t.same(plain(replica.snapshot()), plain(second), 'removed, replaced and added objects');
  const sent = messages.flatMap((m) => (m.type === 'snapshot-part' ? m.added : []));
  t.equal(sent.length, 2, 'only the replaced Service a and the new Service d are sent');
  t.same(
    messages.filter((m) => m.type === 'snapshot-part').map((m) => m.field),
    ['globalNetworkPolicies', 'exposedServices'],
    'only the lists that changed',
  );
});

t.test('objects that did not change keep their identity in the copy', async (t) => {
  const replica = snapshotReplica();
  const first = snapshotFromObjects(base, config);
  replay(replica, null, first);
  const kept = replica.snapshot().hostEndpoints[0];
  const second = snapshotFromObjects([...base, service('e', '10.96.0.5')], config);
  replay(replica, first, second);
  t.equal(replica.snapshot().hostEndpoints[0], kept, 'a host endpoint the change did not touch');
});

t.test('scalar fields, removed lists and lists in another order', async (t) => {
  const replica = snapshotReplica();
  const a = snapshotFromObjects(base, config);
  replay(replica, null, a);
  const noBgp = { ...a, bgpConfiguration: null, source: 'cluster' as const };
  delete (noBgp as { networkPolicies?: unknown }).networkPolicies;
  replay(replica, a, noBgp);
  t.same(plain(replica.snapshot()), plain(noBgp), 'a scalar changed and a list removed');
  const reversed = { ...noBgp, hostEndpoints: [...noBgp.hostEndpoints].reverse() };
  replay(replica, noBgp, reversed, 1);
  t.same(plain(replica.snapshot()), plain(reversed), 'another order is sent whole');
  t.same([...snapshotMessages(reversed, reversed)], [{ type: 'snapshot-commit', values: {} }], 'no change: only a commit');
});

t.test('any change of a sorted list, in any slice size, replays to the new list', async (t) => {
  const universe = Array.from({ length: 12 }, (_, i) => ({ id: i }));
  const pick = fc.subarray(universe.map((_, i) => i));
  fc.assert(
    fc.property(pick, pick, fc.subarray(universe.map((_, i) => i)), fc.integer({ min: 1, max: 5 }), (a, b, replaced, slice) => {
      // Same order (by id) in both lists; a "replaced" object is a new one in the same place.
      const prev = { ...EMPTY_SNAPSHOT, hostEndpoints: a.map((i) => universe[i]!) } as unknown as ClusterSnapshot;
      const next = { ...EMPTY_SNAPSHOT, hostEndpoints: b.map((i) => (replaced.includes(i) ? { id: i, v: 2 } : universe[i]!)) } as unknown as ClusterSnapshot;
      const replica = snapshotReplica();
      replay(replica, null, prev, slice);
      replay(replica, prev, next, slice);
      return JSON.stringify(replica.snapshot().hostEndpoints) === JSON.stringify(next.hostEndpoints);
    }),
    { seed: 15, numRuns: 500 },
  );
  t.pass('500 random changes');
});
