/**
 * gnp-cluster-ip-needs-prednat — host-endpoint policy that names cluster IPs must be preDNAT.
 *
 * kube-proxy rewrites a cluster IP to a pod IP (DNAT) before normal host-endpoint policy runs,
 * so an ingress rule whose destination nets lie in the service ranges never matches unless the
 * policy is `preDNAT: true` (which needs `applyOnForward: true`). Scope: policies that select
 * host endpoints (see selectsHostEndpoints); service ranges are `network.serviceClusterIPRanges`
 * plus the advertised service CIDRs. Untracked (doNotTrack) policy also sees pre-DNAT
 * addresses and is left alone. A policy with egress rules or an Egress type cannot become
 * preDNAT by a patch and is reported instead.
 */
import { setValue } from '../admission/json-patch.ts';
import { netContains, type Net } from '../calico/nets.ts';
import { compilePolicy } from '../calico/policy.ts';
import type { Finding, Rule } from './types.ts';
import { netOf } from './support/cidr.ts';
import { selectsHostEndpoints } from './support/host-endpoints.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';
import { advertisedServiceCIDRs, serviceClusterIPRanges } from './support/network.ts';

export const gnpClusterIPNeedsPreDNAT: Rule = {
  id: 'gnp-cluster-ip-needs-prednat',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['mutate'],
  defaultAction: 'patch',
  patches: true,
  doc: 'A host-endpoint GlobalNetworkPolicy whose ingress destination nets are cluster IPs must be preDNAT (and applyOnForward): after DNAT the destination is a pod IP and the rule never matches. Patched in at /mutate.',
  check(ctx) {
    const gnp = compilePolicy(ctx.object);
    if (gnp.preDNAT || gnp.doNotTrack) return [];
    const ranges = [...serviceClusterIPRanges(ctx), ...advertisedServiceCIDRs(ctx)].map(netOf).filter((n): n is Net => n !== null);
    const inRanges = (net: Net): boolean => ranges.some((range) => netContains(range, net));
    const hit = gnp.ingress.findIndex((rule) => rule.destination.nets?.some(inRanges) === true);
    if (hit === -1 || !selectsHostEndpoints(gnp.selector, ctx)) return [];
    const nets = gnp.ingress[hit]!.destination.nets!.filter(inRanges).map((net) => net.cidr);
    const problem =
      `GlobalNetworkPolicy "${gnp.name}" selects host endpoints and allows cluster IPs (${nets.join(', ')} at spec.ingress[${hit}].destination.nets) without preDNAT; ` +
      'kube-proxy rewrites the cluster IP to a pod IP first, so the rule never matches.';
    const finding: Finding =
      gnp.egress.length > 0 || (!gnp.typesDefaulted && gnp.types.includes('Egress'))
        ? { path: 'spec.preDNAT', message: `${problem} It cannot become preDNAT while it has egress rules or the Egress type. Fix: move the cluster-IP ingress rules to a separate policy with preDNAT: true and applyOnForward: true.` }
        : {
            path: 'spec.preDNAT',
            message: `${problem} Fix: set preDNAT: true and applyOnForward: true.`,
            patch: [...setValue(ctx.object, ['spec', 'preDNAT'], true), ...(gnp.applyOnForward ? [] : setValue(ctx.object, ['spec', 'applyOnForward'], true))],
          };
    return [finding];
  },
};
