import type { ClusterSnapshot } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import type { RuleRegistry } from '../rules/registry.ts';
import { judgesOperation, type Finding, type JsonPatchOp, type Rule, type RuleAction, type RuleContext, type Stage } from '../rules/types.ts';
import type { AuditFinding } from './audit-record.ts';
import { applyPatch } from './json-patch.ts';
import type { KubeObject, Operation } from './types.ts';

export interface EvaluationInput {
  group: string;
  kind: string;
  operation: Operation;
  object: KubeObject;
  oldObject: KubeObject | null;
}

export interface Evaluation {
  findings: AuditFinding[];
  /** Operations applied, in order (only at /mutate). */
  patch: JsonPatchOp[];
  /** The object with `patch` applied. */
  object: KubeObject;
  denied: boolean;
}

export interface EvaluationDeps {
  registry: RuleRegistry;
  config: Config;
  cluster: ClusterSnapshot;
}

export const actionFor = (rule: Rule, config: Config): RuleAction => config.rules[rule.id] ?? rule.defaultAction;

/**
 * Runs the rules for one object at one stage. Patch findings are applied one rule at a time,
 * so later rules see earlier fixes; a finding a patch rule cannot fix denies. At /mutate an
 * object a `gatesPatches` rule finds invalid is not patched (it is denied at /validate), and
 * rules that judge the object's effect (`needsValidObject`) skip it at either stage.
 */
export function evaluate(stage: Stage, input: EvaluationInput, deps: EvaluationDeps): Evaluation {
  const { registry, config, cluster } = deps;
  const all = registry.forKind(stage, input.group, input.kind);
  // Most rules judge CREATE and UPDATE only; DELETE reaches the few that ask for it.
  const rules = all.some((r) => !judgesOperation(r, input.operation)) ? all.filter((r) => judgesOperation(r, input.operation)) : all;
  const result: Evaluation = { findings: [], patch: [], object: input.object, denied: false };
  if (rules.length === 0) return result;
  const context = (object: KubeObject): RuleContext => ({ stage, operation: input.operation, object, oldObject: input.oldObject, config, cluster });
  // Gate findings on the submitted object, computed once: a gate that also runs at this stage
  // (gnp-schema at /validate) reuses them instead of checking the object twice.
  const gateFindings = new Map<Rule, readonly Finding[]>();
  // A deleted object is gone whatever it holds: no gate applies.
  const needsGate = input.operation !== 'DELETE' && (stage === 'mutate' || rules.some((r) => r.needsValidObject));
  const gated =
    needsGate &&
    registry.patchGates(input.group, input.kind).some((gate) => {
      if (actionFor(gate, config) === 'off') return false;
      const found = gate.check(context(input.object));
      gateFindings.set(gate, found);
      return found.length > 0;
    });
  for (const rule of rules) {
    const action = actionFor(rule, config);
    if (action === 'off' || (gated && rule.needsValidObject)) continue;
    const reused = result.object === input.object ? gateFindings.get(rule) : undefined;
    for (const finding of reused ?? rule.check(context(result.object))) {
      let effective: Exclude<RuleAction, 'off'> = action;
      if (action === 'patch') {
        if (finding.patch === undefined) effective = 'enforce';
        else if (gated) continue; // the gate's own finding explains what to fix first
      }
      if (effective === 'patch' && finding.patch !== undefined) {
        result.object = applyPatch(result.object, finding.patch);
        result.patch.push(...finding.patch);
      }
      if (effective === 'enforce') result.denied = true;
      result.findings.push({ rule: rule.id, action: effective, path: finding.path, message: finding.message });
    }
  }
  return result;
}

/** The line a person sees for a finding: `[rule-id] message`, patches say what they changed. */
export function findingText(f: AuditFinding): string {
  return f.action === 'patch' ? `[${f.rule}] patched ${f.path}: ${f.message}` : `[${f.rule}] ${f.message}`;
}
