/**
 * Routes each review: GlobalNetworkPolicy reviews (the cross-object analysis that grows with
 * the policy and the cluster) go to the analysis pool; everything else is decided on the main
 * thread, synchronously, as before. A policy review the pool skipped is answered with the
 * cheap rules (the decision over the static snapshot: the policy's own checks, no cross-object
 * analysis), a warning saying so, and `analysisSkipped` in its audit record.
 *
 * @example
 *   const admit = isolatedAdmit({ admit: full, cheap, pool });
 *   buildWebhookApp({ admit, ... });
 */
import type { AdmissionRequest } from '../admission/types.ts';
import type { Stage } from '../rules/types.ts';
import type { Decide, Decision } from '../admission/decide.ts';
import type { AnalysisPool, SkipReason } from './analysis-pool.ts';

export interface IsolatedAdmitOptions {
  /** The full decision, for reviews kept on the main thread. */
  admit: Decide;
  /** The decision without cross-object analysis (static snapshot). */
  cheap: Decide;
  pool: Pick<AnalysisPool, 'analyse'>;
}

const WHY: Record<SkipReason, string> = {
  'queue-full': 'too many policy reviews are waiting',
  budget: 'it would take longer than the per-review budget',
  'worker-failed': 'the analysis worker failed',
};

export const isPolicyReview = (request: AdmissionRequest): boolean =>
  request.kind.kind === 'GlobalNetworkPolicy' && (request.kind.group === 'projectcalico.org' || request.kind.group === 'crd.projectcalico.org');

export function isolatedAdmit(opts: IsolatedAdmitOptions) {
  return (stage: Stage, request: AdmissionRequest): Decision | Promise<Decision> => {
    if (!isPolicyReview(request) || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return opts.admit(stage, request);
    return opts.pool.analyse(stage, request).then((outcome) => {
      if ('decision' in outcome) return outcome.decision;
      // The policy's own checks grow with it too: past CHEAP_LIMIT they would hold the main
      // thread as long as the analysis would have held the worker, so none run (as a CONNECT,
      // which no rule judges — DELETE is judged: the same audit record, without findings).
      const size = policySize(request.object);
      const decision = size <= CHEAP_LIMIT ? opts.cheap(stage, request) : opts.cheap(stage, { ...request, operation: 'CONNECT' });
      const ran = size <= CHEAP_LIMIT ? 'only the checks of the policy itself ran' : `no checks ran: the policy has ${size} rules, nets and ports, over the ${CHEAP_LIMIT} the main thread checks`;
      const warning = `[clusterip-guard] the cross-object analysis of this policy was skipped (${WHY[outcome.skipped]}); ${ran}`;
      return {
        response: { ...decision.response, warnings: [warning, ...(decision.response.warnings ?? [])] },
        audit: { ...decision.audit, operation: request.operation, analysisSkipped: outcome.skipped },
      };
    });
  };
}

/**
 * Rules, nets and ports in a policy: what the policy's own checks grow with. 20,000 keeps them
 * under about 100 ms on the main thread (measured: a 1,000-rule × 4-net policy, about 8,000, is
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
