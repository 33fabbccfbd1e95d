import t from 'tap';
import type http from 'node:http';
import https from 'node:https';
import { installShutdown } from '../../src/server/shutdown.ts';
import { makeCert, removeDir, review } from './helpers.ts';
import type { SelfSignedCert } from './helpers.ts';
import { probeGet, startServe, waitFor } from './serve-process.ts';

let cert: SelfSignedCert;
t.before(() => {
  cert = makeCert('shutdown');
});
t.teardown(() => removeDir(cert.dir));

const serve = (env: Record<string, string> = {}) => startServe(cert, env);

/** Starts a /mutate request and sends only the first half of its body: a request in flight. */
function halfSentRequest(port: number, agent: https.Agent | false) {
  const body = JSON.stringify(review((r) => (r.request.uid = 'in-flight')));
  const half = Math.floor(body.length / 2);
  const req = https.request({
    host: '127.0.0.1',
    port,
    path: '/mutate',
    method: 'POST',
    agent,
    ca: cert.cert,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, half));
  return { finish: () => req.end(body.slice(half)), response, abort: () => req.destroy() };
}

const inFlight = (probePort: number) => () => probeGet(probePort, '/metrics');
const hasOneInFlight = (r: { body: string }) => r.body.includes('clusterip_guard_webhook_requests_in_flight{webhook="/mutate"} 1\n');

t.test('SIGTERM: readiness drops, the request in flight completes, idle sockets close, exit 0', async (t) => {
  // Audit lines wait a minute here, so only the shutdown can have written them.
  const s = await serve({ AUDIT_FLUSH_MS: '60000' });

  // An idle keep-alive connection, as the API server leaves between requests.
  const idleAgent = new https.Agent({ keepAlive: true, ca: cert.cert });
  t.teardown(() => idleAgent.destroy());
  const warm = halfSentRequest(s.webhookPort, idleAgent);
  warm.finish();
  t.equal((await warm.response).status, 200);

  t.equal((await probeGet(s.probePort, '/readyz')).status, 200, 'ready before the signal');
  const flight = halfSentRequest(s.webhookPort, false);
  await waitFor('the request to be in flight', inFlight(s.probePort), hasOneInFlight);

  s.child.kill('SIGTERM');
  const ready = await waitFor('readiness to drop', () => probeGet(s.probePort, '/readyz'), (r) => r.status === 503);
  t.equal(ready.body, 'not ready: shutting down', 'readyz is 503 during the drain');
  t.equal(s.child.exitCode, null, 'still running while a request is in flight');

  flight.finish();
  const res = await flight.response;
  t.equal(res.status, 200, 'the request in flight is answered');
  const answer = JSON.parse(res.body);
  t.equal(answer.response.uid, 'in-flight', 'in full');
  t.equal(res.headers.connection, 'close', 'and told not to reuse the connection');

  const exit = await s.exited;
  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.match(s.stderr(), /shutdown complete/);
  const audit = s.stdout().split('\n').slice(1).filter((l) => l !== '').map((l) => JSON.parse(l) as { log: string; uid: string });
  t.same(audit.map((a) => [a.log, a.uid]), [['audit', 'in-flight'], ['audit', 'in-flight']], 'both decisions are in the audit log, written at exit');
});

t.test('a second signal forces exit 1', async (t) => {
  const s = await serve();
  const flight = halfSentRequest(s.webhookPort, false);
  flight.response.catch(() => {});
  await waitFor('the request to be in flight', inFlight(s.probePort), hasOneInFlight);
  s.child.kill('SIGTERM');
  await waitFor('readiness to drop', () => probeGet(s.probePort, '/readyz'), (r) => r.status === 503);
  s.child.kill('SIGTERM');
  t.same(await s.exited, { code: 1, signal: null });
  t.match(s.stderr(), /second signal/);
});

t.test('the grace period bounds the drain: exit 1', async (t) => {
  const s = await serve({ GRACE_MS: '300' });
  const flight = halfSentRequest(s.webhookPort, false);
  flight.response.catch(() => {});
  await waitFor('the request to be in flight', inFlight(s.probePort), hasOneInFlight);
  const started = Date.now();
  s.child.kill('SIGTERM');
  t.same(await s.exited, { code: 1, signal: null });
  t.ok(Date.now() - started < 5000, 'soon after the grace period');
  t.match(s.stderr(), /grace period over/);
});

t.test('in process: close order, failures give exit code 1', async (t) => {
  const order: string[] = [];
  const closable = (name: string, fail = false) => ({
    close: async () => {
      order.push(name);
      if (fail) throw new Error(`${name} broke`);
    },
  });
  const probe = { app: closable('probe'), markShuttingDown: () => order.push('not-ready') };
  const stop = installShutdown({
    apps: [closable('webhook', true)],
    probe,
    graceMs: 5000,
    drainDelayMs: 10,
    cleanup: [() => order.push('cleanup')],
    signals: [],
  });
  const code = await stop.shutdown('test');
  t.equal(code, 1);
  t.same(order, ['not-ready', 'webhook', 'cleanup', 'probe']);
  t.equal(await stop.done, 1, 'done is the same outcome');
});
