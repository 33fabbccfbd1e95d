import t from 'tap';
import { startBackgroundReports, scanInSlices } from '../../src/audit/background.ts';
import { createAuditMetrics } from '../../src/audit/metrics.ts';
import type { OpenReport } from '../../src/audit/openreports.ts';
import type { ClusterSnapshot } from '../../src/cluster/types.ts';
import { defaultRegistry } from '../../src/rules/index.ts';
import { config, snapshot } from '../helpers.ts';
import { guide, guideCluster } from '../rules/guide.ts';

const bare = (n: number) => ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: `node${n}-eth0`, uid: `uid-${n}` }, spec: { node: `node${n}`, interfaceName: 'eth0', expectedIPs: ['10.0.0.99'] } });
const withHosts = (extra: object[]): ClusterSnapshot => snapshot({ ...guideCluster(), hostEndpoints: [...guide('host-endpoints'), ...extra] } as never);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { info: () => {}, warn: () => {} };
const waitFor = async (what: string, cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

function harness(opts: { debounceSeconds: number; intervalSeconds?: number; leader?: () => boolean; ready?: () => boolean; failFirst?: number }) {
  let failures = opts.failFirst ?? 0;
  let current = withHosts([bare(3)]);
  const writes: { at: number; reports: readonly OpenReport[] }[] = [];
  const metrics = createAuditMetrics();
  const bg = startBackgroundReports({
    cluster: { snapshot: () => current, ready: opts.ready ?? (() => true), close: async () => {} },
    registry: defaultRegistry(),
    config: config({ audit: { reports: true, debounceSeconds: opts.debounceSeconds, intervalSeconds: opts.intervalSeconds ?? 3600 } }),
    metrics,
    isLeader: opts.leader ?? (() => true),
    write: async (reports) => {
      writes.push({ at: Date.now(), reports });
      if (failures > 0) {
        failures--;
        throw new Error('HTTP 429 TooManyRequests: storage is (re)initializing');
      }
      return { created: reports.length, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
    },
    logger: quiet,
    pollMs: 10,
  });
  return { bg, writes, metrics, set: (s: ClusterSnapshot) => void (current = s) };
}

t.test('scans after sync, then on change at most once per debounce interval', async (t) => {
  const h = harness({ debounceSeconds: 0.3 });
  t.teardown(() => h.bg.close());
  await waitFor('the first scan (cold caches)', () => h.writes.length > 0);
  t.equal(h.writes.length, 1, 'first scan right after sync');
  t.same(h.writes[0]!.reports.map((r) => r.scope.name), ['node3-eth0']);
  for (let i = 4; i < 9; i++) {
    h.set(withHosts([bare(3), bare(i)])); // five changes within 250 ms
    await sleep(50);
  }
  await sleep(700);
  // Gaps between write times: the first scan runs with cold caches, so its write comes late.
  const gaps = h.writes.slice(1).map((w, i) => w.at - h.writes[i]!.at);
  t.ok(gaps[0]! >= 200 && gaps.slice(1).every((g) => g >= 280), `scans the debounce interval apart (${gaps.join(', ')} ms)`);
  t.ok(h.writes.length >= 2 && h.writes.length <= 3, `five changes in 250 ms gave ${h.writes.length - 1} more scans, not five`);
  t.same(h.writes.at(-1)!.reports.map((r) => r.scope.name).sort(), ['node3-eth0', 'node8-eth0'], 'the last scan saw the latest snapshot');
  const text = await h.metrics.registry.metrics();
  t.match(text, /clusterip_guard_audit_findings\{rule="hostendpoint-traffic-allowed",result="warn"\} 2/);
  t.match(text, /clusterip_guard_audit_last_run_timestamp_seconds \d/);
  t.match(text, /clusterip_guard_audit_run_duration_seconds \d/);
  const n = h.writes.length;
  h.set(withHosts([]));
  await waitFor('the scan of the clean cluster', () => h.writes.length > n);
  t.same(h.writes.at(-1)!.reports, [], 'a clean cluster: no reports (the writer deletes the old ones)');
  t.notMatch(await h.metrics.registry.metrics(), /rule="hostendpoint-traffic-allowed"/, 'findings gauge reset');
});

t.test('interval: scans again with no change', async (t) => {
  const h = harness({ debounceSeconds: 0, intervalSeconds: 1 });
  t.teardown(() => h.bg.close());
  await waitFor('the first scan', () => h.writes.length > 0);
  const first = h.writes[0]!.at;
  await waitFor('the interval scan', () => h.writes.length > 1, 3000);
  t.ok(h.writes[1]!.at - first >= 900, 'a second scan one interval later, with no change');
});

t.test('not leader or not synced: no scan; a new leader scans at once', async (t) => {
  let leader = false;
  let ready = false;
  const h = harness({ debounceSeconds: 10, leader: () => leader, ready: () => ready });
  t.teardown(() => h.bg.close());
  await sleep(100);
  ready = true;
  await sleep(100);
  t.equal(h.writes.length, 0, 'follower writes nothing');
  leader = true;
  await waitFor('the new leader scans', () => h.writes.length === 1);
  t.pass('the new leader scans at once');
});

t.test('a static snapshot (cluster unreachable) is not reported on', async (t) => {
  const h = harness({ debounceSeconds: 0 });
  h.set(snapshot({}));
  t.teardown(() => h.bg.close());
  await sleep(100);
  // the first tick may have scanned the cluster snapshot set before; none after the switch
  const n = h.writes.length;
  await sleep(100);
  t.equal(h.writes.length, n);
});

t.test('a 10 000-object scan yields to the event loop', async (t) => {
  const hosts = Array.from({ length: 10_000 }, (_, i) => bare(i + 10));
  const big = withHosts(hosts);
  let maxGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  const results = await scanInSlices(big, { registry: defaultRegistry(), config: config({}) }, 5, () => false);
  const took = performance.now() - started;
  clearInterval(ticker);
  t.equal(results?.length, 10_000 + 8, 'every object judged (the guide objects too)');
  t.ok(maxGap < Math.max(60, took / 4), `longest event-loop stall ${maxGap.toFixed(1)} ms in a ${took.toFixed(0)} ms scan`);
});

t.test('a pause sleeps the thread after every everyMs of judging, and changes no result', async (t) => {
  const big = withHosts(Array.from({ length: 50 }, (_, i) => bare(i + 10)));
  const deps = { registry: defaultRegistry(), config: config({}) };
  const plain = await scanInSlices(big, deps, 10_000, () => false);
  // everyMs 0: a sleep before every object but the first; 58 objects, 4 ms each, at least 228 ms.
  const started = performance.now();
  const paused = await scanInSlices(big, deps, 10_000, () => false, { everyMs: 0, sleepMs: 4 });
  const took = performance.now() - started;
  t.ok(took >= 57 * 4, `58 objects with a 4 ms pause between them took ${took.toFixed(0)} ms`);
  t.same(paused, plain, 'the same results');
});

t.test('failed writes are retried without waiting for a change or the interval', async (t) => {
  const h = harness({ debounceSeconds: 0, failFirst: 1 });
  t.teardown(() => h.bg.close());
  await waitFor('the first, failing scan', () => h.writes.length === 1);
  await waitFor('the retry', () => h.writes.length === 2, 8000);
  const gap = h.writes[1]!.at - h.writes[0]!.at;
  t.ok(gap >= 4900 && gap < 7000, `retried ${gap} ms later (5 s backoff)`);
  await sleep(300);
  t.equal(h.writes.length, 2, 'a successful retry ends the retries');
});
