import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildWebhookApp } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { fakeAdmit } from './helpers.ts';

t.test('a body that trickles in gets 408 at requestTimeoutMs (within the 1 s check interval)', async (t) => {
  const app = buildWebhookApp({ admit: fakeAdmit(), auditLog: () => {}, metrics: createMetrics(), logger: false, requestTimeoutMs: 1500 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const { port } = app.server.address() as AddressInfo;
  const started = Date.now();
  const answer = await new Promise<{ status: string; seconds: number }>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    });
    // One byte every 200 ms: the body would take 200 s.
    const drip = setInterval(() => socket.write(' '), 200);
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      clearInterval(drip);
      resolve({ status: got.split('\r\n')[0] ?? '', seconds: (Date.now() - started) / 1000 });
    });
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
  t.equal(answer.status, 'HTTP/1.1 408 Request Timeout');
  t.ok(answer.seconds >= 1.4 && answer.seconds < 3.5, `answered after ${answer.seconds} s`);
});
