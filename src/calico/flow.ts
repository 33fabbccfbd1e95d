/**
 * Flows (sets of packets arriving on a host endpoint) and three-valued rule
 * matching against them.
 *
 * A rule matches a flow `full`y when it matches every packet of the flow,
 * `partial`ly when it may match some, `none` when it matches no packet.
 * "partial" is deliberately loose: it is what the evaluator answers whenever
 * it cannot prove full or none (a source selector against "any source", a
 * destination selector against a pod CIDR, a named port on a network...), so
 * callers can be conservative about drops.
 */
import { hasExpectedIPs, type HostEndpointView } from './host-endpoint.ts';
import { NetSet, versionBit, versionList, type IPVersion } from './nets.ts';
import type { CompiledEntity, CompiledRule } from './policy.ts';
import { PortIntervalSet } from './ports.ts';
import { protocolMatches, protocolNumber, protocolSupportsPorts, type ProtocolSpec } from './protocols.ts';
import type { Selector } from './selector/index.ts';

export type MatchResult = 'full' | 'partial' | 'none';

export interface FlowDestination {
  /** Destination addresses, e.g. the pod CIDRs or a cluster IP /32. */
  readonly nets?: NetSet | undefined;
  /**
   * The host itself. Without `nets`, the destination addresses are the host
   * endpoint's `expectedIPs` (unknown when it has none).
   */
  readonly hostEndpoint?: HostEndpointView | undefined;
}

/** Packets arriving on a host endpoint. */
export interface Flow {
  /** `TCP`, `udp`, `6`, ... */
  readonly protocol: ProtocolSpec;
  /** Source addresses; `any` = every address of the flow's IP version(s). */
  readonly source: 'any' | NetSet;
  /**
   * The host the traffic comes from (a node SNATing to its own address toward a pod): source
   * selectors are then matched against its labels and expectedIPs, as Felix's IP sets would.
   */
  readonly sourceHost?: HostEndpointView | undefined;
  readonly destination: FlowDestination;
  /** Destination ports; ignored for protocols without ports. */
  readonly ports: PortIntervalSet;
  /** Restricts the flow to one IP version; otherwise derived from the addresses. */
  readonly ipVersion?: IPVersion | undefined;
  /**
   * Destination after kube-proxy's DNAT, for forwarded traffic to a cluster
   * IP: pre-DNAT and untracked policy see `destination`, forward policy sees
   * this. Absent: forward policy sees `destination` too.
   */
  readonly afterDnat?: { readonly nets: NetSet; readonly ports?: PortIntervalSet | undefined } | undefined;
}

/** One IP version of a flow, as a given policy stage sees it. */
export interface FlowView {
  readonly version: IPVersion;
  readonly protocol: number;
  /** Source addresses of this version. */
  readonly source: NetSet;
  readonly sourceIsAny: boolean;
  /** Destination addresses of this version; undefined = unknown (a host without expectedIPs). */
  readonly destination: NetSet | undefined;
  /** Set when the destination is the host endpoint itself (not an explicit network). */
  readonly destinationHost: HostEndpointView | undefined;
  /** Set when the source is a host endpoint (Flow.sourceHost). */
  readonly sourceHost?: HostEndpointView | undefined;
  /** Destination ports (ALL for protocols without ports). */
  readonly ports: PortIntervalSet;
}

/** The IP versions a flow has packets of. */
export function flowVersions(flow: Flow): readonly IPVersion[] {
  if (flow.ipVersion !== undefined) return versionList(flow.ipVersion === 4, flow.ipVersion === 6);
  const dest = flow.destination;
  if (dest.nets !== undefined) return dest.nets.versions();
  if (dest.hostEndpoint !== undefined && hasExpectedIPs(dest.hostEndpoint)) {
    return versionList(hasExpectedIPs(dest.hostEndpoint, 4), hasExpectedIPs(dest.hostEndpoint, 6));
  }
  if (flow.source !== 'any') return flow.source.versions();
  return versionList(true, true);
}

/**
 * The view of one IP version of a flow; undefined when the flow has no
 * packets of that version. `afterDnat` selects the post-DNAT destination.
 * Throws ProtocolSyntaxError for an unknown protocol.
 */
export function viewFlow(flow: Flow, version: IPVersion, afterDnat = false): FlowView | undefined {
  const protocol = protocolNumber(flow.protocol);
  const source = flow.source === 'any' ? NetSet.all(version) : flow.source.restrictTo(version);
  if (source.isEmpty()) return undefined;
  let destination: NetSet | undefined;
  let destinationHost: HostEndpointView | undefined;
  let ports = protocolSupportsPorts(protocol) ? flow.ports : PortIntervalSet.ALL;
  if (afterDnat && flow.afterDnat !== undefined) {
    destination = flow.afterDnat.nets.restrictTo(version);
    if (destination.isEmpty()) return undefined;
    if (flow.afterDnat.ports !== undefined && protocolSupportsPorts(protocol)) ports = flow.afterDnat.ports;
  } else if (flow.destination.nets !== undefined) {
    destination = flow.destination.nets.restrictTo(version);
    if (destination.isEmpty()) return undefined;
  } else if (flow.destination.hostEndpoint !== undefined) {
    destinationHost = flow.destination.hostEndpoint;
    destination = destinationHost.addresses[version];
  }
  if (ports.isEmpty()) return undefined;
  return Object.freeze({
    version,
    protocol,
    source,
    sourceIsAny: flow.source === 'any',
    destination,
    destinationHost,
    sourceHost: flow.sourceHost, // always present (undefined or not): one object shape for every view
    ports,
  });
}


function addressMatch(entity: CompiledEntity, addresses: NetSet | undefined): MatchResult {
  // The rule's set holds both IP versions; the flow view's addresses are of one, so the other
  // version's members never change a cover or intersection test.
  const rule = entity.addresses;
  if (rule === undefined) return 'full';
  if (addresses === undefined) return 'partial';
  if (rule.coversAll(addresses)) return 'full';
  return rule.intersects(addresses) ? 'partial' : 'none';
}

/**
 * Selector / notSelector of a rule side. Felix turns a rule selector into an
 * IP set of the matching endpoints' addresses; a host endpoint contributes
 * its expectedIPs only, so without them it is matched by no selector (and
 * is outside every notSelector).
 *
 * A destination given as networks (pod CIDR, cluster IP) may hold addresses
 * of selected workloads or hosts, so a selector against it is `partial`;
 * so is any selector against a source (the flow names no endpoints).
 */
function selectorMatch(
  selector: Selector | undefined,
  notSelector: Selector | undefined,
  host: HostEndpointView | undefined,
  version: IPVersion,
): MatchResult {
  if (selector === undefined && notSelector === undefined) return 'full';
  if (host === undefined) return 'partial';
  const inSets = hasExpectedIPs(host, version);
  const selected = selector === undefined || (inSets && selector.matches(host.labels));
  const excluded = notSelector !== undefined && inSets && notSelector.matches(host.labels);
  return selected && !excluded ? 'full' : 'none';
}

function portMatch(
  entity: CompiledEntity,
  ports: PortIntervalSet,
  named: 'match-nothing' | 'unknown',
): MatchResult {
  if (entity.ports.unconstrained) return 'full';
  const { lower, upper } = entity.ports.bounds[named];
  if (lower.coversAll(ports)) return 'full';
  return upper.intersects(ports) ? 'partial' : 'none';
}

export interface RuleMatch {
  readonly result: MatchResult;
  /** For `partial`: which criteria made it uncertain. */
  readonly uncertainOn: readonly string[];
}

const NO_MATCH: RuleMatch = Object.freeze({ result: 'none', uncertainOn: Object.freeze([]) });

/**
 * Matches one compiled ingress rule against one IP version of a flow.
 * Invalid rules match nothing. Version filtering follows Felix
 * (felix/rules/policy.go `FilterRuleToIPVersion`).
 */
export function matchRuleView(rule: CompiledRule, v: FlowView): RuleMatch {
  if (rule.invalid || (rule.renderedVersions & versionBit(v.version)) === 0) return NO_MATCH;
  if (!protocolMatches(v.protocol, rule)) return NO_MATCH;
  const src = rule.source;
  const dst = rule.destination;
  // Cheapest criteria first; any `none` ends the match. Written out (no list of closures, and the
  // uncertain criteria as bits): this runs for every rule × flow × host-endpoint class of a review.
  let uncertain = 0;
  let r: MatchResult;
  if (rule.icmpConstrained) uncertain |= UNCERTAIN_ICMP;
  if (rule.httpConstrained) uncertain |= UNCERTAIN_HTTP;
  r = portMatch(dst, v.ports, v.destinationHost !== undefined ? 'match-nothing' : 'unknown');
  if (r === 'none') return NO_MATCH;
  if (r === 'partial') uncertain |= UNCERTAIN_DESTINATION_PORTS;
  r = addressMatch(dst, v.destination);
  if (r === 'none') return NO_MATCH;
  if (r === 'partial') uncertain |= UNCERTAIN_DESTINATION_ADDRESS;
  r = selectorMatch(dst.selector, dst.notSelector, v.destinationHost, v.version);
  if (r === 'none') return NO_MATCH;
  if (r === 'partial') uncertain |= UNCERTAIN_DESTINATION_SELECTOR;
  r = addressMatch(src, v.source);
  if (r === 'none') return NO_MATCH;
  if (r === 'partial') uncertain |= UNCERTAIN_SOURCE_ADDRESS;
  r = selectorMatch(src.selector, src.notSelector, v.sourceHost, v.version);
  if (r === 'none') return NO_MATCH;
  if (r === 'partial') uncertain |= UNCERTAIN_SOURCE_SELECTOR;
  r = portMatch(src, PortIntervalSet.ALL, 'unknown');
  if (r === 'none') return NO_MATCH;
  if (r === 'partial') uncertain |= UNCERTAIN_SOURCE_PORTS;
  if (src.undecidable.length === 0 && dst.undecidable.length === 0) return uncertain === 0 ? FULL_MATCH : partialMatch(uncertain);
  const uncertainOn = [...partialMatch(uncertain).uncertainOn];
  for (let i = 0; i < src.undecidable.length; i++) uncertainOn.push(`source ${src.undecidable[i]}`);
  for (let i = 0; i < dst.undecidable.length; i++) uncertainOn.push(`destination ${dst.undecidable[i]}`);
  return { result: 'partial', uncertainOn };
}

/** The criteria a match can be uncertain on, in the order they are checked and reported. */
const UNCERTAIN_NAMES = [
  'ICMP type/code',
  'HTTP match',
  'destination ports',
  'destination address',
  'destination selector',
  'source address',
  'source selector',
  'source ports',
] as const;
const [
  UNCERTAIN_ICMP,
  UNCERTAIN_HTTP,
  UNCERTAIN_DESTINATION_PORTS,
  UNCERTAIN_DESTINATION_ADDRESS,
  UNCERTAIN_DESTINATION_SELECTOR,
  UNCERTAIN_SOURCE_ADDRESS,
  UNCERTAIN_SOURCE_SELECTOR,
  UNCERTAIN_SOURCE_PORTS,
] = UNCERTAIN_NAMES.map((_, i) => 1 << i) as [number, number, number, number, number, number, number, number];

/** One shared, frozen partial match per set of uncertain criteria (bit mask), built on first use. */
const partialMatches: (RuleMatch | undefined)[] = [];

function partialMatch(uncertain: number): RuleMatch {
  let match = partialMatches[uncertain];
  if (match === undefined) {
    const uncertainOn = UNCERTAIN_NAMES.filter((_, i) => (uncertain & (1 << i)) !== 0);
    partialMatches[uncertain] = match = Object.freeze({ result: 'partial', uncertainOn: Object.freeze(uncertainOn) });
  }
  return match;
}

const FULL_MATCH: RuleMatch = Object.freeze({ result: 'full', uncertainOn: Object.freeze([]) });
