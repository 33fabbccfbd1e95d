import type { KubeObject } from '../admission/types.ts';

/**
 * Who set a field, from an object's `metadata.managedFields` (server-side field tracking).
 *
 * A field the user wrote is owned by the manager of that write (`kubectl-client-side-apply`,
 * `kubectl`, `kubectl-create`, a controller's name). The API server fills some fields itself
 * after the field manager has run — a Service's allocated cluster IP among them — and those
 * fields then have no owner at all. See README "Existing objects" for what a real API server
 * records.
 */

export interface ManagedFieldsEntry {
  readonly manager: string;
  readonly operation: string;
  readonly fieldsV1: unknown;
}

/** The entries of `metadata.managedFields`, or null when the object carries none (a manifest). */
export function managedFieldsOf(object: KubeObject): ManagedFieldsEntry[] | null {
  const list = object.metadata?.['managedFields'];
  if (!Array.isArray(list) || list.length === 0) return null;
  return list
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => ({ manager: typeof e['manager'] === 'string' ? e['manager'] : '', operation: typeof e['operation'] === 'string' ? e['operation'] : '', fieldsV1: e['fieldsV1'] }));
}

/**
 * Managers that own the field path, e.g. `['spec', 'clusterIP']` (looked up as
 * `f:spec` → `f:clusterIP` in fieldsV1).
 * @example fieldOwners(svc, ['spec', 'clusterIP']) // ['kubectl-client-side-apply']
 */
export function fieldOwners(entries: readonly ManagedFieldsEntry[], path: readonly string[]): string[] {
  const owners: string[] = [];
  for (const entry of entries) {
    let node: unknown = entry.fieldsV1;
    for (const key of path) {
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[`f:${key}`] : undefined;
      if (node === undefined) break;
    }
    if (node !== undefined) owners.push(entry.manager);
  }
  return owners;
}
