/**
 * Turns one entry of Calico's validator table into the GlobalNetworkPolicy the webhook judges.
 *
 * Calico's table validates structs of several types on their own (a Rule, an EntityRule, ICMP
 * fields...). Each is placed where a GlobalNetworkPolicy would hold it, adding only what a
 * GlobalNetworkPolicy needs and the struct on its own does not (a name; a protocol for ports on
 * an EntityRule; a namespace for `services`, which a GlobalNetworkPolicy requires), so the
 * expected answer carries over unchanged.
 */
import type { KubeObject } from '../../../src/admission/types.ts';

export interface ValidatorEntry {
  source: string;
  description: string;
  type: 'Rule' | 'EntityRule' | 'ICMPFields' | 'HTTPMatch' | 'Protocol' | 'GlobalNetworkPolicy' | 'NetworkPolicy';
  valid: boolean;
  /** The error text Calico's table expects, where it names one. */
  calicoReason?: string | null;
  value: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const policy = (spec: Obj, metadata: Obj = { name: 'test' }): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata,
  spec,
});

/** A copy of an entity whose `services` has a namespace (`namespace` for an unset one). */
function withServiceNamespace(entity: unknown, namespace: string): unknown {
  if (!isObj(entity) || !isObj(entity['services']) || entity['services']['namespace']) return entity;
  return { ...entity, services: { ...entity['services'], namespace } };
}

function ruleWithNamespaces(rule: unknown, namespace: string): unknown {
  if (!isObj(rule)) return rule;
  const out: Obj = { ...rule };
  if ('source' in rule) out['source'] = withServiceNamespace(rule['source'], namespace);
  if ('destination' in rule) out['destination'] = withServiceNamespace(rule['destination'], namespace);
  return out;
}

const hasPorts = (e: Obj): boolean =>
  (Array.isArray(e['ports']) && e['ports'].length > 0) || (Array.isArray(e['notPorts']) && e['notPorts'].length > 0);

export function wrap(entry: ValidatorEntry): KubeObject {
  const value = entry.value as Obj;
  switch (entry.type) {
    case 'GlobalNetworkPolicy':
      return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', ...value } as KubeObject;
    case 'NetworkPolicy': {
      // A namespaced policy's rules mean the same in a global one, once the namespace a
      // NetworkPolicy implies for `services` is written out.
      const metadata = { ...(value['metadata'] as Obj | undefined) };
      const namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : 'default';
      delete metadata['namespace'];
      const spec: Obj = { ...(value['spec'] as Obj | undefined) };
      for (const key of ['ingress', 'egress'] as const) {
        if (Array.isArray(spec[key])) spec[key] = spec[key].map((r: unknown) => ruleWithNamespaces(r, namespace));
      }
      return policy(spec, metadata);
    }
    case 'Rule': {
      // services in a destination are only allowed on egress, in a source only on ingress.
      const egress = isObj(value['destination']) && value['destination']['services'] !== undefined;
      return policy({ [egress ? 'egress' : 'ingress']: [ruleWithNamespaces(value, 'default')] });
    }
    case 'EntityRule': {
      const rule: Obj = { action: 'Allow', source: withServiceNamespace(value, 'default') };
      if (hasPorts(value)) rule['protocol'] = 'TCP';
      return policy({ ingress: [rule] });
    }
    case 'ICMPFields':
      return policy({ ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: value }] });
    case 'HTTPMatch':
      return policy({ ingress: [{ action: 'Allow', http: value }] });
    case 'Protocol':
      return policy({ ingress: [{ action: 'Allow', protocol: value }] });
  }
}
