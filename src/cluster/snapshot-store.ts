import type { KubeObject } from '../admission/types.ts';
import type { Config } from '../config/types.ts';
import { isExposed } from '../kube/exposure.ts';
import type { ClusterSnapshot } from './types.ts';
import { objectKey } from './resources.ts';
import type { Bucket } from './resources.ts';

/**
 * Objects by bucket and key, plus the snapshot built from them. The snapshot is rebuilt only
 * on the first `snapshot()` call after a change, so a request path that asks for it every
 * time pays for a rebuild once per change, not once per request, and gets the same object
 * back while nothing changes. Stored objects are kept as given (no copies): rules cache
 * compiled forms by object identity.
 *
 * Each bucket keeps its keys in order as they come and go, and its list is rebuilt only when
 * it changed: sorting all 35,000 objects of a large cluster on every change held the request
 * path for about 50 ms (bench/memory.ts); an unchanged bucket keeps its list, so the analysis
 * worker's copy (src/server/snapshot-sync.ts) skips it too.
 */
export class SnapshotStore {
  readonly #source: ClusterSnapshot['source'];
  readonly #config: Config;
  readonly #buckets: ReadonlyMap<Bucket, Map<string, KubeObject>> = new Map<Bucket, Map<string, KubeObject>>([
    ['globalNetworkPolicies', new Map()],
    ['hostEndpoints', new Map()],
    ['ipPools', new Map()],
    ['bgpConfigurations', new Map()],
    ['services', new Map()],
    ['networkPolicies', new Map()],
    ['kubernetesNetworkPolicies', new Map()],
  ]);
  /** Per bucket: its keys, sorted, and its list while it has not changed. */
  readonly #keys = new Map<Bucket, string[]>();
  readonly #lists = new Map<Bucket, readonly KubeObject[]>();
  #current: ClusterSnapshot | null = null;

  constructor(source: ClusterSnapshot['source'], config: Config) {
    this.#source = source;
    this.#config = config;
  }

  /** Adds or replaces an object; a Service that is not exposed is removed instead. */
  upsert(bucket: Bucket, object: KubeObject): void {
    const key = objectKey(object);
    if (key === undefined) return;
    const map = this.#map(bucket);
    if (bucket === 'services' && !isExposed(object, this.#config)) {
      if (map.delete(key)) this.#changed(bucket, key, 'removed');
      return;
    }
    const had = map.get(key);
    if (had === object) return;
    map.set(key, object);
    this.#changed(bucket, key, had === undefined ? 'added' : 'replaced');
  }

  remove(bucket: Bucket, object: KubeObject): void {
    const key = objectKey(object);
    if (key !== undefined && this.#map(bucket).delete(key)) this.#changed(bucket, key, 'removed');
  }

  #changed(bucket: Bucket, key: string, how: 'added' | 'replaced' | 'removed'): void {
    this.#current = null;
    this.#lists.delete(bucket);
    if (how === 'replaced') return;
    let keys = this.#keys.get(bucket);
    if (keys === undefined) this.#keys.set(bucket, (keys = []));
    const at = sortedIndex(keys, key);
    if (how === 'added') keys.splice(at, 0, key);
    else keys.splice(at, 1);
  }

  snapshot(): ClusterSnapshot {
    this.#current ??= Object.freeze({
      source: this.#source,
      ipPools: this.#sorted('ipPools'),
      bgpConfiguration: this.#map('bgpConfigurations').get('default') ?? null,
      hostEndpoints: this.#sorted('hostEndpoints'),
      globalNetworkPolicies: this.#sorted('globalNetworkPolicies'),
      exposedServices: this.#sorted('services'),
      networkPolicies: this.#sorted('networkPolicies'),
      kubernetesNetworkPolicies: this.#sorted('kubernetesNetworkPolicies'),
    });
    return this.#current;
  }

  #map(bucket: Bucket): Map<string, KubeObject> {
    const map = this.#buckets.get(bucket);
    if (map === undefined) throw new Error(`unknown bucket ${bucket}`);
    return map;
  }

  /** Sorted by key so findings do not depend on the order events arrived in. */
  #sorted(bucket: Bucket): readonly KubeObject[] {
    let list = this.#lists.get(bucket);
    if (list === undefined) {
      const map = this.#map(bucket);
      list = Object.freeze((this.#keys.get(bucket) ?? []).map((key) => map.get(key)!));
      this.#lists.set(bucket, list);
    }
    return list;
  }
}

/** Where `key` is or would go in the ascending `keys` (binary search, same order as `<`). */
function sortedIndex(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Freezes a JSON value and everything inside it, in place.
 * @example deepFreeze({ spec: { cidr: '10.0.0.0/8' } }).spec // frozen too
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
