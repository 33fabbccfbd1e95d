import type { KubeObject } from '../../admission/types.ts';

export interface ServiceSpecView {
  type: string;
  clusterIP: string | undefined;
  clusterIPs: string[];
  externalTrafficPolicy: string;
}

/** The Service fields the rules read, with Kubernetes' defaults filled in. */
export function serviceSpec(service: KubeObject | null | undefined): ServiceSpecView {
  const spec = (service?.spec ?? {}) as Record<string, unknown>;
  const clusterIP = typeof spec['clusterIP'] === 'string' && spec['clusterIP'] !== '' ? spec['clusterIP'] : undefined;
  const clusterIPs = Array.isArray(spec['clusterIPs']) ? spec['clusterIPs'].filter((ip): ip is string => typeof ip === 'string' && ip !== '') : [];
  return {
    type: typeof spec['type'] === 'string' ? spec['type'] : 'ClusterIP',
    clusterIP,
    clusterIPs,
    externalTrafficPolicy: typeof spec['externalTrafficPolicy'] === 'string' ? spec['externalTrafficPolicy'] : 'Cluster',
  };
}

/** The cluster IPs written in the spec (`clusterIPs` wins, as the API server reads it). */
export function declaredClusterIPs(view: ServiceSpecView): string[] {
  if (view.clusterIPs.length > 0) return view.clusterIPs;
  return view.clusterIP === undefined ? [] : [view.clusterIP];
}

export const isHeadless = (view: ServiceSpecView): boolean => declaredClusterIPs(view)[0] === 'None';

/** `namespace/name` for messages; generateName prefixes shown with a trailing `*`. */
export function objectRef(obj: KubeObject, namespace?: string): string {
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const generateName = text(obj.metadata?.generateName);
  const name = text(obj.metadata?.name) ?? (generateName ? `${generateName}*` : '<unnamed>');
  const ns = text(obj.metadata?.namespace) ?? namespace;
  return ns ? `${ns}/${name}` : name;
}
