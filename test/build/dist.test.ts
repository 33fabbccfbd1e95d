/**
 * The image runs `node dist/main.js` (tsc's output), not the .ts sources the other tests run:
 * every module a worker or child process is started from must resolve there too. This builds
 * the project into a temporary directory and serves from it: the policy-analysis worker has to
 * load before the process says it is serving, and a large policy review (decided in the
 * worker) is answered.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import t from 'tap';
import { largePolicyReview } from '../../bench/reviews.ts';

const root = join(import.meta.dirname, '../..');
// Inside the project, so that package.json ("type": "module") and node_modules apply as in the image.
const out = mkdtempSync(join(root, '.dist-test-'));
/** Runs node as the image does: the shell drops the test runner's NODE_OPTIONS (its loader hooks). */
const plainNode = (args: string[]) => ['sh', ['-c', 'NODE_OPTIONS= exec "$0" "$@"', process.execPath, ...args]] as const;
t.teardown(() => rmSync(out, { recursive: true, force: true }));

t.test('serve from the tsc build starts its analysis worker and answers a policy in it', async (t) => {
  const tsc = spawnSync(...plainNode([join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', out, '--sourceMap', 'false']), { encoding: 'utf8' });
  t.equal(tsc.status, 0, `tsc builds: ${tsc.stdout}${tsc.stderr}`);
  const server = spawn(...plainNode([join(out, 'main.js'), 'serve', '--no-cluster', '--host', '127.0.0.1', '--port', '0', '--probe-port', '0']), { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => server.kill('SIGKILL'));
  let log = '';
  const serving = new Promise<{ webhook: string }>((resolve, reject) => {
    const onData = (d: Buffer) => {
      log += d.toString();
      for (const line of log.split('\n')) {
        if (line.includes('"clusterip-guard serving"')) resolve(JSON.parse(line) as { webhook: string });
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${log}`)));
    setTimeout(() => reject(new Error(`not serving after 30 s:\n${log}`)), 30_000).unref();
  });
  const { webhook } = await serving;
  t.notMatch(log, /worker failed/, 'no worker failed to load');
  // Over 64 KiB: decided in the worker (the raw-body path), not on the main thread.
  const body = JSON.stringify(largePolicyReview(600, 4));
  t.ok(body.length > 64 * 1024, `the review is ${body.length} bytes`);
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request(`${webhook}/validate`, { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  t.equal(reply.status, 200);
  const review = JSON.parse(reply.body) as { response: { allowed: boolean; warnings?: string[] } };
  t.equal(review.response.allowed, true);
  t.notMatch((review.response.warnings ?? []).join('\n'), /analysis worker failed/, 'the worker decided it');
  server.kill('SIGTERM');
  await once(server, 'exit');
});
