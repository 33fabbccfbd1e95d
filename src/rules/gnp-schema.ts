/**
 * gnp-schema — a GlobalNetworkPolicy must be one Calico can parse.
 *
 * Writes to crd.projectcalico.org/v1 skip Calico's validation, and Felix silently drops a
 * policy it cannot parse; this rule gives the author the error instead. Checked: unknown
 * fields, types (1–2 of Ingress/Egress), actions, protocols, ICMP, ports and port ranges
 * (and that ports come with TCP/UDP/SCTP), nets/notNets (valid IP or CIDR, one IP version per
 * rule), selector syntax in every selector field, services not combined with other matchers.
 * At /mutate a policy with schema errors is not patched: it will be denied at /validate.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { isCidr } from '../config/cidr-format.ts';
import { describeSchemaError, type PathMessage } from '../kube/field-path.ts';
import { versionBit } from '../calico/nets.ts';
import { parseSelectorCached, SelectorSyntaxError } from '../calico/selector/index.ts';
import type { Finding, Rule } from './types.ts';
import { netOf } from './support/cidr.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';
import { GNP_SCHEMA } from './support/gnp-json-schema.ts';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
ajv.addFormat('cidr', { type: 'string', validate: isCidr });
const validateGnp = ajv.compile(GNP_SCHEMA);

const PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp', '6', '17', '132']);
const ICMP_PROTOCOLS = new Set(['icmp', 'icmpv6', '1', '58']);

function schemaFindings(errors: readonly ErrorObject[]): PathMessage[] {
  // anyOf branches (protocol, port) produce one error per branch: report the anyOf once.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const out: PathMessage[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && anyOfPaths.has(e.instancePath)) continue;
    let { path, message } = describeSchemaError(e);
    if (e.keyword === 'anyOf') {
      message = /[Pp]rotocol/.test(e.schemaPath)
        ? `${JSON.stringify(e.data)} must be TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a protocol number 1-255`
        : `${JSON.stringify(e.data)} must be a port number 1-65535, a range "min:max" or a port name`;
    }
    if (e.keyword === 'format' && typeof e.data === 'string') {
      message = `"${e.data}" is not an IP address or CIDR`;
      if (/\s/.test(e.data.trim())) message += ' (text after the address? YAML comments need "#")';
    }
    if (e.keyword === 'enum' && /\/types\/\d+$/.test(e.instancePath) && typeof e.data === 'object' && e.data !== null) {
      message += ' but found a rule object: the rules are nested under "types" (is the "ingress:" key missing?)';
    }
    out.push({ path, message });
  }
  return out;
}

/** The syntax error of a selector field, or null (also for a non-string: the schema reports that). */
function selectorError(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    parseSelectorCached(value);
    return null;
  } catch (err) {
    if (err instanceof SelectorSyntaxError) return err.message;
    throw err;
  }
}

const PORT_RANGE = /^(\d+):(\d+)$/;
const PORT_NUMBER = /^\d+$/;

/** Port numbers and ranges out of bounds in `${at()}.${side}.${field}` (paths are only built for a finding). */
function portRangeErrors(at: () => string, side: string, field: string, ports: unknown, out: PathMessage[]): void {
  if (!Array.isArray(ports)) return;
  for (let i = 0; i < ports.length; i++) {
    const p: unknown = ports[i];
    if (typeof p !== 'string') continue;
    const m = PORT_RANGE.exec(p);
    if (m) {
      const min = Number(m[1]);
      const max = Number(m[2]);
      if (min < 1 || max > 65535 || min > max) out.push({ path: `${at()}.${side}.${field}[${i}]`, message: `port range "${p}" must be min:max with 1 <= min <= max <= 65535` });
    } else if (PORT_NUMBER.test(p)) {
      const single = Number(p);
      if (single < 1 || single > 65535) out.push({ path: `${at()}.${side}.${field}[${i}]`, message: `port ${p} must be between 1 and 65535` });
    }
  }
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const nonEmpty = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

const SIDES = ['source', 'destination'] as const;
const ENTITY_SELECTORS = ['selector', 'notSelector', 'namespaceSelector'] as const;
const PORT_FIELDS = ['ports', 'notPorts'] as const;
const NOT_WITH_SERVICES = ['nets', 'notNets', 'selector', 'notSelector', 'ports', 'notPorts'] as const;
const ICMP_FIELDS = ['icmp', 'notICMP'] as const;
const POLICY_SELECTORS = ['selector', 'namespaceSelector', 'serviceAccountSelector'] as const;
const DIRECTIONS = ['ingress', 'egress'] as const;

/** Bit 1 for IPv4, bit 2 for IPv6, for each valid address in a nets list. */
function netVersions(nets: unknown): number {
  if (!Array.isArray(nets)) return 0;
  let bits = 0;
  for (let i = 0; i < nets.length; i++) {
    const n: unknown = nets[i];
    const cidr = typeof n === 'string' ? netOf(n) : null;
    if (cidr) bits |= versionBit(cidr.version);
  }
  return bits;
}

/**
 * Checks that need more than the schema, for one rule at `${dir}[${index}]`. Runs for every rule
 * of every policy review, so field paths are only built for a finding, and the loops are
 * indexed (a for-of over an array allocates in code V8 has not fully optimized).
 */
function ruleErrors(dir: string, index: number, rule: Obj, out: PathMessage[]): void {
  const rawProtocol = rule['protocol'];
  // An object or array is reported by the schema; String() of one may throw (an own toString key).
  const protocol = rawProtocol === undefined ? undefined : typeof rawProtocol === 'object' && rawProtocol !== null ? '<not a protocol>' : String(rawProtocol).toLowerCase();
  const at = (): string => `${dir}[${index}]`;
  let versions = 0;
  for (let s = 0; s < SIDES.length; s++) {
    const side = SIDES[s]!;
    const entity = asObj(rule[side]);
    if (entity === null) continue;
    for (let f = 0; f < ENTITY_SELECTORS.length; f++) {
      const field = ENTITY_SELECTORS[f]!;
      const message = selectorError(entity[field]);
      if (message !== null) out.push({ path: `${at()}.${side}.${field}`, message });
    }
    const sa = asObj(entity['serviceAccounts']);
    if (sa) {
      const message = selectorError(sa['selector']);
      if (message !== null) out.push({ path: `${at()}.${side}.serviceAccounts.selector`, message });
    }
    for (let f = 0; f < PORT_FIELDS.length; f++) {
      const field = PORT_FIELDS[f]!;
      const ports = entity[field];
      if (ports === undefined) continue;
      portRangeErrors(at, side, field, ports, out);
      if (nonEmpty(ports) && (protocol === undefined || !PORT_PROTOCOLS.has(protocol))) {
        out.push({
          path: `${at()}.${side}.${field}`,
          message: `${field} need protocol TCP, UDP or SCTP, but protocol is ${protocol === undefined ? 'not set' : JSON.stringify(rawProtocol)}; Calico rejects the policy. Fix: set protocol on this rule (one rule per protocol)`,
        });
      }
    }
    versions |= netVersions(entity['nets']) | netVersions(entity['notNets']);
    if (asObj(entity['services']) && NOT_WITH_SERVICES.some((f) => entity[f] !== undefined)) {
      out.push({ path: `${at()}.${side}.services`, message: 'services cannot be combined with nets, selectors or ports in the same entity; Calico rejects the policy' });
    }
  }
  if (versions === 3) out.push({ path: at(), message: 'rule mixes IPv4 and IPv6 nets; Calico accepts one IP version per rule. Fix: split it into an IPv4 rule and an IPv6 rule' });
  const ipVersion = rule['ipVersion'];
  if ((ipVersion === 4 || ipVersion === 6) && (versions === 1 || versions === 2) && versions !== (ipVersion === 4 ? 1 : 2)) {
    out.push({ path: `${at()}.ipVersion`, message: `ipVersion ${ipVersion} does not match the rule's nets` });
  }
  for (let f = 0; f < ICMP_FIELDS.length; f++) {
    const field = ICMP_FIELDS[f]!;
    if (rule[field] !== undefined && (protocol === undefined || !ICMP_PROTOCOLS.has(protocol))) {
      out.push({ path: `${at()}.${field}`, message: `${field} needs protocol ICMP or ICMPv6` });
    }
  }
}

export const gnpSchema: Rule = {
  id: 'gnp-schema',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['validate'],
  defaultAction: 'enforce',
  gatesPatches: true,
  doc: 'A GlobalNetworkPolicy must be valid for Calico (fields, types, actions, protocols, ports, nets, selectors). crd.projectcalico.org/v1 writes skip Calico validation and Felix silently drops policies it cannot parse.',
  check({ object }) {
    const problems: PathMessage[] = [];
    let valid: boolean;
    try {
      valid = validateGnp(object);
    } catch {
      // ajv's uniqueItems (spec.types) compares objects with fast-deep-equal, which calls an own "valueOf" key.
      problems.push({ path: 'spec.types', message: 'must list "Ingress" and/or "Egress" as strings' });
      valid = true;
    }
    if (!valid) problems.push(...schemaFindings(validateGnp.errors ?? []));
    const spec = asObj(object.spec) ?? {};
    for (let f = 0; f < POLICY_SELECTORS.length; f++) {
      const message = selectorError(spec[POLICY_SELECTORS[f]!]);
      if (message !== null) problems.push({ path: `spec.${POLICY_SELECTORS[f]!}`, message });
    }
    for (let d = 0; d < DIRECTIONS.length; d++) {
      const rules = spec[DIRECTIONS[d]!];
      if (!Array.isArray(rules)) continue;
      for (let i = 0; i < rules.length; i++) {
        const rule = asObj(rules[i]);
        if (rule) ruleErrors(`spec.${DIRECTIONS[d]!}`, i, rule, problems);
      }
    }
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '<unnamed>'; // the schema reports a non-string
    return problems.map(({ path, message }, i): Finding => ({
      path,
      message:
        `GlobalNetworkPolicy "${name}" is invalid at ${path}: ${message}` +
        (i === problems.length - 1 ? ' (Calico rejects such a policy, or Felix silently drops it; fix the field and apply again)' : ''),
    }));
  },
};
