/**
 * Property: whatever JSON arrives in any field of a review, the server + rules answer 200 (with
 * the request's uid and one audit line) or a catalogue 400, never a 5xx or a crash.
 * FUZZ_RUNS (default 5000) sets the number of cases, FUZZ_SEED replays a run; the seed is printed.
 */
import fc from 'fast-check';
import t from 'tap';
import { makeAdmit } from '../../bench/admit.ts';
import { buildWebhookApp } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { review } from './helpers.ts';

const numRuns = Number(process.env.FUZZ_RUNS ?? 5000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

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

const caseArb = fc.record({
  stage: fc.constantFrom('mutate', 'validate'),
  kind: fc.constantFrom(...KINDS),
  operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE'),
  edits: fc.array(fc.tuple(fc.constantFrom(...PATHS), valueArb), { minLength: 1, maxLength: 4 }),
  withOld: fc.boolean(),
});

function setAt(root: Record<string, any>, path: readonly (string | number)[], value: unknown): void {
  let node: any = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key];
  }
  node[path[path.length - 1]!] = value;
}

t.test(`server + rules are total over arbitrary JSON in rule fields (${numRuns} cases, seed ${seed})`, async (t) => {
  t.comment(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed} FUZZ_RUNS=${numRuns})`);
  const { admit } = await makeAdmit();
  let audits = 0;
  const app = buildWebhookApp({ admit, auditLog: () => void audits++, metrics: createMetrics({ processMetrics: false }), logger: false });
  t.teardown(() => app.close());
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const body = review((r) => {
        r.request.kind = c.kind;
        r.request.operation = c.operation;
        r.request.object.apiVersion = c.kind.group ? `${c.kind.group}/${c.kind.version}` : 'v1';
        r.request.object.kind = c.kind.kind;
        for (const [path, value] of c.edits) setAt(r.request.object, path, structuredClone(value));
        r.request.oldObject = c.withOld ? structuredClone(r.request.object) : null;
      });
      const before = audits;
      const res = await app.inject({ method: 'POST', url: `/${c.stage}`, payload: body });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 200) {
        if (res.json().response.uid !== body.request.uid) return false;
        return audits === before + 1;
      }
      return res.statusCode === 400 && /^CIG_ERR_/.test(res.json().code);
    }),
    { numRuns, seed },
  );
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  t.ok(statuses.get(200)! > numRuns / 2, 'most cases reach the rules');
});
