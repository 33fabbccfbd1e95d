import { isRuleCause, type PolicyStage, type RuleCause, type Verdict } from '../../calico/dataplane.ts';
import type { FlowView } from '../../calico/flow.ts';
import { DEFAULT_ALLOW_PROFILE } from '../../calico/host-endpoint.ts';
import { protocolName, protocolSupportsPorts } from '../../calico/protocols.ts';
import { NetSet, type IPVersion } from '../../calico/nets.ts';
import { DEFAULT_TIER } from '../../calico/policy.ts';
import type { DecidedBy, Region } from '../../calico/reachability.ts';

const quote = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

// ---------------------------------------------------------------- dataplane verdicts

const POLICY_STAGE_WORDS: Record<PolicyStage, string> = {
  untracked: 'untracked policy',
  'pre-dnat': 'pre-DNAT policy',
  forward: 'applyOnForward policy',
  normal: 'policy',
};

function policyWords(stage: PolicyStage, policy: string, tier: string): string {
  return `${POLICY_STAGE_WORDS[stage]} "${policy}"${tier === DEFAULT_TIER ? '' : ` (tier "${tier}")`}`;
}

function portWords(view: FlowView): string {
  const ranges = view.ports.ranges();
  const many = ranges.length > 1 || (ranges[0] !== undefined && ranges[0].min !== ranges[0].max);
  return `${protocolName(view.protocol)} port${many ? 's' : ''} ${view.ports}`;
}

/** Short text for a flow view, e.g. `IPv4 TCP ports 1:29999 from any source to host endpoint "n1-eth0"`. */
export function describeFlowView(v: FlowView): string {
  const what = protocolSupportsPorts(v.protocol) ? portWords(v) : protocolName(v.protocol);
  const from = v.sourceIsAny ? 'any source' : v.source.toString();
  const to = v.destinationHost !== undefined ? `host endpoint "${v.destinationHost.name}"` : (v.destination?.toString() ?? 'an unknown address');
  return `IPv${v.version} ${what} from ${from} to ${to}`;
}

function labelFor(view: FlowView, afterDnat: FlowView | undefined, note: string): string {
  let label = describeFlowView(view) + note;
  if (afterDnat !== undefined && afterDnat.destination !== undefined) {
    const ports = String(afterDnat.ports) === String(view.ports) ? '' : ` ${portWords(afterDnat)}`;
    label += ` (after DNAT: ${afterDnat.destination}${ports})`;
  }
  return label;
}

/** The flow part in words, e.g. `IPv4 TCP ports 1:65535 from any source to 192.168.0.0/16 (failsafe ports aside)`. */
export function flowPartText(verdict: Verdict): string {
  const p = verdict.part;
  return p.failsafe ? labelFor(p.view, p.afterDnat, '') : labelFor(p.whole, p.wholeAfterDnat, p.failsafeAside ? ' (failsafe ports aside)' : '');
}

function ruleText(cause: RuleCause): string {
  return `ingress rule ${cause.ruleIndex} (${cause.action}) of ${policyWords(cause.stage, cause.policy, cause.tier)}`;
}

/**
 * One or two sentences naming the flow part and what decided it, e.g.
 * `IPv4 TCP port 22 from any source to host endpoint "n1": TCP port 22 always reach the host (Felix FailsafeInboundHostPorts).`
 */
export function explainVerdict(verdict: Verdict): string {
  const { by, part } = verdict;
  const hep = part.hostEndpoint.name;
  const label = flowPartText(verdict);
  // Inside the forwarded walk of failsafe ports, the words say which stages were skipped.
  const walkLabel = part.chain === 'forwarded' && part.failsafe ? `${label} (failsafe ports: untracked and pre-DNAT policy skipped)` : label;
  if (isRuleCause(by)) {
    if (by.action === 'Pass') return `${walkLabel}: ${ruleText(by)} passes it out of the last tier; no further forward policy applies and Calico leaves it to the host.`;
    const detail =
      by.action === 'Allow' ? 'allows it' : by.partial ? `may drop part of it (the match depends on ${(by.uncertainOn ?? []).join(', ')})` : 'drops it';
    return `${walkLabel}: ${ruleText(by)} ${detail}.`;
  }
  if ('defaultDeny' in by) {
    if (by.tier !== undefined) {
      const names = by.policies;
      const tier = by.tier === DEFAULT_TIER ? '' : ` in tier "${by.tier}"`;
      const subject = `${names.length > 1 ? 'policies' : 'policy'} ${quote(names)}${tier} select${names.length > 1 ? '' : 's'}`;
      const noRule = by.partlyAllowed ? 'no rule allows all of it' : 'no rule allows it';
      if (by.defaultDeny === 'forward') {
        return `${walkLabel}: ${noRule}, and applyOnForward ${subject} host endpoint "${hep}", which turns on the default deny for forwarded traffic.`;
      }
      if (by.defaultDeny === 'workload') return `${walkLabel}: ${subject} ${hep} but ${noRule}; a tier whose policies select a workload drops what they do not allow.`;
      return `${walkLabel}: ${subject} host endpoint "${hep}" but ${noRule}; a host endpoint drops traffic to the host that its policies do not allow.`;
    }
    const profiles = part.hostEndpoint.profiles;
    const why = profilesWhy(by.passedBy, by.policies, hep);
    const own = profiles.length === 0 ? 'it has no profile' : `its profiles (${quote(profiles)}) are not "${DEFAULT_ALLOW_PROFILE}"`;
    return `${label}: ${why}; ${own}, so the host endpoint's default deny drops it.`;
  }
  switch (by.defaultAllow) {
    case 'failsafe':
      return `${label}: ${portWords(part.view)} ${part.chain === 'host' ? 'always reach the host' : 'skip untracked and pre-DNAT policy'} (Felix FailsafeInboundHostPorts).`;
    case 'profile':
      return `${label}: ${profilesWhy(by.passedBy, by.policies ?? [], hep)}, and profile "${by.profile ?? DEFAULT_ALLOW_PROFILE}" allows all traffic.`;
    case 'no-workload-policy':
      return `${label}: no policy selects ${hep}, so Kubernetes' default lets it in.`;
    case 'no-forward-policy': {
      const why = part.failsafe ? 'its ports are failsafe ports, which skip untracked and pre-DNAT policy' : 'no untracked or pre-DNAT rule decides it';
      return `${label}: ${why}, and no normal applyOnForward ingress policy selects host endpoint "${hep}", so forwarded traffic is allowed by default.`;
    }
  }
}

function profilesWhy(passedBy: RuleCause | undefined, normalPolicies: readonly string[], hep: string): string {
  if (passedBy !== undefined) return `${ruleText(passedBy)} passes it to the profiles`;
  return normalPolicies.length === 0 ? `no normal ingress policy selects host endpoint "${hep}", so its profiles decide` : 'it reaches the profiles';
}

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

const STAGE_WORDS: Record<DecidedBy['stage'], string> = { untracked: 'untracked ', 'pre-dnat': 'pre-DNAT ', forward: 'applyOnForward ', default: '', backend: "the pods' " };
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
  if (d.stage === 'backend') return `the pods' default deny${tier}: policies select the pods and none allows these sources`;
  return `the default deny${tier}`;
}
