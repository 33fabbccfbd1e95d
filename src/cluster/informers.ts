import { ListWatch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../admission/types.ts';
import type { Config } from '../config/types.ts';
import { ClusterWatch } from './cluster-watch.ts';
import { discoverWatchTargets } from './discovery.ts';
import type { DiscoveryOutcome } from './discovery.ts';
import { describeError, listAll } from './kube-request.ts';
import type { WatchTarget } from './resources.ts';
import { deepFreeze, SnapshotStore } from './snapshot-store.ts';
import { EMPTY_SNAPSHOT } from './types.ts';
import type { ClusterSnapshot, ClusterState, ResourceHealth } from './types.ts';

/** The part of a pino logger this module uses. */
export interface ClusterLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ClusterStateOptions {
  kubeConfig: KubeConfig;
  config: Config;
  logger: ClusterLogger;
  /**
   * First retry delay after a failure (discovery, list, watch), doubled on each further
   * failure up to `maxBackoffMs`. Also scales client-node's own watch reconnect delays
   * (1 s base there). Default 1000.
   */
  resyncBackoffMs?: number;
  /** Upper bound of every retry delay. Default 30 000. */
  maxBackoffMs?: number;
  /** One discovery attempt (`/apis` and the Calico group versions) must finish within this. Default 10 000. */
  discoveryTimeoutMs?: number;
  /** After discovery worked, the first lists must finish within this, or the static fallback is used meanwhile. Default 30 000. */
  syncTimeoutMs?: number;
  /** Repeated warnings about one resource are logged at most once per interval. Default 60 000. */
  warnIntervalMs?: number;
}

const LIST_TIMEOUT_MS = 60_000;

/**
 * Starts the cluster-state cache: discovers which Calico API group serves each resource,
 * then lists and watches GlobalNetworkPolicies, HostEndpoints, IPPools, BGPConfigurations and
 * Services (keeping the exposed ones) with client-node's ListWatch. Resolves at once;
 * `ready()` turns true when every watched resource has been listed. When the cluster cannot
 * be reached, serves no Calico API, or does not answer the first lists in time, the empty
 * `static` snapshot is used (ready, one warning logged) while discovery and lists go on in
 * the background; live data replaces it once synced. `close()` stops everything.
 * @example const state = await startClusterState({ kubeConfig, config, logger }); state.snapshot().source
 */
export async function startClusterState(options: ClusterStateOptions): Promise<ClusterState> {
  const state = new InformerClusterState(options);
  state.start();
  return state;
}

interface WatchedResource {
  readonly target: WatchTarget;
  readonly informer: ListWatch<KubernetesObject>;
  listed: boolean;
  backoffMs: number;
  restartPending: boolean;
  lastEventAt: number | null;
  restarts: number;
}

class InformerClusterState implements ClusterState {
  readonly #kubeConfig: KubeConfig;
  readonly #logger: ClusterLogger;
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #discoveryTimeoutMs: number;
  readonly #syncTimeoutMs: number;
  readonly #warnIntervalMs: number;
  readonly #store: SnapshotStore;
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #resources: WatchedResource[] = [];
  readonly #warned = new Map<string, { at: number; suppressed: number }>();
  #watch: ClusterWatch | undefined;
  #discoveryBackoffMs: number;
  /** Live data is served (every watched resource listed once). */
  #live = false;
  /** The static snapshot is served until live data is ready. */
  #fallback = false;
  #closed = false;

  constructor(options: ClusterStateOptions) {
    this.#kubeConfig = options.kubeConfig;
    this.#logger = options.logger;
    this.#baseBackoffMs = Math.max(1, options.resyncBackoffMs ?? 1000);
    this.#maxBackoffMs = Math.max(this.#baseBackoffMs, options.maxBackoffMs ?? 30_000);
    this.#discoveryTimeoutMs = options.discoveryTimeoutMs ?? 10_000;
    this.#syncTimeoutMs = options.syncTimeoutMs ?? 30_000;
    this.#warnIntervalMs = options.warnIntervalMs ?? 60_000;
    this.#discoveryBackoffMs = this.#baseBackoffMs;
    this.#store = new SnapshotStore('cluster', options.config);
  }

  start(): void {
    void this.#discover();
  }

  snapshot(): ClusterSnapshot {
    return this.#live ? this.#store.snapshot() : EMPTY_SNAPSHOT;
  }

  health(): ResourceHealth[] {
    return this.#resources.map((r) => ({ resource: r.target.plural, synced: r.listed, lastEventAt: r.lastEventAt, restarts: r.restarts }));
  }

  ready(): boolean {
    return this.#live || this.#fallback;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    // Pending retries and client-node's reconnect delays never fire: their promises stay
    // unsettled and are collected with the informers.
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#watch?.close();
    await Promise.all(this.#resources.map((resource) => resource.informer.stop()));
  }

  async #discover(): Promise<void> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#discoveryTimeoutMs)]);
    let outcome: DiscoveryOutcome;
    try {
      outcome = await discoverWatchTargets(this.#kubeConfig, signal);
    } catch (error) {
      outcome = { ok: false, reason: describeError(error) };
    }
    if (this.#closed) return;
    if (!outcome.ok) {
      this.#useFallback(outcome.reason);
      const delay = this.#discoveryBackoffMs;
      this.#discoveryBackoffMs = Math.min(delay * 2, this.#maxBackoffMs);
      this.#later(delay, () => void this.#discover());
      return;
    }
    this.#watchAll(outcome.targets, outcome.missing);
  }

  #watchAll(targets: readonly WatchTarget[], missing: readonly string[]): void {
    const watch = new ClusterWatch(this.#kubeConfig);
    this.#watch = watch;
    for (const target of targets) {
      const informer = new ListWatch<KubernetesObject>(
        target.path,
        watch,
        () => this.#list(resource),
        false,
        undefined,
        undefined,
        { delayFn: (ms) => this.#delay(ms) },
      );
      const resource: WatchedResource = { target, informer, listed: false, backoffMs: this.#baseBackoffMs, restartPending: false, lastEventAt: null, restarts: 0 };
      const upsert = (object: KubernetesObject): void => {
        resource.backoffMs = this.#baseBackoffMs;
        resource.lastEventAt = Date.now();
        this.#store.upsert(target.bucket, deepFreeze(asKubeObject(object)));
      };
      informer.on('add', upsert);
      informer.on('update', upsert);
      informer.on('delete', (object) => {
        resource.backoffMs = this.#baseBackoffMs;
        resource.lastEventAt = Date.now();
        this.#store.remove(target.bucket, asKubeObject(object));
      });
      informer.on('error', (error: unknown) => this.#onError(resource, error));
      this.#resources.push(resource);
    }
    if (missing.length > 0) {
      this.#logger.info({ missing }, 'these Calico resources are not served; their lists stay empty');
    }
    if (!this.#fallback) {
      this.#later(this.#syncTimeoutMs, () => {
        if (this.#live) return;
        const pending = this.#resources.filter((r) => !r.listed).map((r) => r.target.path);
        this.#useFallback(`the first list did not finish within ${this.#syncTimeoutMs} ms for ${pending.join(', ')}`);
      });
    }
    for (const resource of this.#resources) this.#run(resource);
  }

  #run(resource: WatchedResource): void {
    resource.informer.start().catch((error: unknown) => this.#onError(resource, error));
  }

  async #list(resource: WatchedResource): Promise<KubernetesListObject<KubernetesObject>> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]);
    const list = await listAll(this.#kubeConfig, resource.target, signal);
    if (this.#closed) throw new Error('the cluster state is closed');
    resource.backoffMs = this.#baseBackoffMs;
    resource.lastEventAt = Date.now();
    // ListWatch applies the items right after this promise resolves, in the same microtask
    // run; a macrotask later they are all in the store.
    if (!resource.listed) setImmediate(() => this.#onListed(resource));
    return list;
  }

  #onListed(resource: WatchedResource): void {
    if (this.#closed || resource.listed) return;
    resource.listed = true;
    if (this.#live || !this.#resources.every((r) => r.listed)) return;
    this.#live = true;
    const resources = Object.fromEntries(this.#resources.map((r) => [r.target.plural, r.target.groupVersion]));
    if (this.#fallback) this.#logger.info({ resources }, 'cluster state recovered: using live data from the cluster');
    else this.#logger.info({ resources }, 'cluster state synced');
  }

  /**
   * client-node's ListWatch reports a failed list or watch here and then stops; a 410 Gone
   * and a client-side watch timeout it handles itself. Restart with backoff; from the last
   * resourceVersion when there is one, otherwise with a fresh list.
   */
  #onError(resource: WatchedResource, error: unknown): void {
    if (this.#closed) return;
    const retryInMs = resource.backoffMs;
    this.#warnRateLimited(
      resource.target.path,
      { resource: resource.target.path, err: describeError(error), retryInMs },
      'watching a cluster resource failed; retrying',
    );
    if (resource.restartPending) return;
    resource.restartPending = true;
    resource.backoffMs = Math.min(retryInMs * 2, this.#maxBackoffMs);
    this.#later(retryInMs, () => {
      resource.restartPending = false;
      resource.restarts += 1;
      this.#run(resource);
    });
  }

  /** The one warning about missing cluster data, whatever the reason and however many retries. */
  #useFallback(reason: string): void {
    if (this.#fallback || this.#live) return;
    this.#fallback = true;
    this.#logger.warn(
      { reason },
      'cluster state unavailable: using the static network facts from the config until the cluster answers (retrying in the background)',
    );
  }

  #warnRateLimited(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const last = this.#warned.get(key);
    if (last !== undefined && now - last.at < this.#warnIntervalMs) {
      last.suppressed += 1;
      return;
    }
    this.#warned.set(key, { at: now, suppressed: 0 });
    this.#logger.warn(last !== undefined && last.suppressed > 0 ? { ...fields, suppressed: last.suppressed } : fields, msg);
  }

  /** client-node's watch reconnect delays (1 s base, 30 s cap), scaled to our backoff settings. */
  #delay(ms: number): Promise<void> {
    const scaled = Math.min((ms * this.#baseBackoffMs) / 1000, this.#maxBackoffMs);
    return new Promise((resolve) => this.#later(scaled, resolve));
  }

  #later(ms: number, fn: () => void): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }
}

/** Watch events and list items are raw JSON; client-node types them as its model classes. */
function asKubeObject(object: KubernetesObject): KubeObject {
  return object as unknown as KubeObject;
}
