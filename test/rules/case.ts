import type { KubeObject, Operation } from '../../src/admission/types.ts';
import type { ClusterSnapshot } from '../../src/cluster/types.ts';
import type { Mode, Stage } from '../../src/rules/types.ts';

/** One table row: a rule's input and the field paths it must report (none = passes). */
export interface RuleCase {
  name: string;
  object: KubeObject;
  stage?: Stage;
  operation?: Operation;
  /** `existing`: judged as a stored object (audit). */
  mode?: Mode;
  oldObject?: KubeObject;
  config?: unknown;
  cluster?: Partial<ClusterSnapshot>;
  /** Paths of the expected findings, in order; [] for a passing case. */
  expect: string[];
  /** Text every finding's message must contain. */
  messageIncludes?: string[];
  /** For patch rules: a subset the patched object must match. */
  patched?: unknown;
  /** For findings that must carry no patch (they deny under the patch action). */
  unpatchable?: boolean;
}
