import { labelKeys, type SelectorNode } from './ast.ts';
import { compileSelector, type Labels } from './evaluate.ts';
import { parseSelectorAst } from './parser.ts';
import { printSelector } from './printer.ts';
import { gauged, ParseCache } from '../memo.ts';

export interface MatchOptions {
  /**
   * What global() evaluates to; true unless the caller says false, as Felix's
   * GlobalNode.Evaluate answers. Calico allows global() only in a rule's
   * namespaceSelector, where the policy compiler reads it as Felix rewrites
   * it (`!has(projectcalico.org/namespace)`: non-namespaced endpoints only);
   * elsewhere it reaches Felix only through crd.projectcalico.org/v1 writes,
   * and Felix then matches every endpoint.
   */
  readonly global?: boolean;
}

export interface Selector {
  /** The text the selector was parsed from, unchanged. */
  readonly source: string;
  /** The parsed tree (frozen). */
  readonly ast: SelectorNode;
  /** The label keys it reads (which endpoints it selects depends on no other label). */
  readonly keys: readonly string[];
  /** Evaluates the selector against a label map. */
  matches(labels: Labels, options?: MatchOptions): boolean;
  /** The canonical text, as printSelector(ast) returns it. */
  toString(): string;
}

/** Builds a Selector around an already parsed tree, compiling it once. */
export function selectorFromAst(source: string, ast: SelectorNode): Selector {
  const compiled = compileSelector(ast);
  let canonical: string | undefined;
  const selector: Selector = {
    source,
    ast,
    keys: Object.freeze([...labelKeys(ast)]),
    matches: (labels, options) => compiled(labels, options?.global !== false),
    toString: () => (canonical ??= printSelector(ast)),
  };
  return Object.freeze(selector);
}

/**
 * Parses Calico selector text. Throws SelectorSyntaxError when Calico would
 * reject it, TypeError when `source` is not a string.
 */
export function parseSelector(source: string): Selector {
  return selectorFromAst(source, parseSelectorAst(source));
}

/**
 * A cache of parsed selectors bounded in bytes (see ParseCache): the shared one holds up to
 * 16 MiB, charging each selector four bytes a source character for its tree and compiled
 * matcher on top of its text, so memory stays bounded even when policies arrive through an
 * API that does not limit selector length. Parse errors are not cached.
 */
export class SelectorCache extends ParseCache<Selector> {
  constructor(maxBytes = 16 * 1024 * 1024) {
    super('selectors', maxBytes, parseSelector, (source) => 512 + 4 * source.length);
  }
}

const sharedCache = gauged(new SelectorCache());

/** parseSelector through the shared, byte-bounded cache. */
export function parseSelectorCached(source: string): Selector {
  return sharedCache.get(source);
}
