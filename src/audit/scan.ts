import { actionFor } from '../admission/evaluate.ts';
import type { AuditFinding } from '../admission/audit-record.ts';
import type { KubeObject } from '../admission/types.ts';
import type { ClusterSnapshot } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import type { CheckResult } from '../cli/check.ts';
import type { RuleRegistry } from '../rules/registry.ts';
import type { Finding, Rule, RuleContext } from '../rules/types.ts';
import { groupOf } from '../rules/support/kinds.ts';

/** One existing object and what the rules say about it; the JSON shape is `check --output json`'s. */
export interface AuditResult extends CheckResult {
  /** The object as it stands (not printed: reports point at it). */
  readonly object: KubeObject;
  /** Rules that judged the object and found nothing. */
  readonly passed: readonly string[];
}

/** Every object of a snapshot the rules can judge, in a fixed order: Services, then the Calico kinds. */
export function snapshotObjects(cluster: ClusterSnapshot): KubeObject[] {
  return [
    ...cluster.exposedServices,
    ...cluster.globalNetworkPolicies,
    ...cluster.hostEndpoints,
    ...cluster.ipPools,
    ...(cluster.bgpConfiguration === null ? [] : [cluster.bgpConfiguration]),
  ];
}

/** The rules for an object's kind, whatever their stages, each once, in registration order. */
function rulesFor(registry: RuleRegistry, group: string, kind: string): Rule[] {
  const set = new Set([...registry.forKind('mutate', group, kind), ...registry.forKind('validate', group, kind)]);
  return registry.rules.filter((r) => set.has(r));
}

/**
 * Judges one object as it stands in the snapshot (mode `existing`): every rule for its kind
 * runs once, at its first stage (where a patch rule offers its patch), nothing is applied. A
 * finding a patch rule cannot patch counts as enforce, as at admission. When a `gatesPatches`
 * rule finds the object invalid, rules that judge its effect stay silent, as at admission.
 */
export function judgeExisting(object: KubeObject, deps: { registry: RuleRegistry; config: Config; cluster: ClusterSnapshot }): { findings: AuditFinding[]; passed: string[] } {
  const { registry, config, cluster } = deps;
  const rules = rulesFor(registry, groupOf(object.apiVersion), object.kind ?? '');
  const context = (rule: Rule): RuleContext => ({ stage: rule.stages[0]!, operation: 'CREATE', mode: 'existing', object, oldObject: null, config, cluster });
  const found = new Map<Rule, readonly Finding[]>();
  const run = (rule: Rule): readonly Finding[] => {
    let hit = found.get(rule);
    if (hit === undefined) found.set(rule, (hit = rule.check(context(rule))));
    return hit;
  };
  const gated = rules.some((r) => r.gatesPatches && actionFor(r, config) !== 'off' && run(r).length > 0);
  const findings: AuditFinding[] = [];
  const passed: string[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    const action = actionFor(rule, config);
    if (action === 'off' || (gated && rule.needsValidObject)) continue;
    const list = run(rule);
    if (list.length === 0) passed.push(rule.id);
    for (const f of list) {
      const key = `${rule.id}|${f.path}|${f.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push({ rule: rule.id, action: action === 'patch' && f.patch === undefined ? 'enforce' : action, path: f.path, message: f.message });
    }
  }
  return { findings, passed };
}

/** One object's result, or null when no rule judges its kind. */
export function auditObject(object: KubeObject, deps: { registry: RuleRegistry; config: Config; cluster: ClusterSnapshot }, source: string): AuditResult | null {
  const { findings, passed } = judgeExisting(object, deps);
  if (findings.length === 0 && passed.length === 0) return null;
  return {
    source,
    kind: object.kind ?? '',
    name: object.metadata?.name ?? '<unnamed>',
    namespace: object.metadata?.namespace ?? null,
    decision: findings.some((f) => f.action === 'enforce') ? 'deny' : 'allow',
    findings,
    patch: [],
    object,
    passed,
  };
}

/**
 * Judges every object of a snapshot. `sourceOf` names where an object came from (a file for
 * `audit -f`); the default is `cluster`.
 * @example auditSnapshot(snapshot, { registry, config }).filter((r) => r.findings.length > 0)
 */
export function auditSnapshot(cluster: ClusterSnapshot, deps: { registry: RuleRegistry; config: Config }, sourceOf: (object: KubeObject) => string = () => 'cluster'): AuditResult[] {
  const results: AuditResult[] = [];
  for (const object of snapshotObjects(cluster)) {
    const result = auditObject(object, { ...deps, cluster }, sourceOf(object));
    if (result !== null) results.push(result);
  }
  return results;
}

/** The JSON `audit --output json` prints: exactly `check --output json`'s fields. */
export const toCheckShape = ({ source, kind, name, namespace, decision, findings, patch }: AuditResult): CheckResult => ({ source, kind, name, namespace, decision, findings, patch });
