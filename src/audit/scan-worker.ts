/**
 * The background-scan process (scan-process.ts forks it on the lease holder only): its own
 * list/watch of the cluster, the scan scheduler (background.ts), the report build and the
 * paced report writes, all in this process's event loop, V8 heap and GC threads, at the lowest
 * CPU priority. The parent hears only what its metrics need and the log lines.
 *
 * Messages in: `{ type: 'start', data }` once. Out (ScanWorkerMessage): `{ type: 'priority' }`
 * once, with the CPU priority in effect, `{ type: 'log' }` for
 * every log line, `{ type: 'findings', counts }` and `{ type: 'ran', startedAt, seconds,
 * heapUsedBytes }` after every scan, `{ type: 'fatal' }` before exiting on an error. The parent
 * stops the scan by killing the process; when the parent is gone (the IPC channel closes) the
 * process exits at once, so no report is written without a lease holder behind it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../admission/types.ts';
import { startClusterState } from '../cluster/informers.ts';
import { snapshotFromObjects } from '../cluster/manifests.ts';
import type { ClusterState } from '../cluster/types.ts';
import { defaultRegistry } from '../rules/index.ts';
import { SCAN_PAUSE, startBackgroundReports } from './background.ts';
import { writeReports } from './report-writer.ts';
import type { CpuPriority, ScanWorkerData, ScanWorkerMessage } from './scan-process.ts';
import { TokenBucket } from './token-bucket.ts';

process.on('disconnect', () => process.exit(0));
const post = (message: ScanWorkerMessage, then?: () => void): void => {
  if (process.connected) process.send!(message, undefined, {}, () => then?.());
  else then?.();
};
const die = (err: unknown): void => {
  const e = err instanceof Error ? err : new Error(String(err));
  post({ type: 'fatal', message: e.message, stack: e.stack ?? '' }, () => process.exit(1));
  setTimeout(() => process.exit(1), 1000).unref();
};
process.on('uncaughtException', die);
process.on('unhandledRejection', die);

/** SCHED_IDLE in the `policy` field (41) of /proc/<pid>/task/<tid>/stat. */
const SCHED_IDLE = 5;
const policyOf = (tid: string): number => {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
};

/**
 * Every thread of this process (the event loop, V8's GC helpers, libuv's pool; threads started
 * later inherit it) at the lowest CPU priority, and says which one is in effect:
 * - `nice 19` first (a thread's nice value is its own, `/proc/self/task` lists them);
 * - then, where `chrt` (util-linux) is on the PATH, the SCHED_IDLE policy (`chrt --idle
 *   --all-tasks` on this process; lowering one's own policy needs no privilege, and Node has no
 *   call for it). Why: under Linux's EEVDF scheduler a woken nice-0 task may wait for a running
 *   nice-19 task to end its slice, so admission's threads and GC helpers can wait milliseconds
 *   behind the scan; a SCHED_IDLE task is preempted by any other at once and a CPU
 *   running only such tasks counts as idle when a woken task is placed. In one bench run
 *   (6 rounds) admission p99 with the scan was 1.83 ms at SCHED_IDLE against 3.77 ms at nice 19
 *   (0.89 ms with no scan), lower in 5 of 6 rounds.
 * Elsewhere, or where refused, the process keeps what it got.
 */
function lowerPriority(wanted: CpuPriority): CpuPriority {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 'unchanged'; // not Linux: nothing to lower
  }
  let effect: CpuPriority = 'unchanged';
  try {
    for (const tid of tids) setPriority(Number(tid), 19);
    effect = 'nice 19';
  } catch {
    // refused: keep the priority
  }
  if (wanted !== 'SCHED_IDLE') return effect;
  try {
    execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 10_000 });
    if (readdirSync('/proc/self/task').every((tid) => policyOf(tid) === SCHED_IDLE)) effect = 'SCHED_IDLE';
  } catch {
    // no chrt, or refused: nice 19 stays
  }
  return effect;
}

const data = await new Promise<ScanWorkerData>((resolve) => process.once('message', (m: { type: 'start'; data: ScanWorkerData }) => resolve(m.data)));
const wanted = data.cpuPriority ?? 'SCHED_IDLE';
post({ type: 'priority', cpuPriority: wanted === 'unchanged' ? 'unchanged' : lowerPriority(wanted) });

/** Log fields as plain data (an Error becomes its message and stack), so any of them can be posted. */
function plain(obj: object): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(obj, (_key, value: unknown) => (value instanceof Error ? { message: value.message, stack: value.stack } : value))) as Record<string, unknown>;
  } catch {
    return { unserializable: String(obj) };
  }
}
const line = (level: 'info' | 'warn' | 'error') => (obj: object, msg?: string) => post({ type: 'log', level, obj: plain(obj), msg: msg ?? '' });
const logger = { info: line('info'), warn: line('warn'), error: line('error') };

const { config } = data;
const kubeConfig = new KubeConfig();
// A bench reading a file and writing nothing has no cluster to talk to.
if (data.objectsFile === undefined || data.dryRun !== true) {
  if (data.kubeconfig !== null) kubeConfig.loadFromFile(data.kubeconfig);
  else kubeConfig.loadFromDefault();
}

/** Objects from a JSON file, standing in for the cluster (benches, tests): synced at once, never changing. */
function fileClusterState(path: string): ClusterState {
  const snapshot = Object.freeze({ ...snapshotFromObjects(JSON.parse(readFileSync(path, 'utf8')) as KubeObject[], config), source: 'cluster' as const });
  return { snapshot: () => snapshot, ready: () => true, close: async () => {} };
}

const cluster = data.objectsFile !== undefined ? fileClusterState(data.objectsFile) : await startClusterState({ kubeConfig, config, logger });
const bucket = new TokenBucket(config.audit.writesPerSecond, config.audit.writeBurst);
const abort = new AbortController();
startBackgroundReports({
  cluster,
  registry: defaultRegistry(),
  config,
  metrics: {
    findings: (counts) => post({ type: 'findings', counts: [...counts] }),
    ran: (startedAt, seconds) => post({ type: 'ran', startedAt, seconds, heapUsedBytes: getHeapStatistics().used_heap_size }),
  },
  // The process runs only while this replica holds the lease: losing it kills the process.
  isLeader: () => true,
  write: data.dryRun === true ? async (reports) => ({ created: 0, updated: 0, deleted: 0, unchanged: reports.length, failed: 0 }) : (reports) => writeReports(reports, { kubeConfig, bucket, logger, signal: abort.signal }),
  logger,
  ...(data.pollMs === undefined ? {} : { pollMs: data.pollMs }),
  pause: data.pause === undefined ? SCAN_PAUSE : data.pause,
});
