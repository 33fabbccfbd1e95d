import type { JsonPatchOp, RuleAction, Stage } from '../rules/types.ts';
import type { Operation } from './types.ts';

/** `relayed`: calico-apiserver storing a v3 change already judged (src/admission/calico-apiserver.ts). */
export type DecisionKind = 'allow' | 'deny' | 'patch' | 'relayed';

export interface AuditFinding {
  rule: string;
  action: Exclude<RuleAction, 'off'>;
  path: string;
  message: string;
}

/** One admission decision, as written to the audit log (the server adds `time` and `durationMs`). */
export interface AuditRecord {
  uid: string;
  endpoint: Stage;
  operation: Operation;
  dryRun: boolean;
  group: string;
  version: string;
  kind: string;
  namespace: string | null;
  name: string | null;
  user: string | null;
  decision: DecisionKind;
  findings: AuditFinding[];
  patch: JsonPatchOp[];
  /**
   * Set when a policy review was answered without the cross-object analysis: `queue-full`,
   * `budget` (it would have run past the per-review budget) or `worker-failed`.
   */
  analysisSkipped?: 'queue-full' | 'budget' | 'worker-failed';
}
