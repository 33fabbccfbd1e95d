/**
 * Through the real calico-apiserver (control-plane.sh CIG_E2E_CALICO=apiserver): it serves
 * projectcalico.org/v3 aggregated, calls the webhooks itself for v3 writes, and stores each as
 * crd.projectcalico.org/v1 — a second webhook call, under its own identity, for the same change.
 */
import t from 'tap';
import YAML from 'yaml';
import { ControlPlane } from './harness.ts';

const cp = await ControlPlane.start({ calico: 'apiserver' });
t.teardown(() => cp.stop());
await cp.startWebhook();
await cp.register('Fail');
const CALICO_USER = cp.env['CIG_E2E_CALICO_APISERVER_USER']!;

interface AuditLine {
  endpoint: string;
  decision: string;
  group: string;
  name: string;
  user: string;
  dryRun: boolean;
  findings: Array<{ rule: string }>;
  patch: unknown[];
}
const auditLines = (): AuditLine[] =>
  cp.webhookLog
    .split('\n')
    .filter((l) => l.startsWith('{"log":"audit"'))
    .map((l) => JSON.parse(l) as AuditLine);

const bare = (name: string) =>
  YAML.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    // The guide's cluster-IP policy without preDNAT, applyOnForward and types: /mutate patches it.
    spec: { selector: "k8s-role == 'node'", ingress: [{ action: 'Allow', source: { nets: ['198.51.100.0/24'] }, destination: { nets: ['10.96.0.50/32'] } }] },
  });

t.test('v3 is served by calico-apiserver, not a CRD', async (t) => {
  const res = await cp.kubectl(['get', 'apiservice', 'v3.projectcalico.org', '-o', 'json']);
  t.equal(res.code, 0, res.stderr);
  const svc = JSON.parse(res.stdout) as { spec: { service?: { name: string } }; status: { conditions: Array<{ type: string; status: string }> } };
  t.equal(svc.spec.service?.name, 'calico-api', 'an aggregated APIService, not a local (CRD) one');
  t.ok(svc.status.conditions.some((c) => c.type === 'Available' && c.status === 'True'));
  const crd = await cp.kubectl(['get', 'crd', 'globalnetworkpolicies.projectcalico.org']);
  t.not(crd.code, 0, 'no stand-in CRD');
  const tiers = await cp.kubectl(['get', 'tiers.projectcalico.org', '-o', 'name']);
  t.match(tiers.stdout, /tier\.projectcalico\.org\/default/, 'calico-apiserver created the default tier');
});

t.test('a v3 write: judged once for the user; the v1 write behind it is relayed', async (t) => {
  const res = await cp.kubectl(['apply', '-f', '-'], bare('relay-check'));
  t.equal(res.code, 0, res.stderr);
  t.equal(res.stderr.match(/\[gnp-cluster-ip-needs-prednat\]/g)?.length, 1, 'the warning reaches kubectl once');
  // Observed: calico-apiserver runs the mutating webhooks before it defaults anything: the webhook
  // sees no spec.types (Calico's defaulting, Ingress when there are no egress rules, comes later).
  t.match(res.stderr, /\[gnp-prednat-ingress-only\] patched spec\.types/, 'calico-apiserver does not default types before /mutate');
  const stored = await cp.kubectl(['get', 'globalnetworkpolicies.crd.projectcalico.org', 'default.relay-check', '-o', 'json']);
  t.equal(stored.code, 0, `calico-apiserver stores v3 relay-check as crd.projectcalico.org/v1 default.relay-check: ${stored.stderr}`);
  const spec = (JSON.parse(stored.stdout) as { spec: Record<string, unknown> }).spec;
  t.match(spec, { preDNAT: true, applyOnForward: true, types: ['Ingress'] }, 'the patch made on the v3 call is what is stored');
  const metrics = await (await fetch(`http://127.0.0.1:${cp.probePort}/metrics`)).text();
  t.match(metrics, /clusterip_guard_decisions_total\{webhook="\/mutate",decision="relayed"\} [1-9]/);
  t.match(metrics, /clusterip_guard_findings_total\{rule="gnp-cluster-ip-needs-prednat",action="patch"\} 1\b/, 'the finding is counted once');
});

t.test('a denial on the v3 call reaches kubectl; nothing is stored', async (t) => {
  const bad = YAML.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'bad-nets' },
    spec: { selector: "k8s-role == 'node'", preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', destination: { nets: ['10.20.30.40/32 Cluster IP A'] } }] },
  });
  const res = await cp.kubectl(['apply', '-f', '-'], bad);
  t.not(res.code, 0);
  t.match(res.stderr, /\[gnp-schema\]|invalid/i);
  const stored = await cp.kubectl(['get', 'globalnetworkpolicies.crd.projectcalico.org', 'default.bad-nets']);
  t.not(stored.code, 0);
});

t.test('--dry-run=server on v3 makes no v1 write', async (t) => {
  const res = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], bare('dry-only'));
  t.equal(res.code, 0, res.stderr);
  const stored = await cp.kubectl(['get', 'globalnetworkpolicies.crd.projectcalico.org', 'default.dry-only']);
  t.not(stored.code, 0);
});

t.test('audit lines: one user decision per webhook for the change; the v1 write relayed', async (t) => {
  t.equal(await cp.stopWebhook(), 0); // batched audit lines are all written at exit
  const lines = auditLines();
  const first = lines.filter((l) => l.group === 'projectcalico.org' && l.name === 'relay-check');
  const second = lines.filter((l) => l.group === 'crd.projectcalico.org' && l.name === 'default.relay-check');
  t.same(first.map((l) => `${l.endpoint} ${l.decision}`).sort(), ['mutate patch', 'validate allow'], 'v3: one decision per webhook');
  t.ok(first.every((l) => l.user === 'cig-admin'), 'calico-apiserver passes the end user on');
  t.same(second.map((l) => `${l.endpoint} ${l.decision} ${l.user}`).sort(), [`mutate relayed ${CALICO_USER}`, `validate relayed ${CALICO_USER}`]);
  t.ok(second.every((l) => l.findings.length === 0 && l.patch.length === 0), 'relayed: no findings, no patch');
  t.ok(lines.some((l) => l.name === 'dry-only' && l.dryRun), 'the dry run reached the webhook with dryRun: true');
  t.notOk(lines.some((l) => l.name === 'default.dry-only'), 'and no relayed call followed it');
});
