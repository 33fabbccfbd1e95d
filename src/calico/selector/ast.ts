/**
 * Abstract syntax tree of a Calico label selector.
 *
 * The shape mirrors the node types of Calico's own parser
 * (projectcalico/calico libcalico-go/lib/selector/parser/ast.go) so that a
 * policy module can inspect a selector the same way Calico reasons about it:
 *
 * - a chain `a && b && c` is one `and` node with three operands; parentheses
 *   do not create nodes, but they do nest: `(a && b) && c` is an `and` whose
 *   first operand is another `and` (Calico does not flatten either);
 * - a run of leading `!` collapses to a single negation or none at all
 *   (`!!has(a)` is just `has(a)`), exactly as Calico's parseOperation does;
 * - the values of `in` / `not in` are sorted (by code point, which is the
 *   byte order Go uses for the UTF-8 strings) and de-duplicated, as Calico's
 *   ConvertToStringSetInPlace does.
 *
 * Every node produced by the parser is frozen.
 */

/** Matches every label map; also what an empty selector means. */
export interface AllNode {
  readonly kind: 'all';
}

/**
 * `global()`. In Calico it is meant for a namespaceSelector, where it selects
 * the non-namespaced resources (host endpoints, global network sets) instead
 * of a namespace. It is kept as its own node so callers can decide what it
 * means for them; `Selector.matches` treats it as true, as Felix does, unless
 * told `{ global: false }`.
 */
export interface GlobalNode {
  readonly kind: 'global';
}

/** `has(key)`: the label is present, whatever its value. */
export interface HasNode {
  readonly kind: 'has';
  readonly key: string;
}

/** The operators that compare a label with one quoted string. */
export type ValueOperator = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';

/**
 * `key == "v"`, `key != "v"`, `key contains "v"`, `key starts with "v"`,
 * `key ends with "v"`. Only `ne` is true when the label is absent.
 */
export interface ValueNode {
  readonly kind: ValueOperator;
  readonly key: string;
  readonly value: string;
}

/** The operators that compare a label with a set of strings. */
export type SetOperator = 'in' | 'notIn';

/**
 * `key in {"a", "b"}` and `key not in {...}`. The set may be empty.
 * `notIn` is true when the label is absent.
 */
export interface SetNode {
  readonly kind: SetOperator;
  readonly key: string;
  /** Sorted by code point, without duplicates. */
  readonly values: readonly string[];
}

/** `!operand`. */
export interface NotNode {
  readonly kind: 'not';
  readonly operand: SelectorNode;
}

/** At least two operands. */
export type Operands = readonly [SelectorNode, SelectorNode, ...SelectorNode[]];

/** `a && b && ...`. */
export interface AndNode {
  readonly kind: 'and';
  readonly operands: Operands;
}

/** `a || b || ...`; binds looser than `&&`. */
export interface OrNode {
  readonly kind: 'or';
  readonly operands: Operands;
}

export type SelectorNode =
  | AllNode
  | GlobalNode
  | HasNode
  | ValueNode
  | SetNode
  | NotNode
  | AndNode
  | OrNode;

/** Longest label key Calico's tokenizer accepts (MaxLabelLength). */
export const MAX_LABEL_KEY_LENGTH = 512;

/** The label keys the tree reads, each once, in the order they first appear. */
export function labelKeys(node: SelectorNode, out: Set<string> = new Set()): Set<string> {
  if ('key' in node) out.add(node.key);
  else if (node.kind === 'not') labelKeys(node.operand, out);
  else if (node.kind === 'and' || node.kind === 'or') for (let i = 0; i < node.operands.length; i++) labelKeys(node.operands[i]!, out);
  return out;
}

/**
 * Orders strings by Unicode code point. JavaScript's default sort compares
 * UTF-16 code units, which puts characters above U+FFFF (surrogate pairs)
 * before U+E000..U+FFFF; Go compares UTF-8 bytes, which is code point order.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      const sb = cb >= 0xd800 && cb <= 0xdfff;
      if (sa !== sb) return sa ? 1 : -1;
      return ca - cb;
    }
  }
  return a.length - b.length;
}

/** Sorted (code point order), de-duplicated, frozen copy of `values`. */
export function normaliseSetValues(values: readonly string[]): readonly string[] {
  const sorted = [...values].sort(compareCodePoints);
  return Object.freeze(sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]));
}
