import type { KubeObject } from '../admission/types.ts';
import type { Config } from '../config/types.ts';
import { matchesLabelSelector } from './label-selector.ts';

/**
 * Why a Service counts as exposed (its cluster IP is advertised over BGP), or null when it
 * does not: the exposure label set to "true", a match of `exposure.selector`, or a namespace
 * listed in `exposure.namespaces`.
 * @example exposureReason({ metadata: { labels: { 'clusterip-guard.io/exposed': 'true' } } }, config)
 *   // 'label clusterip-guard.io/exposed=true'
 */
export function exposureReason(service: KubeObject, config: Config, namespace?: string): string | null {
  const labels = service.metadata?.labels ?? {};
  if (labels[config.exposure.label] === 'true') return `label ${config.exposure.label}=true`;
  const ns = service.metadata?.namespace ?? namespace;
  if (ns !== undefined && config.exposure.namespaces.includes(ns)) return `namespace ${ns} is listed in exposure.namespaces`;
  const selector = config.exposure.selector;
  if (selector !== null && matchesLabelSelector(selector, labels)) return 'labels match exposure.selector';
  return null;
}

export function isExposed(service: KubeObject, config: Config, namespace?: string): boolean {
  return exposureReason(service, config, namespace) !== null;
}
