/**
 * The background-scan worker thread (scan-thread.ts starts it on the lease holder only): its
 * own list/watch of the cluster, the scan scheduler (background.ts), the report build and the
 * paced report writes, all on this thread's event loop and V8 heap. The main thread only
 * hears what its metrics need and the log lines.
 *
 * Messages out (ScanWorkerMessage): `{ type: 'log' }` for every log line,
 * `{ type: 'findings', counts }` and `{ type: 'ran', startedAt, seconds, heapUsedBytes }` after
 * every scan. Nothing comes in: the main thread stops the scan by terminating the thread.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../admission/types.ts';
import { startClusterState } from '../cluster/informers.ts';
import { snapshotFromObjects } from '../cluster/manifests.ts';
import type { ClusterState } from '../cluster/types.ts';
import { defaultRegistry } from '../rules/index.ts';
import { startBackgroundReports } from './background.ts';
import { writeReports } from './report-writer.ts';
import type { ScanWorkerData, ScanWorkerMessage } from './scan-thread.ts';
import { TokenBucket } from './token-bucket.ts';

const data = workerData as ScanWorkerData;

/**
 * The lowest CPU priority for this thread alone (Linux: a thread's nice value is its own;
 * `/proc/thread-self` names its task ID), so on a busy node a scan takes the cores admission
 * leaves idle. Elsewhere, or where refused, the thread keeps the process's priority.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux: nothing to lower
  }
}
if (data.lowPriority !== false) lowerThreadPriority();
const post = (message: ScanWorkerMessage): void => parentPort!.postMessage(message);

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
  // The thread runs only while this replica holds the lease: losing it terminates the thread.
  isLeader: () => true,
  write: data.dryRun === true ? async (reports) => ({ created: 0, updated: 0, deleted: 0, unchanged: reports.length, failed: 0 }) : (reports) => writeReports(reports, { kubeConfig, bucket, logger, signal: abort.signal }),
  logger,
  ...(data.pollMs === undefined ? {} : { pollMs: data.pollMs }),
});
