/**
 * service-cluster-ip-policy — an exposed Service's cluster IP should be allowed by some
 * pre-DNAT host-endpoint policy.
 *
 * In cluster mode the guide controls external access to a cluster IP with pre-DNAT
 * GlobalNetworkPolicy on the host endpoints (its allow-cluster-ips). This rule is a special
 * case of the reachability answer (service-cluster-ip-open asks the full question: whether
 * anyone the allows do not name gets in): it warns when no source reaches any port of the IP
 * because a pre-DNAT Allow decides it, through any group of the host endpoints receiving
 * exposed traffic (`network.hostEndpointSelector`). Runs at /validate, where the IP is final.
 */
import { exposureReason } from '../kube/exposure.ts';
import type { Finding, Rule } from './types.ts';
import { SERVICE } from './support/kinds.ts';
import { answerTarget, exposedService, storedPolicies } from './support/service-reach.ts';

export const serviceClusterIPPolicy: Rule = {
  id: 'service-cluster-ip-policy',
  kinds: SERVICE,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: "An exposed Service's cluster IP should be allowed by a pre-DNAT host-endpoint policy (the guide's allow-cluster-ips); otherwise its external access is not controlled at the host interface.",
  check(ctx) {
    const { object, config, cluster } = ctx;
    // Policies unknown: the static config, or manifests that hold none.
    if (cluster.source === 'static' || (cluster.source === 'manifests' && cluster.globalNetworkPolicies.length === 0)) return [];
    const exposed = exposedService(object, config);
    if (exposed === null || exposed.local) return [];
    const policies = storedPolicies(cluster);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const target of exposed.targets) {
      if (seen.has(target.path)) continue;
      const sameIP = exposed.targets.filter((t) => t.path === target.path);
      // A special case of the reachability answer: no source reaches any port of this IP because a pre-DNAT Allow names it.
      const allowed = sameIP.some((t) =>
        answerTarget(t, ctx, policies).some((a) => a.reach.regions.some((r) => r.verdict === 'reaches' && r.decidedBy.stage === 'pre-dnat' && r.decidedBy.rule !== null)),
      );
      seen.add(target.path);
      if (allowed) continue;
      const ip = target.ip.cidr.replace(/\/(32|128)$/, '');
      findings.push({
        path: target.path,
        message:
          `Service ${exposed.ref} is exposed (${exposureReason(object, config)}) but no pre-DNAT policy on the host endpoints ("${config.network.hostEndpointSelector}") allows traffic to its cluster IP ${ip}, so external access to it is not controlled at the host interface. ` +
          `Fix: add an ingress Allow rule with destination nets [${target.ip.cidr}] (and the permitted source nets) to a GlobalNetworkPolicy with preDNAT: true, applyOnForward: true, as the guide's allow-cluster-ips does.`,
      });
    }
    return findings;
  },
};
