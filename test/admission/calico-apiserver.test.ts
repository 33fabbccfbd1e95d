// calico-apiserver's second call: the crd.projectcalico.org write it makes for a v3 request.
import t from 'tap';
import { isCalicoApiServerRelay, samePolicyName, userFacingPolicyName } from '../../src/admission/calico-apiserver.ts';
import { createAdmit } from '../../src/admission/decide.ts';
import type { AdmissionRequest, KubeObject } from '../../src/admission/types.ts';
import { defaultRegistry } from '../../src/rules/index.ts';
import { config, preDNATPolicy, snapshot, tweak } from '../helpers.ts';
import { guideCluster, policy } from '../rules/guide.ts';

const CALICO_SA = 'system:serviceaccount:calico-apiserver:calico-apiserver';

const request = (object: KubeObject, username: string): AdmissionRequest => {
  const [group, version] = object.apiVersion!.split('/');
  return { uid: 'u', kind: { group: group!, version: version!, kind: object.kind! }, operation: 'CREATE', name: object.metadata?.name, userInfo: { username }, object };
};
const asStored = (v3: KubeObject): KubeObject => ({ ...structuredClone(v3), apiVersion: 'crd.projectcalico.org/v1', metadata: { name: `default.${v3.metadata!.name}` } });
// The guide's cluster-IP policy without what the guide says to add: /mutate patches it.
const bare = tweak(preDNATPolicy, { spec: { preDNAT: undefined, applyOnForward: undefined, types: undefined } });

t.test('which requests are the second call', async (t) => {
  const cfg = config();
  const cases: Array<[string, string, string | undefined, boolean]> = [
    ['calico-apiserver storing crd.projectcalico.org', 'crd.projectcalico.org', CALICO_SA, true],
    ['calico-apiserver on another group', 'projectcalico.org', CALICO_SA, false],
    ['a user writing crd.projectcalico.org', 'crd.projectcalico.org', 'alice', false],
    ['no user info', 'crd.projectcalico.org', undefined, false],
  ];
  for (const [name, group, username, want] of cases) {
    t.equal(isCalicoApiServerRelay({ kind: { group, version: 'v1', kind: 'GlobalNetworkPolicy' }, ...(username ? { userInfo: { username } } : {}) }, cfg), want, name);
  }
  t.equal(isCalicoApiServerRelay({ kind: { group: 'crd.projectcalico.org', version: 'v1', kind: 'GlobalNetworkPolicy' }, userInfo: { username: CALICO_SA } }, config({ calicoApiServer: { usernames: [] } })), false, 'empty list: nothing relayed');
  t.equal(isCalicoApiServerRelay({ kind: { group: 'crd.projectcalico.org', version: 'v1', kind: 'HostEndpoint' }, userInfo: { username: 'calico' } }, config({ calicoApiServer: { usernames: ['calico'] } })), true, 'a configured name');
});

t.test('the second call is allowed untouched and logged as relayed; the first is judged', async (t) => {
  const admit = createAdmit({ registry: defaultRegistry(), config: config(), cluster: { snapshot: () => snapshot() } });
  const first = admit('mutate', request(bare, 'alice'));
  t.equal(first.audit.decision, 'patch', 'the v3 request from the user is patched');
  t.ok(first.audit.findings.length > 0);
  for (const stage of ['mutate', 'validate'] as const) {
    const second = admit(stage, request(asStored(bare), CALICO_SA));
    t.same(second.response, { uid: 'u', allowed: true }, `${stage}: no patch, no warnings, no annotations`);
    t.equal(second.audit.decision, 'relayed');
    t.same(second.audit.findings, []);
    t.same(second.audit.patch, []);
  }
  const direct = admit('mutate', request(asStored(bare), 'alice'));
  t.equal(direct.audit.decision, 'patch', 'a user writing crd.projectcalico.org directly is judged');
});

t.test('a relayed DELETE is not judged again; the user\'s DELETE is', async (t) => {
  // Deleting allow-to-pods cuts pod traffic once a pre-DNAT deny-all selects the host endpoints.
  const denyAll = policy('deny-all-prednat', { preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });
  const allowToPods = guideCluster().globalNetworkPolicies!.find((p) => p.metadata?.name === 'allow-to-pods')!;
  const admit = createAdmit({ registry: defaultRegistry(), config: config(), cluster: { snapshot: () => snapshot(guideCluster({ plus: [denyAll] })) } });
  const del = (object: KubeObject, username: string): AdmissionRequest => {
    const { object: _, ...rest } = request(object, username);
    return { ...rest, operation: 'DELETE', oldObject: object };
  };
  const user = admit('validate', del(allowToPods, 'alice'));
  t.ok(user.audit.findings.some((f) => f.rule === 'gnp-pod-cidr-allowed'), 'the v3 DELETE warns');
  const relayed = admit('validate', del(asStored(allowToPods), CALICO_SA));
  t.equal(relayed.audit.decision, 'relayed');
  t.same(relayed.response, { uid: 'u', allowed: true }, 'no second warning');
});

t.test('x and default.x are one policy', async (t) => {
  t.equal(userFacingPolicyName('default.allow-cluster-ips'), 'allow-cluster-ips');
  t.equal(userFacingPolicyName('t2.allow'), 't2.allow', 'other tiers keep their prefix in both groups');
  t.equal(userFacingPolicyName('default.'), 'default.');
  t.ok(samePolicyName('default.x', 'x'));
  t.ok(samePolicyName('x', 'x'));
  t.notOk(samePolicyName('t2.x', 'x'));
  // Stored (crd.projectcalico.org/v1, as the cache lists it without calico-apiserver's v3) is a
  // pre-DNAT deny-all; the v3 update of the same policy turns it into an Allow. Were they two
  // policies, the stored Deny would still drop pod traffic and the rule would warn.
  const denyAll = policy('deny-all-prednat', { preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });
  const cluster = guideCluster({ without: ['allow-to-pods'], plus: [asStored(denyAll)] });
  const admit = createAdmit({ registry: defaultRegistry(), config: config(), cluster: { snapshot: () => snapshot(cluster) } });
  const update = tweak(denyAll, { spec: { ingress: [{ action: 'Allow' }] } });
  const res = admit('validate', { ...request(update, 'alice'), operation: 'UPDATE', oldObject: denyAll });
  t.notMatch(res.audit.findings.map((f) => f.rule), ['gnp-pod-cidr-allowed'], 'the stored default.deny-all-prednat is the policy being replaced');
  const other = admit('validate', request(policy('another', { preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', destination: { nets: ['10.96.0.0/12'] } }] }), 'alice'));
  t.ok(other.audit.findings.some((f) => f.rule === 'gnp-pod-cidr-allowed'), 'control: with another policy name the stored Deny still applies');
});
