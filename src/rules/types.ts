import type { Config } from '../config/types.ts';
import type { ClusterSnapshot } from '../cluster/types.ts';
import type { KubeObject, Operation } from '../admission/types.ts';

/**
 * What happens to a rule's findings.
 * - enforce: deny the request
 * - warn:    AdmissionResponse `warnings` (kubectl prints them)
 * - audit:   only the audit log and `auditAnnotations`
 * - patch:   apply the finding's patch and say so in a warning; findings without a patch deny
 * - off:     the rule does not run
 */
export type RuleAction = 'enforce' | 'warn' | 'audit' | 'patch' | 'off';
export const RULE_ACTIONS: readonly RuleAction[] = ['enforce', 'warn', 'audit', 'patch', 'off'];

/** The actions a rule can be set to: `patch` only for a rule that has patches. */
export const supportedActions = (rule: Pick<Rule, 'patches'>): readonly RuleAction[] =>
  rule.patches === true ? RULE_ACTIONS : RULE_ACTIONS.filter((a) => a !== 'patch');

/** `mutate` rules see the object as submitted; `validate` rules see it after defaulting and allocation. */
export type Stage = 'mutate' | 'validate';

/** A group/kind a rule applies to; versions do not matter (matchPolicy: Equivalent). */
export interface KindRef {
  readonly group: string;
  readonly kind: string;
}

/** RFC 6902 operation; `path` is a JSON pointer. */
export interface JsonPatchOp {
  readonly op: 'add' | 'replace' | 'remove';
  readonly path: string;
  readonly value?: unknown;
}

/** One problem a rule found. */
export interface Finding {
  /** What is wrong, what it breaks and the exact fix. No rule ID prefix: the engine adds it. */
  readonly message: string;
  /** Field path in kubectl style, e.g. `spec.ingress[0].destination.nets[0]`. */
  readonly path: string;
  /** Operations that fix the finding; only patch rules at the mutate stage set it. */
  readonly patch?: readonly JsonPatchOp[];
}

/**
 * What a rule judges.
 * - write:    an admission request (`operation` says which), the object as submitted or as it
 *             will be stored
 * - existing: an object as it stands in a cluster snapshot (`clusterip-guard audit`, background
 *             reports); `operation` is CREATE, `oldObject` null, and the object carries what the
 *             API server stored (allocated IPs, managedFields), so rules that look for what the
 *             user left out read the stored record instead (see service-cluster-ip-pinned)
 */
export type Mode = 'write' | 'existing';

/** Everything a rule may look at. Rules do no I/O. */
export interface RuleContext {
  readonly stage: Stage;
  readonly operation: Operation;
  /** Absent means `write`. */
  readonly mode?: Mode;
  /** On DELETE the object being deleted (the request's oldObject). */
  readonly object: KubeObject;
  /** The stored object on UPDATE and DELETE, else null. */
  readonly oldObject: KubeObject | null;
  readonly config: Config;
  readonly cluster: ClusterSnapshot;
}

export interface Rule {
  readonly id: string;
  readonly kinds: readonly KindRef[];
  readonly stages: readonly Stage[];
  readonly defaultAction: Exclude<RuleAction, 'off'>;
  /** The operations the rule judges at admission; default CREATE and UPDATE. */
  readonly operations?: readonly Operation[];
  /** One paragraph for the README and `--list-rules`. */
  readonly doc: string;
  /**
   * At /mutate, when this rule finds anything the object is not patched at all (patching an
   * object that will be denied as invalid only hides the real error).
   */
  readonly gatesPatches?: boolean;
  /** Judges what the object does, so it stays silent when a `gatesPatches` rule finds it invalid. */
  readonly needsValidObject?: boolean;
  /** Its findings carry a patch at /mutate: only such a rule may be set to `patch` (see supportedActions). */
  readonly patches?: boolean;
  check(ctx: RuleContext): readonly Finding[];
}

export const DEFAULT_OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE'];

/** True when the rule judges this admission operation. */
export const judgesOperation = (rule: Rule, operation: Operation): boolean => (rule.operations ?? DEFAULT_OPERATIONS).includes(operation);

/** True when the context is an object as stored, not a write. */
export const isExisting = (ctx: Pick<RuleContext, 'mode'>): boolean => ctx.mode === 'existing';
