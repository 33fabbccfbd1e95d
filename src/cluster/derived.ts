import type { ClusterSnapshot } from './types.ts';

/** The snapshot's lists (and the BGPConfiguration): what derived data may depend on. */
type Part = Exclude<keyof ClusterSnapshot, 'source' | 'health'>;
type Level = WeakMap<object, Level | { readonly value: unknown }>;
/** Stands for an absent part (no BGPConfiguration, no NetworkPolicy lists). */
const ABSENT = {};

/**
 * Data derived from a cluster snapshot (compiled stored policies, host-endpoint groups,
 * reachability answers), computed on first use and kept while the parts it `reads` live. The
 * snapshot store keeps a list as it is while nothing in it changes, so a new snapshot after an
 * unrelated change (a Service, a NetworkPolicy) finds the value already there, and one after a
 * change of a part read computes it afresh, whatever else it shares with the last. `compute`
 * sees only the parts it declares, so it cannot depend on another unnoticed. Further arguments
 * (the config) are part of the key too.
 *
 * @example
 *   const compiled = perSnapshot(['globalNetworkPolicies'], (c) => c.globalNetworkPolicies.map(compile));
 */
export function perSnapshot<K extends Part, A extends object[], V>(reads: readonly K[], compute: (parts: Pick<ClusterSnapshot, K>, ...args: A) => V): (snapshot: Pick<ClusterSnapshot, K>, ...args: A) => V {
  const root: Level = new WeakMap();
  return (snapshot, ...args) => {
    let level = root;
    const keys: object[] = [...reads.map((k): object => snapshot[k] ?? ABSENT), ...args];
    for (let i = 0; i < keys.length - 1; i++) {
      let next = level.get(keys[i]!) as Level | undefined;
      if (next === undefined) level.set(keys[i]!, (next = new WeakMap()));
      level = next;
    }
    const hit = level.get(keys.at(-1)!) as { value: V } | undefined;
    if (hit !== undefined) return hit.value;
    const value = compute(snapshot, ...args);
    level.set(keys.at(-1)!, { value });
    return value;
  };
}
