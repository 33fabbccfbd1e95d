import type { KubeObject } from '../../admission/types.ts';

export type RuleObject = Record<string, unknown>;

/** The GlobalNetworkPolicy spec fields rules read, tolerant of any input shape. */
export interface GnpView {
  name: string;
  selector: string;
  preDNAT: boolean;
  applyOnForward: boolean;
  doNotTrack: boolean;
  /** `spec.types` as written, or null when absent. */
  types: unknown[] | null;
  ingress: RuleObject[];
  egress: RuleObject[];
  has(field: string): boolean;
}

const rulesOf = (v: unknown): RuleObject[] =>
  Array.isArray(v) ? v.filter((r): r is RuleObject => typeof r === 'object' && r !== null && !Array.isArray(r)) : [];

export function gnpView(obj: KubeObject): GnpView {
  const spec = (typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {}) as Record<string, unknown>;
  return {
    name: typeof obj.metadata?.name === 'string' ? obj.metadata.name : '<unnamed>',
    selector: typeof spec['selector'] === 'string' ? spec['selector'] : '',
    preDNAT: spec['preDNAT'] === true,
    applyOnForward: spec['applyOnForward'] === true,
    doNotTrack: spec['doNotTrack'] === true,
    types: Array.isArray(spec['types']) ? spec['types'] : null,
    ingress: rulesOf(spec['ingress']),
    egress: rulesOf(spec['egress']),
    has: (field) => Object.hasOwn(spec, field),
  };
}

/** Destination nets of an ingress rule, as strings. */
export function destinationNets(rule: RuleObject): string[] {
  const dst = rule['destination'];
  if (typeof dst !== 'object' || dst === null) return [];
  const nets = (dst as Record<string, unknown>)['nets'];
  return Array.isArray(nets) ? nets.filter((n): n is string => typeof n === 'string') : [];
}
