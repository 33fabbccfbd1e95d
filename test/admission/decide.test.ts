import t from 'tap';
import { createAdmit } from '../../src/admission/decide.ts';
import { applyPatch } from '../../src/admission/json-patch.ts';
import type { AdmissionRequest, KubeObject } from '../../src/admission/types.ts';
import { defaultRegistry } from '../../src/rules/index.ts';
import type { JsonPatchOp } from '../../src/rules/types.ts';
import { config, exposedService, preDNATPolicy, snapshot, tweak } from '../helpers.ts';

const admitWith = (doc: unknown = {}) => createAdmit({ registry: defaultRegistry(), config: config(doc), cluster: { snapshot: () => snapshot() } });
const admit = admitWith();

const request = (object: KubeObject, over: Partial<AdmissionRequest> = {}): AdmissionRequest => {
  const [group, version] = object.apiVersion!.includes('/') ? object.apiVersion!.split('/') : ['', object.apiVersion!];
  return {
    uid: 'uid-1',
    kind: { group: group!, version: version!, kind: object.kind! },
    operation: 'CREATE',
    namespace: object.metadata?.namespace,
    name: object.metadata?.name,
    userInfo: { username: 'alice', groups: ['devs'] },
    object,
    ...over,
  };
};
const decodePatch = (patch: string | undefined): JsonPatchOp[] => JSON.parse(Buffer.from(patch ?? '', 'base64').toString()) as JsonPatchOp[];
const unpinned = tweak(exposedService, { spec: { clusterIP: undefined } });

t.test('deny at /mutate: message starts with the rule ID, 403, audit annotation', async (t) => {
  const { response, audit } = admit('mutate', request(unpinned));
  t.equal(response.uid, 'uid-1');
  t.equal(response.allowed, false);
  t.equal(response.status?.code, 403);
  t.match(response.status?.message, /^\[service-cluster-ip-pinned\] Service shop\/svc-a is exposed/);
  t.equal(response.patch, undefined);
  t.match(JSON.parse(response.auditAnnotations?.['service-cluster-ip-pinned'] ?? '[]'), [{ action: 'enforce', path: 'spec.clusterIP' }]);
  t.match(audit, { decision: 'deny', endpoint: 'mutate', namespace: 'shop', name: 'svc-a', user: 'alice', findings: [{ rule: 'service-cluster-ip-pinned' }] });
});

t.test('the same unpinned Service at /validate is allowed (the IP is allocated by then)', async (t) => {
  const allocated = tweak(exposedService, { spec: { clusterIP: '10.96.7.7' } });
  t.same(admit('validate', request(allocated)).response, { uid: 'uid-1', allowed: true });
});

t.test('dryRun gets exactly the same decision', async (t) => {
  t.same(admit('mutate', request(unpinned, { dryRun: true })).response, admit('mutate', request(unpinned)).response);
});

t.test('patch: base64 JSONPatch, warning per patch, idempotent on the patched object', async (t) => {
  const bare = tweak(preDNATPolicy, { spec: { preDNAT: undefined, applyOnForward: undefined, types: undefined } });
  const { response, audit } = admit('mutate', request(bare));
  t.equal(response.allowed, true);
  t.equal(response.patchType, 'JSONPatch');
  const ops = decodePatch(response.patch);
  const patched = applyPatch(bare, ops);
  t.match(patched.spec, { preDNAT: true, applyOnForward: true, types: ['Ingress'] });
  t.same(response.warnings?.map((w) => w.slice(0, w.indexOf(']') + 1)), ['[gnp-cluster-ip-needs-prednat]', '[gnp-prednat-ingress-only]']);
  t.match(response.warnings?.[0], /^\[gnp-cluster-ip-needs-prednat\] patched spec\.preDNAT: /);
  t.equal(audit.decision, 'patch');
  t.same(audit.patch, ops);
  const again = admit('mutate', request(patched));
  t.same(again.response, { uid: 'uid-1', allowed: true }, 'second pass: nothing to patch');
});

t.test('/validate never returns a patch, and checks what /mutate would have fixed', async (t) => {
  const missing = tweak(preDNATPolicy, { spec: { applyOnForward: undefined } });
  const { response } = admit('validate', request(missing));
  t.equal(response.patch, undefined);
  t.equal(response.patchType, undefined);
  t.equal(response.allowed, false);
  t.match(response.status?.message, /^\[gnp-prednat-apply-on-forward\]/);
});

t.test('an invalid policy is not patched at /mutate', async (t) => {
  const broken = tweak(preDNATPolicy, { spec: { applyOnForward: undefined, ingress: [{ action: 'Allow', destination: { nets: ['10.20.30.40/32 Cluster IP A'] } }] } });
  const { response } = admit('mutate', request(broken));
  t.equal(response.patch, undefined);
  t.equal(response.allowed, true, 'denied later, at /validate, with the schema error');
  const v = admit('validate', request(broken));
  t.equal(v.response.allowed, false);
  t.match(v.response.status?.message, /\[gnp-schema\] .*spec\.ingress\[0\]\.destination\.nets\[0\]/);
});

t.test('actions from config: warn, audit, off, enforce on a patch rule', async (t) => {
  const warn = admitWith({ rules: { 'service-cluster-ip-pinned': 'warn' } })('mutate', request(unpinned)).response;
  t.equal(warn.allowed, true);
  t.match(warn.warnings, [/^\[service-cluster-ip-pinned\] /]);
  const audit = admitWith({ rules: { 'service-cluster-ip-pinned': 'audit' } })('mutate', request(unpinned)).response;
  t.equal(audit.allowed, true);
  t.equal(audit.warnings, undefined);
  t.ok(audit.auditAnnotations?.['service-cluster-ip-pinned']);
  const off = admitWith({ rules: { 'service-cluster-ip-pinned': 'off' } })('mutate', request(unpinned)).response;
  t.same(off, { uid: 'uid-1', allowed: true });
  const missing = tweak(preDNATPolicy, { spec: { applyOnForward: undefined } });
  const enforced = admitWith({ rules: { 'gnp-prednat-apply-on-forward': 'enforce' } })('mutate', request(missing)).response;
  t.equal(enforced.allowed, false);
  t.equal(enforced.patch, undefined);
});

t.test('exemptions and untouched kinds', async (t) => {
  for (const doc of [{ exemptions: { namespaces: ['shop'] } }, { exemptions: { usernames: ['alice'] } }, { exemptions: { groups: ['devs'] } }]) {
    t.same(admitWith(doc)('mutate', request(unpinned)).response, { uid: 'uid-1', allowed: true }, JSON.stringify(doc));
  }
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} };
  t.same(admit('mutate', request(pod)).response, { uid: 'uid-1', allowed: true });
  t.same(admit('mutate', request(unpinned, { operation: 'DELETE', object: null, oldObject: unpinned })).response, { uid: 'uid-1', allowed: true });
});

t.test('crd.projectcalico.org/v1 policies get the same rules', async (t) => {
  const crd = tweak(preDNATPolicy, { apiVersion: 'crd.projectcalico.org/v1', spec: { applyOnForward: undefined } });
  const { response } = admit('mutate', request(crd));
  t.same(decodePatch(response.patch), [{ op: 'add', path: '/spec/applyOnForward', value: true }]);
});

t.test('an invalid policy gets its schema errors, not warnings about what it would do', async (t) => {
  const broken = tweak(preDNATPolicy, { spec: { ingress: [{ action: 'Deny', destination: { nets: ['192.168.0.0/16 Pod CIDR'] } }] } });
  const clusterAdmit = createAdmit({
    registry: defaultRegistry(),
    config: config(),
    cluster: { snapshot: () => snapshot({ source: 'cluster' }) },
  });
  const { response } = clusterAdmit('validate', request(broken));
  t.equal(response.allowed, false);
  t.match(response.status?.message, /^\[gnp-schema\]/);
  t.equal(response.warnings, undefined, 'no gnp-pod-cidr-allowed / gnp-host-traffic-allowed warnings');
  const valid = tweak(preDNATPolicy, { spec: { ingress: [{ action: 'Deny', destination: { nets: ['192.168.0.0/16'] } }] } });
  t.match(clusterAdmit('validate', request(valid)).response.warnings, [/^\[gnp-pod-cidr-allowed\]/], 'the same policy, valid, is judged');
});

t.test('what goes back is bounded, with "… and N more" where cut; the audit record keeps every finding', async (t) => {
  const { createRegistry } = await import('../../src/rules/registry.ts');
  const { ANNOTATION_BUDGET, MESSAGE_BUDGET, WARNINGS_BUDGET } = await import('../../src/admission/decide.ts');
  const many = (id: string, defaultAction: 'warn' | 'enforce') => ({
    id,
    kinds: [{ group: '', kind: 'Service' }],
    stages: ['validate' as const],
    defaultAction,
    doc: 'test rule',
    check: () => Array.from({ length: 5000 }, (_, i) => ({ path: `spec.ports[${i}]`, message: `finding ${i} ${'é'.repeat(100)}` })),
  });
  const admitMany = createAdmit({ registry: createRegistry([many('many-warn', 'warn'), many('many-deny', 'enforce')]), config: config(), cluster: { snapshot: () => snapshot() } });
  const { response, audit } = admitMany('validate', request(exposedService));
  const bytes = (s: string) => Buffer.byteLength(s);
  const warnings = response.warnings ?? [];
  t.ok(warnings.reduce((n, w) => n + bytes(w), 0) <= WARNINGS_BUDGET, 'warnings within the budget');
  t.match(warnings.at(-1), /^… and \d+ more \(the audit log has them all\)$/);
  const shown = warnings.length - 1;
  t.equal(warnings.at(-1), `… and ${5000 - shown} more (the audit log has them all)`, 'the count adds up');
  t.ok(bytes(response.status!.message) <= MESSAGE_BUDGET, 'denial message within its budget');
  t.match(response.status!.message, /\n… and \d+ more/);
  for (const [rule, value] of Object.entries(response.auditAnnotations ?? {})) {
    t.ok(value.length <= ANNOTATION_BUDGET, `${rule} annotation within its budget`);
    const list = JSON.parse(value) as Array<{ more?: number }>;
    t.equal(list.at(-1)!.more, 5000 - (list.length - 1), `${rule}: { more: N } adds up`);
  }
  t.equal(audit.findings.length, 10_000, 'the audit record has all of them');
});

t.test('a long single warning is cut within the budget', async (t) => {
  const { withinBudget } = await import('../../src/admission/decide.ts');
  const [one] = withinBudget(['x'.repeat(10_000)], 4000);
  t.equal(Buffer.byteLength(one!), 4000 - 4 + 3, 'cut to the budget, ellipsis included');
  t.same(withinBudget(['a', 'b'], 4000), ['a', 'b'], 'short lists are untouched');
});

t.test('a name or namespace that is not a string is null in the audit record', async (t) => {
  const odd = tweak(exposedService, { metadata: { name: { a: 1 }, namespace: [1] } });
  const { audit } = admit('validate', request(odd, { name: undefined, namespace: undefined }));
  t.equal(audit.name, null);
  t.equal(audit.namespace, null);
});
