/**
 * Prints a selector AST as canonical text.
 *
 * The format is the one Calico's Selector.String() produces
 * (libcalico-go/lib/selector/parser/ast.go, collectFragments), so a policy
 * this webhook reports on can be compared with what calicoctl shows:
 * `key == "v"` (double quotes unless the value contains one), `has(key)`,
 * `key in {"a", "b"}` with sorted, de-duplicated values, `!` directly before
 * its operand, and every && / || group wrapped in parentheses, including at
 * the top level: `(a == "x" || (b == "y" && c == "z"))`.
 *
 * One deliberate difference: a negation of a negation prints as `!(!x)`.
 * Calico prints `!!x`, which parses back as plain `x`; the parenthesised form
 * parses back to the same tree, so printing is a fixed point of parsing.
 *
 * Throws TypeError for a tree no selector text can express: a key outside
 * [a-zA-Z0-9_./-]{1,512}, a value holding both quote characters, or an
 * &&/|| node without operands.
 */
import { MAX_LABEL_KEY_LENGTH, normaliseSetValues, type SelectorNode } from './ast.ts';

const KEY_PATTERN = new RegExp(`^[a-zA-Z0-9_./-]{1,${MAX_LABEL_KEY_LENGTH}}$`);

function key(k: string): string {
  if (typeof k !== 'string' || !KEY_PATTERN.test(k)) {
    throw new TypeError(`${JSON.stringify(k)} is not a valid selector label key`);
  }
  return k;
}

function quote(value: string): string {
  if (typeof value !== 'string') throw new TypeError('a selector value must be a string');
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  throw new TypeError(`${JSON.stringify(value)} holds both quote characters and cannot be written in a selector`);
}

const VALUE_OPS = {
  eq: ' == ',
  ne: ' != ',
  contains: ' contains ',
  startsWith: ' starts with ',
  endsWith: ' ends with ',
} as const;

export function printSelector(node: SelectorNode): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${key(node.key)})`;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return key(node.key) + VALUE_OPS[node.kind] + quote(node.value);
    case 'in':
    case 'notIn':
      return `${key(node.key)}${node.kind === 'in' ? ' in {' : ' not in {'}${normaliseSetValues(node.values).map(quote).join(', ')}}`;
    case 'not':
      return node.operand.kind === 'not' ? `!(${printSelector(node.operand)})` : `!${printSelector(node.operand)}`;
    case 'and':
    case 'or': {
      const operands: readonly SelectorNode[] = node.operands;
      if (operands.length === 0) throw new TypeError(`an "${node.kind}" node needs operands`);
      if (operands.length === 1) return printSelector(operands[0]!);
      return `(${operands.map(printSelector).join(node.kind === 'and' ? ' && ' : ' || ')})`;
    }
    default: {
      const unknown: never = node;
      throw new TypeError(`unknown selector node ${JSON.stringify(unknown)}`);
    }
  }
}
