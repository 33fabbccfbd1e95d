import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { createAdmit } from '../admission/decide.ts';
import { startClusterState } from '../cluster/informers.ts';
import { staticClusterState } from '../cluster/static.ts';
import type { ClusterState } from '../cluster/types.ts';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { GuardError } from '../errors.ts';
import { defaultRegistry } from '../rules/index.ts';
import { startServeReports } from '../audit/serve-reports.ts';
import { createAnalysisPool, DEFAULT_ANALYSIS_BUDGET_MS } from '../server/analysis-pool.ts';
import { buildWebhookApp } from '../server/app.ts';
import { isolatedAdmit, isolatedAdmitRaw } from '../server/isolated-admit.ts';
import { createAuditLog } from '../server/audit-log.ts';
import { createMetrics } from '../server/metrics.ts';
import { buildProbeApp } from '../server/probes.ts';
import { installShutdown } from '../server/shutdown.ts';
import { loadTlsPair, secureServerOf, watchTlsFiles } from '../server/tls.ts';
import { durationOption, parse, portOption } from './args.ts';
import { makeDevCert } from './dev-cert.ts';

/** Where the cluster state comes from: none, a kubeconfig file, or the default chain (in-cluster, $KUBECONFIG, ~/.kube/config). */
async function clusterStateFor(values: { 'no-cluster'?: boolean; kubeconfig?: string }, config: Config, log: pino.Logger): Promise<ClusterState> {
  if (values['no-cluster']) {
    log.info('cluster state: static network config (--no-cluster)');
    return staticClusterState();
  }
  const kubeConfig = new KubeConfig();
  try {
    if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    throw new GuardError('CIG_ERR_USAGE', `cannot load kubeconfig ${values.kubeconfig ?? '(default)'}: ${(err as Error).message}`, { cause: err });
  }
  if (!kubeConfig.getCurrentCluster()) {
    log.warn('no kubeconfig or in-cluster service account found: using the static network config (pass --no-cluster to silence this)');
    return staticClusterState();
  }
  return startClusterState({ kubeConfig, config, logger: log.child({ component: 'cluster-state' }) });
}

/** `clusterip-guard serve`: runs until SIGTERM/SIGINT, then drains and resolves with the exit status. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    config: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string', default: '0.0.0.0' },
    'probe-port': { type: 'string' },
    kubeconfig: { type: 'string' },
    'no-cluster': { type: 'boolean' },
    'drain-delay': { type: 'string' },
    'shutdown-timeout': { type: 'string' },
    'analysis-budget': { type: 'string' },
  });
  if (values['no-cluster'] && values.kubeconfig) throw new GuardError('CIG_ERR_USAGE', '--kubeconfig and --no-cluster exclude each other');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new GuardError('CIG_ERR_USAGE', '--tls-cert and --tls-key go together');
  const port = portOption(values.port, '--port', 8443);
  const probePort = portOption(values['probe-port'], '--probe-port', 9090);
  const drainDelayMs = durationOption(values['drain-delay'], '--drain-delay', 0);
  const shutdownTimeoutMs = durationOption(values['shutdown-timeout'], '--shutdown-timeout', DEFAULT_SHUTDOWN_TIMEOUT_MS);
  const budgetMs = durationOption(values['analysis-budget'], '--analysis-budget', DEFAULT_ANALYSIS_BUDGET_MS);
  const log = pino({ base: { component: 'clusterip-guard' } });
  // Audit lines: one JSON object per decision, written to stdout in batches through an
  // asynchronous destination (off the request path; flushed on exit). Records carry their own `time`.
  const audit = createAuditLog(pino.destination({ dest: 1, sync: false }), {
    tag: { log: 'audit' },
    onError: (err) => log.error({ err }, 'audit log write failed'),
  });

  const config = values.config ? await loadConfigFile(values.config) : defaultConfig();
  let files = { certFile: values['tls-cert'] ?? '', keyFile: values['tls-key'] ?? '' };
  if (values['tls-cert'] === undefined) {
    const dev = makeDevCert();
    files = { certFile: dev.certFile, keyFile: dev.keyFile };
    log.warn({ certFile: dev.certFile }, 'no --tls-cert given: serving a self-signed development certificate for localhost/127.0.0.1 (use it as the CA: curl --cacert)');
  }
  const pair = loadTlsPair(files);
  const cluster = await clusterStateFor(values, config, log);
  const metrics = createMetrics();
  metrics.certificate(pair.validTo);
  if (cluster.health) metrics.clusterHealth(() => cluster.health!());
  const registry = defaultRegistry();
  const pool = createAnalysisPool({
    config,
    cluster,
    budgetMs,
    logger: log,
    onDepth: metrics.analysisDepth,
    onOutcome: metrics.analysisOutcome,
  });
  await pool.ready();
  const decisions = { admit: createAdmit({ registry, config, cluster }), cheap: createAdmit({ registry, config, cluster: staticClusterState() }), pool };
  const app = buildWebhookApp({
    admit: isolatedAdmit(decisions),
    admitRaw: isolatedAdmitRaw(decisions),
    auditLog: audit.write,
    metrics,
    logger: log,
    https: { key: pair.key, cert: pair.cert },
  });
  const probe = buildProbeApp({ metrics, tlsLoaded: () => true, clusterState: cluster, logger: log });
  // Both ports or neither: a process serving webhooks without probes, certificate watcher
  // or signal handling is worse than one that exits.
  try {
    await listen(probe.app, probePort, values.host, '--probe-port');
    await listen(app, port, values.host, '--port');
  } catch (err) {
    await Promise.allSettled([app.close(), probe.app.close(), cluster.close(), pool.close()]);
    throw err;
  }
  // Background OpenReports (audit.reports), once serving; its metrics join /metrics.
  const reports = startServeReports({ kubeconfig: values.kubeconfig, noCluster: values['no-cluster'] === true, config, logger: log });
  if (reports) metrics.addRegistry(reports.metrics.registry);
  const tls = watchTlsFiles({
    files,
    initial: pair,
    servers: [secureServerOf(app)],
    logger: log,
    onReload: (next) => {
      metrics.tlsReload(true);
      metrics.certificate(next.validTo);
    },
    onReject: () => metrics.tlsReload(false),
  });
  // The bound ports (a port of 0 picks a free one).
  const bound = (server: { address(): unknown }) => (server.address() as AddressInfo).port;
  // How the analysis is kept off the main thread's CPU (README "Bounded work and isolation"):
  // the worker's priority, and whether node was started with --single-threaded-gc.
  const analysis = { workerPriority: pool.workerPriority()?.priority, singleThreadedGc: process.execArgv.includes('--single-threaded-gc') };
  log.info({ webhook: `https://${values.host}:${bound(app.server)}`, probes: `http://${values.host}:${bound(probe.app.server)}`, certExpires: pair.validTo, analysis }, 'clusterip-guard serving');
  const shutdown = installShutdown({
    apps: [app],
    probe,
    drainDelayMs,
    graceMs: drainDelayMs + shutdownTimeoutMs,
    cleanup: [() => tls.close(), () => reports?.close(), () => cluster.close(), () => pool.close(), () => audit.flushSync()],
    logger: log,
  });
  return shutdown.done;
}

/** Time answers in progress get to finish once the listener closes; the chart's grace period covers it. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

async function listen(app: { listen(o: { port: number; host: string }): Promise<unknown> }, port: number, host: string, flag: string): Promise<void> {
  try {
    await app.listen({ port, host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new GuardError('CIG_ERR_LISTEN', `cannot listen on ${host}:${port} (${flag}): ${code}: ${(err as Error).message}`, { cause: err });
  }
}
