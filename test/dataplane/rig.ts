/**
 * Differential test of the Felix model against real Felix: random clusters of
 * GlobalNetworkPolicies around one HostEndpoint, applied to a real kube-apiserver, programmed by
 * a real Felix into a network namespace, probed with real TCP and UDP packets, and compared with
 * the verdicts of src/calico/dataplane.ts. Once per Felix dataplane (iptables, native nftables).
 *
 * Environment:
 *   CIG_DATAPLANE_SEED      seed (default: random; printed)
 *   CIG_DATAPLANE_CLUSTERS  clusters per mode (default 50)
 *   CIG_DATAPLANE_PROBES    probes per cluster (default 24)
 *   CIG_DATAPLANE_CLUSTER   run only this cluster index of the seed (re-running one failure)
 *   CIG_DATAPLANE_MODES     comma list, default "iptables,nftables"
 *   CIG_DATAPLANE_TIMEOUT_MS  probe timeout (default 1500)
 *
 * Last line: `dataplane differential: A/B flows agree (iptables), C/D flows agree (nftables), seed S`.
 * Exit 1 on any disagreement or failed guide claim.
 */
import { randomInt } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import { ControlPlane } from '../e2e/harness.ts';
import { bridgeApiServer, startFelix, waitProgrammed, type DataplaneMode, type Felix } from './felix.ts';
import { cluster, RIG_LABEL, SECOND_TIER } from './generate.ts';
import { guideSteps } from './guide.ts';
import { explainVerdict } from '../../src/rules/support/verdict-text.ts';
import { compileAll, expectRoundTrip, modelDelivers, predict } from './model.ts';
import { createNamespaces, deleteNamespaces, Processes, sh, type Namespaces } from './netns.ts';
import { Prober, startListeners } from './prober.ts';
import { describeProbe, HEP_LABELS, HEP_NAME, LISTEN_PORTS, NODE_IP, NODE_NAME, type ProbeSpec } from './topology.ts';

const env = (name: string, dflt: string): string => process.env[name] ?? dflt;
const SEED = Number(env('CIG_DATAPLANE_SEED', String(randomInt(1, 2 ** 31))));
const CLUSTERS = Number(env('CIG_DATAPLANE_CLUSTERS', '50'));
const PROBES = Number(env('CIG_DATAPLANE_PROBES', '24'));
const ONLY = process.env['CIG_DATAPLANE_CLUSTER'];
const MODES = env('CIG_DATAPLANE_MODES', 'iptables,nftables').split(',') as DataplaneMode[];
const TIMEOUT_MS = Number(env('CIG_DATAPLANE_TIMEOUT_MS', '1500'));
const log = (msg: string) => process.stderr.write(`[dataplane] ${msg}\n`);

export const HOST_ENDPOINT: KubeObject = {
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'HostEndpoint',
  metadata: { name: HEP_NAME, labels: { ...HEP_LABELS } },
  spec: { node: NODE_NAME, interfaceName: 'eth0', expectedIPs: [NODE_IP] },
};

/** What Felix needs before it programs anything (facts: ClusterInformation, FelixConfiguration, Tier, Node). */
const BASE_OBJECTS: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME } },
  { apiVersion: 'crd.projectcalico.org/v1', kind: 'ClusterInformation', metadata: { name: 'default' }, spec: { datastoreReady: true, calicoVersion: 'v3.31.0', clusterType: 'k8s' } },
  { apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: {} },
  { apiVersion: 'crd.projectcalico.org/v1', kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1_000_000 } },
  // Ordered before the default tier: the model ranks non-default tiers first (policy.ts compareTiers).
  { apiVersion: 'crd.projectcalico.org/v1', kind: 'Tier', metadata: { name: SECOND_TIER }, spec: { order: 100 } },
  HOST_ENDPOINT,
  // The sentinel's endpoint: a dummy interface no probe crosses.
  {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'HostEndpoint',
    metadata: { name: `${NODE_NAME}-sent0`, labels: { 'cig-rig-role': 'sentinel' } },
    spec: { node: NODE_NAME, interfaceName: 'sent0', expectedIPs: ['192.0.2.1'] },
  },
];

/**
 * A normal policy only the sentinel endpoint selects, with a port unique to this apply: once Felix
 * has rendered it, everything applied before it is programmed too (Felix applies datastore
 * updates in order).
 */
let sentinelCounter = 0;
function sentinel(): { object: KubeObject; port: number } {
  const port = 40_000 + (sentinelCounter++ % 20_000);
  return {
    port,
    object: {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'default.zz-sentinel', labels: { [RIG_LABEL]: 'sentinel' } },
      spec: { tier: 'default', selector: "cig-rig-role == 'sentinel'", types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [port] } }] },
    },
  };
}

const toYaml = (objects: readonly KubeObject[]) => objects.map((o) => YAML.stringify(o)).join('---\n');

interface Outcome {
  agree: number;
  total: number;
  disagreements: string[];
  guideFailures: string[];
}

class Rig {
  readonly cp: ControlPlane;
  readonly felix: Felix;
  readonly prober: Prober;

  constructor(cp: ControlPlane, felix: Felix, prober: Prober) {
    this.cp = cp;
    this.felix = felix;
    this.prober = prober;
  }

  /** Replaces the rig's policies with `policies` and waits until Felix has programmed them. */
  async apply(policies: readonly KubeObject[]): Promise<number> {
    const del = await this.cp.kubectl(['delete', 'globalnetworkpolicies.crd.projectcalico.org', '-l', RIG_LABEL, '--wait=false']);
    if (del.code !== 0) throw new Error(`delete failed: ${del.stderr}`);
    const s = sentinel();
    const res = await this.cp.kubectl(['apply', '-f', '-'], toYaml([...policies, s.object]));
    if (res.code !== 0) throw new Error(`apply failed: ${res.stderr}\n${toYaml(policies)}`);
    return waitProgrammed(this.felix, s.port);
  }

  /** Probes each flow and compares with the model; returns the disagreements, described. */
  async compare(label: string, policies: readonly KubeObject[], probes: readonly ProbeSpec[]): Promise<{ agree: number; results: Map<ProbeSpec, boolean>; disagreements: string[] }> {
    const compiled = compileAll(policies);
    const real = await Promise.all(probes.map((p) => this.prober.probe(p, TIMEOUT_MS)));
    const results = new Map<ProbeSpec, boolean>();
    const disagreements: string[] = [];
    let agree = 0;
    probes.forEach((p, i) => {
      results.set(p, real[i]!);
      const v = predict(compiled, HOST_ENDPOINT, p);
      const expected = expectRoundTrip(v, p);
      const delivers = modelDelivers(v, p);
      if (expected === real[i]) agree++;
      else disagreements.push(`${label}: ${describeProbe(p)}: Felix ${real[i] ? 'delivered' : 'dropped'}, model ${delivers ? 'delivers' : 'drops'}${expected === delivers ? '' : ' (round trip expected to fail)'} (${explainVerdict(v)})`);
    });
    return { agree, results, disagreements };
  }
}

async function runMode(cp: ControlPlane, mode: DataplaneMode, felixBin: string, cleanups: Array<() => Promise<void>>): Promise<Outcome> {
  const procs = new Processes();
  let ns: Namespaces | undefined;
  const cleanup = async () => {
    await procs.stopAll();
    if (ns !== undefined) await deleteNamespaces(ns);
    ns = undefined;
  };
  cleanups.push(cleanup);
  const outcome: Outcome = { agree: 0, total: 0, disagreements: [], guideFailures: [] };
  try {
    ns = await createNamespaces(`cig${process.pid}${mode.slice(0, 3)}`);
    await startListeners(procs, ns.node, LISTEN_PORTS);
    await startListeners(procs, ns.pod, LISTEN_PORTS);
    const prober = await Prober.start(procs, ns.client);
    await bridgeApiServer(procs, ns.node, cp.env['CIG_E2E_API_SERVER']!);
    const t0 = Date.now();
    const felix = await startFelix(procs, felixBin, ns.node, cp.env['KUBECONFIG']!, mode);
    log(`${mode}: Felix ready in ${Date.now() - t0} ms`);
    const rig = new Rig(cp, felix, prober);

    // The guide's policies, and the claims it makes, with real packets.
    for (const step of await guideSteps()) {
      await rig.apply(step.policies);
      const { agree, results, disagreements } = await rig.compare(`${mode} guide ${step.name}`, step.policies, step.claims.map((c) => c.probe));
      outcome.agree += agree;
      outcome.total += step.claims.length;
      outcome.disagreements.push(...disagreements);
      for (const claim of step.claims) {
        const got = results.get(claim.probe)!;
        const line = `${mode} guide ${step.name}: ${claim.text}: ${describeProbe(claim.probe)} ${got ? 'delivered' : 'dropped'}`;
        if (got === claim.delivered) log(`  ok  ${line}`);
        else outcome.guideFailures.push(`${line}, expected ${claim.delivered ? 'delivered' : 'dropped'}`);
      }
    }

    const indexes = ONLY !== undefined ? [Number(ONLY)] : Array.from({ length: CLUSTERS }, (_, i) => i);
    const tc = Date.now();
    let programMs = 0;
    for (const i of indexes) {
      const c = cluster(SEED, i, PROBES);
      programMs += await rig.apply(c.policies);
      const { agree, disagreements } = await rig.compare(`${mode} seed ${SEED} cluster ${i}`, c.policies, c.probes);
      outcome.agree += agree;
      outcome.total += c.probes.length;
      if (disagreements.length > 0) {
        outcome.disagreements.push(...disagreements);
        const file = join('/tmp', `cig-dataplane-${SEED}-${i}-${mode}.yaml`);
        await writeFile(file, toYaml(c.policies));
        log(`${mode} cluster ${i}: ${disagreements.length} disagreement(s); policies in ${file}`);
      }
    }
    log(`${mode}: ${indexes.length} clusters in ${((Date.now() - tc) / 1000).toFixed(1)} s (Felix programming ${(programMs / 1000).toFixed(1)} s of it)`);
  } finally {
    await cleanup();
  }
  return outcome;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.log('dataplane differential: skipped: the rig needs root (network namespaces, iptables, nftables); run it as root');
    return 0;
  }
  for (const tool of ['ip', 'nft', 'socat', 'iptables-legacy-save', 'ipset', 'curl']) {
    await sh('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`the rig needs ${tool} on PATH (Debian: iproute2, nftables, socat, iptables, ipset, curl)`);
    });
  }
  const binDir = join(process.env['CIG_CACHE_DIR'] ?? join(process.env['HOME'] ?? '/root', '.cache/clusterip-guard'), 'bin');
  const felixBin = join(binDir, 'calico-felix');
  await readFile(felixBin).catch(() => {
    throw new Error(`${felixBin} missing: run 'bash test/e2e/control-plane.sh build' first`);
  });
  log(`seed ${SEED} (re-run: CIG_DATAPLANE_SEED=${SEED}), ${ONLY !== undefined ? `cluster ${ONLY} only` : `${CLUSTERS} clusters`} × ${PROBES} probes, modes ${MODES.join(', ')}`);

  const cleanups: Array<() => Promise<void>> = [];
  let cp: ControlPlane | undefined;
  const teardown = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
    await cp?.stop();
    cp = undefined;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: tearing down`);
      void teardown().then(() => process.exit(130));
    });
  }
  const t0 = Date.now();
  try {
    cp = await ControlPlane.start({ calico: 'crds' });
    const base = await cp.kubectl(['apply', '-f', '-'], toYaml(BASE_OBJECTS));
    if (base.code !== 0) throw new Error(`base objects: ${base.stderr}`);
    const outcomes = new Map<DataplaneMode, Outcome>();
    for (const mode of MODES) outcomes.set(mode, await runMode(cp, mode, felixBin, cleanups));
    let failed = false;
    for (const [mode, o] of outcomes) {
      for (const d of o.disagreements) log(`DISAGREE ${d}`);
      for (const g of o.guideFailures) log(`GUIDE CLAIM FAILED ${g}`);
      if (o.disagreements.length > 0 || o.guideFailures.length > 0) failed = true;
      log(`${mode}: ${o.agree}/${o.total} flows agree`);
    }
    log(`rig took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const parts = MODES.map((m) => `${outcomes.get(m)!.agree}/${outcomes.get(m)!.total} flows agree (${m})`);
    console.log(`dataplane differential: ${parts.join(', ')}, seed ${SEED}`);
    return failed ? 1 : 0;
  } finally {
    await teardown();
  }
}

if (import.meta.main || process.argv[1]?.endsWith('rig.ts')) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
