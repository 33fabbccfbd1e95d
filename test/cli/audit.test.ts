import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { auditCommand } from '../../src/cli/audit-command.ts';
import type { Io } from '../../src/cli/check-command.ts';
import type { CheckResult } from '../../src/cli/check.ts';

const fixtures = join(import.meta.dirname, '../fixtures');
const NOW = new Date('2026-12-01T12:00:00Z');
const run = async (args: string[], stdinText = '') => {
  let out = '';
  const io: Io = { stdout: (s) => void (out += s), stdin: async () => stdinText };
  const status = await auditCommand(args, io, () => NOW);
  return { status, out };
};

// The guide's allow-cluster-ips only allows named sources, but nothing denies the rest: both
// cluster IPs are open.
const OPEN_RULE = 'service-cluster-ip-open';

t.test("the guide's objects plus its two exposed Services: only the guide's open cluster IPs", async (t) => {
  const { status, out } = await run(['-f', join(fixtures, 'guide'), '--output', 'json']);
  t.equal(status, 0, 'nothing at enforce');
  const results = JSON.parse(out) as CheckResult[];
  t.same(results.map((r) => `${r.kind}/${r.name}`).sort(), [
    'BGPConfiguration/default',
    'GlobalNetworkPolicy/allow-cluster-ips',
    'GlobalNetworkPolicy/allow-nodes-svc-a',
    'GlobalNetworkPolicy/allow-to-pods',
    'GlobalNetworkPolicy/allow-traffic-hostendpoints',
    'HostEndpoint/node1-eth0',
    'HostEndpoint/node2-eth0',
    'IPPool/default-ipv4-ippool',
    'Service/svc-a',
    'Service/svc-b',
  ]);
  const findings = results.flatMap((r) => r.findings.map((f) => ({ object: `${r.kind}/${r.name}`, ...f })));
  t.same(findings.filter((f) => f.rule !== OPEN_RULE), [], 'no finding but open cluster IPs');
  t.same([...new Set(findings.map((f) => f.object))].sort(), ['Service/svc-a', 'Service/svc-b'], 'both cluster IPs reported open');
  t.ok(findings.some((f) => f.message.includes('10.20.30.40')) && findings.some((f) => f.message.includes('10.20.30.41')));
  for (const r of results) t.same(Object.keys(r).sort(), ['decision', 'findings', 'kind', 'name', 'namespace', 'patch', 'source'], 'check --output json fields');
  t.equal(results.find((r) => r.name === 'svc-a')?.source, `${join(fixtures, 'guide', 'services.yaml')}#0`, 'the file and document it came from');
});

t.test('the guide as published: enforce findings exit 1, text names the rules', async (t) => {
  const { status, out } = await run(['-f', join(fixtures, 'guide-as-published')]);
  t.equal(status, 1);
  t.match(out, /allow-cluster-ips\.yaml: GlobalNetworkPolicy allow-cluster-ips\n  FAIL  \[gnp-schema\] spec\.ingress\[0\]\.destination\.nets\[0\]: /);
  t.match(out, /4 objects audited: 6 findings, 3 at enforce\n$/);
});

t.test('openreports: one ClusterReport per cluster-scoped object, a Report per namespaced one, nothing for clean objects', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cig-audit-'));
  const file = join(dir, 'objects.yaml');
  await writeFile(
    file,
    [
      // A Service pinned by nobody: managedFields show the IP was allocated.
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'web',
          namespace: 'shop',
          uid: '0b5f3c1e-0000-4000-8000-000000000001',
          labels: { 'clusterip-guard.io/exposed': 'true' },
          managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:ports': {} } } }],
        },
        spec: { clusterIP: '10.20.30.77', ports: [{ port: 80 }] },
      }),
      YAML.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'node3-eth0' }, spec: { node: 'node3', interfaceName: 'eth0' } }),
      YAML.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'fine', labels: { 'k8s-role': 'node' } }, spec: { node: 'node4', interfaceName: 'eth0', expectedIPs: ['10.0.0.14'] } }),
    ].join('---\n'),
  );
  const { status, out } = await run(['-f', join(fixtures, 'guide'), '-f', file, '-o', 'openreports']);
  t.equal(status, 1, 'the allocated IP is at enforce');
  const docs = YAML.parseAllDocuments(out).map((d) => d.toJS());
  t.same(docs.map((d) => `${d.kind}/${d.scope.kind}/${d.scope.name}`).sort(), ['ClusterReport/HostEndpoint/node3-eth0', 'Report/Service/svc-a', 'Report/Service/svc-b', 'Report/Service/web']);
  const svc = docs.find((d) => d.kind === 'Report' && d.scope.name === 'web');
  t.match(svc, {
    apiVersion: 'openreports.io/v1alpha1',
    metadata: { name: '0b5f3c1e-0000-4000-8000-000000000001', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'clusterip-guard' }, ownerReferences: [{ kind: 'Service', name: 'web', uid: '0b5f3c1e-0000-4000-8000-000000000001' }] },
    source: 'clusterip-guard',
    scope: { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'shop', uid: '0b5f3c1e-0000-4000-8000-000000000001' },
  });
  const pinned = svc.results.find((r: { policy: string }) => r.policy === 'service-cluster-ip-pinned');
  t.same(pinned, {
    source: 'clusterip-guard',
    policy: 'service-cluster-ip-pinned',
    severity: 'high',
    result: 'fail',
    message: pinned.message,
    timestamp: { seconds: NOW.getTime() / 1000, nanos: 0 },
    properties: { path: 'spec.clusterIP', process: 'background scan' },
  });
  t.match(pinned.message, /10\.20\.30\.77 was allocated by the API server/);
  t.equal(svc.summary.fail, svc.results.filter((r: { result: string }) => r.result === 'fail').length);
  t.ok(svc.summary.pass > 0, 'rules that found nothing are pass results');
  const hep = docs.find((d) => d.kind === 'ClusterReport');
  t.equal(hep.metadata.namespace, undefined);
  t.equal(hep.metadata.ownerReferences, undefined, 'no UID (read from a file): no owner');
  t.match(hep.metadata.name, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.same(
    hep.results.filter((r: { result: string }) => r.result !== 'pass').map((r: { policy: string; result: string }) => `${r.policy}:${r.result}`).sort(),
    ['hostendpoint-expected-ips:warn', 'hostendpoint-traffic-allowed:warn'],
  );
  t.notMatch(out, /&a\d|\*a\d/, 'no YAML aliases');
  const again = await run(['-f', join(fixtures, 'guide'), '-f', file, '-o', 'openreports']);
  t.equal(again.out, out, 'stable names and content');
});

t.test('usage and input errors', async (t) => {
  await t.rejects(run([]), { code: 'CIG_ERR_USAGE' });
  await t.rejects(run(['-f', 'x', '--kubeconfig', 'y']), { code: 'CIG_ERR_USAGE' });
  await t.rejects(run(['-f', fixtures, '-o', 'xml']), { code: 'CIG_ERR_USAGE' });
  await t.rejects(run(['-f', join(fixtures, 'nope')]), { code: 'CIG_ERR_MANIFEST' });
  await t.rejects(run(['-f', '-'], 'a: [unclosed'), { code: 'CIG_ERR_MANIFEST' });
  await t.rejects(run(['--kubeconfig', join(fixtures, 'nope.yaml')]), { code: 'CIG_ERR_USAGE' });
});

t.test('wired in main: exit status 1 at enforce, 2 on unreadable input', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const main = join(import.meta.dirname, '../../src/main.ts');
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, 'audit', ...args], { encoding: 'utf8' });
  t.equal(cli('-f', join(fixtures, 'guide-as-published')).status, 1);
  t.equal(cli('-f', join(fixtures, 'guide')).status, 0);
  const bad = cli('-f', join(fixtures, 'nope'));
  t.equal(bad.status, 2);
  t.match(bad.stderr, /CIG_ERR_MANIFEST/);
});

t.test('--kubeconfig with an unreachable cluster: CIG_ERR_CLUSTER_UNREADABLE (exit 2)', async (t) => {
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
  const dir = await mkdtemp(join(tmpdir(), 'cig-audit-kc-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  const err = await run(['--kubeconfig', kubeconfig]).then(
    () => null,
    (e: { code: string; exitStatus: number; message: string }) => e,
  );
  t.equal(err?.code, 'CIG_ERR_CLUSTER_UNREADABLE');
  t.equal(err?.exitStatus, 2);
  t.match(err?.message, /unreachable/);
});
