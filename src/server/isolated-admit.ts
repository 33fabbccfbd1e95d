/**
 * Routes each review: GlobalNetworkPolicy reviews (the cross-object analysis that grows with
 * the policy and the cluster) go to the analysis pool; everything else is decided on the main
 * thread, synchronously, as before. A policy review the pool skipped is answered with the
 * cheap rules (the decision over the static snapshot: the policy's own checks, no cross-object
 * analysis), a warning saying so, and `analysisSkipped` in its audit record.
 *
 * Bodies over `RAW_BODY_CHARS` (json-body.ts) arrive unparsed and all go to the worker,
 * whatever their kind (`isolatedAdmitRaw`): it parses and checks them, and for a policy posts
 * its own checks' answer before the analysis, so a skip is answered with that and the main
 * thread neither parses the body nor runs a rule. Only a review that never reached the worker
 * (queue full, or its budget spent waiting) or whose worker failed first is parsed and judged
 * here, as a small one would be.
 *
 * @example
 *   const admit = isolatedAdmit({ admit: full, cheap, pool });
 *   const admitRaw = isolatedAdmitRaw({ admit: full, cheap, pool });
 *   buildWebhookApp({ admit, admitRaw, ... });
 */
import type { AdmissionRequest } from '../admission/types.ts';
import type { Stage } from '../rules/types.ts';
import type { Decide, Decision } from '../admission/decide.ts';
import type { AnalysisPool, SkipReason } from './analysis-pool.ts';
import { checkReviewText } from './review-check.ts';

export interface IsolatedAdmitOptions {
  /** The full decision, for reviews kept on the main thread. */
  admit: Decide;
  /** The decision without cross-object analysis (static snapshot). */
  cheap: Decide;
  pool: Pick<AnalysisPool, 'analyse' | 'analyseRaw'>;
}

/** The answer to an unparsed body: a decision with the review's uid, or the message of a 400. */
export type RawDecision = { uid: string; decision: Decision } | { refused: string };

/** The policy's own checks (or none, past CHEAP_LIMIT) and what the skip warning says of them. */
export interface Fallback {
  decision: Decision;
  ran: string;
}

const WHY: Record<SkipReason, string> = {
  'queue-full': 'too many policy reviews are waiting',
  budget: 'it would take longer than the per-review budget',
  'worker-failed': 'the analysis worker failed',
};

export const isPolicyReview = (request: AdmissionRequest): boolean =>
  request.kind.kind === 'GlobalNetworkPolicy' && (request.kind.group === 'projectcalico.org' || request.kind.group === 'crd.projectcalico.org');

/** Whether the review goes to the analysis (a policy's CREATE or UPDATE). */
export const isAnalysed = (request: AdmissionRequest): boolean => isPolicyReview(request) && (request.operation === 'CREATE' || request.operation === 'UPDATE');

/**
 * The answer without the analysis. The policy's own checks grow with it too: past CHEAP_LIMIT
 * they would take as long as the analysis, so none run (as a CONNECT, which no rule judges —
 * DELETE is judged: the same audit record, without findings).
 */
export function fallback(cheap: Decide, stage: Stage, request: AdmissionRequest): Fallback {
  const size = policySize(request.object);
  if (size <= CHEAP_LIMIT) return { decision: cheap(stage, request), ran: 'only the checks of the policy itself ran' };
  const decision = cheap(stage, { ...request, operation: 'CONNECT' });
  return {
    decision: { ...decision, audit: { ...decision.audit, operation: request.operation } },
    ran: `no checks ran: the policy has ${size} rules, nets and ports, over the ${CHEAP_LIMIT} checked without the analysis`,
  };
}

/** A fallback answered because the analysis was skipped: the warning first, the reason in the audit record. */
export function skippedAnswer(fb: Fallback, reason: SkipReason): Decision {
  const warning = `[clusterip-guard] the cross-object analysis of this policy was skipped (${WHY[reason]}); ${fb.ran}`;
  return {
    response: { ...fb.decision.response, warnings: [warning, ...(fb.decision.response.warnings ?? [])] },
    audit: { ...fb.decision.audit, analysisSkipped: reason },
  };
}

export function isolatedAdmit(opts: IsolatedAdmitOptions) {
  return (stage: Stage, request: AdmissionRequest): Decision | Promise<Decision> => {
    if (!isAnalysed(request)) return opts.admit(stage, request);
    return opts.pool.analyse(stage, request).then((outcome) => ('decision' in outcome ? outcome.decision : skippedAnswer(fallback(opts.cheap, stage, request), outcome.skipped)));
  };
}

export function isolatedAdmitRaw(opts: IsolatedAdmitOptions) {
  return async (stage: Stage, text: string): Promise<RawDecision> => {
    const outcome = await opts.pool.analyseRaw(stage, text);
    if (!('skipped' in outcome)) return outcome;
    if (outcome.fallback) return { uid: outcome.uid, decision: skippedAnswer(outcome.fallback, outcome.skipped) };
    // The worker never answered: judge it here, as a small body would be.
    const checked = checkReviewText(text);
    if ('refused' in checked) return checked;
    const request = checked.review.request;
    if (!isAnalysed(request)) return { uid: request.uid, decision: opts.admit(stage, request) };
    return { uid: request.uid, decision: skippedAnswer(fallback(opts.cheap, stage, request), outcome.skipped) };
  };
}

/**
 * Rules, nets and ports in a policy: what the policy's own checks grow with. 20,000 keeps them
 * under about 100 ms (measured: a 1,000-rule × 4-net policy, about 8,000, is
 * checked in 4–78 ms; the largest valid policy, 1,024 rules × 256 nets, about 265,000, in 2.8 s).
 */
export const CHEAP_LIMIT = 20_000;

export function policySize(object: unknown): number {
  const spec = (object as { spec?: Record<string, unknown> } | null | undefined)?.spec;
  let n = 0;
  const count = (v: unknown): number => (Array.isArray(v) ? v.length : 0);
  for (const dir of ['ingress', 'egress']) {
    const rules = spec?.[dir];
    if (!Array.isArray(rules)) continue;
    n += rules.length;
    for (const rule of rules as Array<Record<string, Record<string, unknown> | undefined> | null>) {
      for (const side of ['source', 'destination'] as const) {
        const e = rule?.[side];
        if (typeof e === 'object' && e !== null) n += count(e['nets']) + count(e['notNets']) + count(e['ports']) + count(e['notPorts']);
      }
    }
  }
  return n;
}
