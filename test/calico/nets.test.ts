import t from 'tap';
import {
  NetSet,
  NetSyntaxError,
  netContains,
  parseNet,
  tryParseNet,
} from '../../src/calico/nets.ts';
import { normalizeIntervals, subtractIntervals } from '../../src/calico/intervals.ts';

t.test('parseNet normalizes', async (t) => {
  const cases: [input: string, cidr: string, version: 4 | 6][] = [
    ['10.20.30.40', '10.20.30.40/32', 4],
    ['10.20.30.40/32', '10.20.30.40/32', 4],
    ['10.20.30.40/24', '10.20.30.0/24', 4],
    ['0.0.0.0/0', '0.0.0.0/0', 4],
    ['192.168.0.0/16', '192.168.0.0/16', 4],
    ['fd00:10::1', 'fd00:10::1/128', 6],
    ['fd00:10::1/48', 'fd00:10::/48', 6],
    ['FD00:0010:0000::/48', 'fd00:10::/48', 6],
    ['::/0', '::/0', 6],
    ['2001:db8::ff/120', '2001:db8::/120', 6],
  ];
  for (const [input, cidr, version] of cases) {
    const net = parseNet(input);
    t.equal(net.cidr, cidr, input);
    t.equal(net.version, version, `${input} version`);
  }
});

t.test('parseNet rejects what Calico rejects, quoting the input', async (t) => {
  const cases: unknown[] = [
    '10.20.30.40/32 Cluster IP A',
    '192.168.0.0/16 Pod CIDR',
    '',
    '10.1',
    '10.0.0.256',
    '010.0.0.1',
    '10.0.0.1/33',
    '10.0.0.1/',
    '10.0.0.1/-1',
    'fd00::/129',
    'fe80::1%eth0',
    '1::2::3',
    ' 10.0.0.1',
    'node1',
    42,
    null,
    ['10.0.0.1'],
  ];
  for (const input of cases) {
    t.throws(() => parseNet(input), NetSyntaxError, JSON.stringify(input));
    t.equal(tryParseNet(input), undefined);
  }
  t.throws(() => parseNet('10.20.30.40/32 Cluster IP A'), {
    message: '"10.20.30.40/32 Cluster IP A" is not an IP address or CIDR',
  });
});

t.test('containment and overlap', async (t) => {
  const cases: [outer: string, inner: string, contains: boolean, overlaps: boolean][] = [
    ['192.168.0.0/16', '192.168.3.0/24', true, true],
    ['192.168.3.0/24', '192.168.0.0/16', false, true],
    ['10.20.30.40/32', '10.20.30.40', true, true],
    ['10.20.30.0/24', '10.20.31.0/24', false, false],
    ['0.0.0.0/0', '::/0', false, false],
    ['::/0', '0.0.0.0/0', false, false],
    ['::ffff:0:0/96', '10.0.0.1', false, false],
    ['fd00::/8', 'fd00:10::/48', true, true],
  ];
  for (const [outer, inner, contains, overlaps] of cases) {
    t.equal(netContains(parseNet(outer), parseNet(inner)), contains, `${outer} contains ${inner}`);
    t.equal(NetSet.ofNet(parseNet(outer)).intersects(parseNet(inner)), overlaps, `${outer} overlaps ${inner}`);
  }
});

t.test('NetSet: nets minus notNets', async (t) => {
  const cases: {
    name: string;
    set: NetSet;
    net: string;
    coversAll: boolean;
    intersects: boolean;
  }[] = [
    { name: 'any covers v4', set: NetSet.ANY, net: '10.0.0.0/8', coversAll: true, intersects: true },
    { name: 'any covers v6', set: NetSet.ANY, net: 'fd00::/8', coversAll: true, intersects: true },
    {
      name: 'halves cover the whole',
      set: NetSet.of(['10.0.0.0/9', '10.128.0.0/9']),
      net: '10.0.0.0/8',
      coversAll: true,
      intersects: true,
    },
    {
      name: 'notNets punch a hole',
      set: NetSet.from({ nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'] }),
      net: '10.0.0.0/15',
      coversAll: false,
      intersects: true,
    },
    {
      name: 'hole holds the net',
      set: NetSet.from({ nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'] }),
      net: '10.1.2.0/24',
      coversAll: false,
      intersects: false,
    },
    {
      name: 'notNets alone exclude from everything',
      set: NetSet.from({ notNets: ['10.0.0.0/8'] }),
      net: '192.168.0.0/16',
      coversAll: true,
      intersects: true,
    },
    {
      name: 'IPv4 set never matches IPv6',
      set: NetSet.of(['0.0.0.0/0']),
      net: '::/0',
      coversAll: false,
      intersects: false,
    },
    { name: 'empty set', set: NetSet.EMPTY, net: '10.0.0.1', coversAll: false, intersects: false },
  ];
  for (const c of cases) {
    t.equal(c.set.coversAll(parseNet(c.net)), c.coversAll, `${c.name}: coversAll`);
    t.equal(c.set.intersects(parseNet(c.net)), c.intersects, `${c.name}: intersects`);
  }
});

t.test('NetSet set algebra and printing', async (t) => {
  const pods = NetSet.of(['192.168.0.0/16', 'fd00:10::/48']);
  t.same(pods.versions(), [4, 6]);
  t.same(pods.restrictTo(6).toCidrs(), ['fd00:10::/48']);
  t.ok(pods.coversAll(NetSet.of(['192.168.1.0/24', 'fd00:10:0:1::/64'])));
  t.notOk(pods.coversAll(NetSet.of(['192.168.1.0/24', 'fd00:11::/64'])));
  t.same(NetSet.of(['10.0.0.0/9', '10.128.0.0/9']).toCidrs(), ['10.0.0.0/8']);
  t.same(NetSet.of(['10.0.0.0/8']).minus(NetSet.of(['10.0.0.0/9'])).toCidrs(), ['10.128.0.0/9']);
  t.same(NetSet.all(4).toCidrs(), ['0.0.0.0/0']);
  t.ok(NetSet.EMPTY.isEmpty());
  t.ok(NetSet.EMPTY.toString().includes('no addresses'));
  t.throws(() => NetSet.of(['not-a-net']), NetSyntaxError);
});

t.test('interval arithmetic edge cases', async (t) => {
  const a = normalizeIntervals([
    [10n, 20n],
    [21n, 25n],
    [1n, 3n],
    [2n, 5n],
  ]);
  t.same(a, [
    [1n, 5n],
    [10n, 25n],
  ]);
  t.same(subtractIntervals(a, normalizeIntervals([[0n, 100n]])), []);
  t.same(subtractIntervals(a, normalizeIntervals([[3n, 12n]])), [
    [1n, 2n],
    [13n, 25n],
  ]);
  t.same(
    subtractIntervals(
      normalizeIntervals([[1n, 10n]]),
      normalizeIntervals([
        [2n, 2n],
        [4n, 5n],
        [10n, 10n],
      ]),
    ),
    [
      [1n, 1n],
      [3n, 3n],
      [6n, 9n],
    ],
  );
});
