import type { KubeObject } from '../../admission/types.ts';
import { selectsHostEndpoint } from '../../calico/dataplane.ts';
import { hostEndpointView, type HostEndpointView } from '../../calico/host-endpoint.ts';
import { compilePolicy, type CompiledPolicy } from '../../calico/policy.ts';
import { parseSelectorCached, type SelectorNode } from '../../calico/selector/index.ts';
import type { ClusterSnapshot } from '../../cluster/types.ts';
import type { RuleContext } from '../types.ts';

/**
 * The GlobalNetworkPolicies as they will be once this write is stored: the cluster's, with the
 * submitted policy added (CREATE) or in place of its stored version (UPDATE, same name).
 */
export function policiesAfterWrite(ctx: Pick<RuleContext, 'cluster' | 'object'>): CompiledPolicy[] {
  const name = ctx.object.metadata?.name;
  const others = ctx.cluster.globalNetworkPolicies.filter((p) => p.metadata?.name !== name);
  return [...others, ctx.object].map(compilePolicy);
}

/** The cluster's policies as stored, for rules that judge a Service against them. */
export const storedPolicies = (cluster: ClusterSnapshot): CompiledPolicy[] => cluster.globalNetworkPolicies.map(compilePolicy);

/** Labels a selector requires, when it is `a == 'x'` or a conjunction of such terms; else null. */
function requiredLabels(node: SelectorNode): Record<string, string> | null {
  if (node.kind === 'eq') return { [node.key]: node.value };
  if (node.kind === 'and') {
    const out: Record<string, string> = {};
    for (const operand of node.operands) {
      const labels = requiredLabels(operand);
      if (labels === null) return null;
      Object.assign(out, labels);
    }
    return out;
  }
  return null;
}

/**
 * With no HostEndpoints known (static config, `check` of policies alone), the host endpoints are
 * assumed to be what `network.hostEndpointSelector` describes: one endpoint carrying the labels
 * that selector requires, with an address (a documentation IP, RFC 5737) standing for its
 * expectedIPs — whether real endpoints list them is hostendpoint-expected-ips' concern.
 */
function assumedHostEndpoint(selector: string): HostEndpointView | null {
  let labels: Record<string, string> | null;
  try {
    labels = requiredLabels(parseSelectorCached(selector).ast);
  } catch {
    return null;
  }
  if (labels === null) return null;
  return hostEndpointView({
    apiVersion: 'projectcalico.org/v3',
    kind: 'HostEndpoint',
    metadata: { name: '<host endpoints matching network.hostEndpointSelector>', labels },
    spec: { node: '<any node>', interfaceName: '*', expectedIPs: ['192.0.2.1'] },
  });
}

const representatives = new WeakMap<readonly KubeObject[], HostEndpointView[]>();

/**
 * One host endpoint per distinct (labels, profiles, IP families of expectedIPs): endpoints that
 * agree on those are treated alike by every policy, so evaluating one stands for all. Computed
 * once per snapshot.
 */
export function hostEndpointClasses({ cluster, config }: Pick<RuleContext, 'cluster' | 'config'>): HostEndpointView[] {
  if (cluster.hostEndpoints.length === 0) {
    const assumed = assumedHostEndpoint(config.network.hostEndpointSelector);
    return assumed === null ? [] : [assumed];
  }
  let classes = representatives.get(cluster.hostEndpoints);
  if (classes === undefined) {
    const byKey = new Map<string, HostEndpointView>();
    for (const obj of cluster.hostEndpoints) {
      const hep = hostEndpointView(obj);
      const labels = Object.entries(hep.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const key = JSON.stringify([labels, [...hep.profiles].sort(), [...new Set(hep.expectedIPs.map((n) => n.version))].sort()]);
      if (!byKey.has(key)) byKey.set(key, hep);
    }
    classes = [...byKey.values()];
    representatives.set(cluster.hostEndpoints, classes);
  }
  return classes;
}

/** Host endpoints (one per class) that a policy applies to. */
export function selectedHostEndpoints(policy: CompiledPolicy, ctx: Pick<RuleContext, 'cluster' | 'config'>): HostEndpointView[] {
  return hostEndpointClasses(ctx).filter((hep) => selectsHostEndpoint(policy, hep));
}
