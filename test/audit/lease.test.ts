import t from 'tap';
import { startLeaseElector, type LeaseElector } from '../../src/audit/lease.ts';
import { ObjectStore } from './object-store.ts';

const quiet = { info: () => {}, warn: () => {} };
const waitFor = async (what: string, cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('two candidates: one leader; the other takes over when the leader stops renewing, and at once on release', async (t) => {
  const store = new ObjectStore();
  const kubeConfig = await store.start();
  t.teardown(() => store.close());
  const changes: string[] = [];
  const start = (identity: string): LeaseElector =>
    startLeaseElector({ kubeConfig, namespace: 'guard', name: 'audit', identity, durationSeconds: 0.6, retrySeconds: 0.1, onChange: (l) => changes.push(`${identity}:${l}`), logger: quiet });
  const a = start('a');
  await waitFor('a leads', () => a.isLeader());
  const b = start('b');
  await new Promise((r) => setTimeout(r, 400));
  t.equal(b.isLeader(), false, 'b waits while a renews');
  const lease = store.list('leases')[0]!;
  t.match(lease, { metadata: { name: 'audit', namespace: 'guard' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 1 } });

  // a stops renewing without releasing (a killed process): inject failures for a's PUTs only by
  // stopping a's loop through a store that refuses everything for a while.
  store.failures = { method: 'PUT', status: 500, count: 1000 };
  await waitFor('a steps down after failing to renew for the lease duration', () => !a.isLeader(), 3000);
  store.failures = null;
  await a.stop();
  const killedAt = Date.now();
  await waitFor('b takes over', () => b.isLeader(), 3000);
  const took = Date.now() - killedAt;
  t.ok(took <= 600 + 2 * 100 + 200, `b took over ${took} ms after a stopped (duration 600 ms, retry 100 ms)`);
  t.equal(store.list('leases')[0]!['spec'] && (store.list('leases')[0]!['spec'] as { holderIdentity: string }).holderIdentity, 'b');

  // Release: a new candidate takes a released lease without waiting out the duration.
  const c = start('c');
  await b.stop();
  const releasedAt = Date.now();
  await waitFor('c takes the released lease', () => c.isLeader(), 3000);
  t.ok(Date.now() - releasedAt < 500, 'released lease taken before the 600 ms duration');
  await c.stop();
  t.ok(changes.includes('a:true') && changes.includes('a:false') && changes.includes('b:true') && changes.includes('c:true'));
});

t.test('an unreachable API server: never leader, no throw', async (t) => {
  const store = new ObjectStore();
  const kubeConfig = await store.start();
  await store.close();
  const warned: object[] = [];
  const e = startLeaseElector({ kubeConfig, namespace: 'guard', name: 'audit', identity: 'x', durationSeconds: 1, retrySeconds: 0.05, onChange: () => {}, logger: { info: () => {}, warn: (o) => void warned.push(o) } });
  await waitFor('a warning', () => warned.length > 0);
  t.equal(e.isLeader(), false);
  await e.stop();
});
