/**
 * `npm run bench`: the webhook against a bare Fastify HTTPS handler that returns a fixed
 * allow, in one run, on the same Node, with the same certificate and the same bodies.
 *
 * (a) saturated throughput, alternating webhook and bare for several rounds (medians), and
 *     the webhook/bare ratio per body;
 * (b) latency at a fixed rate: an even paced arrival rate, and autocannon's `overallRate`;
 * (c) reachability in-process on a large cluster (bench/reachability.ts; BENCH_REACHABILITY=0 skips).
 *
 * Env: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (3), BENCH_RATE (2000),
 * BENCH_CONNECTIONS (10), BENCH_LOADGEN (`child` default, or `inproc`), BENCH_AUDIT (how the
 * audit line is written: `batched` (default, as `serve` does: src/server/audit-log.ts, lines
 * handed to an async pino destination in batches), `per-line` (one destination write per
 * decision), or `none`), BENCH_ADMIT
 * (`fake` to measure the server alone), BENCH_NODES / BENCH_POLICIES (cluster size; bench/admit.ts).
 * Results: table on stdout, JSON in bench/results/latest.json.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildWebhookApp } from '../src/server/app.ts';
import { createAuditLog } from '../src/server/audit-log.ts';
import type { TimedAuditRecord } from '../src/server/app.ts';
import { createMetrics } from '../src/server/metrics.ts';
import { makeAdmit } from './admit.ts';
import { runLoad } from './load.ts';
import { runReachabilityBench } from './reachability.ts';
import type { LoadJob, LoadResult, LoadTarget, Percentiles } from './load.ts';
import { globalNetworkPolicyUpdate, exposedServiceCreate } from './reviews.ts';
import { makeBenchCert } from './self-signed.ts';

const env = process.env;
const cfg = {
  durationS: Number(env.BENCH_DURATION ?? 5),
  rounds: Number(env.BENCH_ROUNDS ?? 3),
  rate: Number(env.BENCH_RATE ?? 2000),
  connections: Number(env.BENCH_CONNECTIONS ?? 10),
  loadgen: env.BENCH_LOADGEN === 'inproc' ? ('inproc' as const) : ('child' as const),
  audit: (['per-line', 'none'] as const).find((m) => m === env.BENCH_AUDIT) ?? ('batched' as const),
};
const warmupS = Math.min(2, cfg.durationS);

const FIXED_ALLOW = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: '00000000-0000-0000-0000-000000000000', allowed: true },
};

interface Scenario {
  name: string;
  webhook: LoadTarget;
  bare: LoadTarget;
  bodyBytes: number;
}

interface TargetStats {
  saturatedRps: number[];
  serverCpuPerReqUs: number[];
  paced?: LoadResult & { serverCpuPct: number };
  autocannonRate?: LoadResult & { serverCpuPct: number };
}

async function main(): Promise<void> {
  const cert = makeBenchCert();
  const { admit, label } = await makeAdmit();
  // Production writes one JSON line per decision; write it here too (to /dev/null).
  const auditDest = pino.destination({ dest: '/dev/null', sync: false });
  const batched = createAuditLog(auditDest, { tag: { log: 'audit' } });
  const auditWriter = (): ((rec: TimedAuditRecord) => void) => {
    if (cfg.audit === 'none') return () => {};
    if (cfg.audit === 'per-line') return (rec) => void auditDest.write(`${JSON.stringify(rec)}\n`);
    return batched.write;
  };
  const webhook = buildWebhookApp({
    admit,
    auditLog: auditWriter(),
    metrics: createMetrics(),
    https: { key: cert.key, cert: cert.cert },
  });
  const bare = Fastify({ https: { key: cert.key, cert: cert.cert } });
  bare.post('/', (_request, reply) => reply.send(FIXED_ALLOW));

  const webhookPort = await listen(webhook);
  const barePort = await listen(bare as unknown as FastifyInstance);
  const loader = cfg.loadgen === 'child' ? startChild(cert.cert) : null;

  const service = JSON.stringify(exposedServiceCreate());
  const gnp = JSON.stringify(globalNetworkPolicyUpdate());
  const scenarios: Scenario[] = [
    {
      name: 'Service CREATE → /mutate',
      webhook: { name: 'webhook /mutate', url: `https://127.0.0.1:${webhookPort}/mutate`, body: service },
      bare: { name: 'bare (Service body)', url: `https://127.0.0.1:${barePort}/`, body: service },
      bodyBytes: Buffer.byteLength(service),
    },
    {
      name: 'GNP UPDATE, 20 rules → /validate',
      webhook: { name: 'webhook /validate', url: `https://127.0.0.1:${webhookPort}/validate`, body: gnp },
      bare: { name: 'bare (GNP body)', url: `https://127.0.0.1:${barePort}/`, body: gnp },
      bodyBytes: Buffer.byteLength(gnp),
    },
  ];

  const run = async (job: Omit<LoadJob, 'ca' | 'connections'>): Promise<LoadResult & { cpuUs: number }> => {
    const cpu0 = process.cpuUsage();
    const result = await (loader ? loader(job) : runLoad({ ...job, ca: cert.cert, connections: cfg.connections }));
    const cpu = process.cpuUsage(cpu0);
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${job.target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors; the numbers would be wrong`);
    }
    return { ...result, cpuUs: cpu.user + cpu.system };
  };

  try {
    for (const s of scenarios) {
      await checkAnswer(s.webhook, cert.cert);
      await checkAnswer(s.bare, cert.cert);
    }
    log(`clusterip-guard bench — Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);
    const auditText = {
      none: 'not written',
      'per-line': 'one async pino destination write per decision',
      batched: 'batched as `serve` does (src/server/audit-log.ts) to an async pino destination',
    }[cfg.audit];
    log(`admit: ${label}; audit line to /dev/null: ${auditText}`);
    const load = os.loadavg()[0]!;
    log(`machine load average (1 min) at start: ${load.toFixed(2)}` +
      (load > os.cpus().length / 4 ? '  ← other work is running; expect noisy numbers' : ''));
    log(`load generator: ${cfg.loadgen === 'child' ? 'child process' : 'same process as the servers'}; ` +
      `${cfg.connections} keep-alive connections, pipelining 1, ${cfg.durationS}s runs, ${cfg.rounds} rounds`);
    log('');

    const stats = new Map<string, TargetStats>();
    const targets = scenarios.flatMap((s) => [s.webhook, s.bare]);
    for (const target of targets) stats.set(target.name, { saturatedRps: [], serverCpuPerReqUs: [] });

    log(`warming up (${warmupS}s per target) …`);
    for (const target of targets) await run({ mode: 'saturate', target, durationS: warmupS });

    for (let round = 0; round < cfg.rounds; round++) {
      for (const s of scenarios) {
        const order = round % 2 === 0 ? [s.bare, s.webhook] : [s.webhook, s.bare];
        for (const target of order) {
          const r = await run({ mode: 'saturate', target, durationS: cfg.durationS });
          const st = stats.get(target.name)!;
          st.saturatedRps.push(r.rps);
          st.serverCpuPerReqUs.push(r.cpuUs / r.requests);
          log(`  round ${round + 1}  ${target.name.padEnd(20)} ${r.rps.toFixed(0).padStart(7)} req/s`);
        }
      }
    }

    log(`\nfixed rate ${cfg.rate} req/s …`);
    for (const target of targets) {
      const st = stats.get(target.name)!;
      const p = await run({ mode: 'paced', target, durationS: cfg.durationS, rate: cfg.rate });
      st.paced = { ...p, serverCpuPct: cpuPct(p.cpuUs, p.requests / p.rps) };
      const a = await run({ mode: 'autocannon-rate', target, durationS: cfg.durationS, rate: cfg.rate });
      st.autocannonRate = { ...a, serverCpuPct: cpuPct(a.cpuUs, cfg.durationS) };
    }

    report(scenarios, stats, label);
  } finally {
    loader?.close();
    batched.flushSync();
    await webhook.close();
    await bare.close();
    cert.remove();
  }
}

function report(scenarios: Scenario[], stats: Map<string, TargetStats>, label: string): void {
  const out: Record<string, unknown> = {
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    admit: label,
    config: cfg,
    loadAverageAtEnd: os.loadavg(),
    scenarios: [] as unknown[],
  };
  log('\n(a) saturated throughput, median of rounds');
  log(row(['scenario', 'webhook req/s', 'bare req/s', 'ratio', 'paired', 'CPU µs/req w/b', 'CPU ratio b/w']));
  for (const s of scenarios) {
    const w = stats.get(s.webhook.name)!;
    const b = stats.get(s.bare.name)!;
    const wr = median(w.saturatedRps);
    const br = median(b.saturatedRps);
    // Each round runs the two back to back, so a per-round ratio cancels slow drift in the machine.
    const paired = median(w.saturatedRps.map((rps, i) => rps / b.saturatedRps[i]!));
    log(row([
      `${s.name} (${(s.bodyBytes / 1024).toFixed(1)} KiB)`,
      wr.toFixed(0),
      br.toFixed(0),
      (wr / br).toFixed(2),
      paired.toFixed(2),
      `${median(w.serverCpuPerReqUs).toFixed(0)} / ${median(b.serverCpuPerReqUs).toFixed(0)}`,
      (median(b.serverCpuPerReqUs) / median(w.serverCpuPerReqUs)).toFixed(2),
    ]));
    (out.scenarios as unknown[]).push({
      name: s.name,
      bodyBytes: s.bodyBytes,
      saturated: {
        webhookRps: w.saturatedRps,
        bareRps: b.saturatedRps,
        webhookMedian: wr,
        bareMedian: br,
        ratio: wr / br,
        pairedRatio: paired,
        webhookCpuUsPerReq: median(w.serverCpuPerReqUs),
        bareCpuUsPerReq: median(b.serverCpuPerReqUs),
      },
      fixedRate: {
        webhook: { paced: w.paced, autocannonOverallRate: w.autocannonRate },
        bare: { paced: b.paced, autocannonOverallRate: b.autocannonRate },
      },
    });
  }

  log(`\n(b) latency at ${cfg.rate} req/s, ms (from send to end of response)`);
  log(row(['target', 'pacing', 'achieved req/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'server CPU']));
  for (const s of scenarios) {
    for (const target of [s.webhook, s.bare]) {
      const st = stats.get(target.name)!;
      for (const [pacing, r] of [['even', st.paced], ['autocannon', st.autocannonRate]] as const) {
        if (!r?.latencyMs) continue;
        const l: Percentiles = r.latencyMs;
        log(row([target.name, pacing, r.rps.toFixed(0), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max), `${r.serverCpuPct.toFixed(0)}%`]));
      }
    }
  }
  // In-process reachability timings (bench/reachability.ts); BENCH_REACHABILITY=0 skips them.
  if (env.BENCH_REACHABILITY !== '0') out.reachability = runReachabilityBench(env, log);
  const lag = stats.get(scenarios[0]!.webhook.name)?.paced?.sendLagMs;
  log('\nnotes:');
  log('- The load generator competes with the servers for CPU on this machine' +
    (cfg.loadgen === 'child' ? ' (it runs in its own process, so on 2 cores it mostly has its own core).' : ' and here shares their event loop.'));
  log('- "even": one request every 1/rate s (open loop). "autocannon": overallRate gives each connection a');
  log('  per-second quota that it sends back to back at the start of each second, i.e. bursts at full speed.');
  if (lag) log(`- even pacing: the generator sent late by p99 ${ms(lag.p99)} ms (timer granularity), not counted in latency.`);
  log('- "ratio" = median webhook / median bare; "paired" = median of the per-round ratios (each round runs the');
  log('  two back to back, which cancels drift in other load on the machine).');
  log('- server CPU = CPU time of the process hosting both servers (one driven at a time), per request or as % of one core.');
  log('  "CPU ratio b/w" = bare CPU per request / webhook CPU per request: the throughput ratio to expect when the');
  log('  server, not the load generator, is the bottleneck (with 2 cores, saturated runs are often client-bound).');
  log(`- machine load average (1 min) at the end: ${os.loadavg()[0]!.toFixed(2)}`);

  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(out, null, 2)}\n`);
  log(`\nJSON: bench/results/latest.json`);
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

/** Fails fast if a target does not answer 200 with an AdmissionReview (a bench of 400s is worthless). */
function checkAnswer(target: LoadTarget, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(target.url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const ok = res.statusCode === 200 && (JSON.parse(body) as { kind?: string }).kind === 'AdmissionReview';
        if (ok) resolve();
        else reject(new Error(`${target.name} answered ${res.statusCode}: ${body.slice(0, 300)}`));
      });
    });
    req.on('error', reject);
    req.end(target.body);
  });
}

function startChild(ca: string): ((job: Omit<LoadJob, 'ca' | 'connections'>) => Promise<LoadResult>) & { close(): void } {
  const child: ChildProcess = fork(fileURLToPath(new URL('./load-child.ts', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const send = (job: Omit<LoadJob, 'ca' | 'connections'>): Promise<LoadResult> =>
    new Promise((resolve, reject) => {
      const onMessage = (msg: { ok: boolean; result?: LoadResult; error?: string }): void => {
        child.off('exit', onExit);
        if (msg.ok && msg.result) resolve(msg.result);
        else reject(new Error(`load generator failed: ${msg.error}`));
      };
      const onExit = (code: number | null): void => reject(new Error(`load generator exited (${code})`));
      child.once('message', onMessage);
      child.once('exit', onExit);
      child.send({ ...job, ca, connections: cfg.connections });
    });
  return Object.assign(send, { close: () => child.disconnect() });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function cpuPct(cpuUs: number, seconds: number): number {
  return (cpuUs / 1e6 / seconds) * 100;
}

function ms(n: number): string {
  return n.toFixed(2);
}

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(44) : c.padStart(i === cells.length - 1 ? 14 : 10))).join(' ');
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

await main();
