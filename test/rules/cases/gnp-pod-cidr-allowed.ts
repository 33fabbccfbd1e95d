import type { RuleCase } from '../case.ts';
import { guideCluster, guidePolicy, policy, pool } from '../guide.ts';

const denyAllPreDNAT = (order?: number) =>
  policy('deny-all-prednat', { preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }], ...(order === undefined ? {} : { order }) });
const normalForward = policy('forward-ssh-only', { applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }] });
const allowToPods = (order: number) => ({ ...guidePolicy('allow-to-pods'), spec: { ...guidePolicy('allow-to-pods').spec, order } });

export const cases: RuleCase[] = [
  ...['allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints'].map((name) => ({ name: `guide set: ${name}`, object: guidePolicy(name), cluster: guideCluster(), expect: [] })),
  { name: 'workload policy selects no host endpoint', object: guidePolicy('allow-nodes-svc-a'), cluster: guideCluster(), expect: [] },
  { name: 'static fallback: other policies unknown', object: denyAllPreDNAT(), expect: [] },
  {
    name: 'allow-to-pods removed while nothing denies forwarded traffic',
    object: guidePolicy('allow-cluster-ips'),
    cluster: guideCluster({ without: ['allow-to-pods'] }),
    expect: [],
  },
  {
    name: 'deny-all pre-DNAT policy without the pod-CIDR allow',
    object: denyAllPreDNAT(),
    cluster: guideCluster({ without: ['allow-to-pods'] }),
    expect: ['spec'],
    messageIncludes: ['192.168.0.0/16', 'ingress rule 0 (Deny) of pre-DNAT policy "deny-all-prednat"', 'destination nets [192.168.0.0/16]'],
  },
  {
    name: 'normal applyOnForward policy without the pod-CIDR allow',
    object: normalForward,
    cluster: guideCluster({ without: ['allow-to-pods'] }),
    expect: ['spec'],
    messageIncludes: ['forward-path default deny that policy "forward-ssh-only" turns on'],
  },
  {
    name: 'the guide allow-to-pods does not cover failsafe ports under a normal applyOnForward policy',
    object: normalForward,
    cluster: guideCluster(),
    expect: ['spec'],
    messageIncludes: ["Felix's failsafe ports (tcp:22, udp:68, tcp:179", 'skips pre-DNAT policy', 'normal policy with applyOnForward: true'],
  },
  {
    name: 'a normal applyOnForward pod Allow covers failsafe ports too',
    object: normalForward,
    cluster: guideCluster({ plus: [policy('forward-to-pods', { applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', destination: { nets: ['192.168.0.0/16'] } }] })] }),
    expect: [],
  },
  { name: 'order: the pod Allow (5) before the Deny (10) wins', object: denyAllPreDNAT(10), cluster: guideCluster({ without: ['allow-to-pods'], plus: [allowToPods(5)] }), expect: [] },
  { name: 'order: the Deny (1) before the pod Allow (5) wins', object: denyAllPreDNAT(1), cluster: guideCluster({ without: ['allow-to-pods'], plus: [allowToPods(5)] }), expect: ['spec'] },
  {
    name: 'IPv6 pool without an Allow',
    object: denyAllPreDNAT(),
    cluster: guideCluster({ ipPools: [pool('v4', '192.168.0.0/16'), pool('v6', 'fd00:10:244::/56')] }),
    expect: ['spec'],
    messageIncludes: ['fd00:10:244::/56'],
  },
  {
    name: 'IPv6 pool with an Allow',
    object: denyAllPreDNAT(10),
    cluster: guideCluster({
      ipPools: [pool('v6', 'fd00:10:244::/56')],
      plus: [policy('allow-to-pods-v6', { order: 1, preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', destination: { nets: ['fd00:10:244::/56'] } }] })],
    }),
    expect: [],
  },
  {
    name: 'several pools, the disabled one needs no Allow',
    object: denyAllPreDNAT(10),
    cluster: guideCluster({ without: ['allow-to-pods'], plus: [allowToPods(5)], ipPools: [pool('a', '192.168.0.0/16'), pool('old', '172.16.0.0/16', true)] }),
    expect: [],
  },
  {
    name: 'several pools, an enabled one without Allow',
    object: denyAllPreDNAT(10),
    cluster: guideCluster({ without: ['allow-to-pods'], plus: [allowToPods(5)], ipPools: [pool('a', '192.168.0.0/16'), pool('b', '172.16.0.0/16')] }),
    expect: ['spec'],
    messageIncludes: ['172.16.0.0/16'],
  },
  {
    name: 'DELETE of the pod-CIDR allow under a deny-all pre-DNAT policy',
    operation: 'DELETE',
    object: allowToPods(5),
    oldObject: allowToPods(5),
    cluster: guideCluster({ without: ['allow-to-pods'], plus: [allowToPods(5), denyAllPreDNAT(10)] }),
    expect: ['spec'],
    messageIncludes: ['after deleting GlobalNetworkPolicy "allow-to-pods"', '192.168.0.0/16'],
  },
  { name: 'DELETE of allow-to-pods in the guide set: nothing denies forwarded traffic', operation: 'DELETE', object: guidePolicy('allow-to-pods'), oldObject: guidePolicy('allow-to-pods'), cluster: guideCluster(), expect: [] },
  { name: 'existing policy: judged on the HostEndpoint instead', mode: 'existing', object: denyAllPreDNAT(), cluster: guideCluster({ without: ['allow-to-pods'] }), expect: [] },
];
