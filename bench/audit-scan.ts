/**
 * Admission latency while a background scan runs, against the same server without one, in one
 * run: `npm run bench:audit`.
 *
 * One process serves the webhook (as `serve` does) over a synthetic cluster of
 * BENCH_AUDIT_OBJECTS objects (default 10 000: exposed Services plus 20 host endpoints, 32
 * policies, an IPPool and the BGPConfiguration). A child process sends Service CREATEs to
 * /validate at an even BENCH_RATE (default 500 req/s) for BENCH_DURATION seconds (default 10).
 * Phases alternate, BENCH_ROUNDS times (default 3):
 * - `no scan`;
 * - `scan process`: what `serve` runs on the lease holder — the scan process
 *   (src/audit/scan-process.ts, started and stopped as the lease's change handler does), its
 *   scheduler set to scan back to back (intervalSeconds 0). Two differences from `serve`, both
 *   inside that process: it reads the objects from a JSON file instead of its own list/watch,
 *   and builds the reports without writing them (there is no API server; writes are paced
 *   network I/O at writesPerSecond). The phase is measured from its first completed scan on
 *   (its start-up is a one-off on lease acquisition);
 * - `main-thread scan`: the former design for comparison, back-to-back scans on the admission
 *   event loop in 1 ms slices (scanInSlices + the report build);
 * - `scan process, nice 0` and `scan process, N MB` (only when listed): without its lowered
 *   CPU priority, or with another heap cap (audit.workerHeapMegabytes), N from
 *   BENCH_AUDIT_ALT_HEAP_MB (default 8192, in effect none).
 * BENCH_AUDIT_PHASES picks and orders them (default `quiet,worker,main`; `quiet` first).
 * Prints p50/p99 per phase, their medians and the ratios against `no scan`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdmit } from '../src/admission/decide.ts';
import type { KubeObject } from '../src/admission/types.ts';
import { DEFAULT_SLICE_MS, scanInSlices } from '../src/audit/background.ts';
import { createAuditMetrics } from '../src/audit/metrics.ts';
import { buildReports } from '../src/audit/openreports.ts';
import { createScanProcess } from '../src/audit/scan-process.ts';
import { snapshotFromObjects } from '../src/cluster/manifests.ts';
import { defaultConfig } from '../src/config/load.ts';
import { defaultRegistry } from '../src/rules/index.ts';
import { buildWebhookApp } from '../src/server/app.ts';
import { createMetrics } from '../src/server/metrics.ts';
import { syntheticCluster } from './admit.ts';
import type { LoadJob, LoadResult } from './load.ts';
import { exposedServiceCreate } from './reviews.ts';
import { makeBenchCert } from './self-signed.ts';

const env = process.env;
const objects = Number(env.BENCH_AUDIT_OBJECTS ?? 10_000);
const rate = Number(env.BENCH_RATE ?? 500);
const durationS = Number(env.BENCH_DURATION ?? 10);
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const connections = Number(env.BENCH_CONNECTIONS ?? 10);
const altHeapMb = Number(env.BENCH_AUDIT_ALT_HEAP_MB ?? 8192);
type Phase = 'quiet' | 'worker' | 'worker-nice0' | 'worker-alt-cap' | 'main';
const LABEL: Record<Phase, string> = {
  quiet: 'no scan              ',
  worker: 'scan process         ',
  'worker-nice0': 'scan process, nice 0 ',
  'worker-alt-cap': `scan process, ${altHeapMb} MB`.padEnd(21),
  main: 'main-thread scan     ',
};
const phases = (env.BENCH_AUDIT_PHASES ?? 'quiet,worker,main').split(',') as Phase[];
if (phases[0] !== 'quiet' || phases.some((p) => !(p in LABEL))) throw new Error(`BENCH_AUDIT_PHASES: a comma-separated list starting with quiet, of ${Object.keys(LABEL).join(', ')}`);
const withMainThread = phases.includes('main');

function cluster(): KubeObject[] {
  const base = syntheticCluster(20, 30);
  const services: KubeObject[] = [];
  for (let i = 0; services.length + base.length < objects; i++) {
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: `team-${i % 50}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, labels: { 'clusterip-guard.io/exposed': 'true' } },
      spec: { clusterIP: `10.${96 + ((i >> 16) & 7)}.${(i >> 8) & 255}.${i & 255}`, ports: [{ port: 443, protocol: 'TCP' }] },
    });
  }
  return [...base, ...services];
}

async function main(): Promise<void> {
  const config = defaultConfig();
  const registry = defaultRegistry();
  const objectList = cluster();
  const snapshot = snapshotFromObjects(objectList, config);
  const total = snapshot.exposedServices.length + snapshot.globalNetworkPolicies.length + snapshot.hostEndpoints.length + snapshot.ipPools.length + (snapshot.bgpConfiguration ? 1 : 0);
  const dir = mkdtempSync(join(os.tmpdir(), 'audit-bench-'));
  const objectsFile = join(dir, 'objects.json');
  writeFileSync(objectsFile, JSON.stringify(objectList));
  const cert = makeBenchCert();
  const app = buildWebhookApp({ admit: createAdmit({ registry, config, cluster: { snapshot: () => snapshot } }), auditLog: () => {}, metrics: createMetrics(), https: { key: cert.key, cert: cert.cert } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const body = JSON.stringify(exposedServiceCreate());
  const target = { name: 'webhook /validate', url: `https://127.0.0.1:${port}/validate`, body };
  await check(target.url, body, cert.cert);

  const child: ChildProcess = fork(fileURLToPath(new URL('./load-child.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const load = (seconds: number): Promise<LoadResult> =>
    new Promise((resolve, reject) => {
      child.once('message', (msg: { ok: boolean; result?: LoadResult; error?: string }) => (msg.ok ? resolve(msg.result!) : reject(new Error(msg.error))));
      const job: LoadJob = { mode: 'paced', target, durationS: seconds, connections, rate, ca: cert.cert };
      child.send(job);
    });

  // The new design: the scan process, exactly as serve-reports.ts starts it on acquiring the lease.
  const workerScans: number[] = [];
  const workerHeap: number[] = [];
  const logger = { info: () => {}, warn: (o: object, m?: string) => console.warn(m, o), error: (o: object, m?: string) => console.error(m, o) };
  const threadFor = (lowPriority: boolean, workerHeapMegabytes = config.audit.workerHeapMegabytes) =>
    createScanProcess({
      data: { config: { ...config, audit: { ...config.audit, reports: true, intervalSeconds: 0, workerHeapMegabytes } }, kubeconfig: null, objectsFile, dryRun: true, pollMs: 20, lowPriority },
      metrics: createAuditMetrics(),
      logger,
      onRan: ({ seconds, heapUsedBytes }) => {
        workerScans.push(seconds * 1000);
        workerHeap.push(heapUsedBytes);
      },
    });
  const threads = { worker: threadFor(true), 'worker-nice0': threadFor(false), 'worker-alt-cap': threadFor(true, altHeapMb) };
  const startWorker = async (thread: ReturnType<typeof threadFor>): Promise<void> => {
    const before = workerScans.length;
    thread.start();
    while (workerScans.length === before) await new Promise((r) => setTimeout(r, 20));
  };

  // The former design, for comparison: back-to-back sliced scans on this event loop.
  let scanning = false;
  const mainScans: number[] = [];
  const scanLoop = async (): Promise<void> => {
    while (scanning) {
      const t0 = performance.now();
      const results = await scanInSlices(snapshot, { registry, config }, DEFAULT_SLICE_MS, () => !scanning);
      if (results === null) break;
      buildReports(results, new Date());
      mainScans.push(performance.now() - t0);
      await new Promise((r) => setImmediate(r));
    }
  };

  console.log(`clusterip-guard audit bench — Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg()[0]!.toFixed(2)}`);
  console.log(`${total} objects in the snapshot; Service CREATE → /validate at ${rate} req/s (even pacing, ${connections} connections), ${durationS}s per phase, ${rounds} rounds`);
  // Warm-up: JIT, rule caches and one full scan on each path, so no phase pays for first use.
  await load(2);
  const w0 = performance.now();
  await startWorker(threads.worker);
  console.log(`warm-up: scan process started and finished its first scan in ${(performance.now() - w0).toFixed(0)} ms (scan ${workerScans[0]!.toFixed(0)} ms)`);
  await threads.worker.stop();
  if (withMainThread) {
    scanning = true;
    const warm = scanLoop();
    while (mainScans.length === 0) await new Promise((r) => setTimeout(r, 50));
    scanning = false;
    await warm;
    console.log(`warm-up: main-thread scan ${mainScans[0]!.toFixed(0)} ms`);
  }
  mainScans.length = 0;
  workerScans.length = 0;
  workerHeap.length = 0;

  const perPhase = (): Record<Phase, number[]> => ({ quiet: [], worker: [], 'worker-nice0': [], 'worker-alt-cap': [], main: [] });
  const p99 = perPhase();
  const p50 = perPhase();
  const rss = perPhase();
  const scansOf = perPhase();
  const scanRssOf = perPhase();
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no phase always follows the same one.
    const order = phases.map((_, i) => phases[(i + round) % phases.length]!);
    for (const phase of order) {
      const scans = phase === 'main' ? mainScans : workerScans;
      const thread = phase === 'quiet' || phase === 'main' ? null : threads[phase];
      let loop: Promise<void> | null = null;
      if (thread !== null) await startWorker(thread);
      const before = scans.length;
      if (phase === 'main') {
        scanning = true;
        loop = scanLoop();
      }
      const r = await load(durationS);
      const scanRss = rssOf(thread?.pid() ?? null);
      rss[phase].push(process.memoryUsage().rss);
      scanRssOf[phase].push(scanRss);
      scanning = false;
      await loop;
      await thread?.stop();
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors: the numbers would be wrong`);
      const lat = r.latencyMs!;
      p99[phase].push(lat.p99);
      p50[phase].push(lat.p50);
      const during = scans.slice(before);
      scansOf[phase].push(...during);
      console.log(
        `  round ${round + 1} ${LABEL[phase]} ${r.rps.toFixed(0).padStart(4)} req/s  p50 ${lat.p50.toFixed(2)} ms  p99 ${lat.p99.toFixed(2)} ms  max ${lat.max.toFixed(1)} ms  rss ${mb(rss[phase].at(-1)!)}${scanRss > 0 ? ` + scan process ${mb(scanRss)}` : ''}` +
          (phase === 'quiet' ? '' : `  (${during.length} scans, median ${median(during).toFixed(0)} ms each)`),
      );
    }
  }
  child.disconnect();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  const q = median(p99.quiet);
  console.log('');
  for (const phase of phases) {
    const m = median(p99[phase]);
    console.log(`median p99 ${LABEL[phase]} ${m.toFixed(2)} ms` + (phase === 'quiet' ? '' : ` → ratio ${(m / q).toFixed(2)}×`) + `  (p50 ${median(p50[phase]).toFixed(2)} ms, rss at phase end ${mb(median(rss[phase]))}${phase === 'quiet' || phase === 'main' ? '' : ` + scan process ${mb(median(scanRssOf[phase]))}`})`);
  }
  for (const phase of phases.slice(1)) console.log(`median scan of ${total} objects, ${LABEL[phase].trim()}: ${median(scansOf[phase]).toFixed(0)} ms (${scansOf[phase].length} scans)`);
  console.log(`scan process heap in use after a scan (median): ${mb(median(workerHeap))}`);
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;

/** Resident memory of another process (Linux /proc), 0 when unknown. */
function rssOf(pid: number | null): number {
  if (pid === null) return 0;
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function check(url: string, body: string, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`the webhook answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

await main();
