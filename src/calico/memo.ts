/**
 * The caches of the policy model, one mechanism per lifetime (a compute that throws caches nothing):
 * - ParseCache: parse results by input text (selectors, nets, ports), bounded in bytes and gauged;
 * - perSnapshot (src/cluster/derived.ts): data derived from a cluster snapshot, kept while the
 *   snapshot's lists it reads live;
 * - perObject: data derived from one immutable object (a stored policy, a host endpoint view),
 *   kept while the object lives;
 * - recentMemo: the last few results of a review's own work, by identity of its keys.
 */

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
 * Data derived from an immutable object (a stored policy, a host endpoint view, a Net),
 * computed on first use and kept while the object lives. A WeakMap: never for a review's own
 * objects (see recentMemo).
 */
export function perObject<K extends object, V>(compute: (key: K) => V): (key: K) => V {
  const values = new WeakMap<K, V>();
  return (key) => {
    let value = values.get(key);
    if (value === undefined) values.set(key, (value = compute(key)));
    return value;
  };
}

/**
 * A cache of parse results by input text, for texts that repeat across reviews (selectors,
 * addresses, ports), bounded in bytes: each entry is charged an estimate of what it holds (the
 * key's characters and the value's `sizeOf`), and the oldest entries go first once `maxBytes`
 * would be passed, with a second chance for entries used since they were added (the "clock"
 * scheme, so hot entries stay). An entry larger than a quarter of the budget is not kept. A
 * compute that throws caches nothing. A hit changes nothing in the map, so the caller's string
 * (a review's) is not kept as a key.
 */
export class ParseCache<V> {
  readonly name: string;
  readonly maxBytes: number;
  readonly #compute: (key: string) => V;
  readonly #sizeOf: (key: string, value: V) => number;
  readonly #entries = new Map<string, { value: V; bytes: number; used: boolean }>();
  #bytes = 0;

  constructor(name: string, maxBytes: number, compute: (key: string) => V, sizeOf: (key: string, value: V) => number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, not ${maxBytes}`);
    this.name = name;
    this.maxBytes = maxBytes;
    this.#compute = compute;
    this.#sizeOf = sizeOf;
  }

  /** The estimated bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V {
    const entries = this.#entries;
    const hit = entries.get(key);
    if (hit !== undefined) {
      hit.used = true;
      return hit.value;
    }
    const value = this.#compute(key);
    // Strings are charged two bytes a character (V8 keeps some as UTF-16), plus the Map entry.
    const bytes = 2 * key.length + this.#sizeOf(key, value) + 64;
    if (bytes > this.maxBytes / 4) return value;
    while (this.#bytes + bytes > this.maxBytes) {
      const [oldestKey, oldest] = entries.entries().next().value!;
      entries.delete(oldestKey);
      if (oldest.used) {
        // Used since it was last looked at: a second chance, at the back.
        oldest.used = false;
        entries.set(oldestKey, oldest);
      } else {
        this.#bytes -= oldest.bytes;
      }
    }
    entries.set(key, { value, bytes, used: false });
    this.#bytes += bytes;
    return value;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}

interface CacheGauge {
  readonly name: string;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly size: number;
}

// The process's shared parse caches (a handful, made at module load), for the gauge.
const PARSE_CACHES = new Set<CacheGauge>();

/** Counts a shared parse cache in parseCacheStats; returns it. */
export function gauged<C extends CacheGauge>(cache: C): C {
  PARSE_CACHES.add(cache);
  return cache;
}

/** Each parse cache's name, estimated bytes, bound and entry count, for a metric. */
export function parseCacheStats(): { name: string; bytes: number; maxBytes: number; entries: number }[] {
  return [...PARSE_CACHES].map((c) => ({ name: c.name, bytes: c.bytes, maxBytes: c.maxBytes, entries: c.size }));
}
