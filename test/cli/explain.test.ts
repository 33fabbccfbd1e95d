import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Io } from '../../src/cli/check-command.ts';
import { explainCommand } from '../../src/cli/explain-command.ts';
import { parseDestination, type ExplainResult } from '../../src/cli/explain.ts';
import { NetSet } from '../../src/calico/nets.ts';
import { GuardError } from '../../src/errors.ts';

const fixtures = join(import.meta.dirname, '../fixtures');
const guide = join(fixtures, 'guide');
const deny = join(fixtures, 'guide-with-deny');
const run = async (args: string[], stdinText = '') => {
  let out = '';
  const io: Io = { stdout: (s) => void (out += s), stdin: async () => stdinText };
  const status = await explainCommand(args, io);
  return { status, out };
};
const json = async (args: string[]) => {
  const r = await run([...args, '--output', 'json']);
  return { status: r.status, result: JSON.parse(r.out) as ExplainResult };
};

t.test("the guide's policies: the whole internet reaches both cluster IPs, exit 1", async (t) => {
  const { status, out } = await run(['-f', guide]);
  t.equal(status, 1);
  t.match(out, /^default\/svc-a 10\.20\.30\.40:443\/TCP {2}OPEN: reachable by default$/m);
  t.match(out, /^ {2}host endpoints node1-eth0, node2-eth0 \(2\)$/m);
  t.match(out, /^ {4}reaches +0\.0\.0\.0\/0 except 50\.60\.0\.0\/16 +no untracked or pre-DNAT rule drops it.*\[by default\]$/m);
  t.match(out, /^ {4}reaches +50\.60\.0\.0\/16 +ingress rule 0 \(Allow\) of pre-DNAT policy "allow-cluster-ips"$/m);
  t.match(out, /^ {4}reaches +0\.0\.0\.0\/0 except 70\.80\.90\.0\/24 /m);
  t.match(out, /2 exposed Service ports; 2 reachable by default/);
});

t.test('the guide plus the deny: only 50.60.0.0/16 reaches 10.20.30.40, exit 0', async (t) => {
  const { status, result } = await json(['-f', guide, '-f', deny]);
  t.equal(status, 0);
  const a = result.targets.find((x) => x.service === 'default/svc-a')!;
  t.match(a, { ip: '10.20.30.40', port: 443, protocol: 'TCP' });
  t.equal(a.hostEndpoints.length, 1);
  const heps = a.hostEndpoints[0]!;
  t.same(heps.names, ['node1-eth0', 'node2-eth0']);
  t.same(heps.reachableFrom, ['50.60.0.0/16']);
  t.same(heps.droppedFrom, NetSet.all(4).minus(NetSet.of(['50.60.0.0/16'])).toCidrs(), 'every other IPv4 source, as a minimal CIDR list');
  t.same(heps.regions.map((r) => [r.verdict, r.decidedBy]), [
    ['dropped', { stage: 'pre-dnat', tier: 'default', policy: 'deny-cluster-ips', rule: 0 }],
    ['reaches', { stage: 'pre-dnat', tier: 'default', policy: 'allow-cluster-ips', rule: 0 }],
  ]);
  t.equal(heps.verdict, undefined, 'no per-source verdict without --from');
});

t.test('--service, --to and --from', async (t) => {
  const one = await json(['-f', guide, '--service', 'default/svc-b']);
  t.same(one.result.targets.map((x) => x.service), ['default/svc-b']);
  const from = await json(['-f', guide, '-f', deny, '--to', '10.20.30.40:443/TCP', '--from', '192.0.2.7']);
  t.match(from.result.targets[0]!.hostEndpoints[0], { verdict: 'dropped', decidedBy: { policy: 'deny-cluster-ips', rule: 0 }, droppedFrom: ['192.0.2.7/32'], reachableFrom: [] });
  const mixed = await json(['-f', guide, '-f', deny, '--to', '10.20.30.40', '--from', '50.0.0.0/8']);
  t.match(mixed.result.targets[0]!.hostEndpoints[0], { verdict: 'mixed', decidedBy: null, reachableFrom: ['50.60.0.0/16'] });
  const bare = await json(['-f', guide, '--to', '10.20.30.99:8080/UDP']);
  t.match(bare.result.targets, [{ service: null, ip: '10.20.30.99', port: 8080, protocol: 'UDP' }]);
  t.equal(bare.status, 0, 'a bare destination does not set the exit status');
});

t.test('manifests from standard input', async (t) => {
  const text = (await Promise.all(['allow-cluster-ips', 'host-endpoints', 'services'].map((n) => readFile(join(guide, `${n}.yaml`), 'utf8')))).join('\n---\n');
  const { status, out } = await run(['-f', '-'], text);
  t.equal(status, 1);
  t.match(out, /default\/svc-a 10\.20\.30\.40:443\/TCP/);
});

t.test('bad arguments and input name what is wrong', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /explain needs -f/],
    [['-f', guide, '--kubeconfig', 'k'], /exclude each other/],
    [['-f', guide, '--output', 'yaml'], /--output must be text or json/],
    [['-f', guide, '--to', '10.20.30.40:99999'], /--to must be .*port is 1-65535.*99999/],
    [['-f', guide, '--to', 'svc-a'], /--to must be IP\[:PORT\]/],
    [['-f', guide, '--to', '10.20.30.40:443/ICMP'], /protocol is TCP, UDP or SCTP/],
    [['-f', guide, '--to', '10.20.30.40:443', '--from', 'nowhere'], /--from must be an IP address or CIDR \(got "nowhere"\)/],
    [['-f', guide, '--from', '1.2.3.4'], /--from needs --to or --service/],
    [['-f', guide, '--service', 'svc-a'], /--service must be NAMESPACE\/NAME/],
    [['-f', guide, '--service', 'default/nope'], /--service default\/nope: no exposed Service/],
    [['-f', guide, '--to', '10.20.30.99'], /no exposed Service has that IP; give a port/],
    [['-f', join(fixtures, 'missing')], /cannot read .*missing/],
  ];
  for (const [args, message] of cases) {
    const err = await run(args).then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof GuardError && err.exitStatus === 2, `${args.join(' ')}: a usage or input error (exit 2)`);
    t.match((err as Error | undefined)?.message, message, args.join(' '));
  }
});

t.test('parseDestination', async (t) => {
  t.match(parseDestination('10.20.30.40:443/udp'), { ip: { cidr: '10.20.30.40/32' }, port: 443, protocol: 'UDP' });
  t.match(parseDestination('[fd00:10:96::10]:443'), { ip: { cidr: 'fd00:10:96::10/128' }, port: 443, protocol: 'TCP' });
  t.match(parseDestination('fd00:10:96::10/SCTP'), { ip: { version: 6 }, port: undefined, protocol: 'SCTP' });
  t.throws(() => parseDestination('10.20.30.0/24'));
});

t.test('--from in text: the dataplane account of that source', async (t) => {
  const { out } = await run(['-f', guide, '--to', '10.20.30.40:443', '--from', '192.0.2.9']);
  t.match(out, /why: IPv4 TCP port 443 from 192\.0\.2\.9\/32 to 10\.20\.30\.40\/32 \(after DNAT: 192\.168\.0\.0\/16\): no untracked or pre-DNAT rule decides it, and no normal applyOnForward ingress policy selects host endpoint "node1-eth0", so forwarded traffic is allowed by default\./);
});

t.test('the backend stage: what the pods do with traffic from the hosts', async (t) => {
  const { out } = await run(['-f', guide, '--service', 'default/svc-a']);
  t.match(out, /^ {4}backend {2}the pods let these hosts in: IPv4 TCP port 443 from 10\.0\.0\.11\/32 to 192\.168\.0\.0\/16: ingress rule 0 \(Allow\) of policy "allow-nodes-svc-a" allows it\.$/m);
});

t.test('Local mode: the pods are the last stage of the answer', async (t) => {
  const manifests = await Promise.all(['allow-cluster-ips', 'host-endpoints', 'ippool'].map((n) => readFile(join(guide, `${n}.yaml`), 'utf8')));
  const local = `apiVersion: v1
kind: Service
metadata: { name: svc-l, namespace: default, labels: { clusterip-guard.io/exposed: "true" } }
spec: { type: LoadBalancer, externalTrafficPolicy: Local, clusterIP: 10.20.30.50, selector: { k8s-svc: svc-l }, ports: [{ port: 443, protocol: TCP, targetPort: 8443 }] }
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: allow-clients, namespace: default }
spec: { selector: "k8s-svc == 'svc-l'", types: [Ingress], ingress: [{ action: Allow, source: { nets: [70.80.90.0/24] } }] }
`;
  let out = '';
  const status = await explainCommand(['-f', '-', '--output', 'json'], { stdout: (s) => void (out += s), stdin: async () => [...manifests, local].join('\n---\n') });
  t.equal(status, 0, 'local mode is not the service-cluster-ip-open condition');
  const heps = (JSON.parse(out) as ExplainResult).targets[0]!.hostEndpoints[0]!;
  t.same(heps.reachableFrom, ['70.80.90.0/24']);
  t.match(heps.regions.find((r) => r.verdict === 'reaches'), { decidedBy: { stage: 'backend', policy: 'allow-clients', rule: 0 } });
});
