import t from 'tap';
import { createAdmit } from '../../src/admission/decide.ts';
import type { AdmissionRequest, KubeObject } from '../../src/admission/types.ts';
import { defaultRegistry } from '../../src/rules/index.ts';
import { config, exposedService, snapshot } from '../helpers.ts';
import { guideCluster, guidePolicy } from '../rules/guide.ts';

// DELETE: the API server sends the deleted object as oldObject and no object.
const admit = createAdmit({ registry: defaultRegistry(), config: config({}), cluster: { snapshot: () => snapshot(guideCluster()) } });
const del = (object: KubeObject): AdmissionRequest => {
  const [group, version] = object.apiVersion!.includes('/') ? object.apiVersion!.split('/') : ['', object.apiVersion!];
  return { uid: 'uid-d', kind: { group: group!, version: version!, kind: object.kind! }, operation: 'DELETE', name: object.metadata?.name, userInfo: { username: 'alice' }, object: null, oldObject: object } as AdmissionRequest;
};

t.test('deleting allow-traffic-hostendpoints: allowed with a warning', async (t) => {
  const { response, audit } = admit('validate', del(guidePolicy('allow-traffic-hostendpoints')));
  t.equal(response.allowed, true);
  t.equal(response.warnings?.length, 1);
  t.match(response.warnings?.[0], /^\[gnp-host-traffic-allowed\] after deleting GlobalNetworkPolicy "allow-traffic-hostendpoints", TCP\/UDP traffic to the hosts/);
  t.match(audit, { operation: 'DELETE', name: 'allow-traffic-hostendpoints', decision: 'allow', findings: [{ rule: 'gnp-host-traffic-allowed', action: 'warn' }] });
});

t.test('deleting a policy nothing depends on: no finding, and write-only rules (gnp-schema) do not run', async (t) => {
  const broken = { ...guidePolicy('allow-nodes-svc-a'), spec: { selector: 'k8s-svc ==', ingress: [{ action: 'Nope' }] } };
  const { response } = admit('validate', del(broken));
  t.same(response, { uid: 'uid-d', allowed: true });
});

t.test('DELETE at /mutate and DELETE of a Service are allowed untouched', async (t) => {
  t.same(admit('mutate', del(guidePolicy('allow-traffic-hostendpoints'))).response, { uid: 'uid-d', allowed: true });
  t.same(admit('validate', del(exposedService)).response, { uid: 'uid-d', allowed: true });
});
