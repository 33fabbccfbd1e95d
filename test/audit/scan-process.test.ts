import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import t from 'tap';
import { createAuditMetrics } from '../../src/audit/metrics.ts';
import type { CpuPriority } from '../../src/cpu-priority.ts';
import { createScanProcess } from '../../src/audit/scan-process.ts';
import { config } from '../helpers.ts';
import { guide, guideCluster } from '../rules/guide.ts';
import { ObjectStore } from './object-store.ts';

const bare = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'node3-eth0', uid: 'uid-hep3' }, spec: { node: 'node3', interfaceName: 'eth0', expectedIPs: ['10.0.0.13'] } };
const cluster = guideCluster();
const objects = [...cluster.globalNetworkPolicies!, ...cluster.ipPools!, cluster.bgpConfiguration!, ...guide('host-endpoints'), bare];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (what: string, cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
};
const logs = () => {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
};

async function setup(t: { teardown(fn: () => unknown): void }) {
  const store = new ObjectStore();
  const kubeConfig = await store.start();
  t.teardown(() => store.close());
  const dir = mkdtempSync(join(tmpdir(), 'scan-process-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeConfig.exportConfig());
  return { store, dir, kubeconfig };
}

t.test('the scan process scans, writes the reports and relays the metrics; stop() ends it', async (t) => {
  const { store, dir, kubeconfig } = await setup(t);
  const objectsFile = join(dir, 'objects.json');
  writeFileSync(objectsFile, JSON.stringify(objects));
  const metrics = createAuditMetrics();
  const { lines, logger } = logs();
  let scans = 0;
  const thread = createScanProcess({ data: { config: config({ audit: { reports: true, debounceSeconds: 0.1 } }), kubeconfig, objectsFile, pollMs: 20 }, metrics, logger, onRan: () => void scans++ });
  thread.start();
  t.ok(thread.active(), 'active once started');
  await waitFor('a scan', () => scans > 0, 60_000);
  await waitFor('the ClusterReport for node3', () => store.list('clusterreports').some((r) => r.metadata.name === 'uid-hep3'));
  const text = await metrics.registry.metrics();
  t.match(text, /^clusterip_guard_audit_findings\{rule="hostendpoint-traffic-allowed",result="warn"\} 1$/m, 'findings relayed from the scan process');
  t.match(text, /^clusterip_guard_audit_last_run_timestamp_seconds \d{10}/m, 'last run relayed');
  t.match(text, /^clusterip_guard_audit_worker_restarts_total 0$/m);
  // The log line follows the write and the run message, so it may still be on its way.
  await waitFor("the scan process's log line", () => lines.some((l) => l.msg === 'audit scan done'), 5000);
  t.pass("the scan process's log lines reach the main logger");
  await thread.stop();
  t.notOk(thread.active(), 'inactive once stopped');
  const written = store.requests.length;
  await sleep(300);
  t.equal(store.requests.length, written, 'no request after stop()');
});

t.test('a scan process that dies is logged, counted and restarted with backoff', async (t) => {
  const { dir, kubeconfig } = await setup(t);
  const objectsFile = join(dir, 'later.json'); // missing: the scan process throws while starting
  const metrics = createAuditMetrics();
  const { lines, logger } = logs();
  let scans = 0;
  const thread = createScanProcess({ data: { config: config({ audit: { reports: true } }), kubeconfig, objectsFile, dryRun: true, pollMs: 20 }, metrics, logger, backoffMs: 100, maxBackoffMs: 400, onRan: () => void scans++ });
  thread.start();
  // Each start loads every module first: seconds apiece on a loaded machine.
  await waitFor('two exits', () => lines.filter((l) => l.level === 'error').length >= 2, 60_000);
  const errors = lines.filter((l) => l.level === 'error');
  t.match(errors[0]!.obj, { exitCode: 1, err: /ENOENT/ }, 'the cause is logged');
  t.same(errors.slice(0, 2).map((l) => (l.obj as { restartInSeconds: number }).restartInSeconds), [0.1, 0.2], 'the delay doubles');
  t.match(await metrics.registry.metrics(), /^clusterip_guard_audit_worker_restarts_total [2-9]$/m, 'counted');
  writeFileSync(objectsFile, JSON.stringify(objects));
  await waitFor('a scan once the scan process can start', () => scans > 0, 60_000);
  t.ok(thread.active(), 'the restarted scan process runs');
  await thread.stop();
  const exits = lines.filter((l) => l.level === 'error').length;
  await sleep(600);
  t.equal(lines.filter((l) => l.level === 'error').length, exits, 'stop() is not a crash and cancels restarts');
});

t.test('a scan process that outgrows its heap cap (32 MB, 10,000 Services) ends and is counted; this process goes on', async (t) => {
  const { dir } = await setup(t);
  const objectsFile = join(dir, 'big.json');
  const services = Array.from({ length: 10_000 }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'shop', uid: `uid-${i}`, labels: { 'clusterip-guard.io/exposed': 'true' } },
    spec: { clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ port: 443, protocol: 'TCP' }] },
  }));
  writeFileSync(objectsFile, JSON.stringify([...objects, ...services]));
  const metrics = createAuditMetrics();
  const { lines, logger } = logs();
  const thread = createScanProcess({ data: { config: config({ audit: { reports: true, workerHeapMegabytes: 32 } }), kubeconfig: null, objectsFile, dryRun: true, pollMs: 20 }, metrics, logger, backoffMs: 60_000 });
  thread.start();
  await waitFor('the scan process to run out of memory', () => lines.some((l) => l.level === 'error'), 60_000);
  // V8 aborts at the cap (its "heap out of memory" goes to the shared stderr).
  t.match(lines.find((l) => l.level === 'error')!.obj, { signal: 'SIGABRT', err: /SIGABRT/ }, 'logged as ended by V8 at the heap cap');
  t.match(await metrics.registry.metrics(), /^clusterip_guard_audit_worker_restarts_total 1$/m, 'counted');
  t.ok(thread.active(), 'a restart is pending');
  await thread.stop();
});

/** Scheduling policy (stat field 41; 5 = SCHED_IDLE) and nice value (field 19) of every thread of a process. */
const threadsOf = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid, policy: Number(fields[38]), nice: Number(fields[16]) };
  });
const onPath = (name: string): boolean =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

async function priorityOf(t: { teardown(fn: () => unknown): void }, path?: string) {
  const { dir } = await setup(t);
  const objectsFile = join(dir, 'objects.json');
  writeFileSync(objectsFile, JSON.stringify(objects));
  const { lines, logger } = logs();
  let reported: CpuPriority | null = null;
  const thread = createScanProcess({ data: { config: config({ audit: { reports: true } }), kubeconfig: null, objectsFile, dryRun: true }, metrics: createAuditMetrics(), logger, onPriority: (p) => (reported = p) });
  const savedPath = process.env.PATH;
  if (path !== undefined) process.env.PATH = path; // the fork takes this environment
  try {
    thread.start();
  } finally {
    process.env.PATH = savedPath;
  }
  t.teardown(() => thread.stop());
  await waitFor('the priority message', () => reported !== null, 60_000);
  return { reported: reported as CpuPriority | null, threads: threadsOf(thread.pid()!), lines };
}

t.test('every thread of the scan process runs at SCHED_IDLE where chrt is on the PATH, at nice 19 otherwise, and the log says which', async (t) => {
  const { reported, threads, lines } = await priorityOf(t);
  const chrt = onPath('chrt');
  t.equal(reported, chrt ? 'idle' : 'low', `chrt ${chrt ? 'is' : 'is not'} on this PATH`);
  t.ok(threads.length >= 5, `the event loop and V8's helper threads (${threads.length})`);
  for (const th of threads) t.same({ policy: th.policy, nice: th.nice }, { policy: chrt ? 5 : 0, nice: 19 }, `thread ${th.tid}`);
  t.match(lines.find((l) => l.msg === 'audit scan process started')?.obj, { cpuPriority: reported }, 'logged by the supervisor');
});

t.test('without chrt the scan process falls back to nice 19 on every thread', async (t) => {
  const { reported, threads } = await priorityOf(t, mkdtempSync(join(tmpdir(), 'no-chrt-')));
  t.equal(reported, 'low');
  for (const th of threads) t.same({ policy: th.policy, nice: th.nice }, { policy: 0, nice: 19 }, `thread ${th.tid}: SCHED_OTHER at nice 19`);
});
