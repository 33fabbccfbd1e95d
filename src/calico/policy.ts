/**
 * The GlobalNetworkPolicy model: a policy object compiled once into parsed
 * selectors, net sets, port sets and protocol numbers, ready for the
 * dataplane evaluator (dataplane.ts).
 *
 * Fields follow api/pkg/apis/projectcalico/v3/globalnetworkpolicy.go and
 * policy_common.go (both API groups carry the same spec). Compilation never
 * throws: whatever Calico would reject is listed in `invalid` (with the field
 * path) and a rule with any invalid piece matches nothing. The `gnp-schema`
 * rule reports those problems to the user; this module only needs to stay
 * safe and predictable on them.
 *
 * Objects in the cluster cache are immutable and shared between requests, so
 * compileStoredPolicy keeps each one's compilation in a WeakMap. A review's
 * own object is compiled with compilePolicy, which remembers only the last
 * object (the rules judging one review share it) and nothing that would
 * outlive the review.
 */
import type { KubeObject } from '../admission/types.ts';
import { NetSet, NetSyntaxError, parseNet, versionBit, type IPVersion, type Net } from './nets.ts';
import { recentMemo } from './memo.ts';
import { compilePorts, UNCONSTRAINED_PORTS, type CompiledPorts } from './ports.ts';
import { isIcmp, protocolNumber, protocolSupportsPorts } from './protocols.ts';
import { parseSelectorCached, type Selector } from './selector/index.ts';

export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';
export type PolicyType = 'Ingress' | 'Egress';

export const RULE_ACTIONS: readonly RuleAction[] = Object.freeze(['Allow', 'Deny', 'Log', 'Pass']);
export const DEFAULT_TIER = 'default';

/** The `source` or `destination` of a rule. */
export interface CompiledEntity {
  /** Parsed `nets`; undefined when absent or empty (no constraint). */
  readonly nets: readonly Net[] | undefined;
  readonly notNets: readonly Net[];
  readonly selector: Selector | undefined;
  readonly notSelector: Selector | undefined;
  readonly ports: CompiledPorts;
  /** `nets` minus `notNets` (both IP versions); undefined when neither is set (any address). */
  readonly addresses: NetSet | undefined;
  /**
   * Fields whose match cannot be decided from a flow description
   * (`namespaceSelector`, `serviceAccounts`, `services`). The evaluator
   * treats an entity that uses any of them as matching only part of a flow.
   */
  readonly undecidable: readonly string[];
}

export interface CompiledRule {
  readonly index: number;
  /** Field path of the rule, e.g. `spec.ingress[0]`. */
  readonly path: string;
  /** undefined when missing or invalid (then `invalid` says so). */
  readonly action: RuleAction | undefined;
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
  /** Problems, each `path: message`. Non-empty means the rule matches nothing. */
  readonly invalid: readonly string[];
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
  /** Every problem found, policy-level and rule-level, each `path: message`. */
  readonly invalid: readonly string[];
  /** The object compiled. */
  readonly object: KubeObject;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

function readBool(spec: Obj, key: string, errors: string[]): boolean {
  const value = spec[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    errors.push(`spec.${key}: must be true or false, found ${describe(value)}`);
    return false;
  }
  return value;
}

function readSelector(value: unknown, base: string, key: string, errors: string[]): Selector | undefined {
  if (value === undefined || value === null) return parseSelectorCached('');
  if (typeof value !== 'string') {
    errors.push(`${base}.${key}: must be a selector string, found ${describe(value)}`);
    return undefined;
  }
  try {
    return parseSelectorCached(value);
  } catch (err) {
    errors.push(`${base}.${key}: ${(err as Error).message}`);
    return undefined;
  }
}

/** Like readSelector, but absent or empty means "not set". */
function readOptionalSelector(value: unknown, base: string, key: string, errors: string[]): Selector | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return readSelector(value, base, key, errors);
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

/** `nets` / `notNets` at `${base}.${key}`; paths are only built for an error (this runs per rule side). */
function readNets(value: unknown, base: string, key: string, errors: string[]): readonly Net[] {
  if (value === undefined || value === null) return NO_NETS;
  if (!Array.isArray(value)) {
    errors.push(`${base}.${key}: must be a list of IP addresses or CIDRs, found ${describe(value)}`);
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
    } catch (err) {
      errors.push(`${base}.${key}[${i}]: ${err instanceof NetSyntaxError ? err.message : String(err)}`);
    }
  }
  nets.length = n;
  return Object.freeze(nets);
}

/**
 * A compiled rule side. Its address set is built the first time a flow reaches it (many rules
 * are decided on their destination first); the getter is the class's, not an object literal's,
 * so instances share one hidden class.
 */
class Entity implements CompiledEntity {
  readonly nets: readonly Net[] | undefined;
  readonly notNets: readonly Net[];
  readonly selector: Selector | undefined;
  readonly notSelector: Selector | undefined;
  readonly ports: CompiledPorts;
  readonly undecidable: readonly string[];
  #addresses: NetSet | undefined | null = null;

  constructor(fields: Omit<CompiledEntity, 'addresses'>) {
    this.nets = fields.nets;
    this.notNets = fields.notNets;
    this.selector = fields.selector;
    this.notSelector = fields.notSelector;
    this.ports = fields.ports;
    this.undecidable = fields.undecidable;
    Object.freeze(this);
  }

  get addresses(): NetSet | undefined {
    if (this.#addresses === null) this.#addresses = addressesOf(this.nets ?? NO_NETS, this.notNets);
    return this.#addresses;
  }
}

const ABSENT_ENTITY: CompiledEntity = new Entity({
  nets: undefined,
  notNets: NO_NETS,
  selector: undefined,
  notSelector: undefined,
  ports: UNCONSTRAINED_PORTS,
  undecidable: NONE,
});

/** nets minus notNets; a lone net's set is shared (see NetSet.ofNet). */
function addressesOf(nets: readonly Net[], notNets: readonly Net[]): NetSet | undefined {
  if (nets.length === 0 && notNets.length === 0) return undefined;
  if (nets.length === 1 && notNets.length === 0) return NetSet.ofNet(nets[0]!);
  return NetSet.from({ nets: nets.length > 0 ? nets : undefined, notNets });
}

function compileEntity(value: unknown, base: string, side: string, errors: string[]): CompiledEntity {
  if (value === undefined || value === null) return ABSENT_ENTITY;
  if (!isObject(value)) {
    errors.push(`${base}.${side}: must be an object, found ${describe(value)}`);
    return ABSENT_ENTITY;
  }
  const path = `${base}.${side}`;
  const nets = readNets(value['nets'], path, 'nets', errors);
  const notNets = readNets(value['notNets'], path, 'notNets', errors);
  const selector = readOptionalSelector(value['selector'], path, 'selector', errors);
  const notSelector = readOptionalSelector(value['notSelector'], path, 'notSelector', errors);
  const ports = compilePorts(value['ports'], value['notPorts'], path, errors);
  let undecidable = NONE;
  if (value['namespaceSelector'] !== undefined && value['namespaceSelector'] !== '') {
    readOptionalSelector(value['namespaceSelector'], path, 'namespaceSelector', errors);
    undecidable = ['namespaceSelector'];
  }
  if (value['serviceAccounts'] !== undefined && value['serviceAccounts'] !== null) undecidable = [...undecidable, 'serviceAccounts'];
  if (value['services'] !== undefined && value['services'] !== null) {
    undecidable = [...undecidable, 'services'];
    const mixed = ['nets', 'notNets', 'selector', 'notSelector', 'ports', 'notPorts', 'namespaceSelector'].filter(
      (key) => value[key] !== undefined && value[key] !== null,
    );
    if (mixed.length > 0) errors.push(`${path}.services: cannot be combined with ${mixed.join(', ')}`);
  }
  return new Entity({
    nets: nets.length > 0 ? nets : undefined,
    notNets,
    selector,
    notSelector,
    ports,
    undecidable: undecidable === NONE ? NONE : Object.freeze(undecidable),
  });
}

function readProtocol(rule: Obj, key: string, path: string, errors: string[]): number | undefined {
  const value = rule[key];
  if (value === undefined || value === null) return undefined;
  try {
    return protocolNumber(value);
  } catch (err) {
    errors.push(`${path}.${key}: ${(err as Error).message}`);
    return undefined;
  }
}

const BOTH_VERSIONS = 3;

/** The IP versions among a list's nets, as bits (no allocation: runs per rule side). */
function versionsIn(nets: readonly Net[] | undefined): number {
  let bits = 0;
  if (nets !== undefined) for (let i = 0; i < nets.length; i++) bits |= versionBit(nets[i]!.version);
  return bits;
}

/** The versions a list lets a rule be rendered for: an empty list keeps both. */
const keptBy = (bits: number): number => (bits === 0 ? BOTH_VERSIONS : bits);

function compileRule(value: unknown, index: number, path: string): CompiledRule {
  const errors: string[] = [];
  const rule: Obj = isObject(value) ? value : {};
  if (!isObject(value)) errors.push(`${path}: a rule must be an object, found ${describe(value)}`);

  let action: RuleAction | undefined;
  const rawAction = rule['action'];
  if (rawAction === undefined || rawAction === null) {
    if (isObject(value)) errors.push(`${path}.action: required (Allow, Deny, Log or Pass)`);
  } else if (typeof rawAction === 'string' && (RULE_ACTIONS as readonly string[]).includes(rawAction)) {
    action = rawAction as RuleAction;
  } else {
    errors.push(`${path}.action: must be Allow, Deny, Log or Pass, found ${describe(rawAction)}`);
  }

  const protocol = readProtocol(rule, 'protocol', path, errors);
  const notProtocol = readProtocol(rule, 'notProtocol', path, errors);

  let ipVersion: IPVersion | undefined;
  const rawVersion = rule['ipVersion'];
  if (rawVersion !== undefined && rawVersion !== null) {
    if (rawVersion === 4 || rawVersion === 6) ipVersion = rawVersion;
    else errors.push(`${path}.ipVersion: must be 4 or 6, found ${describe(rawVersion)}`);
  }

  const source = compileEntity(rule['source'], path, 'source', errors);
  const destination = compileEntity(rule['destination'], path, 'destination', errors);

  // One IP version per rule, matching ipVersion when set.
  const sourceNets = versionsIn(source.nets);
  const sourceNotNets = versionsIn(source.notNets);
  const destinationNets = versionsIn(destination.nets);
  const destinationNotNets = versionsIn(destination.notNets);
  const versions = sourceNets | sourceNotNets | destinationNets | destinationNotNets;
  const renderedVersions =
    (ipVersion === undefined ? BOTH_VERSIONS : versionBit(ipVersion)) &
    keptBy(sourceNets) & keptBy(sourceNotNets) & keptBy(destinationNets) & keptBy(destinationNotNets);
  if (versions === BOTH_VERSIONS) errors.push(`${path}: mixes IPv4 and IPv6 addresses in nets/notNets; use one IP version per rule`);
  if (ipVersion !== undefined && (versions === 1 || versions === 2) && versions !== versionBit(ipVersion)) {
    errors.push(`${path}: ipVersion is ${ipVersion} but nets/notNets hold IPv${ipVersion === 4 ? 6 : 4} addresses`);
  }

  // Ports only with a protocol that has them (numorstring `SupportsPorts`).
  const portsAllowed = protocol !== undefined && protocolSupportsPorts(protocol);
  if (!source.ports.unconstrained && !portsAllowed) errors.push(`${path}.source: ports and notPorts need protocol TCP, UDP or SCTP`);
  if (!destination.ports.unconstrained && !portsAllowed) errors.push(`${path}.destination: ports and notPorts need protocol TCP, UDP or SCTP`);

  const icmpConstrained = rule['icmp'] != null || rule['notICMP'] != null;
  if (icmpConstrained && (protocol === undefined || !isIcmp(protocol))) {
    errors.push(`${path}: icmp and notICMP need protocol ICMP or ICMPv6`);
  }

  return Object.freeze({
    index,
    path,
    action,
    protocol,
    notProtocol,
    ipVersion,
    renderedVersions,
    icmpConstrained,
    httpConstrained: rule['http'] != null,
    source,
    destination,
    invalid: errors.length === 0 ? NONE : Object.freeze(errors),
  });
}

function compileRules(value: unknown, key: 'ingress' | 'egress', errors: string[]): CompiledRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    errors.push(`spec.${key}: must be a list of rules, found ${describe(value)}`);
    return [];
  }
  const rules = new Array<CompiledRule>(value.length);
  for (let i = 0; i < value.length; i++) rules[i] = compileRule(value[i], i, `spec.${key}[${i}]`);
  return rules;
}

function readTypes(
  value: unknown,
  hasIngress: boolean,
  hasEgress: boolean,
  errors: string[],
): { types: PolicyType[]; defaulted: boolean } {
  const types: PolicyType[] = [];
  if (value !== undefined && value !== null) {
    if (!Array.isArray(value)) {
      errors.push(`spec.types: must be a list of Ingress and/or Egress, found ${describe(value)}`);
    } else {
      value.forEach((item: unknown, i) => {
        if (item === 'Ingress' || item === 'Egress') {
          if (types.includes(item)) errors.push(`spec.types[${i}]: ${item} is listed twice`);
          else types.push(item);
        } else {
          errors.push(`spec.types[${i}]: must be Ingress or Egress, found ${describe(item)}`);
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
 * Compiles a GlobalNetworkPolicy object (either API group). Never throws.
 * The last object compiled is remembered, so the rules judging one review share one
 * compilation; nothing else is kept (a review's objects must not outlive it: holding them in
 * a WeakMap keeps them through young-generation GCs and makes garbage collection the largest
 * cost of a policy review). For objects that live on, such as the cluster cache's, use
 * compileStoredPolicy.
 * @example
 *   const p = compilePolicy(obj);
 *   p.preDNAT && p.ingress[0]?.destination.nets?.[0]?.cidr  // '10.20.30.40/32'
 */
export const compilePolicy: (obj: KubeObject) => CompiledPolicy = recentMemo(1, (obj: KubeObject) => compile(obj));

const stored = new WeakMap<object, CompiledPolicy>();

/** compilePolicy for long-lived objects (the cluster cache's): kept per object while it lives. */
export function compileStoredPolicy(obj: KubeObject): CompiledPolicy {
  let compiled = stored.get(obj);
  if (compiled === undefined) stored.set(obj, (compiled = compile(obj)));
  return compiled;
}

/** Policy-level selectors that scope a policy to namespaced endpoints, with the label Calico folds them into. */
const SCOPE_SELECTORS = [
  ['namespaceSelector', 'projectcalico.org/namespace'],
  ['serviceAccountSelector', 'projectcalico.org/serviceaccount'],
] as const;

function pushAll(to: string[], from: readonly string[]): void {
  for (let i = 0; i < from.length; i++) to.push(from[i]!);
}

function compile(obj: KubeObject): CompiledPolicy {
  const errors: string[] = [];
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  const spec: Obj = isObject(obj.spec) ? obj.spec : {};
  if (obj.spec !== undefined && !isObject(obj.spec)) errors.push(`spec: must be an object, found ${describe(obj.spec)}`);

  let tier = DEFAULT_TIER;
  if (typeof spec['tier'] === 'string' && spec['tier'] !== '') tier = spec['tier'];
  else if (spec['tier'] != null && spec['tier'] !== '') errors.push(`spec.tier: must be a string, found ${describe(spec['tier'])}`);

  let order = Number.POSITIVE_INFINITY;
  const rawOrder = spec['order'];
  if (rawOrder !== undefined && rawOrder !== null) {
    if (typeof rawOrder === 'number' && Number.isFinite(rawOrder)) order = rawOrder;
    else errors.push(`spec.order: must be a number, found ${describe(rawOrder)}`);
  }

  const selector = readSelector(spec['selector'], 'spec', 'selector', errors);
  let selectsNonNamespaced = true;
  for (let i = 0; i < SCOPE_SELECTORS.length; i++) {
    const key = SCOPE_SELECTORS[i]![0];
    const text = spec[key];
    if (text === undefined || text === null || text === '') continue;
    if (readOptionalSelector(text, 'spec', key, errors) === undefined) selectsNonNamespaced = false;
    else if (!admitsNonNamespaced(text as string, SCOPE_SELECTORS[i]![1])) selectsNonNamespaced = false;
  }

  const preDNAT = readBool(spec, 'preDNAT', errors);
  const applyOnForward = readBool(spec, 'applyOnForward', errors);
  const doNotTrack = readBool(spec, 'doNotTrack', errors);

  const ingress = compileRules(spec['ingress'], 'ingress', errors);
  const egress = compileRules(spec['egress'], 'egress', errors);
  const { types, defaulted } = readTypes(spec['types'], ingress.length > 0, egress.length > 0, errors);

  // Calico's cross-field checks (libcalico-go/lib/validator/v3/validator.go).
  if (preDNAT && doNotTrack) errors.push('spec: preDNAT and doNotTrack cannot both be true');
  if (preDNAT && egress.length > 0) errors.push('spec.egress: a preDNAT policy cannot have egress rules');
  if (preDNAT && !defaulted && types.includes('Egress')) errors.push('spec.types: a preDNAT policy cannot have the Egress type');
  if ((preDNAT || doNotTrack) && !applyOnForward) {
    errors.push('spec.applyOnForward: must be true when preDNAT or doNotTrack is true');
  }

  for (let i = 0; i < ingress.length; i++) pushAll(errors, ingress[i]!.invalid);
  for (let i = 0; i < egress.length; i++) pushAll(errors, egress[i]!.invalid);

  const compiled: CompiledPolicy = Object.freeze({
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
    invalid: Object.freeze(errors),
    object: obj,
  });
  return compiled;
}

/** True when the policy's types include Ingress. */
export function governsIngress(policy: CompiledPolicy): boolean {
  return policy.types.includes('Ingress');
}

/** True when the policy's types include Egress. */
export function governsEgress(policy: CompiledPolicy): boolean {
  return policy.types.includes('Egress');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Felix's order within a tier: `order` ascending (absent = +Infinity, i.e.
 * last), ties broken by name ascending — `PolKVLess` in
 * felix/calc/policy_sorter.go ("Order is equal, use name as tie-break").
 */
export function comparePolicies(a: CompiledPolicy, b: CompiledPolicy): number {
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
export function compareTiers(a: string, b: string): number {
  if (a === b) return 0;
  if (a === DEFAULT_TIER) return 1;
  if (b === DEFAULT_TIER) return -1;
  return compareStrings(a, b);
}

/**
 * Sorts policies the way Felix applies them: by tier (see compareTiers),
 * then within a tier by (order, name). Returns a new array.
 */
export function sortPolicies(policies: readonly CompiledPolicy[]): CompiledPolicy[] {
  return [...policies].sort((a, b) => compareTiers(a.tier, b.tier) || comparePolicies(a, b));
}
