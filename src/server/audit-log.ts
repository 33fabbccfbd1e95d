/**
 * The audit log: one JSON line per decision, handed to the destination in batches.
 *
 * A write system call per line is most of what an audit line costs (measured: the webhook's
 * CPU per Service review was the bare handler's plus the line's write), so lines wait in
 * memory and go out together: when `batchBytes` have gathered or `flushMs` after the first
 * waiting line, whichever comes first. On shutdown `flushSync()` writes what is waiting.
 * A crash that skips shutdown (SIGKILL, out of memory) loses at most the last `flushMs`.
 *
 * @example
 *   const audit = createAuditLog(pino.destination({ dest: 1, sync: false }), { onError: (err) => log.error({ err }) });
 *   audit.write({ time: new Date().toISOString(), ...record, durationMs: 0.4 });
 *   audit.flushSync(); // on exit
 */
import type { TimedAuditRecord } from './app.ts';

/** Where lines go: a pino/sonic-boom destination, or anything with the same two methods. */
export interface AuditDestination {
  write(chunk: string): unknown;
  flushSync?(): void;
}

export interface AuditLogOptions {
  /** Longest a line waits, ms (default `AUDIT_FLUSH_MS`). */
  flushMs?: number;
  /** Write at once when this many characters wait (default `AUDIT_BATCH_CHARS`). */
  batchChars?: number;
  /** Fields put first on every line, e.g. `{ log: 'audit' }` to tell audit lines apart on a shared stdout. */
  tag?: Record<string, string>;
  /** A failed write: the lines in it are lost, the error says how many. Default: rethrow. */
  onError?: (err: Error) => void;
}

export interface AuditLog {
  write(record: TimedAuditRecord): void;
  /** Hands waiting lines to the destination now. */
  flush(): void;
  /** Hands waiting lines to the destination and waits for the destination to write them. */
  flushSync(): void;
}

/** 10 ms: at 20,000 decisions/s that is ~200 lines per write; at low rates lines are out within 10 ms. */
export const AUDIT_FLUSH_MS = 10;
/** 64 Ki characters, a few hundred lines. */
export const AUDIT_BATCH_CHARS = 64 * 1024;

export function createAuditLog(dest: AuditDestination, opts: AuditLogOptions = {}): AuditLog {
  const flushMs = opts.flushMs ?? AUDIT_FLUSH_MS;
  const batchChars = opts.batchChars ?? AUDIT_BATCH_CHARS;
  const onError = opts.onError ?? ((err: Error) => { throw err; });
  // `{"log":"audit",` + the record without its opening brace: the tag's fields come first.
  const head = opts.tag && Object.keys(opts.tag).length > 0 ? JSON.stringify(opts.tag).slice(0, -1) + ',' : '{';
  let lines: string[] = [];
  let chars = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (lines.length === 0) return;
    const batch = lines;
    lines = [];
    chars = 0;
    try {
      dest.write(batch.join(''));
    } catch (err) {
      onError(new Error(`audit log write failed, ${batch.length} line(s) lost: ${(err as Error).message}`, { cause: err }));
    }
  };

  return {
    write(record) {
      const json = serialize(record);
      const line = `${json.length > 2 ? head : '{'}${json.slice(1)}\n`;
      lines.push(line);
      chars += line.length;
      if (chars >= batchChars) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
    },
    flush,
    flushSync() {
      flush();
      dest.flushSync?.();
    },
  };
}

/**
 * The record as JSON; when that throws (a value too deep, a BigInt: not from a parsed body, but
 * a line is never lost), the reduced form: the identifying fields that are strings, the
 * decision, the finding count, and why it was reduced.
 */
function serialize(record: TimedAuditRecord): string {
  try {
    return JSON.stringify(record);
  } catch (err) {
    const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    return JSON.stringify({
      time: text(record.time),
      uid: text(record.uid),
      endpoint: text(record.endpoint),
      operation: text(record.operation),
      group: text(record.group),
      version: text(record.version),
      kind: text(record.kind),
      namespace: text(record.namespace),
      name: text(record.name),
      user: text(record.user),
      decision: text(record.decision),
      findingCount: Array.isArray(record.findings) ? record.findings.length : null,
      durationMs: typeof record.durationMs === 'number' ? record.durationMs : null,
      reduced: `the full record cannot be serialized: ${(err as Error).message}`,
    });
  }
}
