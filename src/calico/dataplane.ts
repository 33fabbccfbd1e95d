/**
 * What Felix does with a flow arriving on a host endpoint (ingress), or at workloads, from the
 * policies that select it. Pure functions over compiled policies. The model follows Felix's
 * iptables/nftables rendering (the BPF dataplane is not modelled separately):
 *
 * - Policies selecting a host endpoint are split into stages (felix/calc/event_sequencer.go
 *   `tierInfoToProtoTierInfo`): `doNotTrack` → untracked; else `preDNAT` → pre-DNAT; else
 *   normal, and normal ones with `applyOnForward` also form the forward stage. A pre-DNAT
 *   policy is therefore never a "normal" policy: it does not switch on the host endpoint's
 *   default deny.
 * - Untracked (raw table) and pre-DNAT (mangle table) tiers have no end-of-tier drop: unmatched
 *   traffic passes on (felix/rules/endpoints.go `endpointIptablesChain`, end-of-tier drop only
 *   for normal and forward chains). An Allow there is final for the incoming host endpoint: it
 *   sets the accept mark, and filter INPUT / FORWARD skip host endpoint policy for marked
 *   packets (felix/rules/static.go `acceptAlreadyAccepted`, `StaticFilterForwardChains`).
 * - Forward stage: no forward policy → allowed ("Allow forwarded traffic by default");
 *   otherwise a tier with no verdict drops.
 * - Traffic to the host: failsafe ports are accepted before any policy (the raw, mangle and
 *   filter host endpoint chains all start with the failsafe jump); then normal tiers with
 *   end-of-tier drop; then profiles, and a drop when no profile accepts.
 * - Forwarded traffic: failsafe ports skip untracked and pre-DNAT policy (the raw and mangle
 *   chains accept them without the accept mark) but forward policy still applies (no failsafe
 *   chain there).
 * - Untracked policy is ignored for an all-interfaces (`*`) host endpoint
 *   (felix/dataplane/linux/endpoint_mgr.go).
 *
 * Tiers: see policy.ts `compareTiers` for the ordering limitation. Every tier is taken to end
 * in Deny (the default tier's default action). Verdicts carry facts (the cause: stage, tier,
 * policy, rule index; the flow part); the words are written by src/rules/support/verdict-text.ts,
 * the one formatter for warnings and `explain`.
 *
 * Partial matches (flow.ts) are handled conservatively: `allowed: true` means every packet of
 * the flow gets through. A partial Deny reports a drop by that rule; a partial Allow decides
 * nothing; a partial Pass is followed both ways.
 */
import { flowVersions, viewFlow, matchRuleView, type Flow, type FlowView } from './flow.ts';
import { DEFAULT_ALLOW_PROFILE, type HostEndpointView } from './host-endpoint.ts';
import { NetSet, tryParseNet } from './nets.ts';
import { perObject, recentMemo } from './memo.ts';
import { comparePolicies, governsIngress, type CompiledPolicy, type CalicoAction } from './policy.ts';
import { PortIntervalSet } from './ports.ts';
import { tryProtocolNumber, type ProtocolSpec } from './protocols.ts';

/** Where a host endpoint's policy applies (not the admission stage of src/rules/types.ts). */
export type PolicyStage = 'untracked' | 'pre-dnat' | 'forward' | 'normal';

/** A Felix failsafe entry: `protocol:port`, optionally only from `net`. */
export interface PortRule {
  readonly protocol: ProtocolSpec;
  readonly port: number;
  readonly net?: string | undefined;
}

/** Felix's default `FailsafeInboundHostPorts` (felix/config/config_params.go). */
export const FELIX_DEFAULT_FAILSAFE_INBOUND: readonly PortRule[] = Object.freeze(
  ([['tcp', 22], ['udp', 68], ['tcp', 179], ['tcp', 2379], ['tcp', 2380], ['tcp', 5473], ['tcp', 6443], ['tcp', 6666], ['tcp', 6667]] as const).map(([protocol, port]) => Object.freeze({ protocol, port })),
);

export interface RuleCause {
  readonly policy: string;
  readonly tier: string;
  readonly ruleIndex: number;
  readonly action: CalicoAction;
  readonly stage: PolicyStage;
  /** True when the rule matches only part of the flow (only for Deny). */
  readonly partial: boolean;
  /** For a partial Deny: the criteria the match depends on. */
  readonly uncertainOn?: readonly string[] | undefined;
}

export type VerdictCause =
  | RuleCause
  | {
      readonly defaultDeny: 'forward' | 'host-endpoint' | 'workload';
      /** The policies whose presence switched the default deny on (may be empty for host-endpoint). */
      readonly policies: readonly string[];
      /** The tier whose end-of-tier drop decided; undefined for the profiles' default deny. */
      readonly tier?: string | undefined;
      /** End of tier: some rule allowed part of the flow, none all of it. */
      readonly partlyAllowed?: boolean | undefined;
      /** Profiles' default deny: the normal Pass rule that sent the flow to the profiles. */
      readonly passedBy?: RuleCause | undefined;
    }
  | {
      readonly defaultAllow: 'no-forward-policy' | 'profile' | 'failsafe' | 'no-workload-policy';
      readonly profile?: string;
      /** `profile`: the normal Pass rule that sent the flow to the profiles. */
      readonly passedBy?: RuleCause | undefined;
      /** `profile`: the normal policies that select the endpoint (none: the profiles decide alone). */
      readonly policies?: readonly string[] | undefined;
    };

/** The chain of policy stages a verdict came from: forwarded through the host, to the host, or to workloads. */
export type PolicyChain = 'forwarded' | 'host' | 'workload';

/**
 * The part of a flow a verdict is about (one IP version, failsafe ports or the rest), as
 * facts: src/rules/support/verdict-text.ts writes the words.
 */
export interface FlowPart {
  readonly chain: PolicyChain;
  /** The endpoint the traffic arrives on (for `workload`: the pods, as a view of their labels). */
  readonly hostEndpoint: HostEndpointView;
  /** The part as untracked and pre-DNAT policy see it. */
  readonly view: FlowView;
  /** The part after kube-proxy's DNAT (what forward policy sees), when the flow has one. */
  readonly afterDnat: FlowView | undefined;
  /** The whole IP version of the flow and its post-DNAT view, which the words of a non-failsafe part name. */
  readonly whole: FlowView;
  readonly wholeAfterDnat: FlowView | undefined;
  /** This part holds the failsafe ports. */
  readonly failsafe: boolean;
  /** This part holds the other ports, and failsafe ports were split off. */
  readonly failsafeAside: boolean;
}

export interface Verdict {
  /** True when every packet of the flow gets through. */
  readonly allowed: boolean;
  readonly by: VerdictCause;
  /** The flow part the verdict is about. */
  readonly part: FlowPart;
}

const verdict = (allowed: boolean, by: VerdictCause, part: FlowPart): Verdict => ({ allowed, by, part });

export interface EvaluateOptions {
  /** Felix `FailsafeInboundHostPorts`; FELIX_DEFAULT_FAILSAFE_INBOUND when omitted. */
  readonly failsafe?: readonly PortRule[] | undefined;
  /**
   * What a policy with problems at the default release (`invalid`) does.
   * - `rule-matches-nothing` (default): the policy applies, its invalid rules match nothing.
   * - `policy-missing`: the policy is ignored, as Felix does with a resource that fails
   *   validation (felix/calc/validation_filter.go "treating as missing").
   */
  readonly invalidPolicies?: 'rule-matches-nothing' | 'policy-missing' | undefined;
}

/**
 * True when the policy applies to the host endpoint: its selector matches the
 * endpoint's labels and no namespace / service account selector limits it to
 * workloads.
 */
export function selectsHostEndpoint(policy: CompiledPolicy, hep: HostEndpointView): boolean {
  return policy.selectsNonNamespaced && policy.selector !== undefined && policy.selector.matches(hep.labels);
}

interface Segment {
  readonly stage: PolicyStage;
  readonly tier: string;
  readonly policies: readonly CompiledPolicy[];
}

/** Groups policies (already in tier order) into one segment per tier. */
function segmentsFor(stage: PolicyStage, policies: readonly CompiledPolicy[]): Segment[] {
  const segments: Segment[] = [];
  let start = 0;
  for (let i = 1; i <= policies.length; i++) {
    if (i === policies.length || policies[i]!.tier !== policies[start]!.tier) {
      // One tier (the usual case) keeps the list itself.
      const tierPolicies = start === 0 && i === policies.length ? policies : policies.slice(start, i);
      segments.push({ stage, tier: policies[start]!.tier, policies: tierPolicies });
      start = i;
    }
  }
  return segments;
}

/**
 * The paths flows take through the stages' segments (built once per policy list and endpoint,
 * not per flow): `host` to the host itself, `forwarded` on through it, `forward` the forward
 * stage alone (what failsafe ports meet). `normalPolicies` names the normal policies (a drop by
 * the default deny cites them).
 */
interface Stages {
  readonly host: readonly Segment[];
  readonly forwarded: readonly Segment[];
  readonly forward: readonly Segment[];
  readonly normalPolicies: readonly string[];
}

/**
 * Ingress policies selecting the host endpoint, in Felix order, by stage. Callers evaluate
 * several flows (protocols, failsafe splits) against the same policy list and endpoint in a row,
 * so the selection and sort are done once per (list, endpoint, invalid-policy mode) while it is
 * recent.
 */
const stagesFor = recentMemo(16, (policies: readonly CompiledPolicy[], hep: HostEndpointView, invalidPolicies: EvaluateOptions['invalidPolicies']): Stages => {
  const selected: CompiledPolicy[] = [];
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    if (governsIngress(p) && selectsHostEndpoint(p, hep) && (invalidPolicies !== 'policy-missing' || !p.invalid)) selected.push(p);
  }
  selected.sort(comparePolicies);
  // One pass over the sorted list keeps each stage in Felix order.
  const untracked: CompiledPolicy[] = [];
  const preDnat: CompiledPolicy[] = [];
  const forward: CompiledPolicy[] = [];
  const normal: CompiledPolicy[] = [];
  for (let i = 0; i < selected.length; i++) {
    const p = selected[i]!;
    if (p.doNotTrack) {
      if (hep.interfaceName !== '*') untracked.push(p); // untracked policy skips all-interfaces endpoints
    } else if (p.preDNAT) {
      preDnat.push(p);
    } else {
      normal.push(p);
      if (p.applyOnForward) forward.push(p);
    }
  }
  const beforeDnat = [...segmentsFor('untracked', untracked), ...segmentsFor('pre-dnat', preDnat)];
  const forwardSegments = segmentsFor('forward', forward);
  return {
    host: [...beforeDnat, ...segmentsFor('normal', normal)],
    forwarded: [...beforeDnat, ...forwardSegments],
    forward: forwardSegments,
    normalPolicies: Object.freeze(normal.map((p) => p.name)), // shared by the verdicts that cite it
  };
});

interface Walk {
  readonly segments: readonly Segment[];
  readonly viewFor: (stage: PolicyStage) => FlowView;
  /** How the walk ends when no rule and no end-of-tier drop decided. */
  readonly terminal: (passedBy: RuleCause | undefined) => Verdict;
  readonly part: FlowPart;
}

function endOfTier(w: Walk, segment: Segment, partlyAllowed: boolean): Verdict {
  const names = segment.policies.map((p) => p.name);
  const kind = segment.stage === 'forward' ? 'forward' : w.part.chain === 'workload' ? 'workload' : 'host-endpoint';
  return verdict(false, { defaultDeny: kind, policies: names, tier: segment.tier, partlyAllowed }, w.part);
}

/** Both ways of a partial Pass: the first drop, else the first. */
const combine = (a: Verdict, b: Verdict): Verdict => (a.allowed && !b.allowed ? b : a);

function runWalk(w: Walk): Verdict {
  // Only partial Pass rules revisit a position; the memo is made when the first one does.
  let memo: Map<string, Verdict> | undefined;

  const nextSegment = (s: number, passedBy: RuleCause | undefined): Verdict => {
    return s < w.segments.length ? walk(s, 0, 0) : w.terminal(passedBy);
  };

  const walk = (s: number, p: number, r: number): Verdict => {
    const hit = memo?.get(`${s}/${p}/${r}`);
    if (hit !== undefined) return hit;
    const segment = w.segments[s]!;
    const view = w.viewFor(segment.stage);
    let result: Verdict | undefined;
    let partlyAllowed = false;
    outer: for (let pi = p; pi < segment.policies.length; pi++) {
      const policy = segment.policies[pi]!;
      const rules = policy.ingress;
      for (let ri = pi === p ? r : 0; ri < rules.length; ri++) {
        const rule = rules[ri]!;
        if (rule.action === undefined || rule.action === 'Log') continue;
        const match = matchRuleView(rule, view);
        if (match.result === 'none') continue;
        // A partial Allow decides nothing: go on without building a cause.
        if (match.result === 'partial' && rule.action === 'Allow') {
          partlyAllowed = true;
          continue;
        }
        const partial = match.result === 'partial' && rule.action === 'Deny';
        const cause: RuleCause = {
          policy: policy.name,
          tier: policy.tier,
          ruleIndex: ri,
          action: rule.action,
          stage: segment.stage,
          partial,
          uncertainOn: partial ? match.uncertainOn : undefined,
        };
        if (rule.action === 'Deny') {
          result = verdict(false, cause, w.part);
          break outer;
        }
        if (match.result === 'partial') {
          // A partial Pass sends part of the flow to the next tier: follow both.
          memo ??= new Map();
          result = combine(walk(s, pi, ri + 1), nextSegment(s + 1, cause));
          break outer;
        }
        if (rule.action === 'Allow') {
          result = verdict(true, cause, w.part);
          break outer;
        }
        result = nextSegment(s + 1, cause); // Pass: skip the rest of this tier
        break outer;
      }
    }
    if (result === undefined) {
      result =
        segment.stage === 'untracked' || segment.stage === 'pre-dnat'
          ? nextSegment(s + 1, undefined)
          : endOfTier(w, segment, partlyAllowed);
    }
    memo?.set(`${s}/${p}/${r}`, result);
    return result;
  };

  return w.segments.length === 0 ? w.terminal(undefined) : walk(0, 0, 0);
}

/** Failsafe port sets for flows from any source, per failsafe list (long-lived: the Felix default or the config's) and (protocol, IP version). */
const anySourceFailsafe = perObject((_failsafe: readonly PortRule[]) => new Map<number, PortIntervalSet>());

/** The failsafe ports of the view's protocol that apply to all of its sources. */
function failsafePorts(view: FlowView, failsafe: readonly PortRule[]): PortIntervalSet {
  if (failsafe.length === 0) return PortIntervalSet.EMPTY;
  if (!view.sourceIsAny) return computeFailsafePorts(view, failsafe);
  // From any source the answer depends only on the protocol and IP version: built once.
  const byKey = anySourceFailsafe(failsafe);
  const key = view.protocol * 8 + view.version;
  let ports = byKey.get(key);
  if (ports === undefined) byKey.set(key, (ports = computeFailsafePorts(view, failsafe)));
  return ports;
}

function computeFailsafePorts(view: FlowView, failsafe: readonly PortRule[]): PortIntervalSet {
  const ports: number[] = [];
  for (const entry of failsafe) {
    // An entry that does not parse applies to nothing.
    if (tryProtocolNumber(entry.protocol) !== view.protocol) continue;
    if (entry.net !== undefined) {
      // Conservative: a failsafe limited to a source net counts only when the whole flow comes from inside it.
      const net = tryParseNet(entry.net);
      if (net === undefined || net.version !== view.version || !NetSet.ofNet(net).coversAll(view.source)) continue;
    }
    ports.push(entry.port);
  }
  return ports.length === 0 ? PortIntervalSet.EMPTY : PortIntervalSet.of(ports);
}

/** A flow's ports split into failsafe ports and the rest (the same split recurs across a review's flows). */
const splitPorts = recentMemo(8, (ports: PortIntervalSet, failsafe: PortIntervalSet) => {
  const safe = failsafe.intersect(ports);
  return { safe, rest: safe.isEmpty() ? ports : ports.minus(safe) };
});

/** Splits a flow by IP version and into failsafe / other destination ports. */
function splitFlow(flow: Flow, failsafe: readonly PortRule[], chain: PolicyChain, hostEndpoint: HostEndpointView): FlowPart[] {
  const parts: FlowPart[] = [];
  const versions = flowVersions(flow);
  for (let i = 0; i < versions.length; i++) {
    const version = versions[i]!;
    const view = viewFlow(flow, version);
    if (view === undefined) continue;
    const afterDnat = flow.afterDnat === undefined ? undefined : viewFlow(flow, version, true);
    const failsafeHere = failsafePorts(view, failsafe);
    // No failsafe port of this protocol (or none at all: workloads): nothing to split, nothing to remember.
    const { safe, rest } = failsafeHere.isEmpty() ? { safe: failsafeHere, rest: view.ports } : splitPorts(view.ports, failsafeHere);
    const addPart = (ports: PortIntervalSet, isFailsafe: boolean): void => {
      if (ports.isEmpty()) return;
      // Failsafe ports are matched before DNAT; the post-DNAT view keeps the
      // same split unless DNAT rewrites the ports.
      const pre = ports === view.ports ? view : { ...view, ports };
      const post = afterDnat === undefined || flow.afterDnat?.ports !== undefined || ports === afterDnat.ports ? afterDnat : { ...afterDnat, ports };
      parts.push({ chain, hostEndpoint, view: pre, afterDnat: post, whole: view, wholeAfterDnat: afterDnat, failsafe: isFailsafe, failsafeAside: !isFailsafe && !safe.isEmpty() });
    };
    addPart(rest, false);
    addPart(safe, true);
  }
  if (parts.length === 0) {
    throw new RangeError('the flow has no packets: its source, destination or ports are empty for every IP version');
  }
  return parts;
}

/**
 * Judges each part of the flow (IP version × failsafe split) against the policy stages that
 * apply to the host endpoint; the first drop among the parts wins, else the first part's verdict.
 */
function evaluateParts(
  policies: readonly CompiledPolicy[],
  hep: HostEndpointView,
  flow: Flow,
  opts: EvaluateOptions,
  chain: PolicyChain,
  judge: (part: FlowPart, stages: Stages) => Verdict,
): Verdict {
  const stages = stagesFor(policies, hep, opts.invalidPolicies ?? 'rule-matches-nothing');
  const verdicts = splitFlow(flow, opts.failsafe ?? FELIX_DEFAULT_FAILSAFE_INBOUND, chain, hep).map((part) => judge(part, stages));
  return verdicts.find((v) => !v.allowed) ?? verdicts[0]!;
}

/**
 * Traffic arriving on the host endpoint and forwarded (to pods on this or
 * another host, or on to another network): untracked → pre-DNAT → forward
 * (normal `applyOnForward`) policies selecting the endpoint.
 * @example
 *   evaluateForwarded(policies, hep, {
 *     protocol: 'TCP', source: 'any', ports: PortIntervalSet.ALL,
 *     destination: { nets: NetSet.of(['192.168.0.0/16']) },
 *   }).allowed
 */
export function evaluateForwarded(
  policies: readonly CompiledPolicy[],
  hep: HostEndpointView,
  flow: Flow,
  opts: EvaluateOptions = {},
): Verdict {
  return evaluateParts(policies, hep, flow, opts, 'forwarded', (part, stages) =>
    runWalk({
      segments: part.failsafe ? stages.forward : stages.forwarded,
      viewFor: (stage) => (stage === 'forward' ? (part.afterDnat ?? part.view) : part.view),
      // Passed out of the last forward tier: Calico leaves it to the host (allowed).
      terminal: (passedBy) => verdict(true, passedBy !== undefined && passedBy.stage === 'forward' ? passedBy : { defaultAllow: 'no-forward-policy' }, part),
      part,
    }),
  );
}

/**
 * Traffic to the host itself arriving on the host endpoint: failsafe ports
 * are allowed; the rest goes through untracked → pre-DNAT → normal policies
 * selecting the endpoint (applyOnForward or not), then the endpoint's
 * profiles (`projectcalico-default-allow` allows; anything else, or none,
 * drops).
 */
export function evaluateHostIngress(
  policies: readonly CompiledPolicy[],
  hep: HostEndpointView,
  flow: Flow,
  opts: EvaluateOptions = {},
): Verdict {
  return evaluateParts(policies, hep, flow, opts, 'host', (part, stages) => {
    if (part.failsafe) return verdict(true, { defaultAllow: 'failsafe' }, part);
    const policies = stages.normalPolicies;
    return runWalk({
      segments: stages.host,
      viewFor: () => part.view,
      terminal: (passedBy) => {
        const pass = passedBy !== undefined && passedBy.stage === 'normal' ? passedBy : undefined;
        return hep.profiles.includes(DEFAULT_ALLOW_PROFILE)
          ? verdict(true, { defaultAllow: 'profile', profile: DEFAULT_ALLOW_PROFILE, passedBy: pass, policies }, part)
          : verdict(false, { defaultDeny: 'host-endpoint', policies, passedBy: pass }, part);
      },
      part,
    });
  });
}

/**
 * Traffic arriving at workloads (a Service's backend pods) from `flow.source` (with
 * `flow.sourceHost` when a node sends it, SNATed to its address in cluster mode): the ingress
 * policies whose selector matches the pods' labels (the caller passes those that can apply:
 * global ones, and namespaced ones of the pods' namespace), in tier order, each tier ending in
 * a drop; no policy at all → allowed (Kubernetes' default); passed out of the last tier → the
 * namespace profile, which allows. No failsafe ports for workloads.
 */
export function evaluateWorkloadIngress(policies: readonly CompiledPolicy[], pods: HostEndpointView, flow: Flow): Verdict {
  const selected = policies.filter((p) => governsIngress(p) && !p.preDNAT && !p.doNotTrack && p.selector !== undefined && p.selector.matches(pods.labels)).sort(comparePolicies);
  const segments = segmentsFor('normal', selected);
  const verdicts = splitFlow(flow, NO_FAILSAFE, 'workload', pods).map((part) =>
    runWalk({
      segments,
      viewFor: () => part.afterDnat ?? part.view,
      terminal: (passedBy) =>
        selected.length === 0
          ? verdict(true, { defaultAllow: 'no-workload-policy' }, part)
          : verdict(true, { defaultAllow: 'profile', profile: 'the namespace profile', passedBy, policies: selected.map((p) => p.name) }, part),
      part,
    }),
  );
  return verdicts.find((v) => !v.allowed) ?? verdicts[0]!;
}

const NO_FAILSAFE: readonly PortRule[] = Object.freeze([]);

/** Narrows a verdict cause to a rule. */
export function isRuleCause(cause: VerdictCause): cause is RuleCause {
  return 'policy' in cause;
}
