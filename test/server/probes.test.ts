import t from 'tap';
import { createMetrics } from '../../src/server/metrics.ts';
import { buildProbeApp } from '../../src/server/probes.ts';

t.test('healthz, readyz and metrics', async (t) => {
  let tls = false;
  let synced = false;
  const metrics = createMetrics({ processMetrics: false });
  const probe = buildProbeApp({ metrics, tlsLoaded: () => tls, clusterState: { ready: () => synced } });
  t.teardown(() => probe.app.close());
  const get = (url: string) => probe.app.inject({ method: 'GET', url });

  const health = await get('/healthz');
  t.equal(health.statusCode, 200);
  t.equal(health.body, 'ok');

  const steps: Array<[string, () => void, number, string]> = [
    ['nothing loaded', () => {}, 503, 'not ready: TLS certificate not loaded'],
    ['TLS loaded', () => (tls = true), 503, 'not ready: cluster state not synced yet'],
    ['cluster state synced', () => (synced = true), 200, 'ok'],
    ['shutting down', () => probe.markShuttingDown(), 503, 'not ready: shutting down'],
  ];
  for (const [name, change, status, body] of steps) {
    change();
    const res = await get('/readyz');
    t.equal(res.statusCode, status, name);
    t.equal(res.body, body, name);
    t.match(res.headers['content-type'], /^text\/plain/);
  }
  t.equal((await get('/healthz')).statusCode, 200, 'liveness stays true while shutting down');

  metrics.webhook('/mutate').started();
  const scrape = await get('/metrics');
  t.equal(scrape.statusCode, 200);
  t.equal(scrape.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(scrape.body, await metrics.render());
  t.match(scrape.body, /clusterip_guard_webhook_requests_in_flight\{webhook="\/mutate"\} 1\n/);
});
