/**
 * gnp-prednat-ingress-only — pre-DNAT policy applies to ingress only.
 *
 * Calico rejects "PreDNAT PolicySpec cannot have any Egress rules" and "... cannot have
 * 'egress' Type" (the policy compiler's check `preDNAT-with-egress`). A preDNAT policy without
 * `types` gets `types: [Ingress]` patched in at /mutate, so what is stored says what Calico will
 * do; egress rules or an Egress type cannot be fixed automatically (removing them would change
 * the author's intent) and are denied.
 */
import { setValue } from '../admission/json-patch.ts';
import { compilePolicy, problemsOf } from '../calico/policy.ts';
import type { Finding, Rule } from './types.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';

export const gnpPreDNATIngressOnly: Rule = {
  id: 'gnp-prednat-ingress-only',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['mutate', 'validate'],
  defaultAction: 'patch',
  patches: true,
  doc: 'A preDNAT GlobalNetworkPolicy is ingress-only: missing types are patched to [Ingress]; egress rules or an Egress type are denied.',
  check({ object, stage }) {
    const policy = compilePolicy(object);
    if (!policy.preDNAT) return [];
    const findings: Finding[] = problemsOf(policy, 'preDNAT-with-egress').map(({ path }) => ({
      path,
      message:
        path === 'spec.egress'
          ? `GlobalNetworkPolicy "${policy.name}" is preDNAT but has egress rules; Calico rejects that, so none of its rules would apply. Fix: move the egress rules to a separate policy without preDNAT.`
          : `GlobalNetworkPolicy "${policy.name}" is preDNAT but lists the Egress type; Calico rejects that. Fix: set spec.types to [Ingress].`,
    }));
    if (stage === 'mutate' && object.spec?.['types'] == null && policy.egress.length === 0) {
      findings.push({
        path: 'spec.types',
        message: `GlobalNetworkPolicy "${policy.name}" is preDNAT without spec.types; set types: [Ingress] so the stored policy states what Calico applies.`,
        patch: setValue(object, ['spec', 'types'], ['Ingress']),
      });
    }
    return findings;
  },
};
