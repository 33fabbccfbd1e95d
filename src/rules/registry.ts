import { GuardError } from '../errors.ts';
import { RULE_ACTIONS, type Rule, type Stage } from './types.ts';

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
  const index = new Map<string, Rule[]>();
  const gates = new Map<string, Rule[]>();
  for (const rule of rules) {
    const fail = (why: string): never => {
      throw new GuardError('CIG_ERR_RULE_REGISTRY', `rule "${rule.id}": ${why}`);
    };
    if (!ID_PATTERN.test(rule.id)) fail('ID must be lower-case words joined by "-"');
    if (byId.has(rule.id)) fail('duplicate rule ID');
    if (rule.kinds.length === 0) fail('no kinds');
    if (rule.stages.length === 0 || rule.stages.some((s) => !STAGES.includes(s))) fail(`stages must be among ${STAGES.join(', ')}`);
    if (!RULE_ACTIONS.includes(rule.defaultAction) || (rule.defaultAction as string) === 'off') fail('invalid default action');
    if (rule.doc.trim() === '') fail('missing doc');
    byId.set(rule.id, rule);
    if (rule.gatesPatches) {
      for (const { group, kind } of rule.kinds) gates.set(`${group}|${kind}`, [...(gates.get(`${group}|${kind}`) ?? []), rule]);
    }
    for (const stage of rule.stages) {
      for (const { group, kind } of rule.kinds) {
        const key = `${stage}|${group}|${kind}`;
        const list = index.get(key) ?? [];
        list.push(rule);
        index.set(key, list);
      }
    }
  }
  const none: readonly Rule[] = Object.freeze([]);
  return {
    rules: Object.freeze([...rules]),
    get: (id) => byId.get(id),
    forKind: (stage, group, kind) => index.get(`${stage}|${group}|${kind}`) ?? none,
    patchGates: (group, kind) => gates.get(`${group}|${kind}`) ?? none,
  };
}
