/**
 * gnp-prednat-ingress-only — pre-DNAT policy applies to ingress only.
 *
 * Calico rejects "PreDNAT PolicySpec cannot have any Egress rules" and "... cannot have
 * 'egress' Type". A preDNAT policy without `types` gets `types: [Ingress]` patched in at
 * /mutate, so what is stored says what Calico will do; egress rules or an Egress type cannot
 * be fixed automatically (removing them would change the author's intent) and are denied.
 */
import { setValue } from '../admission/json-patch.ts';
import type { Finding, Rule } from './types.ts';
import { gnpView } from './support/gnp.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';

export const gnpPreDNATIngressOnly: Rule = {
  id: 'gnp-prednat-ingress-only',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['mutate', 'validate'],
  defaultAction: 'patch',
  doc: 'A preDNAT GlobalNetworkPolicy is ingress-only: missing types are patched to [Ingress]; egress rules or an Egress type are denied.',
  check({ object, stage }) {
    const gnp = gnpView(object);
    if (!gnp.preDNAT) return [];
    const findings: Finding[] = [];
    if (gnp.egress.length > 0) {
      findings.push({
        path: 'spec.egress',
        message: `GlobalNetworkPolicy "${gnp.name}" is preDNAT but has egress rules; Calico rejects that, so none of its rules would apply. Fix: move the egress rules to a separate policy without preDNAT.`,
      });
    }
    if (gnp.types?.includes('Egress')) {
      findings.push({
        path: `spec.types[${gnp.types.indexOf('Egress')}]`,
        message: `GlobalNetworkPolicy "${gnp.name}" is preDNAT but lists the Egress type; Calico rejects that. Fix: set spec.types to [Ingress].`,
      });
    }
    if (stage === 'mutate' && gnp.types === null && gnp.egress.length === 0) {
      findings.push({
        path: 'spec.types',
        message: `GlobalNetworkPolicy "${gnp.name}" is preDNAT without spec.types; set types: [Ingress] so the stored policy states what Calico applies.`,
        patch: setValue(object, ['spec', 'types'], ['Ingress']),
      });
    }
    return findings;
  },
};
