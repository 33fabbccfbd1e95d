/**
 * The hostile bench's HTTPS client: one keep-alive agent, and a tally per kind of request
 * (statuses, connection errors, replies over 1 s, latencies, largest reply). Used by
 * bench/hostile.ts and by bench/hostile-policies.ts (the policy senders, in their own process).
 */
import https from 'node:https';

export interface Tally {
  sent: number;
  byStatus: Record<string, number>;
  errors: Record<string, number>;
  over1s: number;
  latenciesMs: number[];
  /** When each answered request was sent (epoch ms, as latenciesMs in order), to match slow ones with stalls. */
  sentAtMs: number[];
  maxBytes: number;
}

export const newTally = (): Tally => ({ sent: 0, byStatus: {}, errors: {}, over1s: 0, latenciesMs: [], sentAtMs: [], maxBytes: 0 });

export function poster(port: number) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  function post(path: string, body: string, tally: Tally): Promise<void> {
    tally.sent++;
    const started = performance.now();
    return new Promise((resolve) => {
      const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => {
          const ms = performance.now() - started;
          tally.latenciesMs.push(ms);
          tally.sentAtMs.push(performance.timeOrigin + started);
          if (ms > 1000) tally.over1s++;
          tally.maxBytes = Math.max(tally.maxBytes, bytes);
          const key = String(res.statusCode);
          tally.byStatus[key] = (tally.byStatus[key] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        tally.errors[err.code ?? err.message] = (tally.errors[err.code ?? err.message] ?? 0) + 1;
        resolve();
      });
      req.end(body);
    });
  }
  return { post, close: () => agent.destroy() };
}
