/**
 * Thrown by `parseSelector` for text Calico's selector parser would reject.
 *
 * The message names the 0-based position (a UTF-16 index into the selector
 * string), what the grammar allows there and what was found instead, e.g.
 *
 *   selector "k8s-role = 'node'" is invalid at position 9: expected one of
 *   "==", "!=", "in", "not in", "contains", "starts with", "ends with" but found "="
 */
export class SelectorSyntaxError extends Error {
  /** 0-based index into `selector` where the problem is. */
  readonly position: number;
  /** What the grammar allows at `position`, in words (the text after "expected "). */
  readonly expected: string;
  /** What is there instead: a quoted excerpt, or `end of selector`. */
  readonly found: string;
  /** The selector text as given. */
  readonly selector: string;

  constructor(selector: string, position: number, expected: string, found: string) {
    super(
      `selector ${JSON.stringify(selector)} is invalid at position ${position}: ` +
        `expected ${expected} but found ${found}`,
    );
    this.name = 'SelectorSyntaxError';
    this.selector = selector;
    this.position = position;
    this.expected = expected;
    this.found = found;
  }
}
