import t from 'tap';
import { holdMs, leaseExpiresAt, parseMicroTime } from '../../src/audit/lease-expiry.ts';

const D = 6000;
const RETRY = 1000;

t.test('expiry from renewTime, clamped to [observedAt - retry, observedAt]', async (t) => {
  const cases: { name: string; renewTime: number | null; observedAt: number; want: number }[] = [
    { name: 'clocks agree, record seen 400 ms after its renewal', renewTime: 10_000, observedAt: 10_400, want: 16_000 },
    { name: 'clocks agree, seen at once', renewTime: 10_000, observedAt: 10_000, want: 16_000 },
    { name: 'seen exactly one retry later', renewTime: 10_000, observedAt: 11_000, want: 16_000 },
    { name: 'our clock 5 s ahead: at most one retry early', renewTime: 10_000, observedAt: 15_400, want: 14_400 + D },
    { name: 'our clock 5 s behind: renewTime in our future, capped at when we saw it', renewTime: 10_000, observedAt: 5_400, want: 5_400 + D },
    { name: 'no renewTime: our observation', renewTime: null, observedAt: 7_000, want: 13_000 },
    { name: 'unreadable renewTime: our observation', renewTime: Number.NaN, observedAt: 7_000, want: 13_000 },
  ];
  for (const c of cases) t.equal(leaseExpiresAt({ renewTime: c.renewTime, observedAt: c.observedAt, durationMs: D, retryMs: RETRY }), c.want, c.name);
});

t.test('hold time: the duration less one retry, at least half the duration', async (t) => {
  t.equal(holdMs(6000, 1000), 5000);
  t.equal(holdMs(15_000, 2000), 13_000);
  t.equal(holdMs(2000, 1500), 1000, 'a retry longer than half the duration');
});

t.test('MicroTime parsing', async (t) => {
  t.equal(parseMicroTime('2026-12-01T00:00:01.500000Z'), Date.UTC(2026, 11, 1, 0, 0, 1, 500));
  t.equal(parseMicroTime(''), null);
  t.equal(parseMicroTime(null), null);
  t.equal(parseMicroTime('yesterday'), null);
});

/**
 * The protocol on a fake clock: a holder renews every RETRY (its renewTime on its own clock,
 * which is real time here) until it is killed at `killAt`; a follower whose clock is `skewMs`
 * off reads the lease every RETRY from `phase` on, or earlier at the expiry it computed, and
 * takes over the first time it reads an expired record. Returns the real takeover time.
 */
function simulate(o: { skewMs: number; killAt: number; phase: number }): { takeover: number; lastRenewal: number } {
  const lastRenewal = Math.floor(o.killAt / RETRY) * RETRY;
  const recordAt = (real: number) => Math.min(Math.floor(real / RETRY) * RETRY, lastRenewal);
  let observed = { renewTime: Number.NaN, at: 0 };
  for (let real = o.phase; real < o.killAt + 10 * D; ) {
    const local = real + o.skewMs;
    const renewTime = recordAt(real);
    if (renewTime !== observed.renewTime) observed = { renewTime, at: local };
    const expiresAt = leaseExpiresAt({ renewTime, observedAt: observed.at, durationMs: D, retryMs: RETRY });
    if (local >= expiresAt) return { takeover: real, lastRenewal };
    real += Math.min(RETRY, expiresAt - local);
  }
  throw new Error('no takeover');
}

t.test('fake clock: a killed holder loses the lease within the duration when clocks agree, never before it stopped writing', async (t) => {
  let checked = 0;
  for (const killAt of [20_000, 20_001, 20_500, 20_999]) {
    for (const phase of [0, 1, 250, 500, 999]) {
      const agree = simulate({ skewMs: 0, killAt, phase });
      t.ok(agree.takeover - killAt <= D, `clocks agree, kill at ${killAt}, follower phase ${phase}: moved ${agree.takeover - killAt} ms after the kill`);
      t.equal(agree.takeover, agree.lastRenewal + D, 'exactly one duration after the last renewal');
      for (const skewMs of [-30_000, -5000, -999, -1, 1, 400, 999, 1000, 5000, 30_000]) {
        const { takeover, lastRenewal } = simulate({ skewMs, killAt, phase });
        // The holder stopped writing holdMs after its last renewal: no overlap, whatever the skew.
        t.ok(takeover >= lastRenewal + holdMs(D, RETRY), `skew ${skewMs} ms: takeover ${takeover - lastRenewal} ms after the last renewal, not before the holder stopped (${holdMs(D, RETRY)})`);
        // And no later than judging by the local clock alone would (seen up to one poll late).
        t.ok(takeover <= lastRenewal + D + RETRY, `skew ${skewMs} ms: takeover no later than the duration plus one poll`);
        checked++;
      }
    }
  }
  t.equal(checked, 200);
});
