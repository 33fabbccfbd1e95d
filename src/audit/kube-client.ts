import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig } from '@kubernetes/client-node';

/**
 * JSON requests for the report writer and the lease, through client-node's request machinery
 * (kubeconfig auth, TLS), as src/cluster/kube-request.ts does for reads: raw JSON in and out,
 * no model classes, so a report is sent exactly as built.
 */

export interface KubeAnswer {
  readonly status: number;
  readonly body: unknown;
}

const httpLibrary = new IsomorphicFetchHttpLibrary();

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Sends one request; any HTTP status resolves (the caller decides), a network failure rejects. */
export async function kubeRequest(kubeConfig: KubeConfig, method: Method, path: string, body: unknown, signal: AbortSignal): Promise<KubeAnswer> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const context = new RequestContext(`${cluster.server.replace(/\/+$/, '')}${path}`, HttpMethod[method]);
  context.setHeaderParam('Accept', 'application/json');
  if (body !== undefined) {
    context.setHeaderParam('Content-Type', 'application/json');
    context.setBody(JSON.stringify(body));
  }
  await kubeConfig.applySecurityAuthentication(context);
  context.setSignal(signal);
  const response = await httpLibrary.send(context).toPromise();
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // a non-JSON error page: keep the text for the message
  }
  return { status: response.httpStatusCode, body: parsed };
}

/** "HTTP 403 Forbidden: reports.openreports.io is forbidden: …" for logs. */
export function describeAnswer(answer: KubeAnswer): string {
  const b = answer.body as { reason?: unknown; message?: unknown } | null;
  const reason = typeof b?.reason === 'string' ? ` ${b.reason}` : '';
  const message = typeof b?.message === 'string' ? `: ${b.message}` : typeof answer.body === 'string' ? `: ${answer.body.slice(0, 200)}` : '';
  return `HTTP ${answer.status}${reason}${message}`;
}
