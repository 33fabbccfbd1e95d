import type { KubeObject } from '../admission/types.ts';
import type { Config } from '../config/types.ts';
import type { ClusterSnapshot } from './types.ts';
import { CALICO_GROUP_VERSIONS, CALICO_RESOURCES, OPTIONAL_CALICO_RESOURCES } from './resources.ts';
import type { Bucket } from './resources.ts';
import { SnapshotStore } from './snapshot-store.ts';

const CALICO_BUCKET_BY_KIND: ReadonlyMap<string, Bucket> = new Map([...CALICO_RESOURCES, ...OPTIONAL_CALICO_RESOURCES].map((r) => [r.kind, r.bucket]));

/**
 * The cluster state that a set of manifests describes, for `clusterip-guard check`: IPPools,
 * the `default` BGPConfiguration, HostEndpoints, GlobalNetworkPolicies and NetworkPolicies of
 * either Calico API group, and the exposed Services. Objects are matched by name (namespace/name for Services);
 * a later object replaces an earlier one of the same kind and name, whichever group it uses.
 * `List` objects (as `kubectl get -o yaml` prints them) are read item by item. Other kinds
 * are ignored. Pure: the input objects are neither copied nor modified.
 * @example snapshotFromObjects([{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' } }], config).ipPools.length // 1
 */
export function snapshotFromObjects(objects: readonly KubeObject[], config: Config): ClusterSnapshot {
  const store = new SnapshotStore('manifests', config);
  const visit = (object: KubeObject): void => {
    if (object === null || typeof object !== 'object') return;
    const items = object['items'];
    if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(items)) {
      for (const item of items as KubeObject[]) visit(item);
      return;
    }
    const bucket = bucketOf(object);
    if (bucket !== undefined) store.upsert(bucket, object);
  };
  for (const object of objects) visit(object);
  return store.snapshot();
}

function bucketOf(object: KubeObject): Bucket | undefined {
  const { apiVersion, kind } = object;
  if (kind === undefined || apiVersion === undefined) return undefined;
  if (kind === 'Service' && apiVersion === 'v1') return 'services';
  if (kind === 'NetworkPolicy' && apiVersion === 'networking.k8s.io/v1') return 'kubernetesNetworkPolicies';
  return CALICO_GROUP_VERSIONS.includes(apiVersion) ? CALICO_BUCKET_BY_KIND.get(kind) : undefined;
}
