import { parseSelectorCached, type Selector } from '../../calico/selector/index.ts';
import type { RuleContext } from '../types.ts';

function canonical(selector: string): string | null {
  try {
    return parseSelectorCached(selector).toString();
  } catch {
    return null;
  }
}

/**
 * Whether a policy applies to host endpoints: its selector matches a HostEndpoint known to
 * the cluster state, or — with no HostEndpoints known (static config, a CI check of a policy
 * alone) — it is the configured `network.hostEndpointSelector` (compared after parsing, so
 * quoting and spacing do not matter).
 */
export function selectsHostEndpoints(selector: Selector | undefined, { cluster, config }: Pick<RuleContext, 'cluster' | 'config'>): boolean {
  if (selector === undefined) return false; // gnp-schema reports it
  if (cluster.hostEndpoints.length > 0) {
    return cluster.hostEndpoints.some((hep) => selector.matches(hep.metadata?.labels ?? {}));
  }
  return selector.toString() === canonical(config.network.hostEndpointSelector);
}
