import type { KubeObject } from '../admission/types.ts';

/**
 * The resources the cluster-state cache reads, and where they live.
 *
 * Calico serves the same data under two API groups: `projectcalico.org/v3` (calico-apiserver,
 * aggregated; the names users see) and `crd.projectcalico.org/v1` (the CRDs behind it). Both
 * are listed in preference order; every resource is cluster-scoped and has the same plural in
 * both groups.
 */

export const CALICO_V3 = 'projectcalico.org/v3';
export const CALICO_CRD_V1 = 'crd.projectcalico.org/v1';

/** Preference order: the first group that serves a resource is the one watched. */
export const CALICO_GROUP_VERSIONS: readonly string[] = [CALICO_V3, CALICO_CRD_V1];

/** Where an object lands in the snapshot. */
export type Bucket = 'globalNetworkPolicies' | 'hostEndpoints' | 'ipPools' | 'bgpConfigurations' | 'services' | 'networkPolicies' | 'kubernetesNetworkPolicies';

export interface ResourceKind {
  readonly bucket: Bucket;
  readonly plural: string;
  readonly kind: string;
}

export const CALICO_RESOURCES: readonly ResourceKind[] = [
  { bucket: 'globalNetworkPolicies', plural: 'globalnetworkpolicies', kind: 'GlobalNetworkPolicy' },
  { bucket: 'hostEndpoints', plural: 'hostendpoints', kind: 'HostEndpoint' },
  { bucket: 'ipPools', plural: 'ippools', kind: 'IPPool' },
  { bucket: 'bgpConfigurations', plural: 'bgpconfigurations', kind: 'BGPConfiguration' },
];

/**
 * Calico resources read when served and not missed otherwise: NetworkPolicy (namespaced, listed
 * across namespaces at the same collection path) only informs the backend-side rules.
 */
export const OPTIONAL_CALICO_RESOURCES: readonly ResourceKind[] = [{ bucket: 'networkPolicies', plural: 'networkpolicies', kind: 'NetworkPolicy' }];

export const SERVICES: ResourceKind = { bucket: 'services', plural: 'services', kind: 'Service' };

/** One resource in one API group version, with the collection path used to list and watch it. */
export interface WatchTarget extends ResourceKind {
  readonly groupVersion: string;
  /** e.g. `/apis/crd.projectcalico.org/v1/ippools` or `/api/v1/services` (all namespaces). */
  readonly path: string;
}

/** Calico resources are cluster-scoped, so the collection path has no namespace segment. */
export function calicoTarget(resource: ResourceKind, groupVersion: string): WatchTarget {
  return { ...resource, groupVersion, path: `/apis/${groupVersion}/${resource.plural}` };
}

/** Kubernetes NetworkPolicies, all namespaces: watched when the API server serves networking.k8s.io/v1. */
export const K8S_NETWORK_POLICIES_TARGET: WatchTarget = {
  bucket: 'kubernetesNetworkPolicies',
  plural: 'networkpolicies',
  kind: 'NetworkPolicy',
  groupVersion: 'networking.k8s.io/v1',
  path: '/apis/networking.k8s.io/v1/networkpolicies',
};

export const SERVICES_TARGET: WatchTarget = { ...SERVICES, groupVersion: 'v1', path: '/api/v1/services' };

/**
 * The map key of an object: its name, or `namespace/name` for namespaced objects.
 * @example objectKey({ metadata: { namespace: 'web', name: 'api' } }) // 'web/api'
 */
export function objectKey(object: KubeObject): string | undefined {
  const name = object.metadata?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const namespace = object.metadata?.namespace;
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${name}` : name;
}
