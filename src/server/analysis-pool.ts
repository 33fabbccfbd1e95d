/**
 * Policy analysis off the main event loop: one worker thread (analysis-worker.ts) with a
 * bounded queue and a per-review budget, so a Service review never waits behind a policy.
 *
 * - The worker's copy of the cluster snapshot is brought up to date before a review when the
 *   snapshot changed since (checked by identity): only the objects that changed, in slices of
 *   64 objects, one per macrotask (snapshot-sync.ts), so a large cluster's change
 *   never holds the main thread for long. A fresh worker gets everything, the same way, as
 *   soon as it has loaded.
 * - `analyseRaw` takes a large body unparsed (json-body.ts `RawBody`): the worker parses and
 *   checks it, and for a policy first posts the policy's own checks (`fallback`), kept with the
 *   task and handed back with a skip, so the main thread has an answer without parsing it.
 * - A review waits at most `budgetMs` from arrival, queue time included (one timer each). Past
 *   it, the review is answered as `{ skipped: 'budget' }`; a worker still busy with it is
 *   terminated and a fresh one started (its late answer would be useless, and it would hold up
 *   the queue). Reviews are handed only to a worker that has loaded.
 * - With `queueLimit` reviews already waiting, a new one is `{ skipped: 'queue-full' }` at once.
 * - A worker that dies (out of memory, a crash) answers `{ skipped: 'worker-failed' }`.
 *
 * Hand-written rather than piscina: the snapshot must reach every worker once per change,
 * including a worker started after a termination, before its first review; piscina's tasks
 * are one-way, so that would need a side channel and a handshake anyway.
 *
 * @example
 *   const pool = createAnalysisPool({ config, cluster });
 *   const outcome = await pool.analyse('validate', request); // { decision } or { skipped }
 *   const raw = await pool.analyseRaw('validate', text); // also { refused }, and uid/fallback
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { siblingModule } from '../sibling-module.ts';
import type { Logger } from 'pino';
import type { Decision } from '../admission/decide.ts';
import type { AdmissionRequest } from '../admission/types.ts';
import type { ClusterSnapshot, ClusterState } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import type { Stage } from '../rules/types.ts';
import type { Fallback } from './isolated-admit.ts';
import { snapshotMessages } from './snapshot-sync.ts';
import { DEFAULT_ANALYSIS_PRIORITY, type Applied, type CpuPriority } from '../cpu-priority.ts';

export type SkipReason = 'queue-full' | 'budget' | 'worker-failed';
export type Outcome = { decision: Decision } | { skipped: SkipReason };
/** A raw body's outcome: a skip carries the review's uid and own-checks answer once the worker had posted them. */
export type RawOutcome = { uid: string; decision: Decision } | { refused: string } | { skipped: SkipReason; uid: string; fallback: Fallback } | { skipped: SkipReason; fallback?: undefined };

/**
 * 500 ms, so that no policy review is answered after much more than half a second, leaving
 * the rest of the 1 s for receiving the body and answering on a loaded machine. Measured on 2
 * shared cores: a 1,000-rule policy takes 13–18 ms in the worker; the largest valid one
 * (1,024 rules × 256 nets, 4.9 MB) 3.5–4.2 s, so it is always answered with the skip warning.
 */
export const DEFAULT_ANALYSIS_BUDGET_MS = 500;
/** Reviews waiting for the worker; a burst of policy writes beyond this gets the cheap rules. */
export const DEFAULT_ANALYSIS_QUEUE_LIMIT = 16;

export interface AnalysisPoolOptions {
  config: Config;
  cluster: Pick<ClusterState, 'snapshot'>;
  budgetMs?: number;
  queueLimit?: number;
  /**
   * The worker thread's CPU priority (src/cpu-priority.ts); default `idle`, so that on a busy
   * node a policy analysis only gets CPU time the main thread does not want.
   */
  priority?: CpuPriority;
  logger?: Logger | false;
  /** Called on every change of the queue (waiting + running) and with each outcome, for metrics. */
  onDepth?: (depth: number) => void;
  onOutcome?: (outcome: 'analysed' | SkipReason, seconds: number) => void;
}

export interface AnalysisPool {
  analyse(stage: Stage, request: AdmissionRequest): Promise<Outcome>;
  analyseRaw(stage: Stage, text: string): Promise<RawOutcome>;
  /** Reviews waiting or running. */
  depth(): number;
  /** The CPU priority the current worker thread runs at (once it has loaded), with its thread id. */
  workerPriority(): Applied | undefined;
  /** Resolves once the current worker has loaded and holds the snapshot (start-up waits for it before listening). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

type Input = { type: 'review'; request: AdmissionRequest } | { type: 'raw'; text: string };

interface Task {
  id: number;
  stage: Stage;
  input: Input;
  started: number;
  timer: NodeJS.Timeout | undefined;
  /** From the worker, before its decision (raw policy reviews). */
  uid?: string;
  fallback?: Fallback;
  resolve: (outcome: RawOutcome) => void;
}

interface WorkerMessage {
  ready?: true;
  priority?: Applied;
  id?: number;
  uid?: string;
  decision?: Decision;
  fallback?: Fallback;
  refused?: string;
  error?: string;
}

const workerUrl = siblingModule(import.meta.url, 'analysis-worker');

export function createAnalysisPool(opts: AnalysisPoolOptions): AnalysisPool {
  const budgetMs = opts.budgetMs ?? DEFAULT_ANALYSIS_BUDGET_MS;
  const queueLimit = opts.queueLimit ?? DEFAULT_ANALYSIS_QUEUE_LIMIT;
  const log = opts.logger || undefined;
  const queue: Task[] = [];
  let running: Task | null = null;
  let nextId = 1;
  let closed = false;
  let worker: Worker;
  let ready = false;
  let syncing = false;
  let onReady: Promise<void>;
  let resolveReady: () => void = () => {};
  /** The snapshot the current worker holds (all its parts posted). */
  let posted: ClusterSnapshot | null = null;
  let applied: Applied | undefined;

  const depth = () => queue.length + (running ? 1 : 0);
  const finish = (task: Task, outcome: RawOutcome): void => {
    clearTimeout(task.timer);
    task.resolve(outcome);
    opts.onOutcome?.('skipped' in outcome ? outcome.skipped : 'analysed', (performance.now() - task.started) / 1000);
    opts.onDepth?.(depth());
  };
  const skip = (task: Task, reason: SkipReason): void =>
    finish(task, task.fallback && task.uid !== undefined ? { skipped: reason, uid: task.uid, fallback: task.fallback } : { skipped: reason });

  function spawn(): void {
    const current = new Worker(workerUrl);
    worker = current;
    ready = false;
    syncing = false;
    posted = null;
    current.unref();
    current.postMessage({ type: 'config', config: opts.config, priority: opts.priority ?? DEFAULT_ANALYSIS_PRIORITY });
    onReady = new Promise((resolve) => (resolveReady = resolve));
    current.on('message', (msg: WorkerMessage) => {
      if (current !== worker) return; // a terminated worker's late answer
      if (msg.ready) {
        ready = true;
        applied = msg.priority;
        if (msg.priority?.reason) log?.warn({ applied: msg.priority }, 'the analysis worker runs at a higher CPU priority than asked');
        else log?.debug({ applied: msg.priority }, 'analysis worker ready');
      }
      else if (running !== null && running.id === msg.id) {
        const task = running;
        if (msg.fallback) {
          task.uid = msg.uid;
          task.fallback = msg.fallback;
          return; // the decision follows
        }
        running = null;
        if (msg.decision) finish(task, { uid: msg.uid!, decision: msg.decision });
        else if (msg.refused !== undefined) finish(task, { refused: msg.refused });
        else {
          log?.error({ uid: task.uid ?? (task.input.type === 'review' ? task.input.request.uid : undefined), error: msg.error }, 'policy analysis threw; answered with the cheap rules');
          skip(task, 'worker-failed');
        }
      }
      dispatch();
    });
    current.on('error', (err) => log?.error({ err }, 'policy analysis worker failed'));
    current.on('exit', () => {
      if (current !== worker || closed) return;
      const task = running;
      running = null;
      if (task) skip(task, 'worker-failed');
      spawn();
    });
  }

  /** The task's budget is over: drop it from the queue, or replace the worker busy with it. */
  function overBudget(task: Task): void {
    if (running === task) {
      running = null;
      log?.warn({ uid: task.uid, budgetMs }, 'policy analysis over budget; restarting the worker');
      const old = worker;
      spawn();
      void old.terminate();
    } else {
      queue.splice(queue.indexOf(task), 1);
    }
    skip(task, 'budget');
  }

  /** Brings the worker's snapshot up to date, one slice per macrotask; then hands it the next review. */
  async function sync(target: Worker, snapshot: ClusterSnapshot): Promise<void> {
    syncing = true;
    for (const msg of snapshotMessages(posted, snapshot)) {
      target.postMessage(msg);
      await nextMacrotask();
      if (target !== worker) return; // replaced meanwhile: the new worker syncs from scratch
    }
    syncing = false;
    posted = snapshot;
    resolveReady();
    send();
  }

  function dispatch(): void {
    if (running !== null || !ready || syncing) return;
    const snapshot = opts.cluster.snapshot();
    if (snapshot !== posted) void sync(worker, snapshot);
    else send();
  }

  /** Posts the next review; the snapshot may have changed again since the sync: a few ms stale is fine. */
  function send(): void {
    if (running !== null || !ready || syncing || queue.length === 0) return;
    const task = queue.shift()!;
    running = task;
    const { input } = task;
    if (input.type === 'review') worker.postMessage({ type: 'review', id: task.id, stage: task.stage, request: input.request });
    else worker.postMessage({ type: 'raw', id: task.id, stage: task.stage, text: input.text });
  }

  function submit(stage: Stage, input: Input): Promise<RawOutcome> {
    return new Promise<RawOutcome>((resolve) => {
      const task: Task = { id: nextId++, stage, input, started: performance.now(), timer: undefined, resolve };
      if (closed || queue.length >= queueLimit) {
        finish(task, { skipped: closed ? 'worker-failed' : 'queue-full' });
        return;
      }
      task.timer = setTimeout(overBudget, budgetMs, task);
      queue.push(task);
      dispatch();
      opts.onDepth?.(depth());
    });
  }

  spawn();
  return {
    analyse: (stage, request) =>
      submit(stage, { type: 'review', request }).then((o): Outcome => ('decision' in o ? { decision: o.decision } : 'skipped' in o ? { skipped: o.skipped } : { skipped: 'worker-failed' })),
    analyseRaw: (stage, text) => submit(stage, { type: 'raw', text }),
    depth,
    workerPriority: () => applied,
    ready: () => onReady,
    async close() {
      closed = true;
      for (const task of queue.splice(0)) skip(task, 'worker-failed');
      if (running) skip(running, 'worker-failed');
      running = null;
      await worker.terminate();
    },
  };
}
