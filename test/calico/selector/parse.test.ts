import t from 'tap';
import { parseSelector, type SelectorNode } from '../../../src/calico/selector/index.ts';

const eq = (key: string, value: string): SelectorNode => ({ kind: 'eq', key, value });
const has = (key: string): SelectorNode => ({ kind: 'has', key });
const not = (operand: SelectorNode): SelectorNode => ({ kind: 'not', operand });
const and = (a: SelectorNode, b: SelectorNode, ...rest: SelectorNode[]): SelectorNode => ({
  kind: 'and',
  operands: [a, b, ...rest],
});
const or = (a: SelectorNode, b: SelectorNode, ...rest: SelectorNode[]): SelectorNode => ({
  kind: 'or',
  operands: [a, b, ...rest],
});
const ALL: SelectorNode = { kind: 'all' };

const longKey = 'k'.repeat(512);

// [description, source, expected tree]
const cases: ReadonlyArray<readonly [string, string, SelectorNode]> = [
  // every operator, both quote styles
  ['== with single quotes', `a == 'x'`, eq('a', 'x')],
  ['== with double quotes', `a == "x"`, eq('a', 'x')],
  ['!= with single quotes', `a != 'x'`, { kind: 'ne', key: 'a', value: 'x' }],
  ['!= with double quotes', `a != "x"`, { kind: 'ne', key: 'a', value: 'x' }],
  ['in, mixed quotes', `a in {'x', "y"}`, { kind: 'in', key: 'a', values: ['x', 'y'] }],
  ['not in', `a not in {"x"}`, { kind: 'notIn', key: 'a', values: ['x'] }],
  ['in with empty set', `a in {}`, { kind: 'in', key: 'a', values: [] }],
  ['not in with empty set', `a not in { }`, { kind: 'notIn', key: 'a', values: [] }],
  ['set with trailing comma', `a in {'x',}`, { kind: 'in', key: 'a', values: ['x'] }],
  ['has()', `has(a)`, has('a')],
  ['!has()', `!has(a)`, not(has('a'))],
  ['all()', `all()`, ALL],
  ['global()', `global()`, { kind: 'global' }],
  ['contains', `a contains 'x'`, { kind: 'contains', key: 'a', value: 'x' }],
  ['starts with', `a starts with "x"`, { kind: 'startsWith', key: 'a', value: 'x' }],
  ['ends with', `a ends with 'x'`, { kind: 'endsWith', key: 'a', value: 'x' }],

  // operator spellings Calico's tokenizer accepts
  ['startswith as one word', `a startswith 'x'`, { kind: 'startsWith', key: 'a', value: 'x' }],
  ['endswith as one word', `a endswith 'x'`, { kind: 'endsWith', key: 'a', value: 'x' }],
  ['notin as one word', `a notin {'x'}`, { kind: 'notIn', key: 'a', values: ['x'] }],
  ['starts and with split by several blanks', `a starts \t  with 'x'`, { kind: 'startsWith', key: 'a', value: 'x' }],
  ['not and in split by a tab', `a not\tin {'x'}`, { kind: 'notIn', key: 'a', values: ['x'] }],
  ['no blanks around ==', `a=='x'`, eq('a', 'x')],
  ['no blanks around !=', `a!="x"`, { kind: 'ne', key: 'a', value: 'x' }],
  ['no blank between in and {', `a in{'x'}`, { kind: 'in', key: 'a', values: ['x'] }],
  ['no blank between contains and the string', `a contains"x"`, { kind: 'contains', key: 'a', value: 'x' }],
  ['no blanks anywhere', `a=='x'&&!has(b)||c in{}`, or(and(eq('a', 'x'), not(has('b'))), { kind: 'in', key: 'c', values: [] })],

  // whitespace
  ['blanks inside has()', `has(  a\t)`, has('a')],
  ['blanks inside all()', `all( )`, ALL],
  ['blanks inside global()', `global(\t)`, { kind: 'global' }],
  ['leading and trailing blanks and tabs', ` \t a == 'x' \t `, eq('a', 'x')],
  ['blank after !', `!  has(a)`, not(has('a'))],
  ['blanks around parentheses', `(  a == 'x'  )`, eq('a', 'x')],

  // empty selector
  ['empty string', ``, ALL],
  ['only spaces', `   `, ALL],
  ['only tabs and spaces', `\t \t`, ALL],

  // keys
  ['key with a prefix', `projectcalico.org/name == 'default'`, eq('projectcalico.org/name', 'default')],
  ['key with several slashes', `has(calico/k8s_NS-.1/role)`, has('calico/k8s_NS-.1/role')],
  ['key with dashes and digits', `k8s-app == "kube-dns"`, eq('k8s-app', 'kube-dns')],
  ['key made of punctuation only', `./- == 'x'`, eq('./-', 'x')],
  ['key named like an operator', `contains contains 'contains'`, { kind: 'contains', key: 'contains', value: 'contains' }],
  ['key named in', `in in {'in'}`, { kind: 'in', key: 'in', values: ['in'] }],
  ['key named not', `not not in {}`, { kind: 'notIn', key: 'not', values: [] }],
  ['key named all', `all == 'x'`, eq('all', 'x')],
  ['key named has', `has == 'x'`, eq('has', 'x')],
  ['key named global', `global != 'x'`, { kind: 'ne', key: 'global', value: 'x' }],
  ['key that starts like an operator', `startsx == 'y'`, eq('startsx', 'y')],
  ['key of 512 characters', `${longKey} == 'x'`, eq(longKey, 'x')],
  ['key of 512 characters in has()', `has(${longKey})`, has(longKey)],

  // string values
  ['double quote inside single quotes', `a == '"'`, eq('a', '"')],
  ['single quote inside double quotes', `a == "'"`, eq('a', "'")],
  ['empty value', `a == ''`, eq('a', '')],
  ['operators inside a value', `a == 'x && y || !(z)'`, eq('a', 'x && y || !(z)')],
  ['newline inside a value', `a == 'x\ny'`, eq('a', 'x\ny')],
  ['non-ASCII value', `a == "héllo 😀"`, eq('a', 'héllo 😀')],
  ['backslash is not an escape', `a == 'x\\'`, eq('a', 'x\\')],

  // set values are sorted by code point and de-duplicated
  ['set sorted', `a in {"d", "a", "b"}`, { kind: 'in', key: 'a', values: ['a', 'b', 'd'] }],
  ['set de-duplicated', `a in {"z", 'z', "x", "y", "x", "a"}`, { kind: 'in', key: 'a', values: ['a', 'x', 'y', 'z'] }],
  ['set with both quote characters', `a in {"'", '"', "c"}`, { kind: 'in', key: 'a', values: ['"', "'", 'c'] }],
  ['astral characters sort after the rest of the BMP', `a in {"😀", "\uFFFD"}`, { kind: 'in', key: 'a', values: ['\uFFFD', '😀'] }],

  // precedence and grouping
  ['|| binds looser than && (and on the right)', `a == 'x' || b == 'y' && c == 'z'`, or(eq('a', 'x'), and(eq('b', 'y'), eq('c', 'z')))],
  ['|| binds looser than && (and on the left)', `a == 'x' && b == 'y' || c == 'z'`, or(and(eq('a', 'x'), eq('b', 'y')), eq('c', 'z'))],
  ['chains are n-ary', `has(a) && has(b) && has(c) || has(d) || has(e)`, or(and(has('a'), has('b'), has('c')), has('d'), has('e'))],
  ['! binds tighter than &&', `!a == 'x' && b == 'y'`, and(not(eq('a', 'x')), eq('b', 'y'))],
  ['! applies to the whole comparison', `!a in {'x'}`, not({ kind: 'in', key: 'a', values: ['x'] })],
  ['! before parentheses', `!(a == 'x' && b == 'y')`, not(and(eq('a', 'x'), eq('b', 'y')))],
  ['parentheses override precedence', `(a == 'x' || b == 'y') && c == 'z'`, and(or(eq('a', 'x'), eq('b', 'y')), eq('c', 'z'))],
  ['parentheses nest without flattening', `(has(a) && has(b)) && has(c)`, and(and(has('a'), has('b')), has('c'))],
  ['redundant parentheses vanish', `((has(a)))`, has('a')],
  ['double ! cancels out', `!!has(a)`, has('a')],
  ['triple ! is one negation', `! !! has(a)`, not(has('a'))],
  ['negation of a parenthesised negation is kept', `!(!has(a))`, not(not(has('a')))],
  ['! in front of all()', `!all()`, not(ALL)],
  ['global() combined with other terms', `global() || has(a)`, or({ kind: 'global' }, has('a'))],
];

t.test('parses each form into the expected tree', async (t) => {
  for (const [name, source, expected] of cases) {
    t.same(parseSelector(source).ast, expected, name);
  }
});

t.test('keeps the source text unchanged', async (t) => {
  for (const [name, source] of cases) {
    t.equal(parseSelector(source).source, source, name);
  }
});

t.test('the tree is frozen', async (t) => {
  const ast = parseSelector(`(a in {'x', 'y'} || !has(b)) && c == 'd'`).ast;
  t.ok(Object.isFrozen(ast), 'root');
  t.equal(ast.kind, 'and');
  if (ast.kind !== 'and') return;
  t.ok(Object.isFrozen(ast.operands), 'operand list');
  const first = ast.operands[0];
  t.equal(first.kind, 'or');
  if (first.kind !== 'or') return;
  const set = first.operands[0];
  t.equal(set.kind, 'in');
  if (set.kind !== 'in') return;
  t.ok(Object.isFrozen(set.values), 'set values');
  t.throws(() => {
    (set.values as string[]).push('z');
  }, TypeError);
});

t.test('keys lists the label keys a selector reads, once each, in order', async (t) => {
  const table: ReadonlyArray<readonly [string, readonly string[]]> = [
    ["role == 'db' && !has(quarantine) || role in {'x'}", ['role', 'quarantine']],
    ["a starts with 'x' && (b != 'y' || c not in {})", ['a', 'b', 'c']],
    ['global()', []],
    ['global == "x"', ['global']],
    ['all()', []],
    ['', []],
  ];
  for (const [source, expected] of table) {
    t.same(parseSelector(source).keys, expected, source);
  }
});

t.test('rejects a non-string argument with a TypeError', async (t) => {
  for (const bad of [undefined, null, 42, {}]) {
    t.throws(() => parseSelector(bad as unknown as string), TypeError, String(bad));
  }
});
