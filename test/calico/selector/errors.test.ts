import t from 'tap';
import { MAX_NESTING, parseSelector, SelectorSyntaxError } from '../../../src/calico/selector/index.ts';

const OPERAND = 'a label key, "!", "(", "has(", "all()" or "global()"';
const OPERATOR = 'one of "==", "!=", "in", "not in", "contains", "starts with", "ends with"';
const STRING = 'a quoted string';
const AFTER_TOP = '"&&", "||" or end of selector';
const AFTER_NESTED = '"&&", "||" or ")"';
const SET_ITEM = 'a quoted string or "}"';
const SET_NEXT = '"," or "}"';
const CLOSE = '")"';
const END = 'end of selector';

const key513 = 'k'.repeat(513);

// [why, selector, position, expected, found]
const cases: ReadonlyArray<readonly [string, string, number, string, string]> = [
  // unknown operators
  ['single = is not an operator', `k8s-role = 'node'`, 9, OPERATOR, '"="'],
  ['=== is == followed by a stray =', `a === 'b'`, 4, STRING, '"="'],
  ['unknown word operator', `a squiggles "v"`, 2, OPERATOR, '"squiggles"'],
  ['starts without with', `a starts foo "v"`, 2, OPERATOR, '"starts"'],
  ['ends without with', `a ends "v"`, 2, OPERATOR, '"ends"'],
  ['not without in', `a not {"v"}`, 2, OPERATOR, '"not"'],
  ['operator running into label characters', `a inx {}`, 2, OPERATOR, '"inx"'],
  ['contains running into label characters', `a containsx 'v'`, 2, OPERATOR, '"containsx"'],
  ['bare label', `b`, 1, OPERATOR, END],
  ['two labels', `a b`, 2, OPERATOR, '"b"'],
  ['! between label and value', `a ! 'b'`, 2, OPERATOR, '"!"'],
  ['has with a space before (', `has (a)`, 4, OPERATOR, '"("'],

  // unterminated strings
  ['unterminated single-quoted value', `a == 'b`, 7, `"'" to close the string that starts at position 5`, END],
  ['unterminated double-quoted value', `a == "b`, 7, `'"' to close the string that starts at position 5`, END],
  ['string closed by the other quote', `a == "b'`, 8, `'"' to close the string that starts at position 5`, END],
  ['unterminated string in a set', `a in {'x', 'y}`, 14, `"'" to close the string that starts at position 11`, END],

  // missing operands
  ['nothing after ==', `a ==`, 4, STRING, END],
  ['blank after ==', `a == `, 5, STRING, END],
  ['label instead of a value', `b == b`, 5, STRING, '"b"'],
  ['label after contains', `b contains b`, 11, STRING, '"b"'],
  ['label after starts with', `b starts with b`, 14, STRING, '"b"'],
  ['label after ends with', `b ends with b`, 12, STRING, '"b"'],
  ['label after startswith', `b startswith b`, 13, STRING, '"b"'],
  ['label after not in', `b not in b`, 9, '"{"', '"b"'],
  ['label after notin', `b notin b`, 8, '"{"', '"b"'],
  ['nothing after contains', `a contains`, 10, STRING, END],
  ['operator instead of a value', `foo != ||`, 7, STRING, '"||"'],
  ['literal on the left', `'b1' == b`, 0, OPERAND, `"'b1'"`],
  ['lone !', `!`, 1, OPERAND, END],
  ['!= where an operand belongs', `!= 'x'`, 0, OPERAND, '"!="'],
  ['!!= where an operand belongs', `!!= 'x'`, 1, OPERAND, '"!="'],

  // trailing and doubled boolean operators
  ['trailing &&', `a == 'b' &&`, 11, OPERAND, END],
  ['trailing && after has()', `has(foo) &&`, 11, OPERAND, END],
  ['trailing ||', `a == 'b' || `, 12, OPERAND, END],
  ['trailing && then !', `a == 'b' && !`, 13, OPERAND, END],
  ['&& followed by ||', `a == 'b' && || c == 'd'`, 12, OPERAND, '"||"'],
  ['single &', `foo == "bar" &`, 13, AFTER_TOP, '"&"'],
  ['single |', `foo == "bar" | has(a)`, 13, AFTER_TOP, '"|"'],
  ['||| ', `has(a) ||| has(b)`, 9, OPERAND, '"|"'],
  ['two expressions without an operator', `a == 'b' c == 'd'`, 9, AFTER_TOP, '"c"'],

  // parentheses
  ['lone (', `(`, 1, OPERAND, END],
  ['lone )', `)`, 0, OPERAND, '")"'],
  ['empty parentheses', `()`, 1, OPERAND, '")"'],
  ['unclosed (', `(a == "foo"`, 11, AFTER_NESTED, END],
  ['unclosed nested (', `((a == 'b')`, 11, AFTER_NESTED, END],
  ['extra )', `a == 'b')`, 8, AFTER_TOP, '")"'],
  ['unbalanced in the middle', `(has(a) || has(b))) && has(c)`, 18, AFTER_TOP, '")"'],

  // in / not in without a proper set
  ['in followed by a string', `foo in ""`, 7, '"{"', JSON.stringify('""')],
  ['in followed by a label', `a in x`, 5, '"{"', '"x"'],
  ['in at the end', `a in`, 4, '"{"', END],
  ['not in with parentheses', `a not in ("x")`, 9, '"{"', '"("'],
  ['set not closed', `a in {`, 6, SET_ITEM, END],
  ['set not closed after a value', `a in {'x'`, 9, SET_NEXT, END],
  ['operator after a comma in a set', `foo in {"", ||`, 12, SET_ITEM, '"||"'],
  ['operator after a value in a set', `foo in {"" ||}`, 11, SET_NEXT, '"||"'],
  ['leading comma', `a in {,'x'}`, 6, SET_ITEM, '","'],
  ['doubled comma', `a in {'x',,}`, 10, SET_ITEM, '","'],
  ['missing comma', `a in {'x' 'y'}`, 10, SET_NEXT, `"'y'"`],
  ['bare word in a set', `a in {x}`, 6, SET_ITEM, '"x"'],

  // characters outside the key alphabet, and whitespace Calico does not skip
  ['$ inside a key', `a$b == 'c'`, 1, OPERATOR, '"$"'],
  ['key starting with $', `$a == 'b'`, 0, OPERAND, '"$"'],
  ['colon inside a key', `a:b == 'c'`, 1, OPERATOR, '":"'],
  ['non-ASCII key', `é == 'x'`, 0, OPERAND, '"é"'],
  ['astral character where an operand belongs', `😀`, 0, OPERAND, '"😀"'],
  ['stray %', `%`, 0, OPERAND, '"%"'],
  ['stray % after &&', `a == "b" && %`, 12, OPERAND, '"%"'],
  ['newline between terms', `a == 'b'\n&& c == 'd'`, 8, AFTER_TOP, '"\\n"'],
  ['newline before the operator', `a\n== 'b'`, 1, OPERATOR, '"\\n"'],
  ['only a newline', `\n`, 0, OPERAND, '"\\n"'],
  ['carriage return', `has(a)\r`, 6, AFTER_TOP, '"\\r"'],
  ['key longer than 512', `${key513} == 'x'`, 0, 'a label key of at most 512 characters', 'a key of 513 characters'],

  // has(), all(), global()
  ['has( at the end', `has(`, 4, 'a label key', END],
  ['has() without a key', `has()`, 4, 'a label key', '")"'],
  ['has( without )', `has(a`, 5, CLOSE, END],
  ['has( with two keys', `has(a b)`, 6, CLOSE, '"b"'],
  ['bad character inside has()', `has(a$b)`, 5, CLOSE, '"$"'],
  ['key longer than 512 in has()', `has(${key513})`, 4, 'a label key of at most 512 characters', 'a key of 513 characters'],
  ['all( without )', `all(`, 4, CLOSE, END],
  ['all() with an argument', `all(x)`, 4, CLOSE, '"x"'],
  ['global( without )', `global(`, 7, CLOSE, END],
];

t.test('reports position, expectation and what was found', async (t) => {
  for (const [why, selector, position, expected, found] of cases) {
    const err = t.throws(() => parseSelector(selector), SelectorSyntaxError, why);
    if (!(err instanceof SelectorSyntaxError)) continue;
    t.match(
      err,
      { name: 'SelectorSyntaxError', selector, position, expected, found },
      `${why}: ${err.message}`,
    );
    t.equal(
      err.message,
      `selector ${JSON.stringify(selector)} is invalid at position ${position}: expected ${expected} but found ${found}`,
      `${why}: message`,
    );
  }
});

t.test('message format of the documented example', async (t) => {
  const err = t.throws(() => parseSelector(`k8s-role = 'node'`));
  t.ok(err instanceof SelectorSyntaxError);
  t.ok(err instanceof Error);
  t.equal(
    (err as Error).message,
    `selector "k8s-role = 'node'" is invalid at position 9: expected one of "==", "!=", "in", "not in", "contains", "starts with", "ends with" but found "="`,
  );
});

t.test('long excerpts are shortened in the message', async (t) => {
  const value = 'v'.repeat(100);
  const err = t.throws(() => parseSelector(`a == '${value}' '${value}'`));
  t.ok(err instanceof SelectorSyntaxError);
  if (!(err instanceof SelectorSyntaxError)) return;
  t.equal(err.position, 108);
  t.equal(err.found, JSON.stringify(`'${'v'.repeat(39)}...`));
});

t.test(`parentheses may nest ${MAX_NESTING} deep, no deeper`, async (t) => {
  const nested = (depth: number): string => `${'('.repeat(depth)}a == 'b'${')'.repeat(depth)}`;
  const ok = parseSelector(nested(MAX_NESTING));
  t.equal(ok.matches({ a: 'b' }), true, `${MAX_NESTING} levels parse and evaluate`);
  const err = t.throws(() => parseSelector(nested(MAX_NESTING + 1)), SelectorSyntaxError);
  t.match(err, { position: MAX_NESTING, expected: `at most ${MAX_NESTING} levels of nested parentheses` });

  // Deeply nested trees (as opposed to deep parentheses around one term)
  // compile, evaluate and print without exhausting the stack.
  let deep = `a == 'b'`;
  for (let i = 0; i < MAX_NESTING; i++) deep = `!(${deep} && all())`;
  const sel = parseSelector(deep);
  t.equal(sel.matches({ a: 'b' }), true);
  t.equal(parseSelector(sel.toString()).toString(), sel.toString());
});
