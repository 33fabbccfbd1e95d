/**
 * Keeps a worker thread's copy of the cluster snapshot in step with the main thread's, posting
 * only what changed, in slices. Posting a whole snapshot clones it on the sender, in one go: on a
 * cluster of 35,000 objects that held the main thread (and every Service review waiting on it)
 * for hundreds of milliseconds on every change (bench/memory.ts measures it).
 *
 * - Sender (main thread): `snapshotMessages(posted, next)` compares the two snapshots' lists by
 *   object identity (the snapshot store keeps unchanged objects as they are) and yields
 *   messages of at most `SLICE_OBJECTS` objects each, ending with a commit; post one per
 *   macrotask so other work runs between them. `posted` null means everything.
 * - Receiver (worker): `snapshotReplica()` collects the parts and builds the new snapshot at the
 *   commit, so a review in between still sees one whole snapshot. Objects that did not change
 *   keep their identity in the worker too, so caches keyed by object stay warm.
 *
 * @example
 *   for (const msg of snapshotMessages(posted, next)) { worker.postMessage(msg); await setImmediate(); }
 *   // in the worker:
 *   const replica = snapshotReplica();
 *   port.on('message', (msg) => isSnapshotMessage(msg) && replica.apply(msg));
 */
import { EMPTY_SNAPSHOT, type ClusterSnapshot } from '../cluster/types.ts';

/**
 * Objects per message. Cloning costs about 20 µs per object of a realistic cluster
 * (bench:memory: 35,000 objects in 588–914 ms), so a slice holds the main thread 1–2 ms.
 */
export const SLICE_OBJECTS = 64;

type Fields = Record<string, unknown>;

/** Part of one list's change: indices removed from the old list (first part only), objects added at their new indices. */
export interface SnapshotPart {
  type: 'snapshot-part';
  field: string;
  removed: number[];
  added: Array<[number, unknown]>;
}

/** The end of a change: the other fields' new values (absent = unchanged; undefined = removed). */
export interface SnapshotCommit {
  type: 'snapshot-commit';
  values: Fields;
}

export type SnapshotMessage = SnapshotPart | SnapshotCommit;

export const isSnapshotMessage = (msg: { type?: unknown }): msg is SnapshotMessage => msg.type === 'snapshot-part' || msg.type === 'snapshot-commit';

export function* snapshotMessages(prev: ClusterSnapshot | null, next: ClusterSnapshot, slice = SLICE_OBJECTS): Generator<SnapshotMessage> {
  const before = (prev ?? EMPTY_SNAPSHOT) as unknown as Fields;
  const after = next as unknown as Fields;
  const values: Fields = {};
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const old = before[field];
    const now = after[field];
    if (old === now) continue;
    if (!Array.isArray(now)) {
      values[field] = now;
      continue;
    }
    const { removed, added } = listDelta(Array.isArray(old) ? old : [], now);
    if (removed.length === 0 && added.length === 0 && Array.isArray(old)) continue;
    for (let i = 0; i === 0 || i < added.length; i += slice) {
      yield { type: 'snapshot-part', field, removed: i === 0 ? removed : [], added: added.slice(i, i + slice) };
    }
  }
  yield { type: 'snapshot-commit', values };
}

/**
 * What turns `prev` into `next`. Both are sorted the same way (by key), so the objects in both
 * keep their order; where they do not (another source of snapshots), the whole list is resent.
 * The common head and tail are skipped by identity first: one changed Service among 20,000
 * leaves a middle of one or two objects to compare, instead of two sets of 20,000.
 */
function listDelta(prev: readonly unknown[], next: readonly unknown[]): { removed: number[]; added: Array<[number, unknown]> } {
  let start = 0;
  while (start < prev.length && start < next.length && prev[start] === next[start]) start++;
  let endPrev = prev.length;
  let endNext = next.length;
  while (endPrev > start && endNext > start && prev[endPrev - 1] === next[endNext - 1]) {
    endPrev--;
    endNext--;
  }
  const middle = middleDelta(prev.slice(start, endPrev), next.slice(start, endNext));
  if (middle === null) return { removed: prev.map((_, j) => j), added: next.map((o, j) => [j, o]) };
  return { removed: middle.removed.map((i) => i + start), added: middle.added.map(([i, o]) => [i + start, o]) };
}

/** The delta of two lists by identity, or null when the objects in both are not in the same order. */
function middleDelta(prev: readonly unknown[], next: readonly unknown[]): { removed: number[]; added: Array<[number, unknown]> } | null {
  const inNext = new Set(next);
  const inPrev = new Set(prev);
  const removed: number[] = [];
  const kept: unknown[] = [];
  prev.forEach((object, i) => (inNext.has(object) ? kept.push(object) : removed.push(i)));
  const added: Array<[number, unknown]> = [];
  let k = 0;
  for (let i = 0; i < next.length; i++) {
    const object = next[i];
    if (!inPrev.has(object)) added.push([i, object]);
    else if (kept[k++] !== object) return null;
  }
  return { removed, added };
}

export interface SnapshotReplica {
  apply(msg: SnapshotMessage): void;
  /** The last committed snapshot (empty before the first commit). */
  snapshot(): ClusterSnapshot;
}

export function snapshotReplica(): SnapshotReplica {
  let current: ClusterSnapshot = EMPTY_SNAPSHOT;
  let parts = new Map<string, { removed: Set<number>; added: Array<[number, unknown]> }>();
  return {
    apply(msg) {
      if (msg.type === 'snapshot-part') {
        const part = parts.get(msg.field);
        if (part === undefined) parts.set(msg.field, { removed: new Set(msg.removed), added: msg.added });
        else for (const entry of msg.added) part.added.push(entry);
        return;
      }
      const fields: Fields = { ...current, ...msg.values };
      for (const [field, { removed, added }] of parts) {
        const old = (current as unknown as Fields)[field];
        const kept = (Array.isArray(old) ? old : []).filter((_, i) => !removed.has(i));
        const list: unknown[] = [];
        for (let a = 0, k = 0; a < added.length || k < kept.length; ) list.push(a < added.length && (added[a]![0] === list.length || k >= kept.length) ? added[a++]![1] : kept[k++]);
        fields[field] = Object.freeze(list);
      }
      for (const field of Object.keys(fields)) if (fields[field] === undefined) delete fields[field];
      current = Object.freeze(fields) as unknown as ClusterSnapshot;
      parts = new Map();
    },
    snapshot: () => current,
  };
}
