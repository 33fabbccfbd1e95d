import t from 'tap';
import { pino } from 'pino';
import { startClusterState } from '../../src/cluster/informers.ts';
import type { ClusterLogger, ClusterStateOptions } from '../../src/cluster/informers.ts';
import { EMPTY_SNAPSHOT } from '../../src/cluster/types.ts';
import type { ClusterState } from '../../src/cluster/types.ts';
import {
  CALICO_CRD_V1, CALICO_V3, collectionPath, FakeApiServer, freePort, kubeConfigFor, makeTls, SERVICES_PATH,
} from './fake-apiserver.ts';
import { CONFIG, EXPOSED, named, names, recordingLogger, service, sleep, waitFor } from './helpers.ts';

const TLS = makeTls();
const V3_GNP = collectionPath(CALICO_V3, 'globalnetworkpolicies');
const V3_IPPOOLS = collectionPath(CALICO_V3, 'ippools');
const V3_BGP = collectionPath(CALICO_V3, 'bgpconfigurations');
const V3_HEP = collectionPath(CALICO_V3, 'hostendpoints');
const CRD_GNP = collectionPath(CALICO_CRD_V1, 'globalnetworkpolicies');
const CRD_IPPOOLS = collectionPath(CALICO_CRD_V1, 'ippools');

// A pino logger fits the option (checked by the type checker).
const pinoLogger: ClusterLogger = pino({ enabled: false });
void pinoLogger;

interface Harness {
  api: FakeApiServer;
  state: ClusterState;
  logger: ReturnType<typeof recordingLogger>;
}

/** A fake API server (already listening unless `port` is given) and a cluster state on it; both closed at teardown. */
async function harness(
  tt: { teardown(fn: () => unknown): void },
  setup: (api: FakeApiServer) => void = () => {},
  options: Partial<ClusterStateOptions> & { served?: string[]; port?: number } = {},
): Promise<Harness> {
  const api = new FakeApiServer(TLS, options.served);
  setup(api);
  const port = options.port ?? (await api.listen());
  const logger = recordingLogger();
  const state = await startClusterState({
    kubeConfig: kubeConfigFor(port, TLS.cert),
    config: CONFIG,
    logger,
    resyncBackoffMs: 20,
    maxBackoffMs: 200,
    ...options,
  });
  tt.teardown(async () => {
    await state.close();
    await api.stop();
  });
  return { api, state, logger };
}

function populate(api: FakeApiServer): void {
  api.put(V3_GNP, named('allow-cluster-ips', { preDNAT: true, applyOnForward: true, order: 10 }));
  api.put(V3_GNP, named('allow-hosts', { order: 20 }));
  for (const name of ['pool-a', 'pool-b', 'pool-c']) api.put(V3_IPPOOLS, named(name, { cidr: '192.168.0.0/16' }));
  api.put(V3_BGP, named('default', { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] }));
  api.put(V3_BGP, named('node.worker-1', {}));
  api.put(V3_HEP, named('worker-1-eth0', { node: 'worker-1', expectedIPs: ['10.0.0.1'] }));
  api.put(CRD_GNP, named('default.crd-only', {}));
  api.put(SERVICES_PATH, service('default', 'web', EXPOSED));
  api.put(SERVICES_PATH, service('edge', 'ingress'));
  api.put(SERVICES_PATH, service('default', 'internal'));
}

t.test('lists, then follows watch events into the snapshot', async (t) => {
  const { api, state, logger } = await harness(t, populate);
  t.equal(state.ready(), false, 'not ready before the first lists');
  t.equal(state.snapshot(), EMPTY_SNAPSHOT, 'static snapshot meanwhile');
  await waitFor('ready', () => state.ready());

  const first = state.snapshot();
  t.equal(first.source, 'cluster');
  t.same(names(first.globalNetworkPolicies), ['allow-cluster-ips', 'allow-hosts'], 'v3 preferred; crd copy not read');
  t.same(names(first.ipPools), ['pool-a', 'pool-b', 'pool-c'], 'all pages of a paged list');
  t.equal(first.bgpConfiguration?.metadata?.name, 'default', 'only the default BGPConfiguration');
  t.same(names(first.hostEndpoints), ['worker-1-eth0']);
  t.same(names(first.exposedServices), ['web', 'ingress'], 'exposed by label and by namespace; sorted by namespace/name');
  t.equal(first.exposedServices[0]?.kind, 'Service', 'kind filled in on typed list items');
  t.equal(first.exposedServices[0]?.apiVersion, 'v1');
  t.equal(state.snapshot(), first, 'same snapshot object while nothing changes');
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.globalNetworkPolicies), 'snapshot frozen');
  const policy = first.globalNetworkPolicies[0];
  t.ok(Object.isFrozen(policy) && Object.isFrozen(policy?.spec), 'objects frozen deeply');
  t.equal(api.count('list', CRD_GNP), 0, 'crd.projectcalico.org/v1 not listed when v3 serves the resource');
  t.ok(api.count('list', V3_IPPOOLS) >= 2, 'paged with continue');
  const watch = api.requests.find((r) => r.kind === 'watch' && r.path === V3_GNP);
  t.equal(watch?.query.get('allowWatchBookmarks'), 'true', 'asks for bookmarks');
  t.match(watch?.query.get('resourceVersion'), /^\d+$/, 'watches from the list resourceVersion');
  t.equal(logger.count('warn'), 0, 'nothing to warn about');
  t.ok(logger.entries.some((e) => e.level === 'info' && e.msg === 'cluster state synced'));

  api.put(V3_GNP, named('deny-rest', { order: 100 }));
  await waitFor('ADDED', () => names(state.snapshot().globalNetworkPolicies).includes('deny-rest'));
  const second = state.snapshot();
  t.not(second, first, 'a change makes a new snapshot');
  t.equal(second.globalNetworkPolicies[0], policy, 'unchanged objects keep their identity');

  api.put(V3_GNP, named('allow-cluster-ips', { preDNAT: true, applyOnForward: true, order: 5 }));
  await waitFor('MODIFIED', () => state.snapshot().globalNetworkPolicies[0]?.spec?.['order'] === 5);
  t.not(state.snapshot().globalNetworkPolicies[0], policy, 'a modified object is replaced');
  t.equal(state.snapshot().globalNetworkPolicies[1], second.globalNetworkPolicies[1], 'its neighbours are not');

  api.remove(V3_GNP, 'allow-hosts');
  await waitFor('DELETED', () => !names(state.snapshot().globalNetworkPolicies).includes('allow-hosts'));
  t.same(names(state.snapshot().globalNetworkPolicies), ['allow-cluster-ips', 'deny-rest']);

  api.put(V3_BGP, named('default', { serviceClusterIPs: [{ cidr: '10.100.0.0/16' }] }));
  await waitFor('BGPConfiguration change', () =>
    JSON.stringify(state.snapshot().bgpConfiguration?.spec).includes('10.100.0.0/16'));
  api.remove(V3_BGP, 'default');
  await waitFor('BGPConfiguration deleted', () => state.snapshot().bgpConfiguration === null);
});

t.test('Services are kept only while exposed', async (t) => {
  const { api, state } = await harness(t, populate);
  await waitFor('ready', () => state.ready());
  const before = state.snapshot();

  api.put(SERVICES_PATH, service('default', 'web'));
  await waitFor('label removed', () => !names(state.snapshot().exposedServices).includes('web'));
  api.put(SERVICES_PATH, service('default', 'internal', EXPOSED));
  await waitFor('label added', () => names(state.snapshot().exposedServices).includes('internal'));
  t.same(names(state.snapshot().exposedServices), ['internal', 'ingress'], 'sorted by namespace/name');

  const snapshot = state.snapshot();
  api.put(SERVICES_PATH, service('default', 'other'));
  await waitFor('event seen', () => api.count('watch', SERVICES_PATH) > 0 && api.openWatches(SERVICES_PATH) > 0);
  await sleep(50);
  t.equal(state.snapshot(), snapshot, 'a non-exposed Service does not change the snapshot');
  t.equal(before.exposedServices.length, 2);

  api.remove(SERVICES_PATH, 'ingress', { namespace: 'edge' });
  await waitFor('deleted', () => !names(state.snapshot().exposedServices).includes('ingress'));
});

t.test('a watch the server closes is resumed from the last resourceVersion', async (t) => {
  const { api, state } = await harness(t, populate);
  await waitFor('ready', () => state.ready());
  const lists = api.count('list', V3_GNP);
  const watches = api.count('watch', V3_GNP);
  api.put(V3_GNP, named('before-drop'));
  await waitFor('event', () => names(state.snapshot().globalNetworkPolicies).includes('before-drop'));
  const lastSeen = api.requests.length;

  api.dropWatches(V3_GNP);
  await waitFor('reconnect', () => api.count('watch', V3_GNP) > watches && api.openWatches(V3_GNP) === 1);
  const reconnect = api.requests.slice(lastSeen).find((r) => r.kind === 'watch' && r.path === V3_GNP);
  t.ok(Number(reconnect?.query.get('resourceVersion')) > 1000, 'resumes from a known resourceVersion');
  t.equal(api.count('list', V3_GNP), lists, 'no relist');

  api.put(V3_GNP, named('after-drop'));
  await waitFor('event after reconnect', () => names(state.snapshot().globalNetworkPolicies).includes('after-drop'));
});

t.test('410 Gone makes the informer relist and catch up on missed changes', async (t) => {
  const { api, state } = await harness(t, populate);
  await waitFor('ready', () => state.ready());
  const lists = api.count('list', V3_GNP);
  const kept = state.snapshot().globalNetworkPolicies.find((p) => p.metadata?.name === 'allow-cluster-ips');

  api.remove(V3_GNP, 'allow-hosts', { silently: true });
  api.put(V3_GNP, named('missed-while-away'), { silently: true });
  api.expire(V3_GNP);
  await waitFor('relist', () => api.count('list', V3_GNP) > lists);
  await waitFor('relisted state', () => names(state.snapshot().globalNetworkPolicies).join() === 'allow-cluster-ips,missed-while-away');
  t.equal(
    state.snapshot().globalNetworkPolicies[0],
    kept,
    'an object whose resourceVersion did not change keeps its identity across a relist',
  );

  api.put(V3_GNP, named('after-relist'));
  await waitFor('watching again', () => names(state.snapshot().globalNetworkPolicies).includes('after-relist'));
});

t.test('bookmarks move the resume point forward', async (t) => {
  const { api, state } = await harness(t, populate);
  await waitFor('ready', () => state.ready());
  await waitFor('watch open', () => api.openWatches(V3_HEP) === 1);
  const resourceVersion = api.bookmark(V3_HEP);
  await sleep(50);
  const seen = api.requests.length;
  api.dropWatches(V3_HEP);
  await waitFor('reconnect', () => api.requests.slice(seen).some((r) => r.kind === 'watch' && r.path === V3_HEP));
  const reconnect = api.requests.slice(seen).find((r) => r.kind === 'watch' && r.path === V3_HEP);
  t.equal(reconnect?.query.get('resourceVersion'), resourceVersion);
});

t.test('failing watches are retried with backoff and warned about at a limited rate', async (t) => {
  const { api, state, logger } = await harness(t, populate);
  await waitFor('ready', () => state.ready());
  const lists = api.count('list', V3_GNP);
  const watches = api.count('watch', V3_GNP);

  api.failNext('watch', V3_GNP, 500, 3);
  api.dropWatches(V3_GNP);
  await waitFor('watch restored', () => api.count('watch', V3_GNP) >= watches + 4 && api.openWatches(V3_GNP) === 1);
  const warnings = logger.entries.filter((e) => e.level === 'warn');
  t.equal(warnings.length, 1, 'three failures, one warning');
  t.equal(warnings[0]?.obj['resource'], V3_GNP);
  t.match(String(warnings[0]?.obj['err']), /HTTP 500 Internal Server Error/);
  t.equal(api.count('list', V3_GNP), lists, 'resumed without relisting');
  t.equal(state.ready(), true);

  api.put(V3_GNP, named('after-failures'));
  await waitFor('events again', () => names(state.snapshot().globalNetworkPolicies).includes('after-failures'));
});

t.test('only crd.projectcalico.org/v1 served: reads it', async (t) => {
  const { api, state } = await harness(
    t,
    (api) => {
      api.put(CRD_GNP, named('default.allow-cluster-ips'));
      api.put(CRD_IPPOOLS, named('default-ipv4-ippool', { cidr: '192.168.0.0/16' }));
    },
    { served: [CALICO_CRD_V1] },
  );
  await waitFor('ready', () => state.ready());
  t.equal(state.snapshot().source, 'cluster');
  t.same(names(state.snapshot().globalNetworkPolicies), ['default.allow-cluster-ips']);
  t.same(names(state.snapshot().ipPools), ['default-ipv4-ippool']);
  t.equal(api.requests.filter((r) => r.kind !== 'discovery' && r.path.includes(CALICO_V3 + '/')).length, 0, 'no v3 requests');
  t.equal(api.requests.some((r) => r.path.startsWith('/apis/projectcalico.org')), false, 'v3 not even discovered');
  api.put(CRD_GNP, named('default.deny'));
  await waitFor('crd watch', () => names(state.snapshot().globalNetworkPolicies).includes('default.deny'));
});

t.test('unreachable cluster: static fallback, one warning, recovery when it comes up', async (t) => {
  const port = await freePort();
  const { api, state, logger } = await harness(t, populate, { port });
  await waitFor('fallback', () => state.ready());
  t.equal(state.snapshot(), EMPTY_SNAPSHOT);
  t.equal(state.snapshot().source, 'static');
  await sleep(400); // several discovery retries (20 ms base, 200 ms cap)
  t.equal(logger.count('warn'), 1, 'one warning, not one per retry');
  t.match(String(logger.entries[0]?.obj['reason']), /unreachable.*ECONNREFUSED/);

  await api.listen(port);
  await waitFor('recovery', () => state.snapshot().source === 'cluster');
  t.same(names(state.snapshot().globalNetworkPolicies), ['allow-cluster-ips', 'allow-hosts']);
  t.equal(logger.count('warn'), 1, 'no further warnings');
  t.equal(logger.entries.filter((e) => e.msg?.startsWith('cluster state recovered')).length, 1, 'recovery logged once');
  t.equal(state.ready(), true);
});

t.test('discovery that hangs times out into the fallback', async (t) => {
  const { api, state, logger } = await harness(t, (api) => {
    populate(api);
    api.hangDiscovery = true;
  }, { discoveryTimeoutMs: 150 });
  await waitFor('fallback', () => state.ready(), 2000);
  t.equal(state.snapshot().source, 'static');
  t.match(String(logger.entries[0]?.obj['reason']), /unreachable.*timeout/i);
  api.hangDiscovery = false;
  await waitFor('recovery', () => state.snapshot().source === 'cluster');
  t.equal(logger.count('warn'), 1);
});

t.test('no Calico API served: static fallback naming both groups, live once Calico appears', async (t) => {
  const { api, state, logger } = await harness(t, (api) => api.put(CRD_GNP, named('default.p')), { served: [] });
  await waitFor('fallback', () => state.ready());
  t.equal(state.snapshot().source, 'static');
  await sleep(200);
  t.equal(logger.count('warn'), 1);
  const reason = String(logger.entries[0]?.obj['reason']);
  t.match(reason, /no Calico API is served/);
  t.match(reason, CALICO_V3);
  t.match(reason, CALICO_CRD_V1);
  t.equal(api.count('list'), 0, 'nothing listed, Services included');

  api.served.add(CALICO_CRD_V1);
  await waitFor('Calico installed', () => state.snapshot().source === 'cluster');
  t.same(names(state.snapshot().globalNetworkPolicies), ['default.p']);
  t.equal(logger.count('warn'), 1);
});

t.test('rejected credentials: fallback with the HTTP status in the warning', async (t) => {
  const api = new FakeApiServer(TLS);
  const port = await api.listen();
  const logger = recordingLogger();
  const state = await startClusterState({
    kubeConfig: kubeConfigFor(port, TLS.cert, 'wrong-token'), config: CONFIG, logger, resyncBackoffMs: 20, maxBackoffMs: 100,
  });
  t.teardown(async () => {
    await state.close();
    await api.stop();
  });
  await waitFor('fallback', () => state.ready());
  t.match(String(logger.entries[0]?.obj['reason']), /refused API discovery.*401/);
});

t.test('first list refused: fallback after the sync timeout, live when the list works', async (t) => {
  const { api, state, logger } = await harness(t, (api) => {
    populate(api);
    api.failNext('list', V3_GNP, 403, 1_000_000);
  }, { syncTimeoutMs: 200, warnIntervalMs: 60_000 });
  await sleep(50);
  t.equal(state.ready(), false, 'not ready while a list fails, before the sync timeout');
  await waitFor('fallback', () => state.ready(), 2000);
  t.equal(state.snapshot().source, 'static');
  const fallbackWarning = logger.entries.find((e) => e.level === 'warn' && String(e.obj['reason']).includes('did not finish'));
  t.match(String(fallbackWarning?.obj['reason']), V3_GNP, 'names the resource not synced');
  t.equal(logger.entries.filter((e) => e.level === 'warn' && e.obj['resource'] === V3_GNP).length, 1, 'list failures warned once');

  api.failNext('list', V3_GNP, 403, 0);
  await waitFor('live', () => state.snapshot().source === 'cluster');
  t.same(names(state.snapshot().globalNetworkPolicies), ['allow-cluster-ips', 'allow-hosts']);
  t.equal(logger.entries.filter((e) => e.msg?.startsWith('cluster state recovered')).length, 1);
});

t.test('close() ends the watches and the retries', async (t) => {
  const { api, state } = await harness(t, populate);
  await waitFor('ready', () => state.ready());
  await waitFor('watches open', () => api.openWatches(V3_GNP) === 1 && api.openWatches(SERVICES_PATH) === 1);
  api.failNext('watch', V3_IPPOOLS, 500, 1_000_000);
  api.dropWatches(V3_IPPOOLS);
  await sleep(30);
  await state.close();
  await waitFor('watches closed', () => api.openWatches(V3_GNP) === 0 && api.openWatches(SERVICES_PATH) === 0);
  await sleep(20); // let requests sent before close() reach the server
  const after = api.requests.length;
  await sleep(300);
  t.equal(api.requests.length, after, 'no requests after close');
  await state.close();
  t.pass('close() twice is fine');
});
