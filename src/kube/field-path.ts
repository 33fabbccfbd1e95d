import type { ErrorObject } from 'ajv';

/** `/spec/ingress/0/nets/1` → `spec.ingress[0].nets[1]` (kubectl's field path style). */
export function pointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(token) ? `[${token}]` : out === '' ? token : `.${token}`;
  }
  return out;
}

export interface PathMessage {
  path: string;
  message: string;
}

/** One readable line per ajv error: unknown fields, allowed values and formats spelled out. */
export function describeSchemaError(e: ErrorObject): PathMessage {
  const path = pointerToPath(e.instancePath);
  let message = e.message ?? 'is invalid';
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: path ? `${path}.${String(e.params['additionalProperty'])}` : String(e.params['additionalProperty']), message: 'unknown field' };
    case 'enum':
      message = `must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'propertyNames':
      message = `unknown key "${String(e.params['propertyName'])}"`;
      break;
    case 'format':
      message = `${JSON.stringify(e.data)} is not a valid ${String(e.params['format'])}`;
      break;
  }
  return { path, message };
}
