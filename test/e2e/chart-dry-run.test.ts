/**
 * The chart against a real kube-apiserver: every scenario in charts/clusterip-guard/ci is rendered
 * with helm for the server's Kubernetes version and sent through
 * `kubectl apply --dry-run=server --validate=strict`, so the API server's own validation (built-in
 * types, webhook configurations, unknown fields) judges the manifests. cert-manager is not
 * installed; test/e2e/crds-cert-manager holds stand-in CRDs for its Issuer, ClusterIssuer and
 * Certificate kinds (any spec accepted), so those objects are checked for kind, scope and metadata
 * only. Values the chart must refuse are checked to fail at `helm template` time.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CI_DIR, RELEASE_NAMESPACE, SCENARIOS, parseManifests, renderChart, type K8sObject } from '../chart/render.ts';
import { ControlPlane, ROOT } from './harness.ts';

const CRD_DIR = join(ROOT, 'test/e2e/crds-cert-manager');
const CERT_MANAGER_CRDS = ['issuers.cert-manager.io', 'clusterissuers.cert-manager.io', 'certificates.cert-manager.io'];

const cp = await ControlPlane.start();
t.teardown(() => cp.stop());

// Helm gets the server's own version, so version-dependent templates render as they would for it.
let kubeVersion = '';
try {
  kubeVersion = cp.env['CIG_E2E_K8S_VERSION'] ?? '';
  if (!/^v\d+\.\d+\.\d+/.test(kubeVersion)) throw new Error(`no server version in the control plane's env file: '${kubeVersion}'`);
  const crds = await cp.kubectl(['apply', '-f', CRD_DIR]);
  if (crds.code !== 0) throw new Error(`applying ${CRD_DIR} failed:\n${crds.stderr}`);
  const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CERT_MANAGER_CRDS.map((n) => `crd/${n}`)]);
  if (established.code !== 0) throw new Error(`cert-manager stand-in CRDs not Established:\n${established.stderr}`);
  // Established can come a moment before discovery lists the new group, and kubectl needs discovery.
  for (let i = 0; ; i++) {
    const found = await cp.kubectl(['get', 'issuers.cert-manager.io,clusterissuers.cert-manager.io,certificates.cert-manager.io', '-A']);
    if (found.code === 0) break;
    if (i >= 60) throw new Error(`cert-manager.io not served after 30 s:\n${found.stderr}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const ns = await cp.kubectl(['create', 'namespace', RELEASE_NAMESPACE]);
  if (ns.code !== 0) throw new Error(`creating namespace ${RELEASE_NAMESPACE} failed:\n${ns.stderr}`);
} catch (err) {
  await cp.stop();
  throw err;
}
t.comment(`kube-apiserver ${kubeVersion}; charts rendered with --kube-version ${kubeVersion}`);

/** `deployment.apps`, `service`: how kubectl names an object's resource in its apply output. */
function kubectlKind(obj: K8sObject): string {
  const slash = obj.apiVersion.indexOf('/');
  const group = slash === -1 ? '' : obj.apiVersion.slice(0, slash);
  return group === '' ? obj.kind.toLowerCase() : `${obj.kind.toLowerCase()}.${group}`;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Objects as the dry run returned them with `-o json` (a List when there are several). */
function returnedItems(stdout: string): K8sObject[] {
  const parsed = JSON.parse(stdout) as K8sObject & { items?: K8sObject[] };
  return parsed.kind === 'List' ? (parsed.items ?? []) : [parsed];
}

t.test('the stand-in cert-manager CRDs are served with cert-manager scopes', async (t) => {
  const res = await cp.kubectl(['api-resources', '--api-group=cert-manager.io', '--no-headers', '-o', 'wide']);
  t.equal(res.code, 0, res.stderr);
  const scope = (kind: string) => new RegExp(`\\scert-manager\\.io/v1\\s+${kind === 'ClusterIssuer' ? 'false' : 'true'}\\s+${kind}\\s`).test(res.stdout);
  for (const kind of ['Issuer', 'ClusterIssuer', 'Certificate']) t.ok(scope(kind), `${kind} served as cert-manager.io/v1, ${kind === 'ClusterIssuer' ? 'cluster-scoped' : 'namespaced'}`);
});

const ciFiles = (await readdir(CI_DIR)).filter((f) => f.endsWith('-values.yaml')).sort();

t.test('every ci scenario is covered', async (t) => {
  t.ok(ciFiles.length > 0, `scenarios found in ${CI_DIR}`);
  t.same(ciFiles, [...SCENARIOS].sort(), 'render.ts SCENARIOS lists exactly the files in ci/');
});

for (const scenario of ciFiles) {
  t.test(`${scenario}: accepted by the API server (apply --dry-run=server --validate=strict)`, async (t) => {
    const manifests = await renderChart(scenario, { kubeVersion });
    const objects = parseManifests(manifests);
    t.ok(objects.length > 0, 'something is rendered');

    const applied = await cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], manifests);
    t.equal(applied.code, 0, `exit code 0\n${applied.stderr}`);
    t.notMatch(applied.stderr, /Warning|error/i, 'no warnings or errors from the API server or kubectl');
    const lines = applied.stdout.trim().split('\n');
    for (const obj of objects) {
      const line = new RegExp(`^${escape(kubectlKind(obj))}/${escape(obj.metadata.name)} created \\(server dry run\\)$`, 'm');
      t.match(applied.stdout, line, `${obj.kind} ${obj.metadata.name} created (server dry run)`);
    }
    t.equal(lines.length, objects.length, 'one output line per rendered object');

    // The same request with -o json shows where the server put each object: the rendered
    // namespace for namespaced kinds, none for cluster-scoped ones (kubectl would otherwise fill
    // in "default" for a namespaced object the chart forgot to place).
    const asJson = await cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-o', 'json', '-f', '-'], manifests);
    t.equal(asJson.code, 0, `-o json: exit code 0\n${asJson.stderr}`);
    const returned = returnedItems(asJson.stdout);
    t.equal(returned.length, objects.length, 'the server returned every object');
    for (const obj of objects) {
      const back = returned.find((r) => r.kind === obj.kind && r.apiVersion === obj.apiVersion && r.metadata.name === obj.metadata.name);
      if (!back) {
        t.fail(`${obj.kind} ${obj.metadata.name} missing from the -o json output`);
        continue;
      }
      t.equal(back.metadata.namespace, obj.metadata.namespace, `${obj.kind} ${obj.metadata.name}: namespace ${obj.metadata.namespace ?? '(cluster-scoped)'}`);
      if (obj.metadata.namespace !== undefined) t.equal(obj.metadata.namespace, RELEASE_NAMESPACE, `${obj.kind} ${obj.metadata.name} is in the release namespace`);
    }
    t.comment(`${scenario}: ${objects.map((o) => o.kind).join(', ')}`);
  });
}

t.test('the dry run is strict: an unknown field in a rendered object is rejected', async (t) => {
  // Control for the test above: proves --validate=strict reaches the server, so acceptance means something.
  const objects = parseManifests(await renderChart('default-values.yaml', { kubeVersion }));
  const deployment = objects.find((o) => o.kind === 'Deployment');
  if (!deployment) return t.fail('default-values.yaml renders a Deployment');
  (deployment['spec'] as Record<string, unknown>)['replicaz'] = 2;
  const res = await cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], JSON.stringify(deployment));
  t.not(res.code, 0, 'rejected');
  t.match(res.stderr, /unknown field "spec\.replicaz"/);
});

t.test('invalid values fail at helm template time, naming the value', async (t) => {
  const cases: Array<{ name: string; set: string[]; message: RegExp }> = [
    { name: 'a misspelt key (replicas)', set: ['replicas=2'], message: /additional properties 'replicas' not allowed/ },
    { name: 'a string for an integer (replicaCount=two)', set: ['replicaCount=two'], message: /at '\/replicaCount': got string, want integer/ },
    { name: 'secret mode without a caBundle', set: ['tls.mode=secret', 'tls.secret.name=tls'], message: /tls\.caBundle is required when tls\.mode=secret/ },
  ];
  for (const c of cases) {
    await t.rejects(renderChart('default-values.yaml', { kubeVersion, set: c.set }), { message: c.message }, c.name);
  }
});
