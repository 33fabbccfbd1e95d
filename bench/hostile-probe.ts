/**
 * What bench/hostile.ts part 3 records besides latencies, to tell where a slow Service reply
 * lost its time (on 2 shared cores, the server's decision is a fraction of a millisecond):
 * - `threadTimes(pid)` / `threadDelta`: per thread of a process (by its name: MainThread,
 *   WorkerThread, V8Worker, libuv-worker, …) the CPU time it ran and the time it waited,
 *   runnable, for a CPU (Linux `/proc/PID/task/TID/schedstat`), between two readings;
 * - `stallTracker()`: this thread's event-loop stalls (a 1 ms timer firing late by more than
 *   `thresholdMs`) and its garbage-collection pauses, each with its wall-clock time (epoch ms,
 *   comparable across processes), so a slow Service can be matched with what stalled when.
 *
 * @example
 *   const before = threadTimes(pid); … ; console.log(threadDelta(before, threadTimes(pid)));
 *   const stalls = stallTracker(5); … ; const { stalls, gc } = stalls.stop();
 */
import { readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

type Reading = Map<string, { comm: string; runNs: number; waitNs: number }>;

/** Each thread's cumulative run and run-queue wait time; empty where /proc has no schedstat. */
export function threadTimes(pid: number | 'self'): Reading {
  const out: Reading = new Map();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number) as [number, number];
      out.set(tid, { comm, runNs: run, waitNs: wait });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Run and wait ms per thread name between two readings (threads of one name summed, with their count). */
export function threadDelta(before: Reading, after: Reading): Record<string, { threads: number; runMs: number; waitMs: number }> {
  const out: Record<string, { threads: number; runMs: number; waitMs: number }> = {};
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { runNs: 0, waitNs: 0 };
    const row = (out[a.comm] ??= { threads: 0, runMs: 0, waitMs: 0 });
    row.threads++;
    row.runMs += (a.runNs - b.runNs) / 1e6;
    row.waitMs += (a.waitNs - b.waitNs) / 1e6;
  }
  for (const row of Object.values(out)) {
    row.runMs = Math.round(row.runMs);
    row.waitMs = Math.round(row.waitMs);
  }
  return out;
}

/** perf_hooks' NODE_PERFORMANCE_GC_* kinds. */
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };

/** The machine's CPU time so far in ms (/proc/stat): busy (user, nice, system, irq, softirq), idle (+iowait), steal. */
export function machineCpu(): { busyMs: number; idleMs: number; stealMs: number } {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number) as number[];
    const tick = 10; // USER_HZ is 100 on Linux
    return { busyMs: (user! + nice! + system! + irq! + softirq!) * tick, idleMs: (idle! + iowait!) * tick, stealMs: steal! * tick };
  } catch {
    return { busyMs: NaN, idleMs: NaN, stealMs: NaN };
  }
}

const epoch = (t: number) => Math.round((performance.timeOrigin + t) * 10) / 10;

/** Event-loop stalls over `thresholdMs` (Infinity: no timer, GC only) and GC pauses of this thread, from now until `stop()`. */
export function stallTracker(thresholdMs: number) {
  const stalls: Array<[atMs: number, ms: number]> = [];
  const gc: Array<[atMs: number, ms: number, kind: string]> = [];
  let last = performance.now();
  const timer = Number.isFinite(thresholdMs)
    ? setInterval(() => {
        const now = performance.now();
        if (now - last - 1 > thresholdMs) stalls.push([epoch(last), Math.round(now - last)]);
        last = now;
      }, 1)
    : undefined;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'other';
      if (e.duration >= 1) gc.push([epoch(e.startTime), Math.round(e.duration * 10) / 10, kind]);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      clearInterval(timer);
      observer.disconnect();
      return { stalls, gc };
    },
  };
}
