/**
 * Runs the background scan in a worker thread of its own (scan-worker.ts) while this replica
 * holds the audit lease: `start()` on acquiring it, `stop()` (terminate) on losing it or on
 * shutdown. The main thread keeps only the lease, this supervisor and the audit metrics, which
 * it sets from the worker's small messages; admission never waits for the worker.
 *
 * Why a thread, and why it watches the cluster itself: a 10 000-object scan takes about 5 s of
 * CPU and makes garbage in proportion. On the main thread, even in 1 ms slices, its garbage
 * collections and unsliced steps (the report build) stalled admission: p99 went from about 1 ms
 * to 40 ms (bench/audit-scan.ts). A worker has its own event loop and V8 heap, so its
 * collections do not pause the main thread. The worker gets the objects from its own
 * list/watch rather than from the main thread's cache: posting a snapshot means a structured
 * clone on the main thread in proportion to the cluster (tens of ms for 10 000 objects, in one
 * go or in slices on every due scan), and forwarding changes needs a diff of every snapshot on
 * the main thread. A second set of watches costs the API server one more watcher per resource,
 * on the lease holder only, and the worker a copy of the objects, which it would hold anyway.
 *
 * The worker is total from admission's point of view: its heap is bounded
 * (`audit.workerHeapMegabytes`), and when it dies (an exception, out of memory) the exit is logged and counted (`clusterip_guard_audit_worker_restarts_total`) and a
 * new one is started after a backoff (1 s doubling to 5 min, back to 1 s after a scan
 * completes).
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/types.ts';
import type { AuditMetrics } from './metrics.ts';

export interface ScanWorkerData {
  config: Config;
  /** The kubeconfig file for the watch and the writes, or null for the default chain (in-cluster, $KUBECONFIG, ~/.kube/config). */
  kubeconfig: string | null;
  /** Read the objects from this JSON file (an array) instead of list/watch: benches and tests without an API server. */
  objectsFile?: string;
  /** Build the reports but write none (a bench without an API server). */
  dryRun?: boolean;
  /** How often the scheduler looks for a due scan (background.ts; default 1000). */
  pollMs?: number;
  /** false keeps the worker at the process's CPU priority (benches compare); default: lowest (nice 19). */
  lowPriority?: boolean;
}

export type ScanWorkerMessage =
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { type: 'findings'; counts: Array<[string, number]> }
  | { type: 'ran'; startedAt: number; seconds: number; heapUsedBytes: number };

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ScanThreadOptions {
  data: ScanWorkerData;
  metrics: Pick<AuditMetrics, 'findings' | 'ran' | 'workerRestart'>;
  logger: Logger;
  /** First restart delay after a crash, doubled per crash up to `maxBackoffMs`. Default 1000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called after each scan the worker completes, with its duration and the worker's heap in use (benches, tests). */
  onRan?: (ran: { seconds: number; heapUsedBytes: number }) => void;
}

export interface ScanThread {
  /** Starts the worker unless it runs (or waits to restart) already. */
  start(): void;
  /** Terminates the worker and cancels a pending restart. */
  stop(): Promise<void>;
  /** True while a worker runs or waits to restart. */
  active(): boolean;
}

// tsc builds dist/ as .js; from src/ Node runs the .ts file itself (type stripping).
const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './scan-worker.ts' : './scan-worker.js', import.meta.url);

export function createScanThread(options: ScanThreadOptions): ScanThread {
  const { data, metrics, logger } = options;
  const minBackoffMs = options.backoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 300_000;
  let backoffMs = minBackoffMs;
  let worker: Worker | null = null;
  let restartTimer: NodeJS.Timeout | undefined;
  let wanted = false;

  const onMessage = (message: ScanWorkerMessage): void => {
    if (message.type === 'log') logger[message.level](message.obj, message.msg);
    else if (message.type === 'findings') metrics.findings(new Map(message.counts));
    else {
      metrics.ran(message.startedAt, message.seconds);
      backoffMs = minBackoffMs;
      options.onRan?.({ seconds: message.seconds, heapUsedBytes: message.heapUsedBytes });
    }
  };

  function spawn(): void {
    restartTimer = undefined;
    if (!wanted) return;
    let failure: Error | null = null;
    // A bounded heap: a scan that outgrows it ends the worker (ERR_WORKER_OUT_OF_MEMORY, restarted
    // like any crash), not the process with admission in it.
    const current = new Worker(workerUrl, { workerData: data, name: 'clusterip-guard-audit-scan', resourceLimits: { maxOldGenerationSizeMb: data.config.audit.workerHeapMegabytes } });
    worker = current;
    // Never keeps the process alive: shutdown does not wait for a scan.
    current.unref();
    current.on('message', (message: ScanWorkerMessage) => {
      if (current === worker) onMessage(message);
    });
    current.on('error', (err) => {
      failure = err;
    });
    current.on('exit', (code) => {
      if (current !== worker) return; // terminated on purpose
      worker = null;
      if (!wanted) return;
      metrics.workerRestart();
      logger.error({ exitCode: code, err: failure?.message, stack: failure?.stack, restartInSeconds: backoffMs / 1000 }, 'the audit scan worker exited; restarting it (admission is not affected)');
      restartTimer = setTimeout(spawn, backoffMs);
      restartTimer.unref();
      backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
    });
  }

  return {
    start() {
      wanted = true;
      if (worker === null && restartTimer === undefined) spawn();
    },
    async stop() {
      wanted = false;
      clearTimeout(restartTimer);
      restartTimer = undefined;
      const current = worker;
      worker = null;
      backoffMs = minBackoffMs;
      if (current !== null) await current.terminate();
    },
    active: () => worker !== null || restartTimer !== undefined,
  };
}
