import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildWebhookApp } from '../../src/server/app.ts';
import type { Admit, TimedAuditRecord, WebhookAppOptions } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { auditFor, fakeAdmit, review } from './helpers.ts';

const JSON_CT = { 'content-type': 'application/json' };

function setup(overrides: Partial<WebhookAppOptions> = {}) {
  const audits: TimedAuditRecord[] = [];
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }),
  );
  const metrics = createMetrics();
  const app = buildWebhookApp({
    admit: fakeAdmit(),
    auditLog: (rec) => audits.push(rec),
    metrics,
    logger,
    ...overrides,
  });
  t.teardown(() => app.close());
  return { app, audits, logLines, metrics };
}

function metricLine(text: string, prefix: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(prefix));
}

t.test('a valid review is answered with the same uid and the exact GVK', async (t) => {
  const { app, audits } = setup();
  for (const url of ['/mutate', '/validate']) {
    const body = review();
    const res = await app.inject({ method: 'POST', url, payload: body });
    t.equal(res.statusCode, 200, url);
    t.match(res.headers['content-type'], /^application\/json/);
    const answer = res.json();
    t.same(Object.keys(answer).sort(), ['apiVersion', 'kind', 'response']);
    t.equal(answer.apiVersion, 'admission.k8s.io/v1');
    t.equal(answer.kind, 'AdmissionReview');
    t.equal(answer.response.uid, body.request.uid, 'response.uid echoes request.uid');
    t.equal(answer.response.allowed, true);
  }
  t.equal(audits.length, 2, 'one audit record per decision');
});

t.test('charset parameter on the content type is accepted', async (t) => {
  const { app } = setup();
  const res = await app.inject({
    method: 'POST',
    url: '/validate',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    payload: JSON.stringify(review()),
  });
  t.equal(res.statusCode, 200);
});

t.test('bad bodies get 400 with a message naming the problem, and the server keeps answering', async (t) => {
  const { app, metrics } = setup();
  const cases: Array<{ name: string; headers?: Record<string, string>; payload?: string | object; message: string | RegExp }> = [
    { name: 'not JSON', headers: JSON_CT, payload: '{"apiVersion": ', message: /^body is not valid JSON: / },
    { name: 'wrong content type', headers: { 'content-type': 'text/plain' }, payload: '{}', message: 'content-type must be application/json (got "text/plain")' },
    { name: 'no content type', headers: { 'content-type': '' }, payload: '{}', message: /^content-type must be application\/json/ },
    { name: 'empty body', headers: JSON_CT, payload: '', message: 'request body is empty' },
    { name: 'JSON that is not an object', headers: JSON_CT, payload: '[1,2]', message: 'AdmissionReview must be an object (got an array)' },
    { name: 'missing request', payload: review((r) => delete r.request), message: 'AdmissionReview is missing request' },
    { name: 'request not an object', payload: review((r) => (r.request = 'x')), message: 'request must be an object (got string "x")' },
    { name: 'missing request.uid', payload: review((r) => delete r.request.uid), message: 'AdmissionReview is missing request.uid' },
    { name: 'empty request.uid', payload: review((r) => (r.request.uid = '')), message: 'request.uid must not be empty' },
    { name: 'uid not a string', payload: review((r) => (r.request.uid = 7)), message: 'request.uid must be a string (got number 7)' },
    {
      name: 'wrong apiVersion',
      payload: review((r) => (r.apiVersion = 'admission.k8s.io/v1beta1')),
      message: 'apiVersion must be "admission.k8s.io/v1" (got "admission.k8s.io/v1beta1")',
    },
    { name: 'missing apiVersion', payload: review((r) => delete r.apiVersion), message: 'AdmissionReview is missing apiVersion' },
    { name: 'wrong kind', payload: review((r) => (r.kind = 'AdmissionRequest')), message: 'kind must be "AdmissionReview" (got "AdmissionRequest")' },
    { name: 'missing request.kind', payload: review((r) => delete r.request.kind), message: 'AdmissionReview is missing request.kind' },
    { name: 'kind without group', payload: review((r) => delete r.request.kind.group), message: 'AdmissionReview is missing request.kind.group' },
    {
      name: 'operation not in the enum',
      payload: review((r) => (r.request.operation = 'PATCH')),
      message: 'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT (got "PATCH")',
    },
    { name: 'object not an object', payload: review((r) => (r.request.object = 'web')), message: 'request.object must be an object or null (got string "web")' },
    { name: 'oldObject an array', payload: review((r) => (r.request.oldObject = [])), message: 'request.oldObject must be an object or null (got an array)' },
    { name: 'dryRun a string', payload: review((r) => (r.request.dryRun = 'true')), message: 'request.dryRun must be a boolean (got string "true")' },
    { name: 'userInfo not an object', payload: review((r) => (r.request.userInfo = 'alice')), message: 'request.userInfo must be an object (got string "alice")' },
    { name: '__proto__ key', headers: JSON_CT, payload: '{"__proto__":{"polluted":true}}', message: 'body has a "__proto__" key, which is not allowed' },
    {
      name: '__proto__ key spelled with escapes',
      headers: JSON_CT,
      payload: JSON.stringify(review()).replace('"request":', '"request":{"\\u005f_pr\\u006fto__":{"polluted":true}},"x":'),
      message: 'body has a "__proto__" key, which is not allowed',
    },
  ];
  for (const c of cases) {
    const res = await app.inject({
      method: 'POST',
      url: '/validate',
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.payload !== undefined ? { payload: c.payload } : {}),
    });
    t.equal(res.statusCode, 400, `${c.name}: status`);
    const body = res.json();
    t.equal(body.code, 'CIG_ERR_BAD_REVIEW', `${c.name}: code`);
    if (typeof c.message === 'string') t.equal(body.message, c.message, `${c.name}: message`);
    else t.match(body.message, c.message, `${c.name}: message`);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');

  const empty = await app.inject({ method: 'POST', url: '/mutate' });
  t.equal(empty.statusCode, 400, 'no body and no content type');
  t.same(empty.json(), { code: 'CIG_ERR_BAD_REVIEW', message: 'request body is empty' });

  const ok = await app.inject({ method: 'POST', url: '/validate', payload: review() });
  t.equal(ok.statusCode, 200, 'a valid review is still answered after all of them');

  const text = await metrics.render();
  t.equal(
    metricLine(text, 'clusterip_guard_webhook_requests_total{webhook="/validate",code="400"}'),
    `clusterip_guard_webhook_requests_total{webhook="/validate",code="400"} ${cases.length}`,
  );
});

t.test('"__proto__" inside a string value is just text', async (t) => {
  const { app } = setup();
  const body = review((r) => (r.request.object.metadata.annotations = { note: '{"__proto__": 1} \\u0070' }));
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: body });
  t.equal(res.statusCode, 200);
});

t.test('oversize bodies get 413 and the server keeps answering', async (t) => {
  const { app } = setup({ bodyLimit: 1024 });
  const big = review((r) => (r.request.object.metadata.annotations = { note: 'x'.repeat(2048) }));
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: big });
  t.equal(res.statusCode, 413);
  t.same(res.json(), { code: 'CIG_ERR_BODY_TOO_LARGE', message: 'request body is larger than 1024 bytes' });
  const ok = await app.inject({ method: 'POST', url: '/mutate', payload: review() });
  t.equal(ok.statusCode, 200);
});

t.test('the default body limit leaves room for an UPDATE of a 3 MiB object', async (t) => {
  const { app } = setup();
  const huge = 'x'.repeat(3 * 1024 * 1024 - 4096);
  const body = review((r) => {
    r.request.operation = 'UPDATE';
    r.request.object.metadata.annotations = { note: huge };
    r.request.oldObject = structuredClone(r.request.object);
  });
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: body });
  t.equal(res.statusCode, 200);
});

t.test('/validate never answers with a patch, even if the decision returns one', async (t) => {
  const { app, logLines } = setup({ admit: fakeAdmit({ patch: 'W10=', patchType: 'JSONPatch', warnings: ['w'] }) });
  const res = await app.inject({ method: 'POST', url: '/validate', payload: review() });
  t.equal(res.statusCode, 200);
  const { response } = res.json();
  t.notOk('patch' in response, 'patch removed');
  t.notOk('patchType' in response, 'patchType removed');
  t.same(response.warnings, ['w'], 'the rest of the answer is kept');
  t.ok(logLines.some((l) => l.level === 50 && /patch from \/validate/.test(String(l.msg))), 'logged at error level');

  const mutate = await app.inject({ method: 'POST', url: '/mutate', payload: review() });
  t.equal(mutate.json().response.patch, 'W10=', '/mutate keeps its patch');
  t.equal(mutate.json().response.patchType, 'JSONPatch');
});

t.test('a mismatched uid or a lone patch is repaired before the API server sees it', async (t) => {
  const admit: Admit = (stage, request) => ({
    response: { uid: 'someone-else', allowed: true, patch: 'W10=' },
    audit: auditFor(stage, request, 'patch'),
  });
  const { app } = setup({ admit });
  const body = review();
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: body });
  t.equal(res.json().response.uid, body.request.uid);
  t.equal(res.json().response.patchType, 'JSONPatch');
});

t.test('fields the API server does not know never leak into the answer', async (t) => {
  const admit: Admit = (stage, request) => ({
    response: { uid: request.uid, allowed: false, status: { code: 403, message: 'no' }, debug: 'secret' } as never,
    audit: auditFor(stage, request, 'deny'),
  });
  const { app } = setup({ admit });
  const res = await app.inject({ method: 'POST', url: '/validate', payload: review() });
  t.same(res.json().response, { uid: review().request.uid, allowed: false, status: { code: 403, message: 'no' } });
});

t.test('a decision that throws gets 500 with a message; the server keeps serving', async (t) => {
  let calls = 0;
  const admit: Admit = (stage, request) => {
    calls++;
    if (calls === 1) throw new Error('boom');
    return fakeAdmit()(stage, request);
  };
  const { app, logLines, metrics, audits } = setup({ admit });
  const body = review();
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: body });
  t.equal(res.statusCode, 500);
  t.same(res.json(), {
    code: 'CIG_ERR_INTERNAL',
    message: `internal error while deciding request ${body.request.uid}; the details are in the webhook log`,
  });
  const logged = logLines.find((l) => l.level === 50);
  t.match(logged, { uid: body.request.uid, webhook: '/mutate', err: { message: 'boom' } }, 'the detail is logged');
  t.equal(audits.length, 0, 'no decision, no audit record');

  const again = await app.inject({ method: 'POST', url: '/mutate', payload: body });
  t.equal(again.statusCode, 200);
  t.match(await metrics.render(), /clusterip_guard_webhook_requests_total\{webhook="\/mutate",code="500"\} 1\n/);
});

t.test('an answer without `allowed` is a 500, not something the API server would reject', async (t) => {
  const admit: Admit = (stage, request) => ({
    response: { uid: request.uid } as never,
    audit: auditFor(stage, request, 'allow'),
  });
  const { app } = setup({ admit });
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: review() });
  t.equal(res.statusCode, 500);
  t.equal(res.json().code, 'CIG_ERR_INTERNAL');
});

t.test('an audit log that throws does not change the answer', async (t) => {
  const { app, logLines } = setup({
    auditLog: () => {
      throw new Error('disk full');
    },
  });
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: review() });
  t.equal(res.statusCode, 200);
  t.ok(logLines.some((l) => l.msg === 'audit log write failed'));
});

t.test('the audit record carries the decision, time and duration; nothing else is logged', async (t) => {
  const admit: Admit = (stage, request) => ({
    response: { uid: request.uid, allowed: false, status: { code: 403, message: '[gnp-schema] bad' } },
    audit: {
      ...auditFor(stage, request, 'deny'),
      findings: [
        { rule: 'gnp-schema', action: 'enforce', path: 'spec.types[0]', message: 'bad' },
        { rule: 'hostendpoint-expected-ips', action: 'warn', path: 'spec', message: 'meh' },
      ],
    },
  });
  const { app, audits, logLines, metrics } = setup({ admit });
  const body = review((r) => (r.request.dryRun = true));
  await app.inject({ method: 'POST', url: '/validate', payload: body });
  t.equal(audits.length, 1);
  const rec = audits[0]!;
  t.match(rec, { uid: body.request.uid, endpoint: 'validate', dryRun: true, decision: 'deny', user: 'alice' });
  t.match(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.ok(rec.durationMs >= 0 && rec.durationMs < 1000, `durationMs ${rec.durationMs}`);
  t.same(logLines.filter((l) => (l.level as number) >= 30), [], 'no info-level line per request');

  const text = await metrics.render();
  t.ok(text.includes('clusterip_guard_decisions_total{webhook="/validate",decision="deny"} 1\n'));
  t.ok(text.includes('clusterip_guard_findings_total{rule="gnp-schema",action="enforce"} 1\n'));
  t.ok(text.includes('clusterip_guard_findings_total{rule="hostendpoint-expected-ips",action="warn"} 1\n'));
  t.ok(text.includes('clusterip_guard_webhook_request_duration_seconds_count{webhook="/validate"} 1\n'));
  t.ok(text.includes('clusterip_guard_webhook_requests_in_flight{webhook="/validate"} 0\n'));
});

t.test('unknown routes and methods get 404 from the catalogue', async (t) => {
  const { app } = setup();
  const res = await app.inject({ method: 'GET', url: '/mutate' });
  t.equal(res.statusCode, 404);
  t.same(res.json(), {
    code: 'CIG_ERR_NOT_FOUND',
    message: 'no route for GET /mutate; the webhook serves POST /mutate and POST /validate',
  });
});

t.test('the API server appends ?timeout=<n>s to the webhook URL: routed on the path alone', async (t) => {
  const { app, audits } = setup();
  for (const url of ['/mutate?timeout=5s', '/validate?timeout=10s']) {
    const res = await app.inject({ method: 'POST', url, payload: review() });
    t.equal(res.statusCode, 200, url);
    t.equal(res.json().response.allowed, true, url);
  }
  t.same(audits.map((a) => a.endpoint), ['mutate', 'validate']);
});
