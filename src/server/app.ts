/**
 * The webhook itself: a Fastify instance answering `POST /mutate` and `POST /validate` with
 * admission.k8s.io/v1 AdmissionReviews, over HTTPS in production (plain for `inject()` tests).
 *
 * The hot path is: parse JSON → check the envelope (compiled ajv schema) → `admit()` →
 * guard the answer against what the API server rejects → serialize and send → audit line.
 * Nothing else is logged per request. With `admitRaw`, a body over `RAW_BODY_CHARS` skips the
 * first three steps here: the analysis worker parses, checks and decides it.
 *
 * @example
 *   const app = buildWebhookApp({ admit, auditLog: (rec) => audit.info(rec), metrics, https: { key, cert } });
 *   await app.listen({ port: 8443, host: '0.0.0.0' });
 */
import type https from 'node:https';
import { performance } from 'node:perf_hooks';
import Fastify, { LogController } from 'fastify';
import type {
  FastifyError,
  FastifyHttpsOptions,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
  HookHandlerDoneFunction,
} from 'fastify';
import type { Logger } from 'pino';
import type { AdmissionRequest, AdmissionResponse, AdmissionReview } from '../admission/types.ts';
import type { AuditRecord } from '../admission/audit-record.ts';
import type { Decision } from '../admission/decide.ts';
import type { Stage } from '../rules/types.ts';
import { WebhookError, badReview, errorBody, webhookError } from './errors.ts';
import { jsonBodyParser, RAW_BODY_CHARS, RawBody } from './json-body.ts';
import type { RawDecision } from './isolated-admit.ts';
import { trackConnections } from './connections.ts';
import type { ErrorBody } from './errors.ts';
import type { Metrics, WebhookMetrics, WebhookPath } from './metrics.ts';
import {
  describeReviewError,
  errorResponseSchema,
  reviewRequestSchema,
  reviewResponseSchema,
} from './review-schema.ts';

/**
 * The admission decision (src/admission/decide.ts has the same shape): synchronous, or a
 * promise for reviews decided off the main thread (isolated-admit.ts). A throw or rejection is
 * treated as a bug: HTTP 500, logged, and the server keeps serving.
 */
export type Admit = (stage: Stage, request: AdmissionRequest) => Decision | Promise<Decision>;

/** One audit log line: the decision, when it was made, and ms from request arrival to the decision. */
export type TimedAuditRecord = AuditRecord & { time: string; durationMs: number };

export interface WebhookAppOptions {
  admit: Admit;
  /**
   * Decides a body over `RAW_BODY_CHARS` without the main thread parsing it (the analysis
   * worker: isolated-admit.ts). Absent: every body is parsed and goes to `admit`.
   */
  admitRaw?: (stage: Stage, text: string) => Promise<RawDecision>;
  /** Called once per decision; a throw is logged and does not change the answer. */
  auditLog: (record: TimedAuditRecord) => void;
  metrics: Metrics;
  /** Operational log (errors, start-up); false or absent = silent. */
  logger?: Logger | false;
  /** Largest accepted body in bytes; default `DEFAULT_BODY_LIMIT`. */
  bodyLimit?: number;
  /** PEM key and certificate; null or absent = plain HTTP (tests through `inject()`). */
  https?: { key: string | Buffer; cert: string | Buffer } | null;
  /** Idle keep-alive sockets are closed after this; default `DEFAULT_KEEP_ALIVE_TIMEOUT_MS`. */
  keepAliveTimeoutMs?: number;
  /** Longest time a request (headers and body) may take to arrive; default `REQUEST_TIMEOUT_MS`. */
  requestTimeoutMs?: number;
}

/**
 * 7 MiB. An UPDATE review carries the new object (up to the API server's 3 MiB request limit)
 * and the stored old object, plus the envelope; controller-runtime picked the same bound.
 */
export const DEFAULT_BODY_LIMIT = 7 * 1024 * 1024;

/**
 * The API server's webhook client (Go net/http) drops idle connections after 90 s. Closing
 * later than the client means we never close a socket it is about to reuse.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 120_000;

/** Longest time a request may take to arrive; the API server's longest webhook timeout is 30 s. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * How often Node looks for requests past their timeout (its default is 30 s, which let a slow
 * body run to 90 s together with the default 60 s headers timeout). 1 s keeps the answer
 * within a second of `requestTimeoutMs`, for one timer per server.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

const API_VERSION = 'admission.k8s.io/v1';

interface TimedRequest extends FastifyRequest {
  startedAt: number;
}

/** Builds the webhook app; call `listen()` on it (or `inject()` in tests). */
export function buildWebhookApp(opts: WebhookAppOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const nodeServerOptions = { connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS };
  const serverOptions: FastifyServerOptions & { http?: typeof nodeServerOptions } = {
    bodyLimit,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout,
    http: nodeServerOptions,
    // On close: end idle keep-alive sockets at once (gracefully: see connections.ts), let busy
    // ones finish their request.
    forceCloseConnections: 'idle',
    // A request that arrives on a kept-alive socket while we drain is still answered (with
    // `Connection: close`); a 503 would make the API server apply the failure policy.
    return503OnClosing: false,
    // Per request, only the audit line is written (by the handler).
    logController: new LogController({ disableRequestLogging: true }),
    // One logger for all requests: no per-request child logger on the hot path.
    childLoggerFactory: (logger) => logger,
    ajv: {
      // The envelope must be right as sent: no type coercion, no defaults, nothing removed.
      customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false },
    },
  };
  if (opts.logger) serverOptions.loggerInstance = opts.logger;
  // https.Server is an http.Server to everything past this point; the TLS part is only
  // needed for certificate reloads (see tls.ts `secureServerOf`).
  const app = opts.https
    ? (Fastify({
        ...serverOptions,
        https: { key: opts.https.key, cert: opts.https.cert, ...nodeServerOptions },
      } as FastifyHttpsOptions<https.Server>) as unknown as FastifyInstance)
    : Fastify(serverOptions);
  // Shutdown hands connections over (Connection: close, FIN) instead of destroying them.
  app.decorate('connections', trackConnections(app.server));
  // Node swaps the two when headersTimeout (default 60 s) is the larger, and then a slow body
  // gets 60 s; equal, a request has `requestTimeout` from its first byte to its last.
  app.server.headersTimeout = requestTimeout;

  app.decorateRequest('startedAt', 0);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, jsonBodyParser(opts.admitRaw ? RAW_BODY_CHARS : Infinity));
  app.setErrorHandler(makeErrorHandler(bodyLimit));
  app.setNotFoundHandler(function handleNotFound(request, reply) {
    const err = webhookError('CIG_ERR_NOT_FOUND', { method: request.method, url: request.url });
    return reply.code(404).send(errorBody(err));
  });

  for (const stage of ['mutate', 'validate'] as const) {
    const path: WebhookPath = `/${stage}`;
    const series = opts.metrics.webhook(path);
    app.route({
      method: 'POST',
      url: path,
      schema: {
        body: reviewRequestSchema,
        response: { 200: reviewResponseSchema, '4xx': errorResponseSchema, '5xx': errorResponseSchema },
      },
      onRequest: makeInstrumentHook(series),
      ...makeReviewHandlers(stage, path, series, opts),
    });
  }
  return app;
}

/** Per-response state for `onResponseClose`, kept on the response so no closure is made per request. */
const kSeries = Symbol('clusterip-guard.series');
const kStarted = Symbol('clusterip-guard.started');
type InstrumentedResponse = FastifyReply['raw'] & { [kSeries]: WebhookMetrics; [kStarted]: number };

/** Starts the clock and the in-flight count; ends both when the response is done or abandoned. */
function makeInstrumentHook(series: WebhookMetrics) {
  return function instrumentRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const started = performance.now();
    (request as TimedRequest).startedAt = started;
    series.started();
    const res = reply.raw as InstrumentedResponse;
    res[kSeries] = series;
    res[kStarted] = started;
    res.on('close', onResponseClose);
    done();
  };
}

function onResponseClose(this: InstrumentedResponse): void {
  // writableEnded: the whole answer was handed to the socket (inject() never "finishes").
  if (this.writableEnded) this[kSeries].finished(this.statusCode, (performance.now() - this[kStarted]) / 1000);
  else this[kSeries].abandoned();
}

/**
 * The route's handler, and a preValidation hook that answers a `RawBody` itself: its envelope
 * is checked where it is parsed (review-check.ts), so the schema validation that would refuse
 * the unparsed body is skipped by answering before it.
 */
function makeReviewHandlers(stage: Stage, path: WebhookPath, series: WebhookMetrics, opts: WebhookAppOptions) {
  const { admit, admitRaw, auditLog, metrics } = opts;
  const failed = (request: FastifyRequest, reply: FastifyReply, uid: string, err: unknown): FastifyReply => {
    request.log.error({ err, uid, webhook: path }, 'admission decision threw');
    return reply.code(500).send(errorBody(webhookError('CIG_ERR_INTERNAL', { uid })));
  };
  const answer = (request: FastifyRequest, reply: FastifyReply, uid: string, decision: Decision): FastifyReply => {
    const response = checkResponse(stage, uid, decision.response, request);
    const { audit } = decision;
    series.decided(audit.decision);
    for (const finding of audit.findings) metrics.finding(finding.rule, finding.action);
    const durationMs = performance.now() - (request as TimedRequest).startedAt;
    // Answer first, then write the audit line: the API server is waiting, the log is not.
    reply.send({ apiVersion: API_VERSION, kind: 'AdmissionReview', response });
    try {
      auditLog({ time: new Date().toISOString(), ...audit, durationMs });
    } catch (err) {
      request.log.error({ err, uid, webhook: path }, 'audit log write failed');
    }
    return reply;
  };
  // Without admitRaw there are no raw bodies, and no hook on the request path.
  const preValidation = admitRaw && function answerRawBody(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (!(request.body instanceof RawBody)) {
      done();
      return;
    }
    admitRaw(stage, request.body.text).then(
      (raw) => ('refused' in raw ? reply.code(400).send(errorBody(badReview(raw.refused))) : answer(request, reply, raw.uid, raw.decision)),
      (err: unknown) => failed(request, reply, 'unknown', err),
    );
  };
  const handler = function handleReview(request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
    const req = (request.body as AdmissionReview).request;
    let decision: Decision | Promise<Decision>;
    try {
      decision = admit(stage, req);
    } catch (err) {
      return failed(request, reply, req.uid, err);
    }
    if (decision instanceof Promise) {
      return decision.then(
        (d) => answer(request, reply, req.uid, d),
        (err: unknown) => failed(request, reply, req.uid, err),
      );
    }
    return answer(request, reply, req.uid, decision);
  };
  return preValidation ? { preValidation, handler } : { handler };
}

/**
 * Makes sure the answer passes the API server's `VerifyAdmissionResponse`: the request's uid,
 * no patch at all from /validate, `patch` and `patchType: JSONPatch` together from /mutate.
 * A violation is a bug in the decision, so it is logged at error level and repaired.
 */
function checkResponse(stage: Stage, uid: string, res: AdmissionResponse, request: FastifyRequest): AdmissionResponse {
  const hasPatch = res.patch !== undefined;
  const hasPatchType = res.patchType !== undefined;
  if (res.uid === uid && (stage === 'validate' ? !hasPatch && !hasPatchType : hasPatch === hasPatchType)) {
    return res;
  }
  const fixed: AdmissionResponse = { ...res, uid };
  if (res.uid !== uid) request.log.error({ uid, got: res.uid }, 'decision answered with another uid; replaced it');
  if (stage === 'validate' && (hasPatch || hasPatchType)) {
    request.log.error({ uid }, 'decision returned a patch from /validate; removed it');
    delete fixed.patch;
    delete fixed.patchType;
  } else if (hasPatch && !hasPatchType) {
    request.log.error({ uid }, 'decision returned a patch without patchType; set it to JSONPatch');
    fixed.patchType = 'JSONPatch';
  } else if (hasPatchType && !hasPatch) {
    request.log.error({ uid }, 'decision returned patchType without a patch; removed it');
    delete fixed.patchType;
  }
  return fixed;
}

/** Maps every error Fastify or the parser raises to a catalogue answer `{ code, message }`. */
function makeErrorHandler(bodyLimit: number) {
  return function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const err = toWebhookError(error, request, bodyLimit);
    const status = err.status;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code: err.code, message: err.message }, 'request refused');
    const body: ErrorBody = errorBody(err);
    return reply.code(status).send(body);
  };
}

function toWebhookError(error: FastifyError, request: FastifyRequest, bodyLimit: number): WebhookError {
  if (error instanceof WebhookError) return error;
  if (error.validation) return badReview(describeReviewError(error.validation, request.body));
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return webhookError('CIG_ERR_BODY_TOO_LARGE', { limit: bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const got = request.headers['content-type'];
      return badReview(`content-type must be application/json (got ${got === undefined ? 'none' : JSON.stringify(got)})`);
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return webhookError('CIG_ERR_BAD_REQUEST', { detail: 'request body size does not match Content-Length' });
  }
  const status = error.statusCode ?? 500;
  if (status < 500) return webhookError('CIG_ERR_BAD_REQUEST', { detail: error.message });
  return webhookError('CIG_ERR_INTERNAL', { uid: reviewUid(request.body) ?? 'unknown' }, { cause: error });
}

function reviewUid(body: unknown): string | undefined {
  const uid = (body as { request?: { uid?: unknown } } | undefined)?.request?.uid;
  return typeof uid === 'string' ? uid : undefined;
}
