/**
 * service-local-mode-policy — an exposed Service in local mode (externalTrafficPolicy: Local)
 * must be secured by the policy of its pods, which see the client's own address.
 *
 * The guide: "Create Calico NetworkPolicies or GlobalNetworkPolicies that select the same set
 * of pods as your Kubernetes Service" and "add rules to allow the external traffic". Two
 * findings: no policy selects the pods (Kubernetes then lets every client in), or the policies
 * that do let no external source in. External sources: every address outside the pod CIDRs,
 * cut by the source nets the pods' rules name and judged piece by piece with the workload
 * evaluator (src/calico/dataplane.ts evaluateWorkloadIngress).
 */
import { evaluateWorkloadIngress } from '../calico/dataplane.ts';
import { NetSet } from '../calico/nets.ts';
import { PortIntervalSet } from '../calico/ports.ts';
import { refine } from '../calico/reachability.ts';
import type { Finding, Rule } from './types.ts';
import { exposedBackends, podSelector, uncertainNote } from './support/backends.ts';
import { netOf } from './support/cidr.ts';
import { SERVICE } from './support/kinds.ts';
import { podCIDRs } from './support/network.ts';

export const serviceLocalModePolicy: Rule = {
  id: 'service-local-mode-policy',
  kinds: SERVICE,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: "In local mode an exposed Service's pods see the client address, so their own policy must control access: some Calico NetworkPolicy or GlobalNetworkPolicy must select them and allow the external sources.",
  check(ctx) {
    const found = exposedBackends(ctx, true);
    if (found === null) return [];
    const { exposed, backends } = found;
    const labels = backends.pods.labels;
    const selecting = backends.policies.filter((p) => p.types.includes('Ingress') && !p.preDNAT && !p.doNotTrack && p.selector?.matches(labels) === true);
    const selectorText = podSelector(backends);
    if (selecting.length === 0) {
      return [
        {
          path: 'spec.externalTrafficPolicy',
          message:
            `Service ${exposed.ref} is exposed in local mode (externalTrafficPolicy: Local): its pods see the client's address, but no Calico NetworkPolicy or GlobalNetworkPolicy selects them (${selectorText}), so Kubernetes lets every client in. ` +
            `Fix: add a policy with selector "${selectorText}" whose ingress rules allow the permitted external source nets on the Service's target ports.${uncertainNote(backends)}`,
        },
      ];
    }
    const findings: Finding[] = [];
    const pods = podCIDRs(ctx).filter((c) => netOf(c) !== null);
    for (const target of exposed.targets) {
      const version = target.ip.version;
      const external = NetSet.all(version).minus(NetSet.of(pods));
      const cuts = selecting.flatMap((p) => p.ingress.map((r) => r.source.addresses).filter((a) => a !== undefined));
      const ports = typeof target.targetPort === 'number' ? PortIntervalSet.of([target.targetPort]) : PortIntervalSet.ALL;
      const allowed = refine(external, cuts).some(
        (piece) => evaluateWorkloadIngress(backends.policies, backends.pods, { protocol: target.protocol, source: piece, destination: {}, ports, ipVersion: version }).allowed,
      );
      if (allowed) continue;
      findings.push({
        path: 'spec.externalTrafficPolicy',
        message:
          `Service ${exposed.ref} is exposed in local mode (externalTrafficPolicy: Local), but the policies selecting its pods (${selecting.map((p) => `"${p.name}"`).join(', ')}) let no external source in on target port ${target.targetPort}/${target.protocol}. ` +
          `Fix: add an ingress Allow rule for the permitted external source nets on that port to a policy selecting "${selectorText}".${uncertainNote(backends)}`,
      });
      break; // one finding is enough to act on
    }
    return findings;
  },
};
