/**
 * JSON Schemas for the AdmissionReview envelope (request) and the answer (response), and the
 * translation of ajv's errors into one plain sentence that names the field.
 *
 * Only the envelope is checked here; `object`/`oldObject` are the rules' business (they are
 * checked to be objects, no deeper), so validation stays cheap for large objects.
 */
import type { ErrorObject } from 'ajv';

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;

const gvk = {
  type: 'object',
  required: ['group', 'version', 'kind'],
  properties: {
    group: { type: 'string' }, // "" is the core group
    version: { type: 'string', minLength: 1 },
    kind: { type: 'string', minLength: 1 },
  },
} as const;

export const reviewRequestSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { type: 'string', const: 'admission.k8s.io/v1' },
    kind: { type: 'string', const: 'AdmissionReview' },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'operation'],
      properties: {
        uid: { type: 'string', minLength: 1 },
        kind: gvk,
        resource: {
          type: 'object',
          properties: {
            group: { type: 'string' },
            version: { type: 'string' },
            resource: { type: 'string' },
          },
        },
        subResource: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        operation: { type: 'string', enum: OPERATIONS },
        userInfo: {
          type: 'object',
          properties: {
            username: { type: 'string' },
            uid: { type: 'string' },
            groups: { type: 'array', items: { type: 'string' } },
          },
        },
        object: { type: ['object', 'null'] },
        oldObject: { type: ['object', 'null'] },
        dryRun: { type: 'boolean' },
      },
    },
  },
} as const;

/**
 * What the API server accepts back (`VerifyAdmissionResponse`), compiled by fast-json-stringify.
 * Not for speed (for answers this small it measured the same as JSON.stringify, ~0.2–0.8 µs)
 * but for the contract: an answer without `uid` or `allowed` fails to serialize and becomes a
 * 500 instead of reaching the API server, and fields it does not know never leak out.
 */
export const reviewResponseSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'response'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    response: {
      type: 'object',
      required: ['uid', 'allowed'],
      properties: {
        uid: { type: 'string' },
        allowed: { type: 'boolean' },
        status: {
          type: 'object',
          properties: {
            code: { type: 'integer' },
            message: { type: 'string' },
            reason: { type: 'string' },
          },
        },
        patch: { type: 'string' },
        patchType: { type: 'string' },
        warnings: { type: 'array', items: { type: 'string' } },
        auditAnnotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
} as const;

export const errorResponseSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

/**
 * Turns ajv's first error into a sentence such as
 * `AdmissionReview is missing request.uid` or
 * `apiVersion must be "admission.k8s.io/v1" (got "admission.k8s.io/v1beta1")`.
 * `body` is the parsed request body the errors refer to.
 */
export function describeReviewError(errors: readonly ErrorObject[], body: unknown): string {
  const err = errors[0];
  if (err === undefined) return 'AdmissionReview is not valid';
  if (body === undefined) return 'request body is empty';
  const path = fieldPath(err.instancePath);
  const value = valueAt(body, err.instancePath);
  const what = path === '' ? 'AdmissionReview' : path;
  switch (err.keyword) {
    case 'required': {
      const missing = String((err.params as { missingProperty: string }).missingProperty);
      return `AdmissionReview is missing ${path === '' ? missing : `${path}.${missing}`}`;
    }
    case 'type': {
      const expected = (err.params as { type: string | string[] }).type;
      const list = Array.isArray(expected) ? expected : String(expected).split(',');
      return `${what} must be ${list.map(article).join(' or ')} (got ${typeName(value)})`;
    }
    case 'const': {
      const allowed = (err.params as { allowedValue: unknown }).allowedValue;
      return `${what} must be ${JSON.stringify(allowed)} (got ${shortJson(value)})`;
    }
    case 'enum': {
      const allowed = (err.params as { allowedValues: unknown[] }).allowedValues;
      return `${what} must be one of ${allowed.join(', ')} (got ${shortJson(value)})`;
    }
    case 'minLength':
      return `${what} must not be empty`;
    default:
      return `${what} ${err.message ?? 'is not valid'}`;
  }
}

/** `/request/kind/group` → `request.kind.group`; array indices become `[i]`. */
function fieldPath(instancePath: string): string {
  if (instancePath === '') return '';
  let out = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(token) ? `[${token}]` : out === '' ? token : `.${token}`;
  }
  return out;
}

function valueAt(body: unknown, instancePath: string): unknown {
  if (instancePath === '') return body;
  let node = body;
  for (const raw of instancePath.slice(1).split('/')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

function article(type: string): string {
  switch (type) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'integer':
      return 'an integer';
    case 'null':
      return 'null';
    default:
      return `a ${type}`;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${shortJson(value)}`;
}

/** JSON of a scalar, cut short so a huge value cannot blow up the message. */
function shortJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
