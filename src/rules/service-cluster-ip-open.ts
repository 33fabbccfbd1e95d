/**
 * service-cluster-ip-open — an exposed Service's cluster IP must not be reachable by default.
 *
 * The guide's goal is to "prevent unauthorized clients from outside the cluster from accessing"
 * an advertised cluster IP. Pre-DNAT policy has no default drop, and forwarded traffic is allowed
 * by default while no normal applyOnForward policy selects the host endpoint, so the guide's
 * allows alone let every other source in. For each cluster IP port of an exposed Service in
 * cluster mode, and each group of host endpoints receiving exposed traffic, the reachability
 * engine (src/calico/reachability.ts) partitions the sources; any region that reaches the
 * backend without an Allow naming it is a finding, with the exact Deny that closes it.
 * Local mode is left to the pods' policy (service-local-mode-policy). Runs at /validate, where
 * the IP is final.
 */
import { openRegions } from '../calico/reachability.ts';
import type { CompiledPolicy } from '../calico/policy.ts';
import type { Finding, Rule } from './types.ts';
import { denyFix } from './support/deny-fix.ts';
import { SERVICE } from './support/kinds.ts';
import { answerTarget, exposedService, hostNames, storedPolicies, type GroupAnswer, type ServiceTarget } from './support/service-reach.ts';
import { decidedByText, sourcesText } from './support/verdict-text.ts';

const MAX_PORTS = 3;

/** The pre-DNAT policies whose Allow rules decide some region (the deny goes after them). */
export function allowPolicies(answers: readonly GroupAnswer[], policies: readonly CompiledPolicy[]): CompiledPolicy[] {
  const names = new Set<string>();
  for (const a of answers) for (const r of a.reach.regions) if (r.verdict === 'reaches' && r.decidedBy.stage === 'pre-dnat' && r.decidedBy.policy !== null) names.add(r.decidedBy.policy);
  return policies.filter((p) => names.has(p.name));
}

export const serviceClusterIPOpen: Rule = {
  id: 'service-cluster-ip-open',
  kinds: SERVICE,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: "An exposed cluster-mode Service's cluster IP ports must not be reachable by default: sources that no Allow names get through when no pre-DNAT rule drops them and no applyOnForward policy selects the host endpoints. The fix is a pre-DNAT, applyOnForward Deny of the destination nets after the allows.",
  check(ctx) {
    const { object, cluster } = ctx;
    // Policies unknown: the static config, or manifests that hold none.
    if (cluster.source === 'static' || (cluster.source === 'manifests' && cluster.globalNetworkPolicies.length === 0)) return [];
    const exposed = exposedService(object, ctx.config);
    if (exposed === null || exposed.local) return [];
    const policies = storedPolicies(cluster);
    const byPath = new Map<string, { target: ServiceTarget; answers: GroupAnswer[] }[]>();
    for (const target of exposed.targets) {
      const answers = answerTarget(target, ctx, policies).filter((a) => openRegions(a.reach).length > 0);
      if (answers.length === 0) continue;
      const list = byPath.get(target.path) ?? [];
      list.push({ target, answers });
      byPath.set(target.path, list);
    }
    const findings: Finding[] = [];
    for (const [path, open] of byPath) {
      const ip = open[0]!.target.ip;
      const words = open.slice(0, MAX_PORTS).map(({ target, answers }) => {
        const a = answers[0]!;
        const region = openRegions(a.reach)[0]!;
        const others = answers.length > 1 ? ` (and through ${answers.length - 1} other host-endpoint group${answers.length > 2 ? 's' : ''})` : '';
        return `port ${target.port}/${target.protocol} is reachable from ${sourcesText(region.set, ip.version)} through host endpoints ${hostNames(a.group)}${others}: ${decidedByText(region)}`;
      });
      if (open.length > MAX_PORTS) words.push(`${open.length - MAX_PORTS} more port(s) likewise`);
      const fix = denyFix(ip, allowPolicies(open.flatMap((o) => o.answers), policies), ctx);
      findings.push({
        path,
        message:
          `Service ${exposed.ref} is exposed (${exposed.reason}) and its cluster IP ${ip.cidr.replace(/\/(32|128)$/, '')} is open to unlisted clients: ${words.join('; ')}. ` +
          `Fix: add a pre-DNAT, applyOnForward Deny for the destination nets ${placementNote(fix.placement)}: ${JSON.stringify(fix.policy)}`,
      });
    }
    return findings;
  },
};

const placementNote = (placement: string): string => `(${placement})`;
