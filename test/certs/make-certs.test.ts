// certs/make-certs.sh, run for real into temporary directories and checked with openssl.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const SCRIPT = join(REPO_ROOT, 'certs', 'make-certs.sh');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    execFile(file, args, { cwd: REPO_ROOT }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        fail(error);
        return;
      }
      done({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

const makeCerts = (args: string[]): Promise<Run> => run('bash', [SCRIPT, ...args]);
const openssl = (args: string[]): Promise<Run> => run('openssl', args);

/** A temporary directory removed when the test ends. */
function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cig-certs-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('makes a CA and a serving certificate with the Service names, localhost and 127.0.0.1', async (t) => {
  const out = join(tempDir(t), 'out');
  const result = await makeCerts([
    '--out', out,
    '--service', 'guard',
    '--namespace', 'policy',
    '--days', '30',
    '--dns', 'webhook.example.test,alt.example.test',
    '--ip', '10.1.2.3',
  ]);
  t.equal(result.code, 0, result.stderr);

  for (const f of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']) t.ok(existsSync(join(out, f)), f);
  t.equal(statSync(join(out, 'ca.key')).mode & 0o077, 0, 'ca.key is private to its owner');
  t.equal(statSync(join(out, 'tls.key')).mode & 0o077, 0, 'tls.key is private to its owner');

  const san = await openssl(['x509', '-in', join(out, 'tls.crt'), '-noout', '-ext', 'subjectAltName']);
  t.equal(san.code, 0, san.stderr);
  for (const name of [
    'DNS:guard',
    'DNS:guard.policy',
    'DNS:guard.policy.svc',
    'DNS:guard.policy.svc.cluster.local',
    'DNS:localhost',
    'DNS:webhook.example.test',
    'DNS:alt.example.test',
    'IP Address:127.0.0.1',
    'IP Address:10.1.2.3',
  ]) {
    t.match(san.stdout, new RegExp(`(^|[\\s,])${name.replace(/\./g, '\\.')}(,|\\s|$)`), name);
  }

  const verify = await openssl(['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')]);
  t.equal(verify.code, 0, verify.stderr);
  t.match(verify.stdout, /: OK/);

  const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
  const leaf = new X509Certificate(readFileSync(join(out, 'tls.crt')));
  t.ok(ca.ca, 'ca.crt is a CA');
  t.notOk(leaf.ca, 'tls.crt is not a CA');
  t.ok(leaf.checkIssued(ca), 'tls.crt is issued by ca.crt');
  t.match(leaf.keyUsage ?? [], ['1.3.6.1.5.5.7.3.1'], 'extended key usage: TLS server authentication');
  t.ok(leaf.checkHost('guard.policy.svc'), 'Node accepts it for the Service name');
  t.ok(leaf.checkIP('127.0.0.1'), 'Node accepts it for 127.0.0.1');
  const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
  t.ok(days > 29 && days <= 30.01, `--days 30 respected (${days.toFixed(2)} days left)`);

  // What it prints is what a user needs next: the Secret command and the caBundle value.
  const caBundle = readFileSync(join(out, 'ca.crt')).toString('base64');
  t.ok(result.stdout.includes(caBundle), 'prints the caBundle (base64 of ca.crt, one line)');
  t.match(result.stdout, /kubectl -n policy create secret tls guard-tls/);
  t.match(result.stdout, /--set tls\.mode=secret/);
});

t.test('refuses to overwrite without --force, and --force replaces everything', async (t) => {
  const out = tempDir(t);
  t.equal((await makeCerts(['--out', out])).code, 0);
  const before = readFileSync(join(out, 'tls.crt'), 'utf8');
  const beforeCa = readFileSync(join(out, 'ca.crt'), 'utf8');

  const again = await makeCerts(['--out', out]);
  t.not(again.code, 0, 'second run fails');
  t.match(again.stderr, /refusing to overwrite/);
  t.match(again.stderr, /--force/);
  t.equal(readFileSync(join(out, 'tls.crt'), 'utf8'), before, 'files left untouched');

  const forced = await makeCerts(['--out', out, '--force']);
  t.equal(forced.code, 0, forced.stderr);
  t.not(readFileSync(join(out, 'tls.crt'), 'utf8'), before, 'new serving certificate');
  t.not(readFileSync(join(out, 'ca.crt'), 'utf8'), beforeCa, 'new CA');
});

t.test('--reuse-ca issues a new serving certificate from the existing CA', async (t) => {
  const out = tempDir(t);
  t.equal((await makeCerts(['--out', out])).code, 0);
  const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
  const leaf = readFileSync(join(out, 'tls.crt'), 'utf8');

  const renewed = await makeCerts(['--out', out, '--reuse-ca']);
  t.equal(renewed.code, 0, renewed.stderr);
  t.equal(readFileSync(join(out, 'ca.crt'), 'utf8'), ca, 'CA unchanged, so the caBundle stays valid');
  t.not(readFileSync(join(out, 'tls.crt'), 'utf8'), leaf, 'serving certificate replaced');
  const verify = await openssl(['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')]);
  t.equal(verify.code, 0, verify.stderr);

  const missing = await makeCerts(['--out', tempDir(t), '--reuse-ca']);
  t.not(missing.code, 0, '--reuse-ca without a CA fails');
  t.match(missing.stderr, /no ca\.crt and ca\.key/);
});

t.test('rejects bad arguments with a usage message', async (t) => {
  const out = tempDir(t);
  for (const args of [['--days', 'soon'], ['--service', 'Bad_Name'], ['--namespace'], ['--bogus'], ['--ip', 'not-an-ip']]) {
    const result = await makeCerts(['--out', out, ...args]);
    t.equal(result.code, 2, `${args.join(' ')} exits 2`);
    t.match(result.stderr, /Usage:/, `${args.join(' ')} prints usage`);
  }
  t.notOk(existsSync(join(out, 'ca.crt')), 'nothing written on bad arguments');
  const help = await makeCerts(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--reuse-ca/);
});
