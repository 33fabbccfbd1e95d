/**
 * A small Kubernetes API server over real HTTPS for the cluster-state tests: discovery
 * (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`), paged lists and watches
 * (newline-delimited JSON events over a chunked response) with a global resourceVersion,
 * event history, compaction (410 Gone as an ERROR event) and bookmarks. Tests change objects
 * through methods and can inject failures.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export const CALICO_V3 = 'projectcalico.org/v3';
export const CALICO_CRD_V1 = 'crd.projectcalico.org/v1';
const TOKEN = 'fake-token';

type JsonObject = Record<string, unknown>;
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface ResourceDef {
  groupVersion: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

interface Collection {
  def: ResourceDef;
  objects: Map<string, JsonObject>;
  events: { rv: number; type: EventType; object: JsonObject }[];
  /** Watches from an older resourceVersion get 410 Gone. */
  compactedBefore: number;
  watchers: Set<ServerResponse>;
}

const CALICO_KINDS: [string, string][] = [
  ['globalnetworkpolicies', 'GlobalNetworkPolicy'],
  ['hostendpoints', 'HostEndpoint'],
  ['ippools', 'IPPool'],
  ['bgpconfigurations', 'BGPConfiguration'],
];

export function collectionPath(groupVersion: string, plural: string): string {
  return groupVersion === 'v1' ? `/api/v1/${plural}` : `/apis/${groupVersion}/${plural}`;
}

export const SERVICES_PATH = '/api/v1/services';

/** A self-signed certificate for 127.0.0.1, made with openssl. */
export function makeTls(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cig-fake-apiserver-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=fake-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A KubeConfig for `https://127.0.0.1:<port>` trusting `caPem`, with the fake's bearer token. */
export function kubeConfigFor(port: number, caPem: string, token = TOKEN): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `https://127.0.0.1:${port}`, caData: Buffer.from(caPem).toString('base64') }],
    users: [{ name: 'tester', token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
    currentContext: 'fake',
  });
  return kc;
}

/** A port nothing listens on (yet). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RequestRecord {
  kind: 'discovery' | 'list' | 'watch';
  path: string;
  query: URLSearchParams;
}

export class FakeApiServer {
  readonly requests: RequestRecord[] = [];
  /** Calico group versions served; `v1` (core) always is. */
  readonly served = new Set<string>();
  /** Largest page a list returns, whatever `limit` asks for (exercises `continue`). */
  pageSize = 2;
  /** Leave discovery requests unanswered (a cluster that accepts connections but hangs). */
  hangDiscovery = false;
  /** Collection paths the server does not serve although their group version is served. */
  readonly hidden = new Set<string>();
  readonly #tls: { key: string; cert: string };
  readonly #collections = new Map<string, Collection>();
  readonly #failures = new Map<string, { status: number; remaining: number }>();
  #rv = 1000;
  #server: Server | undefined;
  #port = 0;

  constructor(tls: { key: string; cert: string }, served: readonly string[] = [CALICO_V3, CALICO_CRD_V1]) {
    this.#tls = tls;
    for (const gv of served) this.served.add(gv);
    for (const gv of [CALICO_V3, CALICO_CRD_V1]) {
      for (const [plural, kind] of CALICO_KINDS) this.#define({ groupVersion: gv, plural, kind, namespaced: false });
    }
    this.#define({ groupVersion: 'v1', plural: 'services', kind: 'Service', namespaced: true });
  }

  get port(): number {
    return this.#port;
  }

  async listen(port = 0): Promise<number> {
    const server = createServer({ key: this.#tls.key, cert: this.#tls.cert }, (req, res) => this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    this.#port = address.port;
    return this.#port;
  }

  /** Stops listening and cuts every connection, open watches included. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const collection of this.#collections.values()) {
      for (const watcher of collection.watchers) watcher.destroy();
      collection.watchers.clear();
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Creates or replaces an object (ADDED or MODIFIED event); returns the stored copy. */
  put(path: string, object: JsonObject, options: { silently?: boolean } = {}): JsonObject {
    const collection = this.#collection(path);
    const key = keyOf(object);
    const type: EventType = collection.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(object);
    const metadata = (stored['metadata'] ??= {}) as JsonObject;
    metadata['resourceVersion'] = String(++this.#rv);
    stored['apiVersion'] = collection.def.groupVersion;
    stored['kind'] = collection.def.kind;
    collection.objects.set(key, stored);
    if (options.silently !== true) this.#emit(collection, type, stored);
    return stored;
  }

  /** Deletes an object (DELETED event unless `silently`, i.e. the event is lost). */
  remove(path: string, name: string, options: { namespace?: string; silently?: boolean } = {}): void {
    const collection = this.#collection(path);
    const key = options.namespace === undefined ? name : `${options.namespace}/${name}`;
    const existing = collection.objects.get(key);
    if (existing === undefined) throw new Error(`no ${key} in ${path}`);
    collection.objects.delete(key);
    const gone = structuredClone(existing);
    (gone['metadata'] as JsonObject)['resourceVersion'] = String(++this.#rv);
    if (options.silently !== true) this.#emit(collection, 'DELETED', gone);
  }

  /** Compacts history: open watches get a 410 Gone ERROR event and are closed, as etcd compaction does. */
  expire(path: string): void {
    const collection = this.#collection(path);
    collection.compactedBefore = this.#rv;
    collection.events = [];
    for (const watcher of collection.watchers) {
      writeEvent(watcher, { type: 'ERROR', object: goneStatus(0, this.#rv) });
      watcher.end();
    }
    collection.watchers.clear();
  }

  /** Ends open watches cleanly (what the API server does when a watch times out). */
  dropWatches(path: string): void {
    const collection = this.#collection(path);
    for (const watcher of collection.watchers) watcher.end();
    collection.watchers.clear();
  }

  /** Sends a BOOKMARK with a new resourceVersion to the open watches; returns that version. */
  bookmark(path: string): string {
    const collection = this.#collection(path);
    const resourceVersion = String(++this.#rv);
    const object = { apiVersion: collection.def.groupVersion, kind: collection.def.kind, metadata: { resourceVersion } };
    for (const watcher of collection.watchers) writeEvent(watcher, { type: 'BOOKMARK', object });
    return resourceVersion;
  }

  /** The next `count` requests of that kind to that path answer `status`. */
  failNext(kind: RequestRecord['kind'], path: string, status: number, count = 1): void {
    this.#failures.set(`${kind} ${path}`, { status, remaining: count });
  }

  count(kind: RequestRecord['kind'], path?: string): number {
    return this.requests.filter((r) => r.kind === kind && (path === undefined || r.path === path)).length;
  }

  openWatches(path: string): number {
    return this.#collection(path).watchers.size;
  }

  #define(def: ResourceDef): void {
    this.#collections.set(collectionPath(def.groupVersion, def.plural), {
      def, objects: new Map(), events: [], compactedBefore: 0, watchers: new Set(),
    });
  }

  #collection(path: string): Collection {
    const collection = this.#collections.get(path);
    if (collection === undefined) throw new Error(`unknown collection ${path}`);
    return collection;
  }

  #emit(collection: Collection, type: EventType, object: JsonObject): void {
    collection.events.push({ rv: this.#rv, type, object });
    for (const watcher of collection.watchers) writeEvent(watcher, { type, object });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const path = url.pathname.replace(/\/+$/, '');
    const query = url.searchParams;
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    const collection = this.#collections.get(path);
    const kind: RequestRecord['kind'] = collection === undefined ? 'discovery' : query.get('watch') === 'true' ? 'watch' : 'list';
    this.requests.push({ kind, path, query });
    const failure = this.#failures.get(`${kind} ${path}`);
    if (failure !== undefined && failure.remaining > 0) {
      failure.remaining -= 1;
      sendStatus(res, failure.status, 'InternalError', `injected failure ${failure.status}`);
      return;
    }
    if (collection === undefined) {
      this.#discovery(path, res);
      return;
    }
    if (!this.#isServed(collection.def.groupVersion) || this.hidden.has(path)) {
      sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
      return;
    }
    if (kind === 'watch') this.#watch(collection, query, res);
    else this.#list(collection, query, res);
  }

  #isServed(groupVersion: string): boolean {
    return groupVersion === 'v1' || this.served.has(groupVersion);
  }

  #discovery(path: string, res: ServerResponse): void {
    if (this.hangDiscovery) return;
    if (path === '/api') {
      sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      return;
    }
    if (path === '/apis') {
      const groups = [...this.served].map((gv) => {
        const [name, version] = gv.split('/');
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
      sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      return;
    }
    const groupVersion = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : '';
    if (groupVersion === '' || !this.#isServed(groupVersion)) {
      sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
      return;
    }
    const resources = [...this.#collections.entries()]
      .filter(([key, c]) => c.def.groupVersion === groupVersion && !this.hidden.has(key))
      .map(([, c]) => c)
      .flatMap((c) => [
        { name: c.def.plural, namespaced: c.def.namespaced, kind: c.def.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        { name: `${c.def.plural}/status`, namespaced: c.def.namespaced, kind: c.def.kind, verbs: ['get', 'patch', 'update'] },
      ]);
    sendJson(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
  }

  #list(collection: Collection, query: URLSearchParams, res: ServerResponse): void {
    const all = [...collection.objects.values()];
    const offset = Number(query.get('continue') ?? '0');
    const limit = Math.min(Number(query.get('limit') ?? String(all.length)) || all.length, this.pageSize);
    const page = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? String(offset + limit) : undefined;
    // Typed lists carry apiVersion/kind on the list only, like the real API server.
    const items = page.map((object) => {
      const copy = structuredClone(object);
      if (collection.def.groupVersion === 'v1') {
        delete copy['apiVersion'];
        delete copy['kind'];
      }
      return copy;
    });
    sendJson(res, 200, {
      apiVersion: collection.def.groupVersion,
      kind: `${collection.def.kind}List`,
      metadata: { resourceVersion: String(this.#rv), ...(next === undefined ? {} : { continue: next }) },
      items,
    });
  }

  #watch(collection: Collection, query: URLSearchParams, res: ServerResponse): void {
    const from = Number(query.get('resourceVersion') || String(this.#rv));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    if (from < collection.compactedBefore) {
      writeEvent(res, { type: 'ERROR', object: goneStatus(from, collection.compactedBefore) });
      res.end();
      return;
    }
    for (const event of collection.events) {
      if (event.rv > from) writeEvent(res, { type: event.type, object: event.object });
    }
    collection.watchers.add(res);
    res.on('close', () => collection.watchers.delete(res));
  }
}

function keyOf(object: JsonObject): string {
  const metadata = (object['metadata'] ?? {}) as JsonObject;
  return typeof metadata['namespace'] === 'string' ? `${metadata['namespace']}/${String(metadata['name'])}` : String(metadata['name']);
}

function goneStatus(requested: number, oldest: number): JsonObject {
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: `too old resource version: ${requested} (${oldest})`, reason: 'Expired', code: 410,
  };
}

function writeEvent(res: ServerResponse, event: { type: string; object: unknown }): void {
  res.write(`${JSON.stringify(event)}\n`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
