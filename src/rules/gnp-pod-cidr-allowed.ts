/**
 * gnp-pod-cidr-allowed — after this write, traffic forwarded through the host endpoints this
 * policy selects must still reach every pod CIDR.
 *
 * Evaluated with Calico's dataplane order (src/calico/dataplane.ts): untracked → pre-DNAT
 * (no default drop: unmatched traffic passes on) → normal applyOnForward policy (once one
 * selects the endpoint, unmatched forwarded traffic is denied). Flows: TCP and UDP, any
 * source, to each enabled IPPool CIDR (or `network.podCIDRs`), all ports. Without an Allow,
 * pod-to-pod traffic that crosses hosts is dropped. Felix's failsafe ports skip untracked and
 * pre-DNAT policy but not forward policy, so with a normal applyOnForward policy present a
 * pre-DNAT pod Allow does not cover them; that case gets its own message. Host endpoints are taken one per class of
 * endpoints every policy treats alike (HostEndpointClass, support/after-write.ts).
 *
 * On DELETE the deleted policy (the request's oldObject) is taken out; only what the delete
 * itself drops is reported. An existing policy is not judged: forwarded traffic cut is
 * reported once per HostEndpoint by hostendpoint-traffic-allowed.
 */
import { evaluateForwarded, FELIX_DEFAULT_FAILSAFE_INBOUND, type PortRule } from '../calico/dataplane.ts';
import type { HostEndpointView } from '../calico/host-endpoint.ts';
import { NetSet } from '../calico/nets.ts';
import { compilePolicy, isForwardPolicy } from '../calico/policy.ts';
import { PortIntervalSet } from '../calico/ports.ts';
import { isExisting, type Finding, type Rule } from './types.ts';
import { afterWhat, selectedAfterRequest, type SelectedClass } from './support/after-write.ts';
import { netOf } from './support/cidr.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';
import { podCIDRs } from './support/network.ts';
import { dropCause, dropsByProtocol, type Drop } from './support/verdict-text.ts';

/** The message for the first host-endpoint class that drops something (one finding per CIDR is enough to act on). */
function firstDrop(classes: readonly SelectedClass[], drops: (c: SelectedClass) => Drop[], message: (hep: HostEndpointView, dropped: Drop[]) => string): string | null {
  for (const c of classes) {
    const dropped = drops(c);
    if (dropped.length > 0) return message(c.hostEndpoint, dropped);
  }
  return null;
}

const failsafeList = (protocols: string[]): string =>
  FELIX_DEFAULT_FAILSAFE_INBOUND.filter((r) => protocols.includes(String(r.protocol).toUpperCase()))
    .map((r) => `${String(r.protocol).toLowerCase()}:${r.port}`)
    .join(', ');

export const gnpPodCIDRAllowed: Rule = {
  id: 'gnp-pod-cidr-allowed',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['validate'],
  defaultAction: 'warn',
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  needsValidObject: true,
  doc: 'After this write, traffic forwarded through the host endpoints the policy selects must still be allowed to every pod CIDR; otherwise pod-to-pod traffic across hosts is dropped.',
  check(ctx) {
    if (ctx.cluster.source === 'static' || isExisting(ctx)) return []; // static: the other policies are unknown
    const submitted = compilePolicy(ctx.object);
    const classes = selectedAfterRequest(submitted, ctx);
    if (classes.length === 0) return [];
    const findings: Finding[] = [];
    const selected = `host endpoints selected by "${submitted.selector?.source ?? ''}"`;
    for (const cidr of podCIDRs(ctx)) {
      const net = netOf(cidr);
      if (net === null) continue;
      const destination = { nets: NetSet.ofNet(net) };
      const dropsWith = (hep: SelectedClass['hostEndpoint'], policies: SelectedClass['policies'], failsafe: readonly PortRule[]): Drop[] =>
        dropsByProtocol((protocol) => evaluateForwarded(policies, hep, { protocol, source: 'any', destination, ports: PortIntervalSet.ALL }, { failsafe }));
      // On DELETE a class that dropped as much before the delete is not the delete's doing.
      const dropsFor = ({ hostEndpoint: hep, policies, before }: SelectedClass & { before?: SelectedClass['policies'] }, failsafe: readonly PortRule[]): Drop[] => {
        const dropped = dropsWith(hep, policies, failsafe);
        return dropped.length > 0 && before !== undefined && dropsWith(hep, before, failsafe).length >= dropped.length ? [] : dropped;
      };
      // First without failsafe ports (all ports alike), then the ports Felix lets skip pre-DNAT policy.
      const finding =
        firstDrop(classes, (c) => dropsFor(c, []), (hep, dropped) =>
          `${afterWhat(ctx)}, ${dropped.map((d) => d.protocol).join('/')} traffic forwarded through ${selected} (e.g. "${hep.name}") to pod CIDR ${cidr} ${dropCause(dropped[0]!.verdict)}, cutting pod traffic between hosts; ` +
          `add an Allow rule with destination nets [${cidr}] (preDNAT: true, applyOnForward: true) as the guide's allow-to-pods does.`) ??
        // Failsafe ports only lose the pre-DNAT Allow where forward policy can drop them.
        firstDrop(classes.filter((c) => c.policies.some(isForwardPolicy)), (c) => dropsFor(c, FELIX_DEFAULT_FAILSAFE_INBOUND), (hep, dropped) =>
          `${afterWhat(ctx)}, traffic forwarded through ${selected} (e.g. "${hep.name}") to pod CIDR ${cidr} on Felix's failsafe ports (${failsafeList(dropped.map((d) => d.protocol))}) skips pre-DNAT policy and ${dropCause(dropped[0]!.verdict)}; ` +
          `also allow destination nets [${cidr}] in a normal policy with applyOnForward: true (no preDNAT) on these host endpoints.`);
      if (finding !== null) findings.push({ path: 'spec', message: finding });
    }
    return findings;
  },
};
