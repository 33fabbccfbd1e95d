import { createHash } from 'node:crypto';
import type { KubeObject } from '../admission/types.ts';
import type { AuditResult } from './scan.ts';

/**
 * OpenReports objects (`openreports.io/v1alpha1`, openreports/reports-api) built from audit
 * results: one `Report` per namespaced object (in its namespace), one `ClusterReport` per
 * cluster-scoped object, named from the object's UID, with `scope` pointing at it. Objects
 * without findings get no report (a report that exists means something is wrong). Pure.
 */

export const OPENREPORTS_API_VERSION = 'openreports.io/v1alpha1';
export const REPORT_SOURCE = 'clusterip-guard';
/** Label on every report this project writes: the writer lists and removes only these. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export type ReportResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface ReportResult {
  source: string;
  policy: string;
  severity: Severity;
  result: ReportResultValue;
  message: string;
  timestamp: { seconds: number; nanos: number };
  properties: Record<string, string>;
}

export interface OpenReport {
  apiVersion: typeof OPENREPORTS_API_VERSION;
  kind: 'Report' | 'ClusterReport';
  metadata: { name: string; namespace?: string; labels: Record<string, string>; ownerReferences?: Array<Record<string, unknown>> };
  source: string;
  scope: ObjectReference;
  summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  results: ReportResult[];
}

/**
 * The report name: the object's UID, as the API server assigned it. An object read from a file
 * has none; it gets a stable UUID-shaped name hashed from its apiVersion, kind, namespace and name.
 * @example reportName({ metadata: { uid: '6f1c…' } }) // '6f1c…'
 */
export function reportName(object: KubeObject): string {
  const uid = object.metadata?.['uid'];
  if (typeof uid === 'string' && uid !== '') return uid;
  const h = createHash('sha256').update(`${object.apiVersion ?? ''}\n${object.kind ?? ''}\n${object.metadata?.namespace ?? ''}\n${object.metadata?.name ?? ''}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** enforce → fail; warn and patch → warn (the object is stored: nothing was patched); audit → warn. */
const RESULT: Record<string, ReportResultValue> = { enforce: 'fail', warn: 'warn', patch: 'warn', audit: 'warn' };
const SEVERITY: Record<string, Severity> = { enforce: 'high', warn: 'medium', patch: 'medium', audit: 'low' };

/** The report for one audited object, or null when nothing is wrong with it. */
export function reportFor(result: AuditResult, now: Date): OpenReport | null {
  if (result.findings.length === 0) return null;
  const { object } = result;
  const namespace = object.metadata?.namespace;
  const uid = object.metadata?.['uid'];
  const scope: ObjectReference = {
    apiVersion: object.apiVersion ?? '',
    kind: object.kind ?? '',
    name: object.metadata?.name ?? '',
    ...(namespace ? { namespace } : {}),
    ...(typeof uid === 'string' && uid !== '' ? { uid } : {}),
  };
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  const results: ReportResult[] = [
    ...result.findings.map(
      (f): ReportResult => ({
        source: REPORT_SOURCE,
        policy: f.rule,
        severity: SEVERITY[f.action]!,
        result: RESULT[f.action]!,
        message: f.message,
        timestamp,
        properties: { path: f.path, process: 'background scan' },
      }),
    ),
    ...result.passed.map((rule): ReportResult => ({ source: REPORT_SOURCE, policy: rule, severity: 'info', result: 'pass', message: 'no finding', timestamp, properties: { process: 'background scan' } })),
  ];
  const count = (r: ReportResultValue) => results.filter((x) => x.result === r).length;
  return {
    apiVersion: OPENREPORTS_API_VERSION,
    kind: namespace ? 'Report' : 'ClusterReport',
    metadata: {
      name: reportName(object),
      ...(namespace ? { namespace } : {}),
      labels: { [MANAGED_BY_LABEL]: REPORT_SOURCE },
      // With a real UID the report goes when the object goes (garbage collection), even if no
      // scan runs in between.
      ...(scope.uid !== undefined ? { ownerReferences: [{ apiVersion: scope.apiVersion, kind: scope.kind, name: scope.name, uid: scope.uid }] } : {}),
    },
    source: REPORT_SOURCE,
    scope,
    summary: { pass: count('pass'), fail: count('fail'), warn: count('warn'), error: 0, skip: 0 },
    results,
  };
}

/** Reports for every audited object with findings. */
export const buildReports = (results: readonly AuditResult[], now: Date): OpenReport[] => results.map((r) => reportFor(r, now)).filter((r): r is OpenReport => r !== null);
