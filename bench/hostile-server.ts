/**
 * The server `bench/hostile.ts` attacks, in its own process, wired as `serve` wires it: the
 * webhook over HTTPS with the policy-analysis pool, over a synthetic cluster
 * (HOSTILE_NODES host endpoints, default 20; HOSTILE_POLICIES other policies, default 30).
 * Prints `{ "port": N }` once listening. SIGUSR2 starts recording how long each Service
 * decision took on the server (request arrival to decision, the audit line's durationMs); on
 * SIGTERM it prints their p50/p99/max and a few process metrics to stderr as JSON, and exits.
 */
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { createAdmit } from '../src/admission/decide.ts';
import { snapshotFromObjects } from '../src/cluster/manifests.ts';
import { EMPTY_SNAPSHOT } from '../src/cluster/types.ts';
import { defaultConfig } from '../src/config/load.ts';
import { defaultRegistry } from '../src/rules/index.ts';
import { createAnalysisPool } from '../src/server/analysis-pool.ts';
import { buildWebhookApp } from '../src/server/app.ts';
import { isolatedAdmit, isolatedAdmitRaw } from '../src/server/isolated-admit.ts';
import { createMetrics } from '../src/server/metrics.ts';
import { lowerThreadsNamed, type CpuPriority } from '../src/cpu-priority.ts';
import { syntheticCluster } from './admit.ts';
import { stallTracker, threadDelta, threadTimes } from './hostile-probe.ts';
import { makeBenchCert } from './self-signed.ts';

const config = defaultConfig();
const snapshot = snapshotFromObjects(syntheticCluster(Number(process.env.HOSTILE_NODES ?? 20), Number(process.env.HOSTILE_POLICIES ?? 30)), config);
const cluster = { snapshot: () => snapshot };
const registry = defaultRegistry();
const metrics = createMetrics();
// HOSTILE_WORKER_PRIORITY=idle|low|normal: the analysis worker thread's CPU priority (default: the pool's).
const priority = process.env.HOSTILE_WORKER_PRIORITY as CpuPriority | undefined;
const pool = createAnalysisPool({ config, cluster, onDepth: metrics.analysisDepth, onOutcome: metrics.analysisOutcome, ...(priority ? { priority } : {}) });
await pool.ready();
// HOSTILE_V8_PRIORITY=idle|low (experiment): V8's platform threads (shared by both isolates).
if (process.env.HOSTILE_V8_PRIORITY) lowerThreadsNamed('V8Worker', process.env.HOSTILE_V8_PRIORITY as CpuPriority);
const cert = makeBenchCert();
let recording = false;
const serviceMs: number[] = [];
// The main thread's own lag and busy share while recording (not since start-up: loading
// modules and compiling schemas would dominate the max).
const lag = monitorEventLoopDelay({ resolution: 1 });
let elu: EventLoopUtilization | undefined;
let threadsBefore = threadTimes('self');
// GC pauses always; the 1 ms stall timer only with HOSTILE_TIMELINE=1 (it wakes the loop 1,000 times a second).
let stalls: ReturnType<typeof stallTracker> | undefined;
process.on('SIGUSR2', () => {
  recording = true;
  lag.enable();
  elu = performance.eventLoopUtilization();
  threadsBefore = threadTimes('self');
  stalls = stallTracker(process.env.HOSTILE_TIMELINE === '1' ? 5 : Infinity);
});
const decisions = { admit: createAdmit({ registry, config, cluster }), cheap: createAdmit({ registry, config, cluster: { snapshot: () => EMPTY_SNAPSHOT } }), pool };
const app = buildWebhookApp({
  admit: isolatedAdmit(decisions),
  // HOSTILE_RAW=0: every body parsed on the main thread (the former behaviour), for comparison.
  ...(process.env.HOSTILE_RAW === '0' ? {} : { admitRaw: isolatedAdmitRaw(decisions) }),
  auditLog: (record) => {
    if (recording && record.kind === 'Service') serviceMs.push(record.durationMs);
  },
  metrics,
  https: cert,
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as AddressInfo).port })}\n`);
process.on('SIGTERM', () => {
  void metrics.render().then((text) => {
    const keep = text.split('\n').filter((l) => /^(clusterip_guard_analysis_skipped_total|process_resident_memory_bytes|nodejs_heap_size_used_bytes|nodejs_eventloop_lag_max_seconds)/.test(l));
    const sorted = serviceMs.sort((a, b) => a - b);
    const at = (p: number) => +(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN).toFixed(3);
    const services = { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    lag.disable();
    const ms = (ns: number) => +(ns / 1e6).toFixed(2);
    const mainThread = {
      eventLoopLagMs: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
      busy: elu ? +performance.eventLoopUtilization(elu).utilization.toFixed(3) : null,
    };
    const threads = threadDelta(threadsBefore, threadTimes('self'));
    const timeline = stalls?.stop() ?? { stalls: [], gc: [] };
    const gc: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
    for (const [, ms, kind] of timeline.gc) {
      const row = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      row.count++;
      row.totalMs = Math.round((row.totalMs + ms) * 10) / 10;
      row.maxMs = Math.max(row.maxMs, ms);
    }
    process.stderr.write(`${JSON.stringify({ serverSideServiceDecisions: services, mainThreadWhileRecording: { ...mainThread, gc }, threadsWhileRecording: threads, metrics: keep, timeline })}\n`);
    cert.remove();
    return Promise.all([app.close(), pool.close()]);
  });
});
