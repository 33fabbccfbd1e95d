/** The shutdown and handover tests' server process: test/server/fixtures/serve.ts, started and watched. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { SelfSignedCert } from './helpers.ts';

const fixture = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));

export interface Served {
  child: ChildProcess;
  webhookPort: number;
  probePort: number;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts test/server/fixtures/serve.ts with `cert`; killed at the end of the test if still running. */
export async function startServe(cert: SelfSignedCert, env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, CERT_FILE: cert.certFile, KEY_FILE: cert.keyFile, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null });
  let stdout = '';
  const firstLine = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) resolve();
    });
    child.stdout!.on('end', () => reject(new Error(`fixture did not start: ${stderr}`)));
  });
  await firstLine;
  const ports = JSON.parse(stdout.split('\n')[0]!) as { webhookPort: number; probePort: number };
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, ...ports, stderr: () => stderr, stdout: () => stdout, exited };
}

export function probeGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

