/**
 * Sets of integers kept as sorted, disjoint, non-adjacent closed intervals.
 *
 * Both port sets (1–65535) and address sets (IPv4 as 32-bit, IPv6 as 128-bit
 * numbers) reduce to this, so the arithmetic lives in one place. bigint keeps
 * IPv6 exact; ports convert at the edge.
 */

/** A closed interval [first, last], first <= last. */
export type Interval = readonly [first: bigint, last: bigint];

/** A normalized interval list: sorted by `first`, disjoint and non-adjacent. */
export type IntervalList = readonly Interval[];

export const EMPTY_INTERVALS: IntervalList = Object.freeze([]);

/**
 * Sorts and merges overlapping or adjacent intervals.
 * @example normalizeIntervals([[5n, 9n], [1n, 4n]]) // [[1n, 9n]]
 */
export function normalizeIntervals(intervals: Iterable<Interval>): IntervalList {
  // One interval (a single net or port range: the usual case) is normalized already.
  if (Array.isArray(intervals) && intervals.length <= 1) return intervals.length === 0 ? EMPTY_INTERVALS : Object.freeze([intervals[0]!]);
  const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Interval[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const first = sorted[i]![0];
    const last = sorted[i]![1];
    const prev = out[out.length - 1];
    if (prev !== undefined && first <= prev[1] + 1n) {
      if (last > prev[1]) out[out.length - 1] = [prev[0], last];
    } else {
      out.push([first, last]);
    }
  }
  return Object.freeze(out);
}

/** `a` minus `b`; both normalized. */
export function subtractIntervals(a: IntervalList, b: IntervalList): IntervalList {
  if (a.length === 0 || b.length === 0) return a;
  const out: Interval[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const last = a[i]![1];
    let start = a[i]![0];
    // Skip holes that end before this interval starts.
    while (j < b.length && b[j]![1] < start) j++;
    let k = j;
    while (k < b.length && b[k]![0] <= last) {
      const holeFirst = b[k]![0];
      const holeLast = b[k]![1];
      if (holeFirst > start) out.push([start, holeFirst - 1n]);
      if (holeLast >= last) {
        start = last + 1n;
        break;
      }
      start = holeLast + 1n;
      k++;
    }
    if (start <= last) out.push([start, last]);
  }
  return Object.freeze(out);
}

/** `a` ∩ `b`; both normalized. */
export function intersectIntervals(a: IntervalList, b: IntervalList): IntervalList {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const first = x[0] > y[0] ? x[0] : y[0];
    const last = x[1] < y[1] ? x[1] : y[1];
    if (first <= last) out.push([first, last]);
    if (x[1] < y[1]) i++;
    else j++;
  }
  return Object.freeze(out);
}

/**
 * True when every member of `inner` is in `outer`; both normalized. `outer`'s intervals are
 * disjoint and non-adjacent, so each inner interval must lie inside a single one of them.
 * Allocates nothing (it runs for every rule a flow meets).
 */
export function intervalsCoverAll(outer: IntervalList, inner: IntervalList): boolean {
  let j = 0;
  for (let i = 0; i < inner.length; i++) {
    const first = inner[i]![0];
    const last = inner[i]![1];
    while (j < outer.length && outer[j]![1] < first) j++;
    const o = outer[j];
    if (o === undefined || o[0] > first || o[1] < last) return false;
  }
  return true;
}

/** True when `a` and `b` share at least one member; both normalized. */
export function intervalsIntersect(a: IntervalList, b: IntervalList): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x[0] <= y[1] && y[0] <= x[1]) return true;
    if (x[1] < y[1]) i++;
    else j++;
  }
  return false;
}
