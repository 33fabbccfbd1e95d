/**
 * The webhook's open connections, so a shutdown hands them over instead of cutting them.
 *
 * Node's own `closeIdleConnections()` destroys idle sockets: a request already on its way on
 * one gets ECONNRESET, and reply bytes still in the socket's buffer are dropped. Here instead:
 * - `drain()`: every response from now on, including those of requests already in progress,
 *   carries `Connection: close`, so the client opens its next connection elsewhere (the
 *   Service's other endpoints) and Node ends this one once the reply is written;
 * - `endIdle()`: sockets with no request in progress are ended (FIN after what is buffered),
 *   not destroyed.
 *
 * @example
 *   const conns = trackConnections(app.server);
 *   conns.drain();      // on SIGTERM
 *   await app.close();  // stops accepting, ends idle sockets (server.close() calls endIdle), waits for the rest
 */
import type http from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionTracker {
  /** From now on every response says `Connection: close`. */
  drain(): void;
  /**
   * Ends every socket that has no request in progress; busy ones end once their reply is out.
   * Installed as the server's `closeIdleConnections`, which `server.close()` calls.
   */
  endIdle(): void;
  /** Open connections (for tests and logs). */
  readonly size: number;
}

const kBusy = Symbol('clusterip-guard.busy');
const kResponse = Symbol('clusterip-guard.response');
const kSocket = Symbol('clusterip-guard.socket');
type Tracked = Socket & { [kBusy]: number; [kResponse]: http.ServerResponse | null };

export function trackConnections(server: http.Server): ConnectionTracker {
  const sockets = new Set<Tracked>();
  let draining = false;
  let ending = false;

  const add = (socket: Socket): void => {
    const s = socket as Tracked;
    s[kBusy] = 0;
    s[kResponse] = null;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  // TLS servers hand requests the TLS socket, which 'secureConnection' gives; plain ones 'connection'.
  server.on(isTls(server) ? 'secureConnection' : 'connection', add);

  // The response's own `socket` is already detached when it closes: keep ours.
  function onFinish(this: http.ServerResponse & { [kSocket]?: Tracked }): void {
    const s = this[kSocket];
    if (s === undefined) return;
    s[kBusy]--;
    if (s[kResponse] === this) s[kResponse] = null;
    if (ending && s[kBusy] === 0) s.end();
  }

  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const s = res.socket as Tracked | null;
    if (s !== null && sockets.has(s)) {
      s[kBusy]++;
      s[kResponse] = res;
      (res as { [kSocket]?: Tracked })[kSocket] = s;
    }
    if (draining) res.setHeader('connection', 'close');
    res.once('close', onFinish);
  });

  const endIdle = (): void => {
    draining = true;
    ending = true;
    for (const s of sockets) if (s[kBusy] === 0) s.end();
  };
  // `server.close()` (and Fastify's close) call this to destroy idle sockets: end them instead.
  server.closeIdleConnections = endIdle;

  return {
    drain() {
      draining = true;
      for (const s of sockets) {
        const res = s[kResponse];
        if (res !== null && !res.headersSent) res.setHeader('connection', 'close');
      }
    },
    endIdle,
    get size() {
      return sockets.size;
    },
  };
}

function isTls(server: http.Server): boolean {
  return typeof (server as { setSecureContext?: unknown }).setSecureContext === 'function';
}
