import { evaluate } from '../admission/evaluate.ts';
import type { AuditFinding } from '../admission/audit-record.ts';
import type { KubeObject } from '../admission/types.ts';
import { snapshotFromObjects } from '../cluster/manifests.ts';
import type { Config } from '../config/types.ts';
import type { RuleRegistry } from '../rules/registry.ts';
import type { JsonPatchOp } from '../rules/types.ts';
import { groupOf } from '../rules/support/kinds.ts';
import type { Manifest } from './read-manifests.ts';

export interface CheckResult {
  source: string;
  kind: string;
  name: string;
  namespace: string | null;
  decision: 'allow' | 'deny' | 'patch';
  findings: AuditFinding[];
  patch: JsonPatchOp[];
  /** The object as it would be stored (with the patch applied). */
  patched?: KubeObject;
}

/**
 * Runs the webhook's rules offline, as the API server would call them on `kubectl apply` of each
 * manifest as a CREATE: /mutate on the object, then /validate on the patched object. The
 * manifests together are the cluster state (IPPools, BGPConfiguration, HostEndpoints, policies,
 * exposed Services). Manifests of kinds without rules are skipped.
 */
export function checkManifests(manifests: readonly Manifest[], registry: RuleRegistry, config: Config): CheckResult[] {
  const cluster = snapshotFromObjects(manifests.map((m) => m.object), config);
  const results: CheckResult[] = [];
  for (const { source, object } of manifests) {
    const group = groupOf(object.apiVersion);
    const kind = object.kind ?? '';
    if (registry.forKind('mutate', group, kind).length === 0 && registry.forKind('validate', group, kind).length === 0) continue;
    const input = { group, kind, operation: 'CREATE' as const, oldObject: null };
    const mutated = evaluate('mutate', { ...input, object }, { registry, config, cluster });
    const validated = mutated.denied ? null : evaluate('validate', { ...input, object: mutated.object }, { registry, config, cluster });
    const seen = new Set<string>();
    const findings = [...mutated.findings, ...(validated?.findings ?? [])].filter((f) => {
      const key = `${f.rule}|${f.path}|${f.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
    const denied = mutated.denied || validated?.denied === true;
    results.push({
      source,
      kind,
      name: object.metadata?.name ?? '<unnamed>',
      namespace: object.metadata?.namespace ?? null,
      decision: denied ? 'deny' : mutated.patch.length > 0 ? 'patch' : 'allow',
      findings,
      patch: denied ? [] : mutated.patch,
      ...(!denied && mutated.patch.length > 0 ? { patched: mutated.object } : {}),
    });
  }
  return results;
}

const LABEL: Record<AuditFinding['action'], string> = { enforce: 'DENY ', warn: 'WARN ', audit: 'AUDIT', patch: 'PATCH' };

/** `3 objects`, `1 finding`. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Human-readable report; one block per object with findings, then a summary line. */
export function formatText(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.findings.length === 0) continue;
    const ref = r.namespace ? `${r.namespace}/${r.name}` : r.name;
    lines.push(`${r.source}: ${r.kind} ${ref}: ${r.decision}`);
    for (const f of r.findings) lines.push(`  ${LABEL[f.action]} [${f.rule}] ${f.path}: ${f.message}`);
    if (r.patch.length > 0) lines.push(`  patch: ${JSON.stringify(r.patch)}`);
  }
  const count = (d: CheckResult['decision']) => results.filter((r) => r.decision === d).length;
  const warnings = results.reduce((n, r) => n + r.findings.filter((f) => f.action === 'warn').length, 0);
  lines.push(`${plural(results.length, 'object')} checked: ${count('deny')} denied, ${count('patch')} patched, ${plural(warnings, 'warning')}`);
  return lines.join('\n') + '\n';
}
