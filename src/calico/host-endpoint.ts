/**
 * What policy evaluation needs from a HostEndpoint object.
 *
 * Mirrors Calico's conversion to the model Felix uses
 * (libcalico-go/lib/backend/syncersv1/updateprocessors/hostendpointprocessor.go):
 * the labels are the object's own labels, nothing implicit is added (Felix's
 * label index then adds labels inherited from the endpoint's profiles'
 * `labelsToApply`, which this view does not model); `expectedIPs` entries that
 * do not parse as an IP are dropped.
 */
import type { KubeObject } from '../admission/types.ts';
import { NetSet, tryParseNet, type IPVersion, type Net } from './nets.ts';
import { perObject } from './memo.ts';
import type { Labels } from './selector/index.ts';

/** The allow-all profile Calico ships; automatic host endpoints carry it. */
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';

export interface HostEndpointView {
  readonly name: string;
  readonly node: string;
  /** `*` for an all-interfaces host endpoint; may be empty (then expectedIPs pick the interface). */
  readonly interfaceName: string;
  readonly labels: Labels;
  /** Parsed `expectedIPs` (/32 or /128 each). Label-based rules match the host only through these. */
  readonly expectedIPs: readonly Net[];
  /** The expectedIPs of each IP version as a set; undefined when it has none of that version. */
  readonly addresses: Readonly<Record<IPVersion, NetSet | undefined>>;
  /** `expectedIPs` entries that are not IP addresses (Calico ignores them). */
  readonly invalidExpectedIPs: readonly string[];
  readonly profiles: readonly string[];
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Builds the view of a HostEndpoint object (a review's own: nothing is kept). Never throws.
 * @example hostEndpointView(obj).expectedIPs.map((n) => n.cidr)  // ['10.0.0.11/32']
 */
export function hostEndpointView(obj: KubeObject): HostEndpointView {
  const spec = (typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {}) as Record<string, unknown>;
  const expectedIPs: Net[] = [];
  const invalidExpectedIPs: string[] = [];
  for (const item of Array.isArray(spec['expectedIPs']) ? (spec['expectedIPs'] as unknown[]) : []) {
    // An address, not a CIDR: Calico uses net.ParseIP here.
    const net = typeof item === 'string' && !item.includes('/') ? tryParseNet(item) : undefined;
    if (net === undefined) invalidExpectedIPs.push(String(item));
    else expectedIPs.push(net);
  }
  return Object.freeze({
    name: typeof obj.metadata?.name === 'string' ? obj.metadata.name : '',
    node: typeof spec['node'] === 'string' ? spec['node'] : '',
    interfaceName: typeof spec['interfaceName'] === 'string' ? spec['interfaceName'] : '',
    labels: Object.freeze(stringRecord(obj.metadata?.labels)),
    expectedIPs: Object.freeze(expectedIPs),
    addresses: Object.freeze({ 4: addressesOf(expectedIPs, 4), 6: addressesOf(expectedIPs, 6) }),
    invalidExpectedIPs: Object.freeze(invalidExpectedIPs),
    profiles: Object.freeze(stringList(spec['profiles'])),
  });
}

/** hostEndpointView for long-lived objects (the cluster cache's): kept per object while it lives. */
export const storedHostEndpointView: (obj: KubeObject) => HostEndpointView = perObject(hostEndpointView);

function addressesOf(ips: readonly Net[], version: IPVersion): NetSet | undefined {
  const own = ips.filter((n) => n.version === version);
  if (own.length === 0) return undefined;
  return own.length === 1 ? NetSet.ofNet(own[0]!) : NetSet.of(own); // one address (the usual case): a shared set
}

/** True when the host endpoint lists at least one expected IP of that version. */
export function hasExpectedIPs(hep: HostEndpointView, version?: IPVersion): boolean {
  return hep.expectedIPs.some((net) => version === undefined || net.version === version);
}
