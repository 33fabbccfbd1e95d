/**
 * Kubernetes NetworkPolicies as Calico enforces them: Calico converts each into a Calico
 * NetworkPolicy named `knp.default.<name>` in the default tier at order 1000
 * (libcalico-go/lib/backend/k8s/conversion `K8sNetworkPolicyToCalico`), with the podSelector as
 * its selector, every `from` peer × every port as an Allow rule, `ipBlock` as nets/notNets.
 * Here the converted object is compiled by the same policy model as every other policy.
 *
 * Differences from Calico's conversion, on purpose: the `projectcalico.org/orchestrator ==
 * 'k8s'` term Calico adds to selectors is left out (the pods are judged by their Service's
 * selector labels, which never carry it); egress rules are not converted (only ingress is
 * judged here).
 */
import type { KubeObject } from '../../admission/types.ts';
import { perObject } from '../../calico/memo.ts';
import { compileStoredPolicy, type CompiledPolicy } from '../../calico/policy.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const quoted = (s: unknown): string => `'${String(s)}'`;

/** A Kubernetes LabelSelector in Calico selector syntax (empty: all()). */
export function labelSelectorToCalico(selector: unknown): string {
  if (!isObj(selector)) return 'all()';
  const terms: string[] = [];
  if (isObj(selector['matchLabels'])) for (const [k, v] of Object.entries(selector['matchLabels'])) terms.push(`${k} == ${quoted(v)}`);
  for (const e of list(selector['matchExpressions'])) {
    if (!isObj(e)) continue;
    const key = String(e['key']);
    const values = list(e['values']).map(quoted).join(', ');
    if (e['operator'] === 'In') terms.push(`${key} in { ${values} }`);
    else if (e['operator'] === 'NotIn') terms.push(`${key} not in { ${values} }`);
    else if (e['operator'] === 'Exists') terms.push(`has(${key})`);
    else if (e['operator'] === 'DoesNotExist') terms.push(`!has(${key})`);
  }
  return terms.length === 0 ? 'all()' : terms.join(' && ');
}

function portsByProtocol(ports: unknown[]): Map<string, (number | string)[] | undefined> {
  const out = new Map<string, (number | string)[] | undefined>();
  if (ports.length === 0) return out.set('', undefined);
  for (const p of ports) {
    if (!isObj(p)) continue;
    const protocol = typeof p['protocol'] === 'string' ? p['protocol'] : 'TCP';
    const port = p['port'];
    const entry = port === undefined ? undefined : typeof p['endPort'] === 'number' ? `${port}:${p['endPort']}` : (port as number | string);
    if (entry === undefined) out.set(protocol, undefined);
    else if (!out.has(protocol) || out.get(protocol) !== undefined) out.set(protocol, [...(out.get(protocol) ?? []), entry]);
  }
  return out;
}

function peerSource(peer: unknown): Obj {
  if (!isObj(peer)) return {};
  if (isObj(peer['ipBlock'])) {
    const except = list(peer['ipBlock']['except']);
    return { nets: [peer['ipBlock']['cidr']], ...(except.length > 0 ? { notNets: except } : {}) };
  }
  return {
    ...(peer['podSelector'] !== undefined ? { selector: labelSelectorToCalico(peer['podSelector']) } : {}),
    ...(peer['namespaceSelector'] !== undefined ? { namespaceSelector: labelSelectorToCalico(peer['namespaceSelector']) } : {}),
  };
}

/** The Calico NetworkPolicy object Calico makes of a Kubernetes NetworkPolicy (ingress only). */
export function convertK8sNetworkPolicy(np: KubeObject): KubeObject {
  const spec = isObj(np.spec) ? np.spec : {};
  const types = list(spec['policyTypes']).length > 0 ? list(spec['policyTypes']) : ['Ingress'];
  const ingress: Obj[] = [];
  for (const rule of list(spec['ingress'])) {
    const r = isObj(rule) ? rule : {};
    const peers = list(r['from']).length > 0 ? list(r['from']) : [undefined];
    for (const peer of peers) {
      for (const [protocol, ports] of portsByProtocol(list(r['ports']))) {
        ingress.push({ action: 'Allow', ...(protocol === '' ? {} : { protocol }), source: peerSource(peer), ...(ports === undefined ? {} : { destination: { ports } }) });
      }
    }
  }
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name: `knp.default.${np.metadata?.name ?? ''}`, namespace: np.metadata?.namespace ?? 'default' },
    spec: { order: 1000, selector: labelSelectorToCalico(spec['podSelector']), types: types.filter((t) => t === 'Ingress'), ingress },
  };
}

/** The compiled form of a stored Kubernetes NetworkPolicy (kept per object). */
export const compileK8sNetworkPolicy: (np: KubeObject) => CompiledPolicy = perObject((np: KubeObject) => compileStoredPolicy(convertK8sNetworkPolicy(np)));
