/**
 * What the model says about one probe: the very evaluators the rules and `explain` use
 * (src/calico/dataplane.ts) over `compilePolicy` of the objects the rig stored.
 */
import type { KubeObject } from '../../src/admission/types.ts';
import { evaluateForwarded, evaluateHostIngress, isRuleCause, type Verdict } from '../../src/calico/dataplane.ts';
import { regionVerdict } from '../../src/calico/reachability.ts';
import { hostEndpointView } from '../../src/calico/host-endpoint.ts';
import { NetSet } from '../../src/calico/nets.ts';
import { compilePolicy, type CompiledPolicy } from '../../src/calico/policy.ts';
import { PortIntervalSet } from '../../src/calico/ports.ts';
import { POD_IP, type ProbeSpec } from './topology.ts';

export function compileAll(objects: readonly KubeObject[]): CompiledPolicy[] {
  return objects.map((o) => compilePolicy(o));
}

export function predict(policies: readonly CompiledPolicy[], hepObject: KubeObject, probe: ProbeSpec): Verdict {
  const hep = hostEndpointView(hepObject);
  const base = {
    protocol: probe.proto.toUpperCase(),
    source: NetSet.of([`${probe.src}/32`]),
    ports: PortIntervalSet.of([probe.port]),
  };
  switch (probe.target) {
    case 'node-ip':
      return evaluateHostIngress(policies, hep, { ...base, destination: { hostEndpoint: hep } });
    case 'pod-ip':
      return evaluateForwarded(policies, hep, { ...base, destination: { nets: NetSet.of([`${POD_IP}/32`]) } });
    case 'cluster-ip':
      return evaluateForwarded(policies, hep, {
        ...base,
        destination: { nets: NetSet.of([`${probe.dst}/32`]) },
        afterDnat: { nets: NetSet.of([`${POD_IP}/32`]) },
      });
  }
}

/**
 * Whether a probe (a TCP handshake or a UDP echo: there and back) should succeed, given the
 * model's verdict on its packets arriving at the host endpoint. One documented Felix behaviour
 * sits between the two: a forwarded TCP flow let in by an untracked Allow has no conntrack entry,
 * so the pod's SYN-ACK is conntrack state INVALID at the node and the host endpoint's forward
 * chain drops it (felix/rules/endpoints.go appendConntrackRules, unless FelixConfiguration
 * disableConntrackInvalid). Its packets get through (the model's verdict); the connection does not.
 * UDP replies are NEW, not INVALID, and pass.
 */
export function expectRoundTrip(verdict: Verdict, probe: ProbeSpec): boolean {
  const untrackedTcpForward = probe.proto === 'tcp' && probe.target !== 'node-ip' && isRuleCause(verdict.by) && verdict.by.stage === 'untracked' && verdict.by.action === 'Allow';
  return modelDelivers(verdict, probe) && !untrackedTcpForward;
}

/**
 * The model's answer to "do the probe's packets get to the listener": the verdict itself for the
 * pod and the host; for a cluster IP the rules' own reading of it (reachability.ts regionVerdict:
 * an untracked Allow is never DNATed, so it does not reach a backend).
 */
export function modelDelivers(verdict: Verdict, probe: ProbeSpec): boolean {
  return probe.target === 'cluster-ip' ? regionVerdict(verdict).verdict === 'reaches' : verdict.allowed;
}
