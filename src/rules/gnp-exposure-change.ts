/**
 * gnp-exposure-change — what a GlobalNetworkPolicy write does to who reaches each exposed
 * Service port.
 *
 * The reachability of every exposed Service's cluster IP ports (src/calico/reachability.ts,
 * through the host endpoints that receive exposed traffic) is computed with the stored
 * policies and with the policies as they will be after the write: the submitted policy added
 * (CREATE), in place of its stored version (UPDATE), or gone (DELETE: the after state simply
 * lacks it). Only the ports whose answer changes are named, within a budget that keeps the
 * warning well inside the API server's 4 KiB for all warnings; the rest are counted.
 */
import type { KubeObject } from '../admission/types.ts';
import { NetSet } from '../calico/nets.ts';
import { compilePolicy, governsIngress, isForwardPolicy, type CompiledPolicy } from '../calico/policy.ts';
import { canDecide, destinationFlow, flowViews, type Destination } from '../calico/reachability.ts';
import { isExisting, type Finding, type Rule, type RuleContext } from './types.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';
import { answerTarget, destinationOf, exposedService, groupsAfterWrite, hostGroups, storedPolicies, type HostGroup, type ServiceTarget } from './support/service-reach.ts';
import { sourcesText } from './support/verdict-text.ts';

/** Characters of service lines in one warning (the API server keeps 4 KiB for every warning of a response). */
const BUDGET = 1_500;

/** The policies as they will be after the write. */
export function policiesAfterWrite(ctx: Pick<RuleContext, 'operation' | 'object' | 'oldObject' | 'cluster'>): {
  before: readonly CompiledPolicy[];
  after: readonly CompiledPolicy[];
  changed: CompiledPolicy[];
  submitted: CompiledPolicy | null;
} {
  const before = storedPolicies(ctx.cluster);
  const name = (ctx.operation === 'DELETE' ? (ctx.oldObject ?? ctx.object) : ctx.object).metadata?.name;
  const old = before.filter((p) => p.name === name);
  const kept = before.filter((p) => p.name !== name);
  if (ctx.operation === 'DELETE') return { before, after: kept, changed: old, submitted: null };
  const submitted = compilePolicy(ctx.object);
  return { before, after: [...kept, submitted], changed: [...old, submitted], submitted };
}

/** Whether a policy can change the answer for a destination: a rule that can match it, or a normal applyOnForward policy (it turns the forward default deny on). */
function canAffect(policy: CompiledPolicy, dest: Destination): boolean {
  if (!governsIngress(policy)) return false;
  if (isForwardPolicy(policy)) return true;
  const views = flowViews(destinationFlow(dest, 'any'), dest.ip.version);
  return policy.ingress.some((rule) => canDecide(rule, views));
}

/** Sources that reach the target through any of the host endpoints. */
function reachableFrom(target: ServiceTarget, ctx: Pick<RuleContext, 'cluster' | 'config'>, policies: readonly CompiledPolicy[], groups: readonly HostGroup[]): NetSet {
  return NetSet.of(answerTarget(target, ctx, policies, undefined, undefined, groups).flatMap((a) => a.reach.reachable.toCidrs()));
}

/** One line per changed target: "default/svc-a 10.20.30.40:443/TCP becomes reachable from … (was …)". */
export function exposureChanges(ctx: Pick<RuleContext, 'operation' | 'object' | 'oldObject' | 'cluster' | 'config'>): string[] {
  const { before, after, changed, submitted } = policiesAfterWrite(ctx);
  const lines: string[] = [];
  let groups: { before: readonly HostGroup[]; after: readonly HostGroup[] } | undefined; // built when a port can change
  for (const service of ctx.cluster.exposedServices as readonly KubeObject[]) {
    const exposed = exposedService(service, ctx.config);
    if (exposed === null) continue;
    for (const target of exposed.targets) {
      const dest = destinationOf(target, ctx);
      if (!changed.some((p) => canAffect(p, dest))) continue;
      if (groups === undefined) {
        const stored = hostGroups(ctx);
        groups = { before: stored, after: groupsAfterWrite(stored, submitted) };
      }
      const was = reachableFrom(target, ctx, before, groups.before);
      const now = reachableFrom(target, ctx, after, groups.after);
      if (was.coversAll(now) && now.coversAll(was)) continue; // the same sources
      const v = target.ip.version;
      const ip = target.ip.cidr.replace(/\/(32|128)$/, '');
      const head = `${target.service} ${v === 6 ? `[${ip}]` : ip}:${target.port}/${target.protocol}`;
      const gained = now.minus(was);
      lines.push(
        gained.isEmpty()
          ? `${head} is no longer reachable from ${sourcesText(was.minus(now), v)}${now.isEmpty() ? '' : ` (still from ${sourcesText(now, v)})`}`
          : `${head} becomes reachable from ${sourcesText(now, v)} (was ${was.isEmpty() ? 'no source' : sourcesText(was, v)})`,
      );
    }
  }
  return lines;
}

export const gnpExposureChange: Rule = {
  id: 'gnp-exposure-change',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['validate'],
  defaultAction: 'warn',
  needsValidObject: true,
  doc: 'Says how this GlobalNetworkPolicy write changes who reaches each exposed Service cluster IP port (only the ports whose answer changes, capped with a count of the rest).',
  check(ctx) {
    if (ctx.cluster.source === 'static' || ctx.cluster.exposedServices.length === 0) return []; // nothing known to compare
    // A policy as it stands changes nothing: an audit judges each exposed Service's reach on the
    // Service itself (service-cluster-ip-open), not once per policy that shapes it.
    if (isExisting(ctx)) return [];
    const lines = exposureChanges(ctx);
    if (lines.length === 0) return [];
    const shown: string[] = [];
    let size = 0;
    for (const line of lines) {
      if (shown.length > 0 && size + line.length > BUDGET) break;
      shown.push(line);
      size += line.length + 2;
    }
    const rest = lines.length - shown.length;
    const finding: Finding = {
      path: ctx.operation === 'DELETE' ? 'metadata.name' : 'spec',
      message: `after this change, ${shown.join('; ')}${rest > 0 ? `; and ${rest} more exposed Service port${rest === 1 ? '' : 's'} change` : ''}.`,
    };
    return [finding];
  },
};
