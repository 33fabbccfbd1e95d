/**
 * Recursive-descent parser for Calico's selector language.
 *
 * Behaviour checked against projectcalico/calico libcalico-go/lib/selector:
 * tokenizer/tokenizer.go (the version with MaxLabelLength and word-boundary
 * checks), parser/parser.go and parser/parser_test.go. Calico tokenizes the
 * whole string first and then parses the tokens; this parser scans and
 * parses in one pass so it can report where a selector goes wrong, but it
 * accepts exactly the same strings. The points that were verified:
 *
 * - Whitespace is only ' ' and '\t' (tokenizer trimWhitespace); a newline,
 *   carriage return or any other character outside a quoted string is an
 *   error. An empty or blank selector parses to all() (parser.parseRoot).
 * - Label keys are runs of [a-zA-Z0-9_./-], 1..512 characters
 *   (identifierChar, MaxLabelLength); "label too long" beyond that.
 * - Strings are '...' or "..." with no escapes; they end at the next quote of
 *   the same kind and may contain anything else, the other quote included.
 * - "has(", "all(" and "global(" are recognised only as written, with no
 *   space before the "(" ("has (a)" is the label "has" followed by "(", an
 *   error); spaces are allowed inside the parentheses ("has( a )").
 * - After a label the tokenizer looks for "==" and "!=" (no space needed on
 *   either side: a=="b"), then for the word operators "contains", "starts"
 *   "with", "ends" "with", "not" "in" and "in". Between the two words of a
 *   two-word operator any amount of whitespace is allowed, none included
 *   ("startswith", "endswith", "notin" are accepted, cutMultiWordPrefixCheckBreak).
 *   The operator must not run on into label characters ("a inx {}" is an
 *   error) but needs no space before a quote or brace ("a in{'x'}",
 *   "a contains'x'").
 * - A single "=", "&" or "|" is an error ("expected ==", "expected &&",
 *   "expected ||" in the tokenizer).
 * - "||" binds loosest, then "&&"; a run of "!" prefixes one operation (a
 *   comparison, has(), all(), global() or a parenthesised expression) and
 *   collapses by parity: "!!has(a)" is has(a), "!a == 'b'" is !(a == 'b')
 *   (parseOperation).
 * - Set literals: "{}" is allowed (empty set), a trailing comma "{'a',}" is
 *   allowed, a leading or doubled comma is not; only quoted strings may appear.
 *   Values are sorted and de-duplicated (ConvertToStringSetInPlace).
 * - global() is accepted by the parser anywhere all() is; Calico's parser
 *   does not restrict where it appears, so neither does this one (the AST
 *   keeps it as its own node and callers decide what it means).
 *
 * One addition of ours: parentheses may nest at most MAX_NESTING deep, so a
 * hostile selector cannot exhaust the JavaScript stack. That is far beyond
 * anything that fits in the 1024-character selector fields of Calico's API.
 */
import {
  MAX_LABEL_KEY_LENGTH,
  normaliseSetValues,
  type AllNode,
  type GlobalNode,
  type Operands,
  type SelectorNode,
  type SetOperator,
  type ValueOperator,
} from './ast.ts';
import { SelectorSyntaxError } from './errors.ts';

/** Deepest nesting of parentheses accepted. */
export const MAX_NESTING = 1000;

export const EXPECTED_OPERAND = 'a label key, "!", "(", "has(", "all()" or "global()"';
export const EXPECTED_OPERATOR =
  'one of "==", "!=", "in", "not in", "contains", "starts with", "ends with"';
export const EXPECTED_STRING = 'a quoted string';
export const EXPECTED_SET_OPEN = '"{"';
export const EXPECTED_SET_ITEM = 'a quoted string or "}"';
export const EXPECTED_SET_NEXT = '"," or "}"';
export const EXPECTED_CLOSE_PAREN = '")"';
export const EXPECTED_KEY = 'a label key';
export const EXPECTED_AFTER_TOP = '"&&", "||" or end of selector';
export const EXPECTED_AFTER_NESTED = '"&&", "||" or ")"';

const SPACE = 0x20;
const TAB = 0x09;
const BANG = 0x21;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const LPAREN = 0x28;
const RPAREN = 0x29;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

const KEY_CHARS = new Uint8Array(128);
for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-') {
  KEY_CHARS[ch.charCodeAt(0)] = 1;
}

function isKeyChar(code: number): boolean {
  return code < 128 && KEY_CHARS[code] === 1;
}

const ALL: AllNode = Object.freeze({ kind: 'all' });
const GLOBAL: GlobalNode = Object.freeze({ kind: 'global' });
const NULLARY = [['all(', ALL], ['global(', GLOBAL]] as const;

/** Word operators, tried in the order Calico's tokenizer tries them. */
const WORD_OPERATORS: ReadonlyArray<readonly [readonly string[], ValueOperator | SetOperator]> = [
  [['contains'], 'contains'],
  [['starts', 'with'], 'startsWith'],
  [['ends', 'with'], 'endsWith'],
  [['not', 'in'], 'notIn'],
  [['in'], 'in'],
];

const MAX_EXCERPT = 40;

/** A short quoted excerpt of what starts at `pos`, for error messages. */
function describeFound(src: string, pos: number): string {
  if (pos >= src.length) return 'end of selector';
  const c = src.charCodeAt(pos);
  let end: number;
  if (isKeyChar(c)) {
    end = pos + 1;
    while (end < src.length && isKeyChar(src.charCodeAt(end))) end++;
  } else if (c === DQUOTE || c === SQUOTE) {
    const close = src.indexOf(src.charAt(pos), pos + 1);
    end = close === -1 ? pos + 1 : close + 1;
  } else if (/^(?:==|!=|&&|\|\|)/.test(src.slice(pos, pos + 2))) {
    end = pos + 2;
  } else {
    end = pos + ((src.codePointAt(pos) ?? 0) > 0xffff ? 2 : 1);
  }
  let text = src.slice(pos, end);
  if (text.length > MAX_EXCERPT) text = `${text.slice(0, MAX_EXCERPT)}...`;
  return JSON.stringify(text);
}

class Parser {
  readonly src: string;
  pos = 0;
  depth = 0;

  constructor(src: string) {
    this.src = src;
  }

  fail(pos: number, expected: string, found: string = describeFound(this.src, pos)): never {
    throw new SelectorSyntaxError(this.src, pos, expected, found);
  }

  code(): number {
    // NaN at the end of the input, which matches no character code.
    return this.src.charCodeAt(this.pos);
  }

  at(text: string): boolean {
    return this.src.startsWith(text, this.pos);
  }

  skipWs(): void {
    const src = this.src;
    let p = this.pos;
    while (p < src.length) {
      const c = src.charCodeAt(p);
      if (c !== SPACE && c !== TAB) break;
      p++;
    }
    this.pos = p;
  }

  parseRoot(): SelectorNode {
    this.skipWs();
    if (this.pos === this.src.length) return ALL;
    const node = this.parseOr();
    if (this.pos !== this.src.length) this.fail(this.pos, EXPECTED_AFTER_TOP);
    return node;
  }

  // Each parse method starts on a non-blank character and leaves `pos` after
  // the construct and any whitespace that follows it.

  // parseOr and parseAnd are written out: a shared helper would add stack frames per nesting level.
  parseOr(): SelectorNode {
    const first = this.parseAnd();
    if (!this.at('||')) return first;
    const operands: SelectorNode[] = [first];
    while (this.at('||')) {
      this.pos += 2;
      this.skipWs();
      operands.push(this.parseAnd());
    }
    return Object.freeze({ kind: 'or', operands: Object.freeze(operands) as unknown as Operands });
  }

  parseAnd(): SelectorNode {
    const first = this.parseOperation();
    if (!this.at('&&')) return first;
    const operands: SelectorNode[] = [first];
    while (this.at('&&')) {
      this.pos += 2;
      this.skipWs();
      operands.push(this.parseOperation());
    }
    return Object.freeze({ kind: 'and', operands: Object.freeze(operands) as unknown as Operands });
  }

  parseOperation(): SelectorNode {
    let negated = false;
    while (this.code() === BANG) {
      // Calico tokenizes "!=" as the not-equals operator, never as "!" "=".
      if (this.at('!=')) this.fail(this.pos, EXPECTED_OPERAND);
      negated = !negated;
      this.pos++;
      this.skipWs();
    }
    const node = this.parsePrimary();
    return negated ? Object.freeze({ kind: 'not', operand: node }) : node;
  }

  parsePrimary(): SelectorNode {
    const c = this.code();
    if (c === LPAREN) {
      if (this.depth >= MAX_NESTING) {
        this.fail(this.pos, `at most ${MAX_NESTING} levels of nested parentheses`, `level ${MAX_NESTING + 1}`);
      }
      this.depth++;
      this.pos++;
      this.skipWs();
      const inner = this.parseOr();
      this.consume(RPAREN, EXPECTED_AFTER_NESTED);
      this.depth--;
      return inner;
    }
    if (this.at('has(')) {
      this.pos += 4;
      this.skipWs();
      const key = this.readKey(EXPECTED_KEY);
      this.skipWs();
      this.consume(RPAREN, EXPECTED_CLOSE_PAREN);
      return Object.freeze({ kind: 'has', key });
    }
    for (const [open, node] of NULLARY) {
      if (!this.at(open)) continue;
      this.pos += open.length;
      this.skipWs();
      this.consume(RPAREN, EXPECTED_CLOSE_PAREN);
      return node;
    }
    if (isKeyChar(c)) {
      const key = this.readKey(EXPECTED_OPERAND);
      this.skipWs();
      return this.parseComparison(key);
    }
    return this.fail(this.pos, EXPECTED_OPERAND);
  }

  /** Steps over the character `code` and the whitespace after it; fails with `expected` when another is there. */
  consume(code: number, expected: string): void {
    if (this.code() !== code) this.fail(this.pos, expected);
    this.pos++;
    this.skipWs();
  }

  readKey(expected: string): string {
    const src = this.src;
    const start = this.pos;
    let p = start;
    while (p < src.length && isKeyChar(src.charCodeAt(p))) p++;
    if (p === start) this.fail(start, expected);
    if (p - start > MAX_LABEL_KEY_LENGTH) this.fail(start, `a label key of at most ${MAX_LABEL_KEY_LENGTH} characters`, `a key of ${p - start} characters`);
    this.pos = p;
    return src.slice(start, p);
  }

  parseComparison(key: string): SelectorNode {
    const start = this.pos;
    let kind: ValueOperator | SetOperator | undefined;
    if (this.at('==')) {
      kind = 'eq';
      this.pos += 2;
    } else if (this.at('!=')) {
      kind = 'ne';
      this.pos += 2;
    } else {
      kind = this.matchWordOperator();
    }
    if (kind === undefined) return this.fail(start, EXPECTED_OPERATOR);
    this.skipWs();
    if (kind === 'in' || kind === 'notIn') return this.parseSet(key, kind);
    const value = this.readString();
    this.skipWs();
    return Object.freeze({ kind, key, value });
  }

  /**
   * Mirrors Calico's cutPrefixCheckBreak / cutMultiWordPrefixCheckBreak: a
   * one-word operator must be followed directly by a non-label character; the
   * words of a two-word operator may be separated by any whitespace (or none)
   * and the whitespace after the last word is skipped before the check.
   */
  matchWordOperator(): ValueOperator | SetOperator | undefined {
    const src = this.src;
    outer: for (const [words, kind] of WORD_OPERATORS) {
      let p = this.pos;
      for (const word of words) {
        if (!src.startsWith(word, p)) continue outer;
        p += word.length;
        if (words.length > 1) {
          while (p < src.length && (src.charCodeAt(p) === SPACE || src.charCodeAt(p) === TAB)) p++;
        }
      }
      if (p < src.length && isKeyChar(src.charCodeAt(p))) {
        // Calico rejects "b starts with b" here, in its tokenizer. The words
        // of the operator were all there, so say what should follow them.
        if (words.length > 1) this.fail(p, kind === 'notIn' ? EXPECTED_SET_OPEN : EXPECTED_STRING);
        continue;
      }
      this.pos = p;
      return kind;
    }
    return undefined;
  }

  readString(): string {
    const src = this.src;
    const open = this.pos;
    const q = this.code();
    if (q !== DQUOTE && q !== SQUOTE) return this.fail(open, EXPECTED_STRING);
    const close = src.indexOf(src.charAt(open), open + 1);
    if (close === -1) {
      const quote = q === DQUOTE ? `'"'` : `"'"`;
      return this.fail(src.length, `${quote} to close the string that starts at position ${open}`);
    }
    this.pos = close + 1;
    return src.slice(open + 1, close);
  }

  parseSet(key: string, kind: SetOperator): SelectorNode {
    this.consume(LBRACE, EXPECTED_SET_OPEN);
    const values: string[] = [];
    let expected = EXPECTED_SET_ITEM;
    for (;;) {
      const c = this.code();
      if (c !== DQUOTE && c !== SQUOTE) break;
      values.push(this.readString());
      this.skipWs();
      if (this.code() !== COMMA) {
        expected = EXPECTED_SET_NEXT;
        break;
      }
      this.pos++;
      this.skipWs();
    }
    this.consume(RBRACE, expected);
    return Object.freeze({ kind, key, values: normaliseSetValues(values) });
  }
}

/** Parses `source` into a frozen AST; throws SelectorSyntaxError. */
export function parseSelectorAst(source: string): SelectorNode {
  if (typeof source !== 'string') {
    throw new TypeError(`a selector must be a string, not ${source === null ? 'null' : typeof source}`);
  }
  return new Parser(source).parseRoot();
}
