/**
 * hostendpoint-traffic-allowed — after a HostEndpoint write, its host must still be reachable
 * outside the node-port range, and traffic forwarded through it must still reach the pods.
 *
 * A host endpoint denies traffic to its host by default (failsafe ports aside): creating one
 * that no policy selects with an Allow cuts the node off (projectcalico/calico#873). Flows
 * as gnp-host-traffic-allowed (to the host, every port outside `network.nodePortRange`) and
 * gnp-pod-cidr-allowed (forwarded to each pod CIDR, all ports), with the stored
 * GlobalNetworkPolicies that select the endpoint. On UPDATE only what the write itself drops is
 * reported. An existing endpoint (audit) is judged as it stands: this is where a cut-off host
 * is reported, once.
 *
 * DELETE lifts the endpoint's policy: when it was its node's last host endpoint and pre-DNAT
 * policies selected it, the node's cluster IPs stop being restricted to the allowed sources.
 */
import { evaluateForwarded, evaluateHostIngress } from '../calico/dataplane.ts';
import { hostEndpointView, storedHostEndpointView, type HostEndpointView } from '../calico/host-endpoint.ts';
import { NetSet } from '../calico/nets.ts';
import type { CompiledPolicy } from '../calico/policy.ts';
import { PortIntervalSet } from '../calico/ports.ts';
import type { KubeObject } from '../admission/types.ts';
import { isExisting, type Finding, type Rule, type RuleContext } from './types.ts';
import { policiesSelecting } from './support/after-write.ts';
import { netOf } from './support/cidr.ts';
import { HOST_ENDPOINT } from './support/kinds.ts';
import { podCIDRs, portsOutsideNodePorts } from './support/network.ts';
import { dropCause, dropsByProtocol, type Drop } from './support/verdict-text.ts';

const hostDrops = (policies: readonly CompiledPolicy[], hep: HostEndpointView, ports: PortIntervalSet): Drop[] =>
  dropsByProtocol((protocol) => evaluateHostIngress(policies, hep, { protocol, source: 'any', destination: { hostEndpoint: hep }, ports }));

const forwardDrops = (policies: readonly CompiledPolicy[], hep: HostEndpointView, nets: NetSet): Drop[] =>
  dropsByProtocol((protocol) => evaluateForwarded(policies, hep, { protocol, source: 'any', destination: { nets }, ports: PortIntervalSet.ALL }));

const hostOf = (hep: HostEndpointView): string => (hep.node === '' ? `of host endpoint "${hep.name}"` : hep.node);

function onWrite(ctx: RuleContext): Finding[] {
  const hep = hostEndpointView(ctx.object);
  const policies = policiesSelecting(hep, ctx.cluster);
  const old = ctx.operation === 'UPDATE' && ctx.oldObject !== null && !isExisting(ctx) ? hostEndpointView(ctx.oldObject) : null;
  const oldPolicies = old === null ? [] : policiesSelecting(old, ctx.cluster);
  const lead = isExisting(ctx) ? '' : 'after this write, ';
  const names = policies.length === 0 ? 'no policy selects it' : `policies selecting it: ${policies.map((p) => `"${p.name}"`).join(', ')}`;
  const findings: Finding[] = [];
  const range = ctx.config.network.nodePortRange;
  const ports = portsOutsideNodePorts(ctx);
  const dropped = hostDrops(policies, hep, ports);
  if (dropped.length > 0 && (old === null || hostDrops(oldPolicies, old, ports).length < dropped.length)) {
    const protocols = dropped.map((d) => d.protocol).join('/');
    findings.push({
      path: 'metadata.labels',
      message:
        `${lead}${protocols} traffic to host ${hostOf(hep)} (host endpoint "${hep.name}", interface "${hep.interfaceName}") outside the node-port range ${range} ${dropCause(dropped[0]!.verdict)} (${names}); only Felix's failsafe ports still reach it. ` +
        `Fix: give the endpoint the labels a host-traffic policy selects (the guide's allow-traffic-hostendpoints selects k8s-role == 'node'), or add a policy allowing ${protocols} to it with notPorts ["${range}"].`,
    });
  }
  for (const cidr of podCIDRs(ctx)) {
    const net = netOf(cidr);
    if (net === null) continue;
    const nets = NetSet.ofNet(net);
    const fwd = forwardDrops(policies, hep, nets);
    if (fwd.length === 0 || (old !== null && forwardDrops(oldPolicies, old, nets).length >= fwd.length)) continue;
    findings.push({
      path: 'metadata.labels',
      message:
        `${lead}forwarded pod traffic (${fwd.map((d) => d.protocol).join('/')}) through ${hostOf(hep)} (host endpoint "${hep.name}") to pod CIDR ${cidr} ${dropCause(fwd[0]!.verdict)}, cutting pod traffic between hosts. ` +
        `Fix: allow destination nets [${cidr}] in a policy that selects this endpoint (preDNAT: true, applyOnForward: true), as the guide's allow-to-pods does.`,
    });
  }
  return findings;
}

function onDelete(ctx: RuleContext): Finding[] {
  const hep = hostEndpointView(ctx.object);
  const preDNAT = policiesSelecting(hep, ctx.cluster).filter((p) => p.preDNAT);
  if (preDNAT.length === 0 || hep.node === '') return [];
  const name = ctx.object.metadata?.name;
  const remaining = ctx.cluster.hostEndpoints.filter((o: KubeObject) => o.metadata?.name !== name && storedHostEndpointView(o).node === hep.node);
  if (remaining.length > 0) return [];
  return [
    {
      path: 'metadata.name',
      message:
        `after deleting HostEndpoint "${hep.name}", node ${hep.node} has no host endpoint left, so the pre-DNAT policies that selected it (${preDNAT.map((p) => `"${p.name}"`).join(', ')}) no longer apply there: ` +
        'external traffic to the cluster IPs through that node is no longer restricted to the sources they allow. Fix: keep a host endpoint for every node that receives external traffic.',
    },
  ];
}

export const hostEndpointTrafficAllowed: Rule = {
  id: 'hostendpoint-traffic-allowed',
  kinds: HOST_ENDPOINT,
  stages: ['validate'],
  defaultAction: 'warn',
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  doc: 'After a HostEndpoint write, traffic to its host outside the node-port range and traffic forwarded through it to the pod CIDRs must still be allowed by some policy (a host endpoint denies by default); deleting the last host endpoint of a node lifts its pre-DNAT restrictions.',
  check(ctx) {
    if (ctx.cluster.source === 'static') return []; // the policies are unknown
    return ctx.operation === 'DELETE' && !isExisting(ctx) ? onDelete(ctx) : onWrite(ctx);
  },
};
