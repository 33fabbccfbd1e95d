import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../admission/types.ts';
import { discoverWatchTargets } from './discovery.ts';
import { describeError, listAll } from './kube-request.ts';
import { SnapshotStore } from './snapshot-store.ts';
import type { ClusterSnapshot } from './types.ts';
import type { Config } from '../config/types.ts';
import { GuardError } from '../errors.ts';

/**
 * The cluster state read once — the same discovery and paged lists the cluster-state cache
 * starts from, without the watches (`audit --kubeconfig`, `explain --kubeconfig`). Any failure is
 * CIG_ERR_CLUSTER_UNREADABLE: an answer from half a cluster would report what is missing as wrong,
 * and the static fallback is not the cluster.
 * @example const snapshot = await readClusterOnce('~/.kube/config', config, AbortSignal.timeout(60_000))
 */
export async function readClusterOnce(kubeconfig: string, config: Config, signal: AbortSignal): Promise<ClusterSnapshot> {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(kubeconfig);
  } catch (err) {
    throw new GuardError('CIG_ERR_USAGE', `cannot load kubeconfig ${kubeconfig}: ${(err as Error).message}`, { cause: err });
  }
  const outcome = await discoverWatchTargets(kubeConfig, signal);
  if (!outcome.ok) throw new GuardError('CIG_ERR_CLUSTER_UNREADABLE', outcome.reason);
  const store = new SnapshotStore('cluster', config);
  for (const target of outcome.targets) {
    let list;
    try {
      list = await listAll(kubeConfig, target, signal);
    } catch (error) {
      throw new GuardError('CIG_ERR_CLUSTER_UNREADABLE', `listing ${target.path} failed: ${describeError(error)}`, { cause: error });
    }
    for (const item of list.items) store.upsert(target.bucket, item as unknown as KubeObject);
  }
  return store.snapshot();
}
