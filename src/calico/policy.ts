/**
 * The GlobalNetworkPolicy model: a policy object compiled once into parsed
 * selectors, net sets, port sets and protocol numbers, ready for the
 * dataplane evaluator (dataplane.ts).
 *
 * Fields follow api/pkg/apis/projectcalico/v3/globalnetworkpolicy.go and
 * policy_common.go (both API groups carry the same spec). Compilation never
 * throws: whatever Calico would reject is listed in `problems` (with the field
 * path, Calico's reason and the releases it holds for) and a rule with any
 * piece invalid at the default release (`invalid`) matches nothing. The
 * `gnp-schema` rule reports those problems to the user; no other code
 * re-checks the fields.
 */
import type { KubeObject } from '../admission/types.ts';
import { NetSet, NetSyntaxError, parseNet, versionBit, type IPVersion, type Net } from './nets.ts';
import { perObject, recentMemo } from './memo.ts';
import { compilePorts, UNCONSTRAINED_PORTS, type CompiledPorts } from './ports.ts';
import { protocolNumber, protocolSupportsPorts } from './protocols.ts';
import { parseSelectorCached, type Selector } from './selector/index.ts';
import {
  checkAnnotations,
  checkHttpMatch,
  checkIcmpFields,
  checkMetadata,
  checkPerformanceHints,
  DEFAULT_CALICO_VERSION,
  describe,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  GLOBAL_ONLY_IN_NAMESPACE_SELECTOR,
  holdsFor,
  isObject,
  LONE_GLOBAL,
  report,
  type NamedCheck,
  type Problem,
  type Problems,
} from './validation.ts';

export type { NamedCheck, Problem } from './validation.ts';

/** A Calico rule's `action` (not the engine's rule action in rules/types.ts). */
export type CalicoAction = 'Allow' | 'Deny' | 'Log' | 'Pass';
export type PolicyType = 'Ingress' | 'Egress';

export const CALICO_ACTIONS: readonly CalicoAction[] = Object.freeze(['Allow', 'Deny', 'Log', 'Pass']);
export const DEFAULT_TIER = 'default';

export interface CompiledRule {
  readonly index: number;
  /** Field path of the rule, e.g. `spec.ingress[0]`. */
  readonly path: string;
  /** undefined when missing or invalid (then `problems` says so). */
  readonly action: CalicoAction | undefined;
  readonly protocol: number | undefined;
  readonly notProtocol: number | undefined;
  readonly ipVersion: IPVersion | undefined;
  /**
   * The IP versions Felix renders the rule for, as bits (nets.ts versionBit): those `ipVersion`
   * allows that every non-empty nets/notNets list keeps an address of (felix/rules/policy.go
   * `FilterRuleToIPVersion`).
   */
  readonly renderedVersions: number;
  /** `icmp` / `notICMP` set: matches only some ICMP packets. */
  readonly icmpConstrained: boolean;
  /** `http` set (application layer policy): matches only some requests. */
  readonly httpConstrained: boolean;
  readonly source: CompiledEntity;
  readonly destination: CompiledEntity;
  /** True when one of `problems` holds at the default Calico release: the rule then matches nothing. */
  readonly invalid: boolean;
  /** The rule's problems with their paths, Calico's reasons and the releases they hold for. */
  readonly problems: readonly Problem[];
}

export interface CompiledPolicy {
  readonly name: string;
  /** `spec.tier`, `default` when absent or empty. */
  readonly tier: string;
  /** `spec.order`; +Infinity when absent (applied last, felix `polMetaDefaultOrder`). */
  readonly order: number;
  /** Parsed `spec.selector` (empty = all()); undefined when it does not parse. */
  readonly selector: Selector | undefined;
  /**
   * False when `namespaceSelector` / `serviceAccountSelector` restrict the
   * policy to namespaced workloads, so it can never select a host endpoint.
   */
  readonly selectsNonNamespaced: boolean;
  /** `spec.types` after Calico's defaulting (api/pkg/defaults/networkpolicy.go). */
  readonly types: readonly PolicyType[];
  /** True when `types` came from defaulting rather than from the object. */
  readonly typesDefaulted: boolean;
  readonly preDNAT: boolean;
  readonly applyOnForward: boolean;
  readonly doNotTrack: boolean;
  readonly ingress: readonly CompiledRule[];
  readonly egress: readonly CompiledRule[];
  /** True when one of `problems` (policy-level or a rule's) holds at the default Calico release. */
  readonly invalid: boolean;
  /** Every problem, with its path, Calico's reason and the releases it holds for (see problemsFor). */
  readonly problems: readonly Problem[];
  /** The object compiled. */
  readonly object: KubeObject;
}

type Obj = Record<string, unknown>;

function readBool(spec: Obj, key: string, problems: Problems): boolean {
  const value = spec[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    report(problems, `spec.${key}`, `must be true or false, found ${describe(value)}`);
    return false;
  }
  return value;
}

function readSelector(value: unknown, path: string, problems: Problems): Selector | undefined {
  if (value === undefined || value === null) return parseSelectorCached('');
  if (typeof value !== 'string') return report(problems, path, `must be a selector string, found ${describe(value)}`);
  try {
    return parseSelectorCached(value);
  } catch (err) {
    return report(problems, path, (err as Error).message);
  }
}

/** Like readSelector, but absent or empty means "not set". */
function readOptionalSelector(value: unknown, path: string, problems: Problems): Selector | undefined {
  return value === undefined || value === null || value === '' ? undefined : readSelector(value, path, problems);
}

/**
 * A selector field where Calico's CEL rules refuse global(): the policy's selector, namespaceSelector and
 * serviceAccountSelector, and a rule side's selector (not its notSelector or namespaceSelector).
 */
function refuseGlobal(value: unknown, path: string, problems: Problems): void {
  if (typeof value === 'string' && value.includes('global(')) report(problems, path, GLOBAL_ONLY_IN_NAMESPACE_SELECTOR); // as the CEL rule looks
}

/**
 * Whether a policy-level namespace / service account selector lets the policy
 * select non-namespaced endpoints. Calico folds these selectors into the
 * policy selector with prefixed label keys and rewrites `all()` to
 * `has(projectcalico.org/namespace)` (or `/serviceaccount`)
 * (libcalico-go/lib/backend/syncersv1/updateprocessors/globalnetworkpolicyprocessor.go);
 * a host endpoint has none of those labels, so evaluating the rewritten
 * selector on an empty label map (global() true) gives the answer.
 */
function admitsNonNamespaced(text: string, presenceLabel: string): boolean {
  const rewritten = text.replaceAll('all()', `has(${presenceLabel})`);
  try {
    return parseSelectorCached(rewritten).matches({}, { global: true });
  } catch {
    return false;
  }
}

const NO_NETS: readonly Net[] = Object.freeze([]);
const NONE: readonly string[] = Object.freeze([]);
const NO_PROBLEMS: readonly Problem[] = Object.freeze([]);
const NO_FIELDS: Obj = Object.freeze({});

/** Calico compares the IPv4 text with `0.0.0.0/0`, and an IPv6 net by value (`::/0` in any spelling). */
const isCatchAll = (text: unknown, net: Net): boolean =>
  net.prefixLength === 0 && (net.version === 6 || text === '0.0.0.0/0');
const CATCH_ALL_SINCE = { from: '3.31' } as const;

/** `nets` / `notNets` at `path`; paths of entries are only built for an error (this runs per rule side). */
function readNets(value: unknown, path: string, negated: boolean, problems: Problems): readonly Net[] {
  if (value === undefined || value === null) return NO_NETS;
  if (!Array.isArray(value)) {
    report(problems, path, `must be a list of IP addresses or CIDRs, found ${describe(value)}`);
    return NO_NETS;
  }
  if (value.length === 0) return NO_NETS;
  // Sized up front: an array grown by push from empty reserves room for 17 entries.
  const nets: Net[] = new Array<Net>(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    try {
      const net = parseNet(value[i]);
      nets[n++] = net;
      if (negated && isCatchAll(value[i], net)) {
        report(problems, `${path}[${i}]`, 'catch-all CIDR in negation creates logical contradiction (matches no traffic)', CATCH_ALL_SINCE);
      }
    } catch (err) {
      if (!(err instanceof NetSyntaxError)) throw err;
      const comment = typeof value[i] === 'string' && /\s/.test((value[i] as string).trim()) ? ' (text after the address? YAML comments need "#")' : '';
      report(problems, `${path}[${i}]`, `${err.message}${comment}`);
    }
  }
  nets.length = n;
  return Object.freeze(nets);
}

/**
 * The `source` or `destination` of a rule, compiled. Its address set is built the first time a
 * flow reaches it (many rules are decided on their destination first); the getter is the
 * class's, not an object literal's, so instances share one hidden class.
 */
export class CompiledEntity {
  /** Parsed `nets`; undefined when absent or empty (no constraint). */
  readonly nets: readonly Net[] | undefined;
  readonly notNets: readonly Net[];
  readonly selector: Selector | undefined;
  readonly notSelector: Selector | undefined;
  readonly ports: CompiledPorts;
  /**
   * Fields whose match cannot be decided from a flow description
   * (`namespaceSelector`, `serviceAccounts`, `services`). The evaluator
   * treats an entity that uses any of them as matching only part of a flow.
   */
  readonly undecidable: readonly string[];
  /**
   * `namespaceSelector: global()`: the side matches only non-namespaced endpoints (host
   * endpoints, global network sets), as Felix reads it (`!has(projectcalico.org/namespace)`,
   * libcalico-go/lib/backend/syncersv1/updateprocessors/rules.go) — decidable for a host
   * endpoint, still listed in `undecidable` for addresses that may belong to anything.
   */
  readonly nonNamespacedOnly: boolean;
  #addresses: NetSet | undefined | null = null;

  constructor(fields: Omit<CompiledEntity, 'addresses'>) {
    this.nets = fields.nets;
    this.notNets = fields.notNets;
    this.selector = fields.selector;
    this.notSelector = fields.notSelector;
    this.ports = fields.ports;
    this.undecidable = fields.undecidable;
    this.nonNamespacedOnly = fields.nonNamespacedOnly;
    Object.freeze(this);
  }

  /** `nets` minus `notNets` (both IP versions); undefined when neither is set (any address). */
  get addresses(): NetSet | undefined {
    if (this.#addresses === null) this.#addresses = addressesOf(this.nets ?? NO_NETS, this.notNets);
    return this.#addresses;
  }
}

const ABSENT_ENTITY: CompiledEntity = new CompiledEntity({
  nets: undefined,
  notNets: NO_NETS,
  selector: undefined,
  notSelector: undefined,
  ports: UNCONSTRAINED_PORTS,
  undecidable: NONE,
  nonNamespacedOnly: false,
});

/** nets minus notNets; a lone net's set is shared (see NetSet.ofNet). */
function addressesOf(nets: readonly Net[], notNets: readonly Net[]): NetSet | undefined {
  if (nets.length === 0 && notNets.length === 0) return undefined;
  if (nets.length === 1 && notNets.length === 0) return NetSet.ofNet(nets[0]!);
  return NetSet.from({ nets: nets.length > 0 ? nets : undefined, notNets });
}

const isSet = (v: unknown): boolean => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);

/** `services` of an entity (`validateEntityRule`): a named service and nothing else that picks endpoints. */
function checkServices(entity: Obj, path: string, problems: Problems): void {
  const services = entity['services'];
  if (!isObject(services)) return;
  const at = `${path}.services`;
  const name = services['name'];
  if (typeof name !== 'string' || name === '') report(problems, `${at}.name`, 'must specify a service name');
  else if (!DNS_SUBDOMAIN.test(name)) report(problems, `${at}.name`, `${JSON.stringify(name)} is not a valid service name`);
  const namespace = services['namespace'];
  if (typeof namespace === 'string' && namespace !== '' && !DNS_SUBDOMAIN.test(namespace)) {
    report(problems, `${at}.namespace`, `${JSON.stringify(namespace)} is not a valid namespace name`);
  }
  if (isSet(entity['namespaceSelector'])) report(problems, at, 'cannot specify NamespaceSelector and Services on the same rule');
  if (isSet(entity['selector']) || isSet(entity['notSelector'])) report(problems, at, 'cannot specify Selector/NotSelector and Services on the same rule');
  if (entity['serviceAccounts'] != null) report(problems, at, 'cannot specify ServiceAccounts and Services on the same rule');
  if (isSet(entity['nets']) || isSet(entity['notNets'])) report(problems, at, 'cannot specify Nets/NotNets and Services on the same rule');
}

function compileEntity(value: unknown, path: string, problems: Problems): CompiledEntity {
  if (value === undefined || value === null) return ABSENT_ENTITY;
  if (!isObject(value)) {
    report(problems, path, `must be an object, found ${describe(value)}`);
    return ABSENT_ENTITY;
  }
  const nets = readNets(value['nets'], `${path}.nets`, false, problems);
  const notNets = readNets(value['notNets'], `${path}.notNets`, true, problems);
  const selector = readOptionalSelector(value['selector'], `${path}.selector`, problems);
  refuseGlobal(value['selector'], `${path}.selector`, problems);
  const notSelector = readOptionalSelector(value['notSelector'], `${path}.notSelector`, problems);
  const ports = compilePorts(value['ports'], value['notPorts'], path, problems);
  let undecidable = NONE;
  const namespaceSelector = value['namespaceSelector'];
  if (namespaceSelector !== undefined && namespaceSelector !== '') {
    readOptionalSelector(namespaceSelector, `${path}.namespaceSelector`, problems);
    if (typeof namespaceSelector === 'string' && namespaceSelector.includes('global(') && !LONE_GLOBAL.test(namespaceSelector)) {
      report(problems, `${path}.namespaceSelector`, 'global() cannot be combined with other selectors');
    }
    undecidable = ['namespaceSelector'];
  }
  const serviceAccounts = value['serviceAccounts'];
  if (serviceAccounts !== undefined && serviceAccounts !== null) {
    undecidable = [...undecidable, 'serviceAccounts'];
    if (isObject(serviceAccounts)) readOptionalSelector(serviceAccounts['selector'], `${path}.serviceAccounts.selector`, problems);
  }
  if (value['services'] !== undefined && value['services'] !== null) {
    undecidable = [...undecidable, 'services'];
    checkServices(value, path, problems);
  }
  return new CompiledEntity({
    nets: nets.length > 0 ? nets : undefined,
    notNets,
    selector,
    notSelector,
    ports,
    undecidable: undecidable === NONE ? NONE : Object.freeze(undecidable),
    nonNamespacedOnly: typeof namespaceSelector === 'string' && LONE_GLOBAL.test(namespaceSelector),
  });
}

function readProtocol(rule: Obj, key: string, path: string, problems: Problems): number | undefined {
  const value = rule[key];
  if (value === undefined || value === null) return undefined;
  try {
    return protocolNumber(value);
  } catch (err) {
    return report(problems, `${path}.${key}`, (err as Error).message);
  }
}

/**
 * Calico's validator compares a protocol with the names ICMP, ICMPv6 and TCP as written, so a
 * number (1, 58, 6) is not that name there. Letter case is folded: Felix accepts `tcp`.
 */
const namedAs = (value: unknown, name: string): boolean => typeof value === 'string' && value.toLowerCase() === name;

const BOTH_VERSIONS = 3;

/** The IP versions among a list's nets, as bits (no allocation: runs per rule side). */
function versionsIn(nets: readonly Net[] | undefined): number {
  let bits = 0;
  if (nets !== undefined) for (let i = 0; i < nets.length; i++) bits |= versionBit(nets[i]!.version);
  return bits;
}

/** A rule's four address lists, in the order Calico checks them. */
const NET_LISTS = ['source.nets', 'source.notNets', 'destination.nets', 'destination.notNets'] as const;

const PORT_LISTS = ['ports', 'notPorts'] as const;
const NAMED_PORTS_WITHOUT_PROTOCOL = { before: '3.32' } as const;

/** `validateRule`'s port checks for one side: numbers need a protocol with ports; names, from v3.32, any protocol or none. */
function checkPortProtocol(entity: unknown, protocol: number | undefined, rawProtocol: unknown, path: string, problems: Problems): void {
  if (!isObject(entity)) return;
  for (let k = 0; k < PORT_LISTS.length; k++) {
    const list = entity[PORT_LISTS[k]!];
    if (!Array.isArray(list) || list.length === 0) continue;
    const at = `${path}.${PORT_LISTS[k]!}`;
    if (protocol !== undefined) {
      if (!protocolSupportsPorts(protocol)) report(problems, at, `protocol ${JSON.stringify(rawProtocol)} does not support ports (only TCP, UDP and SCTP do)`);
      continue;
    }
    if (rawProtocol != null) continue; // set but invalid: that is the problem reported
    const numeric = list.some((p) => typeof p === 'number' || (typeof p === 'string' && /^[0-9:]+$/.test(p)));
    if (numeric) report(problems, at, 'port numbers and ranges need protocol TCP, UDP or SCTP, but protocol is not set. Fix: set protocol on this rule (one rule per protocol)');
    else report(problems, at, 'named ports need protocol TCP, UDP or SCTP before Calico v3.32, but protocol is not set', NAMED_PORTS_WITHOUT_PROTOCOL);
  }
}

type Direction = 'ingress' | 'egress';

function compileRule(value: unknown, index: number, path: string, direction: Direction, namespaced: boolean): CompiledRule {
  const problems: Problems = [];
  const rule: Obj = isObject(value) ? value : {};
  if (!isObject(value)) report(problems, path, `a rule must be an object, found ${describe(value)}`);

  let action: CalicoAction | undefined;
  const rawAction = rule['action'];
  if (rawAction === undefined || rawAction === null) {
    if (isObject(value)) report(problems, `${path}.action`, 'required (Allow, Deny, Log or Pass)');
  } else if (typeof rawAction === 'string' && (CALICO_ACTIONS as readonly string[]).includes(rawAction)) {
    action = rawAction as CalicoAction;
  } else {
    report(problems, `${path}.action`, `must be Allow, Deny, Log or Pass, found ${describe(rawAction)}`);
  }

  const rawProtocol = rule['protocol'];
  const protocol = readProtocol(rule, 'protocol', path, problems);
  const notProtocol = readProtocol(rule, 'notProtocol', path, problems);

  let ipVersion: IPVersion | undefined;
  const rawVersion = rule['ipVersion'];
  if (rawVersion !== undefined && rawVersion !== null) {
    if (rawVersion === 4 || rawVersion === 6) ipVersion = rawVersion;
    else report(problems, `${path}.ipVersion`, `must be 4 or 6, found ${describe(rawVersion)}`);
  }

  const source = compileEntity(rule['source'], `${path}.source`, problems);
  const destination = compileEntity(rule['destination'], `${path}.destination`, problems);

  // One IP version per rule, matching ipVersion when set; Calico reports the list that breaks it.
  let seen = 0;
  let renderedVersions = ipVersion === undefined ? BOTH_VERSIONS : versionBit(ipVersion);
  for (let i = 0; i < NET_LISTS.length; i++) {
    const bits = versionsIn(i === 0 ? source.nets : i === 1 ? source.notNets : i === 2 ? destination.nets : destination.notNets);
    if (bits === 0) continue;
    renderedVersions &= bits;
    if (ipVersion !== undefined && (bits | versionBit(ipVersion)) !== versionBit(ipVersion)) {
      report(problems, `${path}.${NET_LISTS[i]!}`, `rule IP version doesn't match CIDR version: ipVersion is ${ipVersion}`);
    }
    if ((seen | bits) === BOTH_VERSIONS) {
      report(problems, `${path}.${NET_LISTS[i]!}`, 'rule contains both IPv4 and IPv6 CIDRs. Fix: split it into an IPv4 rule and an IPv6 rule');
    }
    seen |= bits;
  }

  checkPortProtocol(rule['source'], protocol, rawProtocol, `${path}.source`, problems);
  checkPortProtocol(rule['destination'], protocol, rawProtocol, `${path}.destination`, problems);

  const icmp = rule['icmp'];
  const notICMP = rule['notICMP'];
  checkIcmpFields(icmp, `${path}.icmp`, problems);
  checkIcmpFields(notICMP, `${path}.notICMP`, problems);
  const icmpProtocol = namedAs(rawProtocol, 'icmp') || namedAs(rawProtocol, 'icmpv6');
  if (icmp != null && !icmpProtocol) report(problems, `${path}.icmp`, 'rules that specify ICMP fields must set protocol to ICMP');
  // Calico's validator checks only `icmp`; for `notICMP` Felix still writes `-m icmp ! --icmp-type`
  // (felix/rules/policy.go), which iptables refuses without `-p icmp`, so it is refused here too.
  if (notICMP != null && !icmpProtocol) report(problems, `${path}.notICMP`, 'rules that specify ICMP fields must set protocol to ICMP');
  if (ipVersion !== undefined) {
    const rawNot = rule['notProtocol'];
    if (ipVersion !== 4 && (namedAs(rawProtocol, 'icmp') || namedAs(rawNot, 'icmp'))) report(problems, `${path}.ipVersion`, "must set ipversion to '4' with protocol icmp");
    if (ipVersion !== 6 && (namedAs(rawProtocol, 'icmpv6') || namedAs(rawNot, 'icmpv6'))) report(problems, `${path}.ipVersion`, "must set ipversion to '6' with protocol icmpv6");
  }

  const http = rule['http'];
  if (http != null) {
    checkHttpMatch(http, `${path}.http`, problems);
    if (rawProtocol != null && !namedAs(rawProtocol, 'tcp')) report(problems, `${path}.protocol`, 'rules that specify HTTP fields must set protocol to TCP or empty');
    if (action !== undefined && action !== 'Allow') report(problems, `${path}.http`, 'only valid for Allow rules');
    if (direction === 'egress') report(problems, `${path}.http`, 'not allowed in egress rules');
  }

  // Services: a destination on egress, a source on ingress.
  const src = isObject(rule['source']) ? rule['source'] : NO_FIELDS;
  const dst = isObject(rule['destination']) ? rule['destination'] : NO_FIELDS;
  const egress = direction === 'egress';
  const wrongSide = egress ? src : dst;
  const rightSide = egress ? dst : src;
  if (wrongSide['services'] != null) report(problems, `${path}.${egress ? 'source' : 'destination'}.services`, `not allowed in ${direction} rule ${egress ? 'source' : 'destination'}`);
  // A NetworkPolicy's services default to its own namespace; a global one must name it.
  if (!namespaced && isObject(rightSide['services']) && !rightSide['services']['namespace']) report(problems, `${path}.${egress ? 'destination' : 'source'}.services.namespace`, 'must specify a namespace');
  if (dst['services'] != null) {
    if (isSet(dst['ports'])) report(problems, `${path}.destination.ports`, 'cannot specify ports with a service selector');
    if (isSet(dst['notPorts'])) report(problems, `${path}.destination.notPorts`, 'cannot specify notports with a service selector');
  }

  if (isObject(rule['metadata'])) checkAnnotations(rule['metadata']['annotations'], `${path}.metadata.annotations`, problems);

  const current = problems.length === 0 ? NO_PROBLEMS : Object.freeze(problems);
  return Object.freeze({
    index,
    path,
    action,
    protocol,
    notProtocol,
    ipVersion,
    renderedVersions,
    icmpConstrained: icmp != null || notICMP != null,
    httpConstrained: http != null,
    source,
    destination,
    invalid: current.some(holdsAtDefault),
    problems: current,
  });
}

const holdsAtDefault = (p: Problem): boolean => holdsFor(p, DEFAULT_CALICO_VERSION);

function compileRules(value: unknown, key: Direction, namespaced: boolean, problems: Problems): CompiledRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    report(problems, `spec.${key}`, `must be a list of rules, found ${describe(value)}`);
    return [];
  }
  const rules = new Array<CompiledRule>(value.length);
  for (let i = 0; i < value.length; i++) rules[i] = compileRule(value[i], i, `spec.${key}[${i}]`, key, namespaced);
  return rules;
}

function readTypes(
  value: unknown,
  hasIngress: boolean,
  hasEgress: boolean,
  problems: Problems,
): { types: PolicyType[]; defaulted: boolean } {
  const types: PolicyType[] = [];
  if (value !== undefined && value !== null) {
    if (!Array.isArray(value)) {
      report(problems, 'spec.types', `must be a list of Ingress and/or Egress, found ${describe(value)}`);
    } else {
      value.forEach((item: unknown, i) => {
        if (item === 'Ingress' || item === 'Egress') {
          if (types.includes(item)) report(problems, `spec.types[${i}]`, `'${item}' type specified more than once`);
          else types.push(item);
        } else {
          const nested = isObject(item) ? ' (a rule object: the rules are nested under "types"; is the "ingress:" key missing?)' : '';
          report(problems, `spec.types[${i}]`, `must be Ingress or Egress, found ${describe(item)}${nested}`);
        }
      });
    }
  }
  if (types.length > 0) return { types, defaulted: false };
  // Calico's defaulting: no egress rules → Ingress (even with no ingress rules
  // either); egress rules only → Egress; both → both.
  if (!hasEgress) return { types: ['Ingress'], defaulted: true };
  if (!hasIngress) return { types: ['Egress'], defaulted: true };
  return { types: ['Ingress', 'Egress'], defaulted: true };
}

/**
 * Compiles a GlobalNetworkPolicy object (either API group). Never throws. The last object
 * compiled is remembered, so the rules judging one review share one compilation, and nothing
 * outlives the review (see recentMemo); for long-lived objects use compileStoredPolicy.
 * @example
 *   const p = compilePolicy(obj);
 *   p.preDNAT && p.ingress[0]?.destination.nets?.[0]?.cidr  // '10.20.30.40/32'
 */
export const compilePolicy: (obj: KubeObject) => CompiledPolicy = recentMemo(1, (obj: KubeObject) => compile(obj));

/** compilePolicy for long-lived objects (the cluster cache's): kept per object while it lives. */
export const compileStoredPolicy: (obj: KubeObject) => CompiledPolicy = perObject(compile);

/** The problems of a compiled policy that hold for Calico `version` (`major.minor`). */
export function problemsFor(policy: CompiledPolicy, version: string): Problem[] {
  return policy.problems.filter((p) => holdsFor(p, version));
}

/** The problems a named check found (they hold for every release). */
export function problemsOf(policy: CompiledPolicy, check: NamedCheck): Problem[] {
  return policy.problems.filter((p) => p.check === check);
}

/** Policy-level selectors that scope a policy to namespaced endpoints, with the label Calico folds them into. */
const SCOPE_SELECTORS = [
  ['namespaceSelector', 'projectcalico.org/namespace'],
  ['serviceAccountSelector', 'projectcalico.org/serviceaccount'],
] as const;

function compile(obj: KubeObject): CompiledPolicy {
  const problems: Problems = [];
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  // A namespaced (Calico) NetworkPolicy compiles the same way; its names and `services` differ.
  const namespaced = obj.kind === 'NetworkPolicy';
  checkMetadata(obj.metadata, namespaced, problems);
  const spec: Obj = isObject(obj.spec) ? obj.spec : {};
  if (obj.spec !== undefined && !isObject(obj.spec)) report(problems, 'spec', `must be an object, found ${describe(obj.spec)}`);

  let tier = DEFAULT_TIER;
  const rawTier = spec['tier'];
  if (typeof rawTier === 'string' && rawTier !== '') {
    tier = rawTier;
    if (!DNS_LABEL.test(rawTier)) report(problems, 'spec.tier', `${JSON.stringify(rawTier)} is not a valid tier name (lower case alphanumeric characters or '-')`);
  } else if (rawTier != null && rawTier !== '') report(problems, 'spec.tier', `must be a string, found ${describe(rawTier)}`);

  let order = Number.POSITIVE_INFINITY;
  const rawOrder = spec['order'];
  if (rawOrder !== undefined && rawOrder !== null) {
    if (typeof rawOrder === 'number' && Number.isFinite(rawOrder)) order = rawOrder;
    else report(problems, 'spec.order', `must be a number, found ${describe(rawOrder)}`);
  }

  const selector = readSelector(spec['selector'], 'spec.selector', problems);
  refuseGlobal(spec['selector'], 'spec.selector', problems);
  let selectsNonNamespaced = true;
  for (let i = 0; i < SCOPE_SELECTORS.length; i++) {
    const key = SCOPE_SELECTORS[i]![0];
    const text = spec[key];
    if (text === undefined || text === null || text === '') continue;
    refuseGlobal(text, `spec.${key}`, problems);
    if (readOptionalSelector(text, `spec.${key}`, problems) === undefined) selectsNonNamespaced = false;
    else if (!admitsNonNamespaced(text as string, SCOPE_SELECTORS[i]![1])) selectsNonNamespaced = false;
  }

  const preDNAT = readBool(spec, 'preDNAT', problems);
  const applyOnForward = readBool(spec, 'applyOnForward', problems);
  const doNotTrack = readBool(spec, 'doNotTrack', problems);
  checkPerformanceHints(spec['performanceHints'], problems);

  const ingress = compileRules(spec['ingress'], 'ingress', namespaced, problems);
  const egress = compileRules(spec['egress'], 'egress', namespaced, problems);
  const { types, defaulted } = readTypes(spec['types'], ingress.length > 0, egress.length > 0, problems);

  // Calico's cross-field checks (validateGlobalNetworkPolicySpec; the same as CEL rules on the type).
  if (preDNAT && doNotTrack) problems.push({ path: 'spec.doNotTrack', message: 'PreDNAT and DoNotTrack cannot both be true, for a given PolicySpec', check: 'preDNAT-with-doNotTrack' });
  if (preDNAT && egress.length > 0) problems.push({ path: 'spec.egress', message: 'PreDNAT PolicySpec cannot have any Egress rules', check: 'preDNAT-with-egress' });
  if (preDNAT && !defaulted && types.includes('Egress')) {
    const at = (spec['types'] as unknown[]).indexOf('Egress');
    problems.push({ path: `spec.types[${at}]`, message: "PreDNAT PolicySpec cannot have 'egress' Type", check: 'preDNAT-with-egress' });
  }
  if ((preDNAT || doNotTrack) && !applyOnForward) {
    const message = 'ApplyOnForward must be true if either PreDNAT or DoNotTrack is true, for a given PolicySpec';
    problems.push({ path: 'spec.applyOnForward', message, check: 'applyOnForward-required' });
  }
  for (const rules of [ingress, egress]) for (let i = 0; i < rules.length; i++) for (const p of rules[i]!.problems) problems.push(p);

  const frozen = Object.freeze(problems);
  return Object.freeze({
    name,
    tier,
    order,
    selector,
    selectsNonNamespaced,
    types: Object.freeze(types),
    typesDefaulted: defaulted,
    preDNAT,
    applyOnForward,
    doNotTrack,
    ingress: Object.freeze(ingress),
    egress: Object.freeze(egress),
    invalid: frozen.some(holdsAtDefault),
    problems: frozen,
    object: obj,
  });
}

/** True when the policy's types include Ingress. */
export function governsIngress(policy: CompiledPolicy): boolean {
  return policy.types.includes('Ingress');
}

/** A normal (neither pre-DNAT nor untracked) policy that applies to forwarded traffic. */
export const isForwardPolicy = (p: CompiledPolicy): boolean => p.applyOnForward && !p.preDNAT && !p.doNotTrack;

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order Felix applies policies in: by tier (see compareTiers), then within a tier `order`
 * ascending (absent = +Infinity, i.e. last), ties broken by name ascending — `PolKVLess` in
 * felix/calc/policy_sorter.go ("Order is equal, use name as tie-break").
 */
export function comparePolicies(a: CompiledPolicy, b: CompiledPolicy): number {
  if (a.tier !== b.tier) return compareTiers(a.tier, b.tier);
  if (a.order !== b.order) return a.order < b.order ? -1 : 1;
  return compareStrings(a.name, b.name);
}

/**
 * Rank of a tier: non-default tiers before `default`, by name.
 *
 * Limitation: Calico orders tiers by the Tier resources' `order` (felix
 * `TierLess`; the default tier has order 1,000,000), which this model does
 * not read. Non-default tiers are taken to come before `default`, in name
 * order, which is only right for tiers ordered below the default tier.
 */
function compareTiers(a: string, b: string): number {
  if (a === DEFAULT_TIER) return 1;
  if (b === DEFAULT_TIER) return -1;
  return compareStrings(a, b);
}
