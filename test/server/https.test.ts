import t from 'tap';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { buildWebhookApp, DEFAULT_KEEP_ALIVE_TIMEOUT_MS } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { fakeAdmit, makeCert, removeDir, review } from './helpers.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  socket: TLSSocket;
}

function post(agent: https.Agent, port: number, path: string, payload: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const socket = res.socket as TLSSocket; // detached from the response once it ends
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

t.test('over real HTTPS: certificate trusted, HTTP/1.1 keep-alive reuses one socket', async (t) => {
  const cert = makeCert('webhook');
  t.teardown(() => removeDir(cert.dir));
  const app = buildWebhookApp({
    admit: fakeAdmit(),
    auditLog: () => {},
    metrics: createMetrics(),
    https: { key: cert.key, cert: cert.cert },
  });
  t.teardown(() => app.close());
  let connections = 0;
  app.server.on('secureConnection', () => connections++);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  t.equal(app.server.keepAliveTimeout, DEFAULT_KEEP_ALIVE_TIMEOUT_MS, 'keep-alive outlasts the API server idle timeout');
  t.ok(DEFAULT_KEEP_ALIVE_TIMEOUT_MS > 90_000);

  // Like the API server's client: keep-alive, one connection, the CA in the trust store.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert.cert });
  t.teardown(() => agent.destroy());

  const sockets = new Set<TLSSocket>();
  for (let i = 0; i < 5; i++) {
    const body = review((r) => (r.request.uid = `uid-${i}`));
    const res = await post(agent, port, i % 2 ? '/validate' : '/mutate', JSON.stringify(body));
    t.equal(res.status, 200, `request ${i}`);
    t.equal(JSON.parse(res.body).response.uid, `uid-${i}`);
    t.not(res.headers.connection, 'close');
    t.ok(res.socket.authorized, 'server certificate verified against the test CA');
    t.equal(res.socket.getPeerCertificate().fingerprint256, cert.fingerprint256);
    t.equal(res.socket.alpnProtocol, false, 'plain HTTP/1.1, no ALPN upgrade');
    sockets.add(res.socket);
  }
  t.equal(sockets.size, 1, 'all requests went over one socket');
  t.equal(connections, 1, 'the server saw one TLS connection');

  // A refused body closes that connection (the rest of it cannot be trusted); the next request reconnects.
  const bad = await post(agent, port, '/mutate', '{"nope"');
  t.equal(bad.status, 400);
  t.equal(bad.headers.connection, 'close');
  const after = await post(agent, port, '/mutate', JSON.stringify(review()));
  t.equal(after.status, 200);
});

t.test('over real HTTPS: a body written in pieces that split a UTF-8 character arrives whole, parsed or raw', async (t) => {
  const cert = makeCert('webhook');
  t.teardown(() => removeDir(cert.dir));
  const seen: string[] = [];
  const rawTexts: string[] = [];
  const app = buildWebhookApp({
    admit: (stage, request) => {
      seen.push((request.object as { metadata: { annotations: { note: string } } }).metadata.annotations.note);
      return fakeAdmit()(stage, request);
    },
    admitRaw: async (stage, text) => {
      rawTexts.push(text);
      const { request } = JSON.parse(text) as AdmissionReview;
      return { uid: request.uid, decision: await fakeAdmit()(stage, request) };
    },
    auditLog: () => {},
    metrics: createMetrics(),
    https: { key: cert.key, cert: cert.cert },
  });
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const agent = new https.Agent({ keepAlive: false, ca: cert.cert });
  t.teardown(() => agent.destroy());

  const note = 'zürich € 😀 ';
  for (const [name, repeat] of [['small (parsed here)', 10], ['large (raw, for the worker)', 9000]] as const) {
    const payload = JSON.stringify(review((r) => (r.request.object.metadata.annotations = { note: note.repeat(repeat) })));
    const bytes = Buffer.from(payload);
    const cut = bytes.indexOf(Buffer.from('😀')) + 2; // inside the 4-byte character
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        { agent, host: '127.0.0.1', port, path: '/validate', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': bytes.length } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(bytes.subarray(0, cut));
      setTimeout(() => req.end(bytes.subarray(cut)), 20);
    });
    t.equal(status, 200, `${name}: answered`);
    if (repeat === 10) t.same(seen, [note.repeat(10)], `${name}: the decision saw the text as sent`);
    else t.same(rawTexts, [payload], `${name}: the worker gets the text as sent`);
  }
});
