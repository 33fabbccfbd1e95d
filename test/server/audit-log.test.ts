import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { TimedAuditRecord } from '../../src/server/app.ts';
import { createAuditLog } from '../../src/server/audit-log.ts';

function record(uid: string): TimedAuditRecord {
  return {
    time: '2026-01-02T03:04:05.678Z',
    uid,
    endpoint: 'mutate',
    operation: 'CREATE',
    dryRun: false,
    group: '',
    version: 'v1',
    kind: 'Service',
    namespace: 'shop',
    name: 'web',
    user: 'alice',
    decision: 'deny',
    findings: [{ rule: 'service-cluster-ip-pinned', action: 'enforce', path: 'spec.clusterIP', message: 'say "why"\nand how' }],
    patch: [],
    durationMs: 0.25,
  };
}

/** A destination that keeps each chunk it is handed, and counts flushSync calls. */
function memoryDest() {
  const chunks: string[] = [];
  let synced = 0;
  return {
    chunks,
    synced: () => synced,
    lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
    write: (chunk: string) => void chunks.push(chunk),
    flushSync: () => void synced++,
  };
}

t.test('lines wait at most flushMs, then go out together, in order, one JSON object per line', async (t) => {
  const dest = memoryDest();
  const audit = createAuditLog(dest, { flushMs: 20 });
  audit.write(record('a'));
  audit.write(record('b'));
  audit.write(record('c'));
  t.same(dest.chunks, [], 'nothing written on the request path');
  await sleep(80);
  t.equal(dest.chunks.length, 1, 'one write for the three lines');
  t.same(dest.lines(), [record('a'), record('b'), record('c')], 'every field survives, quotes and newlines escaped');
  audit.write(record('d'));
  await sleep(80);
  t.equal(dest.chunks.length, 2, 'a later line starts a new wait');
  t.same(dest.lines().map((l) => l['uid']), ['a', 'b', 'c', 'd']);
});

t.test('a full batch is written at once, without waiting', async (t) => {
  const dest = memoryDest();
  const one = `${JSON.stringify(record('x'))}\n`.length;
  const audit = createAuditLog(dest, { flushMs: 60_000, batchChars: one * 2 });
  audit.write(record('1'));
  t.equal(dest.chunks.length, 0);
  audit.write(record('2'));
  t.equal(dest.chunks.length, 1, 'written when the second line fills the batch');
  t.same(dest.lines().map((l) => l['uid']), ['1', '2']);
  audit.flush(); // nothing waits: no empty write
  t.equal(dest.chunks.length, 1);
});

t.test('flushSync writes what waits and asks the destination to finish', async (t) => {
  const dest = memoryDest();
  const audit = createAuditLog(dest, { flushMs: 60_000 });
  audit.write(record('last'));
  audit.flushSync();
  t.same(dest.lines().map((l) => l['uid']), ['last']);
  t.equal(dest.synced(), 1);
  await sleep(20);
  t.equal(dest.chunks.length, 1, 'the cancelled timer writes nothing more');
});

t.test('the tag comes first on every line; a record cannot produce invalid JSON', async (t) => {
  const dest = memoryDest();
  const audit = createAuditLog(dest, { tag: { log: 'audit' } });
  audit.write(record('u1'));
  audit.write({} as TimedAuditRecord);
  audit.flush();
  const [first, second] = dest.chunks.join('').split('\n');
  t.ok(first!.startsWith('{"log":"audit","time":'), first!);
  t.same(JSON.parse(first!), { log: 'audit', ...record('u1') });
  t.same(JSON.parse(second!), {}, 'an empty record stays an empty object');
});

t.test('a destination that throws: the error says how many lines were lost, later lines still go out', async (t) => {
  let fail = true;
  const written: string[] = [];
  const errors: Error[] = [];
  const audit = createAuditLog(
    {
      write(chunk: string) {
        if (fail) throw new Error('EBADF');
        written.push(chunk);
      },
    },
    { onError: (err) => errors.push(err) },
  );
  audit.write(record('a'));
  audit.write(record('b'));
  audit.flush();
  t.equal(errors.length, 1);
  t.match(errors[0]!.message, /audit log write failed, 2 line\(s\) lost: EBADF/);
  fail = false;
  audit.write(record('c'));
  audit.flushSync(); // no flushSync on this destination: fine
  t.equal(written.length, 1);
  t.match(written[0]!, /"uid":"c"/);
});

t.test('without onError a failed write throws from flush', async (t) => {
  const audit = createAuditLog({ write: () => { throw new Error('disk full'); } });
  audit.write(record('a'));
  t.throws(() => audit.flush(), /1 line\(s\) lost: disk full/);
});

t.test('a record that cannot be serialized is written in reduced form, not lost', async (t) => {
  const dest = memoryDest();
  const log = createAuditLog(dest, { tag: { log: 'audit' } });
  let deep: unknown = 'x';
  for (let i = 0; i < 20_000; i++) deep = [deep];
  const bad = { ...record('uid-deep'), name: deep as string, patch: [{ op: 'add' as const, path: '/x', value: 1n }] };
  log.write(bad);
  log.write(record('uid-next'));
  log.flush();
  const lines = dest.chunks.join('').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 2);
  t.match(lines[0], { log: 'audit', uid: 'uid-deep', decision: 'deny', name: null, findingCount: 1, reduced: /^the full record cannot be serialized: / });
  t.equal(lines[1]!.uid, 'uid-next');
});
