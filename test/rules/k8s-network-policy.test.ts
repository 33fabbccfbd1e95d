import t from 'tap';
import { convertK8sNetworkPolicy, labelSelectorToCalico } from '../../src/rules/support/k8s-network-policy.ts';

t.test('label selectors in Calico syntax', async (t) => {
  t.equal(labelSelectorToCalico({}), 'all()');
  t.equal(
    labelSelectorToCalico({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'NotIn', values: ['c'] }, { key: 'y', operator: 'Exists' }, { key: 'z', operator: 'DoesNotExist' }] }),
    "app == 'web' && tier in { 'a', 'b' } && x not in { 'c' } && has(y) && !has(z)",
  );
});

t.test('a Kubernetes NetworkPolicy as Calico converts it: every peer × protocol an Allow, order 1000', async (t) => {
  const converted = convertK8sNetworkPolicy({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [
        { from: [{ ipBlock: { cidr: '50.60.0.0/16', except: ['50.60.1.0/24'] } }, { podSelector: { matchLabels: { role: 'lb' } } }], ports: [{ port: 443 }, { protocol: 'UDP', port: 53, endPort: 54 }] },
        {},
      ],
    },
  });
  t.match(converted, { kind: 'NetworkPolicy', metadata: { name: 'knp.default.web', namespace: 'shop' }, spec: { order: 1000, selector: "app == 'web'", types: ['Ingress'] } });
  t.same((converted.spec as { ingress: unknown[] }).ingress, [
    { action: 'Allow', protocol: 'TCP', source: { nets: ['50.60.0.0/16'], notNets: ['50.60.1.0/24'] }, destination: { ports: [443] } },
    { action: 'Allow', protocol: 'UDP', source: { nets: ['50.60.0.0/16'], notNets: ['50.60.1.0/24'] }, destination: { ports: ['53:54'] } },
    { action: 'Allow', protocol: 'TCP', source: { selector: "role == 'lb'" }, destination: { ports: [443] } },
    { action: 'Allow', protocol: 'UDP', source: { selector: "role == 'lb'" }, destination: { ports: ['53:54'] } },
    { action: 'Allow', source: {} },
  ]);
});
