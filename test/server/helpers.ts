/** Shared pieces for the server tests: a fake decision, reviews, self-signed certificates. */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionRequest, AdmissionResponse } from '../../src/admission/types.ts';
import type { AuditRecord } from '../../src/admission/audit-record.ts';
import type { Admit } from '../../src/server/app.ts';
import type { Stage } from '../../src/rules/types.ts';

/** The audit record a decision about `request` would carry. */
export function auditFor(stage: Stage, request: AdmissionRequest, decision: AuditRecord['decision']): AuditRecord {
  return {
    uid: request.uid,
    endpoint: stage,
    operation: request.operation,
    dryRun: request.dryRun ?? false,
    group: request.kind.group,
    version: request.kind.version,
    kind: request.kind.kind,
    namespace: request.namespace ?? null,
    name: request.name ?? null,
    user: request.userInfo?.username ?? null,
    decision,
    findings: [],
    patch: [],
  };
}

/** Allows everything, echoing the uid; `extra` is merged into the response. */
export function fakeAdmit(extra: Partial<AdmissionResponse> = {}): Admit {
  return (stage, request) => ({
    response: { uid: request.uid, allowed: true, ...extra },
    audit: auditFor(stage, request, 'allow'),
  });
}

/** A minimal valid review; `tweak` edits a deep copy (one tweak per failing case). */
export function review(tweak?: (r: Record<string, any>) => void): Record<string, any> {
  const r: Record<string, any> = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Service' },
      resource: { group: '', version: 'v1', resource: 'services' },
      name: 'web',
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'shop', labels: { 'clusterip-guard.io/exposed': 'true' } },
        spec: { clusterIP: '10.96.10.10', ports: [{ port: 443, targetPort: 8443, protocol: 'TCP' }] },
      },
      oldObject: null,
      dryRun: false,
    },
  };
  tweak?.(r);
  return r;
}

export interface SelfSignedCert {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  /** SHA-256 fingerprint in Node's `AA:BB:…` form, as `getPeerCertificate().fingerprint256` gives it. */
  fingerprint256: string;
}

/** Makes a P-256 certificate for 127.0.0.1 with openssl; `dir` defaults to a new temp dir. */
export function makeCert(name = 'tls', dir = mkdtempSync(join(tmpdir(), 'cig-cert-'))): SelfSignedCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'pipe' },
  );
  const cert = readFileSync(certFile, 'utf8');
  const key = readFileSync(keyFile, 'utf8');
  return { dir, certFile, keyFile, cert, key, fingerprint256: new X509Certificate(cert).fingerprint256 };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
