import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

type WatchArgs = Parameters<Watch['watch']>;

/**
 * client-node's Watch with three changes the cache needs:
 * - asks for bookmarks (`allowWatchBookmarks=true`), so quiet watches keep a fresh
 *   resourceVersion and resume after a reconnect instead of hitting 410 Gone and relisting;
 *   ListWatch itself sends only `resourceVersion` and the selectors;
 * - `close()` aborts every open watch, including one whose request was still in flight when
 *   ListWatch was stopped (ListWatch only aborts the request it already holds), and no watch
 *   request leaves after it: Watch awaits authentication before it calls fetch, and the
 *   AbortController it returns only exists after fetch answered, so authentication itself
 *   fails once closed;
 * - a request that fails before it is sent (auth plugin error) is reported through `done`
 *   like any other watch error, instead of rejecting inside ListWatch where nobody awaits it.
 */
export class ClusterWatch extends Watch {
  readonly #open = new Set<AbortController>();
  readonly #gate: { closed: boolean };

  constructor(kubeConfig: KubeConfig) {
    const gate = { closed: false };
    super(gatedKubeConfig(kubeConfig, gate));
    this.#gate = gate;
  }

  override async watch(path: WatchArgs[0], queryParams: WatchArgs[1], callback: WatchArgs[2], done: WatchArgs[3]): Promise<AbortController> {
    if (this.#gate.closed) return abortedController();
    let controller: AbortController | undefined;
    const finished: WatchArgs[3] = (error) => {
      if (controller !== undefined) this.#open.delete(controller);
      done(error);
    };
    try {
      controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, finished);
    } catch (error) {
      finished(error);
      return abortedController();
    }
    if (this.#gate.closed) controller.abort();
    else if (!controller.signal.aborted) this.#open.add(controller);
    return controller;
  }

  close(): void {
    this.#gate.closed = true;
    for (const controller of this.#open) controller.abort();
    this.#open.clear();
  }
}

function abortedController(): AbortController {
  const controller = new AbortController();
  controller.abort();
  return controller;
}

/** The same kubeconfig (everything read through the prototype), whose authentication step fails once the gate is closed. */
function gatedKubeConfig(kubeConfig: KubeConfig, gate: { readonly closed: boolean }): KubeConfig {
  const gated = Object.create(kubeConfig) as KubeConfig;
  gated.applySecurityAuthentication = async (context) => {
    await kubeConfig.applySecurityAuthentication(context);
    if (gate.closed) throw new Error('the watch is closed');
  };
  return gated;
}
