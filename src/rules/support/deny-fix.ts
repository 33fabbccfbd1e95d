/**
 * The exact fix for an exposed cluster IP that unlisted sources reach: a pre-DNAT,
 * applyOnForward Deny of the destination nets on the host endpoints, placed after the
 * policies whose Allows let the listed sources in (pre-DNAT policy has no default drop, so
 * without it everything the allows do not name passes on and is forwarded).
 */
import { DEFAULT_TIER, type CompiledPolicy } from '../../calico/policy.ts';
import type { Net } from '../../calico/nets.ts';
import type { RuleContext } from '../types.ts';
import { netOf } from './cidr.ts';
import { advertisedServiceCIDRs } from './network.ts';

export interface DenyFix {
  /** The policy to apply, as an object. */
  readonly policy: Record<string, unknown>;
  /** Where it goes and why, in words. */
  readonly placement: string;
}

/**
 * Builds the Deny for `ip`: its nets are the advertised service CIDRs that hold the IP (so one
 * policy closes every cluster IP in them), else the IP alone. Placed in the default tier after
 * `allows` (the pre-DNAT policies whose Allow rules decide some region): at a higher order when
 * they all have one, otherwise without an order and with a name that sorts after theirs
 * (Felix orders policies of equal order by name; no order = last).
 */
export function denyFix(ip: Net, allows: readonly CompiledPolicy[], ctx: Pick<RuleContext, 'cluster' | 'config'>): DenyFix {
  const advertised = advertisedServiceCIDRs(ctx).filter((c) => {
    const net = netOf(c);
    return net !== null && net.version === ip.version && net.first <= ip.first && ip.last <= net.last;
  });
  const nets = advertised.length > 0 ? advertised : [ip.cidr];
  const inTier = allows.filter((p) => p.tier === DEFAULT_TIER);
  const unordered = inTier.filter((p) => !Number.isFinite(p.order)).map((p) => p.name).sort();
  let name = 'deny-cluster-ips';
  let order: number | undefined;
  let placement: string;
  if (inTier.length === 0) {
    placement = allows.length > 0 ? 'in the default tier, after the tiers of the allows' : 'no pre-DNAT Allow lets any source in yet: add the permitted sources as Allow rules at a lower order (the guide\'s allow-cluster-ips)';
  } else if (unordered.length === 0) {
    order = Math.floor(Math.max(...inTier.map((p) => p.order)) / 10) * 10 + 10;
    placement = `at order ${order}, after ${inTier.map((p) => `"${p.name}"`).join(', ')}`;
  } else {
    const last = unordered[unordered.length - 1]!;
    if (name <= last) name = `${last}-deny`;
    placement = `without an order, like ${unordered.map((n) => `"${n}"`).join(', ')}: Felix applies policies of equal order by name, so "${name}" comes after them`;
  }
  const policy = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    spec: {
      ...(order === undefined ? {} : { order }),
      selector: ctx.config.network.hostEndpointSelector,
      types: ['Ingress'],
      preDNAT: true,
      applyOnForward: true,
      ingress: [{ action: 'Deny', destination: { nets } }],
    },
  };
  return { policy, placement };
}
