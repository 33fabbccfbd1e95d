/**
 * `npm run bench:memory`: memory and main-thread stalls of `serve` holding a large cached
 * cluster, the figures the chart's resources, heap flag and probe timeouts come from.
 *
 * The cluster (MEMORY_HOST_ENDPOINTS 10,000, MEMORY_POLICIES 5,000 GlobalNetworkPolicies,
 * MEMORY_SERVICES 20,000 exposed Services, shaped as the API server stores them: labels, the
 * client-side apply annotation, managedFields) is loaded into a SnapshotStore the way the
 * informers do (deep-frozen objects), and the analysis pool syncs its worker's copy. Reported:
 * - RSS and main-thread heap: start, cluster cached, worker synced, peak while reviewing
 *   (MEMORY_SECONDS of 4 senders of 1,000-rule policies, unparsed as serve gets them, plus
 *   Services at 500/s decided on the main thread); RSS counts the worker too;
 * - the main thread's longest stall (event-loop delay) while the worker's copy is synced,
 *   whole and after one changed Service, beside what posting the whole snapshot in one message
 *   (the former way) and each slice's post hold it for, and the snapshot store's rebuild after one change;
 * - review times against this cluster: a Service on the main thread (also the first after a
 *   change), a 20-rule policy in the worker.
 * Results on stdout and in bench/results/memory.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { MessageChannel } from 'node:worker_threads';
import { createAdmit } from '../src/admission/decide.ts';
import type { AdmissionRequest, KubeObject } from '../src/admission/types.ts';
import { deepFreeze, SnapshotStore } from '../src/cluster/snapshot-store.ts';
import { defaultConfig } from '../src/config/load.ts';
import { defaultRegistry } from '../src/rules/index.ts';
import { createAnalysisPool } from '../src/server/analysis-pool.ts';
import { SLICE_OBJECTS, snapshotMessages } from '../src/server/snapshot-sync.ts';
import { syntheticCluster } from './admit.ts';
import { exposedServiceCreate, globalNetworkPolicyUpdate, largePolicyReview } from './reviews.ts';

const env = process.env;
const sizes = {
  hostEndpoints: Number(env.MEMORY_HOST_ENDPOINTS ?? 10_000),
  policies: Number(env.MEMORY_POLICIES ?? 5_000),
  services: Number(env.MEMORY_SERVICES ?? 20_000),
  seconds: Number(env.MEMORY_SECONDS ?? 10),
};
const MB = 1024 * 1024;
const mem = () => ({ rssMB: +(process.memoryUsage.rss() / MB).toFixed(1), heapUsedMB: +(process.memoryUsage().heapUsed / MB).toFixed(1) });
const median = (xs: number[]) => +[...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(2);

/** An exposed Service as the API server stores it (what the informer hands the store). */
function service(i: number): KubeObject {
  const s = structuredClone((exposedServiceCreate() as { request: { object: KubeObject & Record<string, any> } }).request.object);
  const name = `svc-${i}`;
  const namespace = `team-${i % 500}`;
  const ip = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  s.metadata = { ...s.metadata, name, namespace, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(100_000 + i), creationTimestamp: '2026-11-01T10:00:00Z' };
  s.metadata.labels = { ...s.metadata.labels, app: name, team: namespace };
  s.spec = { ...s.spec, clusterIP: ip, clusterIPs: [ip], selector: { app: name } };
  const { annotations: _a, ...meta } = s.metadata;
  s.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec: s.spec }) };
  s.metadata.managedFields = [
    {
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      apiVersion: 'v1',
      time: '2026-11-01T10:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': Object.fromEntries(Object.keys(s.metadata.labels).map((k) => [`f:${k}`, {}])) },
        'f:spec': { 'f:internalTrafficPolicy': {}, 'f:ports': { '.': {}, 'k:{"port":443,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } }, 'f:selector': {}, 'f:sessionAffinity': {}, 'f:type': {} },
      },
    },
  ];
  return s;
}

/** Longest main-thread stall (ms) while `work` runs. */
async function longestStall(work: () => Promise<unknown>): Promise<{ maxMs: number; totalMs: number }> {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const started = performance.now();
  await work();
  const totalMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 5));
  lag.disable();
  return { maxMs: +(lag.max / 1e6).toFixed(1), totalMs: +totalMs.toFixed(1) };
}

async function main(): Promise<void> {
  const config = defaultConfig();
  const out: Record<string, unknown> = { node: process.version, sizes };
  const memory: Record<string, unknown> = { start: mem() };

  const store = new SnapshotStore('cluster', config);
  const objects = syntheticCluster(sizes.hostEndpoints, sizes.policies);
  for (const o of objects) store.upsert(o.kind === 'HostEndpoint' ? 'hostEndpoints' : o.kind === 'GlobalNetworkPolicy' ? 'globalNetworkPolicies' : o.kind === 'IPPool' ? 'ipPools' : 'bgpConfigurations', deepFreeze(o));
  for (let i = 0; i < sizes.services; i++) store.upsert('services', deepFreeze(service(i)));
  objects.length = 0;
  let t0 = performance.now();
  const first = store.snapshot();
  const firstBuildMs = performance.now() - t0;
  global.gc?.();
  memory['clusterCached'] = mem();
  out['objects'] = { hostEndpoints: first.hostEndpoints.length, globalNetworkPolicies: first.globalNetworkPolicies.length, exposedServices: first.exposedServices.length };

  // The former way: the whole snapshot in one message, cloned on the sender.
  const { port1, port2 } = new MessageChannel();
  t0 = performance.now();
  port1.postMessage(first);
  const wholePostMs = performance.now() - t0;
  port1.close();
  port2.close();

  // The same snapshot as sync messages: what each slice's post holds the main thread for.
  const slicePosts = [SLICE_OBJECTS, 256].map((slice) => {
    const channel = new MessageChannel();
    const ms: number[] = [];
    for (const msg of snapshotMessages(null, first, slice)) {
      const started = performance.now();
      channel.port1.postMessage(msg);
      ms.push(performance.now() - started);
    }
    channel.port1.close();
    return { slice, messages: ms.length, medianMs: median(ms), maxMs: +Math.max(...ms).toFixed(2), totalMs: +ms.reduce((a, b) => a + b, 0).toFixed(1) };
  });

  const cluster = { snapshot: () => store.snapshot() };
  const pool = createAnalysisPool({ config, cluster, budgetMs: 30_000, logger: false });
  const initialSync = await longestStall(() => pool.ready());
  global.gc?.();
  memory['workerSynced'] = mem();

  // One Service changes: the store rebuilds its snapshot, the next policy review syncs the change.
  const changed = deepFreeze(service(7));
  store.upsert('services', changed);
  t0 = performance.now();
  store.snapshot();
  const rebuildMs = performance.now() - t0;
  const small = globalNetworkPolicyUpdate() as { request: AdmissionRequest };
  const changeSync = await longestStall(() => pool.analyse('validate', small.request));

  // Review times against this cluster (the first Service review after a change derives the
  // per-snapshot data again: compiled policies, host-endpoint classes).
  const admit = createAdmit({ registry: defaultRegistry(), config, cluster });
  const serviceRequest = (exposedServiceCreate() as { request: AdmissionRequest }).request;
  const timed = (f: () => unknown): number => {
    const started = performance.now();
    f();
    return performance.now() - started;
  };
  // Both calls the API server makes for one Service write, each on a fresh copy (a review's
  // own derivations are cached for the last request object).
  const serviceReview = () => timed(() => ['mutate', 'validate'].forEach((stage) => admit(stage as 'mutate', structuredClone(serviceRequest))));
  const serviceAfterChangeMs = serviceReview();
  const serviceMs = Array.from({ length: 50 }, serviceReview);
  store.upsert('services', deepFreeze(service(8)));
  const serviceAfterSecondChangeMs = serviceReview();
  const twenty: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const o = await pool.analyse('validate', small.request);
    twenty.push('decision' in o ? performance.now() - started : NaN);
  }
  await pool.close();

  // Peak, at the default budget as serve runs: 4 senders of unparsed 1,000-rule policies and
  // Services at 500/s on the main thread, RSS sampled every 20 ms. Past the budget each
  // analysis is skipped and its worker replaced (and synced again from scratch).
  const peakPool = createAnalysisPool({ config, cluster, logger: false });
  await peakPool.ready();
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const body = JSON.stringify(largePolicyReview(1000, 4));
  let peak = mem();
  const sampler = setInterval(() => {
    const m = mem();
    if (m.rssMB > peak.rssMB) peak = m;
  }, 20);
  let stop = false;
  const outcomes: Record<string, number> = {};
  const senders = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const o = await peakPool.analyseRaw('validate', body);
      const key = 'skipped' in o ? o.skipped : 'analysed';
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
  });
  let services = 0;
  const pacer = setInterval(() => {
    for (let i = 0; i < 10; i++) admit('mutate', structuredClone(serviceRequest));
    services += 10;
  }, 20);
  await new Promise((r) => setTimeout(r, sizes.seconds * 1000));
  stop = true;
  clearInterval(pacer);
  await Promise.all(senders);
  clearInterval(sampler);
  lag.disable();
  memory['peakWhileReviewing'] = { ...peak, policies: outcomes, services, mainThreadLagMaxMs: +(lag.max / 1e6).toFixed(1), mainThreadLagP99Ms: +(lag.percentile(99) / 1e6).toFixed(1) };
  await peakPool.close();

  out['memory'] = memory;
  out['mainThreadStallMs'] = {
    wholeSnapshotInOneMessage: +wholePostMs.toFixed(1),
    slicePosts,
    initialSyncInSlices: initialSync,
    oneServiceChangedSync: changeSync,
    snapshotStoreRebuildAfterOneChange: +rebuildMs.toFixed(1),
    snapshotStoreFirstBuild: +firstBuildMs.toFixed(1),
  };
  out['reviewMs'] = {
    serviceMutateAndValidateOnMainThread: median(serviceMs),
    serviceFirstAfterAChange: +serviceAfterChangeMs.toFixed(1),
    serviceFirstAfterAnotherChange: +serviceAfterSecondChangeMs.toFixed(1),
    policy20RulesInWorker: median(twenty),
  };
  console.log(JSON.stringify(out, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/memory.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
}

await main();
