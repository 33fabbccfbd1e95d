import t from 'tap';
import {
  protocolMatches,
  protocolName,
  protocolNumber,
  protocolSupportsPorts,
  ProtocolSyntaxError,
} from '../../src/calico/protocols.ts';

t.test('protocolNumber normalizes names and numbers', async (t) => {
  const cases: [input: unknown, n: number][] = [
    ['TCP', 6],
    ['tcp', 6],
    ['Tcp', 6],
    ['UDP', 17],
    ['ICMP', 1],
    ['ICMPv6', 58],
    ['icmpv6', 58],
    ['SCTP', 132],
    ['UDPLite', 136],
    ['udplite', 136],
    [6, 6],
    ['6', 6],
    [1, 1],
    [255, 255],
    [47, 47],
  ];
  for (const [input, n] of cases) t.equal(protocolNumber(input), n, String(input));
});

t.test('protocolNumber rejects', async (t) => {
  for (const input of [0, 256, -6, 6.5, '', 'any', 'GRE', 'tcp ', null, undefined, true]) {
    t.throws(() => protocolNumber(input), ProtocolSyntaxError, String(input));
  }
  t.throws(() => protocolNumber('GRE'), { message: /"GRE" is not a protocol: expected TCP, UDP/ });
});

t.test('protocolMatches: protocol and notProtocol', async (t) => {
  const cases: [packet: number, rule: { protocol?: number; notProtocol?: number }, expected: boolean][] = [
    [6, {}, true],
    [6, { protocol: 6 }, true],
    [17, { protocol: 6 }, false],
    [6, { notProtocol: 17 }, true],
    [17, { notProtocol: 17 }, false],
    [6, { protocol: 6, notProtocol: 6 }, false],
  ];
  for (const [packet, rule, expected] of cases) t.equal(protocolMatches(packet, rule), expected, JSON.stringify([packet, rule]));
});

t.test('helpers', async (t) => {
  t.equal(protocolName(6), 'TCP');
  t.equal(protocolName(58), 'ICMPv6');
  t.equal(protocolName(47), 'protocol 47');
  t.same([6, 17, 132, 1, 136].map(protocolSupportsPorts), [true, true, true, false, false]);
});
