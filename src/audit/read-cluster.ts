import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../admission/types.ts';
import { discoverWatchTargets } from '../cluster/discovery.ts';
import { describeError, listAll } from '../cluster/kube-request.ts';
import { SnapshotStore } from '../cluster/snapshot-store.ts';
import type { ClusterSnapshot } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import { GuardError } from '../errors.ts';

/**
 * The cluster state read once — the same discovery and paged lists the cluster-state cache
 * starts from, without the watches. Any failure is CIG_ERR_CLUSTER_UNREADABLE: an audit of
 * half a cluster would report what is missing as wrong.
 * @example const snapshot = await readClusterOnce(kubeConfig, config, AbortSignal.timeout(60_000))
 */
export async function readClusterOnce(kubeConfig: KubeConfig, config: Config, signal: AbortSignal): Promise<ClusterSnapshot> {
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
