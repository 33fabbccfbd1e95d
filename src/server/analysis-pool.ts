/**
 * Policy analysis off the main event loop: one worker thread (analysis-worker.ts) with a
 * bounded queue and a per-review budget, so a Service review never waits behind a policy.
 *
 * - The cluster snapshot is posted to the worker only when it changed since the last post
 *   (checked by identity before each review), not with every review.
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
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Decision } from '../admission/decide.ts';
import type { AdmissionRequest, AdmissionResponse } from '../admission/types.ts';
import type { ClusterSnapshot, ClusterState } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import type { Stage } from '../rules/types.ts';

export type SkipReason = 'queue-full' | 'budget' | 'worker-failed';
export type Outcome = { decision: Decision } | { skipped: SkipReason };

/**
 * 800 ms, so that with the fallback (under 100 ms, isolated-admit.ts) no policy review is
 * answered after more than 1 s. Measured on 2 shared cores: a 1,000-rule policy takes 13–18 ms
 * in the worker; the largest valid one (1,024 rules × 256 nets, 4.9 MB) 3.5–4.2 s, so it is
 * always answered with the skip warning (its own checks alone take 2.8 s).
 */
export const DEFAULT_ANALYSIS_BUDGET_MS = 800;
/** Reviews waiting for the worker; a burst of policy writes beyond this gets the cheap rules. */
export const DEFAULT_ANALYSIS_QUEUE_LIMIT = 16;

export interface AnalysisPoolOptions {
  config: Config;
  cluster: Pick<ClusterState, 'snapshot'>;
  budgetMs?: number;
  queueLimit?: number;
  logger?: Logger | false;
  /** Called on every change of the queue (waiting + running) and with each outcome, for metrics. */
  onDepth?: (depth: number) => void;
  onOutcome?: (outcome: 'analysed' | SkipReason, seconds: number) => void;
}

export interface AnalysisPool {
  analyse(stage: Stage, request: AdmissionRequest): Promise<Outcome>;
  /** Reviews waiting or running. */
  depth(): number;
  /** Resolves once the current worker has loaded (start-up waits for it before listening). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface Task {
  id: number;
  stage: Stage;
  request: AdmissionRequest;
  started: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (outcome: Outcome) => void;
}

const workerUrl = new URL('./analysis-worker.ts', import.meta.url);

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
  let onReady: Promise<void>;
  let posted: ClusterSnapshot | null = null;

  const depth = () => queue.length + (running ? 1 : 0);
  const finish = (task: Task, outcome: Outcome): void => {
    clearTimeout(task.timer);
    task.resolve(outcome);
    opts.onOutcome?.('decision' in outcome ? 'analysed' : outcome.skipped, (performance.now() - task.started) / 1000);
    opts.onDepth?.(depth());
  };

  function spawn(): void {
    const current = new Worker(workerUrl);
    worker = current;
    ready = false;
    posted = null;
    current.unref();
    current.postMessage({ type: 'config', config: opts.config });
    onReady = new Promise((resolve) => {
      current.on('message', (msg: { ready?: true; id?: number; decision?: Decision; error?: string }) => {
        if (current !== worker) return; // a terminated worker's late answer
        if (msg.ready) {
          ready = true;
          resolve();
        } else if (running !== null && running.id === msg.id) {
          const task = running;
          running = null;
          if (msg.decision) finish(task, { decision: msg.decision });
          else {
            log?.error({ uid: task.request.uid, error: msg.error }, 'policy analysis threw; answered with the cheap rules');
            finish(task, { skipped: 'worker-failed' });
          }
        }
        dispatch();
      });
    });
    current.on('error', (err) => log?.error({ err }, 'policy analysis worker failed'));
    current.on('exit', () => {
      if (current !== worker || closed) return;
      const task = running;
      running = null;
      if (task) finish(task, { skipped: 'worker-failed' });
      spawn();
    });
  }

  /** The task's budget is over: drop it from the queue, or replace the worker busy with it. */
  function overBudget(task: Task): void {
    if (running === task) {
      running = null;
      log?.warn({ uid: task.request.uid, budgetMs }, 'policy analysis over budget; restarting the worker');
      const old = worker;
      spawn();
      void old.terminate();
    } else {
      queue.splice(queue.indexOf(task), 1);
    }
    finish(task, { skipped: 'budget' });
  }

  function dispatch(): void {
    if (running !== null || !ready || queue.length === 0) return;
    const task = queue.shift()!;
    const snapshot = opts.cluster.snapshot();
    if (snapshot !== posted) {
      worker.postMessage({ type: 'snapshot', snapshot });
      posted = snapshot;
    }
    running = task;
    worker.postMessage({ type: 'review', id: task.id, stage: task.stage, request: task.request });
  }

  spawn();
  return {
    analyse(stage, request) {
      return new Promise<Outcome>((resolve) => {
        const task: Task = { id: nextId++, stage, request, started: performance.now(), timer: undefined, resolve };
        if (closed || queue.length >= queueLimit) {
          finish(task, { skipped: closed ? 'worker-failed' : 'queue-full' });
          return;
        }
        task.timer = setTimeout(overBudget, budgetMs, task);
        queue.push(task);
        dispatch();
        opts.onDepth?.(depth());
      });
    },
    depth,
    ready: () => onReady,
    async close() {
      closed = true;
      for (const task of queue.splice(0)) finish(task, { skipped: 'worker-failed' });
      if (running) finish(running, { skipped: 'worker-failed' });
      running = null;
      await worker.terminate();
    },
  };
}
