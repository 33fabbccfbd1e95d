/**
 * Calico port syntax in rule `ports` / `notPorts` (api/pkg/lib/numorstring/port.go
 * `PortFromString`, checked by libcalico-go's validator):
 *
 *   - a number, 1–65535 (YAML int or a string of digits: `80`, `"80"`);
 *   - a range `"min:max"`, both 1–65535, min <= max (`"30000:32767"`);
 *   - a named port, `^[a-zA-Z0-9_.-]{1,128}$`, resolved by Felix against the
 *     `ports` list of the endpoints the rule's selector picks.
 *
 * Numbers are held as interval sets so `ports` minus `notPorts` and flow
 * containment are exact.
 */
import {
  EMPTY_INTERVALS,
  intersectIntervals,
  intervalsCoverAll,
  intervalsIntersect,
  normalizeIntervals,
  subtractIntervals,
  type Interval,
  type IntervalList,
} from './intervals.ts';
import { gauged, ParseCache } from './memo.ts';
import { report, type Problems } from './validation.ts';

export const MIN_PORT = 1;
export const MAX_PORT = 65535;

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** One parsed entry of `ports` / `notPorts`. */
export type PortValue =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'named'; readonly name: string };

export class PortSyntaxError extends Error {
  readonly input: unknown;
  constructor(input: unknown, reason: string) {
    super(`${typeof input === 'string' ? JSON.stringify(input) : typeof input === 'number' ? String(input) : typeof input} is not a valid port: ${reason}`);
    this.name = 'PortSyntaxError';
    this.input = input;
  }
}

const DIGITS = /^[0-9]+$/;
const RANGE = /^([0-9]+):([0-9]+)$/;
const NAMED = /^[a-zA-Z0-9_.-]{1,128}$/;

function checkNumber(input: unknown, n: number, what: string): number {
  if (!Number.isInteger(n) || n < MIN_PORT || n > MAX_PORT) {
    throw new PortSyntaxError(input, `${what} must be a whole number from ${MIN_PORT} to ${MAX_PORT}`);
  }
  return n;
}

/**
 * Parses one entry of `ports` / `notPorts`. Throws PortSyntaxError.
 * @example parsePort(443)            // { kind: 'range', min: 443, max: 443 }
 * @example parsePort('30000:32767')  // { kind: 'range', min: 30000, max: 32767 }
 * @example parsePort('metrics')      // { kind: 'named', name: 'metrics' }
 */
export function parsePort(value: unknown): PortValue {
  // A number needs no cache: its PortValue is made as fast as it is looked up.
  return typeof value === 'string' ? portCache.get(value) : parsePortUncached(value);
}

// Port entries repeat across rules and requests, and a PortValue is immutable: one is shared.
const portCache = gauged(new ParseCache('ports', 1024 * 1024, parsePortUncached, (text) => 64 + 2 * text.length));

function parsePortUncached(value: unknown): PortValue {
  if (typeof value === 'number' || (typeof value === 'string' && DIGITS.test(value))) {
    const n = checkNumber(value, Number(value), 'a port number');
    return Object.freeze({ kind: 'range', min: n, max: n });
  }
  if (typeof value !== 'string') throw new PortSyntaxError(value, 'expected a number, "min:max" or a port name');
  const range = RANGE.exec(value);
  if (range !== null) {
    const min = checkNumber(value, Number(range[1]), 'the minimum');
    const max = checkNumber(value, Number(range[2]), 'the maximum');
    if (min > max) throw new PortSyntaxError(value, `the minimum (${min}) is greater than the maximum (${max})`);
    return Object.freeze({ kind: 'range', min, max });
  }
  if (!NAMED.test(value)) {
    throw new PortSyntaxError(value, 'a port name is 1–128 characters of letters, digits, "_", "." and "-"');
  }
  return Object.freeze({ kind: 'named', name: value });
}

/**
 * Parses a numeric port or port range; named ports are refused.
 * @example parsePortRange('30000:32767')  // { min: 30000, max: 32767 }
 */
export function parsePortRange(value: string | number): PortRange {
  const port = parsePort(value);
  if (port.kind === 'named') throw new PortSyntaxError(value, 'expected a number or "min:max", not a port name');
  return Object.freeze({ min: port.min, max: port.max });
}

/** Sorted, merged intervals; ports are sorted and merged as numbers, and only the result becomes bigint. */
function toIntervals(ranges: readonly PortRange[]): IntervalList {
  if (ranges.length === 0) return EMPTY_INTERVALS;
  if (ranges.length === 1) return Object.freeze([Object.freeze([BigInt(ranges[0]!.min), BigInt(ranges[0]!.max)] as const)]);
  const sorted = ranges.slice().sort((a, b) => a.min - b.min);
  const out: Interval[] = [];
  let first = sorted[0]!.min;
  let last = sorted[0]!.max;
  for (let i = 1; i < sorted.length; i++) {
    const r = sorted[i]!;
    if (r.min <= last + 1) {
      if (r.max > last) last = r.max;
    } else {
      out.push([BigInt(first), BigInt(last)]);
      first = r.min;
      last = r.max;
    }
  }
  out.push([BigInt(first), BigInt(last)]);
  return Object.freeze(out);
}

/**
 * A set of port numbers (1–65535) as sorted disjoint ranges.
 * @example
 *   const rule = PortIntervalSet.ALL.minus(PortIntervalSet.of(['30000:32767']));
 *   rule.coversAll(PortIntervalSet.of(['1:29999']));   // true
 *   rule.intersects(PortIntervalSet.of([30080]));      // false
 */
export class PortIntervalSet {
  readonly #intervals: IntervalList;

  private constructor(intervals: IntervalList) {
    this.#intervals = intervals;
    Object.freeze(this);
  }

  static readonly EMPTY: PortIntervalSet = new PortIntervalSet(EMPTY_INTERVALS);
  static readonly ALL: PortIntervalSet = new PortIntervalSet(toIntervals([{ min: MIN_PORT, max: MAX_PORT }]));

  /** The union of the given ports and ranges; strings use Calico syntax (named ports refused). */
  static of(items: Iterable<PortRange | number | string>): PortIntervalSet {
    const ranges: PortRange[] = [];
    for (const item of items) ranges.push(parsePortRange(typeof item === 'object' ? `${item.min}:${item.max}` : item));
    return new PortIntervalSet(toIntervals(ranges));
  }

  minus(other: PortIntervalSet): PortIntervalSet {
    if (this.#intervals.length === 0 || other.#intervals.length === 0) return this;
    return new PortIntervalSet(subtractIntervals(this.#intervals, other.#intervals));
  }

  intersect(other: PortIntervalSet): PortIntervalSet {
    return new PortIntervalSet(intersectIntervals(this.#intervals, other.#intervals));
  }

  /** True when every port of `other` is in this set (an empty `other` is covered). */
  coversAll(other: PortIntervalSet): boolean {
    return intervalsCoverAll(this.#intervals, other.#intervals);
  }

  intersects(other: PortIntervalSet): boolean {
    return intervalsIntersect(this.#intervals, other.#intervals);
  }

  isEmpty(): boolean {
    return this.#intervals.length === 0;
  }

  ranges(): PortRange[] {
    return this.#intervals.map(([first, last]) => ({ min: Number(first), max: Number(last) }));
  }

  /** Calico syntax, e.g. `1:29999,32768:65535`; `(no ports)` when empty. */
  toString(): string {
    if (this.#intervals.length === 0) return '(no ports)';
    return this.ranges()
      .map(({ min, max }) => (min === max ? String(min) : `${min}:${max}`))
      .join(',');
  }
}

/** A rule's `ports` and `notPorts`, compiled. */
export interface CompiledPorts {
  /** Numeric members of `ports`; ALL when `ports` is absent or empty. */
  readonly ports: PortIntervalSet;
  readonly namedPorts: readonly string[];
  /** Numeric members of `notPorts`. */
  readonly notPorts: PortIntervalSet;
  readonly notNamedPorts: readonly string[];
  /** True when neither `ports` nor `notPorts` constrains anything. */
  readonly unconstrained: boolean;
  /**
   * The ports the side certainly matches (`lower`) and possibly matches (`upper`), per way of
   * reading a named port, worked out at compile time (they are read for every flow a rule meets).
   *
   * `match-nothing` — for traffic to a host endpoint. Felix resolves a named port through the
   * `ports` list of the endpoints the rule selects; a host endpoint view here carries no `ports`
   * list, so a named port is taken to match nothing on it (and a named `notPorts` entry to
   * exclude nothing).
   *
   * `unknown` — for traffic to a network (pod CIDR, cluster IP), where some workload there may
   * expose the named port: a named port may match any port, a named `notPorts` entry may
   * exclude any port.
   */
  readonly bounds: Readonly<Record<NamedPortMode, PortBounds>>;
}

/** How a named port is read: see CompiledPorts.bounds. */
export type NamedPortMode = 'match-nothing' | 'unknown';

export interface PortBounds {
  readonly lower: PortIntervalSet;
  readonly upper: PortIntervalSet;
}

const ALL_BOUNDS: PortBounds = Object.freeze({ lower: PortIntervalSet.ALL, upper: PortIntervalSet.ALL });

export const UNCONSTRAINED_PORTS: CompiledPorts = Object.freeze({
  ports: PortIntervalSet.ALL,
  namedPorts: Object.freeze([]),
  notPorts: PortIntervalSet.EMPTY,
  notNamedPorts: Object.freeze([]),
  unconstrained: true,
  bounds: Object.freeze({ 'match-nothing': ALL_BOUNDS, unknown: ALL_BOUNDS }),
});

interface SplitList {
  numeric: PortRange[];
  named: string[];
  count: number;
}

const EMPTY_LIST: SplitList = Object.freeze({ numeric: [], named: [], count: 0 }) as SplitList;

/** `ports` or `notPorts` at `${base}.${key}`; the path is only built for an error. */
function splitList(list: unknown, base: string, key: string, problems: Problems): SplitList {
  if (list === undefined || list === null) return EMPTY_LIST;
  if (!Array.isArray(list)) {
    report(problems, `${base}.${key}`, 'must be a list of ports');
    return EMPTY_LIST;
  }
  if (list.length === 0) return EMPTY_LIST;
  const numeric: PortRange[] = [];
  const named: string[] = [];
  for (let i = 0; i < list.length; i++) {
    try {
      const port = parsePort(list[i]);
      if (port.kind === 'named') named.push(port.name);
      else numeric.push(port);
    } catch (err) {
      report(problems, `${base}.${key}[${i}]`, (err as Error).message);
    }
  }
  return { numeric, named, count: list.length };
}

/**
 * Compiles `ports` / `notPorts` of one side of a rule at `path`. Invalid entries are
 * reported in `problems` and left out of the sets.
 */
export function compilePorts(ports: unknown, notPorts: unknown, path: string, problems: Problems): CompiledPorts {
  // Port lists repeat across rules, policies and reviews (443, 53, the node-port range...), and
  // a CompiledPorts is immutable: valid short lists are compiled once, keyed by their JSON.
  if (isEmptyList(ports) && isEmptyList(notPorts)) return UNCONSTRAINED_PORTS; // most rule sides
  const key = cacheKey(ports, notPorts);
  if (key === undefined) return compileUncached(ports, notPorts, path, problems);
  const compiled = compiledCache.get(key);
  if (compiled === INVALID_PORTS) {
    // The cache only remembers that the list is invalid: it is compiled again for its problems, at this path.
    return compileUncached(ports, notPorts, path, problems);
  }
  return compiled;
}

/** Stands in the cache for a list with errors, which are reported afresh (they name the path). */
const INVALID_PORTS: CompiledPorts = Object.freeze({ ...UNCONSTRAINED_PORTS });

const compiledCache = gauged(
  new ParseCache<CompiledPorts>(
    'compiled ports',
    2 * 1024 * 1024,
    (key) => {
      const [ports, notPorts] = JSON.parse(key) as [unknown, unknown];
      const problems: Problems = [];
      const compiled = compileUncached(ports, notPorts, '', problems);
      return problems.length === 0 ? compiled : INVALID_PORTS;
    },
    // Interval sets of a few ranges, the named-port lists and two bound pairs.
    (key) => 1024 + 2 * key.length,
  ),
);

/** The cache key of a `ports` / `notPorts` pair: only absent lists and short lists of numbers and strings have one. */
const cacheKey = (ports: unknown, notPorts: unknown): string | undefined =>
  cacheableList(ports) && cacheableList(notPorts) ? JSON.stringify([ports ?? null, notPorts ?? null]) : undefined;

function isEmptyList(list: unknown): boolean {
  return list === undefined || list === null || (Array.isArray(list) && list.length === 0);
}

function cacheableList(list: unknown): boolean {
  if (list === undefined || list === null) return true;
  if (!Array.isArray(list) || list.length > 16) return false;
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (typeof item !== 'number' && (typeof item !== 'string' || item.length > 32)) return false;
  }
  return true;
}

function compileUncached(ports: unknown, notPorts: unknown, path: string, problems: Problems): CompiledPorts {
  const inc = splitList(ports, path, 'ports', problems);
  const exc = splitList(notPorts, path, 'notPorts', problems);
  if (inc.count === 0 && exc.count === 0) return UNCONSTRAINED_PORTS;
  const included = inc.count === 0 ? PortIntervalSet.ALL : PortIntervalSet.of(inc.numeric);
  const excluded = PortIntervalSet.of(exc.numeric);
  const base = included.minus(excluded);
  const onHost: PortBounds = Object.freeze({ lower: base, upper: base });
  const onNetwork: PortBounds =
    inc.named.length === 0 && exc.named.length === 0
      ? onHost
      : Object.freeze({
          lower: exc.named.length > 0 ? PortIntervalSet.EMPTY : base,
          upper: inc.named.length > 0 ? PortIntervalSet.ALL.minus(excluded) : base,
        });
  return Object.freeze({
    ports: included,
    namedPorts: Object.freeze(inc.named),
    notPorts: excluded,
    notNamedPorts: Object.freeze(exc.named),
    unconstrained: false,
    bounds: Object.freeze({ 'match-nothing': onHost, unknown: onNetwork }),
  });
}
