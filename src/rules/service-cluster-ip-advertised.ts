/**
 * service-cluster-ip-advertised — an exposed Service's cluster IP must lie inside a CIDR that
 * Calico advertises over BGP (BGPConfiguration `default`, spec.serviceClusterIPs).
 *
 * Fields: spec.clusterIP / spec.clusterIPs. Sources: the cluster's BGPConfiguration, else
 * config `network.advertisedServiceCIDRs`; when neither is known the rule stays silent.
 * Runs at /validate, where the IP is final (pinned or allocated).
 */
import { exposureReason } from '../kube/exposure.ts';
import type { Finding, Rule } from './types.ts';
import { withinAny } from './support/cidr.ts';
import { SERVICE } from './support/kinds.ts';
import { advertisedServiceCIDRs } from './support/network.ts';
import { declaredClusterIPs, isHeadless, objectRef, serviceSpec } from './support/service.ts';

export const serviceClusterIPAdvertised: Rule = {
  id: 'service-cluster-ip-advertised',
  kinds: SERVICE,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: "An exposed Service's cluster IP must fall inside a CIDR advertised over BGP (BGPConfiguration serviceClusterIPs); otherwise external clients have no route to it.",
  check(ctx) {
    const { object, config, cluster } = ctx;
    const reason = exposureReason(object, config);
    const spec = serviceSpec(object);
    if (reason === null || spec.type === 'ExternalName' || isHeadless(spec)) return [];
    const ips = declaredClusterIPs(spec);
    const advertised = advertisedServiceCIDRs(ctx);
    if (ips.length === 0) return [];
    if (advertised.length === 0) {
      if (cluster.bgpConfiguration === null) return []; // unknown: nothing configured, nothing read
      return [
        {
          path: 'spec.clusterIP',
          message:
            `Service ${objectRef(object)} is exposed (${reason}) but BGPConfiguration "default" advertises no service cluster IPs, so no route to ${ips.join(', ')} leaves the cluster. ` +
            'Fix: add the service range to spec.serviceClusterIPs of BGPConfiguration "default".',
        },
      ];
    }
    const findings: Finding[] = [];
    ips.forEach((ip, i) => {
      if (withinAny(ip, advertised)) return;
      findings.push({
        path: spec.clusterIPs.length > 0 ? `spec.clusterIPs[${i}]` : 'spec.clusterIP',
        message:
          `Service ${objectRef(object)} is exposed (${reason}) but its cluster IP ${ip} is outside every advertised service CIDR (${advertised.join(', ')}), so external clients have no route to it. ` +
          'Fix: pick a cluster IP inside an advertised CIDR, or add its range to BGPConfiguration "default" spec.serviceClusterIPs.',
      });
    });
    return findings;
  },
};
