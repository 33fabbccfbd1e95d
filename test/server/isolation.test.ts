/** Policy analysis in the worker pool: same answers, bounded waits, Services never behind a policy. */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { createAdmit } from '../../src/admission/decide.ts';
import type { AdmissionRequest } from '../../src/admission/types.ts';
import { snapshotFromObjects } from '../../src/cluster/manifests.ts';
import { EMPTY_SNAPSHOT } from '../../src/cluster/types.ts';
import { defaultConfig } from '../../src/config/load.ts';
import { defaultRegistry } from '../../src/rules/index.ts';
import { createAnalysisPool } from '../../src/server/analysis-pool.ts';
import type { AnalysisPoolOptions } from '../../src/server/analysis-pool.ts';
import { buildWebhookApp } from '../../src/server/app.ts';
import type { TimedAuditRecord } from '../../src/server/app.ts';
import { isolatedAdmit, isolatedAdmitRaw } from '../../src/server/isolated-admit.ts';
import { RAW_BODY_CHARS } from '../../src/server/json-body.ts';
import type { Decide } from '../../src/admission/decide.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { syntheticCluster } from '../../bench/admit.ts';
import { largePolicyReview } from '../../bench/reviews.ts';
import { review } from './helpers.ts';
import { guideCluster } from '../rules/guide.ts';
import type { KubeObject } from '../../src/admission/types.ts';

const guidePolicies = (): KubeObject[] => [...guideCluster().globalNetworkPolicies!, ...guideCluster().hostEndpoints!, ...guideCluster().ipPools!];
const denyAll: KubeObject = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'deny-all-prednat' }, spec: { selector: "k8s-role == 'node'", preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] } };

const config = defaultConfig();
const snapshot = snapshotFromObjects(syntheticCluster(20, 30), config);
const cluster = { snapshot: () => snapshot };
const full = createAdmit({ registry: defaultRegistry(), config, cluster });
const cheap = createAdmit({ registry: defaultRegistry(), config, cluster: { snapshot: () => EMPTY_SNAPSHOT } });

async function pool(over: Partial<AnalysisPoolOptions> = {}) {
  const p = createAnalysisPool({ config, cluster, logger: false, ...over });
  t.teardown(() => p.close());
  await p.ready();
  return p;
}

/** A policy review with `rules` ingress rules of `nets` nets each. */
const policyReview = (rules: number, nets = 4): AdmissionRequest => largePolicyReview(rules, nets).request as AdmissionRequest;

t.test('the worker answers exactly as the main thread would', async (t) => {
  const p = await pool({ budgetMs: 30_000 });
  const request = policyReview(20);
  for (const stage of ['mutate', 'validate'] as const) {
    const outcome = await p.analyse(stage, request);
    t.ok('decision' in outcome, stage);
    if ('decision' in outcome) t.same(outcome.decision, full(stage, request), `${stage}: same response and audit`);
  }
});

t.test('over budget: skipped, the worker is replaced, and the next review is analysed again', async (t) => {
  const p = await pool({ budgetMs: 400 });
  const small = () => p.analyse('validate', policyReview(1)).then((o) => ('decision' in o ? 'analysed' : o.skipped));
  t.equal(await small(), 'analysed', 'the worker analyses a small policy');
  t.same(await p.analyse('validate', policyReview(1024, 64)), { skipped: 'budget' }, 'the largest policy is over a 400 ms budget');
  await p.ready();
  t.equal(await small(), 'analysed', 'the replacement worker analyses again');
});

t.test('a full queue answers at once with queue-full', async (t) => {
  const p = await pool({ queueLimit: 1, budgetMs: 30_000 });
  const request = policyReview(20);
  const outcomes = await Promise.all([p.analyse('validate', request), p.analyse('validate', request), p.analyse('validate', request)]);
  t.same(outcomes.map((o) => ('skipped' in o ? o.skipped : 'analysed')), ['analysed', 'analysed', 'queue-full'], 'one running, one waiting, the third refused');
});

t.test('through the server: a skipped analysis answers with the cheap rules, a warning and the audit field', async (t) => {
  const audits: TimedAuditRecord[] = [];
  const p = await pool({ budgetMs: 1 });
  const app = buildWebhookApp({ admit: isolatedAdmit({ admit: full, cheap, pool: p }), auditLog: (r) => audits.push(r), metrics: createMetrics(), logger: false });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/validate', payload: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: policyReview(1024, 64) } });
  t.equal(res.statusCode, 200);
  t.match(res.json().response.warnings[0], /^\[clusterip-guard\] the cross-object analysis of this policy was skipped \(it would take longer than the per-review budget\)/);
  t.equal(audits[0]!.analysisSkipped, 'budget');
  t.match(res.json().response.warnings[0], /; no checks ran: the policy has \d+ rules, nets and ports, over the 20000 checked without the analysis$/, 'too large to check on the main thread');
  t.match(audits[0], { operation: 'UPDATE', findings: [] });
});

t.test('a skipped policy too large to check is not judged as a DELETE of the stored policy', async (t) => {
  // Over the guide's cluster, deleting allow-to-pods with a pre-DNAT deny-all in place cuts pod
  // traffic; a large UPDATE of it that was skipped must not report that.
  const guide = snapshotFromObjects([...guidePolicies(), denyAll], config);
  const cheapGuide = createAdmit({ registry: defaultRegistry(), config, cluster: { snapshot: () => guide } });
  const audits: TimedAuditRecord[] = [];
  const p = await pool({ budgetMs: 1 });
  const app = buildWebhookApp({ admit: isolatedAdmit({ admit: full, cheap: cheapGuide, pool: p }), auditLog: (r) => audits.push(r), metrics: createMetrics(), logger: false });
  t.teardown(() => app.close());
  const big = policyReview(1024, 64);
  const stored = guidePolicies().find((o) => o.metadata?.name === 'allow-to-pods')!;
  const request = { ...big, oldObject: stored, name: 'allow-to-pods', object: { ...(big.object as object), metadata: { name: 'allow-to-pods' } } };
  const res = await app.inject({ method: 'POST', url: '/validate', payload: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request } });
  t.equal(res.statusCode, 200);
  t.equal(audits[0]!.analysisSkipped, 'budget');
  t.same(audits[0]!.findings, [], 'no DELETE findings for a write that is not a DELETE');
  t.equal(res.json().response.warnings.length, 1, 'only the skip warning');
});

t.test('a Service review is answered while a policy analysis is still running', async (t) => {
  const p = await pool({ budgetMs: 20_000 });
  const app = buildWebhookApp({ admit: isolatedAdmit({ admit: full, cheap, pool: p }), auditLog: () => {}, metrics: createMetrics(), logger: false });
  t.teardown(() => app.close());
  const order: string[] = [];
  const policy = app.inject({ method: 'POST', url: '/validate', payload: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: policyReview(1024, 64) } }).then((r) => {
    order.push('policy');
    return r;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const service = await app.inject({ method: 'POST', url: '/validate', payload: review() });
  order.push('service');
  t.equal(service.statusCode, 200);
  t.equal((await policy).statusCode, 200);
  t.same(order, ['service', 'policy']);
});

t.test('policySize counts rules, nets and ports, whatever the JSON', async (t) => {
  const { policySize } = await import('../../src/server/isolated-admit.ts');
  t.equal(policySize(largePolicyReview(10, 3).request.object), 10 + 10 * (1 + 3 + 2));
  for (const odd of [null, 1, { spec: null }, { spec: { ingress: [null, 1, { source: 'x' }] } }]) t.type(policySize(odd), 'number');
});

/** The same app as serve builds, large bodies going unparsed to the worker; `cheapCalls` counts main-thread fallbacks. */
function rawApp(p: Awaited<ReturnType<typeof pool>>, audits: TimedAuditRecord[] = []) {
  const counter = { cheapCalls: 0 };
  const counting: Decide = (stage, request) => {
    counter.cheapCalls++;
    return cheap(stage, request);
  };
  const opts = { admit: full, cheap: counting, pool: p };
  const app = buildWebhookApp({ admit: isolatedAdmit(opts), admitRaw: isolatedAdmitRaw(opts), auditLog: (r) => audits.push(r), metrics: createMetrics(), logger: false });
  t.teardown(() => app.close());
  return { app, counter };
}
const post = (app: ReturnType<typeof buildWebhookApp>, payload: string) => app.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, payload });
const withoutTime = ({ time: _t, durationMs: _d, ...rest }: TimedAuditRecord) => rest;
/** A Service review carrying a large annotation, over RAW_BODY_CHARS. */
const largeService = () =>
  review((r) => {
    r.request.object.metadata.annotations = { note: 'x'.repeat(RAW_BODY_CHARS) };
  });

t.test('a body over RAW_BODY_CHARS is decided in the worker exactly as on the main thread, 400s included', async (t) => {
  const p = await pool({ budgetMs: 30_000 });
  const rawAudits: TimedAuditRecord[] = [];
  const { app, counter } = rawApp(p, rawAudits);
  const mainAudits: TimedAuditRecord[] = [];
  const main = buildWebhookApp({ admit: full, auditLog: (r) => mainAudits.push(r), metrics: createMetrics(), logger: false });
  t.teardown(() => main.close());
  const pad = 'x'.repeat(RAW_BODY_CHARS);
  const envelope = (request: unknown) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
  const cases: Array<[string, string]> = [
    ['a 1,000-rule policy', envelope(policyReview(1000))],
    ['a Service with a large annotation', JSON.stringify(largeService())],
    ['nested too deep', JSON.stringify({ pad, deep: '@' }).replace('"@"', '['.repeat(200) + ']'.repeat(200))],
    ['a __proto__ key', JSON.stringify({ pad }).replace('{', '{"\\u005f_proto__":1,')],
    ['not JSON', `{"pad":"${pad}"`],
    ['no uid', JSON.stringify(review((r) => { delete r.request.uid; r.request.pad = pad; }))],
  ];
  for (const [name, body] of cases) {
    t.ok(body.length > RAW_BODY_CHARS, `${name}: over the threshold`);
    const [raw, parsed] = [await post(app, body), await post(main, body)];
    t.equal(raw.statusCode, parsed.statusCode, `${name}: same status (${parsed.statusCode})`);
    t.same(raw.json(), parsed.json(), `${name}: same answer`);
  }
  t.same(rawAudits.map(withoutTime), mainAudits.map(withoutTime), 'same audit records');
  t.ok(rawAudits.length === 2 && mainAudits.length === 2, 'one per decision, none for a 400');
  t.equal(counter.cheapCalls, 0, 'no fallback ran on the main thread');
});

t.test('a large policy over budget is answered with the worker\'s own-checks answer: nothing parsed or checked on the main thread', async (t) => {
  const audits: TimedAuditRecord[] = [];
  const { app, counter } = rawApp(await pool({ budgetMs: 400 }), audits);
  const res = await post(app, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: policyReview(1024, 64) }));
  t.equal(res.statusCode, 200);
  t.match(res.json().response.warnings[0], /^\[clusterip-guard\] the cross-object analysis of this policy was skipped \(it would take longer than the per-review budget\); no checks ran/);
  t.match(audits[0], { analysisSkipped: 'budget', operation: 'UPDATE', uid: 'large-1024x64' });
  t.equal(res.json().response.uid, 'large-1024x64');
  t.equal(counter.cheapCalls, 0, 'the main thread ran no rule');
});

t.test('a large body that never reached the worker is judged on the main thread after all', async (t) => {
  const audits: TimedAuditRecord[] = [];
  const { app, counter } = rawApp(await pool({ queueLimit: 0 }), audits);
  const policy = await post(app, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: policyReview(1000) }));
  t.match(policy.json().response.warnings[0], /\(too many policy reviews are waiting\); only the checks of the policy itself ran$/);
  t.equal(counter.cheapCalls, 1, 'the policy\'s own checks ran here');
  const service = await post(app, JSON.stringify(largeService()));
  t.same(service.json().response, full('validate', largeService().request).response, 'a large Service gets the full decision');
  t.same(audits.map((a) => a.analysisSkipped), ['queue-full', undefined]);
});

t.test('the worker follows the cluster: after a change it decides over the new snapshot', async (t) => {
  const guide = snapshotFromObjects([...guidePolicies(), denyAll], config);
  let current = snapshot;
  const changing = { snapshot: () => current };
  const p = await pool({ cluster: changing, budgetMs: 30_000 });
  const stored = guidePolicies().find((o) => o.metadata?.name === 'allow-to-pods')!;
  const request: AdmissionRequest = { ...policyReview(3), name: 'allow-to-pods', oldObject: stored, object: { ...stored, spec: { ...(stored.spec as object), ingress: [] } } };
  const over = (s: typeof snapshot) => createAdmit({ registry: defaultRegistry(), config, cluster: { snapshot: () => s } })('validate', request);
  t.notSame(over(snapshot).audit.findings, over(guide).audit.findings, 'the two clusters give different findings');
  for (const next of [snapshot, guide, snapshot]) {
    current = next;
    const outcome = await p.analyse('validate', request);
    t.same('decision' in outcome && outcome.decision, over(next), next === guide ? 'over the guide cluster' : 'over the synthetic cluster');
  }
});

t.test('the worker thread runs at the lowest CPU priority, the main thread as it was', async (t) => {
  const sched = (tid: number | 'self') => {
    const text = readFileSync(tid === 'self' ? '/proc/thread-self/sched' : `/proc/self/task/${tid}/sched`, 'utf8');
    return { policy: Number(/^policy\s*:\s*(\d+)/m.exec(text)![1]), prio: Number(/^prio\s*:\s*(\d+)/m.exec(text)![1]) };
  };
  const main = sched('self');
  for (const [asked, want] of [
    // SCHED_IDLE is policy 5; nice 19 is prio 139 under SCHED_OTHER (0).
    ['idle', { policy: 5 }],
    ['low', { policy: 0, prio: 139 }],
    ['normal', main],
  ] as const) {
    const p = await pool({ priority: asked });
    const applied = p.workerPriority()!;
    t.equal(applied.priority, asked, `${asked}: applied as asked (${applied.reason ?? 'no fallback'})`);
    if (asked !== 'normal') t.match(sched(applied.tid!), want, `${asked}: the worker thread's scheduling`);
    t.same(sched('self'), main, `${asked}: the main thread is unchanged`);
    t.equal((await p.analyse('validate', policyReview(1))).constructor, Object, `${asked}: still analyses`);
    await p.close();
  }
  t.equal((await pool()).workerPriority()!.priority, 'idle', 'idle by default');
});
