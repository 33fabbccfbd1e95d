import t from 'tap';
import type { KubeObject } from '../../src/admission/types.ts';
import { matchRuleView, flowVersions, viewFlow, type Flow, type RuleMatch } from '../../src/calico/flow.ts';
import { describeFlowView } from '../../src/rules/support/verdict-text.ts';
import { hostEndpointView } from '../../src/calico/host-endpoint.ts';
import { NetSet } from '../../src/calico/nets.ts';
import { compilePolicy, type CompiledRule } from '../../src/calico/policy.ts';
import { PortIntervalSet } from '../../src/calico/ports.ts';

/** A rule against a whole flow (every IP version it has): full when full for each, none when none for each, else partial. */
function matchRule(rule: CompiledRule, flow: Flow): RuleMatch {
  const results = flowVersions(flow).map((v) => viewFlow(flow, v)).filter((v) => v !== undefined).map((v) => matchRuleView(rule, v));
  if (results.every((r) => r.result === 'none')) return { result: 'none', uncertainOn: [] };
  if (results.every((r) => r.result === 'full')) return { result: 'full', uncertainOn: [] };
  return { result: 'partial', uncertainOn: [...new Set(results.flatMap((r) => (r.result === 'none' ? ['IP version'] : r.uncertainOn)))] };
}

const hep = (name: string, expectedIPs?: string[], labels: Record<string, string> = { 'k8s-role': 'node' }) =>
  hostEndpointView({
    kind: 'HostEndpoint',
    metadata: { name, labels },
    spec: { node: name, interfaceName: 'eth0', ...(expectedIPs ? { expectedIPs } : {}) },
  });

const node1 = hep('node1-eth0', ['10.0.0.11']);
const dualNode = hep('dual-eth0', ['10.0.0.13', 'fd00:1::13']);
const noIPs = hep('node3-eth0');
const otherRole = hep('lb-eth0', ['10.0.0.21'], { 'k8s-role': 'lb' });

/** Compiles one ingress rule. */
const rule = (r: Record<string, unknown>) => {
  const obj: KubeObject = { kind: 'GlobalNetworkPolicy', metadata: { name: 'p' }, spec: { ingress: [r] } };
  return compilePolicy(obj).ingress[0]!;
};

const pods = NetSet.of(['192.168.0.0/16']);
const toPods: Flow = { protocol: 'TCP', source: 'any', destination: { nets: pods }, ports: PortIntervalSet.ALL };
const toHost = (h = node1, ports = '1:29999'): Flow => ({
  protocol: 'TCP',
  source: 'any',
  destination: { hostEndpoint: h },
  ports: PortIntervalSet.of([ports]),
});

t.test('three-valued rule matching', async (t) => {
  const cases: { name: string; rule: Record<string, unknown>; flow: Flow; result: string; uncertainOn?: string[] }[] = [
    { name: 'empty rule matches everything', rule: { action: 'Allow' }, flow: toPods, result: 'full' },
    { name: 'protocol match', rule: { action: 'Allow', protocol: 'tcp' }, flow: toPods, result: 'full' },
    { name: 'protocol mismatch', rule: { action: 'Allow', protocol: 'UDP' }, flow: toPods, result: 'none' },
    { name: 'notProtocol', rule: { action: 'Allow', notProtocol: 6 }, flow: toPods, result: 'none' },
    {
      name: 'any source vs source nets',
      rule: { action: 'Allow', source: { nets: ['50.60.0.0/16'] } },
      flow: toPods,
      result: 'partial',
      uncertainOn: ['source address'],
    },
    {
      name: 'several uncertain criteria are listed cheapest first, then undecidable fields',
      rule: { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 }, source: { nets: ['50.60.0.0/16'], namespaceSelector: 'all()' } },
      flow: { ...toPods, protocol: 'ICMP' },
      result: 'partial',
      uncertainOn: ['ICMP type/code', 'source address', 'source namespaceSelector'],
    },
    { name: 'any source vs 0.0.0.0/0', rule: { action: 'Allow', source: { nets: ['0.0.0.0/0'] } }, flow: toPods, result: 'full' },
    {
      name: 'source inside nets',
      rule: { action: 'Allow', source: { nets: ['50.60.0.0/16'] } },
      flow: { ...toPods, source: NetSet.of(['50.60.1.2']) },
      result: 'full',
    },
    {
      name: 'source inside notNets',
      rule: { action: 'Allow', source: { notNets: ['50.60.0.0/16'] } },
      flow: { ...toPods, source: NetSet.of(['50.60.1.2']) },
      result: 'none',
    },
    { name: 'destination inside', rule: { action: 'Allow', destination: { nets: ['192.168.0.0/16'] } }, flow: { ...toPods, destination: { nets: NetSet.of(['192.168.5.0/24']) } }, result: 'full' },
    { name: 'destination overlap', rule: { action: 'Allow', destination: { nets: ['192.168.0.0/17'] } }, flow: toPods, result: 'partial' },
    { name: 'destination disjoint', rule: { action: 'Allow', destination: { nets: ['10.20.30.40/32'] } }, flow: toPods, result: 'none' },
    {
      name: 'destination minus notNets',
      rule: { action: 'Allow', destination: { nets: ['192.168.0.0/16'], notNets: ['192.168.9.0/24'] } },
      flow: toPods,
      result: 'partial',
    },
    {
      name: 'destination selector vs pod CIDR: may hold selected endpoints',
      rule: { action: 'Allow', destination: { selector: "k8s-role == 'node'" } },
      flow: toPods,
      result: 'partial',
      uncertainOn: ['destination selector'],
    },
    {
      name: 'destination selector vs host with expectedIPs',
      rule: { action: 'Allow', destination: { selector: "k8s-role == 'node'" } },
      flow: toHost(),
      result: 'full',
    },
    {
      name: 'destination selector vs host with other labels',
      rule: { action: 'Allow', destination: { selector: "k8s-role == 'node'" } },
      flow: toHost(otherRole),
      result: 'none',
    },
    {
      name: 'destination selector vs host without expectedIPs',
      rule: { action: 'Allow', destination: { selector: "k8s-role == 'node'" } },
      flow: { ...toHost(noIPs), ipVersion: 4 },
      result: 'none',
    },
    {
      name: 'destination notSelector excludes the host',
      rule: { action: 'Allow', destination: { notSelector: "k8s-role == 'node'" } },
      flow: toHost(),
      result: 'none',
    },
    {
      name: 'destination notSelector cannot see a host without expectedIPs',
      rule: { action: 'Allow', destination: { notSelector: "k8s-role == 'node'" } },
      flow: { ...toHost(noIPs), ipVersion: 4 },
      result: 'full',
    },
    {
      name: 'destination nets vs host without expectedIPs: address unknown',
      rule: { action: 'Allow', destination: { nets: ['10.0.0.0/8'] } },
      flow: { ...toHost(noIPs), ipVersion: 4 },
      result: 'partial',
    },
    { name: 'destination nets vs host expectedIPs', rule: { action: 'Allow', destination: { nets: ['10.0.0.0/24'] } }, flow: toHost(), result: 'full' },
    {
      name: 'ports: flow inside',
      rule: { action: 'Allow', protocol: 'TCP', destination: { notPorts: ['30000:32767'] } },
      flow: toHost(node1, '1:29999'),
      result: 'full',
    },
    {
      name: 'ports: flow straddles',
      rule: { action: 'Allow', protocol: 'TCP', destination: { notPorts: ['30000:32767'] } },
      flow: toHost(node1, '29000:31000'),
      result: 'partial',
    },
    {
      name: 'ports: flow outside',
      rule: { action: 'Allow', protocol: 'TCP', destination: { notPorts: ['30000:32767'] } },
      flow: toHost(node1, '30000:32767'),
      result: 'none',
    },
    { name: 'named port on a host matches nothing', rule: { action: 'Allow', protocol: 'TCP', destination: { ports: ['ssh'] } }, flow: toHost(node1, '22'), result: 'none' },
    { name: 'named port on a network may match', rule: { action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }, flow: toPods, result: 'partial' },
    { name: 'source ports are never known', rule: { action: 'Allow', protocol: 'TCP', source: { ports: ['1024:65535'] } }, flow: toPods, result: 'partial' },
    { name: 'source ports 1:65535 cover all', rule: { action: 'Allow', protocol: 'TCP', source: { ports: ['1:65535'] } }, flow: toPods, result: 'full' },
    { name: 'ipVersion 6 vs IPv4 flow', rule: { action: 'Allow', ipVersion: 6 }, flow: toPods, result: 'none' },
    {
      name: 'IPv6-only notNets: Felix skips the rule for IPv4',
      rule: { action: 'Allow', source: { notNets: ['fd00::/8'] } },
      flow: toPods,
      result: 'none',
    },
    {
      name: 'icmp type makes ICMP flows partial',
      rule: { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } },
      flow: { ...toPods, protocol: 'ICMP' },
      result: 'partial',
    },
    { name: 'invalid rule matches nothing', rule: { action: 'Allow', destination: { nets: ['192.168.0.0/16 Pod CIDR'] } }, flow: toPods, result: 'none' },
    {
      name: 'namespaceSelector cannot be decided',
      rule: { action: 'Allow', source: { namespaceSelector: 'all()' } },
      flow: toPods,
      result: 'partial',
      uncertainOn: ['source namespaceSelector'],
    },
    {
      name: 'dual-stack flow vs IPv4-only rule',
      rule: { action: 'Allow', destination: { nets: ['10.0.0.0/8'] } },
      flow: toHost(dualNode),
      result: 'partial',
      uncertainOn: ['IP version'],
    },
  ];
  for (const c of cases) {
    const got = matchRule(rule(c.rule), c.flow);
    t.equal(got.result, c.result, c.name);
    if (c.uncertainOn) t.same(got.uncertainOn, c.uncertainOn, `${c.name}: uncertain on`);
  }
});

t.test('flow versions and views', async (t) => {
  t.same(flowVersions(toPods), [4]);
  t.same(flowVersions(toHost(dualNode)), [4, 6]);
  t.same(flowVersions(toHost(noIPs)), [4, 6], 'unknown host address: both versions');
  t.same(flowVersions({ ...toHost(noIPs), ipVersion: 6 }), [6]);
  t.equal(viewFlow(toPods, 6), undefined, 'no IPv6 packets');
  const view = viewFlow(toHost(), 4)!;
  t.equal(describeFlowView(view), 'IPv4 TCP ports 1:29999 from any source to host endpoint "node1-eth0"');
  const icmp = viewFlow({ ...toPods, protocol: 'icmp', ports: PortIntervalSet.EMPTY }, 4)!;
  t.equal(icmp.ports, PortIntervalSet.ALL, 'ports do not apply to ICMP');
  t.equal(describeFlowView(icmp), 'IPv4 ICMP from any source to 192.168.0.0/16');
});

t.test('host endpoint view', async (t) => {
  const view = hostEndpointView({
    kind: 'HostEndpoint',
    metadata: { name: 'h', labels: { a: 'b', n: 3 as unknown as string } },
    spec: { node: 'n1', interfaceName: '*', expectedIPs: ['10.0.0.1', 'fd00::1', '10.0.0.0/24', 'bogus'], profiles: ['projectcalico-default-allow'] },
  });
  t.same(view.labels, { a: 'b' }, 'non-string label values dropped');
  t.same(view.expectedIPs.map((n) => n.cidr), ['10.0.0.1/32', 'fd00::1/128']);
  t.same(view.invalidExpectedIPs, ['10.0.0.0/24', 'bogus'], 'a CIDR is not an expected IP');
  t.same(view.profiles, ['projectcalico-default-allow']);
  t.equal(view.interfaceName, '*');
  const empty = hostEndpointView({ kind: 'HostEndpoint' });
  t.same([empty.name, empty.node, empty.expectedIPs.length], ['', '', 0]);
});
