import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import { comparePolicies, compilePolicy, compileStoredPolicy, governsIngress, type Problem } from '../../src/calico/policy.ts';
import { DEFAULT_CALICO_VERSION, holdsFor } from '../../src/calico/validation.ts';

const fixture = (dir: string, name: string): KubeObject =>
  parse(readFileSync(new URL(`../fixtures/${dir}/${name}.yaml`, import.meta.url), 'utf8')) as KubeObject;

/** The problems of a policy or rule that hold at the default release, `path: message` each; its `invalid` flag must agree. */
const invalidOf = (x: { readonly problems: readonly Problem[]; readonly invalid: boolean }): string[] => {
  const out = x.problems.filter((p) => holdsFor(p, DEFAULT_CALICO_VERSION)).map((p) => `${p.path}: ${p.message}`);
  t.equal(x.invalid, out.length > 0, `invalid agrees with ${JSON.stringify(out)}`);
  return out;
};

/** A minimal valid GlobalNetworkPolicy; cases tweak its spec. */
const gnp = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name },
  spec,
});

t.test('the guide policies compile cleanly', async (t) => {
  for (const name of ['allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints', 'allow-nodes-svc-a']) {
    const p = compilePolicy(fixture('guide', name));
    t.same(invalidOf(p), [], `${name}: no problems`);
    t.equal(p.name, name);
    t.equal(p.tier, 'default');
    t.equal(p.order, Number.POSITIVE_INFINITY, `${name}: no order = last`);
    t.same(p.types, ['Ingress']);
    t.equal(p.typesDefaulted, false);
  }
  const clusterIPs = compilePolicy(fixture('guide', 'allow-cluster-ips'));
  t.ok(clusterIPs.preDNAT && clusterIPs.applyOnForward && !clusterIPs.doNotTrack);
  t.same(clusterIPs.ingress.map((r) => r.destination.nets?.map((n) => n.cidr)), [['10.20.30.40/32'], ['10.20.30.41/32']]);
  t.same(clusterIPs.ingress.map((r) => r.source.nets?.map((n) => n.cidr)), [['50.60.0.0/16'], ['70.80.90.0/24']]);
  t.ok(clusterIPs.selector?.matches({ 'k8s-role': 'node' }));

  const hosts = compilePolicy(fixture('guide', 'allow-traffic-hostendpoints'));
  t.notOk(hosts.preDNAT || hosts.applyOnForward);
  t.same(hosts.ingress.map((r) => r.protocol), [6, 17]);
  t.same(hosts.ingress.map((r) => r.destination.ports.notPorts.toString()), ['30000:32767', '30000:32767']);
  t.ok(hosts.ingress[0]?.destination.selector?.matches({ 'k8s-role': 'node' }));
});

t.test('the guide as published: problems recorded with paths, rules match nothing', async (t) => {
  const clusterIPs = compilePolicy(fixture('guide-as-published', 'allow-cluster-ips'));
  t.same(invalidOf(clusterIPs), [
    'spec.ingress[0].destination.nets[0]: "10.20.30.40/32 Cluster IP A" is not an IP address or CIDR (text after the address? YAML comments need "#")',
    'spec.ingress[1].destination.nets[0]: "10.20.30.41/32 Cluster IP B" is not an IP address or CIDR (text after the address? YAML comments need "#")',
  ]);
  t.same(clusterIPs.ingress.map((r) => invalidOf(r).length), [1, 1]);

  const pods = compilePolicy(fixture('guide-as-published', 'allow-to-pods'));
  t.same(invalidOf(pods), ['spec.ingress[0].destination.nets[0]: "192.168.0.0/16 Pod CIDR" is not an IP address or CIDR (text after the address? YAML comments need "#")']);

  const hosts = compilePolicy(fixture('guide-as-published', 'allow-traffic-hostendpoints'));
  t.same(invalidOf(hosts), [
    'spec.types[1]: must be Ingress or Egress, found an object (a rule object: the rules are nested under "types"; is the "ingress:" key missing?)',
    'spec.types[2]: must be Ingress or Egress, found an object (a rule object: the rules are nested under "types"; is the "ingress:" key missing?)',
  ]);
  t.same(hosts.types, ['Ingress'], 'the one valid entry still counts');
  t.same(hosts.ingress, [], 'no ingress rules at all');

  t.same(invalidOf(compilePolicy(fixture('guide-as-published', 'allow-nodes-svc-a'))), []);
});

t.test('types defaulting (api/pkg/defaults/networkpolicy.go)', async (t) => {
  const allow = { action: 'Allow' };
  const cases: [name: string, spec: Record<string, unknown>, types: string[], defaulted: boolean][] = [
    ['no rules', {}, ['Ingress'], true],
    ['ingress only', { ingress: [allow] }, ['Ingress'], true],
    ['egress only', { egress: [allow] }, ['Egress'], true],
    ['both', { ingress: [allow], egress: [allow] }, ['Ingress', 'Egress'], true],
    ['explicit', { types: ['Egress'], ingress: [allow] }, ['Egress'], false],
    ['explicit both', { types: ['Ingress', 'Egress'] }, ['Ingress', 'Egress'], false],
  ];
  for (const [name, spec, types, defaulted] of cases) {
    const p = compilePolicy(gnp('p', spec));
    t.same(p.types, types, name);
    t.equal(p.typesDefaulted, defaulted, `${name}: defaulted`);
    t.equal(governsIngress(p), types.includes('Ingress'));
  }
});

t.test('invalid pieces are recorded, never thrown', async (t) => {
  const cases: [name: string, spec: unknown, expected: RegExp[]][] = [
    ['bad selector', { selector: "k8s-role = 'node'" }, [/^spec\.selector: selector "k8s-role = 'node'" is invalid at position/]],
    ['selector not a string', { selector: 3 }, [/^spec\.selector: must be a selector string, found number 3/]],
    ['order not a number', { order: '100' }, [/^spec\.order: must be a number, found "100"/]],
    ['preDNAT and doNotTrack', { preDNAT: true, doNotTrack: true, applyOnForward: true }, [/^spec\.doNotTrack: PreDNAT and DoNotTrack cannot both be true/]],
    ['preDNAT without applyOnForward', { preDNAT: true }, [/^spec\.applyOnForward: ApplyOnForward must be true if either PreDNAT or DoNotTrack is true/]],
    ['preDNAT with egress', { preDNAT: true, applyOnForward: true, egress: [{ action: 'Allow' }] }, [/^spec\.egress: PreDNAT PolicySpec cannot have any Egress rules/]],
    ['preDNAT Egress type', { preDNAT: true, applyOnForward: true, types: ['Egress'] }, [/^spec\.types\[0\]: PreDNAT PolicySpec cannot have 'egress' Type/]],
    ['duplicate type', { types: ['Ingress', 'Ingress'] }, [/^spec\.types\[1\]: 'Ingress' type specified more than once/]],
    ['ingress not a list', { ingress: { action: 'Allow' } }, [/^spec\.ingress: must be a list of rules/]],
    ['rule not an object', { ingress: ['Allow'] }, [/^spec\.ingress\[0\]: a rule must be an object/]],
    ['missing action', { ingress: [{}] }, [/^spec\.ingress\[0\]\.action: required/]],
    ['bad action', { ingress: [{ action: 'allow' }] }, [/^spec\.ingress\[0\]\.action: must be Allow, Deny, Log or Pass, found "allow"/]],
    ['bad protocol', { ingress: [{ action: 'Allow', protocol: 'GRE' }] }, [/^spec\.ingress\[0\]\.protocol: "GRE" is not a protocol/]],
    ['bad notProtocol', { ingress: [{ action: 'Allow', notProtocol: 0 }] }, [/^spec\.ingress\[0\]\.notProtocol: 0 is not a protocol/]],
    ['bad ipVersion', { ingress: [{ action: 'Allow', ipVersion: 5 }] }, [/^spec\.ingress\[0\]\.ipVersion: must be 4 or 6/]],
    ['ports without protocol', { ingress: [{ action: 'Allow', destination: { ports: [80] } }] }, [/^spec\.ingress\[0\]\.destination\.ports: port numbers and ranges need protocol TCP, UDP or SCTP/]],
    ['ports with ICMP', { ingress: [{ action: 'Allow', protocol: 'ICMP', source: { notPorts: [80] } }] }, [/^spec\.ingress\[0\]\.source\.notPorts: protocol "ICMP" does not support ports/]],
    ['icmp without ICMP', { ingress: [{ action: 'Allow', protocol: 'TCP', icmp: { type: 8 } }] }, [/^spec\.ingress\[0\]\.icmp: rules that specify ICMP fields must set protocol to ICMP/]],
    ['mixed versions', { ingress: [{ action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { nets: ['fd00::/8'] } }] }, [/^spec\.ingress\[0\]\.destination\.nets: rule contains both IPv4 and IPv6 CIDRs/]],
    ['version mismatch', { ingress: [{ action: 'Allow', ipVersion: 6, destination: { nets: ['10.0.0.0/8'] } }] }, [/^spec\.ingress\[0\]\.destination\.nets: rule IP version doesn't match CIDR version/]],
    ['bad notSelector', { ingress: [{ action: 'Allow', destination: { notSelector: 'has(' } }] }, [/^spec\.ingress\[0\]\.destination\.notSelector: selector "has\(" is invalid/]],
    ['services mixed', { egress: [{ action: 'Allow', destination: { services: { name: 's', namespace: 'n' }, nets: ['10.0.0.1'] } }] }, [/^spec\.egress\[0\]\.destination\.services: cannot specify Nets\/NotNets and Services on the same rule/]],
    ['spec not an object', 'nope', [/^spec: must be an object, found "nope"/]],
    ['bad bool', { preDNAT: 'yes' }, [/^spec\.preDNAT: must be true or false/]],
  ];
  for (const [name, spec, expected] of cases) {
    const obj = { ...gnp('p', {}), spec } as KubeObject;
    let p;
    t.doesNotThrow(() => (p = compilePolicy(obj)), name);
    const invalid = invalidOf(p!);
    t.equal(invalid.length, expected.length, `${name}: ${JSON.stringify(invalid)}`);
    expected.forEach((re, i) => t.match(invalid[i], re, name));
  }
  const badRule = compilePolicy(gnp('p', { ingress: [{ action: 'Allow', protocol: 'GRE' }, { action: 'Deny' }] }));
  t.equal(invalidOf(badRule.ingress[0]!).length, 1, 'the bad rule is marked');
  t.same(invalidOf(badRule.ingress[1]!), [], 'the next rule is fine');
});

t.test('selectors, tiers, namespace selectors', async (t) => {
  const empty = compilePolicy(gnp('p', {}));
  t.ok(empty.selector?.matches({}), 'no selector = all()');
  t.equal(compilePolicy(gnp('p', { tier: 'security' })).tier, 'security');
  t.equal(compilePolicy(gnp('p', { tier: '' })).tier, 'default');
  const cases: [nsSelector: Record<string, string>, selectsHosts: boolean][] = [
    [{}, true],
    [{ namespaceSelector: 'all()' }, false],
    [{ namespaceSelector: "team == 'a'" }, false],
    [{ namespaceSelector: 'global()' }, true],
    [{ serviceAccountSelector: 'all()' }, false],
    [{ serviceAccountSelector: "name == 'x'" }, false],
  ];
  for (const [spec, selectsHosts] of cases) {
    t.equal(compilePolicy(gnp('p', spec)).selectsNonNamespaced, selectsHosts, JSON.stringify(spec));
  }
});

t.test('compiled policies are shared: the last object compiled, and stored objects while they live', async (t) => {
  const obj = fixture('guide', 'allow-to-pods');
  t.equal(compilePolicy(obj), compilePolicy(obj), 'same object twice in a row, same result');
  const copy = structuredClone(obj);
  const first = compilePolicy(obj);
  t.not(compilePolicy(copy), first, 'a copy compiles anew');
  t.not(compilePolicy(obj), first, 'only the last object compiled is remembered');
  t.ok(Object.isFrozen(compilePolicy(obj)));
  const stored = compileStoredPolicy(obj);
  compilePolicy(copy);
  t.equal(compileStoredPolicy(obj), stored, 'a stored object keeps its compilation');
  t.same(compileStoredPolicy(obj), compilePolicy(obj), 'both compile alike');
});

t.test('comparePolicies: tier, then order, then name (felix PolKVLess)', async (t) => {
  const policies = [
    gnp('zeta', { order: 100 }),
    gnp('alpha', {}),
    gnp('beta', { order: 100 }),
    gnp('gamma', { order: 5.5 }),
    gnp('delta', {}),
    gnp('sec.first', { tier: 'sec', order: 1000 }),
    gnp('aaa.first', { tier: 'aaa' }),
  ].map(compilePolicy);
  t.same(
    [...policies].sort(comparePolicies).map((p) => p.name),
    ['aaa.first', 'sec.first', 'gamma', 'beta', 'zeta', 'alpha', 'delta'],
  );
});

t.test('a namespaceSelector of global() alone selects non-namespaced endpoints, as Felix reads it', async (t) => {
  const sides = (namespaceSelector: string) =>
    compilePolicy(gnp('p', { ingress: [{ action: 'Allow', source: { namespaceSelector, selector: "k8s-role == 'node'" } }] })).ingress[0]!.source;
  t.equal(sides('global()').nonNamespacedOnly, true);
  t.equal(sides(' global( ) ').nonNamespacedOnly, true, 'blanks as Calico tokenizes them');
  t.equal(sides('all()').nonNamespacedOnly, false);
  t.same(sides('global()').undecidable, ['namespaceSelector'], 'an address may still belong to a namespaced endpoint');
  t.equal(compilePolicy(gnp('p', { ingress: [{ action: 'Allow' }] })).ingress[0]!.source.nonNamespacedOnly, false, 'absent side');
});

t.test('global() in a rule notSelector: Calico accepts it and Felix reads it as true', async (t) => {
  // api/pkg/apis/projectcalico/v3/policy_common.go (EntityRule CEL) refuses global() in `selector`
  // only; libcalico-go/lib/selector/parser/ast.go GlobalNode.Evaluate returns true.
  const rule = (side: Record<string, string>) => compilePolicy(gnp('p', { ingress: [{ action: 'Allow', source: side }] })).ingress[0]!;
  t.same(invalidOf(rule({ notSelector: 'global()' })), [], 'notSelector: accepted');
  t.match(invalidOf(rule({ selector: 'global()' })), [/source\.selector: global\(\) can only be used/], 'selector: refused');
  t.match(invalidOf(rule({ selector: 'global( )' })), [/source\.selector: global\(\) can only be used/], "with a blank too: the CEL rule looks for 'global('");
  t.ok(rule({ notSelector: 'global()' }).source.notSelector?.matches({ 'k8s-role': 'node' }), 'it excludes every endpoint');
});

t.test('a namespaced NetworkPolicy compiles with its own name and services rules', async (t) => {
  const np = (name: string, spec: unknown) => ({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name, namespace: 'team-a' }, spec }) as KubeObject;
  t.same(invalidOf(compilePolicy(np('knp.default.web', {}))), [], 'the name Calico gives a converted Kubernetes NetworkPolicy');
  t.same(invalidOf(compilePolicy(np('web', { ingress: [{ action: 'Allow', source: { services: { name: 'api' } } }] }))), [], 'services default to the policy namespace');
  t.match(invalidOf(compilePolicy({ ...gnp('knp.default.web', {}) })), [/^metadata\.name: /], 'a global policy may not take that name');
  t.match(invalidOf(compilePolicy(gnp('p', { ingress: [{ action: 'Allow', source: { services: { name: 'api' } } }] }))), [/services\.namespace: must specify a namespace/]);
});
