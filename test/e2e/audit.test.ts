/**
 * Existing objects on a real API server: what managedFields record for pinned and allocated
 * cluster IPs, OpenReports written by `serve` for objects that were there before the webhook
 * started, fixes removing results, one writer elected between two webhook processes (and
 * moving when the leader is killed), and kubectl warnings for writes that cut traffic.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { kubeRequest } from '../../src/audit/kube-client.ts';
import { ControlPlane, ROOT } from './harness.ts';

const run = promisify(execFile);
const HELM = join(process.env['CIG_CACHE_DIR'] ?? join(process.env['HOME'] ?? '', '.cache/clusterip-guard'), 'bin/helm');
const LEASE = { name: 'clusterip-guard-audit', namespace: 'default', durationSeconds: 6, retrySeconds: 1 };

const cp = await ControlPlane.start();
const extra: ChildProcess[] = [];
t.teardown(async () => {
  for (const c of extra) if (c.exitCode === null) c.kill('SIGKILL');
  await cp.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}
const ok = async (args: string[], input?: string) => {
  const r = await cp.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r;
};
const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

const service = (name: string, clusterIP?: string) =>
  YAML.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', labels: { 'clusterip-guard.io/exposed': 'true' } },
    spec: { ...(clusterIP ? { clusterIP } : {}), selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] },
  });
const hostEndpoint = (name: string, node: string, labels: Record<string, string> = {}) =>
  YAML.stringify({ apiVersion: 'crd.projectcalico.org/v1', kind: 'HostEndpoint', metadata: { name, labels }, spec: { node, interfaceName: 'eth0', expectedIPs: ['10.0.0.30'] } });

interface Report {
  kind: string;
  metadata: { name: string; namespace?: string };
  scope: { kind: string; name: string; namespace?: string; uid?: string };
  results: { policy: string; result: string; message: string; properties: Record<string, string> }[];
}
const reports = async (): Promise<Report[]> => (JSON.parse((await ok(['get', 'reports,clusterreports', '-A', '-o', 'json'])).stdout) as { items: Report[] }).items;
const reportOf = async (kind: string, name: string) => (await reports()).find((r) => r.scope.kind === kind && r.scope.name === name);
const failing = (r: Report | undefined, rule: string) => r?.results.some((x) => x.policy === rule && x.result !== 'pass') ?? false;
const owners = (svc: { metadata: { managedFields?: { manager: string; operation: string; fieldsV1: Record<string, Record<string, unknown>> }[] } }) =>
  (svc.metadata.managedFields ?? []).filter((m) => m.fieldsV1?.['f:spec']?.['f:clusterIP'] !== undefined).map((m) => `${m.manager}/${m.operation}`);

// --- before the webhook exists: CRDs, the guide's cluster, and bad objects -------------------
const crds = (await run(HELM, ['template', 'r', join(ROOT, 'charts/clusterip-guard'), '--set', 'audit.installCRDs=true', '--show-only', 'templates/openreports-crds.yaml'])).stdout;
await ok(['apply', '-f', '-'], crds);
await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/reports.openreports.io', 'crd/clusterreports.openreports.io']);
await ok(['create', 'namespace', 'shop']);
// GlobalNetworkPolicies go to projectcalico.org/v3 (the e2e stand-in CRD), which the cluster
// state prefers when served; the other kinds exist only as crd.projectcalico.org/v1 here.
for (const f of ['ippool', 'host-endpoints', 'allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints']) {
  const text = await readFile(join(ROOT, 'test/fixtures/guide', `${f}.yaml`), 'utf8');
  await ok(['apply', '-f', '-'], f.startsWith('allow-') ? text : text.replaceAll('projectcalico.org/v3', 'crd.projectcalico.org/v1'));
}
// The e2e API server's service range, advertised, so pinned IPs in it are fine.
await ok(['apply', '-f', '-'], YAML.stringify({ apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] } }));

t.test('managedFields on the real API server: a pinned IP has an owner, an allocated one none', async (t) => {
  await ok(['apply', '-f', '-'], service('pinned-csa', '10.96.0.41'));
  await ok(['apply', '-f', '-'], service('alloc-csa'));
  await ok(['apply', '--server-side', '--field-manager=gitops', '-f', '-'], service('pinned-ssa', '10.96.0.42'));
  await ok(['apply', '--server-side', '-f', '-'], service('alloc-ssa'));
  await ok(['create', '-f', '-'], service('pinned-create', '10.96.0.43'));
  await ok(['create', '-f', '-'], service('alloc-create'));
  const seen: Record<string, string[]> = {};
  for (const name of ['pinned-csa', 'alloc-csa', 'pinned-ssa', 'alloc-ssa', 'pinned-create', 'alloc-create']) {
    const svc = JSON.parse((await ok(['get', 'service', '-n', 'shop', name, '-o', 'json', '--show-managed-fields'])).stdout);
    seen[name] = owners(svc);
    t.match(svc.spec.clusterIP, /^10\.\d+\.\d+\.\d+$/, `${name} has a cluster IP`);
  }
  t.comment(`owners of f:spec.f:clusterIP: ${JSON.stringify(seen)}`);
  t.same(seen['pinned-csa'], ['kubectl-client-side-apply/Update'], 'client-side apply: kubectl-client-side-apply owns it');
  t.same(seen['pinned-ssa'], ['gitops/Apply'], 'server-side apply: the field manager owns it');
  t.same(seen['pinned-create'], ['kubectl-create/Update'], 'kubectl create: kubectl-create owns it');
  for (const name of ['alloc-csa', 'alloc-ssa', 'alloc-create']) t.same(seen[name], [], `${name}: the allocated IP has no owner`);
});

t.test('audit --kubeconfig reads the live cluster once and reports the allocated IPs', async (t) => {
  const r = await new Promise<{ code: number | null; out: string; err: string }>((res) => {
    const c = spawn(process.execPath, [join(ROOT, 'src/main.ts'), 'audit', '--kubeconfig', cp.env['KUBECONFIG']!, '--output', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    c.on('close', (code) => res({ code, out, err }));
  });
  t.equal(r.code, 1, `exit 1: service-cluster-ip-pinned is at enforce (${r.err})`);
  const results = JSON.parse(r.out) as { kind: string; name: string; source: string; findings: { rule: string; action: string }[] }[];
  const pinnedFinding = (name: string) => results.find((x) => x.kind === 'Service' && x.name === name)?.findings.some((f) => f.rule === 'service-cluster-ip-pinned');
  for (const name of ['alloc-csa', 'alloc-ssa', 'alloc-create']) t.ok(pinnedFinding(name), `${name} reported`);
  for (const name of ['pinned-csa', 'pinned-ssa', 'pinned-create']) t.notOk(pinnedFinding(name), `${name} not reported`);
  t.ok(results.every((x) => x.source === 'cluster'));
  t.ok(results.some((x) => x.kind === 'GlobalNetworkPolicy' && x.name === 'allow-to-pods'), 'the Calico objects are read too');
});

// Set up inside a subtest: tap runs subtests in order, and the file's top level must not still be
// setting up when the queued subtests are done (teardown would stop the control plane under it).
const configFile = join(cp.state, 'audit-config.yaml');
const second = { port: 0, probe: 0, log: '' };
let b: ChildProcess;
t.test('setup: a cut-off host endpoint, then two webhook processes with background reports', async (t) => {
  // An endpoint of a node no policy selects (no labels): its host is cut off.
  await ok(['apply', '-f', '-'], hostEndpoint('node3-eth0', 'node3'));
  await writeFile(configFile, YAML.stringify({ audit: { reports: true, debounceSeconds: 1, intervalSeconds: 3600, writesPerSecond: 50, writeBurst: 50, lease: LEASE } }));
  await cp.startWebhook(['--config', configFile]);
  await cp.register('Ignore'); // the second process is not registered; a killed leader must not block writes
  second.port = await freePort();
  second.probe = await freePort();
  b = spawn(
    process.execPath,
    [join(ROOT, 'src/main.ts'), 'serve', '--config', configFile, '--tls-cert', join(cp.certDir, 'tls.crt'), '--tls-key', join(cp.certDir, 'tls.key'), '--host', '127.0.0.1', '--port', String(second.port), '--probe-port', String(second.probe), '--kubeconfig', cp.env['KUBECONFIG']!],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  extra.push(b);
  b.stdout!.on('data', (c: Buffer) => void (second.log += c.toString()));
  b.stderr!.on('data', (c: Buffer) => void (second.log += c.toString()));
  await writeFile(join(cp.state, 'webhook2.pid'), `${b.pid}\n`);
  t.pass('both started');
});

const identityIn = (log: string) => /"identity":"([^"]+)"[^\n]*audit reports on/.exec(log)?.[1];
const holder = async () => (JSON.parse((await ok(['get', 'lease', '-n', LEASE.namespace, LEASE.name, '-o', 'json'])).stdout) as { spec: { holderIdentity?: string } }).spec.holderIdentity ?? '';

t.test('existing bad objects show up in kubectl get reports,clusterreports -A with their rule IDs', async (t) => {
  await waitFor('reports for the allocated Services and node3', async () => {
    const rs = await reports();
    return ['alloc-csa', 'alloc-ssa', 'alloc-create'].every((n) => failing(rs.find((r) => r.scope.name === n), 'service-cluster-ip-pinned')) && failing(rs.find((r) => r.scope.name === 'node3-eth0'), 'hostendpoint-traffic-allowed');
  });
  const rs = await reports();
  const table = await ok(['get', 'reports,clusterreports', '-A']);
  t.comment(table.stdout);
  const svc = rs.find((r) => r.scope.name === 'alloc-csa')!;
  t.equal(svc.kind, 'Report');
  t.equal(svc.metadata.namespace, 'shop');
  t.equal(svc.metadata.name, svc.scope.uid, 'named from the object UID');
  const result = svc.results.find((r) => r.policy === 'service-cluster-ip-pinned')!;
  t.match(result, { result: 'fail', properties: { path: 'spec.clusterIP', process: 'background scan' } });
  for (const name of ['pinned-csa', 'pinned-ssa', 'pinned-create']) t.notOk(failing(rs.find((r) => r.scope.name === name), 'service-cluster-ip-pinned'), `${name}: not reported as unpinned`);
  const hep = rs.find((r) => r.scope.name === 'node3-eth0')!;
  t.equal(hep.kind, 'ClusterReport');
  t.match(hep.results.find((r) => r.policy === 'hostendpoint-traffic-allowed')!.message, /traffic to host node3/);
  t.notOk(rs.some((r) => r.scope.name === 'node1-eth0'), 'the guide endpoints are clean: no report');
});

t.test('two processes elect one writer', async (t) => {
  const identities = await waitFor('both processes started reports', async () => {
    const a = identityIn(cp.webhookLog);
    const bId = identityIn(second.log);
    return a && bId ? [a, bId] : null;
  });
  const h = await waitFor('a lease holder', holder);
  t.ok(identities.includes(h), `the holder ${h} is one of the two processes`);
  const acquired = (log: string) => (log.match(/audit lease acquired/g) ?? []).length;
  t.equal(acquired(cp.webhookLog) + acquired(second.log), 1, 'exactly one process acquired the lease');
  // The background reports' registry is served on /metrics beside the admission metrics.
  const metrics = await (await fetch(`http://127.0.0.1:${cp.probePort}/metrics`)).text();
  t.match(metrics, /^clusterip_guard_audit_last_run_timestamp_seconds /m, 'audit metrics on /metrics');
  t.match(metrics, /^clusterip_guard_decisions_total\{/m, 'next to the admission metrics');
  t.match(metrics, new RegExp(`^clusterip_guard_audit_leader ${h === identities[0] ? 1 : 0}$`, 'm'), 'the leader gauge says whether this process writes');
});

t.test('fixing an object removes its failing result', async (t) => {
  await ok(['label', 'hostendpoint.crd.projectcalico.org', 'node3-eth0', 'k8s-role=node']);
  await waitFor('node3 no longer failing', async () => !failing(await reportOf('HostEndpoint', 'node3-eth0'), 'hostendpoint-traffic-allowed'));
  t.equal(await reportOf('HostEndpoint', 'node3-eth0'), undefined, 'a clean object has no report');
  // An allocated IP cannot be pinned in place: the fix is to re-create the Service pinned.
  await ok(['delete', 'service', '-n', 'shop', 'alloc-csa']);
  await ok(['apply', '-f', '-'], service('alloc-csa', '10.96.0.44'));
  await waitFor('the re-created Service not failing', async () => {
    const rs = await reports();
    return !rs.some((r) => r.scope.name === 'alloc-csa' && failing(r, 'service-cluster-ip-pinned'));
  });
  t.pass('the re-created, pinned Service has no failing result');
});

t.test('kubectl warns when a write cuts traffic', async (t) => {
  const created = await ok(['apply', '-f', '-'], hostEndpoint('node4-eth0', 'node4'));
  t.match(created.stderr, /Warning: \[hostendpoint-traffic-allowed\] after this write, TCP\/UDP traffic to host node4 .* outside the node-port range 30000:32767 is dropped by the host endpoint's default deny/);
  const pool = await ok(['apply', '-f', '-'], YAML.stringify({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'extra' }, spec: { cidr: '10.244.0.0/16' } }));
  t.match(pool.stderr, /Warning: \[ippool-pod-cidr-allowed\] after this write, IPPool "extra" \(10\.244\.0\.0\/16\) is not allowed by the pod-CIDR allow that policy "allow-to-pods" gives/);
  const bgp = await ok(['apply', '-f', '-'], YAML.stringify({ apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { serviceClusterIPs: [{ cidr: '10.99.0.0/16' }] } }));
  t.match(bgp.stderr, /Warning: \[bgpconfiguration-services-advertised\] after this write, the cluster IPs of exposed Services .*shop\/pinned-csa \(10\.96\.0\.41\)/);
  const deleted = await ok(['delete', 'globalnetworkpolicy.projectcalico.org', 'allow-traffic-hostendpoints']);
  t.match(deleted.stderr, /Warning: \[gnp-host-traffic-allowed\] after deleting GlobalNetworkPolicy "allow-traffic-hostendpoints", TCP\/UDP traffic to the hosts/);
  t.comment(`${created.stderr}${pool.stderr}${bgp.stderr}${deleted.stderr}`);
});

t.test('killing the leader moves the writes to the other process within the lease duration', async (t) => {
  const h = await holder();
  const aId = identityIn(cp.webhookLog);
  const leader = h === aId ? cp.webhook! : b;
  const survivorLog = () => (h === aId ? second.log : cp.webhookLog);
  // Read the Lease straight from the API server every 50 ms (kubectl would add its own start-up
  // time to every look).
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cp.env['KUBECONFIG']!);
  const leaseRecord = async () =>
    (await kubeRequest(kubeConfig, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${LEASE.namespace}/leases/${LEASE.name}`, undefined, AbortSignal.timeout(2000))).body as { spec: { holderIdentity?: string; acquireTime?: string } };
  // The leader's scan process (src/audit/scan-worker.ts) must not outlive it.
  const scanProcesses = async (parent: number): Promise<number[]> => {
    const found: number[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent && cmdline.includes('scan-worker')) found.push(Number(pid));
    }
    return found;
  };
  const orphans = await scanProcesses(leader.pid!);
  t.equal(orphans.length, 1, 'the leader runs one scan process');
  leader.kill('SIGKILL');
  const killedAt = Date.now();
  let record: Awaited<ReturnType<typeof leaseRecord>>;
  for (;;) {
    record = await leaseRecord();
    const now = record.spec.holderIdentity ?? '';
    if (now !== h && now !== '') break;
    if (Date.now() - killedAt > 30_000) throw new Error('timed out waiting for a new holder');
    await sleep(50);
  }
  const next = record.spec.holderIdentity!;
  const movedS = (Date.now() - killedAt) / 1000;
  const attemptS = (Date.parse(record.spec.acquireTime!) - killedAt) / 1000;
  t.comment(`lease moved ${movedS.toFixed(2)} s after the kill (takeover attempt started ${attemptS.toFixed(2)} s after it; durationSeconds ${LEASE.durationSeconds}, retrySeconds ${LEASE.retrySeconds})`);
  t.ok(attemptS <= LEASE.durationSeconds + 0.1, `the survivor tried at the lease's expiry, within the lease duration of the kill (${attemptS.toFixed(2)} s; 0.1 s for its timer firing late)`);
  t.ok(movedS <= LEASE.durationSeconds + 0.5, `moved within the lease duration (${movedS.toFixed(2)} s; 0.5 s allowed for the takeover's GET and PUT round trip and this test's 50 ms polling)`);
  // The survivor logs the takeover once its PUT has answered, which can be after this GET saw it.
  await waitFor('the survivor to log the takeover', async () => /audit lease acquired/.test(survivorLog()), 5000);
  t.pass('the survivor logged "audit lease acquired"');
  t.not(next, h);
  // Gone, or a zombie (exited, not yet reaped by whoever adopted it).
  const alive = async (pid: number) => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  };
  await waitFor("the killed leader's scan process to exit", async () => (await Promise.all(orphans.map(alive))).every((a) => !a), 5000);
  t.pass("the killed leader's scan process exited with it (its IPC channel closed)");
  // The new leader writes: a new bad endpoint gets its report.
  await ok(['apply', '-f', '-'], hostEndpoint('node5-eth0', 'node5'));
  await waitFor('node5 reported by the new leader', async () => failing(await reportOf('HostEndpoint', 'node5-eth0'), 'hostendpoint-traffic-allowed'), 30_000);
  t.pass('reports keep coming from the new leader');
});
