import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import { evaluateForwarded, type PortRule } from '../../src/calico/dataplane.ts';
import { hostEndpointView, type HostEndpointView } from '../../src/calico/host-endpoint.ts';
import { NetSet, parseNet } from '../../src/calico/nets.ts';
import { compilePolicy, type CompiledPolicy } from '../../src/calico/policy.ts';
import { PortIntervalSet } from '../../src/calico/ports.ts';
import { destinationFlow, openRegions, reachability, regionVerdict, type DecidedBy, type Destination } from '../../src/calico/reachability.ts';

const loadAll = (dir: string, name: string): KubeObject[] =>
  parseAllDocuments(readFileSync(new URL(`../fixtures/${dir}/${name}.yaml`, import.meta.url), 'utf8')).map((doc) => doc.toJS() as KubeObject);

const GUIDE = ['allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints', 'allow-nodes-svc-a'].map((n) => compilePolicy(loadAll('guide', n)[0]!));
const DENY = compilePolicy(loadAll('guide-with-deny', 'deny-cluster-ips')[0]!);
const [node1] = loadAll('guide', 'host-endpoints').map(hostEndpointView) as [HostEndpointView];
const edge = hostEndpointView({ kind: 'HostEndpoint', metadata: { name: 'edge1-eth0', labels: { 'k8s-role': 'node', zone: 'edge' } }, spec: { node: 'edge1', interfaceName: 'eth0', expectedIPs: ['10.0.1.11'] } });
const podCIDR = NetSet.of(['192.168.0.0/16']);

let seq = 0;
const gnp = (name: string, spec: Record<string, unknown>): CompiledPolicy =>
  compilePolicy({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name, uid: String(++seq) }, spec: { selector: "k8s-role == 'node'", types: ['Ingress'], ...spec } });
const preDNAT = (name: string, ingress: unknown[], extra: Record<string, unknown> = {}) => gnp(name, { preDNAT: true, applyOnForward: true, ingress, ...extra });

const svcA = (port = 443, protocol = 'TCP'): Destination => ({ ip: parseNet('10.20.30.40'), protocol, port, afterDnat: { nets: podCIDR, ports: PortIntervalSet.of([8443]) } });
const all4 = NetSet.all(4);
const except = (...nets: string[]): string[] => all4.minus(NetSet.of(nets)).toCidrs();
const by = (stage: DecidedBy['stage'], policy: string | null = null, rule: number | null = null, tier: string | null = policy === null && stage === 'default' ? null : 'default'): DecidedBy => ({ stage, tier, policy, rule });

interface Case {
  name: string;
  policies: CompiledPolicy[];
  hep?: HostEndpointView;
  dest?: Destination;
  failsafe?: PortRule[];
  regions: { sources: string[]; verdict: 'reaches' | 'dropped'; decidedBy: DecidedBy }[];
  open: boolean;
}

const cases: Case[] = [
  {
    name: "the guide's policies alone: the whole internet reaches cluster IP A",
    policies: GUIDE,
    regions: [
      { sources: except('50.60.0.0/16'), verdict: 'reaches', decidedBy: by('default') },
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
    ],
    open: true,
  },
  {
    name: 'the guide plus a pre-DNAT Deny of the advertised service CIDR after the allows: only 50.60.0.0/16 reaches',
    policies: [...GUIDE, DENY],
    regions: [
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
      { sources: except('50.60.0.0/16'), verdict: 'dropped', decidedBy: by('pre-dnat', 'deny-cluster-ips', 0) },
    ],
    open: false,
  },
  {
    name: 'order: a Deny at order 10 comes before the unordered allows and drops everyone',
    policies: [...GUIDE, preDNAT('early-deny', [{ action: 'Deny', destination: { nets: ['10.20.30.0/24'] } }], { order: 10 })],
    regions: [{ sources: ['0.0.0.0/0'], verdict: 'dropped', decidedBy: by('pre-dnat', 'early-deny', 0) }],
    open: false,
  },
  {
    name: 'tiers: a Deny in an earlier tier wins over the default tier allow, a Pass lets 50.60.0.0/16 on to it',
    policies: [...GUIDE, preDNAT('platform.gate', [{ action: 'Pass', source: { nets: ['50.60.0.0/16'] } }, { action: 'Deny' }], { tier: 'platform' })],
    regions: [
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
      { sources: except('50.60.0.0/16'), verdict: 'dropped', decidedBy: { stage: 'pre-dnat', tier: 'platform', policy: 'platform.gate', rule: 1 } },
    ],
    open: false,
  },
  {
    name: 'notNets: a Deny from everyone but 50.60.0.0/16, placed first, leaves the allow for 50.60.0.0/16',
    policies: [...GUIDE, preDNAT('deny-others', [{ action: 'Deny', source: { notNets: ['50.60.0.0/16'] }, destination: { nets: ['10.20.30.40/32'] } }], { order: 1 })],
    regions: [
      { sources: except('50.60.0.0/16').filter((c) => parseNet(c).first < parseNet('50.60.0.0').first), verdict: 'dropped', decidedBy: by('pre-dnat', 'deny-others', 0) },
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
    ],
    open: false,
  },
  {
    name: 'failsafe ports skip pre-DNAT policy: port 22 reaches from everywhere despite the deny',
    policies: [...GUIDE, DENY],
    dest: svcA(22),
    regions: [{ sources: ['0.0.0.0/0'], verdict: 'reaches', decidedBy: by('default') }],
    open: true,
  },
  {
    name: 'a failsafe entry limited to a net splits the space by that net',
    policies: [...GUIDE, DENY],
    dest: svcA(22),
    failsafe: [{ protocol: 'tcp', port: 22, net: '192.0.2.0/24' }],
    regions: [
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
      { sources: ['192.0.2.0/24'], verdict: 'reaches', decidedBy: by('default') },
      { sources: except('50.60.0.0/16', '192.0.2.0/24'), verdict: 'dropped', decidedBy: by('pre-dnat', 'deny-cluster-ips', 0) },
    ],
    open: true,
  },
  {
    name: 'a normal applyOnForward policy turns on the forward default deny',
    policies: [...GUIDE, gnp('admin-ssh', { applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['192.0.2.0/24'] }, destination: { ports: [22] } }] })],
    regions: [
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
      { sources: except('50.60.0.0/16'), verdict: 'dropped', decidedBy: by('forward', null, null, 'default') },
    ],
    open: false,
  },
  {
    name: 'an untracked Allow skips conntrack and so the DNAT: it does not reach the backend',
    policies: [...GUIDE, DENY, gnp('untracked-allow', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', source: { nets: ['198.51.100.0/24'] }, destination: { nets: ['10.20.30.40/32'] } }] })],
    regions: [
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
      { sources: ['198.51.100.0/24'], verdict: 'dropped', decidedBy: by('untracked', 'untracked-allow', 0) },
      { sources: except('50.60.0.0/16', '198.51.100.0/24'), verdict: 'dropped', decidedBy: by('pre-dnat', 'deny-cluster-ips', 0) },
    ],
    open: false,
  },
  {
    name: 'IPv6: an allow from 2001:db8:1::/48 and a deny of the service range',
    policies: [
      preDNAT('allow-v6', [{ action: 'Allow', source: { nets: ['2001:db8:1::/48'] }, destination: { nets: ['fd00:10:96::10/128'] } }]),
      preDNAT('deny-v6', [{ action: 'Deny', destination: { nets: ['fd00:10:96::/112'] } }]),
    ],
    dest: { ip: parseNet('fd00:10:96::10'), protocol: 'TCP', port: 443 },
    regions: [
      { sources: NetSet.all(6).minus(NetSet.of(['2001:db8:1::/48'])).toCidrs().filter((c) => parseNet(c).first < parseNet('2001:db8:1::').first), verdict: 'dropped', decidedBy: by('pre-dnat', 'deny-v6', 0) },
      { sources: ['2001:db8:1::/48'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-v6', 0) },
    ],
    open: false,
  },
  {
    name: 'Log rules decide nothing; protocol and notPorts are honoured',
    policies: [
      ...GUIDE,
      preDNAT('log-and-deny', [
        { action: 'Log' },
        { action: 'Deny', protocol: 'UDP', source: { nets: ['203.0.113.0/24'] } },
        { action: 'Deny', protocol: 'TCP', source: { nets: ['198.51.100.0/24'] }, destination: { notPorts: [443] } },
        { action: 'Deny', protocol: 'TCP', notProtocol: 'UDP', source: { nets: ['192.0.2.0/24'] }, destination: { ports: ['400:500'] } },
      ], { order: 1 }),
    ],
    regions: [
      { sources: except('50.60.0.0/16', '192.0.2.0/24').filter((c) => parseNet(c).first < parseNet('50.60.0.0').first), verdict: 'reaches', decidedBy: by('default') },
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
      { sources: ['192.0.2.0/24'], verdict: 'dropped', decidedBy: by('pre-dnat', 'log-and-deny', 3) },
    ],
    open: true,
  },
  {
    name: 'two host-endpoint classes, the edge one: a deny that selects only it',
    policies: [...GUIDE, gnp('edge-deny', { selector: "zone == 'edge'", preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', destination: { nets: ['10.20.30.0/24'] } }] })],
    hep: edge,
    regions: [
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
      { sources: except('50.60.0.0/16'), verdict: 'dropped', decidedBy: by('pre-dnat', 'edge-deny', 0) },
    ],
    open: false,
  },
  {
    name: 'two host-endpoint classes, the other one: the edge deny does not select it',
    policies: [...GUIDE, gnp('edge-deny', { selector: "zone == 'edge'", preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', destination: { nets: ['10.20.30.0/24'] } }] })],
    regions: [
      { sources: except('50.60.0.0/16').filter((c) => parseNet(c).first < parseNet('50.60.0.0').first), verdict: 'reaches', decidedBy: by('default') },
      { sources: ['50.60.0.0/16'], verdict: 'reaches', decidedBy: by('pre-dnat', 'allow-cluster-ips', 0) },
    ],
    open: true,
  },
];

// Each expected region is found by verdict and decider; its listed CIDRs must lie inside it.
for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = reachability(c.policies, c.hep ?? node1, c.dest ?? svcA(), { failsafe: c.failsafe });
    t.equal(r.regions.length, c.regions.length, 'region count');
    for (const want of c.regions) {
      const got = r.regions.find((g) => g.verdict === want.verdict && JSON.stringify(g.decidedBy) === JSON.stringify(want.decidedBy));
      t.ok(got, `a ${want.verdict} region decided by ${JSON.stringify(want.decidedBy)}`);
      if (got) for (const cidr of want.sources) t.ok(got.set.coversAll(parseNet(cidr)), `${cidr} is in it`);
    }
    const union = NetSet.of(r.regions.flatMap((g) => g.sources));
    t.ok(union.coversAll(NetSet.all(r.version)), 'the regions cover the whole address space');
    const total = r.regions.reduce((n, g) => n + g.sources.length, 0);
    t.equal(NetSet.of(r.regions.flatMap((g) => g.sources)).toCidrs().length <= total, true);
    t.equal(openRegions(r).length > 0, c.open, 'open');
  });
}

t.test('Local mode: the pods see the client address, so their policy is the last stage', async (t) => {
  const pods = hostEndpointView({ metadata: { name: 'the pods of default/svc-l', labels: { 'k8s-svc': 'svc-l' } }, spec: {} });
  const podPolicy = gnp('allow-clients-svc-l', { selector: "k8s-svc == 'svc-l'", ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['70.80.90.0/24'] }, destination: { ports: [8443] } }] });
  const r = reachability(GUIDE, node1, svcA(), { backend: { policies: [...GUIDE, podPolicy], pods } });
  const at = (source: string) => r.regions.find((g) => g.set.coversAll(parseNet(source)))!;
  t.match(at('70.80.90.1'), { verdict: 'reaches', decidedBy: { stage: 'backend', policy: 'allow-clients-svc-l', rule: 0 } });
  t.match(at('50.60.1.1'), { verdict: 'dropped', decidedBy: { stage: 'backend', policy: null, rule: null, tier: 'default' } }, 'the host lets it through, the pods do not');
  t.match(at('192.0.2.1'), { verdict: 'dropped', decidedBy: { stage: 'backend' } });
  t.same(r.reachable.toCidrs(), ['70.80.90.0/24']);
  const none = reachability(GUIDE, node1, svcA(), { backend: { policies: GUIDE, pods } });
  t.same(none.reachable.toCidrs(), ['0.0.0.0/0'], 'no policy selects the pods: Kubernetes lets in what the host lets through');
  t.ok(openRegions(none).length > 0);
});

t.test('regions are disjoint, minimal CIDR lists', async (t) => {
  const r = reachability([...GUIDE, DENY], node1, svcA());
  t.same(r.reachable.toCidrs(), ['50.60.0.0/16']);
  t.same(r.dropped.toCidrs(), except('50.60.0.0/16'));
  for (const g of r.regions) t.same(g.sources, NetSet.of(g.sources).toCidrs(), 'canonical');
  t.notOk(r.reachable.intersects(r.dropped));
});

t.test('within narrows the sources asked about', async (t) => {
  const r = reachability([...GUIDE, DENY], node1, svcA(), { within: NetSet.of(['50.60.1.2']) });
  t.same(r.regions.map((g) => [g.sources, g.verdict]), [[['50.60.1.2/32'], 'reaches']]);
});

// ---------------------------------------------------------------- property

const NETS = ['0.0.0.0/1', '10.0.0.0/8', '10.20.0.0/16', '50.60.0.0/16', '50.60.7.0/24', '192.0.2.0/24', '192.0.2.128/25', '203.0.113.9', '10.20.30.0/24', '10.20.30.40/32'];
const net = fc.constantFrom(...NETS);
const side = fc.record({ nets: fc.option(fc.array(net, { minLength: 1, maxLength: 2 }), { nil: undefined }), notNets: fc.option(fc.array(net, { minLength: 1, maxLength: 2 }), { nil: undefined }) }, { requiredKeys: [] });
const rule = fc.record({
  action: fc.constantFrom('Allow', 'Deny', 'Pass', 'Log'),
  protocol: fc.option(fc.constantFrom('TCP', 'UDP'), { nil: undefined }),
  source: side,
  destination: fc.record({ nets: fc.option(fc.array(fc.constantFrom('10.20.30.0/24', '10.20.30.40/32', '192.168.0.0/16', '10.0.0.0/8'), { minLength: 1, maxLength: 1 }), { nil: undefined }), ports: fc.option(fc.constantFrom([443], ['400:500'], [80], [8443]), { nil: undefined }) }, { requiredKeys: [] }),
});
const policy = fc.record({
  kind: fc.constantFrom('pre-dnat', 'untracked', 'forward', 'normal'),
  tier: fc.constantFrom('default', 'platform'),
  order: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  ingress: fc.array(rule, { minLength: 1, maxLength: 3 }),
});
const address = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((n) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')), fc.constantFrom('50.60.0.0', '50.60.255.255', '50.60.7.1', '192.0.2.128', '203.0.113.9', '10.20.30.40', '127.255.255.255', '128.0.0.0'));

t.test('the regions agree with the evaluator source by source', async () => {
  fc.assert(
    fc.property(fc.array(policy, { minLength: 0, maxLength: 4 }), fc.array(address, { minLength: 1, maxLength: 12 }), (specs, sources) => {
      const policies = specs.map((p, i) =>
        gnp(`${p.tier === 'default' ? '' : `${p.tier}.`}p${i}`, {
          tier: p.tier,
          order: p.order,
          preDNAT: p.kind === 'pre-dnat',
          doNotTrack: p.kind === 'untracked',
          applyOnForward: p.kind !== 'normal',
          ingress: p.ingress,
        }),
      );
      const dest = svcA();
      const r = reachability(policies, node1, dest);
      for (const s of sources) {
        const point = NetSet.of([s]);
        const region = r.regions.find((g) => g.set.coversAll(point));
        if (region === undefined) return false;
        const expected = regionVerdict(evaluateForwarded(policies, node1, destinationFlow(dest, point)));
        if (expected.verdict !== region.verdict || JSON.stringify(expected.decidedBy) !== JSON.stringify(region.decidedBy)) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

t.test('a partial Deny says what its match depends on', async (t) => {
  const bySelector = preDNAT('deny-lb', [{ action: 'Deny', source: { selector: "role == 'lb'" }, destination: { nets: ['10.20.30.40/32'] } }], { order: 1 });
  const r = reachability([...GUIDE, bySelector], node1, svcA());
  t.same(r.regions.map((g) => [g.verdict, g.decidedBy.policy, g.uncertainOn]), [['dropped', 'deny-lb', ['source selector']]]);
});
