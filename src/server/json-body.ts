/**
 * The webhook's JSON body parser. Three checks on top of `JSON.parse`, each linear in the body:
 * - nesting is limited to `MAX_JSON_DEPTH`, so nothing after parsing (the envelope schema, the
 *   rules, the audit line's `JSON.stringify`) can run out of stack on a hostile body;
 * - a `__proto__` key is refused (as Fastify's own parser does), so nothing downstream can be
 *   tricked by a merged prototype;
 * - errors say what is wrong, as catalogue errors (400).
 *
 * @example
 *   app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, jsonBodyParser(RAW_BODY_CHARS));
 */
import type { FastifyRequest } from 'fastify';
import { badReview } from './errors.ts';

/**
 * Deepest nesting accepted. An AdmissionReview nests about 20 levels at most (a Service's
 * managedFields inside `request.object`); 100 leaves room and keeps every recursive step far
 * from the stack limit (JSON.stringify overflows at a few thousand).
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Bodies longer than this (in characters: the API server sends ASCII JSON, where a character is a
 * byte) are not parsed on the main thread when the app can hand them to the analysis worker
 * (`WebhookAppOptions.admitRaw`): parsing, the envelope check and cloning the parsed review to
 * the worker cost the main thread about 8 ms per 200 KB policy (measured in bench/hostile.ts),
 * time every Service review waiting behind it loses. A Service review is 2–10 KB; the API
 * server's largest object is 1.5 MiB (etcd's request limit).
 *
 * The body arrives as text either way (`parseAs: 'string'`): Fastify decodes a body of one
 * chunk without copying it, where `parseAs: 'buffer'` copies every body into a new buffer,
 * outside V8's heap past 4 KB. Measured per body on the main thread: 2.6 µs less for the bench's
 * 2.8 KB Service, 5 µs less for its 10 KB policy; about 0.2 ms more for a 195 KiB policy that
 * goes to the worker (decoding and cloning its text: 418–524 against 196–246 µs), against the
 * ~8 ms its parse would cost here.
 */
export const RAW_BODY_CHARS = 64 * 1024;

/** A body left unparsed for the worker: the route's handler passes it on as it came. */
export class RawBody {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** Fastify's content-type parser (`parseAs: 'string'`): bodies over `rawAbove` characters become a `RawBody`, the rest are parsed. */
export function jsonBodyParser(rawAbove: number) {
  return function parseJsonBody(_request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void): void {
    if (body.length > rawAbove) {
      done(null, new RawBody(body));
      return;
    }
    const parsed = parseJsonText(body);
    if ('error' in parsed) done(badReview(parsed.error));
    else done(null, parsed.value);
  };
}

/** The three checks on one body (main thread or worker alike); the error is the 400's message. */
export function parseJsonText(text: string): { value: unknown } | { error: string } {
  if (text.length === 0) return { error: 'request body is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `body is not valid JSON: ${(err as Error).message}` };
  }
  const tooDeep = hasMoreOpeners(text, MAX_JSON_DEPTH) && typeof value === 'object' && value !== null && deeperThan(value, MAX_JSON_DEPTH);
  if (tooDeep) return { error: `body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (mayHaveProtoKey(text) && hasProtoKey(value)) return { error: 'body has a "__proto__" key, which is not allowed' };
  return { value };
}

/**
 * Whether the text holds more than `limit` `{` and `[`, strings included: the count bounds the
 * depth, found with indexOf (fast) and only as far as `limit`, so most reviews (a Service has
 * about 30) skip the exact check, and one with more (a 20-rule policy has 283) pays for `limit`.
 */
function hasMoreOpeners(text: string, limit: number): boolean {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++n > limit) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++n > limit) return true;
  return false;
}

/**
 * True when the parsed `value` (an object or array) nests more than `limit` arrays/objects.
 * Walking the parsed value costs less than scanning the text for it (10 against 23 µs on the
 * bench's 10 KB policy review); only objects and arrays are visited, so the recursion is at
 * most `limit` + 1 deep and no call is made for a string or number.
 */
function deeperThan(value: object, limit: number): boolean {
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null && deeperThan(v, limit - 1)) return true;
    }
  } else {
    for (const key in value) {
      const v: unknown = (value as Record<string, unknown>)[key];
      if (typeof v === 'object' && v !== null && deeperThan(v, limit - 1)) return true;
    }
  }
  return false;
}

/**
 * Cheap pre-check before the exact one. Any spelling of the key `__proto__` in JSON either has
 * it literally or escapes one of its letters (_ p r o t: U+005F, U+0070, U+0072, U+006F,
 * U+0074), i.e. contains `\u005`, `\u006` or `\u007`. The API server (Go encoding/json)
 * never escapes printable ASCII, so real reviews almost never reach the exact check.
 */
function mayHaveProtoKey(text: string): boolean {
  return text.includes('__proto__') || /\\u00[5-7]/.test(text);
}

/** JSON.parse makes `__proto__` an own key; looks for one with an explicit stack (no recursion). */
function hasProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) return true;
    for (const child of Object.values(v)) stack.push(child);
  }
  return false;
}
