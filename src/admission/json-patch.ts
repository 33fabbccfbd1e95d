import type { JsonPatchOp } from '../rules/types.ts';

/** Escapes one JSON-pointer reference token (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Builds a JSON pointer from raw tokens. @example pointer('metadata', 'labels', 'a/b') // '/metadata/labels/a~1b' */
export function pointer(...tokens: Array<string | number>): string {
  return tokens.map((t) => '/' + escapePointerToken(String(t))).join('');
}

/**
 * An operation that sets `value` at `path` in `obj`: `add` when the member is absent (or the
 * parent path needs creating), `replace` when it exists. Parents are created with `add`.
 */
export function setValue(obj: unknown, tokens: readonly string[], value: unknown): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  let node: unknown = obj;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const here = pointer(...tokens.slice(0, i + 1));
    const last = i === tokens.length - 1;
    const container = node as Record<string, unknown> | undefined;
    const exists = typeof container === 'object' && container !== null && Object.hasOwn(container, token);
    if (last) {
      ops.push({ op: exists ? 'replace' : 'add', path: here, value });
      break;
    }
    if (!exists || typeof container[token] !== 'object' || container[token] === null) {
      // Build the rest of the path as one nested value.
      let nested: unknown = value;
      for (let j = tokens.length - 1; j > i; j--) nested = { [tokens[j]!]: nested };
      ops.push({ op: exists ? 'replace' : 'add', path: here, value: nested });
      break;
    }
    node = container[token];
  }
  return ops;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON pointer must start with "/": ${path}`);
  return path.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * Applies add/replace/remove operations to a deep copy of `doc` and returns it. Throws when an
 * operation does not apply (a bug in a rule, never user input).
 */
export function applyPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  const root = structuredClone(doc) as unknown;
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    const last = tokens.pop();
    if (last === undefined) throw new Error('patching the document root is not supported');
    let parent: unknown = root;
    for (const t of tokens) {
      parent = (parent as Record<string, unknown> | undefined)?.[t];
      if (typeof parent !== 'object' || parent === null) throw new Error(`path ${op.path} does not exist`);
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (op.op === 'replace') parent[index] = structuredClone(op.value);
      else parent.splice(index, 1);
    } else {
      const obj = parent as Record<string, unknown>;
      if (op.op !== 'add' && !Object.hasOwn(obj, last)) throw new Error(`path ${op.path} does not exist`);
      if (op.op === 'remove') delete obj[last];
      else obj[last] = structuredClone(op.value);
    }
  }
  return root as T;
}
