import { isRuleCause, type Verdict } from '../../calico/dataplane.ts';
import { NetSet, type IPVersion } from '../../calico/nets.ts';
import { DEFAULT_TIER } from '../../calico/policy.ts';
import type { DecidedBy, Region } from '../../calico/reachability.ts';

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

// ---------------------------------------------------------------- reachability regions
// The words for a region and what decided it: the one formatter behind the warnings of
// service-cluster-ip-open / gnp-exposure-change and `clusterip-guard explain`.

const STAGE_WORDS: Record<DecidedBy['stage'], string> = { untracked: 'untracked ', 'pre-dnat': 'pre-DNAT ', forward: 'applyOnForward ', default: '' };
const MAX_CIDRS = 6;

/**
 * A set of sources in words: `0.0.0.0/0`, `50.60.0.0/16`, or `0.0.0.0/0 except 50.60.0.0/16,
 * 70.80.90.0/24` when the complement is the shorter list.
 */
export function sourcesText(set: NetSet, version: IPVersion): string {
  const all = NetSet.all(version);
  const own = set.restrictTo(version);
  if (own.isEmpty()) return 'no source';
  const whole = all.toCidrs()[0]!;
  const rest = all.minus(own).toCidrs();
  const cidrs = own.toCidrs();
  if (rest.length === 0) return whole;
  return rest.length < cidrs.length ? `${whole} except ${listText(rest)}` : listText(cidrs);
}

function listText(cidrs: readonly string[]): string {
  return cidrs.length > MAX_CIDRS ? `${cidrs.slice(0, MAX_CIDRS).join(', ')}, … (${cidrs.length} CIDRs)` : cidrs.join(', ');
}

/** What decided a region, e.g. `ingress rule 0 (Allow) of pre-DNAT policy "allow-cluster-ips"`. */
export function decidedByText(region: Pick<Region, 'verdict' | 'decidedBy' | 'detail'>): string {
  const d = region.decidedBy;
  const tier = d.tier === null || d.tier === DEFAULT_TIER ? '' : ` (tier "${d.tier}")`;
  if (d.rule !== null && d.policy !== null) {
    const action = isRuleCause(region.detail.by) ? region.detail.by.action : 'rule';
    const partial = isRuleCause(region.detail.by) && region.detail.by.partial ? ', which may match only part of it' : '';
    const words = `ingress rule ${d.rule} (${action}) of ${STAGE_WORDS[d.stage]}policy "${d.policy}"${tier}${partial}`;
    if (d.stage === 'untracked' && region.verdict === 'dropped' && action === 'Allow') {
      return `${words}: untracked traffic skips conntrack, so kube-proxy never DNATs it to a backend`;
    }
    return words;
  }
  if (region.verdict === 'reaches') {
    return 'no untracked or pre-DNAT rule drops it, and no applyOnForward policy selects these host endpoints, so forwarded traffic is allowed by default';
  }
  if (d.stage === 'forward') return `the forward default deny${tier}: applyOnForward policies select these host endpoints and none allows it`;
  return `the default deny${tier}`;
}
