import type { KubeConfig } from '@kubernetes/client-node';
import { describeAnswer, kubeRequest, type KubeAnswer } from './kube-client.ts';
import { MANAGED_BY_LABEL, REPORT_SOURCE, type OpenReport } from './openreports.ts';
import type { TokenBucket } from './token-bucket.ts';

/**
 * Brings the cluster's reports in line with one scan: creates and updates the reports built
 * from it and deletes the reports this project wrote earlier that the scan no longer
 * produces (the object is gone or clean). Only reports labelled
 * `app.kubernetes.io/managed-by: clusterip-guard` are listed and touched. A report whose
 * content did not change (timestamps aside) is not written again. Every write first takes a
 * token from the bucket; a failed write is logged and counted, and the next scan retries it.
 */

export interface WriteOutcome {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  failed: number;
}

const GROUP_PATH = '/apis/openreports.io/v1alpha1';

const collection = (kind: OpenReport['kind'], namespace?: string): string =>
  kind === 'ClusterReport' ? `${GROUP_PATH}/clusterreports` : `${GROUP_PATH}/namespaces/${encodeURIComponent(namespace ?? '')}/reports`;

const keyOf = (kind: string, namespace: string | undefined, name: string): string => `${kind}/${namespace ?? ''}/${name}`;

/** What decides whether a report must be written again: everything but the timestamps. */
function contentOf(r: { source?: unknown; scope?: unknown; summary?: unknown; results?: unknown }): string {
  const results = Array.isArray(r.results) ? r.results.map((x: Record<string, unknown>) => ({ ...x, timestamp: undefined })) : [];
  return JSON.stringify([r.source, r.scope, r.summary, results]);
}

interface Stored {
  kind: OpenReport['kind'];
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  source?: unknown;
  scope?: unknown;
  summary?: unknown;
  results?: unknown;
}

export interface ReportWriterOptions {
  kubeConfig: KubeConfig;
  bucket: TokenBucket;
  logger: { warn(obj: object, msg?: string): void };
  signal: AbortSignal;
}

async function listManaged(kubeConfig: KubeConfig, signal: AbortSignal): Promise<Stored[]> {
  const selector = encodeURIComponent(`${MANAGED_BY_LABEL}=${REPORT_SOURCE}`);
  const out: Stored[] = [];
  for (const [kind, plural] of [['Report', 'reports'], ['ClusterReport', 'clusterreports']] as const) {
    let cont = '';
    do {
      const answer = await kubeRequest(kubeConfig, 'GET', `${GROUP_PATH}/${plural}?labelSelector=${selector}&limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, undefined, signal);
      if (answer.status !== 200) throw new Error(`listing ${plural}.openreports.io: ${describeAnswer(answer)}`);
      const body = answer.body as { items?: Stored[]; metadata?: { continue?: string } };
      for (const item of body.items ?? []) out.push({ ...item, kind });
      cont = body.metadata?.continue ?? '';
    } while (cont !== '');
  }
  return out;
}

/** Writes one scan's reports; throws only when the existing reports cannot be listed. */
export async function writeReports(desired: readonly OpenReport[], options: ReportWriterOptions): Promise<WriteOutcome> {
  const { kubeConfig, bucket, logger, signal } = options;
  const outcome: WriteOutcome = { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
  const existing = new Map((await listManaged(kubeConfig, signal)).map((s) => [keyOf(s.kind, s.metadata.namespace, s.metadata.name), s]));
  const send = async (method: 'POST' | 'PUT' | 'DELETE', path: string, body: unknown): Promise<KubeAnswer | null> => {
    // Closed: shutting down. A lost lease needs no check here: it terminates the scan worker.
    if (!(await bucket.take())) return null;
    return kubeRequest(kubeConfig, method, path, body, signal);
  };
  const failed = (what: string, answer: KubeAnswer | null) => {
    if (answer === null) return;
    outcome.failed++;
    logger.warn({ report: what, answer: describeAnswer(answer) }, 'writing an audit report failed; the next scan retries');
  };
  for (const report of desired) {
    if (signal.aborted) break;
    const { kind, metadata } = report;
    const key = keyOf(kind, metadata.namespace, metadata.name);
    const stored = existing.get(key);
    existing.delete(key);
    const base = collection(kind, metadata.namespace);
    try {
      if (stored !== undefined && contentOf(stored) === contentOf(report)) {
        outcome.unchanged++;
        continue;
      }
      if (stored !== undefined) {
        const answer = await send('PUT', `${base}/${encodeURIComponent(metadata.name)}`, { ...report, metadata: { ...metadata, resourceVersion: stored.metadata.resourceVersion } });
        if (answer?.status === 200) outcome.updated++;
        else failed(key, answer);
        continue;
      }
      const answer = await send('POST', base, report);
      if (answer?.status === 201 || answer?.status === 200) outcome.created++;
      else failed(key, answer);
    } catch (err) {
      if (signal.aborted) break;
      outcome.failed++;
      logger.warn({ report: key, err: (err as Error).message }, 'writing an audit report failed; the next scan retries');
    }
  }
  for (const [key, stale] of existing) {
    if (signal.aborted) break;
    try {
      const answer = await send('DELETE', `${collection(stale.kind, stale.metadata.namespace)}/${encodeURIComponent(stale.metadata.name)}`, undefined);
      if (answer?.status === 200 || answer?.status === 202 || answer?.status === 404) outcome.deleted++;
      else failed(key, answer);
    } catch (err) {
      if (signal.aborted) break;
      outcome.failed++;
      logger.warn({ report: key, err: (err as Error).message }, 'deleting an audit report failed; the next scan retries');
    }
  }
  return outcome;
}
