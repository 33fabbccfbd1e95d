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

t.test('a holder cut off: the lease moves one duration after its last renewal, and it stopped writing before', async (t) => {
  for (const skewMs of [0, 3000, -3000]) {
    const store = new ObjectStore();
    const kubeConfig = await store.start();
    const events: { who: string; leader: boolean; at: number }[] = [];
    const start = (identity: string, now: () => number): LeaseElector =>
      startLeaseElector({ kubeConfig, namespace: 'guard', name: 'audit', identity, durationSeconds: 1, retrySeconds: 0.2, now, onChange: (leader) => events.push({ who: identity, leader, at: Date.now() }), logger: quiet });
    const a = start('a', Date.now);
    await waitFor('a leads', () => a.isLeader());
    const b = start('b', () => Date.now() + skewMs);
    await new Promise((r) => setTimeout(r, 500));
    // Every write of a from now on fails, as if its process were gone.
    store.refuse = (method, body) => method === 'PUT' && body.includes('"holderIdentity":"a"');
    const lastRenewal = Date.parse((store.list('leases')[0]!['spec'] as { renewTime: string }).renewTime);
    await waitFor('b takes over', () => b.isLeader(), 4000);
    const tookMs = events.find((e) => e.who === 'b' && e.leader)!.at - lastRenewal;
    const aDown = events.find((e) => e.who === 'a' && !e.leader)!.at;
    t.comment(`skew ${skewMs} ms: b took over ${tookMs} ms after a's last renewal; a stopped writing ${aDown - lastRenewal} ms after it`);
    t.ok(aDown <= events.find((e) => e.who === 'b' && e.leader)!.at, `skew ${skewMs} ms: a stepped down before b took over`);
    if (skewMs === 0) t.ok(tookMs >= 1000 && tookMs <= 1000 + 150, `clocks agree: one duration (1000 ms) after the last renewal, plus the takeover's requests (${tookMs} ms)`);
    else t.ok(tookMs >= 1000 - 200 && tookMs <= 1000 + 200 + 150, `skew ${skewMs} ms: within one retry (200 ms) of the duration (${tookMs} ms)`);
    await a.stop();
    await b.stop();
    await store.close();
  }
});
