import t from 'tap';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { pino } from 'pino';
import { buildWebhookApp } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { GuardError } from '../../src/errors.ts';
import { loadTlsPair, secureServerOf, watchTlsFiles } from '../../src/server/tls.ts';
import type { TlsPair } from '../../src/server/tls.ts';
import { fakeAdmit, makeCert, removeDir, review } from './helpers.ts';
import type { SelfSignedCert } from './helpers.ts';

/**
 * A directory laid out like a Kubernetes secret volume: `tls.crt` → `..data/tls.crt`,
 * `..data` → `..<version>/`, and an update swaps `..data` atomically with a rename.
 */
function secretVolume() {
  const dir = mkdtempSync(join(tmpdir(), 'cig-secret-'));
  let version = 0;
  const publish = (cert: string, key: string): void => {
    const versionDir = `..v${++version}`;
    mkdirSync(join(dir, versionDir));
    writeFileSync(join(dir, versionDir, 'tls.crt'), cert);
    writeFileSync(join(dir, versionDir, 'tls.key'), key);
    symlinkSync(versionDir, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  return {
    dir,
    files: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    init(cert: string, key: string) {
      publish(cert, key);
      symlinkSync(join('..data', 'tls.crt'), join(dir, 'tls.crt'));
      symlinkSync(join('..data', 'tls.key'), join(dir, 'tls.key'));
    },
    publish,
  };
}

/** Opens a fresh TLS connection trusting `ca` and returns the served certificate's fingerprint. */
function servedFingerprint(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      if (!socket.authorized) reject(new Error(`not authorized: ${String(socket.authorizationError)}`));
      else resolve(fp);
    });
    socket.on('error', reject);
  });
}

function logCapture() {
  const lines: Array<Record<string, any>> = [];
  const logger = pino(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()));
        cb();
      },
    }),
  );
  return { lines, logger };
}

let certs: SelfSignedCert[];
t.before(() => {
  certs = [makeCert('first'), makeCert('second'), makeCert('third')];
});
t.teardown(() => certs.forEach((c) => removeDir(c.dir)));

t.test('loadTlsPair names what is wrong', async (t) => {
  const [a, b] = certs as [SelfSignedCert, SelfSignedCert];
  const pair = loadTlsPair({ certFile: a.certFile, keyFile: a.keyFile });
  t.equal(pair.fingerprint256, a.fingerprint256);
  t.ok(pair.validTo.getTime() > Date.now());

  const cases = [
    { name: 'missing file', files: { certFile: join(a.dir, 'nope.crt'), keyFile: a.keyFile }, message: /ENOENT/ },
    { name: 'key of another certificate', files: { certFile: a.certFile, keyFile: b.keyFile }, message: /the key does not belong to the certificate/ },
    { name: 'key in the cert slot', files: { certFile: a.keyFile, keyFile: a.keyFile }, message: /the certificate is not a PEM certificate/ },
  ];
  for (const c of cases) {
    try {
      loadTlsPair(c.files);
      t.fail(`${c.name}: should throw`);
    } catch (err) {
      t.ok(err instanceof GuardError, c.name);
      t.equal((err as GuardError).code, 'CIG_ERR_TLS', c.name);
      t.equal((err as GuardError).exitStatus, 1, `${c.name}: start-up fails with exit 1`);
      t.match((err as Error).message, c.message, c.name);
      t.match((err as Error).message, c.files.certFile, `${c.name}: names the file`);
    }
  }
});

t.test('a rotated certificate is served to new connections without a restart', async (t) => {
  const [first, second, third] = certs as [SelfSignedCert, SelfSignedCert, SelfSignedCert];
  const ca = [first.cert, second.cert, third.cert];
  const volume = secretVolume();
  t.teardown(() => removeDir(volume.dir));
  volume.init(first.cert, first.key);

  const initial = loadTlsPair(volume.files);
  const app = buildWebhookApp({ admit: fakeAdmit(), auditLog: () => {}, metrics: createMetrics(), https: initial });
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;

  const { lines, logger } = logCapture();
  let reloaded: (pair: TlsPair) => void = () => {};
  const watcher = watchTlsFiles({
    files: volume.files,
    initial,
    servers: [secureServerOf(app)],
    logger,
    debounceMs: 20,
    pollMs: 0, // this test relies on the directory watch alone
    onReload: (pair) => reloaded(pair),
  });
  t.teardown(() => watcher.close());

  t.equal(await servedFingerprint(port, ca), first.fingerprint256, 'serves the first certificate');

  // A connection opened before the rotation, kept alive across it.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: 'localhost' });
  t.teardown(() => agent.destroy());
  const postOnAgent = () =>
    new Promise<{ status: number; fingerprint: string }>((resolve, reject) => {
      const payload = JSON.stringify(review());
      const req = https.request(
        { agent, host: '127.0.0.1', port, path: '/validate', method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          const fingerprint = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  t.equal((await postOnAgent()).fingerprint, first.fingerprint256);

  const swapped = new Promise<TlsPair>((resolve) => (reloaded = resolve));
  volume.publish(second.cert, second.key);
  const pair = await swapped;
  t.equal(pair.fingerprint256, second.fingerprint256, 'the watch picked up the ..data swap');
  t.equal(watcher.current().fingerprint256, second.fingerprint256);
  t.equal(await servedFingerprint(port, ca), second.fingerprint256, 'new connections get the new certificate');
  t.match(lines.find((l) => l.msg === 'TLS certificate reloaded'), { fingerprint256: second.fingerprint256 });

  const kept = await postOnAgent();
  t.equal(kept.status, 200, 'the kept-alive connection still works');
  t.equal(kept.fingerprint, first.fingerprint256, 'and still runs on the session it started with');

  // A broken replacement: the third certificate with the second's key.
  volume.publish(third.cert, second.key);
  t.equal(await watcher.check(), false, 'a mismatched pair is not taken');
  t.equal(await servedFingerprint(port, ca), second.fingerprint256, 'the old certificate stays in use');
  const rejected = lines.filter((l) => l.code === 'CIG_ERR_TLS');
  t.equal(rejected.length, 1, 'the rejection is logged once');
  t.match(rejected[0], { level: 50, keeping: second.fingerprint256, err: { message: /does not belong/ } });
  await watcher.check();
  t.equal(lines.filter((l) => l.code === 'CIG_ERR_TLS').length, 1, 'and not again for the same files');

  // Garbage, then a good pair written in place (no symlink swap), found by an explicit check.
  volume.publish('not a certificate', 'not a key');
  t.equal(await watcher.check(), false);
  t.equal(await servedFingerprint(port, ca), second.fingerprint256);
  volume.publish(third.cert, third.key);
  await watcher.check();
  t.equal(await servedFingerprint(port, ca), third.fingerprint256, 'a good pair after a bad one is taken');
});

t.test('polling alone notices a change', async (t) => {
  const [first, second] = certs as [SelfSignedCert, SelfSignedCert];
  const dir = mkdtempSync(join(tmpdir(), 'cig-poll-'));
  t.teardown(() => removeDir(dir));
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  writeFileSync(files.certFile, first.cert);
  writeFileSync(files.keyFile, first.key);
  const swaps: string[] = [];
  const target = { setSecureContext: () => swaps.push('swap') };
  const watcher = watchTlsFiles({ files, initial: loadTlsPair(files), servers: [target], pollMs: 30, debounceMs: 10_000 });
  t.teardown(() => watcher.close());
  writeFileSync(files.keyFile, second.key);
  writeFileSync(files.certFile, second.cert);
  const deadline = Date.now() + 5000;
  while (watcher.current().fingerprint256 !== second.fingerprint256 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(watcher.current().fingerprint256, second.fingerprint256);
  t.same(swaps, ['swap'], 'the server context was replaced once');
});

t.test('secureServerOf refuses a plain-HTTP app', async (t) => {
  const app = buildWebhookApp({ admit: fakeAdmit(), auditLog: () => {}, metrics: createMetrics() });
  t.throws(() => secureServerOf(app), /plain HTTP/);
});
