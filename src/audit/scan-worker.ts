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
import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../admission/types.ts';
import { lowerProcessPriority } from '../cpu-priority.ts';
import { startClusterState } from '../cluster/informers.ts';
import { snapshotFromObjects } from '../cluster/manifests.ts';
import type { ClusterState } from '../cluster/types.ts';
import { defaultRegistry } from '../rules/index.ts';
import { SCAN_PAUSE, startBackgroundReports } from './background.ts';
import { writeReports } from './report-writer.ts';
import type { ScanWorkerData, ScanWorkerMessage } from './scan-process.ts';
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

const data = await new Promise<ScanWorkerData>((resolve) => process.once('message', (m: { type: 'start'; data: ScanWorkerData }) => resolve(m.data)));
// Admission's threads and GC helpers must never wait behind the scan (src/cpu-priority.ts).
post({ type: 'priority', cpuPriority: lowerProcessPriority(data.cpuPriority ?? 'idle') });

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
