/**
 * The reachability section of `npm run bench`: in-process timings of the reachability engine
 * (src/calico/reachability.ts) on a large synthetic cluster (bench/admit.ts syntheticCluster):
 * BENCH_REACH_NODES HostEndpoints (default 5,000), BENCH_REACH_POLICIES GlobalNetworkPolicies
 * (default 1,000) and BENCH_REACH_SERVICES exposed Services with one port each (default 2,000).
 *
 * (a) one Service port: answerTarget over every host-endpoint group, host-endpoint groups
 *     already built for the snapshot (they are kept per snapshot); median and p90 of runs;
 * (b) the one-off cost of grouping the host endpoints for a snapshot;
 * (c) `explain` over every exposed Service port, from a fresh snapshot (grouping included).
 * Run alone: `node bench/reachability.ts`.
 */
import { performance } from 'node:perf_hooks';
import type { KubeObject } from '../src/admission/types.ts';
import { explain } from '../src/cli/explain.ts';
import { snapshotFromObjects } from '../src/cluster/manifests.ts';
import { defaultConfig } from '../src/config/load.ts';
import { answerTarget, exposedService, hostGroups } from '../src/rules/support/service-reach.ts';
import { syntheticCluster, teamNet } from './admit.ts';

export interface ReachabilityFigures {
  nodes: number;
  policies: number;
  services: number;
  groups: number;
  onePortMs: { median: number; p90: number; runs: number };
  groupingMs: number;
  explainS: number;
  explainPorts: number;
}

function services(n: number, teams: number): KubeObject[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: `team-${i % 50}`, labels: { 'clusterip-guard.io/exposed': 'true' } },
    spec: { clusterIP: `${teamNet(i % teams)}.${10 + Math.floor(i / teams)}`, ports: [{ port: 443, protocol: 'TCP', targetPort: 8443 }] },
  }));
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export function runReachabilityBench(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)): ReachabilityFigures {
  const nodes = Number(env.BENCH_REACH_NODES ?? 5_000);
  const policies = Number(env.BENCH_REACH_POLICIES ?? 1_000);
  const count = Number(env.BENCH_REACH_SERVICES ?? 2_000);
  const config = defaultConfig();
  const objects = [...syntheticCluster(nodes, policies), ...services(count, Math.max(1, policies))];
  const cluster = snapshotFromObjects(objects, config);
  const ctx = { cluster, config };

  const g0 = performance.now();
  const groups = hostGroups(ctx);
  const groupingMs = performance.now() - g0;

  const targets = cluster.exposedServices.map((s) => exposedService(s, config)!.targets[0]!);
  const times: number[] = [];
  const runs = Math.min(200, targets.length);
  for (let i = 0; i < 20; i++) answerTarget(targets[i % targets.length]!, ctx); // warm-up
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    answerTarget(targets[(i * 7) % targets.length]!, ctx);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);

  // A fresh snapshot: explain pays for compiling and grouping too.
  const fresh = snapshotFromObjects(objects, config);
  const e0 = performance.now();
  const result = explain(fresh, config);
  const explainS = (performance.now() - e0) / 1000;

  const figures: ReachabilityFigures = {
    nodes,
    policies,
    services: count,
    groups: groups.length,
    onePortMs: { median: quantile(times, 0.5), p90: quantile(times, 0.9), runs },
    groupingMs,
    explainS,
    explainPorts: result.json.targets.length,
  };
  log(`\n(c) reachability, in-process: ${nodes} host endpoints (${groups.length} groups), ${policies} GlobalNetworkPolicies, ${count} exposed Service ports`);
  log(`- one Service port, every group: median ${figures.onePortMs.median.toFixed(2)} ms, p90 ${figures.onePortMs.p90.toFixed(2)} ms (${runs} runs; target < 20 ms)`);
  log(`- grouping the host endpoints of a snapshot (once per snapshot): ${groupingMs.toFixed(0)} ms`);
  log(`- explain over ${figures.explainPorts} exposed ports, fresh snapshot: ${explainS.toFixed(2)} s (target < 30 s)`);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) runReachabilityBench();
