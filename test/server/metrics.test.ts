import t from 'tap';
import client from 'prom-client';
import { createMetrics } from '../../src/server/metrics.ts';

const line = (text: string, prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));

t.test('webhook series: counts, timings, in-flight, decisions and findings', async (t) => {
  const metrics = createMetrics({ processMetrics: false });
  const mutate = metrics.webhook('/mutate');
  const validate = metrics.webhook('/validate');
  mutate.started();
  mutate.decided('patch');
  mutate.finished(200, 0.25); // on a bucket bound: counted in le="0.25"
  mutate.started();
  mutate.finished(400, 0.5);
  mutate.started();
  mutate.finished(404, 2); // above every bound: only +Inf; a code not created up front
  mutate.started();
  mutate.abandoned(); // client went away: no count, no timing
  validate.started(); // still in flight
  validate.decided('deny');
  metrics.finding('gnp-schema', 'enforce');
  metrics.finding('gnp-schema', 'enforce');
  metrics.finding('odd"rule\\x\n', 'audit');

  const text = await metrics.render();
  const d = 'clusterip_guard_webhook_request_duration_seconds';
  const expected = [
    'clusterip_guard_webhook_requests_total{webhook="/mutate",code="200"} 1',
    'clusterip_guard_webhook_requests_total{webhook="/mutate",code="404"} 1',
    'clusterip_guard_webhook_requests_total{webhook="/validate",code="500"} 0',
    `${d}_bucket{le="0.1",webhook="/mutate"} 0`,
    `${d}_bucket{le="0.25",webhook="/mutate"} 1`,
    `${d}_bucket{le="1",webhook="/mutate"} 2`,
    `${d}_bucket{le="+Inf",webhook="/mutate"} 3`,
    `${d}_sum{webhook="/mutate"} 2.75`,
    `${d}_count{webhook="/validate"} 0`,
    'clusterip_guard_webhook_requests_in_flight{webhook="/mutate"} 0',
    'clusterip_guard_webhook_requests_in_flight{webhook="/validate"} 1',
    'clusterip_guard_decisions_total{webhook="/mutate",decision="patch"} 1',
    'clusterip_guard_decisions_total{webhook="/mutate",decision="relayed"} 0',
    'clusterip_guard_decisions_total{webhook="/validate",decision="allow"} 0',
    'clusterip_guard_findings_total{rule="gnp-schema",action="enforce"} 2',
    'clusterip_guard_findings_total{rule="odd\\"rule\\\\x\\n",action="audit"} 1',
  ];
  for (const l of expected) t.ok(text.split('\n').includes(l), l);
  t.match(text, '# TYPE clusterip_guard_webhook_requests_total counter');
  t.match(text, `# TYPE ${d} histogram`);
});

t.test('TLS, cluster state and analysis health', async (t) => {
  const metrics = createMetrics({ processMetrics: false });
  metrics.certificate(new Date('2027-01-02T03:04:05Z'));
  metrics.tlsReload(true);
  metrics.tlsReload(false);
  metrics.tlsReload(false);
  const now = Date.now();
  metrics.clusterHealth(() => [
    { resource: 'services', synced: true, lastEventAt: now - 1500, restarts: 2 },
    { resource: 'hostendpoints', synced: false, lastEventAt: null, restarts: 0 },
  ]);
  metrics.analysisDepth(3);
  metrics.analysisOutcome('analysed', 0.2);
  metrics.analysisOutcome('budget', 2);
  const text = await metrics.render();
  t.equal(line(text, 'clusterip_guard_tls_certificate_expiry_timestamp_seconds '), `clusterip_guard_tls_certificate_expiry_timestamp_seconds ${Date.parse('2027-01-02T03:04:05Z') / 1000}`);
  t.equal(line(text, 'clusterip_guard_tls_reloads_total{result="success"}'), 'clusterip_guard_tls_reloads_total{result="success"} 1');
  t.equal(line(text, 'clusterip_guard_tls_reloads_total{result="failure"}'), 'clusterip_guard_tls_reloads_total{result="failure"} 2');
  t.equal(line(text, 'clusterip_guard_cluster_resource_synced{resource="services"}'), 'clusterip_guard_cluster_resource_synced{resource="services"} 1');
  t.equal(line(text, 'clusterip_guard_cluster_resource_synced{resource="hostendpoints"}'), 'clusterip_guard_cluster_resource_synced{resource="hostendpoints"} 0');
  const age = Number(line(text, 'clusterip_guard_cluster_resource_last_event_age_seconds{resource="services"}')!.split(' ')[1]);
  t.ok(age >= 1.5 && age < 10, `last event age ${age} s`);
  t.equal(line(text, 'clusterip_guard_cluster_resource_last_event_age_seconds{resource="hostendpoints"}'), undefined, 'no age before the first event');
  t.equal(line(text, 'clusterip_guard_cluster_watch_restarts_total{resource="services"}'), 'clusterip_guard_cluster_watch_restarts_total{resource="services"} 2');
  t.equal(line(text, 'clusterip_guard_analysis_queue_depth '), 'clusterip_guard_analysis_queue_depth 3');
  t.equal(line(text, 'clusterip_guard_analysis_skipped_total{reason="budget"}'), 'clusterip_guard_analysis_skipped_total{reason="budget"} 1');
  t.equal(line(text, 'clusterip_guard_analysis_skipped_total{reason="queue-full"}'), 'clusterip_guard_analysis_skipped_total{reason="queue-full"} 0');
  t.equal(line(text, 'clusterip_guard_analysis_duration_seconds_count{outcome="analysed"}'), 'clusterip_guard_analysis_duration_seconds_count{outcome="analysed"} 1');
});

t.test('process and Node.js metrics, event-loop lag included; other registries are served too', async (t) => {
  const metrics = createMetrics();
  const other = new client.Registry();
  new client.Counter({ name: 'clusterip_guard_audit_reports_total', help: 'from another part', registers: [other] }).inc(4);
  metrics.addRegistry(other);
  const text = await metrics.render();
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
    t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  t.match(text, /^clusterip_guard_audit_reports_total 4$/m, 'the added registry');
  t.match(text, /^clusterip_guard_webhook_requests_total\{/m, 'and our own');
});

t.test('parse caches: bytes held and their bound, per cache', async (t) => {
  const { parseNet } = await import('../../src/calico/nets.ts');
  const { parseCacheStats } = await import('../../src/calico/memo.ts');
  parseNet('198.51.100.0/24');
  const text = await createMetrics({ processMetrics: false }).render();
  const stats = parseCacheStats();
  t.ok(stats.length > 0);
  for (const c of stats) {
    t.equal(line(text, `clusterip_guard_parse_cache_max_bytes{cache="${c.name}"}`), `clusterip_guard_parse_cache_max_bytes{cache="${c.name}"} ${c.maxBytes}`, `${c.name} bound`);
    const held = Number(line(text, `clusterip_guard_parse_cache_bytes{cache="${c.name}"}`)!.split(' ')[1]);
    t.ok(held >= 0 && held <= c.maxBytes, `${c.name}: ${held} bytes within its bound`);
  }
  t.ok(stats.some((c) => c.bytes > 0 && Number(line(text, `clusterip_guard_parse_cache_bytes{cache="${c.name}"}`)!.split(' ')[1]) === c.bytes), 'a cache in use shows its bytes');
});

t.test('the same handle is returned for a path; unknown paths are refused', async (t) => {
  const metrics = createMetrics({ processMetrics: false });
  t.equal(metrics.webhook('/mutate'), metrics.webhook('/mutate'));
  t.throws(() => metrics.webhook('/other' as never), /unknown webhook path/);
});
