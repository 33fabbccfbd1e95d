/**
 * Load generation for the bench, usable in the bench process or in a child (load-child.ts).
 *
 * - `saturate`: autocannon, N keep-alive connections, pipelining 1, as fast as the server goes.
 * - `autocannon-rate`: autocannon with `overallRate`. Note how autocannon paces: each
 *   connection gets a per-second quota and sends it back to back at the start of every
 *   second, so this measures bursts at full speed, not an even arrival rate.
 * - `paced`: an even open-loop arrival rate (one request every 1/rate s over N keep-alive
 *   connections; a request due while all are busy waits, and the wait counts). How late the
 *   generator's own timer was is measured apart.
 *
 * Latencies are collected per response (autocannon's own histogram keeps whole milliseconds,
 * too coarse for sub-millisecond answers).
 */
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import autocannon from 'autocannon';

export interface LoadTarget {
  name: string;
  url: string;
  body: string;
}

export interface LoadJob {
  mode: 'saturate' | 'autocannon-rate' | 'paced';
  target: LoadTarget;
  durationS: number;
  connections: number;
  /** Requests per second for the rate modes. */
  rate?: number;
  /** PEM to trust (paced mode verifies the certificate; autocannon never does). */
  ca: string;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  non2xx: number;
  errors: number;
  /** Milliseconds, from send to the end of the response. */
  latencyMs: Percentiles | null;
  /** Paced mode: how late sends were against the schedule (generator-side delay), ms. */
  sendLagMs?: Percentiles;
}

export function runLoad(job: LoadJob): Promise<LoadResult> {
  return job.mode === 'paced' ? paced(job) : withAutocannon(job);
}

export function percentiles(samples: number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1]! };
}

async function withAutocannon(job: LoadJob): Promise<LoadResult> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: job.target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: job.target.body,
    connections: job.connections,
    pipelining: 1,
    duration: job.durationS,
    ...(job.mode === 'autocannon-rate' ? { overallRate: job.rate ?? 0 } : {}),
    tlsOptions: { ca: job.ca },
  });
  const collect = job.mode === 'autocannon-rate';
  if (collect) {
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
    });
  }
  const result = await instance;
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: collect ? percentiles(latencies) : null,
  };
}

/**
 * One keep-alive TLS connection speaking just enough HTTP/1.1 for this bench: a prebuilt
 * request, and a response read up to its Content-Length. Much cheaper per request than
 * node:https, so the generator itself stays far from saturation at the rates measured.
 */
interface Conn {
  send(onDone: (status: number) => void): void;
  close(): void;
}

function connect(url: URL, request: Buffer, ca: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca });
    socket.setNoDelay(true);
    let pending: ((status: number) => void) | null = null;
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = buf.subarray(0, headEnd).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < headEnd + 4 + length) return;
      buf = buf.subarray(headEnd + 4 + length);
      const done = pending;
      pending = null;
      done?.(Number(head.slice(9, 12)));
    });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      socket.on('error', () => {
        const done = pending;
        pending = null;
        done?.(0);
      });
      resolve({
        send(onDone) {
          pending = onDone;
          socket.write(request);
        },
        close: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

async function paced(job: LoadJob): Promise<LoadResult> {
  const rate = job.rate ?? 1000;
  const total = Math.round(rate * job.durationS);
  const intervalMs = 1000 / rate;
  const url = new URL(job.target.url);
  const body = Buffer.from(job.target.body);
  const request = Buffer.concat([
    Buffer.from(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
    ),
    body,
  ]);
  const conns = await Promise.all(Array.from({ length: job.connections }, () => connect(url, request, job.ca)));
  const idle = [...conns];
  // Requests due while every connection is busy wait here; their wait counts as latency.
  const queue: number[] = [];
  const latencies: number[] = [];
  const lags: number[] = [];
  let sent = 0;
  let finished = 0;
  let non2xx = 0;
  let errors = 0;

  return new Promise((resolve) => {
    const start = performance.now() + 20;
    const dispatch = (conn: Conn, dueAt: number): void => {
      conn.send((status) => {
        latencies.push(performance.now() - dueAt);
        if (status === 0) errors++;
        else if (status >= 300) non2xx++;
        const next = queue.shift();
        if (next !== undefined) dispatch(conn, next);
        else idle.push(conn);
        if (++finished === total) {
          const elapsedS = (performance.now() - start) / 1000;
          for (const c of conns) c.close();
          const lag = percentiles(lags);
          resolve({
            requests: total,
            rps: total / elapsedS,
            non2xx,
            errors,
            latencyMs: percentiles(latencies),
            ...(lag ? { sendLagMs: lag } : {}),
          });
        }
      });
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        // The clock starts when the generator notices the request is due: its own timer
        // lateness is reported apart (sendLagMs), waiting for a free connection is not.
        lags.push(now - (start + sent * intervalMs));
        sent++;
        const conn = idle.pop();
        if (conn) dispatch(conn, now);
        else queue.push(now);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 20);
  });
}
