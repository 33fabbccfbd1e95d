import t from 'tap';
import { parseSelector, type Labels } from '../../../src/calico/selector/index.ts';

// [selector, label maps it matches, label maps it does not match]
type Row = readonly [string, readonly Labels[], readonly Labels[]];

const rows: readonly Row[] = [
  // ==
  [`app == 'web'`, [{ app: 'web' }, { app: 'web', tier: 'x' }], [{}, { app: 'db' }, { app: 'Web' }, { tier: 'web' }, { app: '' }]],
  [`app == ''`, [{ app: '' }], [{}, { app: 'x' }]],
  // !=
  [`app != 'web'`, [{}, { app: 'db' }, { tier: 'web' }, { app: '' }], [{ app: 'web' }]],
  // in / not in
  [`app in {'web', "db"}`, [{ app: 'web' }, { app: 'db' }], [{}, { app: 'cache' }, { other: 'web' }]],
  [`app in {'web'}`, [{ app: 'web' }], [{}, { app: 'db' }]],
  [`app in {}`, [], [{}, { app: '' }, { app: 'web' }]],
  [`app not in {'web', "db"}`, [{}, { app: 'cache' }, { other: 'web' }], [{ app: 'web' }, { app: 'db' }]],
  [`app not in {'web'}`, [{}, { app: 'db' }], [{ app: 'web' }]],
  [`app not in {}`, [{}, { app: 'web' }], []],
  [`q in {"'", '"', "c"}`, [{ q: "'" }, { q: '"' }, { q: 'c' }], [{}, { q: 'e' }]],
  // has
  [`has(app)`, [{ app: 'web' }, { app: '' }], [{}, { other: 'app' }]],
  [`!has(app)`, [{}, { other: 'app' }], [{ app: '' }, { app: 'web' }]],
  // contains / starts with / ends with
  [`name contains 'eb'`, [{ name: 'web' }, { name: 'eb' }, { name: 'webeb' }], [{}, { name: 'w-e-b' }, { other: 'web' }]],
  [`name contains ''`, [{ name: '' }, { name: 'x' }], [{}]],
  [`name starts with 'kube-'`, [{ name: 'kube-dns' }, { name: 'kube-' }], [{}, { name: 'xkube-dns' }, { name: 'kube' }]],
  [`name starts with ''`, [{ name: '' }, { name: 'x' }], [{}]],
  [`name ends with '-system'`, [{ name: 'kube-system' }, { name: '-system' }], [{}, { name: 'kube-systems' }, { name: 'system' }]],
  [`name ends with ''`, [{ name: '' }, { name: 'x' }], [{}]],
  // all(), empty selector
  [`all()`, [{}, { a: 'b' }], []],
  [``, [{}, { a: 'b' }], []],
  [`!all()`, [], [{}, { a: 'b' }]],
  // keys with prefixes and slashes
  [`projectcalico.org/name == 'kube-system'`, [{ 'projectcalico.org/name': 'kube-system' }], [{ name: 'kube-system' }, {}]],
  [`has(node-role.kubernetes.io/control-plane)`, [{ 'node-role.kubernetes.io/control-plane': '' }], [{ 'node-role.kubernetes.io/worker': '' }]],
  // boolean structure
  [`a == 'x' && b == 'y'`, [{ a: 'x', b: 'y' }], [{}, { a: 'x' }, { b: 'y' }, { a: 'x', b: 'z' }]],
  [`a == 'x' || b == 'y'`, [{ a: 'x' }, { b: 'y' }, { a: 'x', b: 'y' }], [{}, { a: 'z', b: 'z' }]],
  // || is lowest: a || (b && c)
  [`a == 'x' || b == 'y' && c == 'z'`, [{ a: 'x' }, { b: 'y', c: 'z' }], [{ b: 'y' }, { c: 'z' }, {}]],
  // && of (a || b) with c only when grouped
  [`(a == 'x' || b == 'y') && c == 'z'`, [{ a: 'x', c: 'z' }, { b: 'y', c: 'z' }], [{ a: 'x' }, { b: 'y', c: 'q' }]],
  // ! binds to one operation, tighter than &&
  [`!a == 'x' && b == 'y'`, [{ b: 'y' }, { a: 'q', b: 'y' }], [{ a: 'x', b: 'y' }, { a: 'q' }]],
  [`!(a == 'x' && b == 'y')`, [{}, { a: 'x' }, { b: 'y' }], [{ a: 'x', b: 'y' }]],
  [`!!has(a)`, [{ a: '' }], [{}]],
  [`!!!has(a)`, [{}], [{ a: '' }]],
  [`!(!has(a) || has(b))`, [{ a: 'a' }], [{}, { a: 'a', b: 'b' }]],
  [`has(a) && has(b) && has(c)`, [{ a: '', b: '', c: '' }], [{ a: '', b: '' }, { b: '', c: '' }, { a: '', c: '' }]],
  [`has(a) || has(b) || has(c)`, [{ a: '' }, { b: '' }, { c: '' }], [{}, { d: '' }]],
  [`app in {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'}`, [{ app: 'a' }, { app: 'j' }], [{}, { app: 'k' }]],
];

t.test('evaluates each operator and combination', async (t) => {
  for (const [source, yes, no] of rows) {
    const sel = parseSelector(source);
    for (const labels of yes) t.equal(sel.matches(labels), true, `${source} matches ${JSON.stringify(labels)}`);
    for (const labels of no) t.equal(sel.matches(labels), false, `${source} does not match ${JSON.stringify(labels)}`);
  }
});

t.test('the canonical form evaluates the same', async (t) => {
  for (const [source, yes, no] of rows) {
    const again = parseSelector(parseSelector(source).toString());
    for (const labels of yes) t.equal(again.matches(labels), true, `${again} matches ${JSON.stringify(labels)}`);
    for (const labels of no) t.equal(again.matches(labels), false, `${again} does not match ${JSON.stringify(labels)}`);
  }
});

t.test('an absent label: only != and not in are true', async (t) => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    [`k == 'v'`, false],
    [`k != 'v'`, true],
    [`k in {'v'}`, false],
    [`k in {'v', 'w'}`, false],
    [`k not in {'v'}`, true],
    [`k not in {'v', 'w'}`, true],
    [`k contains 'v'`, false],
    [`k starts with 'v'`, false],
    [`k ends with 'v'`, false],
    [`has(k)`, false],
    [`!has(k)`, true],
  ];
  for (const [source, expected] of table) {
    t.equal(parseSelector(source).matches({ other: 'v' }), expected, source);
  }
});

t.test('keys inherited from Object.prototype are absent', async (t) => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ['has(constructor)', false],
    ['has(__proto__)', false],
    ['has(toString)', false],
    [`constructor != 'x'`, true],
    [`constructor == 'x'`, false],
    [`__proto__ not in {'x', 'y'}`, true],
    [`__proto__ in {'x', 'y'}`, false],
    [`toString contains 'function'`, false],
    [`valueOf starts with ''`, false],
  ];
  for (const [source, expected] of table) {
    t.equal(parseSelector(source).matches({}), expected, source);
  }
  t.equal(parseSelector(`toString == 'x'`).matches({ toString: 'x' }), true, 'an own label named toString is present');
  t.equal(
    parseSelector(`has(constructor)`).matches(Object.assign(Object.create(null) as Record<string, string>, { constructor: 'c' })),
    true,
    'works with null-prototype maps',
  );
});

t.test('global() is true, as Felix evaluates it, unless the caller says false', async (t) => {
  // libcalico-go/lib/selector/parser/ast.go: GlobalNode.Evaluate returns true.
  const table: ReadonlyArray<readonly [string, boolean, boolean]> = [
    // [selector, result without option / with global: true, result with global: false]
    ['global()', true, false],
    ['!global()', false, true],
    ['global() || has(a)', true, false],
    ['global() && all()', true, false],
    ['has(a)', false, false],
  ];
  for (const [source, felix, notGlobal] of table) {
    const sel = parseSelector(source);
    t.equal(sel.matches({ b: '' }), felix, `${source} without options`);
    t.equal(sel.matches({ b: '' }, { global: true }), felix, `${source} with global: true`);
    t.equal(sel.matches({ b: '' }, { global: false }), notGlobal, `${source} with global: false`);
  }
});

t.test('matches can be detached from its selector', async (t) => {
  const { matches } = parseSelector(`a == 'x'`);
  t.equal(matches({ a: 'x' }), true);
  t.equal(matches({ a: 'y' }), false);
});
