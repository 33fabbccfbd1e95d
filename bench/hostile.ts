/**
 * `node bench/hostile.ts`: hostile input against a server wired as `serve` (bench/hostile-server.ts,
 * its own process). Three parts, each counting crashes (the server process exiting), 5xx,
 * connection errors and replies over 1 s:
 * 1. HOSTILE_REQUESTS (default 100,000) fuzzed reviews (bench/fuzz-reviews.ts, seed printed),
 *    HOSTILE_CONCURRENCY (16) at a time;
 * 2. the large-policy cases: the largest valid policy (1,024 rules × 256 nets), 1,024 invalid
 *    rules, 5,000 invalid rules (over Calico's limit), each a few times;
 * 3. Service latency while 4 clients (HOSTILE_POLICY_CLIENTS) send 1,000-rule policies back to
 *    back, from their own process (bench/hostile-policies.ts; HOSTILE_POLICY_PROCESS=0 sends them
 *    from this one): Services paced at 500/s for HOSTILE_SECONDS (10); p50/p99/max as the client
 *    sees them, the client's own event-loop lag, and on the server the Service decisions (arrival
 *    to decision) and the main thread's lag and busy share, since on a small shared machine the
 *    client's own CPU wait counts.
 *    Also per thread of the three processes the CPU time run and the time waited for a CPU,
 *    the machine's CPU time not the bench's and stolen by the hypervisor (a run with seconds
 *    of either measured the neighbours), the main thread's GC pauses, and the slow Services
 *    grouped into episodes (bench/hostile-probe.ts).
 * HOSTILE_PARTS (default 1,2,3) picks the parts; HOSTILE_RAW=0 has the server parse every body
 * on its main thread (as before large bodies went to the worker unparsed), for comparison.
 * The server runs with node's --single-threaded-gc, as the chart starts it
 * (HOSTILE_SERVER_FLAGS replaces the flags, '' for none) and its worker at the pool's default
 * priority (HOSTILE_WORKER_PRIORITY=idle|low|normal). Part 3 knobs: HOSTILE_WARMUP_SECONDS
 * (default 2; 0 as before) sends unrecorded first; HOSTILE_POLICY_NICE runs the policy senders at a nice
 * value (in a cluster they are not on the webhook's cores); HOSTILE_TIMELINE=1 writes every
 * event-loop stall and GC pause with its time to bench/results/hostile-timeline.json.
 * Results on stdout and in bench/results/hostile.json.
 */
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { fuzzCase, fuzzReview } from './fuzz-reviews.ts';
import { newTally, poster, type Tally } from './hostile-client.ts';
import { machineCpu, stallTracker, threadDelta, threadTimes } from './hostile-probe.ts';
import { exposedServiceCreate, largePolicyReview } from './reviews.ts';

const env = process.env;
const cfg = {
  requests: Number(env.HOSTILE_REQUESTS ?? 100_000),
  concurrency: Number(env.HOSTILE_CONCURRENCY ?? 16),
  seconds: Number(env.HOSTILE_SECONDS ?? 10),
  seed: Number(env.HOSTILE_SEED ?? Date.now() % 2 ** 31),
  /** Clients sending 1,000-rule policies in part 3 (0 shows the Services' own cost). */
  policyClients: Number(env.HOSTILE_POLICY_CLIENTS ?? 4),
  /** Which parts to run, e.g. `3` for the latency part alone. */
  parts: new Set((env.HOSTILE_PARTS ?? '1,2,3').split(',').map(Number)),
  /**
   * Part 3: Services and policies sent for this long before recording starts. Without it the
   * p99 of 5,000 Services is set by the first 0.1-0.6 s: this client's own event loop stalled
   * 33-79 ms there (compiling its request path, TLS handshakes of the connections it opens as
   * requests pile up), and even with no policy client the p99 was 1.7-9.6 ms.
   */
  warmupSeconds: Number(env.HOSTILE_WARMUP_SECONDS ?? 2),
  /** Part 3: the policy senders' process at this nice value (a variant: in a cluster they are not on the webhook's cores). */
  policyNice: Number(env.HOSTILE_POLICY_NICE ?? 0),
  /** Part 3: record every event-loop stall and GC pause with its time (bench/results/hostile-timeline.json). */
  timeline: env.HOSTILE_TIMELINE === '1',
};

/**
 * Services slower than `overMs`, grouped into episodes (requests in flight at the same time):
 * a few long episodes mean stalls (one GC, one descheduled thread), many short ones a steady cost.
 */
function slowEpisodes(t: Tally, overMs: number) {
  const slow = t.sentAtMs.map((at, i) => [at, at + t.latenciesMs[i]!] as const).filter(([a, b]) => b - a > overMs).sort((x, y) => x[0] - y[0]);
  const episodes: Array<{ from: number; to: number; n: number }> = [];
  for (const [a, b] of slow) {
    const last = episodes.at(-1);
    if (last && a <= last.to) {
      last.to = Math.max(last.to, b);
      last.n++;
    } else episodes.push({ from: a, to: b, n: 1 });
  }
  const longest = [...episodes].sort((x, y) => y.to - y.from - (x.to - x.from)).slice(0, 5);
  return { overMs, count: slow.length, episodes: episodes.length, longestMs: longest.map((e) => ({ ms: Math.round(e.to - e.from), services: e.n })) };
}

async function main(): Promise<void> {
  // As the chart starts it (README "Bounded work and isolation"); HOSTILE_SERVER_FLAGS='' compares without.
  const serverFlags = (env.HOSTILE_SERVER_FLAGS ?? '--single-threaded-gc').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...serverFlags, fileURLToPath(new URL('./hostile-server.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'pipe'] });
  let serverErr = '';
  server.stderr!.on('data', (d: Buffer) => (serverErr += d.toString()));
  const [first] = (await once(server.stdout!, 'data')) as [Buffer];
  const { port } = JSON.parse(first.toString()) as { port: number };
  let crashed = false;
  let stopping = false;
  server.on('exit', (code, signal) => {
    if (stopping) return;
    crashed = true;
    console.error(`server exited: code ${code} signal ${signal}\n${serverErr}`);
  });
  const { post, close } = poster(port);

  // 1. Fuzzed reviews.
  if (!cfg.parts.has(1)) cfg.requests = 0;
  console.log(`1. ${cfg.requests} fuzzed reviews, ${cfg.concurrency} at a time, seed ${cfg.seed} …`);
  const cases = fc.sample(fuzzCase, { numRuns: cfg.requests, seed: cfg.seed });
  const fuzz = newTally();
  let next = 0;
  const fuzzStarted = performance.now();
  await Promise.all(
    Array.from({ length: cfg.concurrency }, async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        await post(`/${c.stage}`, JSON.stringify(fuzzReview(c)), fuzz);
      }
    }),
  );
  const fuzzSeconds = (performance.now() - fuzzStarted) / 1000;

  // 2. Large policies.
  console.log('2. large policies …');
  const large: Record<string, Tally> = {};
  const shapes: Array<[string, string]> = [
    ['1024 rules × 256 nets (largest valid)', JSON.stringify(largePolicyReview(1024, 256))],
    ['1024 invalid rules', JSON.stringify(largePolicyReview(1024, 4, true))],
    ['5000 invalid rules', JSON.stringify(largePolicyReview(5000, 4, true))],
  ];
  for (const [name, body] of cfg.parts.has(2) ? shapes : []) {
    large[name] = newTally();
    for (let i = 0; i < 3; i++) for (const path of ['/mutate', '/validate']) await post(path, body, large[name]);
  }

  // 3. Services at 500/s while 4 clients send 1,000-rule policies nonstop. The policy senders
  // run in their own process (bench/hostile-policies.ts) unless HOSTILE_POLICY_PROCESS=0.
  console.log(`3. Services at 500/s for ${cfg.seconds} s while ${cfg.policyClients} clients send 1,000-rule policies nonstop …`);
  const serviceBody = JSON.stringify(exposedServiceCreate());
  let policies = newTally();
  const services = newTally();
  let stop = !cfg.parts.has(3);
  let stopPolicies: () => Promise<void> = async () => {};
  let policyPid: number | undefined;
  if (!stop && cfg.policyClients > 0 && env.HOSTILE_POLICY_PROCESS === '0') {
    const policyBody = JSON.stringify(largePolicyReview(1000, 4));
    const senders = Array.from({ length: cfg.policyClients }, async () => {
      while (!stop) await post('/validate', policyBody, policies);
    });
    stopPolicies = async () => void (await Promise.all(senders));
  } else if (!stop && cfg.policyClients > 0) {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./hostile-policies.ts', import.meta.url)), String(port), String(cfg.policyClients)], { stdio: ['ignore', 'pipe', 'inherit'] });
    policyPid = child.pid;
    if (cfg.policyNice !== 0) setPriority(child.pid!, cfg.policyNice);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await once(child.stdout!, 'data');
    stopPolicies = async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
      policies = JSON.parse(out.split('\n').filter(Boolean).at(-1)!) as Tally;
    };
  }
  const pending: Promise<void>[] = [];
  /** Services at 500/s for `seconds` into `tally`. */
  const pace = (seconds: number, tally: Tally) =>
    new Promise<void>((resolve) => {
      const from = performance.now();
      const timer = setInterval(() => {
        const due = Math.floor(((performance.now() - from) / 1000) * 500);
        while (tally.sent < due) pending.push(post('/mutate', serviceBody, tally));
        if (stop || performance.now() - from >= seconds * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
  // Unrecorded: the senders' first connections and the server's first policies (compiling the
  // policy path), which a webhook serving for a while has long behind it.
  if (cfg.warmupSeconds > 0) await pace(cfg.warmupSeconds, newTally());
  server.kill('SIGUSR2');
  // The client's own event loop: a lag here is latency the server never caused.
  const clientLag = monitorEventLoopDelay({ resolution: 1 });
  clientLag.enable();
  const clientStalls = stallTracker(cfg.timeline ? 5 : Infinity);
  const readThreads = () => ({ server: threadTimes(server.pid!), client: threadTimes('self'), policies: policyPid ? threadTimes(policyPid) : new Map(), machine: machineCpu() });
  const threadsBefore = readThreads();
  let threadsAfter = threadsBefore;
  await pace(cfg.seconds, services);
  stop = true;
  threadsAfter = readThreads();
  await Promise.all([...pending, stopPolicies()]);
  clientLag.disable();
  const clientTimeline = clientStalls.stop();

  close();
  stopping = true;
  server.kill('SIGTERM');
  await once(server, 'exit');

  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  };
  const fiveXX = (t: Tally) => Object.entries(t.byStatus).filter(([k]) => k.startsWith('5')).reduce((n, [, v]) => n + v, 0);
  const summary = (t: Tally) => ({
    sent: t.sent,
    byStatus: t.byStatus,
    errors: t.errors,
    fiveXX: fiveXX(t),
    over1s: t.over1s,
    p50Ms: +pct(t.latenciesMs, 50).toFixed(2),
    p99Ms: +pct(t.latenciesMs, 99).toFixed(2),
    maxMs: +Math.max(...t.latenciesMs).toFixed(2),
    maxReplyBytes: t.maxBytes,
  });
  const serverOut = JSON.parse(serverErr.trim().split('\n').at(-1) ?? '{}') as { timeline?: unknown };
  const serverTimeline = serverOut.timeline;
  delete serverOut.timeline;
  const threads = Object.fromEntries((['server', 'client', 'policies'] as const).map((k) => [k, threadDelta(threadsBefore[k], threadsAfter[k])]));
  // CPU time the whole machine spent, and how much of it was not the bench's three processes.
  const ours = Object.values(threads).flatMap((t) => Object.values(t)).reduce((n, r) => n + r.runMs, 0);
  const machineBusyMs = threadsAfter.machine.busyMs - threadsBefore.machine.busyMs;
  const machine = { busyMs: machineBusyMs, idleMs: threadsAfter.machine.idleMs - threadsBefore.machine.idleMs, stealMs: threadsAfter.machine.stealMs - threadsBefore.machine.stealMs, notTheBenchMs: Math.round(machineBusyMs - ours) };
  const out = {
    node: process.version,
    seed: cfg.seed,
    crashed,
    fuzz: { ...summary(fuzz), seconds: +fuzzSeconds.toFixed(1) },
    large: Object.fromEntries(Object.entries(large).map(([k, v]) => [k, summary(v)])),
    underPolicyLoad: {
      services: summary(services),
      policies: summary(policies),
      clientEventLoopLagMs: { p50: +(clientLag.percentile(50) / 1e6).toFixed(2), p99: +(clientLag.percentile(99) / 1e6).toFixed(2), max: +(clientLag.max / 1e6).toFixed(2) },
      slowServices: slowEpisodes(services, 10),
      // Per thread name: CPU time run, and time spent runnable waiting for a CPU, during part 3.
      threadsMs: threads,
      machineCpuMs: machine,
      policyProcessNice: cfg.policyNice,
    },
    server: serverOut,
  };
  console.log(JSON.stringify(out, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/hostile.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  if (cfg.timeline) {
    const timeline = { services: services.sentAtMs.map((at, i) => [Math.round(at * 10) / 10, +services.latenciesMs[i]!.toFixed(2)]), client: clientTimeline, server: serverTimeline };
    writeFileSync(new URL('./results/hostile-timeline.json', import.meta.url), `${JSON.stringify(timeline)}\n`);
  }
}

await main();
