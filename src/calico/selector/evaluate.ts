/**
 * Compiles a selector AST into a closure, once, so that evaluating it against
 * a label map is a handful of property reads and string comparisons: no
 * regular expressions, no allocation, no walking of the tree.
 *
 * Semantics follow Calico's node Evaluate methods
 * (libcalico-go/lib/selector/parser/ast.go): "==", "in", "contains",
 * "starts with", "ends with" and has() are false when the label is absent;
 * "!=" and "not in" are true when it is absent; all() is true.
 *
 * A label counts as present when the map holds a string under that key.
 * Keys inherited from Object.prototype ("constructor", "__proto__", ...) are
 * therefore absent, as they should be.
 */
import type { SelectorNode } from './ast.ts';

export type Labels = Readonly<Record<string, string>>;

/** `global` is what global() evaluates to. */
export type CompiledSelector = (labels: Labels, global: boolean) => boolean;

const alwaysTrue: CompiledSelector = () => true;
const alwaysFalse: CompiledSelector = () => false;
const globalFlag: CompiledSelector = (_labels, global) => global;

export function compileSelector(node: SelectorNode): CompiledSelector {
  switch (node.kind) {
    case 'all':
      return alwaysTrue;
    case 'global':
      return globalFlag;
    case 'has': {
      const key = node.key;
      return (labels) => typeof labels[key] === 'string';
    }
    case 'eq': {
      const { key, value } = node;
      // An absent label reads as undefined (or an inherited non-string),
      // which never equals a string.
      return (labels) => labels[key] === value;
    }
    case 'ne': {
      const { key, value } = node;
      return (labels) => labels[key] !== value;
    }
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      const { key, value } = node;
      const test = node.kind === 'contains' ? (v: string) => v.includes(value) : node.kind === 'startsWith' ? (v: string) => v.startsWith(value) : (v: string) => v.endsWith(value);
      return (labels) => {
        const v = labels[key];
        return typeof v === 'string' && test(v);
      };
    }
    case 'in':
    case 'notIn':
      return compileSet(node.kind === 'in', node.key, node.values);
    case 'not': {
      const inner = compileSelector(node.operand);
      return (labels, global) => !inner(labels, global);
    }
    case 'and':
    case 'or': {
      // `and` is true unless an operand is false; `or` false unless one is true.
      const fns = node.operands.map(compileSelector);
      const and = node.kind === 'and';
      if (fns.length === 2) {
        const [a, b] = fns as [CompiledSelector, CompiledSelector];
        return and ? (labels, global) => a(labels, global) && b(labels, global) : (labels, global) => a(labels, global) || b(labels, global);
      }
      return (labels, global) => {
        for (let i = 0; i < fns.length; i++) if ((fns[i] as CompiledSelector)(labels, global) !== and) return !and;
        return and;
      };
    }
    default: {
      const unknown: never = node;
      throw new TypeError(`unknown selector node ${JSON.stringify(unknown)}`);
    }
  }
}

function compileSet(positive: boolean, key: string, values: readonly string[]): CompiledSelector {
  if (values.length === 0) return positive ? alwaysFalse : alwaysTrue;
  if (values.length === 1) {
    const only = values[0];
    return positive ? (labels) => labels[key] === only : (labels) => labels[key] !== only;
  }
  const set: ReadonlySet<string> = new Set(values);
  return positive
    ? (labels) => {
        const v = labels[key];
        return typeof v === 'string' && set.has(v);
      }
    : (labels) => {
        const v = labels[key];
        return typeof v !== 'string' || !set.has(v);
      };
}
