/**
 * An in-memory store of namespaced and cluster-scoped objects behind plain HTTP, answering
 * GET (one object or a collection, across namespaces too), POST, PUT (409 on a stale
 * resourceVersion) and DELETE as the API server does (lists honour a `key=value` labelSelector) — enough for the lease and the report
 * writer. Requests are recorded; `fail` makes the next matching requests answer an error.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

const PATH = /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([^/?]+)(?:\/([^/?]+))?$/;

export class ObjectStore {
  readonly objects = new Map<string, Obj>();
  readonly requests: { method: string; path: string }[] = [];
  failures: { method: string; status: number; count: number } | null = null;
  /** Answers 500 to every request it returns true for (e.g. one replica's lease PUTs: a replica cut off). */
  refuse: ((method: string, body: string) => boolean) | null = null;
  #rv = 1;
  readonly #server = createServer((req, res) => void this.#handle(req, res));

  async start(): Promise<KubeConfig> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    return kc;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Objects of one plural, e.g. `reports`. */
  list(plural: string): Obj[] {
    return [...this.objects].filter(([k]) => k.startsWith(`${plural}/`)).map(([, o]) => o);
  }

  put(plural: string, object: Obj): void {
    object.metadata.resourceVersion = String(this.#rv++);
    this.objects.set(`${plural}/${object.metadata.namespace ?? ''}/${object.metadata.name}`, object);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ method: req.method ?? '', path: url.pathname });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let text = '';
    for await (const chunk of req) text += chunk;
    const f = this.failures;
    if (f !== null && f.count > 0 && f.method === req.method) {
      f.count--;
      return send(f.status, { kind: 'Status', reason: 'InternalError', message: 'injected failure' });
    }
    if (this.refuse?.(req.method ?? '', text)) return send(500, { kind: 'Status', reason: 'InternalError', message: 'refused' });
    const m = PATH.exec(url.pathname);
    if (m === null) return send(404, { reason: 'NotFound' });
    const [, , , namespace, plural, name] = m;
    const key = (n: string, ns = namespace) => `${plural}/${ns ?? ''}/${n}`;
    switch (req.method) {
      case 'GET': {
        if (name === undefined) {
          const [lk, lv] = (url.searchParams.get('labelSelector') ?? '').split('=');
          const labelled = (o: Obj) => lk === undefined || lk === '' || (o.metadata['labels'] as Record<string, string> | undefined)?.[lk] === lv;
          const items = this.list(plural!).filter((o) => (namespace === undefined || o.metadata.namespace === namespace) && labelled(o));
          return send(200, { items, metadata: { resourceVersion: String(this.#rv) } });
        }
        const o = this.objects.get(key(name));
        return o === undefined ? send(404, { reason: 'NotFound' }) : send(200, o);
      }
      case 'POST': {
        const body = JSON.parse(text) as Obj;
        if (this.objects.has(key(body.metadata.name, body.metadata.namespace ?? namespace))) return send(409, { reason: 'AlreadyExists' });
        this.put(plural!, body);
        return send(201, body);
      }
      case 'PUT': {
        const body = JSON.parse(text) as Obj;
        const old = this.objects.get(key(name!));
        if (old === undefined) return send(404, { reason: 'NotFound' });
        if (body.metadata.resourceVersion !== undefined && body.metadata.resourceVersion !== old.metadata.resourceVersion) return send(409, { reason: 'Conflict' });
        this.put(plural!, body);
        return send(200, body);
      }
      case 'DELETE': {
        if (!this.objects.delete(key(name!))) return send(404, { reason: 'NotFound' });
        return send(200, { kind: 'Status', status: 'Success' });
      }
      default:
        return send(405, {});
    }
  }
}
