/**
 * The backend side of an exposed Service: its pods, as far as the Service tells (its
 * `spec.selector` labels), and the policies that can select them (GlobalNetworkPolicies, and the
 * Calico and Kubernetes NetworkPolicies of its namespace). Shared by service-backends-allow-hosts and
 * service-local-mode-policy.
 */
import type { KubeObject } from '../../admission/types.ts';
import { evaluateWorkloadIngress, type Verdict } from '../../calico/dataplane.ts';
import { NetSet } from '../../calico/nets.ts';
import { PortIntervalSet } from '../../calico/ports.ts';
import { netOf } from './cidr.ts';
import { compileK8sNetworkPolicy } from './k8s-network-policy.ts';
import { podCIDRs } from './network.ts';
import { hostEndpointView, type HostEndpointView } from '../../calico/host-endpoint.ts';
import { compileStoredPolicy, governsIngress, type CompiledPolicy } from '../../calico/policy.ts';
import type { RuleContext } from '../types.ts';
import { objectRef } from './service.ts';
import { exposedService, storedPolicies, type ExposedService, type ServiceTarget } from './service-reach.ts';

export interface Backends {
  /** The pods as an endpoint view: the Service's selector labels, nothing else known. */
  readonly pods: HostEndpointView;
  readonly namespace: string;
  /** Every policy that can apply to the pods (global, and namespaced of their namespace). */
  readonly policies: readonly CompiledPolicy[];
  /** Ingress policies whose selector reads labels the Service does not set: whether they select the pods is unknown. */
  readonly uncertain: readonly string[];
}

/**
 * The Service under review when it is exposed in the given traffic mode (`local`:
 * externalTrafficPolicy Local), with its backends; null with static cluster state, when it is
 * not exposed or in the other mode, or has no selector. The preamble of both backend rules.
 */
export function exposedBackends(ctx: Pick<RuleContext, 'object' | 'cluster' | 'config'>, local: boolean): { exposed: ExposedService; backends: Backends } | null {
  if (ctx.cluster.source === 'static') return null;
  const exposed = exposedService(ctx.object, ctx.config);
  if (exposed === null || exposed.local !== local) return null;
  const backends = backendsOf(ctx.object, ctx);
  return backends === null ? null : { exposed, backends };
}

/** The Calico selector of the pods: `app == 'a' && tier == 'b'`. */
export const podSelector = (backends: Backends): string =>
  Object.entries(backends.pods.labels)
    .map(([k, v]) => `${k} == '${v}'`)
    .join(' && ');

/** The backends of a Service with a selector, or null (no selector: its endpoints are managed by hand). */
export function backendsOf(service: KubeObject, ctx: Pick<RuleContext, 'cluster'>): Backends | null {
  const selector = service.spec?.['selector'];
  if (typeof selector !== 'object' || selector === null || Array.isArray(selector)) return null;
  const labels = Object.fromEntries(Object.entries(selector as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
  if (Object.keys(labels).length === 0) return null;
  const namespace = service.metadata?.namespace ?? 'default';
  const inNamespace = (p: KubeObject): boolean => (p.metadata?.namespace ?? 'default') === namespace;
  const namespaced = [
    ...(ctx.cluster.networkPolicies ?? []).filter(inNamespace).map(compileStoredPolicy),
    ...(ctx.cluster.kubernetesNetworkPolicies ?? []).filter(inNamespace).map(compileK8sNetworkPolicy),
  ];
  const policies = [...storedPolicies(ctx.cluster), ...namespaced];
  const selectorText = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = hostEndpointView({ metadata: { name: `the pods of ${objectRef(service)} (${selectorText})`, labels }, spec: {} });
  const uncertain = policies
    .filter((p) => governsIngress(p) && !p.preDNAT && !p.doNotTrack && (p.selector?.keys ?? []).some((k) => !(k in labels)))
    .map((p) => p.name);
  return { pods, namespace, policies, uncertain };
}

/** "(uncertain: the selectors of "a", "b" read labels other than the Service's selector)". */
export function uncertainNote(b: Backends): string {
  if (b.uncertain.length === 0) return '';
  const names = b.uncertain.slice(0, 3).map((n) => `"${n}"`).join(', ') + (b.uncertain.length > 3 ? ` and ${b.uncertain.length - 3} more` : '');
  return ` Uncertain: the selectors of ${names} read labels other than the Service's spec.selector, so whether they select the pods is not known here.`;
}

/**
 * Cluster mode's last stage: traffic from a host endpoint (SNATed to its address) to the pods
 * on the target port, as the pods' policies judge it. Null when the endpoint has no
 * expectedIPs (label-based rules cannot match it: hostendpoint-expected-ips).
 */
export function hostsToPods(b: Backends, target: ServiceTarget, hep: HostEndpointView, ctx: Pick<RuleContext, 'cluster' | 'config'>): Verdict | null {
  if (hep.expectedIPs.length === 0) return null;
  const pods = NetSet.of(podCIDRs(ctx).filter((c) => netOf(c) !== null));
  return evaluateWorkloadIngress(b.policies, b.pods, {
    protocol: target.protocol,
    source: NetSet.of(hep.expectedIPs),
    sourceHost: hep,
    destination: pods.isEmpty() ? {} : { nets: pods },
    ports: typeof target.targetPort === 'number' ? PortIntervalSet.of([target.targetPort]) : PortIntervalSet.ALL,
  });
}
