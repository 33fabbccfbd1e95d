import t from 'tap';
import { parseSelector, printSelector, type SelectorNode } from '../../../src/calico/selector/index.ts';

// [source, canonical text]. The format is Calico's Selector.String() format.
const canonical: ReadonlyArray<readonly [string, string]> = [
  ['', 'all()'],
  ['  all( )  ', 'all()'],
  [' (all() )', 'all()'],
  ['global()', 'global()'],
  [`a=='x'`, `a == "x"`],
  [`a!='x'`, `a != "x"`],
  [`a == '"'`, `a == '"'`],
  [`a == "'"`, `a == "'"`],
  [`a == ''`, `a == ""`],
  [`a contains 'x'`, `a contains "x"`],
  [`a contains '"'`, `a contains '"'`],
  [`a startswith 'x'`, `a starts with "x"`],
  [`a   starts    with 'x'`, `a starts with "x"`],
  [`a endswith "'"`, `a ends with "'"`],
  [`a notin{'x'}`, `a not in {"x"}`],
  [`a in {}`, `a in {}`],
  [`a in {"d", "a", "b"}`, `a in {"a", "b", "d"}`],
  [`a in {"z", "z", "x", "y", "x", "a",}`, `a in {"a", "x", "y", "z"}`],
  [`a in {'"', "'"}`, `a in {'"', "'"}`],
  [`has( projectcalico.org/name )`, `has(projectcalico.org/name)`],
  [`! has(a)`, `!has(a)`],
  [`!!has(a)`, `has(a)`],
  [`!a == 'x'`, `!a == "x"`],
  [`!(a == 'x')`, `!a == "x"`],
  [`!(!has(a))`, `!(!has(a))`],
  [`! (has( b)||! has(a ))`, `!(has(b) || !has(a))`],
  [`! (a == "b"&&! c != "d")`, `!(a == "b" && !c != "d")`],
  [`a == 'x' || b == 'y' && c == 'z'`, `(a == "x" || (b == "y" && c == "z"))`],
  [`has(a) && has(b) && has(c)`, `(has(a) && has(b) && has(c))`],
  [`(has(a) && has(b)) && has(c)`, `((has(a) && has(b)) && has(c))`],
  [`!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))`, `!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})`],
];

t.test('prints the canonical form', async (t) => {
  for (const [source, expected] of canonical) {
    const sel = parseSelector(source);
    t.equal(printSelector(sel.ast), expected, `printSelector(${JSON.stringify(source)})`);
    t.equal(String(sel), expected, `toString of ${JSON.stringify(source)}`);
  }
});

t.test('the canonical form parses back to the same tree and prints the same', async (t) => {
  for (const [source, expected] of canonical) {
    const again = parseSelector(expected);
    t.same(again.ast, parseSelector(source).ast, `tree of ${JSON.stringify(source)}`);
    t.equal(again.toString(), expected, `text of ${JSON.stringify(source)}`);
  }
});

t.test('prints hand-built trees', async (t) => {
  const table: ReadonlyArray<readonly [string, SelectorNode, string]> = [
    ['unsorted set values are sorted', { kind: 'in', key: 'a', values: ['b', 'a', 'b'] }, `a in {"a", "b"}`],
    ['one-operand && prints its operand', { kind: 'and', operands: [{ kind: 'has', key: 'a' }] } as unknown as SelectorNode, `has(a)`],
    ['triple negation', { kind: 'not', operand: { kind: 'not', operand: { kind: 'not', operand: { kind: 'all' } } } }, `!(!(!all()))`],
    ['! of ||', { kind: 'not', operand: { kind: 'or', operands: [{ kind: 'all' }, { kind: 'global' }] } }, `!(all() || global())`],
  ];
  for (const [name, node, expected] of table) {
    t.equal(printSelector(node), expected, name);
  }
});

t.test('refuses trees that no selector text can express', async (t) => {
  const table: ReadonlyArray<readonly [string, SelectorNode]> = [
    ['value with both quotes', { kind: 'eq', key: 'a', value: `'"` }],
    ['set value with both quotes', { kind: 'notIn', key: 'a', values: [`x'"`] }],
    ['empty key', { kind: 'has', key: '' }],
    ['key with a space', { kind: 'eq', key: 'a b', value: 'x' }],
    ['key with a colon', { kind: 'ne', key: 'a:b', value: 'x' }],
    ['key longer than 512', { kind: 'has', key: 'k'.repeat(513) }],
    ['&& without operands', { kind: 'and', operands: [] } as unknown as SelectorNode],
    ['unknown kind', { kind: 'regex', key: 'a' } as unknown as SelectorNode],
  ];
  for (const [name, node] of table) {
    t.throws(() => printSelector(node), TypeError, name);
  }
});
