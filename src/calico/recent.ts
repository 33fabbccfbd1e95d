/**
 * A memo of the last few results, by identity of up to three keys.
 *
 * For work a review repeats (several flows judged against one policy list and host endpoint)
 * where the keys are the review's own objects. A WeakMap would keep those objects alive for
 * as long as their keys live, through young-generation collections, so every review's objects
 * would be promoted to the old generation; here at most `size` results outlive their review.
 */
export function recentMemo<A, B, C, V>(size: number, compute: (a: A, b: B, c: C) => V): (a: A, b: B, c: C) => V {
  const entries: { a: A; b: B; c: C; value: V }[] = [];
  let oldest = 0;
  return (a, b, c) => {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.a === a && e.b === b && e.c === c) return e.value;
    }
    const value = compute(a, b, c);
    const entry = { a, b, c, value };
    if (entries.length < size) {
      entries.push(entry);
    } else {
      entries[oldest] = entry;
      oldest = (oldest + 1) % size;
    }
    return value;
  };
}
