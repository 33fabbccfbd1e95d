/**
 * Fuzzed AdmissionReviews: a valid Service review with arbitrary JSON put at field paths the
 * rules read, as another kind, stage and operation. Shared by test/server/fuzz.test.ts (a
 * property test) and bench/hostile.ts (100,000 of them against a running server).
 */
import fc from 'fast-check';
import { review } from '../test/server/helpers.ts';

const KINDS = [
  { group: '', version: 'v1', kind: 'Service' },
  { group: 'projectcalico.org', version: 'v3', kind: 'GlobalNetworkPolicy' },
  { group: 'crd.projectcalico.org', version: 'v1', kind: 'GlobalNetworkPolicy' },
  { group: 'projectcalico.org', version: 'v3', kind: 'HostEndpoint' },
];

/** Field paths the rules read; the fuzzer puts arbitrary JSON at some of them. */
const PATHS = [
  ['metadata'], ['metadata', 'name'], ['metadata', 'namespace'], ['metadata', 'labels'], ['metadata', 'annotations'],
  ['spec'], ['spec', 'type'], ['spec', 'clusterIP'], ['spec', 'clusterIPs'], ['spec', 'ports'], ['spec', 'ports', 0],
  ['spec', 'ports', 0, 'port'], ['spec', 'ports', 0, 'protocol'], ['spec', 'selector'], ['spec', 'externalTrafficPolicy'],
  ['spec', 'ipFamilies'], ['spec', 'types'], ['spec', 'order'], ['spec', 'preDNAT'], ['spec', 'applyOnForward'], ['spec', 'doNotTrack'],
  ['spec', 'ingress'], ['spec', 'ingress', 0], ['spec', 'ingress', 0, 'action'], ['spec', 'ingress', 0, 'protocol'],
  ['spec', 'ingress', 0, 'source'], ['spec', 'ingress', 0, 'destination', 'nets'], ['spec', 'ingress', 0, 'destination', 'ports'],
  ['spec', 'ingress', 0, 'destination', 'notPorts'], ['spec', 'egress'], ['spec', 'node'], ['spec', 'interfaceName'], ['spec', 'expectedIPs'],
] as const;

const valueArb = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, 0, -1, 65536, 1.5, '', 'TCP', 'tcp', '10.96.0.1', '10.96.0.0/12', 'fd00::1', '1:65535', '80:70', "k8s-role == 'node'", 'all()', '!!', { valueOf: 1 }, { toString: 1 }, [null], [{}]),
);

export const fuzzCase = fc.record({
  stage: fc.constantFrom('mutate', 'validate'),
  kind: fc.constantFrom(...KINDS),
  operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE'),
  edits: fc.array(fc.tuple(fc.constantFrom(...PATHS), valueArb), { minLength: 1, maxLength: 4 }),
  withOld: fc.boolean(),
});

export type FuzzCase = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never;

function setAt(root: Record<string, any>, path: readonly (string | number)[], value: unknown): void {
  let node: any = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key];
  }
  node[path[path.length - 1]!] = value;
}

/** The review for one case: `url` is `/mutate` or `/validate`. */
export function fuzzReview(c: FuzzCase): Record<string, any> {
  return review((r) => {
    r.request.kind = c.kind;
    r.request.operation = c.operation;
    r.request.object.apiVersion = c.kind.group ? `${c.kind.group}/${c.kind.version}` : 'v1';
    r.request.object.kind = c.kind.kind;
    for (const [path, value] of c.edits) setAt(r.request.object, path, structuredClone(value));
    r.request.oldObject = c.withOld ? structuredClone(r.request.object) : null;
  });
}
