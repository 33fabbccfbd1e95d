import type { RuleCase } from '../case.ts';
import { guideCluster, policy, pool } from '../guide.ts';

const denyAllPreDNAT = policy('deny-all-prednat', { order: 10, preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });

export const cases: RuleCase[] = [
  { name: "the guide's pool", object: pool('default-ipv4-ippool', '192.168.0.0/16'), cluster: guideCluster(), expect: [] },
  { name: 'a pool inside the allowed CIDR', object: pool('more', '192.168.128.0/17'), cluster: guideCluster(), expect: [] },
  {
    name: 'a new pool the pod-CIDR allow does not cover',
    object: pool('extra', '10.244.0.0/16'),
    cluster: guideCluster(),
    expect: ['spec.cidr'],
    messageIncludes: ['after this write, IPPool "extra" (10.244.0.0/16) is not allowed', 'policy "allow-to-pods"', 'Fix: add 10.244.0.0/16'],
  },
  {
    name: 'a new pool dropped by a deny-all pre-DNAT policy',
    object: pool('extra', '10.244.0.0/16'),
    cluster: guideCluster({ plus: [denyAllPreDNAT] }),
    expect: ['spec.cidr'],
    messageIncludes: ['TCP/UDP traffic forwarded through host endpoint', 'pre-DNAT policy "deny-all-prednat"'],
  },
  { name: 'disabled pool gets no pods', object: pool('extra', '10.244.0.0/16', true), cluster: guideCluster(), expect: [] },
  { name: 'no pod-CIDR allow anywhere: nothing to follow', object: pool('extra', '10.244.0.0/16'), cluster: guideCluster({ without: ['allow-to-pods'] }), expect: [] },
  { name: 'existing pool not covered', mode: 'existing', object: pool('extra', '10.244.0.0/16'), cluster: guideCluster({ ipPools: [pool('default-ipv4-ippool', '192.168.0.0/16'), pool('extra', '10.244.0.0/16')] }), expect: ['spec.cidr'] },
  { name: 'static fallback: policies unknown', object: pool('extra', '10.244.0.0/16'), expect: [] },
];
