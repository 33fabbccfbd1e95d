/**
 * Handover on SIGTERM as a rolling update sees it: two webhook processes behind a round-robin
 * TCP proxy (standing for the Service; like conntrack, a connection stays with the backend it
 * was given), the old backend leaving the proxy's rotation 1 s after its SIGTERM (endpoint
 * removal), load at 500 requests/s over keep-alive connections. Loopback only.
 */
import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import type { Test } from 'tap';
import { makeCert, removeDir, review } from './helpers.ts';
import type { SelfSignedCert } from './helpers.ts';
import { probeGet, startServe, waitFor } from './serve-process.ts';
import type { Served } from './serve-process.ts';

const DRAIN_DELAY_MS = 2000;
const ENDPOINT_REMOVAL_MS = 1000;

let cert: SelfSignedCert;
t.before(() => {
  cert = makeCert('handover');
});
t.teardown(() => removeDir(cert.dir));

const serve = () => startServe(cert, { DRAIN_DELAY_MS: String(DRAIN_DELAY_MS) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const body = JSON.stringify(review());
const rawRequest = `POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** A kept-alive TLS connection driven by hand, recording every event a reset would show up in. */
async function rawConnection(port: number) {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: cert.cert });
  await once(socket, 'secureConnect');
  const events: string[] = [];
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => events.push(`error ${err.code}`));
  socket.on('end', () => events.push('end'));
  const closed = once(socket, 'close');
  const exchange = async () => {
    data = '';
    socket.write(rawRequest);
    await waitFor('a whole response', async () => data, (d) => /\r\n\r\n/.test(d) && d.includes('"response"'));
    return data;
  };
  return { socket, events, exchange, closed };
}

t.test('idle keep-alive connections: their next request is answered with Connection: close; untouched ones get a FIN, never a reset', async (t) => {
  const s = await serve();
  const used = await rawConnection(s.webhookPort);
  const untouched = await rawConnection(s.webhookPort);
  t.match(await used.exchange(), /^HTTP\/1\.1 200 [\s\S]*connection: keep-alive/i, 'kept alive before the signal');
  t.match(await untouched.exchange(), /^HTTP\/1\.1 200/);

  s.child.kill('SIGTERM');
  await waitFor('readiness to drop', () => probeGet(s.probePort, '/readyz'), (r) => r.status === 503);
  const during = await used.exchange();
  t.match(during, /^HTTP\/1\.1 200 /, 'a request on an idle connection during the drain is answered');
  t.match(during, /connection: close/i, 'and told to go elsewhere');
  await used.closed;
  t.same(used.events, ['end'], 'then the server ended that connection cleanly');

  await untouched.closed;
  t.same(untouched.events, ['end'], 'the connection left idle got a FIN when the listener closed');
  t.same(await s.exited, { code: 0, signal: null });
});

/** Round-robin over the backends in rotation; a connection keeps its backend for life. */
async function roundRobinProxy(t: Test) {
  const rotation: number[] = [];
  const open = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    const port = rotation[next++ % rotation.length]!;
    const upstream = net.connect(port, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.close();
    for (const socket of open) socket.destroy();
  });
  return { port: (server.address() as AddressInfo).port, rotation };
}

/** Sends `rate` requests/s until stopped; counts answers and every kind of failure. */
function steadyLoad(port: number, rate: number) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: cert.cert });
  const tally = { sent: 0, ok: 0, failures: [] as string[] };
  const one = (): void => {
    tally.sent++;
    const req = https.request(
      { host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          if (res.statusCode === 200 && text.includes('"allowed":true')) tally.ok++;
          else tally.failures.push(`HTTP ${res.statusCode}`);
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => tally.failures.push(err.code ?? err.message));
    req.end(body);
  };
  // Paced by the clock, not by the timer: a late tick sends what is due.
  const started = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (tally.sent < due) one();
  }, 2);
  return {
    tally,
    async stop() {
      clearInterval(timer);
      await waitFor('the last answers', async () => tally.ok + tally.failures.length, (n) => n === tally.sent, 10_000);
      agent.destroy();
    },
  };
}

t.test('a rolling restart of both backends under 500 requests/s loses no request', async (t) => {
  const proxy = await roundRobinProxy(t);
  const backends: Served[] = [await serve(), await serve()];
  proxy.rotation.push(...backends.map((b) => b.webhookPort));
  const load = steadyLoad(proxy.port, 500);
  await sleep(1000);

  for (let i = 0; i < backends.length; i++) {
    const old = backends[i]!;
    old.child.kill('SIGTERM');
    const replacement = serve();
    await sleep(ENDPOINT_REMOVAL_MS);
    proxy.rotation.splice(proxy.rotation.indexOf(old.webhookPort), 1);
    const fresh = await replacement;
    await waitFor('the new backend to be ready', () => probeGet(fresh.probePort, '/readyz'), (r) => r.status === 200);
    proxy.rotation.push(fresh.webhookPort);
    t.same(await old.exited, { code: 0, signal: null }, `old backend ${i} exited 0`);
    backends[i] = fresh;
    await sleep(500);
  }
  await load.stop();
  for (const b of backends) b.child.kill('SIGTERM');
  await Promise.all(backends.map((b) => b.exited));

  t.same(load.tally.failures, [], 'no request failed');
  t.ok(load.tally.sent >= 2500, `${load.tally.sent} requests sent, ${load.tally.ok} answered`);
  t.equal(load.tally.ok, load.tally.sent);
});
