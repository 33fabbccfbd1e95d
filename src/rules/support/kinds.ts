import type { KindRef } from '../types.ts';

export const CALICO_GROUPS = ['projectcalico.org', 'crd.projectcalico.org'] as const;

export const SERVICE: readonly KindRef[] = [{ group: '', kind: 'Service' }];
export const GLOBAL_NETWORK_POLICY: readonly KindRef[] = CALICO_GROUPS.map((group) => ({ group, kind: 'GlobalNetworkPolicy' }));
export const HOST_ENDPOINT: readonly KindRef[] = CALICO_GROUPS.map((group) => ({ group, kind: 'HostEndpoint' }));

/** `group/version` of an apiVersion string ('' group for core). */
export function groupOf(apiVersion: string | undefined): string {
  if (apiVersion === undefined || !apiVersion.includes('/')) return '';
  return apiVersion.slice(0, apiVersion.lastIndexOf('/'));
}
export const IP_POOL: readonly KindRef[] = CALICO_GROUPS.map((group) => ({ group, kind: 'IPPool' }));
export const BGP_CONFIGURATION: readonly KindRef[] = CALICO_GROUPS.map((group) => ({ group, kind: 'BGPConfiguration' }));
