import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuardError } from '../errors.ts';

export interface DevCert {
  dir: string;
  certFile: string;
  keyFile: string;
}

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = clusterip-guard development
[ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
`;

/**
 * A self-signed certificate for localhost, 127.0.0.1 and ::1, valid for 7 days, made with
 * openssl in a fresh temporary folder. It is its own CA, so `--cacert <certFile>` or a
 * webhook caBundle of it works. For development only: use certs/make-certs.sh or
 * cert-manager for anything else.
 */
export function makeDevCert(): DevCert {
  const dir = mkdtempSync(join(tmpdir(), 'clusterip-guard-dev-'));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CONFIG);
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '7', '-config', join(dir, 'openssl.cnf'), '-keyout', keyFile, '-out', certFile],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    throw new GuardError(
      'CIG_ERR_TLS',
      `no --tls-cert/--tls-key given and the development certificate could not be made with openssl (${(err as Error).message.split('\n')[0]}); install openssl or pass a certificate`,
      { cause: err },
    );
  }
  return { dir, certFile, keyFile };
}
