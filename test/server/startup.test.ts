/** `clusterip-guard serve` start-up failures: a catalogue code, an exit status, nothing left serving. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { removeDir } from './helpers.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

async function serve(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [main, 'serve', '--no-cluster', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

async function busyPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

t.test('a busy probe port: CIG_ERR_LISTEN, exit 3, and the process does not stay up serving webhooks', async (t) => {
  const port = await busyPort();
  const { code, stderr } = await serve(['--port', '0', '--probe-port', String(port)]);
  t.equal(code, 3);
  t.match(stderr, `clusterip-guard: CIG_ERR_LISTEN: cannot listen on 127.0.0.1:${port} (--probe-port): EADDRINUSE`);
  t.notMatch(stderr, /unexpected error/);
});

t.test('a busy webhook port: the probe server already listening is closed again, exit 3', async (t) => {
  const port = await busyPort();
  const { code, stderr } = await serve(['--port', String(port), '--probe-port', '0']);
  t.equal(code, 3);
  t.match(stderr, `CIG_ERR_LISTEN: cannot listen on 127.0.0.1:${port} (--port): EADDRINUSE`);
});

t.test('a YAML alias bomb in the config: CIG_ERR_CONFIG_UNREADABLE, exit 1, no stack trace', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cig-bomb-'));
  t.teardown(() => removeDir(dir));
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']] as const) lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  writeFileSync(join(dir, 'bomb.yaml'), lines.join('\n') + '\n');
  const { code, stderr } = await serve(['--port', '0', '--probe-port', '0', '--config', join(dir, 'bomb.yaml')]);
  t.equal(code, 1);
  t.match(stderr, /^clusterip-guard: CIG_ERR_CONFIG_UNREADABLE: config file .*bomb\.yaml cannot be loaded: Excessive alias count/);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
});

t.test('--drain-delay and --shutdown-timeout take durations', async (t) => {
  const { code, stderr } = await serve(['--drain-delay', 'soon']);
  t.equal(code, 2);
  t.match(stderr, 'CIG_ERR_USAGE: --drain-delay must be a duration such as 500ms or 5s (got "soon")');
});
