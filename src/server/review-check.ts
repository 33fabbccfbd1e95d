/**
 * The checks Fastify runs on a parsed body (json-body.ts, then the envelope schema), for a body
 * it left unparsed (`RawBody`): the analysis worker runs them on large bodies, and the main
 * thread when the worker never got to one. Same options as the app's ajv, same messages.
 *
 * @example
 *   const checked = checkReviewText(text);
 *   if ('refused' in checked) reply400(checked.refused); else decide(checked.review.request);
 */
import { Ajv } from 'ajv';
import type { AdmissionReview } from '../admission/types.ts';
import { parseJsonText } from './json-body.ts';
import { describeReviewError, reviewRequestSchema } from './review-schema.ts';

const validateReview = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false }).compile(reviewRequestSchema);

/** The review, or the message of the 400 Fastify would have answered. */
export function checkReviewText(text: string): { review: AdmissionReview } | { refused: string } {
  const parsed = parseJsonText(text);
  if ('error' in parsed) return { refused: parsed.error };
  if (!validateReview(parsed.value)) return { refused: describeReviewError(validateReview.errors ?? [], parsed.value) };
  return { review: parsed.value as AdmissionReview };
}
