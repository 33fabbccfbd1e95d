/**
 * Runs the background scan in a process of its own (scan-worker.ts, forked) while this replica
 * holds the audit lease: `start()` on acquiring it, `stop()` (SIGKILL) on losing it or on
 * shutdown. The main thread keeps only the lease, this supervisor and the audit metrics, which
 * it sets from the scan process's small messages; admission never waits for it.
 *
 * Why off the main thread: a 10 000-object scan takes about 5 s of CPU and makes garbage in
 * proportion. On the main thread, even in 1 ms slices, its garbage collections and unsliced
 * steps (the report build) stalled admission: p99 went from about 1 ms to 20–65 ms
 * (bench/audit-scan.ts).
 *
 * Why a process rather than a worker thread: a worker thread has its own heap, but shares the
 * process's V8 GC helper threads (which then run the scan's collections at normal priority
 * beside admission's own), its address space (the scan's heap growth and release take the
 * memory-map lock that admission's page faults wait on) and its fate (a native abort, such as
 * V8's out-of-memory, ends the process). Measured with the scan in a worker thread at nice 19,
 * admission p99 was still 3–10× the quiet figure; a process can lower the priority of every
 * one of its threads, and takes nothing down with it.
 *
 * Why it watches the cluster itself rather than receiving the main thread's snapshot: posting a
 * snapshot means serializing it on the main thread in proportion to the cluster (tens of ms for
 * 10 000 objects, in one go or in slices before every due scan), and forwarding changes needs a
 * diff of every snapshot on the main thread. A second set of watches costs the API server one
 * more watcher per resource, on the lease holder only, and the scan process a copy of the
 * objects, which it would hold anyway.
 *
 * The scan process is total from admission's point of view: its heap is bounded
 * (`audit.workerHeapMegabytes`, as its --max-old-space-size), and when it dies (an exception,
 * out of memory) the exit is logged and counted (`clusterip_guard_audit_worker_restarts_total`)
 * and a new one is started after a backoff (1 s doubling to 5 min, back to 1 s after a scan
 * completes). When this process dies, the IPC channel closes and the scan process exits.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { siblingModule } from '../sibling-module.ts';
import type { Config } from '../config/types.ts';
import type { CpuPriority } from '../cpu-priority.ts';
import type { ScanPause } from './background.ts';
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
  /** The CPU priority to take (lowerProcessPriority): default `idle`, falling back to `low`; others for benches to compare. */
  cpuPriority?: CpuPriority;
  /** The scan's short sleeps: default SCAN_PAUSE (background.ts), null for none (benches compare). */
  pause?: ScanPause | null;
}


export type ScanWorkerMessage =
  | { type: 'priority'; cpuPriority: CpuPriority }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { type: 'findings'; counts: Array<[string, number]> }
  | { type: 'ran'; startedAt: number; seconds: number; heapUsedBytes: number }
  | { type: 'fatal'; message: string; stack: string };

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ScanProcessOptions {
  data: ScanWorkerData;
  metrics: Pick<AuditMetrics, 'findings' | 'ran' | 'workerRestart'>;
  logger: Logger;
  /** First restart delay after a crash, doubled per crash up to `maxBackoffMs`. Default 1000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called with the CPU priority the scan process took, once per start (benches, tests). */
  onPriority?: (cpuPriority: CpuPriority) => void;
  /** Called after each scan the worker completes, with its duration and the worker's heap in use (benches, tests). */
  onRan?: (ran: { seconds: number; heapUsedBytes: number }) => void;
}

export interface ScanProcess {
  /** Starts the scan process unless it runs (or waits to restart) already. */
  start(): void;
  /** Kills the scan process and cancels a pending restart. */
  stop(): Promise<void>;
  /** True while a scan process runs or waits to restart. */
  active(): boolean;
  /** The running scan process's pid, or null (benches read its memory). */
  pid(): number | null;
}

const workerPath = fileURLToPath(siblingModule(import.meta.url, 'scan-worker'));

export function createScanProcess(options: ScanProcessOptions): ScanProcess {
  const { data, metrics, logger } = options;
  const minBackoffMs = options.backoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 300_000;
  let backoffMs = minBackoffMs;
  let worker: ChildProcess | null = null;
  let restartTimer: NodeJS.Timeout | undefined;
  let wanted = false;

  const onMessage = (message: ScanWorkerMessage): void => {
    if (message.type === 'priority') {
      logger.info({ cpuPriority: message.cpuPriority }, 'audit scan process started');
      options.onPriority?.(message.cpuPriority);
    } else if (message.type === 'log') logger[message.level](message.obj, message.msg);
    else if (message.type === 'findings') metrics.findings(new Map(message.counts));
    else if (message.type === 'ran') {
      metrics.ran(message.startedAt, message.seconds);
      backoffMs = minBackoffMs;
      options.onRan?.({ seconds: message.seconds, heapUsedBytes: message.heapUsedBytes });
    }
  };

  function spawn(): void {
    restartTimer = undefined;
    if (!wanted) return;
    let fatal: { message: string; stack: string } | null = null;
    // Its own flags only (not this process's loaders); the heap cap on the command line wins
    // over a --max-old-space-size in NODE_OPTIONS. stdout/stderr are shared, for V8's own
    // last words (out of memory).
    const current = fork(workerPath, [], { execArgv: [`--max-old-space-size=${data.config.audit.workerHeapMegabytes}`], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    worker = current;
    // Never keeps this process alive: shutdown does not wait for a scan.
    current.unref();
    current.channel?.unref();
    current.on('message', (message: ScanWorkerMessage) => {
      if (current !== worker) return;
      if (message.type === 'fatal') fatal = message;
      else onMessage(message);
    });
    current.on('error', (err) => {
      fatal ??= { message: err.message, stack: err.stack ?? '' };
    });
    current.send({ type: 'start', data });
    current.on('exit', (code, signal) => {
      if (current !== worker) return; // stopped on purpose
      worker = null;
      if (!wanted) return;
      metrics.workerRestart();
      // No message before a signal: SIGABRT is V8 at the heap cap (its words are on stderr).
      const err = fatal?.message ?? (signal !== null ? `ended by ${signal}${signal === 'SIGABRT' ? ' (V8 aborts when the heap cap, audit.workerHeapMegabytes, is reached)' : ''}` : undefined);
      logger.error({ exitCode: code, signal, err, stack: fatal?.stack, restartInSeconds: backoffMs / 1000 }, 'the audit scan process exited; restarting it (admission is not affected)');
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
      if (current === null || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.kill('SIGKILL'); // at once: a replica that lost the lease must stop writing
      await exited;
    },
    active: () => worker !== null || restartTimer !== undefined,
    pid: () => worker?.pid ?? null,
  };
}
