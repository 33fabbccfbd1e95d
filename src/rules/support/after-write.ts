import { samePolicyName } from '../../admission/calico-apiserver.ts';
import { selectsHostEndpoint } from '../../calico/dataplane.ts';
import { hostEndpointView, storedHostEndpointView, type HostEndpointView } from '../../calico/host-endpoint.ts';
import { recentMemo } from '../../calico/memo.ts';
import { compileStoredPolicy, type CompiledPolicy } from '../../calico/policy.ts';
import { parseSelectorCached, type Selector, type SelectorNode } from '../../calico/selector/index.ts';
import { perSnapshot } from '../../cluster/derived.ts';
import type { ClusterSnapshot } from '../../cluster/types.ts';
import type { RuleContext } from '../types.ts';

/** Adds the label keys that a policy's selectors read: the policy selector and every rule's (not)selectors. */
function addPolicyKeys(policy: CompiledPolicy, out: Set<string>): void {
  const add = (s: Selector | undefined): void => {
    if (s !== undefined) for (let i = 0; i < s.keys.length; i++) out.add(s.keys[i]!);
  };
  add(policy.selector);
  for (const rules of [policy.ingress, policy.egress]) {
    for (let i = 0; i < rules.length; i++) {
      const { source, destination } = rules[i]!;
      add(source.selector);
      add(source.notSelector);
      add(destination.selector);
      add(destination.notSelector);
    }
  }
}

/** The snapshot's GlobalNetworkPolicies, compiled (each object's compilation is kept with it). */
export const storedPolicies = perSnapshot(['globalNetworkPolicies'], (cluster): readonly CompiledPolicy[] => cluster.globalNetworkPolicies.map((p) => compileStoredPolicy(p)));

/** What host-endpoint classes are derived from. */
export type HostEndpointParts = Pick<ClusterSnapshot, 'hostEndpoints' | 'globalNetworkPolicies'>;

interface Derived {
  /** Label keys any stored policy or `network.hostEndpointSelector` reads (and sorted). */
  readonly keys: ReadonlySet<string>;
  readonly sortedKeys: readonly string[];
  /** Host-endpoint classes by the label keys the submitted policy reads besides `keys`. */
  readonly classes: Map<string, HostEndpointClass[]>;
  /** With no HostEndpoints: the one assumed class (see assumedHostEndpoint), or none. */
  readonly assumed: HostEndpointClass[];
}

// The classes depend on the host endpoints and the policies both.
const derived = perSnapshot(['hostEndpoints', 'globalNetworkPolicies'], (cluster, config: RuleContext['config']): Derived => {
  const keys = new Set<string>();
  for (const p of storedPolicies(cluster)) addPolicyKeys(p, keys);
  try {
    for (const key of parseSelectorCached(config.network.hostEndpointSelector).keys) keys.add(key);
  } catch {
    // the config loader refuses a bad selector
  }
  const hep = cluster.hostEndpoints.length === 0 ? assumedHostEndpoint(config.network.hostEndpointSelector) : null;
  const assumed = hep === null ? [] : [{ representative: hep, policies: policiesSelecting(hep, cluster), members: [hep] }];
  return { keys, sortedKeys: [...keys].sort(), classes: new Map(), assumed };
});

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

/**
 * Host endpoints that every policy treats alike, one representative each. Two endpoints are
 * alike when they agree on the labels that any selector in play reads (stored policies, the
 * submitted one, `network.hostEndpointSelector`), on profiles, on the IP families of their
 * expectedIPs and on whether they are all-interfaces endpoints (untracked policy skips those):
 * labels nothing reads (a hostname, say) do not split them. Cached per snapshot and set of
 * keys, so a request usually only looks the classes up.
 */
export interface HostEndpointClass {
  readonly representative: HostEndpointView;
  /** Stored policies that select the class. */
  readonly policies: readonly CompiledPolicy[];
  /** Every endpoint of the class in the snapshot's order, the representative first. */
  readonly members: readonly HostEndpointView[];
}

function classesFor(ctx: { cluster: HostEndpointParts; config: RuleContext['config'] }, extra: CompiledPolicy | null): HostEndpointClass[] {
  const { cluster, config } = ctx;
  const { keys: storedKeys, sortedKeys, classes: byKeys, assumed } = derived(cluster, config);
  if (cluster.hostEndpoints.length === 0) return assumed;
  // Usually the submitted policy reads no label the stored ones do not: then the key is ''.
  const extraKeys: string[] = [];
  if (extra !== null) {
    const keys = new Set<string>();
    addPolicyKeys(extra, keys);
    for (const key of keys) if (!storedKeys.has(key)) extraKeys.push(key);
    extraKeys.sort();
  }
  const cacheKey = extraKeys.join('\u0000');
  let classes = byKeys.get(cacheKey);
  if (classes === undefined) {
    const keyList = [...sortedKeys, ...extraKeys];
    const groups = new Map<string, HostEndpointView[]>();
    for (const obj of cluster.hostEndpoints) {
      const hep = storedHostEndpointView(obj);
      const key = JSON.stringify([keyList.map((k) => hep.labels[k] ?? null), [...hep.profiles].sort(), [...new Set(hep.expectedIPs.map((n) => n.version))].sort(), hep.interfaceName === '*']);
      const members = groups.get(key);
      if (members) members.push(hep);
      else groups.set(key, [hep]);
    }
    classes = [...groups.values()].map((members) => ({
      representative: members[0]!,
      members,
      policies: policiesSelecting(members[0]!, cluster),
    }));
    if (byKeys.size >= 64) byKeys.clear();
    byKeys.set(cacheKey, classes);
  }
  return classes;
}

/** Classes of host endpoints (see HostEndpointClass), for judging a Service against the stored policies. */
export const hostEndpointClasses = (ctx: { cluster: HostEndpointParts; config: RuleContext['config'] }): HostEndpointClass[] => classesFor(ctx, null);

export interface SelectedClass {
  readonly hostEndpoint: HostEndpointView;
  /** The policies that apply to it once this write is stored, the submitted one included. */
  readonly policies: readonly CompiledPolicy[];
}

/**
 * The host-endpoint classes a submitted policy selects, each with the policies that will apply
 * to it after the write: the stored ones selecting it, with the submitted policy added (CREATE)
 * or in place of its stored version (UPDATE, same name; `x` and calico-apiserver's `default.x` are
 * one policy). Several rules judge the same review: the last answer is kept.
 */
const selectedAfterWrite = recentMemo(1, (submitted: CompiledPolicy, cluster: RuleContext['cluster'], config: RuleContext['config']) =>
  Object.freeze(
    classesFor({ cluster, config }, submitted)
      .filter((c) => selectsHostEndpoint(submitted, c.representative))
      .map((c): SelectedClass => ({ hostEndpoint: c.representative, policies: [...c.policies.filter((p) => !samePolicyName(p.name, submitted.name)), submitted] })),
  ),
);

/**
 * The classes a submitted or deleted policy selects, with the policies that apply after the
 * request: on DELETE the stored ones without it (`before` keeps them with it, so a rule can
 * tell what the delete itself breaks from what was broken already), otherwise as
 * selectedAfterWrite.
 */
export function selectedAfterRequest(policy: CompiledPolicy, ctx: Pick<RuleContext, 'cluster' | 'config' | 'operation'>): readonly (SelectedClass & { readonly before?: readonly CompiledPolicy[] })[] {
  if (ctx.operation !== 'DELETE') return selectedAfterWrite(policy, ctx.cluster, ctx.config);
  return classesFor(ctx, policy)
    .filter((c) => selectsHostEndpoint(policy, c.representative))
    .map((c) => ({ hostEndpoint: c.representative, policies: c.policies.filter((p) => p.name !== policy.name), before: c.policies }));
}

/** The stored policies that select a host endpoint (for judging a HostEndpoint write or an existing one). */
export function policiesSelecting(hep: HostEndpointView, cluster: Pick<ClusterSnapshot, 'globalNetworkPolicies'>): CompiledPolicy[] {
  return storedPolicies(cluster).filter((p) => selectsHostEndpoint(p, hep));
}

/** "after this change" for a write, "after deleting …" for a DELETE: how findings start. */
export const afterWhat = (ctx: Pick<RuleContext, 'operation' | 'object'>): string =>
  ctx.operation === 'DELETE' ? `after deleting ${ctx.object.kind ?? 'object'} "${ctx.object.metadata?.name ?? ''}"` : 'after this change';
