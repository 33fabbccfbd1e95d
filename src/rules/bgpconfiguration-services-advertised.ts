/**
 * bgpconfiguration-services-advertised — a write to BGPConfiguration `default` must keep
 * advertising the cluster IPs of the exposed Services.
 *
 * Fields: spec.serviceClusterIPs. Every exposed Service in the snapshot (not ExternalName, not
 * headless) whose cluster IP the new list does not cover, and the old one did (UPDATE), is
 * named: external clients lose their route to it. Existing objects are not judged here:
 * service-cluster-ip-advertised reports each Service outside the advertised ranges.
 */
import type { KubeObject } from '../admission/types.ts';
import { isExisting, type Rule } from './types.ts';
import { withinAny } from './support/cidr.ts';
import { BGP_CONFIGURATION } from './support/kinds.ts';
import { declaredClusterIPs, isHeadless, objectRef, serviceSpec } from './support/service.ts';

function serviceCIDRs(bgp: KubeObject | null): string[] | null {
  if (bgp === null) return null;
  const list = bgp.spec?.['serviceClusterIPs'];
  if (!Array.isArray(list)) return [];
  return list.map((i) => (typeof i === 'object' && i !== null ? (i as Record<string, unknown>)['cidr'] : undefined)).filter((c): c is string => typeof c === 'string');
}

export const bgpConfigurationServicesAdvertised: Rule = {
  id: 'bgpconfiguration-services-advertised',
  kinds: BGP_CONFIGURATION,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: 'A change to BGPConfiguration "default" must keep the exposed Services\' cluster IPs inside spec.serviceClusterIPs; otherwise external clients lose their route to them.',
  check(ctx) {
    const { object, oldObject, cluster } = ctx;
    if (isExisting(ctx) || object.metadata?.name !== 'default' || cluster.source === 'static') return [];
    const after = serviceCIDRs(object) ?? [];
    const before = ctx.operation === 'UPDATE' ? serviceCIDRs(oldObject) : null;
    const lost: string[] = [];
    for (const svc of cluster.exposedServices) {
      const spec = serviceSpec(svc);
      if (spec.type === 'ExternalName' || isHeadless(spec)) continue;
      for (const ip of declaredClusterIPs(spec)) {
        if (withinAny(ip, after)) continue;
        if (before !== null && !withinAny(ip, before)) continue; // not advertised before either
        lost.push(`${objectRef(svc)} (${ip})`);
      }
    }
    if (lost.length === 0) return [];
    const shown = lost.length > 10 ? [...lost.slice(0, 10), `and ${lost.length - 10} more`] : lost;
    return [
      {
        path: 'spec.serviceClusterIPs',
        message:
          `after this write, the cluster IPs of exposed Services ${shown.join(', ')} fall outside spec.serviceClusterIPs (${after.length === 0 ? 'none' : after.join(', ')}), so Calico stops advertising them and external clients lose their route. ` +
          'Fix: keep a CIDR covering these cluster IPs in spec.serviceClusterIPs.',
      },
    ];
  },
};
