import { GuardError } from '../errors.ts';
import type { Config } from '../config/types.ts';
import { RULE_ACTIONS, supportedActions, type Rule, type Stage } from './types.ts';

const ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const STAGES: readonly Stage[] = ['mutate', 'validate'];

export interface RuleRegistry {
  readonly rules: readonly Rule[];
  get(id: string): Rule | undefined;
  /** Rules for a group/kind at a stage, in registration order (the order patches apply in). */
  forKind(stage: Stage, group: string, kind: string): readonly Rule[];
  /** Rules with `gatesPatches` for a group/kind, whatever their stages. */
  patchGates(group: string, kind: string): readonly Rule[];
}

/**
 * Checks the rules once at start-up (unique IDs, valid stages, kinds and actions) and indexes
 * them by stage and kind so a request only looks them up.
 */
export function createRegistry(rules: readonly Rule[]): RuleRegistry {
  const byId = new Map<string, Rule>();
  // stage → group → kind → rules, and group → kind → gates: lookups build no key strings.
  const index = new Map<Stage, Map<string, Map<string, Rule[]>>>(STAGES.map((stage) => [stage, new Map()]));
  const gates = new Map<string, Map<string, Rule[]>>();
  for (const rule of rules) {
    const fail = (why: string): never => {
      throw new GuardError('CIG_ERR_RULE_REGISTRY', `rule "${rule.id}": ${why}`);
    };
    if (!ID_PATTERN.test(rule.id)) fail('ID must be lower-case words joined by "-"');
    if (byId.has(rule.id)) fail('duplicate rule ID');
    if (rule.kinds.length === 0) fail('no kinds');
    if (rule.stages.length === 0 || rule.stages.some((s) => !STAGES.includes(s))) fail(`stages must be among ${STAGES.join(', ')}`);
    if (!RULE_ACTIONS.includes(rule.defaultAction) || (rule.defaultAction as string) === 'off') fail('invalid default action');
    if (!supportedActions(rule).includes(rule.defaultAction)) fail(`default action ${rule.defaultAction} is not among its actions (${supportedActions(rule).join(', ')})`);
    if (rule.doc.trim() === '') fail('missing doc');
    byId.set(rule.id, rule);
    if (rule.gatesPatches) {
      for (const { group, kind } of rule.kinds) listIn(gates, group, kind).push(rule);
    }
    for (const stage of rule.stages) {
      for (const { group, kind } of rule.kinds) listIn(index.get(stage)!, group, kind).push(rule);
    }
  }
  const none: readonly Rule[] = Object.freeze([]);
  return {
    rules: Object.freeze([...rules]),
    get: (id) => byId.get(id),
    forKind: (stage, group, kind) => index.get(stage)?.get(group)?.get(kind) ?? none,
    patchGates: (group, kind) => gates.get(group)?.get(kind) ?? none,
  };
}

function listIn(byGroup: Map<string, Map<string, Rule[]>>, group: string, kind: string): Rule[] {
  let byKind = byGroup.get(group);
  if (byKind === undefined) byGroup.set(group, (byKind = new Map()));
  let list = byKind.get(kind);
  if (list === undefined) byKind.set(kind, (list = []));
  return list;
}

/**
 * The config's rule actions the rules cannot carry out, one line each naming the rule and the
 * actions it supports: a `patch` for a rule without a patch would otherwise quietly deny.
 */
export function unsupportedRuleActions(config: Pick<Config, 'rules'>, rules: readonly Rule[]): string[] {
  const out: string[] = [];
  for (const [id, action] of Object.entries(config.rules)) {
    const rule = rules.find((r) => r.id === id);
    if (rule === undefined) out.push(`rules.${id}: no such rule (rules: ${rules.map((r) => r.id).join(', ')})`);
    else if (action !== undefined && !supportedActions(rule).includes(action)) {
      out.push(`rules.${id}: "${action}" is not an action of ${id}, which has no patch; its actions are ${supportedActions(rule).join(', ')}`);
    }
  }
  return out;
}
