/**
 * The lease's timing arithmetic, pure (lease.ts does the requests). All times are milliseconds
 * on the replica's own clock.
 *
 * A follower trusts the holder's `renewTime` (so a killed holder's lease ends `durationMs` after
 * its last renewal, not after the follower happened to notice it) but only within
 * [observedAt − retryMs, observedAt], where `observedAt` is when the follower received that
 * record:
 * - the record existed when it arrived, so a later `renewTime` can only be a clock ahead of
 *   ours: capped at `observedAt`, the lease ends no later than a local-clock judgement would say;
 * - a holder renews, and a follower reads, every `retryMs`, so with agreeing clocks a record is
 *   at most about `retryMs` old when it arrives; an older `renewTime` is a clock behind ours (or
 *   a slow read): floored at `observedAt − retryMs`, so skew can make a takeover early by at most
 *   `retryMs`.
 * The holder covers that `retryMs` from its side: it stops writing `holdMs` after its last
 * successful renewal, `retryMs` short of the duration, so even an early takeover never overlaps
 * with its writes.
 */

/**
 * When a lease held by another replica expires on this replica's clock.
 * @example leaseExpiresAt({ renewTime: 1000, observedAt: 1400, durationMs: 6000, retryMs: 1000 }) // 7000
 */
export function leaseExpiresAt(o: { renewTime: number | null; observedAt: number; durationMs: number; retryMs: number }): number {
  const { renewTime, observedAt, durationMs, retryMs } = o;
  const base = renewTime === null || !Number.isFinite(renewTime) ? observedAt : Math.min(observedAt, Math.max(observedAt - retryMs, renewTime));
  return base + durationMs;
}

/**
 * How long after its last successful renewal a holder may go on writing: the duration less the
 * follower's allowance for skew (`retryMs`), but at least half the duration when the retry
 * period is long for it.
 * @example holdMs(6000, 1000) // 5000
 */
export function holdMs(durationMs: number, retryMs: number): number {
  return durationMs - Math.min(retryMs, durationMs / 2);
}

/**
 * A MicroTime (`2026-12-01T22:00:00.123456Z`) as milliseconds, or null when absent or unreadable.
 * @example parseMicroTime('2026-12-01T00:00:01.500000Z') // 1796083201500
 */
export function parseMicroTime(value: string | null | undefined): number | null {
  if (typeof value !== 'string' || value === '') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
