/**
 * Lowering CPU priority, for work that must never hold up admission: the policy-analysis worker
 * thread (lowerThreadPriority) and the background-scan process (lowerProcessPriority). On Linux
 * a thread's scheduling policy and nice value are its own: a thread's id is the last part of
 * `/proc/thread-self` (`PID/task/TID`), `/proc/self/task` lists a process's threads, and
 * `setpriority` or `sched_setscheduler` on an id changes that thread alone. Lowering one's own
 * priority needs no privilege.
 *
 * - `idle`: SCHED_IDLE, through `chrt` (util-linux; Node has no call for it, and the image ships
 *   it). Under the kernel's fair scheduler its weight is 3 against 1,024, it runs only on CPU
 *   time nothing else wants, and any woken normal thread preempts it at once; a nice-19 thread,
 *   by contrast, may keep a CPU until its slice ends. Where `chrt` is absent or refuses, it
 *   falls back to `low`.
 * - `low`: nice 19 (weight 15).
 * - `normal`: unchanged.
 *
 * @example
 *   const applied = lowerThreadPriority('idle'); // { priority: 'idle' | 'low' | 'normal', reason? }
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export type CpuPriority = 'idle' | 'low' | 'normal';

/** 'idle' and 'low' need only the right to lower one's own priority, which every process has. */
export const DEFAULT_ANALYSIS_PRIORITY: CpuPriority = 'idle';

export interface Applied {
  priority: CpuPriority;
  tid?: number;
  /** Why the asked priority was not applied (then `priority` says what was). */
  reason?: string;
}

/**
 * Lowers the calling thread alone. The analysis worker calls it: V8's platform threads (garbage
 * collection helpers, background compilation) and libuv's threads serve the whole process, the
 * main thread included, so they are left alone.
 */
export function lowerThreadPriority(wanted: CpuPriority): Applied {
  if (wanted === 'normal') return { priority: 'normal' };
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch (err) {
    return { priority: 'normal', reason: `no /proc/thread-self (${(err as Error).message})` };
  }
  return lowerThread(tid, wanted);
}

/** Lowers the threads of this process with that name (`/proc/self/task/TID/comm`), e.g. `V8Worker`. */
export function lowerThreadsNamed(comm: string, wanted: CpuPriority): Applied[] {
  if (wanted === 'normal') return [];
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch (err) {
    return [{ priority: 'normal', reason: `no /proc/self/task (${(err as Error).message})` }];
  }
  const out: Applied[] = [];
  for (const tid of tids) {
    let name: string;
    try {
      name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // ended meanwhile
    }
    if (name === comm) out.push(lowerThread(Number(tid), wanted));
  }
  return out;
}

function lowerThread(tid: number, wanted: Exclude<CpuPriority, 'normal'>): Applied {
  let reason: string | undefined;
  if (wanted === 'idle') {
    const run = spawnSync('chrt', ['--idle', '-p', '0', String(tid)], { encoding: 'utf8', timeout: 2000 });
    if (run.status === 0) return { priority: 'idle', tid };
    reason = run.error ? `chrt: ${run.error.message}` : `chrt: ${run.stderr.trim() || `exit ${run.status}`}`;
  }
  try {
    setPriority(tid, 19);
    return reason ? { priority: 'low', tid, reason } : { priority: 'low', tid };
  } catch (err) {
    return { priority: 'normal', tid, reason: `${reason ? `${reason}; ` : ''}setpriority: ${(err as Error).message}` };
  }
}

/** The scheduling policy in field 41 of /proc/self/task/TID/stat. */
const SCHED_IDLE = 5;
function policyOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
}

/**
 * Lowers every thread of this process (the event loop, V8's helpers, libuv's pool; threads
 * started later inherit it) and says what is in effect on all of them: nice 19 first, then
 * SCHED_IDLE through one `chrt --all-tasks` call. The background-scan process calls it first thing.
 */
export function lowerProcessPriority(wanted: CpuPriority): CpuPriority {
  if (wanted === 'normal') return 'normal';
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 'normal'; // not Linux: nothing to lower
  }
  let effect: CpuPriority = 'normal';
  try {
    for (const tid of tids) setPriority(Number(tid), 19);
    effect = 'low';
  } catch {
    // refused: keep the priority
  }
  if (wanted !== 'idle') return effect;
  const run = spawnSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 10_000 });
  if (run.status === 0 && readdirSync('/proc/self/task').every((tid) => policyOf(tid) === SCHED_IDLE)) effect = 'idle';
  return effect;
}
