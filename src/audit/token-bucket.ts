/**
 * Paces report writes: `take()` resolves when a token is free. Tokens refill continuously at
 * `ratePerSecond` up to `burst`. Waiters are served in order; `close()` releases them with
 * `false` so a shutting-down writer stops at once.
 * @example const bucket = new TokenBucket(10, 20); if (await bucket.take()) await write();
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #queue: Array<(ok: boolean) => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#rate = ratePerSecond;
    this.#burst = Math.max(1, burst);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#last = now();
  }

  take(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      this.#drain();
    });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const resolve of this.#queue.splice(0)) resolve(false);
  }

  #drain(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    while (this.#queue.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#queue.shift()!(true);
    }
    if (this.#queue.length > 0 && this.#timer === undefined) {
      const waitMs = ((1 - this.#tokens) / this.#rate) * 1000;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#drain();
      }, Math.max(1, Math.ceil(waitMs)));
    }
  }
}
