/**
 * service-cluster-ip-policy — an exposed Service's cluster IP should be allowed by some
 * pre-DNAT host-endpoint policy.
 *
 * In cluster mode the guide controls external access to a cluster IP with pre-DNAT
 * GlobalNetworkPolicy on the host endpoints (its allow-cluster-ips). This rule looks for a
 * pre-DNAT ingress Allow rule, in a policy that selects the host endpoints receiving exposed
 * traffic (`network.hostEndpointSelector`), that matches at least part of the traffic to the
 * Service's cluster IP and ports. Runs at /validate, where the IP is final.
 */
import { matchRule } from '../calico/flow.ts';
import { NetSet } from '../calico/nets.ts';
import { PortIntervalSet } from '../calico/ports.ts';
import { parseSelectorCached } from '../calico/selector/index.ts';
import { exposureReason } from '../kube/exposure.ts';
import type { Finding, Rule } from './types.ts';
import { hostEndpointClasses } from './support/after-write.ts';
import { netOf } from './support/cidr.ts';
import { SERVICE } from './support/kinds.ts';
import { declaredClusterIPs, isHeadless, objectRef, serviceSpec } from './support/service.ts';

interface ServicePort {
  protocol: string;
  port: number;
}

/** What the API server accepts in a Service port. */
const SERVICE_PROTOCOLS = new Set<unknown>(['TCP', 'UDP', 'SCTP']);

function servicePorts(spec: Record<string, unknown> | undefined): ServicePort[] {
  const ports = Array.isArray(spec?.['ports']) ? (spec['ports'] as Array<Record<string, unknown> | null>) : [];
  // Only ports the API server would accept: null entries and port 0 never get this far through it.
  return ports
    .filter((p): p is Record<string, unknown> => Number.isInteger(p?.['port']) && (p!['port'] as number) >= 1 && (p!['port'] as number) <= 65535)
    .map((p) => ({ protocol: p['protocol'] === undefined ? 'TCP' : p['protocol'], port: p['port'] as number }))
    .filter((p): p is ServicePort => SERVICE_PROTOCOLS.has(p.protocol as string));
}

export const serviceClusterIPPolicy: Rule = {
  id: 'service-cluster-ip-policy',
  kinds: SERVICE,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: "An exposed Service's cluster IP should be allowed by a pre-DNAT host-endpoint policy (the guide's allow-cluster-ips); otherwise its external access is not controlled at the host interface.",
  check(ctx) {
    const { object, config, cluster } = ctx;
    // Policies unknown: the static config, or manifests that hold none.
    if (cluster.source === 'static' || (cluster.source === 'manifests' && cluster.globalNetworkPolicies.length === 0)) return [];
    const reason = exposureReason(object, config);
    const spec = serviceSpec(object);
    if (reason === null || spec.type === 'ExternalName' || isHeadless(spec) || spec.externalTrafficPolicy === 'Local') return [];
    const ips = declaredClusterIPs(spec).filter((ip) => netOf(ip) !== null);
    const ports = servicePorts(object.spec);
    if (ips.length === 0 || ports.length === 0) return [];
    let hostSelector;
    try {
      hostSelector = parseSelectorCached(config.network.hostEndpointSelector);
    } catch {
      return [];
    }
    const classes = hostEndpointClasses(ctx).filter((c) => hostSelector.matches(c.representative.labels));
    if (classes.length === 0) return [];
    const preDNAT = [...new Set(classes.flatMap((c) => c.policies.filter((p) => p.preDNAT)))];
    const findings: Finding[] = [];
    ips.forEach((ip, i) => {
      const allowed = ports.some(({ protocol, port }) => {
        const flow = { protocol, source: 'any' as const, destination: { nets: NetSet.of([ip]) }, ports: PortIntervalSet.of([port]) };
        return preDNAT.some((p) => p.ingress.some((rule) => rule.action === 'Allow' && matchRule(rule, flow).result !== 'none'));
      });
      if (allowed) return;
      findings.push({
        path: spec.clusterIPs.length > 0 ? `spec.clusterIPs[${i}]` : 'spec.clusterIP',
        message:
          `Service ${objectRef(object)} is exposed (${reason}) but no pre-DNAT policy on the host endpoints ("${config.network.hostEndpointSelector}") allows traffic to its cluster IP ${ip}, so external access to it is not controlled at the host interface. ` +
          `Fix: add an ingress Allow rule with destination nets [${ip}/${ip.includes(':') ? 128 : 32}] (and the permitted source nets) to a GlobalNetworkPolicy with preDNAT: true, applyOnForward: true, as the guide's allow-cluster-ips does.`,
      });
    });
    return findings;
  },
};
