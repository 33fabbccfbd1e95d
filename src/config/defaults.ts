import type { Config } from './types.ts';

/**
 * Built-in defaults. A config file is merged over these: objects merge key by key,
 * lists and scalars replace. `clusterip-guard check --print-default-config` prints them.
 */
export const DEFAULT_CONFIG: Config = {
  exposure: {
    label: 'clusterip-guard.io/exposed',
    selector: null,
    namespaces: [],
  },
  network: {
    podCIDRs: ['192.168.0.0/16'], // Calico's default IPPool
    serviceClusterIPRanges: ['10.96.0.0/12'], // kube-apiserver's default --service-cluster-ip-range
    advertisedServiceCIDRs: [], // unknown until configured or read from the BGPConfiguration
    hostEndpointSelector: "k8s-role == 'node'", // the label the Calico guide uses
    nodePortRange: '30000:32767', // kube-apiserver's default --service-node-port-range
  },
  calico: { version: '3.32' }, // the release whose validation the policy model follows
  rules: {},
  exemptions: { namespaces: [], usernames: [], groups: [] },
  audit: {
    reports: false, // serve writes reports only when asked (the chart turns it on)
    debounceSeconds: 10,
    intervalSeconds: 3600,
    writesPerSecond: 10, // well under the API server's default client rate limits
    writeBurst: 20,
    workerHeapMegabytes: 256, // the scan process's heap; a 10,000-object scan peaks near 72 MB live
    lease: { name: 'clusterip-guard-audit', namespace: null, durationSeconds: 15, retrySeconds: 2 },
  },
  // calico-apiserver's service account as Calico's manifests and operator install it.
  calicoApiServer: { usernames: ['system:serviceaccount:calico-apiserver:calico-apiserver'] },
};
