import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkCommand, type Io } from '../../src/cli/check-command.ts';
import type { CheckResult } from '../../src/cli/check.ts';

const fixtures = join(import.meta.dirname, '../fixtures');
const capture = (stdinText = '') => {
  let out = '';
  const io: Io = { stdout: (s) => void (out += s), stdin: async () => stdinText };
  return { io, out: () => out };
};
const run = async (args: string[], stdinText?: string) => {
  const c = capture(stdinText);
  const status = await checkCommand(args, c.io);
  return { status, out: c.out() };
};

t.test('the guide, fixed: nothing denied', async (t) => {
  const { status, out } = await run(['-f', join(fixtures, 'guide'), '--output', 'json']);
  t.equal(status, 0, out);
  const results = JSON.parse(out) as CheckResult[];
  t.same(results.filter((r) => r.decision === 'deny'), []);
  t.same(results.map((r) => r.kind).sort(), ['BGPConfiguration', 'GlobalNetworkPolicy', 'GlobalNetworkPolicy', 'GlobalNetworkPolicy', 'GlobalNetworkPolicy', 'HostEndpoint', 'HostEndpoint', 'IPPool', 'Service', 'Service']);
  const warned = results.flatMap((r) => r.findings.filter((f) => ['gnp-pod-cidr-allowed', 'gnp-host-traffic-allowed'].includes(f.rule)));
  t.same(warned, [], 'no pod-CIDR or host-traffic warnings for the complete guide set');
});

t.test('the guide as published: gnp-schema denies with field paths', async (t) => {
  const { status, out } = await run(['-f', join(fixtures, 'guide-as-published')]);
  t.equal(status, 1);
  t.match(out, /allow-cluster-ips\.yaml: GlobalNetworkPolicy allow-cluster-ips: deny/);
  t.match(out, /DENY  \[gnp-schema\] spec\.ingress\[0\]\.destination\.nets\[0\]: .*"10\.20\.30\.40\/32 Cluster IP A" is not an IP address or CIDR/);
  t.match(out, /DENY  \[gnp-schema\] spec\.types\[1\]: /);
  t.match(out, /allow-to-pods\.yaml: GlobalNetworkPolicy allow-to-pods: deny/);
});

t.test('patches are shown; a List and stdin are read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cig-check-'));
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'p' }, spec: { selector: "k8s-role == 'node'", preDNAT: true, ingress: [{ action: 'Allow', destination: { nets: ['10.96.0.1/32'] } }] } },
    ],
  };
  await writeFile(join(dir, 'list.json'), JSON.stringify(list));
  const { status, out } = await run(['-f', join(dir, 'list.json')]);
  t.equal(status, 0);
  t.match(out, /list\.json\.items\[0\]: GlobalNetworkPolicy p: patch/);
  t.match(out, /PATCH \[gnp-prednat-apply-on-forward\] spec\.applyOnForward/);
  t.match(out, /patch: \[\{"op":"add","path":"\/spec\/applyOnForward","value":true\}/);
  const stdin = await run(['-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: b, labels: {clusterip-guard.io/exposed: "true"}}\nspec: {ports: [{port: 80}]}\n');
  t.equal(stdin.status, 1);
  t.match(stdin.out, /DENY  \[service-cluster-ip-pinned\]/);
});

t.test('bad input: clear errors', async (t) => {
  await t.rejects(run([]), { code: 'CIG_ERR_USAGE' });
  await t.rejects(run(['-f', 'x', '--output', 'xml']), { code: 'CIG_ERR_USAGE', message: /--output must be text or json/ });
  await t.rejects(run(['--bogus']), { code: 'CIG_ERR_USAGE' });
  await t.rejects(run(['-f', '/nonexistent/dir']), { code: 'CIG_ERR_MANIFEST', message: /cannot read \/nonexistent\/dir/ });
  await t.rejects(run(['-f', '-'], 'a: [\n'), { code: 'CIG_ERR_MANIFEST', message: /not valid YAML/ });
  await t.rejects(run(['-f', '-'], '- just\n- a list\n'), { code: 'CIG_ERR_MANIFEST', message: /not a Kubernetes object/ });
});

t.test('--print-default-config prints YAML that loads back', async (t) => {
  const { status, out } = await run(['--print-default-config']);
  t.equal(status, 0);
  t.match(out, /hostEndpointSelector: k8s-role == 'node'/);
});

t.test('the summary line counts in words that agree with the numbers', async (t) => {
  const one = await run(['-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n');
  t.equal(one.status, 0);
  t.match(one.out, /^1 object checked: 0 denied, 0 patched, 0 warnings$/m);
  const { out } = await run(['-f', join(fixtures, 'guide-as-published')]);
  t.match(out, /^\d+ objects checked: \d+ denied, \d+ patched, \d+ warnings?$/m);
});
