import t from 'tap';
import { buildReports } from '../../src/audit/openreports.ts';
import { writeReports } from '../../src/audit/report-writer.ts';
import { auditSnapshot } from '../../src/audit/scan.ts';
import { TokenBucket } from '../../src/audit/token-bucket.ts';
import { defaultRegistry } from '../../src/rules/index.ts';
import { config, snapshot, exposedService, tweak } from '../helpers.ts';
import { guide, guideCluster } from '../rules/guide.ts';
import { ObjectStore } from './object-store.ts';

const bare = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'node3-eth0', uid: 'uid-hep3' }, spec: { node: 'node3', interfaceName: 'eth0', expectedIPs: ['10.0.0.13'] } };
const allocated = tweak(exposedService, { metadata: { uid: 'uid-svc', managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:ports': {} } } }] } });
const reportsOf = (hosts: object[], services: object[], at = new Date('2026-12-01T00:00:00Z')) => {
  const cluster = snapshot({ ...guideCluster(), hostEndpoints: [...guide('host-endpoints'), ...hosts], exposedServices: services } as never);
  return buildReports(auditSnapshot(cluster, { registry: defaultRegistry(), config: config({}) }), at);
};
const logger = { warn: () => {} };

t.test('creates, leaves unchanged, updates and deletes; touches only its own label', async (t) => {
  const store = new ObjectStore();
  const kubeConfig = await store.start();
  t.teardown(() => store.close());
  store.put('reports', { metadata: { name: 'foreign', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'kyverno' } } });
  const opts = { kubeConfig, bucket: new TokenBucket(1000, 1000), logger, signal: new AbortController().signal };

  const first = reportsOf([bare], [allocated]);
  t.same(first.map((r) => `${r.kind}/${r.metadata.name}`).sort(), ['ClusterReport/uid-hep3', 'Report/uid-svc']);
  t.match(await writeReports(first, opts), { created: 2, updated: 0, deleted: 0, failed: 0 });
  t.equal(store.list('clusterreports').length, 1);
  t.equal(store.list('reports').filter((r) => r.metadata.namespace === 'shop').length, 2, 'its own report and the foreign one');

  // The same findings a minute later: nothing written (timestamps do not count).
  const before = store.requests.length;
  t.match(await writeReports(reportsOf([bare], [allocated], new Date('2026-12-01T00:01:00Z')), opts), { unchanged: 2, created: 0, updated: 0 });
  t.same(store.requests.slice(before).map((r) => r.method), ['GET', 'GET'], 'only the two lists');

  // The host endpoint is fixed (labelled), the Service stays: its report stays (rewritten, since
  // the fixed endpoint now receives its traffic and its findings name it), the endpoint's goes.
  const fixed = { ...bare, metadata: { ...bare.metadata, labels: { 'k8s-role': 'node' } } };
  t.match(await writeReports(reportsOf([fixed], [allocated]), opts), { deleted: 1, created: 0, failed: 0 });
  t.equal(store.list('clusterreports').length, 0);
  t.ok(store.list('reports').some((r) => r.metadata.name === 'uid-svc'), "the Service's report stays");
  t.ok(store.list('reports').some((r) => r.metadata.name === 'foreign'), 'a report of another source is never deleted');

  // A changed finding is an update in place.
  const other = tweak(allocated, { spec: { clusterIP: '10.96.0.99' } });
  t.match(await writeReports(reportsOf([], [other]), opts), { updated: 1 });
  t.match(JSON.stringify(store.list('reports').find((r) => r.metadata.name === 'uid-svc')), /10\.96\.0\.99/);
});

t.test('a failed write is counted and logged, the rest go on; writes are paced', async (t) => {
  const store = new ObjectStore();
  const kubeConfig = await store.start();
  t.teardown(() => store.close());
  const warned: object[] = [];
  store.failures = { method: 'POST', status: 500, count: 1 };
  const started = performance.now();
  const outcome = await writeReports(reportsOf([bare], [allocated]), { kubeConfig, bucket: new TokenBucket(10, 1), logger: { warn: (o) => void warned.push(o) }, signal: new AbortController().signal });
  const elapsed = performance.now() - started;
  t.match(outcome, { created: 1, failed: 1 });
  t.equal(warned.length, 1);
  t.ok(elapsed >= 90, `the second write waited for a token (${Math.round(elapsed)} ms at 10/s, burst 1)`);
});
