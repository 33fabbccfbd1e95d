import type { RuleAction } from '../rules/types.ts';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** A Kubernetes label selector (metav1.LabelSelector). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** The validated, defaulted configuration (see schema.json for each key's meaning). */
export interface Config {
  exposure: { label: string; selector: LabelSelector | null; namespaces: string[] };
  network: {
    podCIDRs: string[];
    serviceClusterIPRanges: string[];
    advertisedServiceCIDRs: string[];
    hostEndpointSelector: string;
    nodePortRange: string;
  };
  calico: { version: string };
  rules: Partial<Record<string, RuleAction>>;
  exemptions: { namespaces: string[]; usernames: string[]; groups: string[] };
  audit: {
    reports: boolean;
    debounceSeconds: number;
    intervalSeconds: number;
    writesPerSecond: number;
    writeBurst: number;
    workerHeapMegabytes: number;
    lease: { name: string; namespace: string | null; durationSeconds: number; retrySeconds: number };
  };
  calicoApiServer: { usernames: string[] };
}
