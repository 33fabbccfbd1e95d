import type { ClusterState } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import type { RuleRegistry } from '../rules/registry.ts';
import type { AuditMetrics } from './metrics.ts';
import { findingKey } from './metrics.ts';
import { buildReports, type OpenReport } from './openreports.ts';
import type { WriteOutcome } from './report-writer.ts';
import { auditObject, snapshotObjects, type AuditResult } from './scan.ts';

/**
 * Background reports in `serve`: once the cluster state has synced, and while this replica
 * holds the audit lease, scan the snapshot and write the reports — after every change (at
 * most one scan per `audit.debounceSeconds`) and every `audit.intervalSeconds` regardless.
 *
 * `serve` runs this in the scan process (scan-worker.ts), never on the admission event
 * loop. There a scan still judges objects in slices of `sliceMs` (1 ms) with a timer tick
 * between them, so the worker's own loop keeps serving its watch and the paced writes during a
 * scan, and the scan takes about half a core rather than a whole one of the two that admission
 * shares. Scans and writes fail alone: after failed writes the scan is repeated with backoff
 * (5 s doubling to 5 min).
 */

export interface BackgroundOptions {
  cluster: ClusterState;
  registry: RuleRegistry;
  config: Config;
  metrics: Pick<AuditMetrics, 'findings' | 'ran'>;
  isLeader: () => boolean;
  write: (reports: readonly OpenReport[]) => Promise<WriteOutcome>;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  now?: () => number;
  /** How often to look for a changed snapshot or a due scan. Default 1000. */
  pollMs?: number;
  /** Longest stretch of judging before yielding. Default DEFAULT_SLICE_MS. */
  sliceMs?: number;
  /** Short sleeps inside every slice (SCAN_PAUSE in the scan process); none by default. */
  pause?: ScanPause | null;
}

export interface BackgroundReports {
  close(): Promise<void>;
  /** Resolves after the scan in progress (if any) ends; for tests and shutdown. */
  idle(): Promise<void>;
}

/**
 * Between slices the scan sleeps a timer tick (about 1 ms) rather than only yielding: a
 * background scan has no hurry, and its thread's events (watch, writes) find an idle loop.
 */
export const DEFAULT_SLICE_MS = 1;

const yieldToIo = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** Within a slice, sleep `sleepMs` after every `everyMs` of judging (a thread sleep, not an event-loop turn). */
export interface ScanPause {
  everyMs: number;
  sleepMs: number;
}

/**
 * The scan process's pauses: 0.1 ms of sleep after every 0.5 ms of judging, so it never holds a
 * core for long even inside a slice (at SCHED_IDLE it is preempted by any woken task, but not
 * while it is inside the kernel, and its caches are hot). In one bench run (6 rounds,
 * bench/audit-scan.ts) admission p99 was 1.25 ms with them against 1.83 ms without (0.89 ms
 * with no scan), lower in every round; the scan took 0.55 cores instead of 0.71.
 */
export const SCAN_PAUSE: ScanPause = { everyMs: 0.5, sleepMs: 0.1 };

// Atomics.wait on a cell nobody notifies: a sub-millisecond sleep of this thread alone (a timer
// would wait at least 1 ms and a loop turn).
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Judges every object of a snapshot, yielding to the event loop every `sliceMs`, and with
 * `pause` also sleeping briefly inside each slice. Never pass `pause` on an event loop that
 * serves anything urgent: the sleep blocks it.
 */
export async function scanInSlices(snapshot: ReturnType<ClusterState['snapshot']>, deps: { registry: RuleRegistry; config: Config }, sliceMs: number, stop: () => boolean, pause?: ScanPause | null): Promise<AuditResult[] | null> {
  const results: AuditResult[] = [];
  let sliceStart = performance.now();
  let runStart = sliceStart;
  for (const object of snapshotObjects(snapshot)) {
    if (pause && performance.now() - runStart >= pause.everyMs) {
      Atomics.wait(pauseCell, 0, 0, pause.sleepMs);
      runStart = performance.now();
    }
    if (performance.now() - sliceStart >= sliceMs) {
      await yieldToIo();
      if (stop()) return null;
      sliceStart = performance.now();
      runStart = sliceStart;
    }
    const result = auditObject(object, { ...deps, cluster: snapshot }, 'cluster');
    if (result !== null) results.push(result);
  }
  return results;
}

export function startBackgroundReports(options: BackgroundOptions): BackgroundReports {
  const { cluster, registry, config, metrics, logger } = options;
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 1000;
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const debounceMs = config.audit.debounceSeconds * 1000;
  const intervalMs = config.audit.intervalSeconds * 1000;
  let lastSnapshot: unknown = null;
  let lastScanAt = Number.NEGATIVE_INFINITY;
  // After failed writes the scan is repeated (the reports would stay stale until the next
  // change or interval otherwise): 5 s, doubling up to 5 min.
  const RETRY_MIN_MS = 5000;
  const RETRY_MAX_MS = 300_000;
  let retryMs = RETRY_MIN_MS;
  let retryAt: number | null = null;
  let running: Promise<void> | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  async function scan(snapshot: ReturnType<ClusterState['snapshot']>): Promise<void> {
    const startedAt = now();
    const t0 = performance.now();
    const results = await scanInSlices(snapshot, { registry, config }, sliceMs, () => closed || !options.isLeader(), options.pause);
    if (results === null) return;
    const counts = new Map<string, number>();
    for (const r of results) {
      for (const f of r.findings) {
        const key = findingKey(f.rule, f.action === 'enforce' ? 'fail' : 'warn');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    metrics.findings(counts);
    const reports = buildReports(results, new Date(startedAt));
    let outcome: WriteOutcome | null = null;
    try {
      outcome = await options.write(reports);
    } catch (err) {
      logger.warn({ err: (err as Error).message, retryInSeconds: retryMs / 1000 }, 'audit reports could not be written; retrying');
    }
    if (outcome === null || outcome.failed > 0) {
      retryAt = now() + Math.max(retryMs, debounceMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    } else {
      retryAt = null;
      retryMs = RETRY_MIN_MS;
    }
    const seconds = (performance.now() - t0) / 1000;
    metrics.ran(startedAt, seconds);
    logger.info({ objects: results.length, reports: reports.length, ...(outcome ?? {}), seconds: Math.round(seconds * 1000) / 1000 }, 'audit scan done');
  }

  function tick(): void {
    if (closed) return;
    timer = setTimeout(tick, pollMs);
    if (running !== null) return;
    if (!options.isLeader()) {
      lastSnapshot = null; // a new leader scans at once
      return;
    }
    if (!cluster.ready()) return;
    const snapshot = cluster.snapshot();
    if (snapshot.source !== 'cluster') return; // not synced: the static fallback is no cluster to report on
    const t = now();
    const changed = snapshot !== lastSnapshot && t - lastScanAt >= debounceMs;
    const retry = retryAt !== null && t >= retryAt;
    if (!changed && !retry && t - lastScanAt < intervalMs) return;
    lastSnapshot = snapshot;
    lastScanAt = t;
    running = scan(snapshot)
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'audit scan failed'))
      .finally(() => {
        running = null;
      });
  }

  timer = setTimeout(tick, 0);
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
    idle: async () => {
      await running;
    },
  };
}
