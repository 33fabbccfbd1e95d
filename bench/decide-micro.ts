/**
 * Time per admission decision (no HTTP): the 20-rule GlobalNetworkPolicy UPDATE at /validate
 * and the exposed Service at /mutate and /validate, over synthetic clusters of growing size.
 * `node bench/decide-micro.ts` — prints the median and p99 of per-call times (each call gets a
 * freshly parsed request, as the server does).
 */
import { globalNetworkPolicyUpdate, exposedServiceCreate } from './reviews.ts';
import type { AdmissionRequest } from '../src/admission/types.ts';

const sizes: Array<[number, number]> = [
  [0, 0],
  [20, 30],
  [5000, 1000],
];

for (const [nodes, policies] of sizes) {
  process.env.BENCH_ADMIT = 'real';
  process.env.BENCH_NODES = String(nodes);
  process.env.BENCH_POLICIES = String(policies);
  const { makeAdmit } = await import(`./admit.ts?size=${nodes}-${policies}`);
  const { admit } = await makeAdmit();
  for (const [label, stage, review] of [
    ['GNP UPDATE /validate', 'validate', globalNetworkPolicyUpdate()],
    ['Service CREATE /mutate', 'mutate', exposedServiceCreate()],
    ['Service CREATE /validate', 'validate', exposedServiceCreate()],
  ] as const) {
    // A fresh request per call, parsed outside the timed part: the server gets a new object for
    // every review, so nothing keyed by the object may be reused across calls here either.
    const text = JSON.stringify((review as { request: AdmissionRequest }).request);
    for (let i = 0; i < 50; i++) admit(stage, JSON.parse(text)); // warm up (first call fills per-snapshot caches)
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const request = JSON.parse(text) as AdmissionRequest;
      const t0 = performance.now();
      admit(stage, request);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(3);
    console.log(`${String(nodes).padStart(5)} HEPs ${String(policies).padStart(5)} GNPs  ${label.padEnd(26)} median ${q(0.5)} ms  p99 ${q(0.99)} ms`);
  }
}
