/**
 * End to end against a real etcd + kube-apiserver, driven by the real kubectl: the
 * reachability warnings (service-cluster-ip-open, service-backends-allow-hosts,
 * gnp-exposure-change) as kubectl prints them. The guide's cluster, moved into this API
 * server's service range (10.96.0.0/12): cluster IP A is 10.96.30.40, advertised 10.96.0.0/16.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { ControlPlane, ROOT } from './harness.ts';

const cp = await ControlPlane.start();
t.teardown(() => cp.stop());
await cp.startWebhook();
await cp.register('Fail');

const fixture = async (dir: string, name: string) => readFile(join(ROOT, 'test/fixtures', dir, `${name}.yaml`), 'utf8');
const v1 = (yaml: string) => yaml.replaceAll('apiVersion: projectcalico.org/v3', 'apiVersion: crd.projectcalico.org/v1');
const settle = () => new Promise((r) => setTimeout(r, 2500)); // let the webhook's watches deliver

const svcA = YAML.stringify({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'svc-a', namespace: 'default', labels: { 'clusterip-guard.io/exposed': 'true' } },
  spec: { clusterIP: '10.96.30.40', selector: { 'k8s-svc': 'svc-a' }, ports: [{ name: 'https', port: 443, protocol: 'TCP' }] },
});
const denyPods = YAML.stringify({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'default-deny-svc-a' },
  spec: { selector: "k8s-svc == 'svc-a'", types: ['Ingress'], ingress: [{ action: 'Deny' }] },
});

t.before(async () => {
  for (const name of ['ippool', 'host-endpoints']) {
    const res = await cp.kubectl(['apply', '-f', '-'], v1(await fixture('guide', name)));
    if (res.code !== 0) throw new Error(`${name}: ${res.stderr}`);
  }
  const bgp = v1((await fixture('guide', 'bgpconfiguration')).replace('10.20.30.0/24', '10.96.0.0/16'));
  const allow = (await fixture('guide', 'allow-cluster-ips')).replace('10.20.30.40/32', '10.96.30.40/32').replace('10.20.30.41/32', '10.96.30.41/32');
  for (const [name, yaml] of [['bgpconfiguration', bgp], ['allow-cluster-ips', allow], ['allow-to-pods', await fixture('guide', 'allow-to-pods')], ['allow-traffic-hostendpoints', await fixture('guide', 'allow-traffic-hostendpoints')], ['default-deny-svc-a', denyPods]] as const) {
    const res = await cp.kubectl(['apply', '-f', '-'], yaml);
    if (res.code !== 0) throw new Error(`${name}: ${res.stderr}`);
  }
  await settle();
});

t.test('an exposed Service that unlisted sources reach: service-cluster-ip-open and service-backends-allow-hosts', async (t) => {
  const res = await cp.kubectl(['apply', '-f', '-'], svcA);
  t.equal(res.code, 0, `warnings, not a denial: ${res.stderr}`);
  t.match(res.stderr, /Warning: \[service-cluster-ip-open\] Service default\/svc-a is exposed .* port 443\/TCP is reachable from 0\.0\.0\.0\/0 except 50\.60\.0\.0\/16 through host endpoints "node1-eth0", "node2-eth0": no untracked or pre-DNAT rule drops it, and no applyOnForward policy selects these host endpoints/);
  t.match(res.stderr, /"nets":\["10\.96\.0\.0\/16"\]/, 'the fix denies the advertised service CIDR');
  t.match(res.stderr, /Warning: \[service-backends-allow-hosts\] Service default\/svc-a is exposed in cluster mode.*target port\(s\) 443\/TCP.*ingress rule 0 \(Deny\) of policy "default-deny-svc-a" drops it/);
});

/** `clusterip-guard explain --kubeconfig` on this cluster: the live state, read once. */
const explainLive = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'src/main.ts'), 'explain', '--kubeconfig', cp.env['KUBECONFIG']!, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

t.test('explain --kubeconfig reads the live cluster: svc-a open, exit 1', async (t) => {
  const r = explainLive('--service', 'default/svc-a');
  t.equal(r.status, 1, r.stderr);
  t.match(r.stdout, /^default\/svc-a 10\.96\.30\.40:443\/TCP {2}OPEN: reachable by default$/m);
  t.match(r.stdout, /reaches +0\.0\.0\.0\/0 except 50\.60\.0\.0\/16 /);
  t.match(r.stdout, /backend {2}the pods DROP traffic from these hosts: .*"default-deny-svc-a"/);
});

t.test('the missing deny, applied: gnp-exposure-change says who lost access', async (t) => {
  await settle(); // the webhook must know svc-a
  const deny = (await fixture('guide-with-deny', 'deny-cluster-ips')).replace('10.20.30.0/24', '10.96.0.0/16');
  const res = await cp.kubectl(['apply', '-f', '-'], deny);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stderr, /Warning: \[gnp-exposure-change\] after this change, default\/svc-a 10\.96\.30\.40:443\/TCP is no longer reachable from 0\.0\.0\.0\/0 except 50\.60\.0\.0\/16 \(still from 50\.60\.0\.0\/16\)\./);
});

t.test('with the deny and allow-nodes-svc-a stored, the Service draws neither warning', async (t) => {
  const nodes = await cp.kubectl(['apply', '-f', '-'], await fixture('guide', 'allow-nodes-svc-a'));
  t.equal(nodes.code, 0, nodes.stderr);
  await settle();
  const res = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], svcA.replace('name: https', 'name: https-again'));
  t.equal(res.code, 0, res.stderr);
  t.notMatch(res.stderr, /service-cluster-ip-open/);
  t.notMatch(res.stderr, /service-backends-allow-hosts/);
  const live = explainLive('--service', 'default/svc-a', '--output', 'json');
  t.equal(live.status, 0, live.stderr);
  const heps = (JSON.parse(live.stdout) as { targets: { hostEndpoints: { reachableFrom: string[] }[] }[] }).targets[0]!.hostEndpoints[0]!;
  t.same(heps.reachableFrom, ['50.60.0.0/16'], 'only the listed sources reach 10.96.30.40');
});

t.test('explain --kubeconfig on a cluster it cannot read: exit 2, named', async (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'src/main.ts'), 'explain', '--kubeconfig', join(ROOT, 'no-such-kubeconfig')], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /CIG_ERR_USAGE: cannot load kubeconfig .*no-such-kubeconfig/);
});
