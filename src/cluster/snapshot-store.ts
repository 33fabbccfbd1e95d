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
      if (map.delete(key)) this.#current = null;
      return;
    }
    if (map.get(key) === object) return;
    map.set(key, object);
    this.#current = null;
  }

  remove(bucket: Bucket, object: KubeObject): void {
    const key = objectKey(object);
    if (key !== undefined && this.#map(bucket).delete(key)) this.#current = null;
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
    const entries = [...this.#map(bucket)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.freeze(entries.map(([, object]) => object));
  }
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
