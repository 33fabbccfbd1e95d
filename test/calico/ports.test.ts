import t from 'tap';
import fc from 'fast-check';
import type { Problem } from '../../src/calico/validation.ts';
import {
  compilePorts,
  parsePort,
  parsePortRange,
  PortIntervalSet,
  PortSyntaxError,
} from '../../src/calico/ports.ts';

t.test('parsePort accepts Calico port syntax', async (t) => {
  const cases: [input: unknown, expected: unknown][] = [
    [80, { kind: 'range', min: 80, max: 80 }],
    ['443', { kind: 'range', min: 443, max: 443 }],
    [65535, { kind: 'range', min: 65535, max: 65535 }],
    ['30000:32767', { kind: 'range', min: 30000, max: 32767 }],
    ['8080:8080', { kind: 'range', min: 8080, max: 8080 }],
    ['metrics', { kind: 'named', name: 'metrics' }],
    ['http-alt_2.v1', { kind: 'named', name: 'http-alt_2.v1' }],
    ['a'.repeat(128), { kind: 'named', name: 'a'.repeat(128) }],
    // A dash is not range syntax: Calico reads this as a port *name*, which
    // matches nothing on a host endpoint. Worth a warning elsewhere.
    ['30000-32767', { kind: 'named', name: '30000-32767' }],
  ];
  for (const [input, expected] of cases) t.same(parsePort(input), expected, String(input));
});

t.test('parsePort rejects with a reason', async (t) => {
  const cases: [input: unknown, reason: RegExp][] = [
    [0, /1 to 65535/],
    [65536, /1 to 65535/],
    ['70000', /1 to 65535/],
    [-1, /1 to 65535/],
    [80.5, /whole number/],
    ['0:100', /minimum must be/],
    ['100:70000', /maximum must be/],
    ['200:100', /minimum \(200\) is greater than the maximum \(100\)/],
    ['', /port name/],
    ['a'.repeat(129), /port name/],
    ['http port', /port name/],
    [null, /expected a number/],
    [{ port: 80 }, /expected a number/],
  ];
  for (const [input, reason] of cases) {
    t.throws(() => parsePort(input), PortSyntaxError, String(input));
    t.throws(() => parsePort(input), { message: reason }, String(input));
  }
});

t.test('parsePortRange', async (t) => {
  t.same(parsePortRange('30000:32767'), { min: 30000, max: 32767 });
  t.same(parsePortRange(22), { min: 22, max: 22 });
  t.throws(() => parsePortRange('ssh'), /not a port name/);
});

t.test('PortIntervalSet containment', async (t) => {
  const notNodePorts = PortIntervalSet.ALL.minus(PortIntervalSet.of(['30000:32767']));
  const cases: [name: string, set: PortIntervalSet, flow: PortIntervalSet, coversAll: boolean, intersects: boolean][] = [
    ['outside node ports', notNodePorts, PortIntervalSet.of(['1:29999']), true, true],
    ['above node ports', notNodePorts, PortIntervalSet.of(['32768:65535']), true, true],
    ['node port', notNodePorts, PortIntervalSet.of([30080]), false, false],
    ['straddling', notNodePorts, PortIntervalSet.of(['29000:31000']), false, true],
    ['all ports', notNodePorts, PortIntervalSet.ALL, false, true],
    ['list', PortIntervalSet.of([80, 443]), PortIntervalSet.of([443]), true, true],
    ['gap', PortIntervalSet.of([80, 443]), PortIntervalSet.of(['81:442']), false, false],
    ['adjacent merge', PortIntervalSet.of(['1:100', '101:200']), PortIntervalSet.of(['50:150']), true, true],
    ['empty flow', PortIntervalSet.EMPTY, PortIntervalSet.EMPTY, true, false],
  ];
  for (const [name, set, flow, coversAll, intersects] of cases) {
    t.equal(set.coversAll(flow), coversAll, `${name}: coversAll`);
    t.equal(set.intersects(flow), intersects, `${name}: intersects`);
  }
  t.equal(notNodePorts.toString(), '1:29999,32768:65535');
  t.equal(PortIntervalSet.EMPTY.toString(), '(no ports)');
  t.throws(() => PortIntervalSet.of([{ min: 10, max: 5 }]), PortSyntaxError);
});

t.test('compilePorts: ports minus notPorts, errors with paths', async (t) => {
  const errors: Problem[] = [];
  const none = compilePorts(undefined, [], 'spec.ingress[0].destination', errors);
  t.ok(none.unconstrained);

  const guide = compilePorts(undefined, ['30000:32767'], 'spec.ingress[0].destination', errors);
  t.same(errors, []);
  t.equal(guide.ports.toString(), '1:65535');
  t.equal(guide.notPorts.toString(), '30000:32767');

  const mixed = compilePorts([80, 'http', '9000:9100'], ['metrics'], 'x', errors);
  t.equal(mixed.ports.toString(), '80,9000:9100');
  t.same(mixed.namedPorts, ['http']);
  t.same(mixed.notNamedPorts, ['metrics']);
  t.same(errors, []);

  compilePorts([80, 'no good', 70000], 'nope', 'spec.ingress[2].destination', errors);
  t.same(errors.length, 3);
  t.match(errors[0], { path: 'spec.ingress[2].destination.ports[1]', message: /^"no good" is not a valid port/ });
  t.match(errors[1], { path: 'spec.ingress[2].destination.ports[2]' });
  t.match(errors[2], { path: 'spec.ingress[2].destination.notPorts', message: /^must be a list/ });
});

t.test('compiled port bounds: named ports on hosts vs networks', async (t) => {
  const cases: {
    name: string;
    ports: unknown;
    notPorts: unknown;
    named: 'match-nothing' | 'unknown';
    lower: string;
    upper: string;
  }[] = [
    { name: 'numeric only', ports: [80], notPorts: undefined, named: 'unknown', lower: '80', upper: '80' },
    { name: 'named on host', ports: ['http'], notPorts: undefined, named: 'match-nothing', lower: '(no ports)', upper: '(no ports)' },
    { name: 'named on network', ports: ['http'], notPorts: undefined, named: 'unknown', lower: '(no ports)', upper: '1:65535' },
    { name: 'named notPorts on host', ports: [80, 81], notPorts: ['http'], named: 'match-nothing', lower: '80:81', upper: '80:81' },
    { name: 'named notPorts on network', ports: [80, 81], notPorts: ['http'], named: 'unknown', lower: '(no ports)', upper: '80:81' },
  ];
  for (const c of cases) {
    const compiled = compilePorts(c.ports, c.notPorts, 'x', []);
    const bounds = compiled.bounds[c.named];
    t.equal(bounds.lower.toString(), c.lower, `${c.name}: lower`);
    t.equal(bounds.upper.toString(), c.upper, `${c.name}: upper`);
  }
});

t.test('PortIntervalSet.of is the exact union of its ranges (property)', async (t) => {
  // Small ports so that overlaps, adjacency and holes all occur.
  const range = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 6 })).map(([min, len]) => ({ min, max: min + len }));
  fc.assert(
    fc.property(fc.array(range, { minLength: 1, maxLength: 6 }), (ranges) => {
      const member = new Array<boolean>(50).fill(false);
      for (const { min, max } of ranges) for (let p = min; p <= max; p++) member[p] = true;
      const expected: string[] = [];
      for (let p = 1; p < member.length; p++) {
        if (!member[p] || member[p - 1]) continue;
        let end = p;
        while (member[end + 1]) end++;
        expected.push(end === p ? String(p) : `${p}:${end}`);
      }
      t.equal(PortIntervalSet.of(ranges).toString(), expected.join(','));
    }),
    { numRuns: 300 },
  );
});

t.test('compilePorts shares the compilation of equal valid lists, and reports errors at every path', async (t) => {
  const errors: Problem[] = [];
  const a = compilePorts([443, '30000:30009'], undefined, 'spec.ingress[0].destination', errors);
  t.equal(compilePorts([443, '30000:30009'], undefined, 'spec.ingress[5].destination', errors), a, 'same lists, same object');
  t.not(compilePorts([443, '30000:30009'], [443], 'x', errors), a, 'notPorts are part of the key');
  t.equal(compilePorts(['443', '30000:30009'], undefined, 'x', errors).ports.toString(), '443,30000:30009', 'a number written as a string means the same port');
  t.same(errors, []);

  compilePorts([443, 70000], undefined, 'spec.ingress[1].destination', errors);
  compilePorts([443, 70000], undefined, 'spec.ingress[2].destination', errors);
  t.equal(errors.length, 2, 'an invalid list is compiled (and reported) each time');
  t.match(errors[0], { path: 'spec.ingress[1].destination.ports[1]' });
  t.match(errors[1], { path: 'spec.ingress[2].destination.ports[1]' });
});
