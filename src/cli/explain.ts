/**
 * `clusterip-guard explain`: who reaches each exposed Service port (or any destination), per
 * group of host endpoints, from a cluster snapshot. Pure: the command (explain-command.ts)
 * reads the manifests or the cluster and prints.
 */
import { NetSet, tryParseNet, type Net } from '../calico/nets.ts';
import { openRegions, type DecidedBy, type Reachability, type ReachVerdict } from '../calico/reachability.ts';
import type { ClusterSnapshot } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import { GuardError } from '../errors.ts';
import { backendsOf, hostsToPods } from '../rules/support/backends.ts';
import { objectRef } from '../rules/support/service.ts';
import { answerTarget, exposedService, storedPolicies, type ServiceTarget } from '../rules/support/service-reach.ts';
import { decidedByText, explainVerdict, sourcesText } from '../rules/support/verdict-text.ts';
import { plural } from './check.ts';

export interface ExplainQuery {
  /** `namespace/name` of one exposed Service. */
  readonly service?: string | undefined;
  /** `IP[:PORT][/PROTOCOL]`, e.g. `10.20.30.40:443/TCP`, `[fd00::10]:443`. */
  readonly to?: string | undefined;
  /** `IP` or `CIDR`: only this source. */
  readonly from?: string | undefined;
}

export interface RegionJson {
  readonly sources: readonly string[];
  readonly verdict: ReachVerdict;
  readonly decidedBy: DecidedBy;
  /** Present only when the deciding rule may match part of the traffic. */
  readonly uncertainOn?: readonly string[];
}

export interface HostEndpointsJson {
  readonly names: readonly string[];
  readonly reachableFrom: readonly string[];
  readonly droppedFrom: readonly string[];
  readonly regions: readonly RegionJson[];
  /** With `--from`: the verdict for that source (`mixed` when it spans regions that differ). */
  readonly verdict?: ReachVerdict | 'mixed';
  readonly decidedBy?: DecidedBy | null;
}

export interface TargetJson {
  readonly service: string | null;
  readonly ip: string;
  readonly port: number;
  readonly protocol: string;
  readonly hostEndpoints: readonly HostEndpointsJson[];
}

export interface ExplainResult {
  readonly targets: readonly TargetJson[];
}

/** What `explain` found, with the text forms kept beside the JSON. */
export interface Explained {
  readonly json: ExplainResult;
  /** Exposed cluster-mode Service ports that some sources reach by default. */
  readonly open: number;
  readonly text: string;
}

/** Parses `--to`; throws a usage error naming the value. */
export function parseDestination(text: string): { ip: Net; port: number | undefined; protocol: string } {
  const bad = (why = ''): never => {
    throw new GuardError('CIG_ERR_USAGE', `--to must be IP[:PORT][/PROTOCOL], e.g. 10.20.30.40:443/TCP or [fd00::10]:443${why} (got "${text}")`);
  };
  let rest = text;
  let protocol = 'TCP';
  const slash = rest.lastIndexOf('/');
  if (slash !== -1) {
    protocol = rest.slice(slash + 1).toUpperCase();
    rest = rest.slice(0, slash);
    if (!['TCP', 'UDP', 'SCTP'].includes(protocol)) bad(': the protocol is TCP, UDP or SCTP');
  }
  let address = rest;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracket !== null) [, address = '', portText] = bracket;
  else if (rest.split(':').length === 2) [address = '', portText] = rest.split(':');
  // A bare IPv6 address (more than one colon) has no port: that needs the [brackets].
  const ip = tryParseNet(address);
  if (ip === undefined || address.includes('/')) bad();
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!/^[0-9]+$/.test(portText!) || port < 1 || port > 65535)) bad(': the port is 1-65535');
  return { ip: ip!, port, protocol };
}

function parseFrom(text: string): NetSet {
  const net = tryParseNet(text);
  if (net === undefined) throw new GuardError('CIG_ERR_USAGE', `--from must be an IP address or CIDR (got "${text}")`);
  return NetSet.ofNet(net);
}

/** The targets the query asks about. */
function targetsFor(cluster: ClusterSnapshot, config: Config, query: ExplainQuery): ServiceTarget[] {
  const exposed = cluster.exposedServices.map((s) => exposedService(s, config)).filter((e) => e !== null);
  let targets = exposed.flatMap((e) => e.targets);
  if (query.service !== undefined) {
    if (!/^[^/]+\/[^/]+$/.test(query.service)) throw new GuardError('CIG_ERR_USAGE', `--service must be NAMESPACE/NAME (got "${query.service}")`);
    targets = targets.filter((t) => t.service === query.service);
    if (targets.length === 0) throw new GuardError('CIG_ERR_USAGE', `--service ${query.service}: no exposed Service of that name with a cluster IP and ports in the cluster state`);
  }
  if (query.to !== undefined) {
    const to = parseDestination(query.to);
    const matching = targets.filter((t) => t.ip.cidr === to.ip.cidr && (to.port === undefined || (t.port === to.port && t.protocol.toUpperCase() === to.protocol)));
    if (matching.length > 0) return matching;
    if (to.port === undefined) throw new GuardError('CIG_ERR_USAGE', `--to ${query.to}: no exposed Service has that IP; give a port (IP:PORT)`);
    return [{ service: null, ip: to.ip, port: to.port, protocol: to.protocol, targetPort: to.port, local: false, path: '' }];
  }
  return targets;
}

function hostEndpointsJson(names: readonly string[], reach: Reachability, from: boolean): HostEndpointsJson {
  const regions: RegionJson[] = reach.regions.map((r) => ({
    sources: r.sources,
    verdict: r.verdict,
    decidedBy: r.decidedBy,
    ...(r.uncertainOn.length > 0 ? { uncertainOn: r.uncertainOn } : {}),
  }));
  const base = { names, reachableFrom: reach.reachable.toCidrs(), droppedFrom: reach.dropped.toCidrs(), regions };
  if (!from) return base;
  const only = reach.regions.length === 1 ? reach.regions[0]! : undefined;
  return { ...base, verdict: only?.verdict ?? 'mixed', decidedBy: only?.decidedBy ?? null };
}

/**
 * Answers the query on a snapshot.
 * @example explain(snapshot, config, { service: 'default/svc-a' }).json.targets[0].hostEndpoints[0].reachableFrom
 */
export function explain(cluster: ClusterSnapshot, config: Config, query: ExplainQuery = {}): Explained {
  const within = query.from === undefined ? undefined : parseFrom(query.from);
  const ctx = { cluster, config };
  const policies = storedPolicies(cluster);
  const targets: TargetJson[] = [];
  const lines: string[] = [];
  let open = 0;
  const byRef = new Map(cluster.exposedServices.map((s) => [objectRef(s), s] as const));
  for (const target of targetsFor(cluster, config, query)) {
    const ip = target.ip.cidr.replace(/\/(32|128)$/, '');
    // Local mode: the pods see the client address, so their policy is the last stage of the answer.
    const service = target.service === null ? undefined : byRef.get(target.service);
    const backends = service === undefined ? null : backendsOf(service, ctx);
    const answers = answerTarget(target, ctx, policies, within, target.local && backends !== null ? backends : undefined);
    const isOpen = target.service !== null && !target.local && answers.some((a) => openRegions(a.reach).length > 0);
    if (isOpen) open++;
    const head = `${target.service ?? '(destination)'} ${target.ip.version === 6 ? `[${ip}]` : ip}:${target.port}/${target.protocol}`;
    lines.push(`${head}${target.local ? '  (externalTrafficPolicy: Local: the pods see the client address; their policy is the last stage)' : ''}${isOpen ? '  OPEN: reachable by default' : ''}`);
    if (answers.length === 0) lines.push('  no host endpoints receive exposed traffic (network.hostEndpointSelector matches none)');
    for (const { group, reach } of answers) {
      const count = group.assumed ? '' : ` (${group.names.length})`;
      const shown = group.names.length > 5 ? `${group.names.slice(0, 5).join(', ')}, …` : group.names.join(', ');
      lines.push(`  host endpoints ${shown}${count}`);
      const width = Math.min(44, Math.max(...reach.regions.map((r) => sourcesText(r.set, reach.version).length)));
      for (const r of reach.regions) {
        const by = decidedByText(r) + (r.verdict === 'reaches' && r.decidedBy.rule === null ? '  [by default]' : '');
        lines.push(`    ${r.verdict.padEnd(8)} ${sourcesText(r.set, reach.version).padEnd(width)}  ${by}`);
      }
      // Cluster mode's last stage: the pods' policies see the node's address.
      const toPods = backends === null || target.local || group.assumed ? null : hostsToPods(backends, target, group.hostEndpoint, ctx);
      if (toPods !== null) lines.push(`    backend  ${toPods.allowed ? 'the pods let these hosts in' : 'the pods DROP traffic from these hosts'}: ${explainVerdict(toPods)}`);
      // One source asked about: the dataplane's own account of it, step by step.
      if (within !== undefined && reach.regions.length === 1) lines.push(`    why: ${explainVerdict(reach.regions[0]!.detail)}`);
    }
    targets.push({
      service: target.service,
      ip,
      port: target.port,
      protocol: target.protocol,
      hostEndpoints: answers.map((a) => hostEndpointsJson(a.group.names, a.reach, within !== undefined)),
    });
  }
  const ports = targets.filter((t) => t.service !== null).length;
  lines.push(
    targets.length === 0
      ? 'no exposed Service with a cluster IP and ports in the cluster state'
      : `${plural(ports, 'exposed Service port')}; ${open} reachable by default (service-cluster-ip-open)`,
  );
  return { json: { targets }, open, text: lines.join('\n') + '\n' };
}
