/**
 * The checks Fastify runs on a parsed body (json-body.ts, then the envelope schema), for a body
 * it left unparsed (`RawBody`): the analysis worker runs them on large bodies, and the main
 * thread when the worker never got to one. Same options as the app's ajv, same messages.
 *
 * @example
 *   const checked = checkReviewBytes(bytes);
 *   if ('refused' in checked) reply400(checked.refused); else decide(checked.review.request);
 */
import { Ajv } from 'ajv';
import type { AdmissionReview } from '../admission/types.ts';
import { parseJsonText } from './json-body.ts';
import { describeReviewError, reviewRequestSchema } from './review-schema.ts';

const validateReview = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false }).compile(reviewRequestSchema);

/** The review, or the message of the 400 Fastify would have answered. */
export function checkReviewBytes(bytes: Uint8Array): { review: AdmissionReview } | { refused: string } {
  const parsed = parseJsonText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  if ('error' in parsed) return { refused: parsed.error };
  if (!validateReview(parsed.value)) return { refused: describeReviewError(validateReview.errors ?? [], parsed.value) };
  return { review: parsed.value as AdmissionReview };
}
