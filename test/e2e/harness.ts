/**
 * A real control plane for end-to-end tests: etcd + kube-apiserver from control-plane.sh, the
 * webhook started from src/main.ts with a certificate made here, registered by URL + caBundle.
 * Everything started is stopped in `stop()`, which tests call from `t.teardown`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'test/e2e/control-plane.sh');

export type CalicoMode = 'stand-in' | 'crds' | 'apiserver';

/** The Calico mode the e2e suite runs in (CIG_E2E_CALICO, default the stand-in CRDs). */
export function calicoMode(): CalicoMode {
  const mode = process.env['CIG_E2E_CALICO'] ?? 'stand-in';
  if (mode !== 'stand-in' && mode !== 'crds' && mode !== 'apiserver') throw new Error(`CIG_E2E_CALICO must be stand-in, crds or apiserver, got "${mode}"`);
  return mode;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

export class ControlPlane {
  readonly state: string;
  readonly env: Record<string, string>;
  readonly certDir: string;
  readonly webhookPort: number;
  readonly probePort: number;
  webhook: ChildProcess | null = null;
  webhookLog = '';

  private constructor(state: string, env: Record<string, string>, certDir: string, webhookPort: number, probePort: number) {
    this.state = state;
    this.env = env;
    this.certDir = certDir;
    this.webhookPort = webhookPort;
    this.probePort = probePort;
  }

  /**
   * Starts etcd + kube-apiserver (+ CRDs) and makes the webhook's certificate. `calico` picks how
   * Calico's API is served (control-plane.sh CIG_E2E_CALICO): the stand-in CRDs, Calico's own
   * CRDs, or those plus the real calico-apiserver. CIG_E2E_CALICO in the environment is the default.
   */
  static async start(opts: { calico?: CalicoMode } = {}): Promise<ControlPlane> {
    const state = await mkdtemp(join(tmpdir(), 'cig-e2e-'));
    await rm(state, { recursive: true });
    const calico = opts.calico ?? calicoMode();
    try {
      await run('bash', [SCRIPT, 'up', state], { maxBuffer: 16 << 20, env: { ...process.env, CIG_E2E_CALICO: calico } });
    } catch (err) {
      await run('bash', [SCRIPT, 'down', state]).catch(() => undefined);
      throw new Error(`control plane did not start: ${(err as { stderr?: string }).stderr ?? String(err)}`);
    }
    const env = parseEnv(await readFile(join(state, 'env'), 'utf8'));
    const certDir = join(state, 'webhook-certs');
    await run('bash', [join(ROOT, 'certs/make-certs.sh'), '--out', certDir, '--service', 'clusterip-guard', '--namespace', 'clusterip-guard', '--days', '2']);
    return new ControlPlane(state, env, certDir, await freePort(), await freePort());
  }

  get webhookUrl(): string {
    return `https://127.0.0.1:${this.webhookPort}`;
  }

  /** Starts the webhook against this API server and waits until /readyz answers 200. */
  async startWebhook(extraArgs: string[] = []): Promise<void> {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'src/main.ts'), 'serve', '--tls-cert', join(this.certDir, 'tls.crt'), '--tls-key', join(this.certDir, 'tls.key'),
        '--host', '127.0.0.1', '--port', String(this.webhookPort), '--probe-port', String(this.probePort), '--kubeconfig', this.env['KUBECONFIG']!, ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.webhook = child;
    // control-plane.sh down stops it too, should this process die first.
    await writeFile(join(this.state, 'webhook.pid'), `${child.pid}\n`);
    const append = (chunk: Buffer) => {
      this.webhookLog += chunk.toString();
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`webhook exited (${child.exitCode}):\n${this.webhookLog}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.probePort}/readyz`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`webhook not ready within 60 s:\n${this.webhookLog}`);
  }

  async stopWebhook(): Promise<number | null> {
    const child = this.webhook;
    if (child === null || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    if (code === null && child.exitCode === null) child.kill('SIGKILL');
    this.webhook = null;
    return code;
  }

  async register(failurePolicy: 'Fail' | 'Ignore' = 'Fail'): Promise<void> {
    await run('bash', [SCRIPT, 'webhook-register', this.state, this.webhookUrl, join(this.certDir, 'ca.crt'), failurePolicy]);
  }

  /** Runs the built kubectl; never throws for a non-zero exit. `input` goes to stdin (`-f -`). */
  kubectl(args: string[], input?: string): Promise<KubectlResult> {
    return new Promise((res) => {
      const child = spawn(this.env['CIG_E2E_KUBECTL']!, ['--kubeconfig', this.env['KUBECONFIG']!, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? '');
    });
  }

  async auditEvents(): Promise<Array<Record<string, unknown>>> {
    const text = await readFile(this.env['CIG_E2E_AUDIT_LOG']!, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    await this.stopWebhook();
    await run('bash', [SCRIPT, 'down', this.state]).catch(() => undefined);
  }
}
