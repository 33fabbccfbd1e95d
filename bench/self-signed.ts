/** A throw-away P-256 certificate for 127.0.0.1, made with openssl in a temp dir. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchCert {
  key: string;
  cert: string;
  remove(): void;
}

export function makeBenchCert(): BenchCert {
  const dir = mkdtempSync(join(tmpdir(), 'cig-bench-'));
  const keyFile = join(dir, 'tls.key');
  const certFile = join(dir, 'tls.crt');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=clusterip-guard-bench',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return {
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
