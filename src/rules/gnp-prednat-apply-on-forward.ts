/**
 * gnp-prednat-apply-on-forward — `preDNAT: true` (or `doNotTrack: true`) needs
 * `applyOnForward: true`.
 *
 * Calico rejects the combination ("ApplyOnForward must be true if either PreDNAT or DoNotTrack
 * is true"), and writes to crd.projectcalico.org/v1 skip that check, leaving a policy Felix
 * drops. The policy compiler finds it (check `applyOnForward-required`). At /mutate the patch
 * action sets `spec.applyOnForward: true`; at /validate a policy that still lacks it (no
 * mutating webhook, or the action is enforce) is reported.
 */
import { setValue } from '../admission/json-patch.ts';
import { compilePolicy, problemsOf } from '../calico/policy.ts';
import type { Rule } from './types.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';

export const gnpPreDNATApplyOnForward: Rule = {
  id: 'gnp-prednat-apply-on-forward',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['mutate', 'validate'],
  defaultAction: 'patch',
  patches: true,
  doc: 'A preDNAT (or doNotTrack) GlobalNetworkPolicy must set applyOnForward: true; Calico rejects it otherwise. Patched in at /mutate.',
  check({ object, stage }) {
    const policy = compilePolicy(object);
    const flag = policy.preDNAT ? 'preDNAT' : 'doNotTrack';
    return problemsOf(policy, 'applyOnForward-required').map(({ path }) => ({
      path,
      message:
        `GlobalNetworkPolicy "${policy.name}" sets ${flag}: true without applyOnForward: true; Calico rejects that combination (Felix drops the policy when it arrives through crd.projectcalico.org). ` +
        'Fix: set spec.applyOnForward: true.',
      ...(stage === 'mutate' ? { patch: setValue(object, ['spec', 'applyOnForward'], true) } : {}),
    }));
  },
};
