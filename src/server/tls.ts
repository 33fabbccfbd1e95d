/**
 * Serving certificate: loaded from files at start-up and reloaded when they change, without a
 * restart and without dropping connections (`server.setSecureContext()` only affects new
 * handshakes).
 *
 * Kubernetes secret volumes update atomically by swapping a `..data` symlink inside the mount
 * directory, so the directories holding the files are watched (not the files, whose watch would
 * stay on the old inode). `fs.watch` can miss events on some volume types, so a slow poll backs
 * it up. Events are debounced: cert-manager writes the key and the certificate as one swap,
 * but hand-made rotations write two files one after the other.
 *
 * @example
 *   const files = { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' };
 *   const pair = loadTlsPair(files);                       // throws CIG_ERR_TLS
 *   const app = buildWebhookApp({ ..., https: pair });
 *   const watcher = watchTlsFiles({ files, initial: pair, servers: [secureServerOf(app)], logger });
 *   // on shutdown: watcher.close()
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { GuardError } from '../errors.ts';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate (chain) and its key, checked to belong together. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, `AA:BB:…`. */
  readonly fingerprint256: string;
  /** Expiry of the leaf certificate. */
  readonly validTo: Date;
}

/** Anything whose TLS context can be replaced: `https.Server`, `tls.Server`. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsWatchOptions {
  files: TlsFiles;
  /** The pair the servers were started with. */
  initial: TlsPair;
  servers: readonly SecureContextTarget[];
  logger?: Logger | false;
  /** Quiet time after the last file event before reading; default 200 ms. */
  debounceMs?: number;
  /** Re-read interval in case no event arrives; default 30 s, 0 = no polling. */
  pollMs?: number;
  /** Called after the servers switched to a new pair. */
  onReload?: (pair: TlsPair) => void;
  /** Called when changed files were rejected (the current pair stays in use). */
  onReject?: (err: unknown) => void;
}

export interface TlsWatcher {
  /** The pair new connections get. */
  current(): TlsPair;
  /** Reads the files now; true if the servers switched to a new pair. */
  check(): Promise<boolean>;
  close(): void;
}

function tlsError(files: TlsFiles, detail: string, cause?: unknown): GuardError {
  return new GuardError('CIG_ERR_TLS', `cannot load the TLS certificate ${files.certFile} and key ${files.keyFile}: ${detail}`, {
    cause,
  });
}

/**
 * Checks that `cert` and `key` are PEM, belong together and make a TLS context.
 * Throws a `GuardError` (CIG_ERR_TLS) that says which part is wrong.
 */
export function parseTlsPair(files: TlsFiles, cert: Buffer, key: Buffer): TlsPair {
  const fail = (detail: string, cause?: unknown): GuardError => tlsError(files, detail, cause);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw fail(`the certificate is not a PEM certificate (${(err as Error).message})`, err);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw fail('the key does not belong to the certificate');
    createSecureContext({ cert, key });
  } catch (err) {
    if (err instanceof GuardError) throw err;
    throw fail(`the key is not usable (${(err as Error).message})`, err);
  }
  return { cert, key, fingerprint256: leaf.fingerprint256, validTo: new Date(leaf.validTo) };
}

/** Reads and checks the pair synchronously (start-up). Throws CIG_ERR_TLS. */
export function loadTlsPair(files: TlsFiles): TlsPair {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.certFile);
    key = readFileSync(files.keyFile);
  } catch (err) {
    throw tlsError(files, (err as Error).message, err);
  }
  return parseTlsPair(files, cert, key);
}

/** The HTTPS server under a webhook app built with `https`; throws for a plain-HTTP app. */
export function secureServerOf(app: FastifyInstance): SecureContextTarget {
  const server: unknown = app.server;
  if (typeof (server as Partial<SecureContextTarget>).setSecureContext !== 'function') {
    throw new Error('this app serves plain HTTP; build it with the `https` option to reload certificates');
  }
  return server as SecureContextTarget;
}

/** Watches the files and swaps the servers' certificate when a new valid pair appears. */
export function watchTlsFiles(opts: TlsWatchOptions): TlsWatcher {
  const { files, servers } = opts;
  const log = opts.logger || undefined;
  const debounceMs = opts.debounceMs ?? 200;
  const pollMs = opts.pollMs ?? 30_000;
  let current = opts.initial;
  // The last pair that failed, so a broken rotation is logged once, not on every poll.
  let rejected: { cert: Buffer; key: Buffer } | null = null;
  let closed = false;
  let running: Promise<boolean> | null = null;
  let queued: Promise<boolean> | null = null;
  let debounce: NodeJS.Timeout | undefined;

  const watchers = new Map<string, FSWatcher | null>();
  const dirs = new Set([dirname(files.certFile), dirname(files.keyFile)]);
  const startWatching = (): void => {
    for (const dir of dirs) {
      if (watchers.get(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, scheduleCheck);
        w.on('error', (err) => {
          log?.warn({ err, dir }, 'certificate directory watch failed; polling only');
          w.close();
          watchers.set(dir, null);
        });
        watchers.set(dir, w);
      } catch (err) {
        log?.warn({ err, dir }, 'cannot watch certificate directory; polling only');
        watchers.set(dir, null);
      }
    }
  };

  function scheduleCheck(): void {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void check(), debounceMs);
    debounce.unref();
  }

  async function readAndSwap(): Promise<boolean> {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
    } catch (err) {
      // Mid-swap or removed: keep serving the current pair and look again on the next event.
      log?.warn({ err, ...files }, 'cannot read the TLS files; keeping the current certificate');
      return false;
    }
    if (cert.equals(current.cert) && key.equals(current.key)) return false;
    if (rejected && cert.equals(rejected.cert) && key.equals(rejected.key)) return false;
    let next: TlsPair;
    try {
      next = parseTlsPair(files, cert, key);
      for (const server of servers) server.setSecureContext({ cert: next.cert, key: next.key });
    } catch (err) {
      rejected = { cert, key };
      log?.error(
        { err, code: 'CIG_ERR_TLS', keeping: current.fingerprint256 },
        'new TLS certificate rejected; keeping the current one',
      );
      opts.onReject?.(err);
      return false;
    }
    rejected = null;
    current = next;
    log?.info(
      { fingerprint256: next.fingerprint256, validTo: next.validTo.toISOString() },
      'TLS certificate reloaded',
    );
    try {
      opts.onReload?.(next);
    } catch (err) {
      log?.error({ err }, 'TLS reload callback failed');
    }
    return true;
  }

  /** One read at a time; a call during a read gets a fresh read right after it. */
  function check(): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    if (running) {
      const next = (): Promise<boolean> => {
        queued = null;
        return check();
      };
      queued ??= running.then(next, next);
      return queued;
    }
    running = readAndSwap().finally(() => {
      running = null;
    });
    return running;
  }

  startWatching();
  const poll =
    pollMs > 0
      ? setInterval(() => {
          startWatching(); // re-arm a watch that failed (e.g. the directory was re-created)
          void check();
        }, pollMs)
      : undefined;
  poll?.unref();

  return {
    current: () => current,
    check,
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      for (const w of watchers.values()) w?.close();
      watchers.clear();
    },
  };
}
