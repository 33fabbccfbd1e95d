/**
 * ippool-pod-cidr-allowed — a new or changed IPPool's CIDR must be allowed wherever the
 * guide's pod-CIDR allow (allow-to-pods) allows the other pools.
 *
 * Flows: TCP and UDP, any source, forwarded through each class of host endpoints to the pool's
 * CIDR, all ports (as gnp-pod-cidr-allowed). Reported when the flow is dropped, and when it is
 * only let through because no forward policy applies yet while another pool's CIDR is allowed
 * by a rule: the next deny-all or forward policy then cuts the new pods off. Disabled pools
 * get no pods and are not judged.
 */
import { evaluateForwarded, isRuleCause, type Verdict } from '../calico/dataplane.ts';
import { NetSet } from '../calico/nets.ts';
import { PortIntervalSet } from '../calico/ports.ts';
import { isExisting, type Finding, type Rule } from './types.ts';
import { hostEndpointClasses, type HostEndpointClass } from './support/after-write.ts';
import { netOf } from './support/cidr.ts';
import { IP_POOL } from './support/kinds.ts';
import { podCIDRs } from './support/network.ts';
import { dropCause, dropsByProtocol } from './support/verdict-text.ts';

const verdictTo = (c: HostEndpointClass, cidr: string, protocol: string): Verdict | null => {
  const net = netOf(cidr);
  return net === null ? null : evaluateForwarded(c.policies, c.representative, { protocol, source: 'any', destination: { nets: NetSet.ofNet(net) }, ports: PortIntervalSet.ALL });
};

const allowedByRule = (v: Verdict | null): v is Verdict => v !== null && v.allowed && isRuleCause(v.by) && v.by.action === 'Allow';

export const ipPoolPodCIDRAllowed: Rule = {
  id: 'ippool-pod-cidr-allowed',
  kinds: IP_POOL,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: "A new IPPool's CIDR must be allowed for forwarded traffic wherever the pod-CIDR allow (the guide's allow-to-pods) allows the other pools; otherwise pods in the new pool are cut off, now or by the next forward policy.",
  check(ctx) {
    if (ctx.cluster.source === 'static') return []; // the policies are unknown
    const { object } = ctx;
    const cidr = object.spec?.['cidr'];
    if (typeof cidr !== 'string' || object.spec?.['disabled'] === true || netOf(cidr) === null) return [];
    const name = object.metadata?.name ?? '';
    const others = podCIDRs(ctx).filter((c) => c !== cidr);
    const lead = isExisting(ctx) ? '' : 'after this write, ';
    for (const c of hostEndpointClasses(ctx)) {
      const dropped = dropsByProtocol((protocol) => verdictTo(c, cidr, protocol)!);
      if (dropped.length > 0) {
        return [
          {
            path: 'spec.cidr',
            message:
              `${lead}${dropped.map((d) => d.protocol).join('/')} traffic forwarded through host endpoint "${c.representative.name}" to IPPool "${name}" (${cidr}) ${dropCause(dropped[0]!.verdict)}, so pods in this pool are cut off from other hosts. ` +
              `Fix: add ${cidr} to the destination nets of the pod-CIDR allow (the guide's allow-to-pods, preDNAT: true, applyOnForward: true).`,
          },
        ];
      }
      const allowing = others.map((o) => verdictTo(c, o, 'TCP')).find(allowedByRule);
      const own = verdictTo(c, cidr, 'TCP');
      if (allowing !== undefined && !allowedByRule(own) && isRuleCause(allowing.by)) {
        return [
          {
            path: 'spec.cidr',
            message:
              `${lead}IPPool "${name}" (${cidr}) is not allowed by the pod-CIDR allow that policy "${allowing.by.policy}" gives the other pools on host endpoint "${c.representative.name}"; ` +
              'its forwarded traffic passes only because no forward policy applies yet, and the next deny-all or applyOnForward policy cuts these pods off. ' +
              `Fix: add ${cidr} to the destination nets of "${allowing.by.policy}".`,
          },
        ];
      }
    }
    return [];
  },
};
