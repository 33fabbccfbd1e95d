import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { WatchTarget } from './resources.ts';

/**
 * Plain GET requests through client-node's own request machinery (kubeconfig auth, TLS
 * dispatcher), returning raw JSON. The generated typed clients are not used for reads: they
 * turn objects into model classes (Date fields, every optional key present as undefined),
 * while watch events arrive as raw JSON; the cache must hold one shape.
 */

/** A non-2xx answer from the API server, with the HTTP status and the Status reason. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string | undefined;

  constructor(path: string, statusCode: number, reason: string | undefined, detail: string | undefined) {
    super(`GET ${path}: HTTP ${statusCode}${reason ? ` ${reason}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

const httpLibrary = new IsomorphicFetchHttpLibrary();

/**
 * GETs `path` (e.g. `/apis`) from the kubeconfig's current cluster and parses the JSON body.
 * @example await getJson(kubeConfig, '/apis/crd.projectcalico.org/v1', AbortSignal.timeout(10_000))
 */
export async function getJson(kubeConfig: KubeConfig, path: string, signal: AbortSignal): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const context = new RequestContext(`${cluster.server.replace(/\/+$/, '')}${path}`, HttpMethod.GET);
  context.setHeaderParam('Accept', 'application/json');
  await kubeConfig.applySecurityAuthentication(context);
  context.setSignal(signal);
  const response = await httpLibrary.send(context).toPromise();
  const text = await response.body.text();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    const status = parseStatus(text);
    throw new KubeApiError(path, response.httpStatusCode, status?.reason, status?.message ?? text.slice(0, 200));
  }
  return JSON.parse(text) as unknown;
}

const LIST_PAGE_SIZE = 500;

/**
 * Lists a whole collection page by page (`limit`/`continue`; the server keeps one consistent
 * resourceVersion across pages) in the shape client-node's ListWatch expects. Items of typed
 * lists come without `apiVersion`/`kind` from the API server; they are filled in so that
 * listed objects look like watched ones.
 */
export async function listAll(
  kubeConfig: KubeConfig,
  target: WatchTarget,
  signal: AbortSignal,
): Promise<KubernetesListObject<KubernetesObject>> {
  const items: KubernetesObject[] = [];
  let continueToken = '';
  let resourceVersion = '';
  do {
    const query = new URLSearchParams({ limit: String(LIST_PAGE_SIZE) });
    if (continueToken !== '') query.set('continue', continueToken);
    const page = await getJson(kubeConfig, `${target.path}?${query}`, signal);
    if (!isRecord(page) || !Array.isArray(page['items'])) {
      throw new Error(`GET ${target.path}: the answer is not a list (no items array)`);
    }
    for (const item of page['items'] as unknown[]) {
      if (!isRecord(item)) continue;
      item['apiVersion'] ??= target.groupVersion;
      item['kind'] ??= target.kind;
      items.push(item as KubernetesObject);
    }
    const metadata = isRecord(page['metadata']) ? page['metadata'] : {};
    resourceVersion = typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
    continueToken = typeof metadata['continue'] === 'string' ? metadata['continue'] : '';
  } while (continueToken !== '');
  return { apiVersion: target.groupVersion, kind: `${target.kind}List`, metadata: { resourceVersion }, items };
}

/**
 * A one-line description of a request failure; fetch hides the socket error in `cause`.
 * @example describeError(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:6443') })) // 'fetch failed: connect ECONNREFUSED 127.0.0.1:6443'
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // client-node's Watch reports a non-200 answer as Error(statusText) with a statusCode field.
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  const message = typeof statusCode === 'number' && !(error instanceof KubeApiError) ? `HTTP ${statusCode} ${error.message}` : error.message;
  const cause = error.cause;
  return cause instanceof Error ? `${message}: ${cause.message}` : message;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseStatus(text: string): { reason?: string; message?: string } | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (!isRecord(body) || body['kind'] !== 'Status') return undefined;
    const result: { reason?: string; message?: string } = {};
    if (typeof body['reason'] === 'string') result.reason = body['reason'];
    if (typeof body['message'] === 'string') result.message = body['message'];
    return result;
  } catch {
    return undefined;
  }
}
