/**
 * Seeded random clusters for the differential rig: a few GlobalNetworkPolicies (stored as
 * crd.projectcalico.org/v1, the form Felix reads) around one HostEndpoint, and a sample of probes.
 * Pure: the same seed gives the same clusters.
 */
import type { KubeObject } from '../../src/admission/types.ts';
import { CLIENTS, CLUSTER_IPS, LISTEN_PORTS, NODE_IP, POD_IP, type ProbeSpec, type Target } from './topology.ts';

export type Rng = () => number;

/** mulberry32: small, fast, good enough to spread test cases. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Rng, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const chance = (r: Rng, p: number): boolean => r() < p;
function some<T>(r: Rng, items: readonly T[], max: number): T[] {
  const n = 1 + Math.floor(r() * max);
  return [...new Set(Array.from({ length: n }, () => pick(r, items)))];
}

const SOURCE_NETS = ['198.51.100.0/24', '198.51.100.0/26', '198.51.100.10/32', '198.51.100.200/32', '203.0.113.0/24', '203.0.113.10/32', '0.0.0.0/0'];
const DEST_NETS = ['10.20.30.40/32', '10.20.30.0/24', '192.168.0.0/16', `${POD_IP}/32`, `${NODE_IP}/32`, '198.51.100.0/24'];
const PORTS: ReadonlyArray<number | string> = [22, 68, 80, 443, 8080, 30080, '80:443', '30000:32767', '1:1024'];
export const SELECTORS = ["k8s-role == 'node'", 'all()', 'has(k8s-role)', "k8s-role in {'node', 'edge'}", "k8s-role == 'worker'", '!has(k8s-role)'];
const ACTIONS = ['Allow', 'Deny', 'Pass', 'Log'] as const;
const ORDERS = [undefined, 10, 20, 20, 50, 100];
export const STAGES = ['untracked', 'pre-dnat', 'forward', 'normal'] as const;
export type GeneratedStage = (typeof STAGES)[number];

export const RIG_LABEL = 'cig-dataplane-rig';
export const SECOND_TIER = 't2';

export interface Cluster {
  readonly index: number;
  readonly policies: KubeObject[];
  readonly tiers: readonly string[];
  readonly probes: ProbeSpec[];
}

function entity(r: Rng, nets: readonly string[], withPorts: boolean): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (chance(r, 0.45)) e['nets'] = some(r, nets, 2);
  if (chance(r, 0.2)) e['notNets'] = some(r, nets, 1);
  if (withPorts) {
    if (chance(r, 0.5)) e['ports'] = some(r, PORTS, 2);
    else if (chance(r, 0.2)) e['notPorts'] = some(r, PORTS, 2);
  }
  return e;
}

function rule(r: Rng): Record<string, unknown> {
  const out: Record<string, unknown> = { action: pick(r, ACTIONS) };
  const protocol = pick(r, ['TCP', 'UDP', 'TCP', 'UDP', undefined]);
  if (protocol !== undefined) out['protocol'] = protocol;
  const source = entity(r, SOURCE_NETS, false);
  const destination = entity(r, DEST_NETS, protocol !== undefined);
  if (Object.keys(source).length > 0) out['source'] = source;
  if (Object.keys(destination).length > 0) out['destination'] = destination;
  return out;
}

export function policy(r: Rng, name: string, tier: string, stage: GeneratedStage): KubeObject {
  const order = pick(r, ORDERS);
  const spec: Record<string, unknown> = {
    tier,
    ...(order !== undefined ? { order } : {}),
    selector: pick(r, SELECTORS),
    types: ['Ingress'],
    ingress: Array.from({ length: 1 + Math.floor(r() * 3) }, () => rule(r)),
  };
  if (stage === 'untracked') Object.assign(spec, { doNotTrack: true, applyOnForward: true });
  if (stage === 'pre-dnat') Object.assign(spec, { preDNAT: true, applyOnForward: true });
  if (stage === 'forward') spec['applyOnForward'] = true;
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'GlobalNetworkPolicy',
    // The name calico-apiserver stores a tiered policy under: "<tier>.<name>".
    metadata: { name: `${tier}.${name}`, labels: { [RIG_LABEL]: 'generated' } },
    spec,
  };
}

/**
 * Untracked traffic gets no conntrack entry, so its replies are not "established" on the way back
 * and need an untracked egress Allow of their own (Calico docs, reference/host-endpoints/
 * untracked "you must also ... allow the return traffic"). Clusters with untracked policy get
 * this one, as a correct cluster would; it has no ingress rules, so the model's ingress verdicts
 * do not read it.
 */
export const RETURN_PATH: KubeObject = {
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'default.untracked-return-path', labels: { [RIG_LABEL]: 'generated' } },
  spec: { tier: 'default', order: 1, selector: "k8s-role == 'node'", doNotTrack: true, applyOnForward: true, types: ['Egress'], egress: [{ action: 'Allow' }] },
};

const TARGETS: ReadonlyArray<readonly [Target, string]> = [
  ['cluster-ip', CLUSTER_IPS[0]],
  ['cluster-ip', CLUSTER_IPS[1]],
  ['pod-ip', POD_IP],
  ['node-ip', NODE_IP],
];

/** Every probe the rig can send: clients × targets × protocols × listening ports. */
export const ALL_PROBES: readonly ProbeSpec[] = CLIENTS.flatMap((src) =>
  TARGETS.flatMap(([target, dst]) =>
    (['tcp', 'udp'] as const).flatMap((proto) => LISTEN_PORTS.map((port) => ({ proto, src, target, dst, port }))),
  ),
);

export function cluster(seed: number, index: number, probesPerCluster: number): Cluster {
  const r = rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const twoTiers = chance(r, 0.3);
  const tiers = twoTiers ? [SECOND_TIER, 'default'] : ['default'];
  const n = 1 + Math.floor(r() * 6);
  const policies = Array.from({ length: n }, (_, i) => policy(r, `p${i}`, pick(r, tiers), pick(r, STAGES)));
  if (policies.some((p) => p.spec!['doNotTrack'] === true)) policies.push(RETURN_PATH);
  const pool = [...ALL_PROBES];
  const probes: ProbeSpec[] = [];
  while (probes.length < probesPerCluster && pool.length > 0) probes.push(pool.splice(Math.floor(r() * pool.length), 1)[0]!);
  return { index, policies, tiers, probes };
}
