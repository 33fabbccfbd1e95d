/**
 * Graceful stop on SIGTERM/SIGINT:
 * 1. readiness goes false (the probe answers 503, the endpoint leaves the Service);
 * 2. every answer from now on carries `Connection: close`, and the webhook keeps serving
 *    `drainDelayMs` so the endpoint change reaches the API servers first: kept-alive
 *    connections move to other endpoints one answer at a time, with no reset;
 * 3. the webhook stops accepting connections, ends (FIN, not reset) idle keep-alive sockets,
 *    and lets requests in progress finish writing;
 * 4. clean-up (certificate watcher, cluster-state informers), then the probe server closes;
 * 5. `done` resolves with the exit code (0 when everything closed cleanly).
 * A second signal, or `graceMs` passing, exits at once with code 1.
 *
 * @example
 *   const stop = installShutdown({ apps: [webhook], probe, graceMs: 25_000, cleanup: [() => watcher.close()] });
 *   process.exitCode = await stop.done;
 */
import type { Logger } from 'pino';
import type { ProbeServer } from './probes.ts';

/** Something that stops serving when closed, like a Fastify instance. */
export interface Closable {
  close(): PromiseLike<unknown>;
  /** The webhook app's connections (connections.ts): told to drain when shutdown begins. */
  connections?: { drain(): void };
}

export interface ShutdownOptions {
  /** Webhook servers to drain. */
  apps: readonly Closable[];
  /** Goes not-ready first and closes last, so readiness can be read during the drain. */
  probe: { app: Closable; markShuttingDown(): void } | ProbeServer;
  /** Longest time from the first signal to exit; keep it under the pod's terminationGracePeriodSeconds. */
  graceMs: number;
  /** Time to keep serving after readiness went false; default 0. */
  drainDelayMs?: number;
  /** Run after the webhook servers closed, before the probe server closes. */
  cleanup?: ReadonlyArray<() => unknown>;
  logger?: Logger | false;
  signals?: readonly NodeJS.Signals[];
  /** How to exit when forced; default `process.exit`. */
  exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** Resolves with the exit code once everything closed: 0, or 1 if some close failed. */
  readonly done: Promise<number>;
  /** Starts the shutdown as a signal would (fatal errors, tests). Same promise as `done`. */
  shutdown(reason: string): Promise<number>;
  /** Removes the signal handlers. */
  uninstall(): void;
}

export function installShutdown(opts: ShutdownOptions): ShutdownHandle {
  const log = opts.logger || undefined;
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let started = false;

  const step = async (what: string, fn: () => unknown): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      log?.error({ err }, `shutdown: ${what} failed`);
      return false;
    }
  };

  async function drain(reason: string): Promise<number> {
    const graceTimer = setTimeout(() => {
      log?.error({ graceMs: opts.graceMs }, 'shutdown: grace period over, exiting now');
      exit(1);
    }, opts.graceMs);
    graceTimer.unref();

    opts.probe.markShuttingDown();
    for (const app of opts.apps) app.connections?.drain();
    log?.info({ reason, drainDelayMs: opts.drainDelayMs ?? 0 }, 'shutting down: readiness is now false');
    if (opts.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.drainDelayMs));

    const closed = await Promise.all(opts.apps.map((app) => step('closing the webhook server', () => app.close())));
    let ok = closed.every(Boolean);
    for (const fn of opts.cleanup ?? []) ok = (await step('clean-up', fn)) && ok;
    ok = (await step('closing the probe server', () => opts.probe.app.close())) && ok;

    clearTimeout(graceTimer);
    uninstall();
    log?.info('shutdown complete');
    return ok ? 0 : 1;
  }

  function shutdown(reason: string): Promise<number> {
    if (!started) {
      started = true;
      void drain(reason).then(resolveDone);
    }
    return done;
  }

  function onSignal(signal: NodeJS.Signals): void {
    if (started) {
      log?.warn({ signal }, 'second signal during shutdown, exiting now');
      exit(1);
      return;
    }
    void shutdown(signal);
  }

  function uninstall(): void {
    for (const signal of signals) process.removeListener(signal, onSignal);
  }

  for (const signal of signals) process.on(signal, onSignal);
  return { done, shutdown, uninstall };
}
