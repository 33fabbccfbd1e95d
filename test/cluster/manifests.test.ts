import t from 'tap';
import type { KubeObject } from '../../src/admission/types.ts';
import { snapshotFromObjects } from '../../src/cluster/manifests.ts';
import { CONFIG, EXPOSED, names } from './helpers.ts';

const V3 = 'projectcalico.org/v3';
const CRD = 'crd.projectcalico.org/v1';

function obj(apiVersion: string, kind: string, name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name }, spec: {}, ...extra };
}

function svc(namespace: string | undefined, name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: namespace === undefined ? { name, labels } : { namespace, name, labels },
    spec: { clusterIP: '10.96.0.10' },
  };
}

t.test('picks the cluster-state kinds of both Calico groups', async (t) => {
  const snapshot = snapshotFromObjects(
    [
      obj(V3, 'IPPool', 'pool-v3'),
      obj(CRD, 'IPPool', 'pool-crd'),
      obj(V3, 'BGPConfiguration', 'default', { spec: { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] } }),
      obj(V3, 'BGPConfiguration', 'node.worker-1'),
      obj(CRD, 'HostEndpoint', 'worker-1-eth0'),
      obj(V3, 'GlobalNetworkPolicy', 'allow-cluster-ips'),
      obj(CRD, 'GlobalNetworkPolicy', 'allow-hosts'),
      svc('default', 'web', EXPOSED),
      svc('edge', 'ingress'),
      svc('default', 'internal'),
    ],
    CONFIG,
  );
  t.equal(snapshot.source, 'manifests');
  t.same(names(snapshot.ipPools), ['pool-crd', 'pool-v3']);
  t.equal(snapshot.bgpConfiguration?.metadata?.name, 'default');
  t.same(names(snapshot.hostEndpoints), ['worker-1-eth0']);
  t.same(names(snapshot.globalNetworkPolicies), ['allow-cluster-ips', 'allow-hosts']);
  t.same(names(snapshot.exposedServices), ['web', 'ingress'], 'exposed by label and by namespace');
});

t.test('a later object of the same kind and name wins, whatever its group', async (t) => {
  const first = obj(V3, 'GlobalNetworkPolicy', 'p', { spec: { order: 1 } });
  const second = obj(CRD, 'GlobalNetworkPolicy', 'p', { spec: { order: 2 } });
  const bgpA = obj(CRD, 'BGPConfiguration', 'default', { spec: { asNumber: 64512 } });
  const bgpB = obj(V3, 'BGPConfiguration', 'default', { spec: { asNumber: 64513 } });
  const snapshot = snapshotFromObjects([first, bgpA, second, bgpB], CONFIG);
  t.equal(snapshot.globalNetworkPolicies.length, 1);
  t.equal(snapshot.globalNetworkPolicies[0], second, 'the later object itself, not a copy');
  t.equal(snapshot.bgpConfiguration, bgpB);
});

t.test('a later Service that is no longer exposed removes the earlier one', async (t) => {
  const snapshot = snapshotFromObjects([svc('default', 'web', EXPOSED), svc('default', 'web')], CONFIG);
  t.same(snapshot.exposedServices, []);
});

t.test('Services with the same name in different namespaces are different Services', async (t) => {
  const snapshot = snapshotFromObjects([svc('a', 'web', EXPOSED), svc('b', 'web', EXPOSED), svc(undefined, 'web', EXPOSED)], CONFIG);
  t.equal(snapshot.exposedServices.length, 3);
});

const ignored: [string, unknown][] = [
  ['a Kubernetes NetworkPolicy', obj('networking.k8s.io/v1', 'NetworkPolicy', 'np')],
  ['a namespaced Calico NetworkPolicy', obj(V3, 'NetworkPolicy', 'np')],
  ['a Calico kind under another group', obj('example.com/v1', 'IPPool', 'pool')],
  ['a Service of another group', obj('serving.knative.dev/v1', 'Service', 'web', { metadata: { name: 'web', labels: EXPOSED } })],
  ['a Deployment', obj('apps/v1', 'Deployment', 'web')],
  ['an object without a name', { apiVersion: V3, kind: 'IPPool', metadata: {}, spec: {} }],
  ['an object without metadata', { apiVersion: V3, kind: 'IPPool' }],
  ['an object without kind', { apiVersion: V3, metadata: { name: 'x' } }],
  ['null', null],
];
for (const [what, object] of ignored) {
  t.test(`ignores ${what}`, async (t) => {
    const snapshot = snapshotFromObjects([object as KubeObject], CONFIG);
    t.same(
      [snapshot.ipPools, snapshot.hostEndpoints, snapshot.globalNetworkPolicies, snapshot.exposedServices, snapshot.bgpConfiguration],
      [[], [], [], [], null],
    );
  });
}

t.test('reads List objects item by item, nested ones too', async (t) => {
  const snapshot = snapshotFromObjects(
    [
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          obj(V3, 'IPPool', 'pool-a'),
          { apiVersion: V3, kind: 'GlobalNetworkPolicyList', items: [obj(V3, 'GlobalNetworkPolicy', 'p')] },
        ],
      },
    ],
    CONFIG,
  );
  t.same(names(snapshot.ipPools), ['pool-a']);
  t.same(names(snapshot.globalNetworkPolicies), ['p']);
});

t.test('pure: inputs are neither frozen nor changed; the snapshot is frozen', async (t) => {
  const policy = obj(V3, 'GlobalNetworkPolicy', 'p', { spec: { order: 1 } });
  const before = structuredClone(policy);
  const snapshot = snapshotFromObjects([policy], CONFIG);
  t.same(policy, before);
  t.notOk(Object.isFrozen(policy));
  t.ok(Object.isFrozen(snapshot));
  t.ok(Object.isFrozen(snapshot.globalNetworkPolicies));
  t.not(snapshotFromObjects([policy], CONFIG), snapshot, 'each call builds its own snapshot');
});

t.test('no objects: an empty manifests snapshot', async (t) => {
  const snapshot = snapshotFromObjects([], CONFIG);
  t.equal(snapshot.source, 'manifests');
  t.equal(snapshot.bgpConfiguration, null);
  t.same(snapshot.ipPools, []);
});

t.test('reads Calico and Kubernetes NetworkPolicies, keyed by namespace and name', async (t) => {
  const np = (ns: string, name: string, apiVersion = V3): KubeObject => ({ apiVersion, kind: 'NetworkPolicy', metadata: { namespace: ns, name }, spec: {} });
  const snapshot = snapshotFromObjects([np('shop', 'allow-web'), np('blog', 'allow-web', CRD), np('shop', 'allow-web', CRD), { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'shop', name: 'k8s' } }], CONFIG);
  t.same(snapshot.networkPolicies?.map((p) => `${p.apiVersion} ${p.metadata?.namespace}/${p.metadata?.name}`), [`${CRD} blog/allow-web`, `${CRD} shop/allow-web`]);
  t.same(snapshot.kubernetesNetworkPolicies?.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`), ['shop/k8s'], 'Kubernetes NetworkPolicies in their own list');
});
