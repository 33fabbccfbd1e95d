import { createRegistry } from './registry.ts';
import type { Rule } from './types.ts';
import { gnpHostTrafficAllowed } from './gnp-host-traffic-allowed.ts';
import { gnpPodCIDRAllowed } from './gnp-pod-cidr-allowed.ts';
import { serviceClusterIPPolicy } from './service-cluster-ip-policy.ts';
import { serviceClusterIPOpen } from './service-cluster-ip-open.ts';
import { serviceBackendsAllowHosts } from './service-backends-allow-hosts.ts';
import { serviceLocalModePolicy } from './service-local-mode-policy.ts';
import { gnpExposureChange } from './gnp-exposure-change.ts';
import { gnpClusterIPNeedsPreDNAT } from './gnp-cluster-ip-needs-prednat.ts';
import { gnpPreDNATApplyOnForward } from './gnp-prednat-apply-on-forward.ts';
import { gnpPreDNATDoNotTrack } from './gnp-prednat-do-not-track.ts';
import { gnpPreDNATIngressOnly } from './gnp-prednat-ingress-only.ts';
import { gnpSchema } from './gnp-schema.ts';
import { hostEndpointExpectedIPs } from './hostendpoint-expected-ips.ts';
import { serviceClusterIPAdvertised } from './service-cluster-ip-advertised.ts';
import { serviceClusterIPPinned } from './service-cluster-ip-pinned.ts';
import { serviceExposedHeadless } from './service-exposed-headless.ts';
import { hostEndpointTrafficAllowed } from './hostendpoint-traffic-allowed.ts';
import { ipPoolPodCIDRAllowed } from './ippool-pod-cidr-allowed.ts';
import { bgpConfigurationServicesAdvertised } from './bgpconfiguration-services-advertised.ts';

/**
 * Every rule, in evaluation order. Order matters for patches: a rule sees the object with the
 * patches of the rules before it applied (preDNAT patched in → then applyOnForward and types).
 */
export const ALL_RULES: readonly Rule[] = [
  serviceExposedHeadless,
  serviceClusterIPPinned,
  serviceClusterIPAdvertised,
  serviceClusterIPPolicy,
  serviceClusterIPOpen,
  serviceBackendsAllowHosts,
  serviceLocalModePolicy,
  gnpSchema,
  gnpClusterIPNeedsPreDNAT,
  gnpPreDNATApplyOnForward,
  gnpPreDNATIngressOnly,
  gnpPreDNATDoNotTrack,
  gnpPodCIDRAllowed,
  gnpHostTrafficAllowed,
  gnpExposureChange,
  hostEndpointExpectedIPs,
  hostEndpointTrafficAllowed,
  ipPoolPodCIDRAllowed,
  bgpConfigurationServicesAdvertised,
];

export const defaultRegistry = () => createRegistry(ALL_RULES);
