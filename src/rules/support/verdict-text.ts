import { isRuleCause, type Verdict } from '../../calico/dataplane.ts';

const quote = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/** "is dropped by …" for a verdict that does not allow a flow: names the policy and rule, or the default. */
export function dropCause(verdict: Verdict): string {
  const by = verdict.by;
  if (isRuleCause(by)) {
    const how = by.partial ? 'may be dropped (in part)' : 'is dropped';
    return `${how} by ingress rule ${by.ruleIndex} (${by.action}) of ${by.stage === 'pre-dnat' ? 'pre-DNAT ' : ''}policy "${by.policy}"`;
  }
  if ('defaultDeny' in by) {
    if (by.defaultDeny === 'forward') {
      return `is dropped by the forward-path default deny that ${by.policies.length === 1 ? 'policy' : 'policies'} ${quote(by.policies)} ${by.policies.length === 1 ? 'turns' : 'turn'} on`;
    }
    return `is dropped by the host endpoint's default deny (no policy allows it${by.policies.length > 0 ? ` in ${quote(by.policies)}` : ''}, and no projectcalico-default-allow profile)`;
  }
  return 'is dropped';
}

/** A protocol whose flow a verdict does not fully allow. */
export interface Drop {
  readonly protocol: string;
  readonly verdict: Verdict;
}

const PROTOCOLS = ['TCP', 'UDP'] as const;

/** The TCP and UDP flows of one shape that are dropped (in part), with their verdicts. */
export function dropsByProtocol(verdictFor: (protocol: string) => Verdict): Drop[] {
  const dropped: Drop[] = [];
  for (let i = 0; i < PROTOCOLS.length; i++) {
    const verdict = verdictFor(PROTOCOLS[i]!);
    if (!verdict.allowed) dropped.push({ protocol: PROTOCOLS[i]!, verdict });
  }
  return dropped;
}
