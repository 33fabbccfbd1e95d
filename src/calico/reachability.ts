/**
 * Who can reach a destination (an exposed Service's cluster IP and port) through a host
 * endpoint: the source address space of the destination's IP version, partitioned into regions
 * that Felix treats alike, each with its verdict and what decided it.
 *
 * Set arithmetic, not sampling: the only source criterion that splits the address space is a
 * rule's source `nets`/`notNets` (and a failsafe entry's net), so the space is cut by the source
 * sets of the rules that can match the destination at all. Inside each piece every such rule's
 * source test is all-or-nothing, so one call of the dataplane evaluator (dataplane.ts
 * evaluateForwarded, the same model the write rules use) decides the whole piece exactly.
 * Pieces with the same verdict and the same deciding rule (or default) are merged into one
 * region, written as a minimal CIDR list.
 *
 * Modelled: what dataplane.ts models for forwarded traffic (untracked → pre-DNAT → forward
 * stages, tiers and orders, Allow/Deny/Pass, Log ignored, nets/notNets, ports/notPorts,
 * protocol/notProtocol, ipVersion, selectors against the host endpoint's expectedIPs,
 * failsafe ports skipping untracked and pre-DNAT policy, the forward default allow vs deny),
 * plus:
 * - an untracked Allow does not reach the backend: untracked packets skip conntrack, and
 *   netfilter NAT (kube-proxy's DNAT of the cluster IP) works only on tracked connections, so
 *   the packet keeps the cluster IP as its destination and no backend receives it. (Seen on a
 *   Linux kernel with iptables in network namespaces: with a raw-table NOTRACK for the cluster
 *   IP, as Felix renders an untracked Allow, the nat-table DNAT rule matched no further packet
 *   and the node answered "network unreachable"; without it the connection reached the
 *   backend. Not yet seen with Felix itself.)
 *
 * Not modelled: source selectors, namespaceSelector, serviceAccounts and services on a rule
 * side (the evaluator reports them as partial matches: `uncertainOn` says so); named target
 * ports after DNAT; kube-proxy modes other than iptables/nftables (IPVS binds cluster IPs
 * locally); the BPF dataplane; profiles' labelsToApply. The backend pods' own policy is a last
 * stage only in local mode (`backend`), where it sees the client address; in cluster mode it
 * sees the node's (rules/support/backends.ts hostsToPods).
 */
import { evaluateForwarded, evaluateWorkloadIngress, isRuleCause, selectsHostEndpoint, type EvaluateOptions, type PortRule, FELIX_DEFAULT_FAILSAFE_INBOUND, type Verdict } from './dataplane.ts';
import { viewFlow, matchRuleView, type Flow, type FlowView } from './flow.ts';
import type { HostEndpointView } from './host-endpoint.ts';
import { NetSet, parseNet, tryParseNet, type IPVersion, type Net } from './nets.ts';
import { recentMemo } from './memo.ts';
import { governsIngress, isForwardPolicy, type CompiledPolicy, type CompiledRule } from './policy.ts';
import { PortIntervalSet } from './ports.ts';
import { tryProtocolNumber, type ProtocolSpec } from './protocols.ts';

/**
 * The stage that decided a region: a host-endpoint policy stage, `default` (no rule decided),
 * or `backend` (local mode: the pods' own policy, which sees the client address).
 */
export type ReachStage = 'untracked' | 'pre-dnat' | 'forward' | 'default' | 'backend';

export interface DecidedBy {
  readonly stage: ReachStage;
  /** The tier of the deciding rule, or of the end-of-tier drop; null for the forward default allow. */
  readonly tier: string | null;
  readonly policy: string | null;
  /** Index of the deciding ingress rule; null when a default decided. */
  readonly rule: number | null;
}

export type ReachVerdict = 'reaches' | 'dropped';

export interface Region {
  /** Minimal CIDR list of the sources in the region. */
  readonly sources: readonly string[];
  readonly set: NetSet;
  readonly verdict: ReachVerdict;
  readonly decidedBy: DecidedBy;
  /** Criteria the deciding match depended on (a partial match); empty when exact. */
  readonly uncertainOn: readonly string[];
  /** The evaluator's verdict for one piece of the region (its cause and explanation). */
  readonly detail: Verdict;
}

export interface Destination {
  /** Destination address (the cluster IP). */
  readonly ip: Net;
  readonly protocol: ProtocolSpec;
  /** Destination port (ignored for protocols without ports). */
  readonly port: number;
  /** Where kube-proxy DNATs it (the pod CIDRs, the target port): what forward policy sees. */
  readonly afterDnat?: { readonly nets: NetSet; readonly ports?: PortIntervalSet | undefined } | undefined;
}

export interface Reachability {
  readonly version: IPVersion;
  /** Regions in address order of their first CIDR; together they are exactly the sources asked about. */
  readonly regions: readonly Region[];
  readonly reachable: NetSet;
  readonly dropped: NetSet;
}

export interface ReachOptions extends EvaluateOptions {
  /** Only these sources (e.g. `--from`); every address of the destination's version when omitted. */
  readonly within?: NetSet | undefined;
  /**
   * Local mode: the pods keep the client address, so what the host lets through is judged again
   * by the policies selecting the pods (`pods`: a view of their labels), as a last stage.
   */
  readonly backend?: { readonly policies: readonly CompiledPolicy[]; readonly pods: HostEndpointView } | undefined;
}

/**
 * The ingress policies that select the endpoint: a list and endpoint serve many destinations in
 * a row. Recent pairs only: the list may be a review's (the policies after a write).
 */
const selectedBy = recentMemo(32, (policies: readonly CompiledPolicy[], hep: HostEndpointView) => policies.filter((p) => governsIngress(p) && selectsHostEndpoint(p, hep)));

/**
 * The sets a source region can be cut by (rule source sets and failsafe nets that can matter
 * here), and the policies that can decide anything for this destination: every forward-stage
 * policy (its mere presence turns the forward default deny on) and the untracked and pre-DNAT
 * ones with a rule that can match it (those tiers have no end-of-tier drop, so a policy none
 * of whose rules match is a no-op). Normal policies without applyOnForward do not see
 * forwarded traffic at all.
 */
function cutsFor(
  policies: readonly CompiledPolicy[],
  hep: HostEndpointView,
  flow: Flow,
  version: IPVersion,
  failsafe: readonly PortRule[],
): { cuts: NetSet[]; relevant: CompiledPolicy[] } {
  const views = flowViews(flow, version);
  const cuts = new Map<string, NetSet>();
  const add = (set: NetSet): void => {
    const only = set.restrictTo(version);
    const key = only.toCidrs().join(',');
    if (!cuts.has(key)) cuts.set(key, only);
  };
  const selected = selectedBy(policies, hep);
  const relevant: CompiledPolicy[] = [];
  for (let i = 0; i < selected.length; i++) {
    const policy = selected[i]!;
    const forward = isForwardPolicy(policy);
    let matches = false;
    for (let r = 0; r < policy.ingress.length; r++) {
      const rule = policy.ingress[r]!;
      // A rule that matches no packet to this destination from any source cannot split it.
      if (!canDecide(rule, views)) continue;
      matches = true;
      if (rule.source.addresses !== undefined) add(rule.source.addresses);
    }
    if (forward || matches) relevant.push(policy);
  }
  const proto = tryProtocolNumber(flow.protocol);
  for (const entry of failsafe) {
    const net = entry.net === undefined ? undefined : tryParseNet(entry.net); // dataplane.ts ignores an unparsable one too
    if (net !== undefined && tryProtocolNumber(entry.protocol) === proto) add(NetSet.ofNet(net));
  }
  return { cuts: [...cuts.values()], relevant };
}

/** The views of a flow of one IP version before and after DNAT. */
export const flowViews = (flow: Flow, version: IPVersion): FlowView[] => [viewFlow(flow, version), viewFlow(flow, version, true)].filter((v) => v !== undefined);

/** Whether a rule can decide some packet of the views (Log rules decide nothing). */
export const canDecide = (rule: CompiledRule, views: readonly FlowView[]): boolean =>
  rule.action !== undefined && rule.action !== 'Log' && views.some((v) => matchRuleView(rule, v).result !== 'none');

/** Cuts `space` into pieces on which every set in `cuts` is all-or-nothing. */
export function refine(space: NetSet, cuts: readonly NetSet[]): NetSet[] {
  let pieces = [space];
  for (const cut of cuts) {
    const next: NetSet[] = [];
    for (const piece of pieces) {
      const inside = piece.intersect(cut);
      if (inside.isEmpty()) {
        next.push(piece);
        continue;
      }
      next.push(inside);
      const outside = piece.minus(cut);
      if (!outside.isEmpty()) next.push(outside);
    }
    pieces = next;
  }
  return pieces;
}

/** The verdict of the evaluator in the terms of a region. */
export function regionVerdict(v: Verdict): { verdict: ReachVerdict; decidedBy: DecidedBy } {
  const by = v.by;
  if (v.part.chain === 'workload') {
    const rule = isRuleCause(by) ? by : undefined;
    const tier = rule?.tier ?? ('defaultDeny' in by ? (by.tier ?? null) : null);
    return { verdict: v.allowed ? 'reaches' : 'dropped', decidedBy: { stage: 'backend', tier, policy: rule?.policy ?? null, rule: rule?.ruleIndex ?? null } };
  }
  if (isRuleCause(by)) {
    const stage: ReachStage = by.stage === 'normal' ? 'forward' : by.stage;
    // Untracked traffic is never DNATed, so an untracked Allow does not reach a backend.
    const reaches = v.allowed && by.stage !== 'untracked';
    return { verdict: reaches ? 'reaches' : 'dropped', decidedBy: { stage, tier: by.tier, policy: by.policy, rule: by.ruleIndex } };
  }
  if ('defaultDeny' in by) {
    return { verdict: 'dropped', decidedBy: { stage: by.defaultDeny === 'forward' ? 'forward' : 'default', tier: by.tier ?? null, policy: null, rule: null } };
  }
  return { verdict: v.allowed ? 'reaches' : 'dropped', decidedBy: { stage: 'default', tier: null, policy: null, rule: null } };
}

const keyOf = (verdict: ReachVerdict, d: DecidedBy): string => JSON.stringify([verdict, d.stage, d.tier, d.policy, d.rule]);

/** The flow for traffic from `source` to the destination. */
export function destinationFlow(dest: Destination, source: NetSet | 'any'): Flow {
  return {
    protocol: dest.protocol,
    source,
    destination: { nets: NetSet.ofNet(dest.ip) },
    ports: PortIntervalSet.of([dest.port]),
    ipVersion: dest.ip.version,
    afterDnat: dest.afterDnat,
  };
}

/**
 * Partitions the sources of the destination's IP version into regions by what Felix does with
 * their traffic to `dest` arriving on host endpoint `hep` (a representative of its class),
 * given every policy in the snapshot (those not selecting it are skipped).
 * @example reachability(policies, hep, { ip: parseNet('10.20.30.40'), protocol: 'TCP', port: 443 }).reachable.toCidrs()
 */
export function reachability(policies: readonly CompiledPolicy[], hep: HostEndpointView, dest: Destination, opts: ReachOptions = {}): Reachability {
  const version = dest.ip.version;
  const space = (opts.within ?? NetSet.all(version)).restrictTo(version);
  const failsafe = opts.failsafe ?? FELIX_DEFAULT_FAILSAFE_INBOUND;
  const groups = new Map<string, { set: NetSet; verdict: ReachVerdict; decidedBy: DecidedBy; detail: Verdict; uncertainOn: Set<string> }>();
  if (!space.isEmpty()) {
    const { cuts, relevant } = cutsFor(policies, hep, destinationFlow(dest, 'any'), version, failsafe);
    const judged: { piece: NetSet; detail: Verdict }[] = [];
    for (const piece of refine(space, cuts)) {
      // The evaluator would select the same policies again and walk the ones that cannot decide: hand it the relevant ones.
      const detail = evaluateForwarded(relevant, hep, destinationFlow(dest, piece), opts);
      const backend = opts.backend;
      if (backend === undefined || regionVerdict(detail).verdict !== 'reaches') {
        judged.push({ piece, detail });
        continue;
      }
      // Local mode: what got through is judged again by the pods, which see the client address.
      const podCuts = backend.policies.flatMap((p) => p.ingress.map((r) => r.source.addresses).filter((a) => a !== undefined));
      for (const sub of refine(piece, podCuts)) {
        const atPods = evaluateWorkloadIngress(backend.policies, backend.pods, { ...destinationFlow(dest, sub), destination: dest.afterDnat === undefined ? {} : { nets: dest.afterDnat.nets }, afterDnat: undefined, ports: dest.afterDnat?.ports ?? PortIntervalSet.of([dest.port]) });
        // An Allow of the pods names these sources; with no pod policy at all the host stage's answer stands.
        judged.push({ piece: sub, detail: atPods.allowed && !isRuleCause(atPods.by) ? detail : atPods });
      }
    }
    for (const { piece, detail } of judged) {
      const { verdict, decidedBy } = regionVerdict(detail);
      const key = keyOf(verdict, decidedBy);
      const group = groups.get(key);
      const uncertain = isRuleCause(detail.by) && detail.by.partial ? (detail.by.uncertainOn ?? []) : [];
      if (group === undefined) groups.set(key, { set: piece, verdict, decidedBy, detail, uncertainOn: new Set(uncertain) });
      else {
        group.set = NetSet.of([...group.set.toCidrs(), ...piece.toCidrs()]);
        for (const u of uncertain) group.uncertainOn.add(u);
      }
    }
  }
  const regions: Region[] = [...groups.values()].map((g) => ({
    sources: Object.freeze(g.set.toCidrs()),
    set: g.set,
    verdict: g.verdict,
    decidedBy: Object.freeze(g.decidedBy),
    uncertainOn: Object.freeze([...g.uncertainOn]),
    detail: g.detail,
  }));
  regions.sort((a, b) => compareFirst(a.sources[0]!, b.sources[0]!));
  const union = (verdict: ReachVerdict): NetSet => NetSet.of(regions.filter((r) => r.verdict === verdict).flatMap((r) => r.sources));
  return Object.freeze({ version, regions: Object.freeze(regions), reachable: union('reaches'), dropped: union('dropped') });
}

function compareFirst(a: string, b: string): number {
  const x = parseNet(a).first;
  const y = parseNet(b).first;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Regions whose sources reach the destination by default: no Allow names them (the "open" condition). */
export function openRegions(r: Reachability): Region[] {
  return r.regions.filter((region) => region.verdict === 'reaches' && region.decidedBy.rule === null);
}
