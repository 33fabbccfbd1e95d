/**
 * gnp-prednat-do-not-track — `preDNAT` and `doNotTrack` cannot both be true.
 *
 * Calico rejects the pair ("PreDNAT and DoNotTrack cannot both be true"): untracked policy runs
 * in the raw table, before connection tracking and DNAT, so it cannot be pre-DNAT policy too.
 * The policy compiler finds it (check `preDNAT-with-doNotTrack`); this rule says how to fix it.
 */
import { compilePolicy, problemsOf } from '../calico/policy.ts';
import type { Rule } from './types.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';

export const gnpPreDNATDoNotTrack: Rule = {
  id: 'gnp-prednat-do-not-track',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['validate'],
  defaultAction: 'enforce',
  doc: 'A GlobalNetworkPolicy cannot set both preDNAT and doNotTrack; Calico rejects it.',
  check({ object }) {
    const policy = compilePolicy(object);
    return problemsOf(policy, 'preDNAT-with-doNotTrack').map(({ path }) => ({
      path,
      message:
        `GlobalNetworkPolicy "${policy.name}" sets both preDNAT and doNotTrack; Calico rejects that (Felix drops it when it arrives through crd.projectcalico.org). ` +
        'Fix: for cluster-IP policy keep preDNAT: true and remove doNotTrack.',
    }));
  },
};
