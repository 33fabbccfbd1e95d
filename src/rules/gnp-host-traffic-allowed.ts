/**
 * gnp-host-traffic-allowed — after this write, traffic to the hosts themselves must still be
 * allowed outside the node-port range.
 *
 * A host endpoint denies traffic to its host unless a policy (or the
 * projectcalico-default-allow profile) allows it; Felix's failsafe ports (ssh, BGP, etcd,
 * the API server, ...) always get through. Flows: TCP and UDP from any source to the host
 * endpoint, every port outside `network.nodePortRange`. Evaluated with untracked → pre-DNAT →
 * normal policy, then profiles (src/calico/dataplane.ts).
 *
 * On DELETE the deleted policy (the request's oldObject) is taken out; only what the delete
 * itself drops is reported. An existing policy is not judged: a host cut off is reported once,
 * on its HostEndpoint, by hostendpoint-traffic-allowed.
 */
import { evaluateHostIngress } from '../calico/dataplane.ts';
import { compilePolicy } from '../calico/policy.ts';
import { isExisting, type Finding, type Rule } from './types.ts';
import { afterWhat, selectedAfterRequest } from './support/after-write.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';
import { portsOutsideNodePorts } from './support/network.ts';
import { dropCause, dropsByProtocol } from './support/verdict-text.ts';

export const gnpHostTrafficAllowed: Rule = {
  id: 'gnp-host-traffic-allowed',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['validate'],
  defaultAction: 'warn',
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  needsValidObject: true,
  doc: 'After this write, traffic to the hosts of the selected host endpoints must still be allowed outside the node-port range; otherwise kubelet, the API server and other host services become unreachable (failsafe ports aside).',
  check(ctx) {
    if (ctx.cluster.source === 'static' || isExisting(ctx)) return []; // static: the other policies are unknown
    const submitted = compilePolicy(ctx.object);
    const classes = selectedAfterRequest(submitted, ctx);
    if (classes.length === 0) return [];
    const nodePorts = ctx.config.network.nodePortRange;
    const ports = portsOutsideNodePorts(ctx);
    const findings: Finding[] = [];
    for (const { hostEndpoint: hep, policies, before } of classes) {
      const dropsWith = (set: typeof policies) => dropsByProtocol((protocol) => evaluateHostIngress(set, hep, { protocol, source: 'any', destination: { hostEndpoint: hep }, ports }));
      const dropped = dropsWith(policies);
      if (dropped.length === 0) continue;
      if (before !== undefined && dropsWith(before).length >= dropped.length) continue; // dropped already
      const protocols = dropped.map((d) => d.protocol).join('/');
      findings.push({
        path: 'spec',
        message:
          `${afterWhat(ctx)}, ${protocols} traffic to the hosts of host endpoints selected by "${submitted.selector?.source ?? ''}" (e.g. "${hep.name}"), ports outside ${nodePorts}, ${dropCause(dropped[0]!.verdict)}; only failsafe ports still reach them. ` +
          `Add a policy selecting these host endpoints with Allow rules for ${protocols} to destination selector "${submitted.selector?.source ?? ''}" and notPorts ["${nodePorts}"], as the guide's allow-traffic-hostendpoints does.`,
      });
      break; // one finding is enough to act on
    }
    return findings;
  },
};
