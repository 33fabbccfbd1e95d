/**
 * Admission latency while a background scan runs, against the same server without one, in one
 * run: `npm run bench:audit`.
 *
 * One process serves the webhook (as `serve` does) over a synthetic cluster of
 * BENCH_AUDIT_OBJECTS objects (default 10 000: exposed Services plus 20 host endpoints, 32
 * policies, an IPPool and the BGPConfiguration). A child process sends Service CREATEs to
 * /validate at an even BENCH_RATE (default 500 req/s) for BENCH_DURATION seconds (default 10).
 * Phases alternate, BENCH_ROUNDS times (default 3): no scan, then back-to-back background
 * scans (src/audit/background.ts scanInSlices + the report build, as the lease holder runs
 * them; report writes are network I/O paced at writesPerSecond and left out). Prints p50/p99
 * per phase, their medians and the ratio.
 */
import { fork, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createAdmit } from '../src/admission/decide.ts';
import type { KubeObject } from '../src/admission/types.ts';
import { DEFAULT_SLICE_MS, scanInSlices } from '../src/audit/background.ts';
import { buildReports } from '../src/audit/openreports.ts';
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
  const snapshot = snapshotFromObjects(cluster(), config);
  const total = snapshot.exposedServices.length + snapshot.globalNetworkPolicies.length + snapshot.hostEndpoints.length + snapshot.ipPools.length + (snapshot.bgpConfiguration ? 1 : 0);
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

  let scanning = false;
  const scans: number[] = [];
  const scanLoop = async (): Promise<void> => {
    while (scanning) {
      const t0 = performance.now();
      const results = await scanInSlices(snapshot, { registry, config }, DEFAULT_SLICE_MS, () => !scanning);
      if (results === null) break;
      buildReports(results, new Date());
      scans.push(performance.now() - t0);
      await new Promise((r) => setImmediate(r));
    }
  };

  console.log(`clusterip-guard audit bench — Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg()[0]!.toFixed(2)}`);
  console.log(`${total} objects in the snapshot; Service CREATE → /validate at ${rate} req/s (even pacing, ${connections} connections), ${durationS}s per phase, ${rounds} rounds`);
  // Warm-up: JIT, rule caches and one full scan, so neither phase pays for first use.
  await load(2);
  scanning = true;
  const warm = scanLoop();
  while (scans.length === 0) await new Promise((r) => setTimeout(r, 50));
  scanning = false;
  await warm;
  console.log(`warm-up scan: ${scans[0]!.toFixed(0)} ms`);
  scans.length = 0;

  const quiet: number[] = [];
  const busy: number[] = [];
  const p50s: { quiet: number[]; busy: number[] } = { quiet: [], busy: [] };
  for (let round = 0; round < rounds; round++) {
    for (const phase of round % 2 === 0 ? (['quiet', 'busy'] as const) : (['busy', 'quiet'] as const)) {
      let loop: Promise<void> | null = null;
      const before = scans.length;
      if (phase === 'busy') {
        scanning = true;
        loop = scanLoop();
      }
      const r = await load(durationS);
      scanning = false;
      await loop;
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors: the numbers would be wrong`);
      const lat = r.latencyMs!;
      (phase === 'quiet' ? quiet : busy).push(lat.p99);
      p50s[phase].push(lat.p50);
      const during = scans.slice(before);
      console.log(
        `  round ${round + 1} ${phase === 'quiet' ? 'no scan  ' : 'scanning '} ${r.rps.toFixed(0).padStart(4)} req/s  p50 ${lat.p50.toFixed(2)} ms  p99 ${lat.p99.toFixed(2)} ms  max ${lat.max.toFixed(1)} ms` +
          (phase === 'busy' ? `  (${during.length} scans, median ${median(during).toFixed(0)} ms each)` : ''),
      );
    }
  }
  child.disconnect();
  await app.close();
  const q = median(quiet);
  const b = median(busy);
  console.log(`\nmedian p99: no scan ${q.toFixed(2)} ms, during scans ${b.toFixed(2)} ms → ratio ${(b / q).toFixed(2)}×  (p50 ${median(p50s.quiet).toFixed(2)} → ${median(p50s.busy).toFixed(2)} ms)`);
  console.log(`median scan of ${total} objects: ${median(scans).toFixed(0)} ms (${scans.length} scans)`);
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
