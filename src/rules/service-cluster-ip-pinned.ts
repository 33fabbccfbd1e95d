/**
 * service-cluster-ip-pinned — exposed Services in cluster mode must be created with an explicit
 * cluster IP.
 *
 * Fields: spec.clusterIP, spec.clusterIPs (dual-stack), spec.type, spec.externalTrafficPolicy.
 * Allowed: any non-empty IP. Not checked: ExternalName Services (no cluster IP), Local mode
 * (secured by pod policy, which needs no IP), headless Services (service-exposed-headless).
 *
 * Runs at /mutate only: the API server allocates a missing IP after mutating admission and
 * before validating admission, so only a mutating webhook can see that it was left out.
 * On UPDATE the API server copies the allocated IP back when the user omits it, so an update
 * of a Service that already has an IP is fine.
 *
 * An existing Service (audit) always has an IP, pinned or allocated. Its managedFields tell
 * them apart: a pinned IP is owned by the manager of the write that set it; an allocated one is
 * owned by nobody (see src/kube/managed-fields.ts). Without managedFields (a manifest file) the
 * object is taken as written: a declared IP is pinned.
 */
import { exposureReason } from '../kube/exposure.ts';
import { fieldOwners, managedFieldsOf } from '../kube/managed-fields.ts';
import type { KubeObject } from '../admission/types.ts';
import { isExisting, type Rule } from './types.ts';
import { SERVICE } from './support/kinds.ts';
import { declaredClusterIPs, isHeadless, objectRef, serviceSpec } from './support/service.ts';

export const serviceClusterIPPinned: Rule = {
  id: 'service-cluster-ip-pinned',
  kinds: SERVICE,
  stages: ['mutate'],
  defaultAction: 'enforce',
  doc: 'An exposed Service in cluster mode (externalTrafficPolicy: Cluster) must set spec.clusterIP: host-endpoint policies name cluster IPs, so a randomly allocated one is either unprotected or unreachable.',
  check(ctx) {
    const { object, oldObject, operation, config } = ctx;
    const reason = exposureReason(object, config);
    if (reason === null) return [];
    const spec = serviceSpec(object);
    if (spec.type === 'ExternalName' || spec.externalTrafficPolicy === 'Local' || isHeadless(spec)) return [];
    if (isExisting(ctx)) {
      if (pinnedByUser(object)) return [];
      return [
        {
          path: 'spec.clusterIP',
          message:
            `Service ${objectRef(object)} is exposed (${reason}) in cluster mode and its cluster IP ${declaredClusterIPs(spec).join(', ')} was allocated by the API server, not set by a user (no field manager owns spec.clusterIP); ` +
            'an allocated IP is not part of the plan the host-endpoint policies are written for, and a re-created Service gets another one. ' +
            'Fix: re-create the Service with spec.clusterIP set to a chosen free address in the advertised service range and allow it in a preDNAT GlobalNetworkPolicy ' +
            '(or use externalTrafficPolicy: Local with type NodePort/LoadBalancer).',
        },
      ];
    }
    if (declaredClusterIPs(spec).length > 0) return [];
    if (operation === 'UPDATE') {
      const old = serviceSpec(oldObject);
      // The stored IP is immutable and copied back by the API server.
      if (old.type !== 'ExternalName' && declaredClusterIPs(old).length > 0) return [];
    }
    return [
      {
        path: 'spec.clusterIP',
        message:
          `Service ${objectRef(object)} is exposed (${reason}) in cluster mode but does not set spec.clusterIP; ` +
          'the API server would allocate a random IP that no host-endpoint policy names, so external traffic to it is not controlled as the Calico guide requires. ' +
          'Fix: set spec.clusterIP to a free address in the advertised service range and allow it in a preDNAT GlobalNetworkPolicy ' +
          '(or use externalTrafficPolicy: Local with type NodePort/LoadBalancer).',
      },
    ];
  },
};

/** The stored Service's cluster IP was set by a user: some field manager owns it (or, with no managedFields, the manifest declares it). */
function pinnedByUser(object: KubeObject): boolean {
  const entries = managedFieldsOf(object);
  if (entries === null) return declaredClusterIPs(serviceSpec(object)).length > 0;
  return fieldOwners(entries, ['spec', 'clusterIP']).length > 0 || fieldOwners(entries, ['spec', 'clusterIPs']).length > 0;
}
