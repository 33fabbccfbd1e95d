import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import {
  evaluateForwarded,
  evaluateHostIngress,
  FELIX_DEFAULT_FAILSAFE_INBOUND,
  isRuleCause,
  selectsHostEndpoint,
  type EvaluateOptions,
  type Verdict,
} from '../../src/calico/dataplane.ts';
import type { Flow } from '../../src/calico/flow.ts';
import { hostEndpointView, type HostEndpointView } from '../../src/calico/host-endpoint.ts';
import { NetSet } from '../../src/calico/nets.ts';
import { compilePolicy, type CompiledPolicy } from '../../src/calico/policy.ts';
import { PortIntervalSet } from '../../src/calico/ports.ts';
import { explainVerdict } from '../../src/rules/support/verdict-text.ts';

// ---------------------------------------------------------------- fixtures

const loadAll = (dir: string, name: string): KubeObject[] =>
  parseAllDocuments(readFileSync(new URL(`../fixtures/${dir}/${name}.yaml`, import.meta.url), 'utf8')).map(
    (doc) => doc.toJS() as KubeObject,
  );
const load = (dir: string, name: string): KubeObject => loadAll(dir, name)[0]!;

const GUIDE_POLICIES = ['allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints', 'allow-nodes-svc-a'];
const guide = Object.fromEntries(GUIDE_POLICIES.map((n) => [n, compilePolicy(load('guide', n))])) as Record<
  string,
  CompiledPolicy
>;
const published = Object.fromEntries(
  GUIDE_POLICIES.map((n) => [n, compilePolicy(load('guide-as-published', n))]),
) as Record<string, CompiledPolicy>;
const guideSet = GUIDE_POLICIES.map((n) => guide[n]!);
const guideWithout = (...names: string[]) => guideSet.filter((p) => !names.includes(p.name));

const [node1, node2] = loadAll('guide', 'host-endpoints').map(hostEndpointView) as [HostEndpointView, HostEndpointView];
const podCIDR = NetSet.of([(load('guide', 'ippool').spec as { cidr: string }).cidr]);
const serviceRange = NetSet.of(
  ((load('guide', 'bgpconfiguration').spec as { serviceClusterIPs: { cidr: string }[] }).serviceClusterIPs).map((s) => s.cidr),
);

const hep = (name: string, spec: Record<string, unknown>, labels: Record<string, string> = { 'k8s-role': 'node' }) =>
  hostEndpointView({ kind: 'HostEndpoint', metadata: { name, labels }, spec: { node: name, interfaceName: 'eth0', ...spec } });
const node3NoIPs = hep('node3-eth0', {});
const node1DefaultAllow = hep('node1-eth0', { expectedIPs: ['10.0.0.11'], profiles: ['projectcalico-default-allow'] });
const wildcard = hep('node1-all', { interfaceName: '*', expectedIPs: ['10.0.0.11'] });

let seq = 0;
/** A GlobalNetworkPolicy selecting the guide's host endpoints unless the spec says otherwise. */
const gnp = (name: string, spec: Record<string, unknown>): CompiledPolicy =>
  compilePolicy({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name, uid: String(++seq) },
    spec: { selector: "k8s-role == 'node'", ...spec },
  });
const preDNAT = (name: string, ingress: unknown[], extra: Record<string, unknown> = {}) =>
  gnp(name, { preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress, ...extra });

const denyAllPreDNAT = preDNAT('deny-all', [{ action: 'Deny' }]);

// ---------------------------------------------------------------- flows

const ALL = PortIntervalSet.ALL;
const ports = (...p: (string | number)[]) => PortIntervalSet.of(p);
const toPods: Flow = { protocol: 'TCP', source: 'any', destination: { nets: podCIDR }, ports: ALL };
const toHost = (h: HostEndpointView, protocol: string, p: PortIntervalSet, extra: Partial<Flow> = {}): Flow => ({
  protocol,
  source: 'any',
  destination: { hostEndpoint: h },
  ports: p,
  ...extra,
});
const toClusterIP = (source: string): Flow => ({
  protocol: 'TCP',
  source: NetSet.of([source]),
  destination: { nets: NetSet.of(['10.20.30.40/32']) },
  ports: ports(80),
  afterDnat: { nets: podCIDR, ports: ports(8080) },
});

// ---------------------------------------------------------------- table

type Evaluate = 'forwarded' | 'host';
interface Case {
  name: string;
  evaluate: Evaluate;
  policies: CompiledPolicy[];
  hep?: HostEndpointView;
  flow: Flow;
  opts?: EvaluateOptions;
  allowed: boolean;
  by: Record<string, unknown>;
  explanation?: RegExp;
}

const run = (c: Case): Verdict => {
  const fn = { forwarded: evaluateForwarded, host: evaluateHostIngress }[c.evaluate];
  return fn(c.policies, c.hep ?? node1, c.flow, c.opts);
};

const cases: Case[] = [
  // ---- the whole guide, fixed
  {
    name: 'guide: forwarded pod traffic is allowed by allow-to-pods',
    evaluate: 'forwarded',
    policies: guideSet,
    flow: toPods,
    allowed: true,
    by: { policy: 'allow-to-pods', ruleIndex: 0, action: 'Allow', stage: 'pre-dnat', partial: false },
    explanation:
      /^IPv4 TCP ports 1:65535 from any source to 192\.168\.0\.0\/16 \(failsafe ports aside\): ingress rule 0 \(Allow\) of pre-DNAT policy "allow-to-pods" allows it\.$/,
  },
  {
    name: 'guide: TCP to the host below the node ports',
    evaluate: 'host',
    policies: guideSet,
    flow: toHost(node1, 'TCP', ports('1:29999')),
    allowed: true,
    by: { policy: 'allow-traffic-hostendpoints', ruleIndex: 0, action: 'Allow', stage: 'normal' },
  },
  {
    name: 'guide: TCP to the host above the node ports',
    evaluate: 'host',
    policies: guideSet,
    hep: node2,
    flow: toHost(node2, 'TCP', ports('32768:65535')),
    allowed: true,
    by: { policy: 'allow-traffic-hostendpoints', ruleIndex: 0 },
  },
  {
    name: 'guide: UDP to the host outside the node ports',
    evaluate: 'host',
    policies: guideSet,
    flow: toHost(node1, 'UDP', ports('1:29999', '32768:65535')),
    allowed: true,
    by: { policy: 'allow-traffic-hostendpoints', ruleIndex: 1, action: 'Allow' },
  },
  {
    name: 'guide: node ports to the host itself hit the host endpoint default deny',
    evaluate: 'host',
    policies: guideSet,
    flow: toHost(node1, 'TCP', ports('30000:32767')),
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: ['allow-traffic-hostendpoints'] },
    explanation: /policy "allow-traffic-hostendpoints" selects host endpoint "node1-eth0" but no rule allows it;/,
  },
  {
    name: 'guide: cluster IP A from an allowed client',
    evaluate: 'forwarded',
    policies: guideSet,
    flow: toClusterIP('50.60.1.2'),
    allowed: true,
    by: { policy: 'allow-cluster-ips', ruleIndex: 0, action: 'Allow', stage: 'pre-dnat' },
  },
  {
    name: 'guide: cluster IP A from anyone else passes the pre-DNAT tier and is forwarded by default',
    evaluate: 'forwarded',
    policies: guideSet,
    flow: toClusterIP('8.8.8.8'),
    allowed: true,
    by: { defaultAllow: 'no-forward-policy' },
    explanation:
      /no untracked or pre-DNAT rule decides it, and no normal applyOnForward ingress policy selects host endpoint "node1-eth0", so forwarded traffic is allowed by default\.$/,
  },
  {
    name: 'guide: the pre-DNAT stage allows cluster IP B from its client range',
    evaluate: 'forwarded',
    policies: guideSet,
    flow: { ...toClusterIP('70.80.90.7'), destination: { nets: NetSet.of(['10.20.30.41']) } },
    allowed: true,
    by: { policy: 'allow-cluster-ips', ruleIndex: 1, action: 'Allow' },
  },

  // ---- pieces missing
  {
    name: 'without allow-traffic-hostendpoints: host traffic dropped (pre-DNAT policies are not normal policies)',
    evaluate: 'host',
    policies: guideWithout('allow-traffic-hostendpoints'),
    flow: toHost(node1, 'TCP', ports('1:29999')),
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: [] },
    explanation: /no normal ingress policy selects host endpoint "node1-eth0", so its profiles decide; it has no profile, so the host endpoint's default deny drops it\.$/,
  },
  {
    name: 'without allow-traffic-hostendpoints but with the default-allow profile',
    evaluate: 'host',
    policies: guideWithout('allow-traffic-hostendpoints'),
    hep: node1DefaultAllow,
    flow: toHost(node1DefaultAllow, 'TCP', ports('1:29999')),
    allowed: true,
    by: { defaultAllow: 'profile', profile: 'projectcalico-default-allow' },
  },
  {
    name: 'a pre-DNAT deny-all without the pod allow drops pod traffic',
    evaluate: 'forwarded',
    policies: [guide['allow-cluster-ips']!, denyAllPreDNAT],
    flow: toPods,
    allowed: false,
    by: { policy: 'deny-all', ruleIndex: 0, action: 'Deny', stage: 'pre-dnat', partial: false },
    explanation: /ingress rule 0 \(Deny\) of pre-DNAT policy "deny-all" drops it\.$/,
  },
  {
    name: 'a pre-DNAT deny-all after the pod allow (name order, no order field)',
    evaluate: 'forwarded',
    policies: [...guideSet, denyAllPreDNAT],
    flow: toPods,
    allowed: true,
    by: { policy: 'allow-to-pods', action: 'Allow' },
  },
  {
    name: 'a pre-DNAT deny-all also drops cluster IP traffic from unknown clients',
    evaluate: 'forwarded',
    policies: [...guideSet, denyAllPreDNAT],
    flow: toClusterIP('8.8.8.8'),
    allowed: false,
    by: { policy: 'deny-all', action: 'Deny' },
  },
  {
    name: 'a normal applyOnForward policy without the pod allow: forward default deny names it',
    evaluate: 'forwarded',
    policies: [
      ...guideWithout('allow-to-pods'),
      gnp('admin-ssh', {
        applyOnForward: true,
        ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['10.99.0.0/16'] }, destination: { ports: [22] } }],
      }),
    ],
    flow: toPods,
    allowed: false,
    by: { defaultDeny: 'forward', policies: ['admin-ssh'] },
    explanation: /applyOnForward policy "admin-ssh" selects host endpoint "node1-eth0", which turns on the default deny for forwarded traffic\.$/,
  },
  {
    name: 'the pre-DNAT pod allow is final: the forward default deny never sees the packet',
    evaluate: 'forwarded',
    policies: [...guideSet, gnp('admin-ssh', { applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }] })],
    flow: { ...toPods, ports: ports('8000:8999') },
    allowed: true,
    by: { policy: 'allow-to-pods', stage: 'pre-dnat' },
  },
  {
    // Felix accepts failsafe ports in the mangle table without the accept
    // mark, so the pre-DNAT allow never applies to them and forward policy does.
    name: 'failsafe ports to pods skip the pre-DNAT allow and meet the forward default deny',
    evaluate: 'forwarded',
    policies: [...guideSet, gnp('admin-ssh', { applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['10.99.0.0/16'] }, destination: { ports: [22] } }] })],
    flow: toPods,
    allowed: false,
    by: { defaultDeny: 'forward', policies: ['admin-ssh'] },
    explanation:
      /^IPv4 TCP ports 22,179,2379:2380,5473,6443,6666:6667 from any source to 192\.168\.0\.0\/16 \(failsafe ports: untracked and pre-DNAT policy skipped\): no rule allows all of it, and applyOnForward policy "admin-ssh"/,
  },
  {
    name: 'an egress-only applyOnForward policy does not switch on the ingress forward deny',
    evaluate: 'forwarded',
    policies: [...guideWithout('allow-to-pods'), gnp('egress-only', { applyOnForward: true, types: ['Egress'], egress: [{ action: 'Deny' }] })],
    flow: toPods,
    allowed: true,
    by: { defaultAllow: 'no-forward-policy' },
  },
  {
    name: 'forward policy sees the post-DNAT destination of cluster IP traffic',
    evaluate: 'forwarded',
    policies: [
      guide['allow-cluster-ips']!,
      gnp('fwd-to-pods-8080', { applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { nets: ['192.168.0.0/16'], ports: [8080] } }] }),
    ],
    flow: toClusterIP('8.8.8.8'),
    allowed: true,
    by: { policy: 'fwd-to-pods-8080', stage: 'forward', action: 'Allow' },
  },
  {
    name: 'without afterDnat, forward policy sees the cluster IP and does not match',
    evaluate: 'forwarded',
    policies: [
      gnp('fwd-to-pods-8080', { applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { nets: ['192.168.0.0/16'], ports: [8080] } }] }),
    ],
    flow: { ...toClusterIP('8.8.8.8'), afterDnat: undefined },
    allowed: false,
    by: { defaultDeny: 'forward', policies: ['fwd-to-pods-8080'] },
  },

  // ---- order
  ...[
    { denyOrder: 10, allowOrder: 20, allowed: false, by: { policy: 'deny-telnet', action: 'Deny' } },
    { denyOrder: 20, allowOrder: 10, allowed: true, by: { policy: 'allow-host', action: 'Allow' } },
    { denyOrder: 10.5, allowOrder: 10.25, allowed: true, by: { policy: 'allow-host' } },
  ].map(
    (o): Case => ({
      name: `order: Deny at ${o.denyOrder}, Allow at ${o.allowOrder}`,
      evaluate: 'host',
      policies: [
        gnp('allow-host', { order: o.allowOrder, ingress: [{ action: 'Allow' }] }),
        gnp('deny-telnet', { order: o.denyOrder, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [23] } }] }),
      ],
      flow: toHost(node1, 'TCP', ports(23)),
      allowed: o.allowed,
      by: o.by,
    }),
  ),
  {
    name: 'order: a policy with an order comes before one without',
    evaluate: 'forwarded',
    policies: [...guideSet, preDNAT('zz-deny-all', [{ action: 'Deny' }], { order: 1 })],
    flow: toPods,
    allowed: false,
    by: { policy: 'zz-deny-all' },
  },

  // ---- IPv6
  {
    name: 'IPv6 pod CIDR allowed by an IPv6 pre-DNAT rule',
    evaluate: 'forwarded',
    policies: [preDNAT('allow-to-pods-v6', [{ action: 'Allow', destination: { nets: ['fd00:10::/48'] } }]), preDNAT('zz-deny-all', [{ action: 'Deny' }])],
    flow: { ...toPods, destination: { nets: NetSet.of(['fd00:10::/48']) } },
    allowed: true,
    by: { policy: 'allow-to-pods-v6', action: 'Allow' },
  },
  {
    name: 'an IPv4 pod allow does not cover the IPv6 pod CIDR',
    evaluate: 'forwarded',
    policies: [...guideSet, preDNAT('zz-deny-all', [{ action: 'Deny' }])],
    flow: { ...toPods, destination: { nets: NetSet.of(['192.168.0.0/16', 'fd00:10::/48']) } },
    allowed: false,
    by: { policy: 'zz-deny-all', action: 'Deny' },
    explanation: /^IPv6 TCP ports 1:65535 from any source to fd00:10::\/48 \(failsafe ports aside\): ingress rule 0 \(Deny\)/,
  },

  // ---- host endpoint without expectedIPs
  {
    name: 'a host endpoint without expectedIPs is not matched by the destination selector',
    evaluate: 'host',
    policies: guideSet,
    hep: node3NoIPs,
    flow: toHost(node3NoIPs, 'TCP', ports('1:29999'), { ipVersion: 4 }),
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: ['allow-traffic-hostendpoints'] },
    explanation: /host endpoint "node3-eth0"/,
  },

  // ---- partial deny
  {
    name: 'a partial Deny before the pod allow reports a possible drop',
    evaluate: 'forwarded',
    policies: [...guideSet, preDNAT('block-bad-nets', [{ action: 'Deny', source: { nets: ['203.0.113.0/24'] } }], { order: 1 })],
    flow: toPods,
    allowed: false,
    by: { policy: 'block-bad-nets', ruleIndex: 0, action: 'Deny', partial: true },
    explanation: /may drop part of it \(the match depends on source address\)\.$/,
  },
  {
    name: 'the same Deny cannot match a flow from elsewhere',
    evaluate: 'forwarded',
    policies: [...guideSet, preDNAT('block-bad-nets', [{ action: 'Deny', source: { nets: ['203.0.113.0/24'] } }], { order: 1 })],
    flow: { ...toPods, source: NetSet.of(['50.60.0.0/16']) },
    allowed: true,
    by: { policy: 'allow-to-pods' },
  },
  {
    name: 'a partial Allow decides nothing: the rest meets the end-of-tier drop',
    evaluate: 'host',
    policies: [gnp('ssh-from-admins', { ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['10.99.0.0/16'] } }] })],
    flow: toHost(node1, 'TCP', ports(2222)),
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: ['ssh-from-admins'] },
  },
  {
    name: 'Log rules do not decide',
    evaluate: 'forwarded',
    policies: [preDNAT('log-all', [{ action: 'Log' }], { order: 1 }), guide['allow-to-pods']!],
    flow: toPods,
    allowed: true,
    by: { policy: 'allow-to-pods' },
  },

  // ---- Pass
  {
    name: 'Pass skips the rest of its tier',
    evaluate: 'host',
    policies: [
      ...guideSet,
      gnp('platform.pass-tcp', { tier: 'platform', order: 1, ingress: [{ action: 'Pass', protocol: 'TCP' }] }),
      gnp('platform.deny-all', { tier: 'platform', order: 2, ingress: [{ action: 'Deny' }] }),
    ],
    flow: toHost(node1, 'TCP', ports('1:29999')),
    allowed: true,
    by: { policy: 'allow-traffic-hostendpoints', tier: 'default' },
  },
  {
    name: 'what is not passed meets the rest of the tier',
    evaluate: 'host',
    policies: [
      ...guideSet,
      gnp('platform.pass-tcp', { tier: 'platform', order: 1, ingress: [{ action: 'Pass', protocol: 'TCP' }] }),
      gnp('platform.deny-all', { tier: 'platform', order: 2, ingress: [{ action: 'Deny' }] }),
    ],
    flow: toHost(node1, 'UDP', ports('1:29999')),
    allowed: false,
    by: { policy: 'platform.deny-all', tier: 'platform', action: 'Deny' },
    explanation: /policy "platform\.deny-all" \(tier "platform"\) drops it/,
  },
  {
    name: 'Pass out of the last tier reaches the profiles (default-allow)',
    evaluate: 'host',
    policies: [gnp('pass-all', { ingress: [{ action: 'Pass' }] })],
    hep: node1DefaultAllow,
    flow: toHost(node1DefaultAllow, 'TCP', ports(8443)),
    allowed: true,
    by: { defaultAllow: 'profile' },
    explanation: /ingress rule 0 \(Pass\) of policy "pass-all" passes it to the profiles, and profile "projectcalico-default-allow" allows all traffic\.$/,
  },
  {
    name: 'Pass out of the last tier reaches the profiles (none)',
    evaluate: 'host',
    policies: [gnp('pass-all', { ingress: [{ action: 'Pass' }] })],
    flow: toHost(node1, 'TCP', ports(8443)),
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: ['pass-all'] },
  },
  {
    name: 'a partial Pass is followed both ways (both allow)',
    evaluate: 'host',
    policies: [
      ...guideSet,
      gnp('platform.pass-internal', { tier: 'platform', order: 1, ingress: [{ action: 'Pass', source: { nets: ['10.0.0.0/8'] } }] }),
      gnp('platform.allow-rest', { tier: 'platform', order: 2, ingress: [{ action: 'Allow' }] }),
    ],
    flow: toHost(node1, 'TCP', ports('1:29999')),
    allowed: true,
    by: { policy: 'platform.allow-rest' },
  },
  {
    name: 'a partial Pass is followed both ways (the passed part is dropped)',
    evaluate: 'host',
    policies: [
      ...guideSet,
      gnp('platform.pass-internal', { tier: 'platform', order: 1, ingress: [{ action: 'Pass', source: { nets: ['10.0.0.0/8'] } }] }),
      gnp('platform.allow-rest', { tier: 'platform', order: 2, ingress: [{ action: 'Allow' }] }),
    ],
    flow: toHost(node1, 'TCP', ports(30080)),
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: ['allow-traffic-hostendpoints'] },
  },
  {
    name: 'Pass out of the last forward tier is left to the host',
    evaluate: 'forwarded',
    policies: [gnp('fwd-pass', { applyOnForward: true, ingress: [{ action: 'Pass' }] })],
    flow: toPods,
    allowed: true,
    by: { policy: 'fwd-pass', action: 'Pass', stage: 'forward' },
    explanation: /passes it out of the last tier/,
  },

  // ---- failsafe
  {
    name: 'failsafe: SSH to a host with no allowing policy',
    evaluate: 'host',
    policies: guideWithout('allow-traffic-hostendpoints'),
    flow: toHost(node1, 'TCP', ports(22)),
    allowed: true,
    by: { defaultAllow: 'failsafe' },
    explanation: /^IPv4 TCP port 22 from any source to host endpoint "node1-eth0": TCP port 22 always reach the host \(Felix FailsafeInboundHostPorts\)\.$/,
  },
  {
    name: 'failsafe: DHCP client port',
    evaluate: 'host',
    policies: [],
    flow: toHost(node1, 'UDP', ports(68)),
    allowed: true,
    by: { defaultAllow: 'failsafe' },
  },
  {
    name: 'failsafe: only part of the ports are failsafe, the rest is dropped',
    evaluate: 'host',
    policies: [],
    flow: toHost(node1, 'TCP', ports('20:25')),
    allowed: false,
    by: { defaultDeny: 'host-endpoint' },
    explanation: /^IPv4 TCP ports 20:25 from any source to host endpoint "node1-eth0" \(failsafe ports aside\): no normal ingress policy/,
  },
  {
    name: 'failsafe: beats a pre-DNAT deny for traffic to the host',
    evaluate: 'host',
    policies: [denyAllPreDNAT],
    flow: toHost(node1, 'TCP', ports(6443)),
    allowed: true,
    by: { defaultAllow: 'failsafe' },
  },
  {
    name: 'failsafe: forwarded failsafe ports skip pre-DNAT policy',
    evaluate: 'forwarded',
    policies: [denyAllPreDNAT],
    flow: { ...toPods, ports: ports(22) },
    allowed: true,
    by: { defaultAllow: 'no-forward-policy' },
    explanation: /: its ports are failsafe ports, which skip untracked and pre-DNAT policy, and no normal applyOnForward/,
  },
  {
    name: 'failsafe: forwarded failsafe ports still meet forward policy',
    evaluate: 'forwarded',
    policies: [gnp('fwd-deny', { applyOnForward: true, ingress: [{ action: 'Deny' }] })],
    flow: { ...toPods, ports: ports(22) },
    allowed: false,
    by: { policy: 'fwd-deny', stage: 'forward' },
  },
  {
    name: 'failsafe: an empty failsafe list',
    evaluate: 'host',
    policies: [],
    flow: toHost(node1, 'TCP', ports(22)),
    opts: { failsafe: [] },
    allowed: false,
    by: { defaultDeny: 'host-endpoint' },
  },
  {
    name: 'failsafe: limited to a source net, flow inside it',
    evaluate: 'host',
    policies: [],
    flow: toHost(node1, 'TCP', ports(22), { source: NetSet.of(['10.99.1.0/24']) }),
    opts: { failsafe: [{ protocol: 'tcp', port: 22, net: '10.99.0.0/16' }] },
    allowed: true,
    by: { defaultAllow: 'failsafe' },
  },
  {
    name: 'failsafe: limited to a source net, flow from anywhere',
    evaluate: 'host',
    policies: [],
    flow: toHost(node1, 'TCP', ports(22)),
    opts: { failsafe: [{ protocol: 'tcp', port: 22, net: '10.99.0.0/16' }] },
    allowed: false,
    by: { defaultDeny: 'host-endpoint' },
  },

  // ---- untracked
  {
    name: 'untracked Deny comes first',
    evaluate: 'host',
    policies: [...guideSet, gnp('untracked-no-telnet', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [23] } }] })],
    flow: toHost(node1, 'TCP', ports(23)),
    allowed: false,
    by: { policy: 'untracked-no-telnet', stage: 'untracked' },
    explanation: /untracked policy "untracked-no-telnet" drops it/,
  },
  {
    name: 'untracked policy is ignored on an all-interfaces host endpoint',
    evaluate: 'host',
    policies: [...guideSet, gnp('untracked-no-telnet', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [23] } }] })],
    hep: wildcard,
    flow: toHost(wildcard, 'TCP', ports(23)),
    allowed: true,
    by: { policy: 'allow-traffic-hostendpoints' },
  },

  // ---- the guide as published
  {
    name: 'published guide: the rules-under-types policy selects the hosts but allows nothing',
    evaluate: 'host',
    policies: Object.values(published),
    flow: toHost(node1, 'TCP', ports('1:29999')),
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: ['allow-traffic-hostendpoints'] },
  },
  {
    name: 'published guide, invalid policies treated as missing (as Felix does)',
    evaluate: 'host',
    policies: Object.values(published),
    flow: toHost(node1, 'TCP', ports('1:29999')),
    opts: { invalidPolicies: 'policy-missing' },
    allowed: false,
    by: { defaultDeny: 'host-endpoint', policies: [] },
  },
];

t.test('dataplane evaluation', async (t) => {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const verdict = run(c);
      t.equal(verdict.allowed, c.allowed, 'allowed');
      t.match(verdict.by, c.by, 'decided by');
      if (c.explanation) t.match(explainVerdict(verdict), c.explanation, 'explanation');
      t.type(explainVerdict(verdict), 'string');
    });
  }
});

t.test('chained partial Passes are walked once per position (no blow-up)', async (t) => {
  // Each tier passes part of the flow on twice, then the rest; followed naively both ways, 24 tiers
  // would be 3^24 walks of the tiers after them.
  const tiers = Array.from({ length: 24 }, (_, i) =>
    gnp(`t${String(i).padStart(2, '0')}.pass`, {
      tier: `t${String(i).padStart(2, '0')}`,
      ingress: [
        { action: 'Pass', source: { nets: ['10.0.0.0/8'] } },
        { action: 'Pass', source: { nets: ['172.16.0.0/12'] } },
        { action: 'Pass' },
      ],
    }),
  );
  const verdict = evaluateHostIngress([...tiers, gnp('allow-all', { ingress: [{ action: 'Allow' }] })], node1, toHost(node1, 'TCP', ports(8443)));
  t.equal(verdict.allowed, true);
  t.match(verdict.by, { policy: 'allow-all' });
});

t.test('selection of host endpoints', async (t) => {
  t.ok(selectsHostEndpoint(guide['allow-to-pods']!, node1));
  t.notOk(selectsHostEndpoint(guide['allow-nodes-svc-a']!, node1), 'a pod policy does not select hosts');
  t.notOk(selectsHostEndpoint(gnp('ns', { namespaceSelector: 'all()' }), node1), 'namespaced policies skip hosts');
  t.notOk(selectsHostEndpoint(gnp('bad', { selector: 'k8s-role ==' }), node1), 'an unparsable selector selects nothing');
  t.ok(selectsHostEndpoint(gnp('all', { selector: '' }), node1));
});

t.test('verdict helpers and guards', async (t) => {
  const verdict = evaluateForwarded(guideSet, node1, toPods);
  t.ok(isRuleCause(verdict.by));
  t.equal(FELIX_DEFAULT_FAILSAFE_INBOUND.length, 9);
  t.same(
    FELIX_DEFAULT_FAILSAFE_INBOUND.map((f) => `${f.protocol}:${f.port}`),
    ['tcp:22', 'udp:68', 'tcp:179', 'tcp:2379', 'tcp:2380', 'tcp:5473', 'tcp:6443', 'tcp:6666', 'tcp:6667'],
  );
  t.throws(
    () => evaluateForwarded(guideSet, node1, { ...toPods, ports: PortIntervalSet.EMPTY }),
    RangeError,
    'a flow without packets is a caller bug',
  );
  t.match(verdict.part, { chain: 'forwarded', hostEndpoint: { name: 'node1-eth0' }, failsafe: false, failsafeAside: true }, 'a verdict carries its flow part as facts');
  const plain = Object.fromEntries(Object.entries(verdict.by).filter(([, v]) => v !== undefined));
  t.same(JSON.parse(JSON.stringify(verdict.by)), plain, 'the cause is plain data');
  t.ok(serviceRange.coversAll(NetSet.of(['10.20.30.40', '10.20.30.41'])), 'fixture cluster IPs are advertised');
  t.ok(podCIDR.coversAll(NetSet.of(['192.168.0.0/16'])));
});
