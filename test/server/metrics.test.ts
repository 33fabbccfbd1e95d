import t from 'tap';
import { createMetrics } from '../../src/server/metrics.ts';

t.test('exposition text for a small scenario, exactly', async (t) => {
  const metrics = createMetrics();
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
  metrics.finding('gnp-pod-cidr-allowed', 'warn');
  metrics.finding('odd"rule\\x\n', 'audit');

  const d = 'clusterip_guard_webhook_request_duration_seconds';
  const expected = [
    '# HELP clusterip_guard_webhook_requests_total Admission requests answered, by webhook path and HTTP status code.',
    '# TYPE clusterip_guard_webhook_requests_total counter',
    'clusterip_guard_webhook_requests_total{webhook="/mutate",code="200"} 1',
    'clusterip_guard_webhook_requests_total{webhook="/mutate",code="400"} 1',
    'clusterip_guard_webhook_requests_total{webhook="/mutate",code="404"} 1',
    'clusterip_guard_webhook_requests_total{webhook="/mutate",code="413"} 0',
    'clusterip_guard_webhook_requests_total{webhook="/mutate",code="500"} 0',
    'clusterip_guard_webhook_requests_total{webhook="/validate",code="200"} 0',
    'clusterip_guard_webhook_requests_total{webhook="/validate",code="400"} 0',
    'clusterip_guard_webhook_requests_total{webhook="/validate",code="413"} 0',
    'clusterip_guard_webhook_requests_total{webhook="/validate",code="500"} 0',
    `# HELP ${d} Time from request arrival to the end of the response, by webhook path.`,
    `# TYPE ${d} histogram`,
    `${d}_bucket{webhook="/mutate",le="0.0005"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.001"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.0025"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.005"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.01"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.025"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.05"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.1"} 0`,
    `${d}_bucket{webhook="/mutate",le="0.25"} 1`,
    `${d}_bucket{webhook="/mutate",le="0.5"} 2`,
    `${d}_bucket{webhook="/mutate",le="1"} 2`,
    `${d}_bucket{webhook="/mutate",le="+Inf"} 3`,
    `${d}_sum{webhook="/mutate"} 2.75`,
    `${d}_count{webhook="/mutate"} 3`,
    `${d}_bucket{webhook="/validate",le="0.0005"} 0`,
    `${d}_bucket{webhook="/validate",le="0.001"} 0`,
    `${d}_bucket{webhook="/validate",le="0.0025"} 0`,
    `${d}_bucket{webhook="/validate",le="0.005"} 0`,
    `${d}_bucket{webhook="/validate",le="0.01"} 0`,
    `${d}_bucket{webhook="/validate",le="0.025"} 0`,
    `${d}_bucket{webhook="/validate",le="0.05"} 0`,
    `${d}_bucket{webhook="/validate",le="0.1"} 0`,
    `${d}_bucket{webhook="/validate",le="0.25"} 0`,
    `${d}_bucket{webhook="/validate",le="0.5"} 0`,
    `${d}_bucket{webhook="/validate",le="1"} 0`,
    `${d}_bucket{webhook="/validate",le="+Inf"} 0`,
    `${d}_sum{webhook="/validate"} 0`,
    `${d}_count{webhook="/validate"} 0`,
    '# HELP clusterip_guard_webhook_requests_in_flight Admission requests received and not yet answered, by webhook path.',
    '# TYPE clusterip_guard_webhook_requests_in_flight gauge',
    'clusterip_guard_webhook_requests_in_flight{webhook="/mutate"} 0',
    'clusterip_guard_webhook_requests_in_flight{webhook="/validate"} 1',
    '# HELP clusterip_guard_decisions_total Admission decisions, by webhook path and decision (allow, deny, patch; relayed: calico-apiserver storing a v3 change already judged).',
    '# TYPE clusterip_guard_decisions_total counter',
    'clusterip_guard_decisions_total{webhook="/mutate",decision="allow"} 0',
    'clusterip_guard_decisions_total{webhook="/mutate",decision="deny"} 0',
    'clusterip_guard_decisions_total{webhook="/mutate",decision="patch"} 1',
    'clusterip_guard_decisions_total{webhook="/mutate",decision="relayed"} 0',
    'clusterip_guard_decisions_total{webhook="/validate",decision="allow"} 0',
    'clusterip_guard_decisions_total{webhook="/validate",decision="deny"} 1',
    'clusterip_guard_decisions_total{webhook="/validate",decision="patch"} 0',
    'clusterip_guard_decisions_total{webhook="/validate",decision="relayed"} 0',
    '# HELP clusterip_guard_findings_total Rule findings in admission decisions, by rule ID and the action taken.',
    '# TYPE clusterip_guard_findings_total counter',
    'clusterip_guard_findings_total{rule="gnp-pod-cidr-allowed",action="warn"} 1',
    'clusterip_guard_findings_total{rule="gnp-schema",action="enforce"} 2',
    'clusterip_guard_findings_total{rule="odd\\"rule\\\\x\\n",action="audit"} 1',
    '',
  ].join('\n');
  t.equal(metrics.render(), expected);
});

t.test('the same handle is returned for a path; unknown paths are refused', async (t) => {
  const metrics = createMetrics();
  t.equal(metrics.webhook('/mutate'), metrics.webhook('/mutate'));
  t.throws(() => metrics.webhook('/other' as never), /unknown webhook path/);
});
