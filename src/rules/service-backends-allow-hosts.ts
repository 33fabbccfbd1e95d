/**
 * service-backends-allow-hosts — in cluster mode, the pods behind an exposed Service must let
 * the host endpoints in on the target ports (the guide's Step 3, allow-nodes-svc-a).
 *
 * External traffic to a cluster-mode Service reaches the pods SNATed to the forwarding node's
 * address, so the pods' policies see the node, not the client. The policies that select the
 * pods (judged by the Service's spec.selector labels; "uncertain" where a selector reads other
 * labels) are evaluated for traffic from each group of host endpoints (their expectedIPs, and
 * their labels for source selectors) to every target port (src/calico/dataplane.ts
 * evaluateWorkloadIngress). No policy selecting the pods means Kubernetes lets everyone in.
 */
import type { Finding, Rule } from './types.ts';
import { exposedBackends, hostsToPods, podSelector, uncertainNote } from './support/backends.ts';
import { SERVICE } from './support/kinds.ts';
import { hostGroups, hostNames } from './support/service-reach.ts';
import { explainVerdict } from './support/verdict-text.ts';

export const serviceBackendsAllowHosts: Rule = {
  id: 'service-backends-allow-hosts',
  kinds: SERVICE,
  stages: ['validate'],
  defaultAction: 'warn',
  doc: "In cluster mode an exposed Service's pods see external traffic SNATed to the node's address: the policies selecting the pods must allow the host endpoints on the target ports (the guide's allow-nodes-svc-a).",
  check(ctx) {
    const found = exposedBackends(ctx, false);
    if (found === null) return [];
    const { exposed, backends } = found;
    const { object } = ctx;
    const seen = new Set<string>();
    const blocked: string[] = [];
    const ports = new Set<string>();
    for (const target of exposed.targets) {
      const key = `${target.protocol}/${target.targetPort}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const group of hostGroups(ctx)) {
        if (group.assumed) continue;
        const verdict = hostsToPods(backends, target, group.hostEndpoint, ctx);
        if (verdict === null) continue; // hostendpoint-expected-ips says why label rules miss it
        if (verdict.allowed) continue;
        ports.add(`${target.targetPort}/${target.protocol}`);
        if (blocked.length < 2) blocked.push(`from host endpoints ${hostNames(group)}: ${explainVerdict(verdict)}`);
        break;
      }
    }
    if (blocked.length === 0) return [];
    const hostSelector = ctx.config.network.hostEndpointSelector;
    const fix = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: `allow-nodes-${object.metadata?.name ?? 'svc'}` },
      spec: {
        selector: podSelector(backends),
        types: ['Ingress'],
        ingress: [...new Set([...ports].map((p) => p.split('/')[1]!))].map((protocol) => ({
          action: 'Allow',
          protocol,
          source: { selector: hostSelector },
          destination: { ports: [...ports].filter((p) => p.endsWith(`/${protocol}`)).map((p) => (/^[0-9]+$/.test(p.split('/')[0]!) ? Number(p.split('/')[0]) : p.split('/')[0])) },
        })),
      },
    };
    const finding: Finding = {
      path: 'spec.selector',
      message:
        `Service ${exposed.ref} is exposed in cluster mode, so external traffic reaches its pods SNATed to the node's address, but the pods' policies do not let the host endpoints in on target port(s) ${[...ports].join(', ')}: ${blocked.join(' ')} ` +
        `Fix: allow the host endpoints on the target ports in a policy selecting the pods, as the guide's allow-nodes-svc-a does: ${JSON.stringify(fix)}.${uncertainNote(backends)}`,
    };
    return [finding];
  },
};
