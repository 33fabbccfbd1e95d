/**
 * Who reaches an exposed Service's cluster IP ports: the Service side of the reachability
 * engine (src/calico/reachability.ts), shared by service-cluster-ip-open,
 * service-cluster-ip-policy, gnp-exposure-change and `clusterip-guard explain`.
 */
import type { KubeObject } from '../../admission/types.ts';
import { selectsHostEndpoint } from '../../calico/dataplane.ts';
import { storedHostEndpointView, type HostEndpointView } from '../../calico/host-endpoint.ts';
import { NetSet, type Net } from '../../calico/nets.ts';
import { governsIngress, type CompiledPolicy } from '../../calico/policy.ts';
import { PortIntervalSet } from '../../calico/ports.ts';
import { reachability, type Destination, type ReachOptions, type Reachability } from '../../calico/reachability.ts';
import { parseSelectorCached } from '../../calico/selector/index.ts';
import { perSnapshot } from '../../cluster/derived.ts';
import { exposureReason } from '../../kube/exposure.ts';
import type { RuleContext } from '../types.ts';
import { hostEndpointClasses, storedPolicies } from './after-write.ts';
import { netOf } from './cidr.ts';
import { podCIDRs } from './network.ts';
import { declaredClusterIPs, isHeadless, objectRef, serviceSpec } from './service.ts';

type Ctx = Pick<RuleContext, 'cluster' | 'config'>;

/** One exposed Service port on one cluster IP. */
export interface ServiceTarget {
  /** `namespace/name`, or null for a bare destination (`explain --to`). */
  readonly service: string | null;
  readonly ip: Net;
  readonly port: number;
  readonly protocol: string;
  /** The Service port's targetPort (defaults to `port`); a name when it names a container port. */
  readonly targetPort: number | string;
  /** externalTrafficPolicy: Local (the client address reaches the pods). */
  readonly local: boolean;
  /** Field path of the cluster IP, for findings. */
  readonly path: string;
}

export interface ExposedService {
  readonly ref: string;
  readonly reason: string;
  readonly local: boolean;
  readonly targets: readonly ServiceTarget[];
}

/** The cluster IP ports of an exposed Service, or null when it is not exposed or has no cluster IP. */
export function exposedService(service: KubeObject, config: RuleContext['config']): ExposedService | null {
  const reason = exposureReason(service, config);
  const spec = serviceSpec(service);
  if (reason === null || spec.type === 'ExternalName' || isHeadless(spec)) return null;
  const ref = objectRef(service);
  const local = spec.externalTrafficPolicy === 'Local';
  const ports = Array.isArray(service.spec?.['ports']) ? (service.spec['ports'] as Array<Record<string, unknown> | null>) : [];
  const targets: ServiceTarget[] = [];
  declaredClusterIPs(spec).forEach((ip, i) => {
    const net = netOf(ip);
    if (net === null) return;
    const path = spec.clusterIPs.length > 0 ? `spec.clusterIPs[${i}]` : 'spec.clusterIP';
    for (const p of ports) {
      // Only ports the API server accepts (null entries, port 0 or protocol "" never get past it).
      if (!isPortNumber(p?.['port'])) continue;
      const protocol = p['protocol'] === undefined ? 'TCP' : p['protocol'];
      if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') continue;
      const targetPort = isPortNumber(p['targetPort']) || (typeof p['targetPort'] === 'string' && p['targetPort'] !== '') ? (p['targetPort'] as number | string) : p['port'];
      targets.push({ service: ref, ip: net, port: p['port'], protocol, targetPort, local, path });
    }
  });
  return targets.length === 0 ? null : { ref, reason, local, targets };
}

/** The destination as the host endpoint sees it, with where kube-proxy DNATs it (the pod CIDRs). */
export function destinationOf(target: ServiceTarget, ctx: Ctx): Destination {
  const pods = NetSet.of(podCIDRs(ctx).filter((c) => netOf(c)?.version === target.ip.version));
  // A named target port is unknown here: forward policy is then matched against every port.
  const ports = typeof target.targetPort === 'number' ? PortIntervalSet.of([target.targetPort]) : PortIntervalSet.ALL;
  return { ip: target.ip, protocol: target.protocol, port: target.port, afterDnat: pods.isEmpty() ? undefined : { nets: pods, ports } };
}

/** Host endpoints every policy treats alike for forwarded traffic, with their names. */
export interface HostGroup {
  readonly names: readonly string[];
  readonly hostEndpoint: HostEndpointView;
  /** Every endpoint of the group (the representative first). */
  readonly members: readonly HostEndpointView[];
  /** True when no HostEndpoint is known and this stands for `network.hostEndpointSelector`. */
  readonly assumed: boolean;
}

export { storedPolicies };

/**
 * The host endpoints that receive exposed traffic (`network.hostEndpointSelector`), grouped by
 * what decides forwarded traffic on them: the ingress policies that select them and whether
 * they are all-interfaces endpoints (untracked policy skips those). Labels, names and profiles
 * matter only through that for traffic to a cluster IP. Kept while the host endpoints and the
 * policies stay as they are (perSnapshot).
 */
export const hostGroups = (ctx: Ctx): readonly HostGroup[] => groupsOf(ctx.cluster, ctx.config);

const groupsOf = perSnapshot(['hostEndpoints', 'globalNetworkPolicies'], (cluster, config: Ctx['config']): HostGroup[] => {
  const classes = hostEndpointClasses({ cluster, config });
  if (cluster.hostEndpoints.length === 0) return classes.map((c) => ({ names: [c.representative.name], hostEndpoint: c.representative, members: c.members, assumed: true }));
  let receives: (hep: HostEndpointView) => boolean;
  try {
    const selector = parseSelectorCached(config.network.hostEndpointSelector);
    receives = (hep) => selector.matches(hep.labels);
  } catch {
    receives = () => true; // the config loader refuses a bad selector
  }
  // A class's endpoints agree on the labels of every selector (the ones above included) and on
  // being all-interfaces endpoints, so the groups are the classes merged by their ingress policies.
  const index = new Map(storedPolicies(cluster).map((p, i) => [p, i]));
  const position = new Map(cluster.hostEndpoints.map((obj, i) => [storedHostEndpointView(obj), i]));
  const byKey = new Map<string, HostEndpointView[]>();
  for (const c of classes) {
    if (!receives(c.representative)) continue;
    const key = JSON.stringify([c.representative.interfaceName === '*', c.policies.filter(governsIngress).map((p) => index.get(p))]);
    let members = byKey.get(key);
    if (members === undefined) byKey.set(key, (members = []));
    for (const m of c.members) members.push(m);
  }
  return [...byKey.values()].map((members) => groupOf(members.sort((a, b) => position.get(a)! - position.get(b)!)));
});

const groupOf = (members: readonly HostEndpointView[]): HostGroup => ({ names: members.map((m) => m.name).sort(), hostEndpoint: members[0]!, members, assumed: false });

/**
 * The groups once `submitted` is stored in place of its namesake: each group's members agree on
 * every other policy (and the old version), so splitting by the submitted policy's selection is
 * the grouping of the new policy list, without selecting all over again.
 */
export function groupsAfterWrite(before: readonly HostGroup[], submitted: CompiledPolicy | null): HostGroup[] {
  if (submitted === null || !governsIngress(submitted)) return [...before];
  return before.flatMap((g) => {
    if (g.assumed) return [g];
    const inside = g.members.filter((m) => selectsHostEndpoint(submitted, m));
    if (inside.length === 0 || inside.length === g.members.length) return [g];
    return [groupOf(inside), groupOf(g.members.filter((m) => !selectsHostEndpoint(submitted, m)))];
  });
}

export interface GroupAnswer {
  readonly group: HostGroup;
  readonly reach: Reachability;
}

/** Reachability of one target through each host-endpoint group. */
export function answerTarget(
  target: ServiceTarget,
  ctx: Ctx,
  policies: readonly CompiledPolicy[] = storedPolicies(ctx.cluster),
  within?: NetSet,
  backend?: ReachOptions['backend'],
  groups?: readonly HostGroup[],
): GroupAnswer[] {
  // The plain question (stored policies, every source, the snapshot's groups) recurs: several
  // rules ask it for one review, and every review of the same Service asks it again.
  const plain = within === undefined && backend === undefined && groups === undefined && policies === storedPolicies(ctx.cluster);
  const key = plain ? `${target.ip.cidr}|${target.protocol}|${target.port}|${target.targetPort}` : '';
  const memo = plain ? answersOf(ctx.cluster, ctx.config) : undefined;
  const hit = memo?.get(key);
  if (hit !== undefined) return hit;
  const dest = destinationOf(target, ctx);
  const answers = (groups ?? hostGroups(ctx)).map((group) => ({ group, reach: reachability(policies, group.hostEndpoint, dest, { within, backend }) }));
  if (memo !== undefined) {
    if (memo.size >= MAX_ANSWERS) memo.clear(); // a bound for reviews of ever new IPs
    memo.set(key, answers);
  }
  return answers;
}

const MAX_ANSWERS = 4_096;
/** Plain answers, kept while what they are derived from lives: the policies, the host endpoints, the pod CIDRs (destinationOf). */
const answersOf = perSnapshot(['globalNetworkPolicies', 'hostEndpoints', 'ipPools'], (_parts, _config: Ctx['config']) => new Map<string, GroupAnswer[]>());

/** `"node1-eth0", "node2-eth0"`, or the first few and a count. */
export function hostNames(group: HostGroup, max = 3): string {
  if (group.assumed) return group.names[0]!;
  const shown = group.names.slice(0, max).map((n) => `"${n}"`).join(', ');
  return group.names.length > max ? `${shown} and ${group.names.length - max} more` : shown;
}

const isPortNumber = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
