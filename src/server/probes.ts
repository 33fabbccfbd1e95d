/**
 * Probes and metrics on their own plain-HTTP port, so the kubelet and Prometheus need no
 * client certificate trust and a slow scrape never queues behind admission traffic.
 *
 * - `GET /healthz`: 200 `ok` while the process can answer at all.
 * - `GET /readyz`:  200 `ok` only when the certificate is loaded, the cluster state has synced
 *   (or the static fallback is in use) and no shutdown has begun; else 503 with the reason.
 * - `GET /metrics`: Prometheus text format 0.0.4.
 *
 * @example
 *   const probe = buildProbeApp({ metrics, tlsLoaded: () => true, clusterState });
 *   await probe.app.listen({ port: 9090, host: '0.0.0.0' });
 *   probe.markShuttingDown(); // readyz → 503 "shutting down"
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { ClusterState } from '../cluster/types.ts';
import { METRICS_CONTENT_TYPE } from './metrics.ts';
import type { Metrics } from './metrics.ts';

export interface ProbeOptions {
  metrics: Pick<Metrics, 'render'>;
  /** True once the serving certificate is loaded. */
  tlsLoaded: () => boolean;
  clusterState: Pick<ClusterState, 'ready'>;
  logger?: Logger | false;
}

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface ProbeServer {
  readonly app: FastifyInstance;
  /** Readiness goes false for good (liveness stays true); called first thing on SIGTERM. */
  markShuttingDown(): void;
  readiness(): Readiness;
}

export function buildProbeApp(opts: ProbeOptions): ProbeServer {
  let shuttingDown = false;
  const readiness = (): Readiness => {
    if (shuttingDown) return { ready: false, reason: 'shutting down' };
    if (!opts.tlsLoaded()) return { ready: false, reason: 'TLS certificate not loaded' };
    if (!opts.clusterState.ready()) return { ready: false, reason: 'cluster state not synced yet' };
    return { ready: true };
  };

  const serverOptions: FastifyServerOptions = {
    logController: new LogController({ disableRequestLogging: true }),
    // Probes must stay answerable while the webhook drains, and say 503 themselves.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  };
  if (opts.logger) serverOptions.loggerInstance = opts.logger;
  const app = Fastify(serverOptions);

  app.get('/healthz', function healthz(_request, reply) {
    return reply.type('text/plain; charset=utf-8').send('ok');
  });
  app.get('/readyz', function readyz(_request, reply) {
    const state = readiness();
    reply.type('text/plain; charset=utf-8');
    return state.ready ? reply.send('ok') : reply.code(503).send(`not ready: ${state.reason}`);
  });
  app.get('/metrics', async function metrics(_request, reply) {
    return reply.type(METRICS_CONTENT_TYPE).send(await opts.metrics.render());
  });

  return {
    app,
    markShuttingDown() {
      shuttingDown = true;
    },
    readiness,
  };
}
