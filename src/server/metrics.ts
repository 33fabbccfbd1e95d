/**
 * The webhook's Prometheus metrics, written out in text exposition format 0.0.4.
 *
 * Names follow controller-runtime's webhook metrics with our own prefix. Recording is on the
 * hot path, so every label combination known in advance is created once up front and a
 * request only does a Map lookup and a few additions; the text is built only on scrape.
 *
 * @example
 *   const metrics = createMetrics();
 *   const mutate = metrics.webhook('/mutate');
 *   mutate.started(); mutate.decided('allow'); mutate.finished(200, 0.0004);
 *   metrics.render(); // → "# HELP clusterip_guard_webhook_requests_total ..."
 */
import type { DecisionKind } from '../admission/audit-record.ts';

export type WebhookPath = '/mutate' | '/validate';
export const WEBHOOK_PATHS: readonly WebhookPath[] = ['/mutate', '/validate'];

/** Upper bounds in seconds; the API server's webhook timeout is 1–30 s, but answers take well under 1 s. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

const DECISIONS: readonly DecisionKind[] = ['allow', 'deny', 'patch', 'relayed'];
/** Codes the server answers with; created up front so rate() queries see them from zero. */
const KNOWN_CODES: readonly number[] = [200, 400, 413, 500];

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
  webhook(path: WebhookPath): WebhookMetrics;
  finding(rule: string, action: string): void;
  /** The whole exposition, Prometheus text format 0.0.4. */
  render(): string;
}

/** Content type for `render()`'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Counter {
  value: number;
}

interface WebhookSeries extends WebhookMetrics {
  readonly path: WebhookPath;
  inFlight: number;
  readonly requests: Map<number, Counter>;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
  readonly decisions: Map<DecisionKind, Counter>;
}

function createWebhookSeries(path: WebhookPath): WebhookSeries {
  const requests = new Map<number, Counter>(KNOWN_CODES.map((code) => [code, { value: 0 }]));
  const decisions = new Map<DecisionKind, Counter>(DECISIONS.map((d) => [d, { value: 0 }]));
  const series: WebhookSeries = {
    path,
    inFlight: 0,
    requests,
    buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
    sum: 0,
    count: 0,
    decisions,
    started() {
      series.inFlight++;
    },
    finished(statusCode, seconds) {
      series.inFlight--;
      let counter = requests.get(statusCode);
      if (counter === undefined) {
        counter = { value: 0 };
        requests.set(statusCode, counter);
      }
      counter.value++;
      let i = 0;
      while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
      series.buckets[i]!++;
      series.sum += seconds;
      series.count++;
    },
    abandoned() {
      series.inFlight--;
    },
    decided(decision) {
      const counter = decisions.get(decision);
      if (counter !== undefined) counter.value++;
    },
  };
  return series;
}

/** Creates an empty set of metrics; one per process (tests make their own). */
export function createMetrics(): Metrics {
  const webhooks = new Map<WebhookPath, WebhookSeries>(
    WEBHOOK_PATHS.map((path) => [path, createWebhookSeries(path)]),
  );
  // rule → action → count; rules are not known to the server, so children appear on first use.
  const findings = new Map<string, Map<string, Counter>>();

  return {
    webhook(path) {
      const series = webhooks.get(path);
      if (series === undefined) throw new Error(`unknown webhook path ${path}`);
      return series;
    },
    finding(rule, action) {
      let byAction = findings.get(rule);
      if (byAction === undefined) {
        byAction = new Map();
        findings.set(rule, byAction);
      }
      const counter = byAction.get(action);
      if (counter === undefined) byAction.set(action, { value: 1 });
      else counter.value++;
    },
    render() {
      return renderExposition([...webhooks.values()], findings);
    },
  };
}

function renderExposition(
  webhooks: readonly WebhookSeries[],
  findings: ReadonlyMap<string, ReadonlyMap<string, Counter>>,
): string {
  const out: string[] = [];
  const header = (name: string, type: string, help: string): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };

  let name = 'clusterip_guard_webhook_requests_total';
  header(name, 'counter', 'Admission requests answered, by webhook path and HTTP status code.');
  for (const w of webhooks) {
    const codes = [...w.requests.keys()].sort((a, b) => a - b);
    for (const code of codes) {
      out.push(`${name}{webhook="${esc(w.path)}",code="${code}"} ${w.requests.get(code)!.value}`);
    }
  }

  name = 'clusterip_guard_webhook_request_duration_seconds';
  header(name, 'histogram', 'Time from request arrival to the end of the response, by webhook path.');
  for (const w of webhooks) {
    const labels = `webhook="${esc(w.path)}"`;
    let cumulative = 0;
    DURATION_BUCKETS.forEach((bound, i) => {
      cumulative += w.buckets[i]!;
      out.push(`${name}_bucket{${labels},le="${num(bound)}"} ${cumulative}`);
    });
    cumulative += w.buckets[DURATION_BUCKETS.length]!;
    out.push(`${name}_bucket{${labels},le="+Inf"} ${cumulative}`);
    out.push(`${name}_sum{${labels}} ${num(w.sum)}`, `${name}_count{${labels}} ${w.count}`);
  }

  name = 'clusterip_guard_webhook_requests_in_flight';
  header(name, 'gauge', 'Admission requests received and not yet answered, by webhook path.');
  for (const w of webhooks) out.push(`${name}{webhook="${esc(w.path)}"} ${w.inFlight}`);

  name = 'clusterip_guard_decisions_total';
  header(name, 'counter', 'Admission decisions, by webhook path and decision (allow, deny, patch; relayed: calico-apiserver storing a v3 change already judged).');
  for (const w of webhooks) {
    for (const [decision, counter] of w.decisions) {
      out.push(`${name}{webhook="${esc(w.path)}",decision="${decision}"} ${counter.value}`);
    }
  }

  name = 'clusterip_guard_findings_total';
  header(name, 'counter', 'Rule findings in admission decisions, by rule ID and the action taken.');
  for (const rule of [...findings.keys()].sort()) {
    const byAction = findings.get(rule)!;
    for (const action of [...byAction.keys()].sort()) {
      out.push(`${name}{rule="${esc(rule)}",action="${esc(action)}"} ${byAction.get(action)!.value}`);
    }
  }

  return out.join('\n') + '\n';
}

/** Label value escaping per the text format: backslash, double quote, line feed. */
function esc(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
