/**
 * IP addresses and CIDRs as Calico reads them in `nets`, `notNets`,
 * `expectedIPs` and IPPool / BGPConfiguration CIDRs.
 *
 * Calico parses these with Go's net.ParseCIDR / net.ParseIP
 * (libcalico-go/lib/net `ParseCIDROrIP`): a bare address is a /32 or /128,
 * host bits of a CIDR are dropped, IPv4 is strict dotted decimal (no leading
 * zeros, no shorthand like `10.1`), IPv6 zones (`%eth0`) are refused.
 *
 * Addresses are held as bigint so that containment and overlap are plain
 * comparisons, for IPv4 and IPv6 alike. Different IP versions never contain,
 * overlap or match each other.
 */
import ipaddr from 'ipaddr.js';
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
import { gauged, ParseCache, perObject } from './memo.ts';
import { describe } from './validation.ts';

export type IPVersion = 4 | 6;

/** A parsed, normalized IP network. */
export interface Net {
  readonly version: IPVersion;
  readonly prefixLength: number;
  /** Network address (host bits cleared). */
  readonly first: bigint;
  /** Last address in the network. */
  readonly last: bigint;
  /** Canonical text, e.g. `10.20.30.40/32`, `fd00:10::/48`. */
  readonly cidr: string;
}

/** Thrown by parseNet; the message quotes the input as written. */
export class NetSyntaxError extends Error {
  readonly input: unknown;
  constructor(input: unknown) {
    super(`${describe(input)} is not an IP address or CIDR`);
    this.name = 'NetSyntaxError';
    this.input = input;
  }
}

const BITS: Record<IPVersion, number> = { 4: 32, 6: 128 };
const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const PREFIX = /^[0-9]{1,3}$/;

function ipv4ToBigint(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function ipv6ToBigint(text: string): bigint | undefined {
  // Go refuses zones in CIDRs and in ParseIP; ipaddr.js would accept them.
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  let value = 0n;
  for (const part of ipaddr.IPv6.parse(text).parts) value = (value << 16n) | BigInt(part);
  return value;
}

function formatAddress(version: IPVersion, value: bigint): string {
  if (version === 4) {
    const octets: number[] = [];
    for (let shift = 24n; shift >= 0n; shift -= 8n) octets.push(Number((value >> shift) & 0xffn));
    return octets.join('.');
  }
  const parts: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) parts.push(Number((value >> shift) & 0xffffn));
  return new ipaddr.IPv6(parts).toString();
}

function makeNet(version: IPVersion, address: bigint, prefixLength: number): Net {
  const hostBits = BigInt(BITS[version] - prefixLength);
  const first = (address >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  return Object.freeze({
    version,
    prefixLength,
    first,
    last,
    cidr: `${formatAddress(version, first)}/${prefixLength}`,
  });
}

/**
 * Parses an IP address or CIDR. Throws NetSyntaxError.
 * @example parseNet('10.20.30.40').cidr       // '10.20.30.40/32'
 * @example parseNet('fd00:10::1/48').cidr     // 'fd00:10::/48'
 */
export function parseNet(text: unknown): Net {
  if (typeof text !== 'string') throw new NetSyntaxError(text);
  return netCache.get(text);
}

// Addresses repeat across policies and requests; a Net is immutable, so one is shared. A Net is
// two bigints, two numbers and its canonical text.
const netCache = gauged(new ParseCache('nets', 2 * 1024 * 1024, parseNetUncached, (_text, net) => 160 + 2 * net.cidr.length));

function parseNetUncached(text: string): Net {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const version: IPVersion = addressText.includes(':') ? 6 : 4;
  const address = version === 4 ? ipv4ToBigint(addressText) : ipv6ToBigint(addressText);
  if (address === undefined) throw new NetSyntaxError(text);
  let prefixLength = BITS[version];
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!PREFIX.test(prefixText)) throw new NetSyntaxError(text);
    prefixLength = Number(prefixText);
    if (prefixLength > BITS[version]) throw new NetSyntaxError(text);
  }
  return makeNet(version, address, prefixLength);
}

/** parseNet without the throw: undefined for anything that is not an IP or CIDR. */
export function tryParseNet(text: unknown): Net | undefined {
  try {
    return parseNet(text);
  } catch {
    return undefined;
  }
}

/** True when `inner` lies entirely inside `outer` (same IP version). */
export function netContains(outer: Net, inner: Net): boolean {
  return outer.version === inner.version && outer.first <= inner.first && inner.last <= outer.last;
}

/** The smallest list of CIDRs that exactly covers an interval. */
function intervalToCidrs(version: IPVersion, [first, last]: Interval): string[] {
  const bits = BITS[version];
  const out: string[] = [];
  let start = first;
  while (start <= last) {
    // Largest aligned block starting at `start` that fits in the interval.
    let size = 0;
    while (size < bits) {
      const next = BigInt(size + 1);
      if (((start >> next) << next) !== start) break;
      if (start + (1n << next) - 1n > last) break;
      size++;
    }
    out.push(`${formatAddress(version, start)}/${bits - size}`);
    start += 1n << BigInt(size);
  }
  return out;
}

type NetLike = Net | string;

function byVersion(nets: Iterable<NetLike>): Record<IPVersion, IntervalList> {
  const v4: Interval[] = [];
  const v6: Interval[] = [];
  for (const value of nets) {
    const net = typeof value === 'string' ? parseNet(value) : value;
    (net.version === 4 ? v4 : v6).push([net.first, net.last]);
  }
  return { 4: normalizeIntervals(v4), 6: normalizeIntervals(v6) };
}

/** 1 for IPv4, 2 for IPv6: sets of IP versions as bits. */
export const versionBit = (version: IPVersion): number => (version === 4 ? 1 : 2);

/** Each set of IP versions as a list, indexed by its bits. */
const VERSIONS: readonly (readonly IPVersion[])[] = Object.freeze([
  Object.freeze([] as IPVersion[]),
  Object.freeze([4] as IPVersion[]),
  Object.freeze([6] as IPVersion[]),
  Object.freeze([4, 6] as IPVersion[]),
]);

/** The shared, frozen list of the IP versions present (no allocation: this runs per flow). */
export function versionList(has4: boolean, has6: boolean): readonly IPVersion[] {
  return VERSIONS[(has4 ? versionBit(4) : 0) | (has6 ? versionBit(6) : 0)]!;
}

/**
 * A set of addresses of either IP version: `nets` (all addresses when
 * omitted) minus `notNets`. Exact, however the CIDRs overlap or abut.
 *
 * @example
 *   const rule = NetSet.from({ notNets: ['10.0.0.0/8'] });
 *   rule.coversAll(parseNet('192.168.0.0/16'));   // true
 *   rule.intersects(parseNet('10.1.0.0/16'));     // false
 */
export class NetSet {
  readonly #parts: Record<IPVersion, IntervalList>;
  /** restrictTo results, built on first use (sets are immutable, so one serves every caller). */
  #only4: NetSet | undefined;
  #only6: NetSet | undefined;

  private constructor(v4: IntervalList, v6: IntervalList) {
    this.#parts = { 4: v4, 6: v6 };
    Object.freeze(this);
  }

  static readonly EMPTY: NetSet = new NetSet(EMPTY_INTERVALS, EMPTY_INTERVALS);
  static readonly ANY: NetSet = new NetSet(normalizeIntervals([[0n, (1n << 32n) - 1n]]), normalizeIntervals([[0n, (1n << 128n) - 1n]]));

  /** Every address of one IP version. */
  static all(version: IPVersion): NetSet {
    return NetSet.ANY.restrictTo(version);
  }

  /** Exactly one network; the set is shared per Net (parseNet shares Nets per text). */
  static readonly ofNet: (net: Net) => NetSet = perObject((net: Net) => {
    const interval: IntervalList = Object.freeze([Object.freeze([net.first, net.last] as const)]);
    return net.version === 4 ? new NetSet(interval, EMPTY_INTERVALS) : new NetSet(EMPTY_INTERVALS, interval);
  });

  /**
   * `nets` (every address of both versions when undefined) minus `notNets`.
   * Strings are parsed with parseNet and may throw NetSyntaxError.
   */
  static from(spec: { nets?: Iterable<NetLike> | undefined; notNets?: Iterable<NetLike> | undefined }): NetSet {
    const base = spec.nets === undefined ? NetSet.ANY : NetSet.of(spec.nets);
    if (spec.notNets === undefined) return base;
    return base.minus(NetSet.of(spec.notNets));
  }

  /**
   * Exactly the listed networks.
   * @example NetSet.of(['192.168.0.0/16', 'fd00:10::/48'])
   */
  static of(nets: Iterable<NetLike>): NetSet {
    const parts = byVersion(nets);
    return new NetSet(parts[4], parts[6]);
  }

  /** The members of one IP version only. */
  restrictTo(version: IPVersion): NetSet {
    const other = version === 4 ? 6 : 4;
    if (this.#parts[other].length === 0) return this;
    if (version === 4) return (this.#only4 ??= new NetSet(this.#parts[4], EMPTY_INTERVALS));
    return (this.#only6 ??= new NetSet(EMPTY_INTERVALS, this.#parts[6]));
  }

  minus(other: NetSet): NetSet {
    return new NetSet(
      subtractIntervals(this.#parts[4], other.#parts[4]),
      subtractIntervals(this.#parts[6], other.#parts[6]),
    );
  }

  intersect(other: NetSet): NetSet {
    return new NetSet(
      intersectIntervals(this.#parts[4], other.#parts[4]),
      intersectIntervals(this.#parts[6], other.#parts[6]),
    );
  }

  isEmpty(): boolean {
    return this.#parts[4].length === 0 && this.#parts[6].length === 0;
  }

  /** The IP versions that have at least one member, ascending. */
  versions(): readonly IPVersion[] {
    return versionList(this.#parts[4].length > 0, this.#parts[6].length > 0);
  }

  /** True when every address of `x` is in this set. An empty `x` is covered. */
  coversAll(x: Net | NetSet): boolean {
    const other = x instanceof NetSet ? x : NetSet.of([x]);
    return (
      intervalsCoverAll(this.#parts[4], other.#parts[4]) && intervalsCoverAll(this.#parts[6], other.#parts[6])
    );
  }

  /** True when this set and `x` share at least one address. */
  intersects(x: Net | NetSet): boolean {
    const other = x instanceof NetSet ? x : NetSet.of([x]);
    return (
      intervalsIntersect(this.#parts[4], other.#parts[4]) || intervalsIntersect(this.#parts[6], other.#parts[6])
    );
  }

  /** Minimal CIDR list, IPv4 first, e.g. `['10.0.0.0/8', 'fd00::/8']`. */
  toCidrs(): string[] {
    return [
      ...this.#parts[4].flatMap((interval) => intervalToCidrs(4, interval)),
      ...this.#parts[6].flatMap((interval) => intervalToCidrs(6, interval)),
    ];
  }

  toString(): string {
    const cidrs = this.toCidrs();
    if (cidrs.length === 0) return '(no addresses)';
    return cidrs.length > 6 ? `${cidrs.slice(0, 6).join(', ')}, … (${cidrs.length} CIDRs)` : cidrs.join(', ');
  }
}
