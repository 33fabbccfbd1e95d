import { containsGlobal, type SelectorNode } from './ast.ts';
import { compileSelector, type Labels } from './evaluate.ts';
import { parseSelectorAst } from './parser.ts';
import { printSelector } from './printer.ts';

export interface MatchOptions {
  /**
   * What global() evaluates to. Calico uses global() in a namespaceSelector
   * to pick the non-namespaced resources, so it only means something to a
   * caller that knows whether the thing being matched is namespaced. Calico's
   * own GlobalNode.Evaluate answers true unconditionally; here it is false
   * unless the caller says otherwise.
   */
  readonly global?: boolean;
}

export interface Selector {
  /** The text the selector was parsed from, unchanged. */
  readonly source: string;
  /** The parsed tree (frozen). */
  readonly ast: SelectorNode;
  /** Whether global() appears anywhere in the selector. */
  readonly usesGlobal: boolean;
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
    usesGlobal: containsGlobal(ast),
    matches: (labels, options) => compiled(labels, options?.global === true),
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
 * A bounded cache of parsed selectors, evicting the least recently used (approximately: a hit
 * marks its entry, and eviction gives marked entries a second chance, the "clock" scheme). A
 * hit returns the very object the first parse produced and changes nothing in the map, so the
 * caller's string (a review's) is not kept as a key. Parse errors are not cached, and neither
 * are selectors longer than `maxSourceLength` characters (they are parsed afresh each time), so
 * the memory held stays bounded even when policies arrive through an API that does not limit
 * selector length.
 */
export class SelectorCache {
  readonly maxEntries: number;
  readonly maxSourceLength: number;
  readonly #entries = new Map<string, { selector: Selector; used: boolean }>();

  constructor(maxEntries = 10_000, maxSourceLength = 4096) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, not ${maxEntries}`);
    }
    if (!Number.isInteger(maxSourceLength) || maxSourceLength < 0) {
      throw new RangeError(`maxSourceLength must be a non-negative integer, not ${maxSourceLength}`);
    }
    this.maxEntries = maxEntries;
    this.maxSourceLength = maxSourceLength;
  }

  get size(): number {
    return this.#entries.size;
  }

  parse(source: string): Selector {
    if (typeof source === 'string' && source.length > this.maxSourceLength) return parseSelector(source);
    const entries = this.#entries;
    const hit = entries.get(source);
    if (hit !== undefined) {
      hit.used = true;
      return hit.selector;
    }
    const selector = parseSelector(source);
    while (entries.size >= this.maxEntries) {
      const [key, oldest] = entries.entries().next().value!;
      entries.delete(key);
      if (oldest.used) {
        // Used since it was last looked at: a second chance, at the back.
        oldest.used = false;
        entries.set(key, oldest);
      }
    }
    entries.set(source, { selector, used: false });
    return selector;
  }

  clear(): void {
    this.#entries.clear();
  }
}

const sharedCache = new SelectorCache();

/**
 * parseSelector through a shared cache of up to 10,000 selectors (each at
 * most 4096 characters long; longer ones are parsed without caching).
 */
export function parseSelectorCached(source: string): Selector {
  return sharedCache.parse(source);
}
