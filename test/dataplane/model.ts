/**
 * What the model says about one probe: the very evaluators the rules and `explain` use
 * (src/calico/dataplane.ts) over `compilePolicy` of the objects the rig stored.
 */
import type { KubeObject } from '../../src/admission/types.ts';
import { evaluateForwarded, evaluateHostIngress, type Verdict } from '../../src/calico/dataplane.ts';
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
