import type { KubeObject } from '../admission/types.ts';

/**
 * What the rules know about the cluster: an immutable snapshot, replaced whole when the
 * cache changes. Built from informers (serve), from manifest files (check) or from the
 * static `network` config alone.
 */
export interface ClusterSnapshot {
  /** Where the facts came from; `static` means only the config's `network` section. */
  readonly source: 'cluster' | 'manifests' | 'static';
  /** Calico IPPools (`spec.cidr`, `spec.disabled`); empty = use config `network.podCIDRs`. */
  readonly ipPools: readonly KubeObject[];
  /** The BGPConfiguration named `default`, or null = use config `network.advertisedServiceCIDRs`. */
  readonly bgpConfiguration: KubeObject | null;
  readonly hostEndpoints: readonly KubeObject[];
  /** GlobalNetworkPolicies already stored (one API group's view; names are unique). */
  readonly globalNetworkPolicies: readonly KubeObject[];
  /**
   * Calico NetworkPolicies (namespaced; they select a Service's backend pods). Absent: none
   * known (the live cache reads them where Calico serves them).
   */
  readonly networkPolicies?: readonly KubeObject[];
  /** Kubernetes NetworkPolicies (networking.k8s.io/v1; Calico enforces them too). Absent: none known. */
  readonly kubernetesNetworkPolicies?: readonly KubeObject[];
  /** Services that are exposed (per config `exposure`). */
  readonly exposedServices: readonly KubeObject[];
}

export const EMPTY_SNAPSHOT: ClusterSnapshot = Object.freeze({
  source: 'static',
  ipPools: [],
  bgpConfiguration: null,
  hostEndpoints: [],
  globalNetworkPolicies: [],
  exposedServices: [],
});

/** Supplies the current snapshot; the server asks once per request. */
export interface ClusterState {
  snapshot(): ClusterSnapshot;
  /** True once the first list of every served resource completed, or the static fallback is in use. */
  ready(): boolean;
  close(): Promise<void>;
  /** Per watched resource: synced, last event, watch restarts (for metrics); absent = nothing watched. */
  health?(): readonly ResourceHealth[];
}

export interface ResourceHealth {
  /** The resource's plural name, e.g. `globalnetworkpolicies`. */
  readonly resource: string;
  /** Its first list has completed. */
  readonly synced: boolean;
  /** Date.now() of its last list or watch event, or null before the first. */
  readonly lastEventAt: number | null;
  /** Failed lists or watches restarted since start. */
  readonly restarts: number;
}
