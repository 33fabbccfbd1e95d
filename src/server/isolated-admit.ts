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
import type { AnalysisPool, Decision, SkipReason } from './analysis-pool.ts';

type SyncAdmit = (stage: Stage, request: AdmissionRequest) => Decision;

export interface IsolatedAdmitOptions {
  /** The full decision, for reviews kept on the main thread. */
  admit: SyncAdmit;
  /** The decision without cross-object analysis (static snapshot). */
  cheap: SyncAdmit;
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
      const decision = opts.cheap(stage, request);
      const warning = `[clusterip-guard] the cross-object analysis of this policy was skipped (${WHY[outcome.skipped]}); only the checks of the policy itself ran`;
      return {
        response: { ...decision.response, warnings: [warning, ...(decision.response.warnings ?? [])] },
        audit: { ...decision.audit, analysisSkipped: outcome.skipped },
      };
    });
  };
}
