import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import {
  parseSelector,
  printSelector,
  selectorFromAst,
  SelectorSyntaxError,
  type Labels,
  type SelectorNode,
  type SetOperator,
  type ValueOperator,
} from '../../../src/calico/selector/index.ts';

// A small pool of keys so that generated label maps hit generated selectors,
// including keys spelled like the language's keywords.
const KEYS = ['a', 'b', 'app', 'k8s-app', 'projectcalico.org/name', 'x.y/z_1', '-', 'in', 'not', 'contains', 'has', 'all', 'global', 'starts', 'with'];
const VALUES = ['', 'x', 'y', 'xy', 'yx', "it's", 'say "hi"', 'a b', '&&', '||', ')', '{', '}', ',', 'é', '😀', '\uFFFD', 'x\ny', '\\'];

const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_./-]{1,16}$/) },
  { weight: 1, arbitrary: fc.constant('k'.repeat(512)) },
);
const valueArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).filter((v) => !(v.includes('"') && v.includes("'"))) },
);

const leafArb: fc.Arbitrary<SelectorNode> = fc.oneof(
  fc.constant<SelectorNode>({ kind: 'all' }),
  fc.constant<SelectorNode>({ kind: 'global' }),
  keyArb.map((key): SelectorNode => ({ kind: 'has', key })),
  fc
    .tuple(fc.constantFrom<ValueOperator>('eq', 'ne', 'contains', 'startsWith', 'endsWith'), keyArb, valueArb)
    .map(([kind, key, value]): SelectorNode => ({ kind, key, value })),
  fc
    .tuple(fc.constantFrom<SetOperator>('in', 'notIn'), keyArb, fc.array(valueArb, { maxLength: 5 }))
    .map(([kind, key, values]): SelectorNode => ({ kind, key, values })),
);

const treeArb: fc.Memo<SelectorNode> = fc.memo<SelectorNode>((depth) => {
  if (depth <= 1) return leafArb;
  const child = treeArb(depth - 1);
  const operands = fc.tuple(child, child, fc.array(child, { maxLength: 2 }));
  return fc.oneof(
    { weight: 3, arbitrary: leafArb },
    { weight: 1, arbitrary: child.map((operand): SelectorNode => ({ kind: 'not', operand })) },
    { weight: 1, arbitrary: operands.map(([a, b, rest]): SelectorNode => ({ kind: 'and', operands: [a, b, ...rest] })) },
    { weight: 1, arbitrary: operands.map(([a, b, rest]): SelectorNode => ({ kind: 'or', operands: [a, b, ...rest] })) },
  );
});
const nodeArb = treeArb(5);

const labelsArb: fc.Arbitrary<Labels> = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES, 'z'), {
  maxKeys: 6,
});

// Reference semantics written independently of the compiled evaluator.
function reference(node: SelectorNode, labels: Labels, global: boolean): boolean {
  const present = (key: string): boolean => Object.hasOwn(labels, key);
  switch (node.kind) {
    case 'all':
      return true;
    case 'global':
      return global;
    case 'has':
      return present(node.key);
    case 'eq':
      return present(node.key) && labels[node.key] === node.value;
    case 'ne':
      return !present(node.key) || labels[node.key] !== node.value;
    case 'contains':
      return present(node.key) && (labels[node.key] ?? '').includes(node.value);
    case 'startsWith':
      return present(node.key) && (labels[node.key] ?? '').startsWith(node.value);
    case 'endsWith':
      return present(node.key) && (labels[node.key] ?? '').endsWith(node.value);
    case 'in':
      return present(node.key) && node.values.includes(labels[node.key] ?? '');
    case 'notIn':
      return !present(node.key) || !node.values.includes(labels[node.key] ?? '');
    case 'not':
      return !reference(node.operand, labels, global);
    case 'and':
      return node.operands.every((n) => reference(n, labels, global));
    case 'or':
      return node.operands.some((n) => reference(n, labels, global));
  }
}

// What the parser should give back for a generated tree: set values sorted by
// code point and de-duplicated, everything else as generated.
function byCodePoint(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const cb = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return (ca[i] ?? 0) - (cb[i] ?? 0);
  }
  return ca.length - cb.length;
}
function normalised(node: SelectorNode): SelectorNode {
  switch (node.kind) {
    case 'in':
    case 'notIn':
      return { ...node, values: [...new Set(node.values)].sort(byCodePoint) };
    case 'not':
      return { kind: 'not', operand: normalised(node.operand) };
    case 'and':
    case 'or': {
      const [a, b, ...rest] = node.operands;
      return { kind: node.kind, operands: [normalised(a), normalised(b), ...rest.map(normalised)] };
    }
    default:
      return node;
  }
}

const RUNS = 500;

t.test('print, parse, print is a fixed point and gives back the same tree', async (t) => {
  let runs = 0;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(nodeArb, (ast) => {
        runs++;
        const text = printSelector(ast);
        const reparsed = parseSelector(text);
        return (
          isDeepStrictEqual(reparsed.ast, normalised(ast)) &&
          reparsed.toString() === text &&
          printSelector(reparsed.ast) === text
        );
      }),
      { numRuns: RUNS },
    ),
  );
  t.equal(runs >= RUNS, true, `ran ${runs} cases`);
});

t.test('the reparsed selector evaluates like the original tree', async (t) => {
  let runs = 0;
  let matched = 0;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(nodeArb, fc.array(labelsArb, { minLength: 1, maxLength: 8 }), fc.boolean(), (ast, maps, global) => {
        runs++;
        const direct = selectorFromAst('', ast);
        const reparsed = parseSelector(printSelector(ast));
        for (const labels of maps) {
          const expected = reference(ast, labels, global);
          if (expected) matched++;
          if (direct.matches(labels, { global }) !== expected) return false;
          if (reparsed.matches(labels, { global }) !== expected) return false;
        }
        return true;
      }),
      { numRuns: RUNS },
    ),
  );
  t.equal(runs >= RUNS, true, `ran ${runs} cases`);
  // Guard against a generator that only ever produces non-matching cases.
  t.ok(matched > RUNS / 10, `some evaluations were true (${matched})`);
});

t.test('blanks and tabs around the text do not change the tree', async (t) => {
  const blanks = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 4 });
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(nodeArb, blanks, blanks, (ast, before, after) => {
        const text = printSelector(ast);
        return isDeepStrictEqual(parseSelector(before + text + after).ast, parseSelector(text).ast);
      }),
      { numRuns: 200 },
    ),
  );
});

t.test('any input either parses or fails with a SelectorSyntaxError inside the text', async (t) => {
  const pieces = fc.constantFrom(
    'a', 'b', 'k8s-app', 'x/y', ' ', '\t', '\n', '(', ')', '!', '=', '==', '!=', '&', '&&', '|', '||',
    ' in ', ' not in ', ' contains ', ' starts with ', ' ends with ', 'has(', 'all(', 'global(', '{', '}', ',',
    "'", '"', "'v'", '"w"', '$', 'é',
  );
  let parsed = 0;
  let rejected = 0;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 14 }), (parts) => {
        const text = parts.join('');
        try {
          const sel = parseSelector(text);
          parsed++;
          const canonical = sel.toString();
          return parseSelector(canonical).toString() === canonical;
        } catch (err) {
          rejected++;
          return (
            err instanceof SelectorSyntaxError &&
            err.selector === text &&
            err.position >= 0 &&
            err.position <= text.length
          );
        }
      }),
      { numRuns: 2000 },
    ),
  );
  t.ok(parsed > 0, `some inputs parsed (${parsed})`);
  t.ok(rejected > 0, `some inputs were rejected (${rejected})`);
});
