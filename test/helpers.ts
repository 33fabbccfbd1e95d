import type { KubeObject } from '../src/admission/types.ts';
import { EMPTY_SNAPSHOT, type ClusterSnapshot } from '../src/cluster/types.ts';
import { resolveConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/types.ts';

export const config = (doc: unknown = {}): Config => resolveConfig(doc, 'test config');

export const snapshot = (over: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({ ...EMPTY_SNAPSHOT, ...over });

/** Deep-merges `over` into a copy of `base` (arrays and scalars replace; `undefined` deletes). */
export function tweak<T>(base: T, over: unknown): T {
  const out = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    const cur = out[k];
    if (v === undefined) delete out[k];
    else if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof cur === 'object' && cur !== null && !Array.isArray(cur)) out[k] = tweak(cur, v);
    else out[k] = v;
  }
  return out as T;
}

/** A minimal exposed Service with a pinned cluster IP. */
export const exposedService: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'svc-a', namespace: 'shop', labels: { 'clusterip-guard.io/exposed': 'true' } },
  spec: { clusterIP: '10.96.0.40', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: 'a' } },
};

/** A minimal valid pre-DNAT host-endpoint policy (the guide's allow-cluster-ips, fixed). */
export const preDNATPolicy: KubeObject = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'allow-cluster-ips' },
  spec: {
    selector: "k8s-role == 'node'",
    types: ['Ingress'],
    applyOnForward: true,
    preDNAT: true,
    ingress: [{ action: 'Allow', source: { nets: ['50.60.0.0/16'] }, destination: { nets: ['10.96.0.40/32'] } }],
  },
};

export const hostEndpoint: KubeObject = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'HostEndpoint',
  metadata: { name: 'node1-eth0', labels: { 'k8s-role': 'node' } },
  spec: { node: 'node1', interfaceName: 'eth0', expectedIPs: ['10.0.0.1'] },
};

/** A copy of `obj` whose labels are exactly `labels`. */
export function withLabels<T extends KubeObject>(obj: T, labels: Record<string, string>): T {
  const out = structuredClone(obj);
  out.metadata = { ...out.metadata, labels };
  return out;
}
