import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/types.ts';
import { startLeaseElector } from './lease.ts';
import { createAuditMetrics, type AuditMetrics } from './metrics.ts';
import { createScanProcess } from './scan-process.ts';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface ServeReports {
  readonly metrics: AuditMetrics;
  close(): Promise<void>;
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child?(bindings: Record<string, unknown>): Logger;
}

/** The release namespace: the config's, else the pod's own (service account), else `default`. */
function leaseNamespace(config: Config): string {
  if (config.audit.lease.namespace !== null) return config.audit.lease.namespace;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || 'default';
  } catch {
    return process.env['POD_NAMESPACE'] || 'default';
  }
}

/**
 * Starts background reports for `serve` when `audit.reports` is on and a cluster is known:
 * the lease elector on the main thread, and while it holds the lease the scan process
 * (its own watch, the scan, the paced writes; scan-process.ts). Returns null otherwise (the
 * reason logged). Nothing here can fail admission: every error is logged and retried.
 */
export function startServeReports(opts: { kubeconfig: string | undefined; noCluster: boolean; config: Config; logger: Logger }): ServeReports | null {
  const { config, logger } = opts;
  if (!config.audit.reports) return null;
  if (opts.noCluster) {
    logger.warn({}, 'audit.reports is on but --no-cluster was given: no reports are written');
    return null;
  }
  const kubeConfig = new KubeConfig();
  try {
    if (opts.kubeconfig) kubeConfig.loadFromFile(opts.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'audit reports: the kubeconfig cannot be loaded; no reports are written');
    return null;
  }
  if (!kubeConfig.getCurrentCluster()) {
    logger.warn({}, 'audit reports: no cluster in the kubeconfig; no reports are written');
    return null;
  }
  const metrics = createAuditMetrics();
  const namespace = leaseNamespace(config);
  const identity = `${hostname()}-${randomUUID().slice(0, 8)}`;
  const scanner = createScanProcess({ data: { config, kubeconfig: opts.kubeconfig ?? null }, metrics, logger: logger.child?.({ component: 'audit-scan' }) ?? logger });
  const elector = startLeaseElector({
    kubeConfig,
    namespace,
    name: config.audit.lease.name,
    identity,
    durationSeconds: config.audit.lease.durationSeconds,
    retrySeconds: config.audit.lease.retrySeconds,
    onChange: (leader) => {
      metrics.leader(leader);
      if (leader) scanner.start();
      else void scanner.stop();
    },
    logger,
  });
  logger.info({ lease: `${namespace}/${config.audit.lease.name}`, identity }, 'audit reports on: the lease holder scans and writes OpenReports');
  return {
    metrics,
    async close() {
      await scanner.stop();
      await elector.stop();
    },
  };
}
