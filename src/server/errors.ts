/**
 * Every error answer of the webhook server, in one place: code, HTTP status and message
 * template. The README's "Errors" table lists the same codes (a test keeps them in step).
 * Start-up and CLI errors (including an unloadable certificate, CIG_ERR_TLS) are in
 * src/errors.ts.
 *
 * Templates name their parameters in braces; `webhookError()` fills them in.
 *
 * @example
 *   throw webhookError('CIG_ERR_BODY_TOO_LARGE', { limit: 7340032 });
 *   // → 413 { code: 'CIG_ERR_BODY_TOO_LARGE', message: 'request body is larger than 7340032 bytes' }
 */

export interface ErrorSpec {
  /** HTTP status of the answer. */
  readonly status: number;
  /** Where it shows up, for the README table's "where" column. */
  readonly where: string;
  readonly template: string;
  /** What it means, in the README table's words. */
  readonly doc: string;
}

export const ERROR_CATALOGUE = {
  CIG_ERR_BAD_REVIEW: {
    status: 400,
    where: 'webhook, HTTP 400',
    template: '{detail}',
    doc:
      'the body is not an admission.k8s.io/v1 AdmissionReview (not JSON, wrong content type, empty, a missing ' +
      'or mistyped envelope field); the message names the field and the value received',
  },
  CIG_ERR_BAD_REQUEST: {
    status: 400,
    where: 'webhook, HTTP 400',
    template: '{detail}',
    doc: 'the HTTP request itself is malformed (e.g. the body does not match Content-Length)',
  },
  CIG_ERR_BODY_TOO_LARGE: {
    status: 413,
    where: 'webhook, HTTP 413',
    template: 'request body is larger than {limit} bytes',
    doc: 'the review is over the body limit (default 7 MiB: an UPDATE carries the object and the old object)',
  },
  CIG_ERR_NOT_FOUND: {
    status: 404,
    where: 'webhook, HTTP 404',
    template: 'no route for {method} {url}; the webhook serves POST /mutate and POST /validate',
    doc: 'wrong path or method; the webhook serves POST /mutate and POST /validate',
  },
  CIG_ERR_INTERNAL: {
    status: 500,
    where: 'webhook, HTTP 500',
    template: 'internal error while deciding request {uid}; the details are in the webhook log',
    doc:
      'a bug: the decision threw; the detail is logged with the request uid, the API server applies the ' +
      'failurePolicy, the server keeps serving',
  },
} as const satisfies Record<string, ErrorSpec>;

export type WebhookErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a catalogue code; `status` is the HTTP status to answer with. */
export class WebhookError extends Error {
  readonly code: WebhookErrorCode;
  readonly status: number;

  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** Builds the error for `code`, filling the template's `{name}` placeholders from `params`. */
export function webhookError(
  code: WebhookErrorCode,
  params: Record<string, string | number>,
  options?: { cause?: unknown },
): WebhookError {
  const message = ERROR_CATALOGUE[code].template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
  return new WebhookError(code, message, options);
}

/** Shorthand for the most common answer: a 400 naming what is wrong with the review. */
export function badReview(detail: string): WebhookError {
  return webhookError('CIG_ERR_BAD_REVIEW', { detail });
}

/** The catalogue as rows of the README's Errors table (`| code | where | meaning |`). */
export function errorTableRows(): string[] {
  return Object.entries(ERROR_CATALOGUE).map(([code, spec]) => {
    return `| \`${code}\` | ${spec.where} | ${spec.doc} |`;
  });
}

/** The JSON body of an error answer. */
export interface ErrorBody {
  code: WebhookErrorCode;
  message: string;
}

export function errorBody(err: WebhookError): ErrorBody {
  return { code: err.code, message: err.message };
}
