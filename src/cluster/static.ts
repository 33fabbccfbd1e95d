import { EMPTY_SNAPSHOT } from './types.ts';
import type { ClusterState } from './types.ts';

/**
 * Cluster state without a cluster (`serve --no-cluster`): always the empty `static` snapshot,
 * so the rules use the config's `network` section; always ready.
 * @example staticClusterState().snapshot().source // 'static'
 */
export function staticClusterState(): ClusterState {
  return {
    snapshot: () => EMPTY_SNAPSHOT,
    ready: () => true,
    close: async () => {},
  };
}
