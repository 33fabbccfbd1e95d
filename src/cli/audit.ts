import YAML from 'yaml';
import type { AuditResult } from '../audit/scan.ts';
import type { OpenReport } from '../audit/openreports.ts';
import { plural } from './check.ts';

const LABEL = { enforce: 'FAIL ', warn: 'WARN ', audit: 'AUDIT', patch: 'WARN ' } as const;

/** One block per object with findings, then a summary line. */
export function formatAuditText(results: readonly AuditResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.findings.length === 0) continue;
    const ref = r.namespace ? `${r.namespace}/${r.name}` : r.name;
    lines.push(`${r.source}: ${r.kind} ${ref}`);
    for (const f of r.findings) lines.push(`  ${LABEL[f.action]} [${f.rule}] ${f.path}: ${f.message}`);
  }
  const failing = results.filter((r) => r.decision === 'deny').length;
  const findings = results.reduce((n, r) => n + r.findings.length, 0);
  lines.push(`${plural(results.length, 'object')} audited: ${plural(findings, 'finding')}, ${failing} at enforce`);
  return lines.join('\n') + '\n';
}

/** The reports as a YAML stream, one document each (`kubectl apply -f -` takes it). */
export const formatReportsYaml = (reports: readonly OpenReport[]): string => reports.map((r) => YAML.stringify(r, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n');
