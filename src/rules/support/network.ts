import { PortIntervalSet } from '../../calico/ports.ts';
import type { RuleContext } from '../types.ts';

/**
 * The network facts rules need, from live cluster state where it has them and from the
 * config's static `network` section otherwise.
 */

function cidrsFromList(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((item) => (typeof item === 'object' && item !== null ? (item as Record<string, unknown>)['cidr'] : undefined))
    .filter((c): c is string => typeof c === 'string');
}

/** CIDRs of the enabled IPPools, or `network.podCIDRs` when the snapshot has no pools. */
export function podCIDRs({ cluster, config }: Pick<RuleContext, 'cluster' | 'config'>): string[] {
  if (cluster.ipPools.length === 0) return [...config.network.podCIDRs];
  return cluster.ipPools
    .filter((pool) => pool.spec?.['disabled'] !== true)
    .map((pool) => pool.spec?.['cidr'])
    .filter((c): c is string => typeof c === 'string');
}

/** BGPConfiguration `default` serviceClusterIPs, or `network.advertisedServiceCIDRs`. Empty = unknown. */
export function advertisedServiceCIDRs({ cluster, config }: Pick<RuleContext, 'cluster' | 'config'>): string[] {
  const bgp = cluster.bgpConfiguration;
  if (bgp !== null) return cidrsFromList(bgp.spec?.['serviceClusterIPs']);
  return [...config.network.advertisedServiceCIDRs];
}

/** The API server's service cluster IP ranges (config only: the API does not publish them to clients). */
export function serviceClusterIPRanges({ config }: Pick<RuleContext, 'config'>): string[] {
  return [...config.network.serviceClusterIPRanges];
}

/** Every port outside `network.nodePortRange`. */
export const portsOutsideNodePorts = ({ config }: Pick<RuleContext, 'config'>): PortIntervalSet => PortIntervalSet.ALL.minus(PortIntervalSet.of([config.network.nodePortRange]));
