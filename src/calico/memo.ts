/** Memos for the request path. A compute that throws caches nothing. */

/**
 * The last `size` results, by identity of up to three keys: for work a review repeats (several
 * flows judged against one policy list and host endpoint, several rules compiling the same
 * submitted policy) where the keys are the review's own objects. A WeakMap would keep those
 * objects alive as long as their keys live, through young-generation collections, so every
 * review's objects would be promoted to the old generation; here at most `size` results outlive
 * their review.
 */
export function recentMemo<A, V>(size: number, compute: (a: A) => V): (a: A) => V;
export function recentMemo<A, B, V>(size: number, compute: (a: A, b: B) => V): (a: A, b: B) => V;
export function recentMemo<A, B, C, V>(size: number, compute: (a: A, b: B, c: C) => V): (a: A, b: B, c: C) => V;
export function recentMemo<V>(size: number, compute: (a: unknown, b?: unknown, c?: unknown) => V): (a: unknown, b?: unknown, c?: unknown) => V {
  const entries: { a: unknown; b: unknown; c: unknown; value: V }[] = [];
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

/**
 * Results by key value, for texts that repeat across reviews (addresses, ports); it starts
 * afresh once `limit` keys are held, so memory stays bounded whatever arrives.
 */
export function boundedMemo<K, V>(limit: number, compute: (key: K) => V): (key: K) => V {
  const entries = new Map<K, V>();
  return (key) => {
    const hit = entries.get(key);
    if (hit !== undefined) return hit;
    const value = compute(key);
    if (entries.size >= limit) entries.clear();
    entries.set(key, value);
    return value;
  };
}
