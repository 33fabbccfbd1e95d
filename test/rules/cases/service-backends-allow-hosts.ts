import type { KubeObject } from '../../../src/admission/types.ts';
import { exposedService, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';
import { guideCluster, guidePolicy } from '../guide.ts';

const svcA: KubeObject = tweak(exposedService, { metadata: { namespace: 'default' }, spec: { clusterIP: '10.20.30.40', selector: { 'k8s-svc': 'svc-a' }, ports: [{ port: 443, protocol: 'TCP' }] } });
const pods = (name: string, spec: Record<string, unknown>, kind = 'GlobalNetworkPolicy', namespace?: string): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { selector: "k8s-svc == 'svc-a'", types: ['Ingress'], ...spec },
});
// A default deny for the pods (with no policy selecting them at all, Kubernetes lets everyone
// in). No order, like the guide's policies: Felix applies it after them, by name.
const denyPods = pods('default-deny-svc-a', { ingress: [{ action: 'Deny' }] });
const wrongPorts = tweak(guidePolicy('allow-nodes-svc-a'), { spec: { ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "k8s-role == 'node'" }, destination: { ports: [80] } }] } });

const knp = (name: string, ingress: unknown[], namespace = 'default'): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec: { podSelector: { matchLabels: { 'k8s-svc': 'svc-a' } }, policyTypes: ['Ingress'], ingress },
});

export const cases: RuleCase[] = [
  {
    name: 'a Kubernetes NetworkPolicy (Calico enforces it) admits the nodes only on port 80',
    object: svcA,
    cluster: { ...guideCluster({ without: ['allow-nodes-svc-a'] }), kubernetesNetworkPolicies: [knp('web', [{ from: [{ ipBlock: { cidr: '10.0.0.0/16' } }], ports: [{ port: 80 }] }])] },
    expect: ['spec.selector'],
    messageIncludes: ['policy "knp.default.web" selects the pods'],
  },
  {
    name: 'a Kubernetes NetworkPolicy admitting the node network on 443',
    object: svcA,
    cluster: { ...guideCluster({ without: ['allow-nodes-svc-a'] }), kubernetesNetworkPolicies: [knp('web', [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.9.0/24'] } }], ports: [{ protocol: 'TCP', port: 443 }] }])] },
    expect: [],
  },
  { name: "the guide's allow-nodes-svc-a present: the hosts reach the pods on 443", object: svcA, cluster: guideCluster({ plus: [denyPods] }), expect: [] },
  {
    name: 'allow-nodes-svc-a missing, a default deny selects the pods',
    object: svcA,
    cluster: guideCluster({ without: ['allow-nodes-svc-a'], plus: [denyPods] }),
    expect: ['spec.selector'],
    messageIncludes: ['target port(s) 443/TCP', '"node1-eth0", "node2-eth0"', 'ingress rule 0 (Deny) of policy "default-deny-svc-a" drops it', '"source":{"selector":"k8s-role == \'node\'"}', '"ports":[443]'],
  },
  { name: 'allow-nodes-svc-a missing and nothing selects the pods: Kubernetes lets everyone in', object: svcA, cluster: guideCluster({ without: ['allow-nodes-svc-a'] }), expect: [] },
  {
    name: 'allow-nodes-svc-a with the wrong ports: the tier it is in drops 443',
    object: svcA,
    cluster: guideCluster({ without: ['allow-nodes-svc-a'], plus: [wrongPorts] }),
    expect: ['spec.selector'],
    messageIncludes: ['policy "allow-nodes-svc-a" selects the pods of default/svc-a (app=a,k8s-svc=svc-a) but no rule allows it'],
  },
  {
    name: 'a Calico NetworkPolicy in the namespace selects and blocks the pods',
    object: svcA,
    cluster: { ...guideCluster({ without: ['allow-nodes-svc-a'] }), networkPolicies: [pods('deny-all', { ingress: [{ action: 'Deny' }] }, 'NetworkPolicy', 'default')] },
    expect: ['spec.selector'],
    messageIncludes: ['policy "deny-all" drops it'],
  },
  { name: 'a NetworkPolicy of another namespace does not apply', object: svcA, cluster: { ...guideCluster({ without: ['allow-nodes-svc-a'] }), networkPolicies: [pods('deny-all', { ingress: [{ action: 'Deny' }] }, 'NetworkPolicy', 'other')] }, expect: [] },
  {
    name: 'a selector reading other labels: the answer says it is uncertain',
    object: svcA,
    cluster: guideCluster({ without: ['allow-nodes-svc-a'], plus: [pods('deny-tier', { selector: "k8s-svc == 'svc-a' || tier == 'web'", ingress: [{ action: 'Deny' }] })] }),
    expect: ['spec.selector'],
    messageIncludes: ['Uncertain: the selectors of ', '"deny-tier" read labels other than the Service\'s spec.selector'],
  },
  { name: 'Local mode is service-local-mode-policy\'s', object: tweak(svcA, { spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } }), cluster: guideCluster({ without: ['allow-nodes-svc-a'], plus: [denyPods] }), expect: [] },
  { name: 'not exposed', object: withLabels(svcA, {}), cluster: guideCluster({ without: ['allow-nodes-svc-a'], plus: [denyPods] }), expect: [] },
];
