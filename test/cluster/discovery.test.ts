import t from 'tap';
import { discoverWatchTargets } from '../../src/cluster/discovery.ts';
import { startClusterState } from '../../src/cluster/informers.ts';
import { CALICO_CRD_V1, CALICO_V3, collectionPath, FakeApiServer, kubeConfigFor, makeTls } from './fake-apiserver.ts';
import { CONFIG, named, names, recordingLogger, waitFor } from './helpers.ts';

const TLS = makeTls();

async function server(tt: { teardown(fn: () => unknown): void }, served: string[], setup: (api: FakeApiServer) => void = () => {}) {
  const api = new FakeApiServer(TLS, served);
  setup(api);
  const port = await api.listen();
  tt.teardown(() => api.stop());
  return { api, kubeConfig: kubeConfigFor(port, TLS.cert) };
}

function targetMap(outcome: Awaited<ReturnType<typeof discoverWatchTargets>>): Record<string, string> {
  if (!outcome.ok) throw new Error(outcome.reason);
  return Object.fromEntries(outcome.targets.map((target) => [target.plural, target.path]));
}

t.test('both groups served: projectcalico.org/v3 for every resource, plus all-namespace Services', async (t) => {
  const { kubeConfig } = await server(t, [CALICO_V3, CALICO_CRD_V1]);
  const outcome = await discoverWatchTargets(kubeConfig, AbortSignal.timeout(5000));
  t.same(targetMap(outcome), {
    globalnetworkpolicies: '/apis/projectcalico.org/v3/globalnetworkpolicies',
    hostendpoints: '/apis/projectcalico.org/v3/hostendpoints',
    ippools: '/apis/projectcalico.org/v3/ippools',
    bgpconfigurations: '/apis/projectcalico.org/v3/bgpconfigurations',
    services: '/api/v1/services',
  });
  t.same(outcome.ok && outcome.missing, []);
});

t.test('preference is per resource: v3 where it serves the resource, crd v1 otherwise', async (t) => {
  const { kubeConfig } = await server(t, [CALICO_V3, CALICO_CRD_V1], (api) => {
    api.hidden.add(collectionPath(CALICO_V3, 'ippools'));
    api.hidden.add(collectionPath(CALICO_V3, 'bgpconfigurations'));
    api.hidden.add(collectionPath(CALICO_CRD_V1, 'bgpconfigurations'));
  });
  const outcome = await discoverWatchTargets(kubeConfig, AbortSignal.timeout(5000));
  const targets = targetMap(outcome);
  t.equal(targets['globalnetworkpolicies'], '/apis/projectcalico.org/v3/globalnetworkpolicies');
  t.equal(targets['ippools'], '/apis/crd.projectcalico.org/v1/ippools');
  t.notOk('bgpconfigurations' in targets);
  t.same(outcome.ok && outcome.missing, ['bgpconfigurations']);
});

t.test('an unserved resource is logged and its list stays empty; the rest syncs', async (t) => {
  const { api, kubeConfig } = await server(t, [CALICO_CRD_V1], (api) => {
    api.hidden.add(collectionPath(CALICO_CRD_V1, 'bgpconfigurations'));
    api.put(collectionPath(CALICO_CRD_V1, 'ippools'), named('default-ipv4-ippool', { cidr: '192.168.0.0/16' }));
  });
  const logger = recordingLogger();
  const state = await startClusterState({ kubeConfig, config: CONFIG, logger, resyncBackoffMs: 20 });
  t.teardown(() => state.close());
  await waitFor('ready', () => state.ready());
  t.equal(state.snapshot().source, 'cluster');
  t.same(names(state.snapshot().ipPools), ['default-ipv4-ippool']);
  t.equal(state.snapshot().bgpConfiguration, null);
  t.same(logger.entries.find((e) => e.obj['missing'] !== undefined)?.obj['missing'], ['bgpconfigurations']);
  t.equal(logger.count('warn'), 0);
  t.equal(api.count('list', collectionPath(CALICO_CRD_V1, 'bgpconfigurations')), 0);
});

t.test('an aggregated group that answers 503 is a failed discovery, not a missing group', async (t) => {
  const { api, kubeConfig } = await server(t, [CALICO_V3, CALICO_CRD_V1]);
  api.failNext('discovery', '/apis/projectcalico.org/v3', 503);
  const outcome = await discoverWatchTargets(kubeConfig, AbortSignal.timeout(5000));
  t.equal(outcome.ok, false);
  t.match(!outcome.ok && outcome.reason, /discovery of projectcalico\.org\/v3 failed.*HTTP 503/);
  const retry = await discoverWatchTargets(kubeConfig, AbortSignal.timeout(5000));
  t.equal(retry.ok, true, 'the next attempt works');
});

t.test('a group listed in /apis whose resource list is 404 is not served', async (t) => {
  const { api, kubeConfig } = await server(t, [CALICO_V3, CALICO_CRD_V1]);
  api.failNext('discovery', '/apis/projectcalico.org/v3', 404);
  const targets = targetMap(await discoverWatchTargets(kubeConfig, AbortSignal.timeout(5000)));
  t.equal(targets['globalnetworkpolicies'], '/apis/crd.projectcalico.org/v1/globalnetworkpolicies');
});
