/**
 * Inputs that once got a 500 or lost their audit line, through the real decision over a
 * cluster snapshot with policies (so every Service and policy rule runs).
 */
import t from 'tap';
import { buildWebhookApp } from '../../src/server/app.ts';
import type { TimedAuditRecord } from '../../src/server/app.ts';
import { MAX_JSON_DEPTH } from '../../src/server/json-body.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { makeAdmit } from '../../bench/admit.ts';
import { review } from './helpers.ts';

const JSON_CT = { 'content-type': 'application/json' };
/** `[[[…leaf…]]]` `depth` deep, as text: JSON.stringify itself overflows on such values. */
const nested = (depth: number, leaf: string): string => '['.repeat(depth) + leaf + ']'.repeat(depth);
/** A string value that stands for the nested part until the text is spliced. */
const PLACE = '@nested@';
const NESTED = JSON.stringify(PLACE);

const gnp = (spec: Record<string, unknown>) =>
  review((r) => {
    r.request.kind = { group: 'projectcalico.org', version: 'v3', kind: 'GlobalNetworkPolicy' };
    delete r.request.namespace;
    r.request.name = 'p';
    r.request.object = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'p' }, spec };
  });
const rule = (over: Record<string, unknown>) =>
  gnp({ selector: "k8s-role == 'node'", preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', ...over }] });

async function setup() {
  const audits: TimedAuditRecord[] = [];
  const { admit } = await makeAdmit();
  const app = buildWebhookApp({ admit, auditLog: (rec) => audits.push(rec), metrics: createMetrics(), logger: false });
  t.teardown(() => app.close());
  return { app, audits };
}

t.test('nesting past the depth limit is a 400 naming the limit, at any place in the body', async (t) => {
  const { app } = await setup();
  const cases: Array<[string, string, string]> = [
    ['escaped key + array 3,000 deep', '/validate', JSON.stringify(review((r) => (r.request.object.metadata.annotations = { a_: PLACE }))).replace('"a_"', '"a\\u005f"').replace(NESTED, nested(3000, '1'))],
    ['GNP protocol 5,000 deep at /mutate', '/mutate', JSON.stringify(rule({ protocol: PLACE })).replace(NESTED, nested(5000, '"TCP"'))],
    ['GNP ports 5,000 deep at /mutate', '/mutate', JSON.stringify(rule({ protocol: 'TCP', destination: { ports: PLACE } })).replace(NESTED, nested(5000, '80'))],
    ['Service metadata.name 5,000 deep', '/validate', JSON.stringify(review((r) => (r.request.object.metadata.name = PLACE))).replace(NESTED, nested(5000, '"x"'))],
  ];
  for (const [name, url, payload] of cases) {
    const res = await app.inject({ method: 'POST', url, payload, headers: JSON_CT });
    t.equal(res.statusCode, 400, `${name}: status ${res.body.slice(0, 200)}`);
    t.match(res.json(), { code: 'CIG_ERR_BAD_REVIEW', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }, `${name}: message`);
  }
});

t.test('nesting at the limit is accepted; brackets inside strings do not count', async (t) => {
  const { app, audits } = await setup();
  // The review, request, object, metadata and annotations objects are 5 levels.
  const deep = (arrays: number) => JSON.stringify(review((r) => (r.request.object.metadata.annotations = { deep: PLACE }))).replace(NESTED, nested(arrays, '1'));
  const at = await app.inject({ method: 'POST', url: '/validate', payload: deep(MAX_JSON_DEPTH - 5), headers: JSON_CT });
  t.equal(at.statusCode, 200, `${MAX_JSON_DEPTH} levels in all`);
  const over = await app.inject({ method: 'POST', url: '/validate', payload: deep(MAX_JSON_DEPTH - 4), headers: JSON_CT });
  t.equal(over.statusCode, 400, `${MAX_JSON_DEPTH + 1} levels`);
  const brackets = review((r) => (r.request.object.metadata.annotations = { note: `\\"${'['.repeat(5000)}` }));
  t.equal((await app.inject({ method: 'POST', url: '/validate', payload: brackets })).statusCode, 200, 'brackets in a string');
  t.equal(audits.length, 2);
});

t.test('odd values in rule fields are judged, not a 500, and each decision is audited', async (t) => {
  const { app, audits } = await setup();
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['spec.types with valueOf objects', '/validate', gnp({ selector: 'all()', types: [{ valueOf: 1 }, { valueOf: 1 }] })],
    ['spec.types with valueOf objects at /mutate', '/mutate', gnp({ selector: 'all()', types: [{ valueOf: 1 }, { valueOf: 1 }] })],
    ['Service ports [null]', '/validate', review((r) => (r.request.object.spec.ports = [null]))],
    ['Service port 0', '/validate', review((r) => (r.request.object.spec.ports = [{ port: 0 }]))],
  ];
  for (const [name, url, payload] of cases) {
    const res = await app.inject({ method: 'POST', url, payload });
    t.equal(res.statusCode, 200, name);
  }
  t.equal(audits.length, cases.length, 'one audit line each');
});
