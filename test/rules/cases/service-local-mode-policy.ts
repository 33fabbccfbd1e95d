import type { KubeObject } from '../../../src/admission/types.ts';
import { exposedService, tweak } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';
import { guideCluster } from '../guide.ts';

const local: KubeObject = tweak(exposedService, {
  metadata: { name: 'svc-l', namespace: 'default' },
  spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIP: '10.20.30.50', selector: { 'k8s-svc': 'svc-l' }, ports: [{ port: 443, protocol: 'TCP', targetPort: 8443 }] },
});
const podPolicy = (name: string, ingress: unknown[], kind = 'GlobalNetworkPolicy'): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...(kind === 'NetworkPolicy' ? { namespace: 'default' } : {}) },
  spec: { selector: "k8s-svc == 'svc-l'", types: ['Ingress'], ingress },
});

export const cases: RuleCase[] = [
  { name: 'no policy selects the pods: every client gets in', object: local, cluster: guideCluster(), expect: ['spec.externalTrafficPolicy'], messageIncludes: ['no Calico NetworkPolicy or GlobalNetworkPolicy selects them', "k8s-svc == 'svc-l'"] },
  { name: 'a pod policy allows the external clients', object: local, cluster: guideCluster({ plus: [podPolicy('allow-clients', [{ action: 'Allow', protocol: 'TCP', source: { nets: ['50.60.0.0/16'] }, destination: { ports: [8443] } }])] }), expect: [] },
  { name: 'a namespaced Calico NetworkPolicy allows them', object: local, cluster: { ...guideCluster(), networkPolicies: [podPolicy('allow-clients', [{ action: 'Allow', source: { nets: ['50.60.0.0/16'] } }], 'NetworkPolicy')] }, expect: [] },
  {
    name: 'the pod policy allows only the pod network: no external source gets in',
    object: local,
    cluster: guideCluster({ plus: [podPolicy('in-cluster-only', [{ action: 'Allow', source: { nets: ['192.168.0.0/16'] } }])] }),
    expect: ['spec.externalTrafficPolicy'],
    messageIncludes: ['let no external source in on target port 8443/TCP', '"in-cluster-only"'],
  },
  { name: 'the pod policy allows the wrong port', object: local, cluster: guideCluster({ plus: [podPolicy('wrong-port', [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }])] }), expect: ['spec.externalTrafficPolicy'] },
  { name: 'cluster mode is service-backends-allow-hosts\'s', object: tweak(local, { spec: { externalTrafficPolicy: 'Cluster' } }), cluster: guideCluster(), expect: [] },
];
