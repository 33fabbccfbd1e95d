import fc from 'fast-check';
import t from 'tap';
import {
  intersectIntervals,
  intervalsCoverAll,
  intervalsIntersect,
  normalizeIntervals,
  subtractIntervals,
  type IntervalList,
} from '../../src/calico/intervals.ts';

const list = (...pairs: Array<[number, number]>): IntervalList => normalizeIntervals(pairs.map(([a, b]) => [BigInt(a), BigInt(b)] as const));

t.test('coverage, table', async (t) => {
  const cases: Array<[string, IntervalList, IntervalList, boolean]> = [
    ['empty inner is covered', list(), list(), true],
    ['anything non-empty is not covered by nothing', list(), list([1, 1]), false],
    ['inside one interval', list([1, 10]), list([2, 3], [5, 10]), true],
    ['spills over the end', list([1, 10]), list([5, 11]), false],
    ['starts before', list([5, 10]), list([4, 6]), false],
    ['falls in a hole between two', list([1, 4], [6, 9]), list([3, 7]), false],
    ['each inner in a different outer', list([1, 4], [6, 9], [20, 30]), list([2, 2], [7, 9], [20, 20]), true],
    ['last inner beyond every outer', list([1, 4], [6, 9]), list([2, 2], [10, 10]), false],
    ['adjacent inputs merge first', list([1, 4], [5, 9]), list([3, 7]), true],
  ];
  for (const [name, outer, inner, want] of cases) t.equal(intervalsCoverAll(outer, inner), want, name);
});

t.test('normalizing: empty, one interval, and several out of order', async (t) => {
  t.same(normalizeIntervals([]), []);
  t.same(normalizeIntervals([[3n, 7n]]), [[3n, 7n]]);
  t.ok(Object.isFrozen(normalizeIntervals([[3n, 7n]])));
  t.same(normalizeIntervals([[8n, 9n], [1n, 2n], [3n, 5n]]), [[1n, 5n], [8n, 9n]], 'adjacent ones merge');
  t.same(normalizeIntervals(new Set([[2n, 2n] as const])), [[2n, 2n]], 'any iterable');
});

/** A random normalized list over a small range, so overlaps, holes and adjacency all occur. */
const intervals = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 8 })), { maxLength: 6 })
  .map((pairs) => list(...pairs.map(([a, len]): [number, number] => [a, a + len])));

t.test('coverage and intersection agree with the set arithmetic they shortcut', async (t) => {
  fc.assert(
    fc.property(intervals, intervals, (a, b) => {
      t.equal(intervalsCoverAll(a, b), subtractIntervals(b, a).length === 0);
      t.equal(intervalsIntersect(a, b), intersectIntervals(a, b).length > 0);
    }),
    { numRuns: 500 },
  );
});
