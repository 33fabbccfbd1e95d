import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import type { ClusterSnapshot } from '../../src/cluster/types.ts';

const dir = join(import.meta.dirname, '../fixtures/guide');

/** The objects of one file in test/fixtures/guide (the guide's YAML, fixed). */
export const guide = (name: string): KubeObject[] =>
  YAML.parseAllDocuments(readFileSync(join(dir, `${name}.yaml`), 'utf8')).map((d) => d.toJS() as KubeObject);

export const guidePolicy = (name: string): KubeObject => guide(name)[0]!;

export const GUIDE_POLICIES = ['allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints', 'allow-nodes-svc-a'];

/** The guide's whole cluster: its policies (but `without`), the labelled HostEndpoints, IPPool and BGPConfiguration. */
export function guideCluster(opts: { without?: string[]; plus?: KubeObject[]; ipPools?: KubeObject[] } = {}): Partial<ClusterSnapshot> {
  return {
    source: 'cluster',
    globalNetworkPolicies: [...GUIDE_POLICIES.filter((n) => !opts.without?.includes(n)).map(guidePolicy), ...(opts.plus ?? [])],
    hostEndpoints: guide('host-endpoints'),
    ipPools: opts.ipPools ?? guide('ippool'),
    bgpConfiguration: guide('bgpconfiguration')[0]!,
  };
}

export const pool = (name: string, cidr: string, disabled = false): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, disabled },
});

export const policy = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name },
  spec: { selector: "k8s-role == 'node'", ...spec },
});
