/**
 * hostendpoint-expected-ips — a HostEndpoint needs `expectedIPs` for label-based rules.
 *
 * Calico resolves a selector in another policy's source/destination to IPs; a HostEndpoint
 * without expectedIPs contributes none, so rules such as the guide's
 * `destination: { selector: k8s-role == 'node' }` never match traffic to it.
 */
import type { Rule } from './types.ts';
import { HOST_ENDPOINT } from './support/kinds.ts';

export const hostEndpointExpectedIPs: Rule = {
  id: 'hostendpoint-expected-ips',
  kinds: HOST_ENDPOINT,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: 'A HostEndpoint should list expectedIPs: without them, label-based rules (selectors in source/destination) do not match it.',
  check({ object }) {
    const ips = object.spec?.['expectedIPs'];
    if (Array.isArray(ips) && ips.length > 0) return [];
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '<unnamed>';
    return [
      {
        path: 'spec.expectedIPs',
        message: `HostEndpoint "${name}" has no expectedIPs, so policy rules that select it by label (e.g. destination selector k8s-role == 'node') will not match its traffic. Fix: list the interface's IPs in spec.expectedIPs.`,
      },
    ];
  },
};
