/**
 * The webhook's Prometheus metrics, with prom-client. `createMetrics()` owns one Registry
 * (exported as `registry`): the webhook series (names follow controller-runtime's webhook
 * metrics with our own prefix), TLS, cluster-state and policy-analysis health, and
 * prom-client's default process and Node.js metrics (event-loop lag included). `render()`
 * also serves any registries added with `addRegistry()` (other parts of the program keep
 * their own), concatenated; names must not clash.
 *
 * Recording is on the hot path: request counts are plain numbers read at scrape time, and the
 * duration histogram's child is bound once per path.
 *
 * @example
 *   const metrics = createMetrics();
 *   const mutate = metrics.webhook('/mutate');
 *   mutate.started(); mutate.decided('allow'); mutate.finished(200, 0.0004);
 *   await metrics.render(); // → "# HELP clusterip_guard_webhook_requests_total ..."
 */
import client from 'prom-client';
import type { Registry } from 'prom-client';
import type { DecisionKind } from '../admission/audit-record.ts';
import type { ResourceHealth } from '../cluster/types.ts';
import { parseCacheStats } from '../calico/memo.ts';

export type WebhookPath = '/mutate' | '/validate';
export const WEBHOOK_PATHS: readonly WebhookPath[] = ['/mutate', '/validate'];

/** Upper bounds in seconds; the API server's webhook timeout is 1–30 s, but answers take well under 1 s. */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Policy analysis takes longer: up to the budget (2 s by default). */
const ANALYSIS_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];

const DECISIONS: readonly DecisionKind[] = ['allow', 'deny', 'patch', 'relayed'];
/** Codes the server answers with; created up front so rate() queries see them from zero. */
const KNOWN_CODES: readonly number[] = [200, 400, 413, 500];
const ANALYSIS_OUTCOMES = ['analysed', 'queue-full', 'budget', 'worker-failed'] as const;

/** Recording handle for one webhook path; fetch it once, keep it. */
export interface WebhookMetrics {
  /** A request arrived (in-flight goes up). */
  started(): void;
  /** The response was sent in full (in-flight goes down, the request is counted and timed). */
  finished(statusCode: number, seconds: number): void;
  /** The connection closed before a response was sent (in-flight goes down, nothing counted). */
  abandoned(): void;
  decided(decision: DecisionKind): void;
}

export interface Metrics {
  /** This program's own registry. */
  readonly registry: Registry;
  webhook(path: WebhookPath): WebhookMetrics;
  finding(rule: string, action: string): void;
  /** The serving certificate now in use expires at `validTo`. */
  certificate(validTo: Date): void;
  /** A certificate reload was tried: it took the new pair, or kept the old one. */
  tlsReload(ok: boolean): void;
  /** Read at each scrape: per-resource sync status, last event and watch restarts. */
  clusterHealth(read: () => readonly ResourceHealth[]): void;
  /** Policy-analysis queue depth (waiting + running) and each review's outcome. */
  analysisDepth(depth: number): void;
  analysisOutcome(outcome: (typeof ANALYSIS_OUTCOMES)[number], seconds: number): void;
  /** Serves another registry's metrics from /metrics too. */
  addRegistry(registry: Registry): void;
  /** The whole exposition, Prometheus text format 0.0.4. */
  render(): Promise<string>;
}

interface PlainSeries {
  readonly path: WebhookPath;
  inFlight: number;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly buckets: number[];
  sum: number;
  readonly byCode: Map<number, number>;
  readonly byDecision: Map<DecisionKind, number>;
}

const plainSeries = (path: WebhookPath): PlainSeries => ({
  path,
  inFlight: 0,
  buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
  sum: 0,
  byCode: new Map(KNOWN_CODES.map((code) => [code, 0])),
  byDecision: new Map(DECISIONS.map((d) => [d, 0])),
});

/** Content type for `render()`'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsOptions {
  /** prom-client's default process and Node.js metrics; default true. */
  processMetrics?: boolean;
}

/** Creates the metrics; one per process (tests make their own). */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new client.Registry();
  const extra: Registry[] = [];
  const registers = [registry];
  if (opts.processMetrics ?? true) client.collectDefaultMetrics({ register: registry });

  // The per-request series are plain numbers on the hot path, copied into prom-client at scrape
  // time (collect); a bound prom-client child costs ~1 µs per call, 25× a number increment.
  const series = WEBHOOK_PATHS.map((path) => plainSeries(path));
  new client.Counter({
    name: 'clusterip_guard_webhook_requests_total',
    help: 'Admission requests answered, by webhook path and HTTP status code.',
    labelNames: ['webhook', 'code'],
    registers,
    collect() {
      this.reset();
      for (const s of series) for (const [code, n] of s.byCode) this.inc({ webhook: s.path, code }, n);
    },
  });
  registry.registerMetric(durationHistogram(series) as unknown as client.Metric);
  new client.Gauge({
    name: 'clusterip_guard_webhook_requests_in_flight',
    help: 'Admission requests received and not yet answered, by webhook path.',
    labelNames: ['webhook'],
    registers,
    collect() {
      for (const s of series) this.set({ webhook: s.path }, s.inFlight);
    },
  });
  new client.Counter({
    name: 'clusterip_guard_decisions_total',
    help: 'Admission decisions, by webhook path and decision (allow, deny, patch; relayed: calico-apiserver storing a v3 change already judged).',
    labelNames: ['webhook', 'decision'],
    registers,
    collect() {
      this.reset();
      for (const s of series) for (const [decision, n] of s.byDecision) this.inc({ webhook: s.path, decision }, n);
    },
  });
  const findings = new client.Counter({
    name: 'clusterip_guard_findings_total',
    help: 'Rule findings in admission decisions, by rule ID and the action taken.',
    labelNames: ['rule', 'action'],
    registers,
  });
  const certExpiry = new client.Gauge({
    name: 'clusterip_guard_tls_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate in use expires, Unix time in seconds.',
    registers,
  });
  const reloads = new client.Counter({
    name: 'clusterip_guard_tls_reloads_total',
    help: 'Certificate reloads after the files changed, by result (success: new pair in use; failure: rejected, old pair kept).',
    labelNames: ['result'],
    registers,
  });
  let health: () => readonly ResourceHealth[] = () => [];
  /** A gauge read at each scrape: one series per label value, as `rows()` gives them. */
  const scrapedGauge = (name: string, help: string, label: string, rows: () => Iterable<readonly [string, number]>) =>
    new client.Gauge({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [value, n] of rows()) this.set({ [label]: value }, n);
      },
    });
  scrapedGauge('clusterip_guard_cluster_resource_synced', '1 when the first list of a watched cluster resource has completed, else 0, by resource.', 'resource', () =>
    health().map((r) => [r.resource, r.synced ? 1 : 0] as const),
  );
  scrapedGauge(
    'clusterip_guard_cluster_resource_last_event_age_seconds',
    'Seconds since the last list or watch event of a watched cluster resource, by resource (absent before the first).',
    'resource',
    () => {
      const now = Date.now();
      return health().flatMap((r) => (r.lastEventAt === null ? [] : [[r.resource, (now - r.lastEventAt) / 1000] as const]));
    },
  );
  new client.Counter({
    name: 'clusterip_guard_cluster_watch_restarts_total',
    help: 'Times a failed list or watch of a cluster resource was restarted, by resource.',
    labelNames: ['resource'],
    registers,
    collect() {
      // The cache keeps the count; copied at each scrape.
      this.reset();
      for (const r of health()) this.inc({ resource: r.resource }, r.restarts);
    },
  });
  // The parse caches (selectors, nets, ports) of this thread, bounded in estimated bytes; the
  // analysis worker keeps its own, with the same bounds.
  scrapedGauge('clusterip_guard_parse_cache_bytes', 'Estimated bytes held by a parse cache of the main thread, by cache.', 'cache', () =>
    parseCacheStats().map((c) => [c.name, c.bytes] as const),
  );
  scrapedGauge('clusterip_guard_parse_cache_max_bytes', 'The byte bound of a parse cache, by cache.', 'cache', () => parseCacheStats().map((c) => [c.name, c.maxBytes] as const));
  const analysisQueue = new client.Gauge({
    name: 'clusterip_guard_analysis_queue_depth',
    help: 'Policy reviews waiting for or in the analysis worker.',
    registers,
  });
  const analyses = new client.Histogram({
    name: 'clusterip_guard_analysis_duration_seconds',
    help: 'Time from a policy review reaching the analysis queue to its outcome, by outcome (analysed, queue-full, budget, worker-failed).',
    labelNames: ['outcome'],
    buckets: [...ANALYSIS_BUCKETS],
    registers,
  });
  const skipped = new client.Counter({
    name: 'clusterip_guard_analysis_skipped_total',
    help: 'Policy reviews answered without the cross-object analysis, by reason (queue-full, budget, worker-failed).',
    labelNames: ['reason'],
    registers,
  });
  for (const outcome of ANALYSIS_OUTCOMES) {
    analyses.zero({ outcome });
    if (outcome !== 'analysed') skipped.labels({ reason: outcome }).inc(0);
  }
  for (const result of ['success', 'failure']) reloads.labels({ result }).inc(0);

  const webhooks = new Map<WebhookPath, WebhookMetrics>(series.map((s) => [s.path, recorder(s)]));

  function recorder(s: PlainSeries): WebhookMetrics {
    return {
      started: () => void s.inFlight++,
      finished(statusCode, seconds) {
        s.inFlight--;
        s.byCode.set(statusCode, (s.byCode.get(statusCode) ?? 0) + 1);
        let i = 0;
        while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
        s.buckets[i]!++;
        s.sum += seconds;
      },
      abandoned: () => void s.inFlight--,
      decided(decision) {
        const n = s.byDecision.get(decision);
        if (n !== undefined) s.byDecision.set(decision, n + 1);
      },
    };
  }

  return {
    registry,
    webhook(path) {
      const series = webhooks.get(path);
      if (series === undefined) throw new Error(`unknown webhook path ${path}`);
      return series;
    },
    finding: (rule, action) => findings.inc({ rule, action }),
    certificate: (validTo) => certExpiry.set(validTo.getTime() / 1000),
    tlsReload: (ok) => reloads.inc({ result: ok ? 'success' : 'failure' }),
    clusterHealth(read) {
      health = read;
    },
    analysisDepth: (depth) => analysisQueue.set(depth),
    analysisOutcome(outcome, seconds) {
      analyses.observe({ outcome }, seconds);
      if (outcome !== 'analysed') skipped.inc({ reason: outcome });
    },
    addRegistry: (other) => void extra.push(other),
    async render() {
      const texts = await Promise.all([registry, ...extra].map((r) => r.metrics()));
      return texts.map((text) => (text.endsWith('\n') ? text : `${text}\n`)).join('');
    },
  };
}

/**
 * The request-duration histogram as a prom-client metric read from the plain series: prom-client's
 * own Histogram hashes the labels on every observe (~3 µs), the plain buckets cost an addition.
 * A registry formats whatever `get()` returns, like its own metrics.
 */
function durationHistogram(series: readonly PlainSeries[]) {
  const name = 'clusterip_guard_webhook_request_duration_seconds';
  const help = 'Time from request arrival to the end of the response, by webhook path.';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    async get() {
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      for (const s of series) {
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          values.push({ metricName: `${name}_bucket`, labels: { le, webhook: s.path }, value: cumulative });
        });
        cumulative += s.buckets[DURATION_BUCKETS.length]!;
        values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', webhook: s.path }, value: cumulative });
        values.push({ metricName: `${name}_sum`, labels: { webhook: s.path }, value: s.sum });
        values.push({ metricName: `${name}_count`, labels: { webhook: s.path }, value: cumulative });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}
