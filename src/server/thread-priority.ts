/**
 * Lowers the CPU priority of the calling thread only (the policy-analysis worker calls it), so
 * that on a busy node the main thread, which answers every Service review, always wins the CPU
 * over a policy analysis. On Linux a thread's scheduling policy and nice value are its own: the
 * thread's id is the last part of `/proc/thread-self` (`PID/task/TID`), and `setpriority` or
 * `sched_setscheduler` on that id changes that thread alone.
 *
 * - `idle`: SCHED_IDLE (`chrt --idle -p 0 TID`; no privilege needed to lower): under the
 *   kernel's fair scheduler its weight is 3 against 1,024 for a normal thread, so it runs only
 *   on CPU time nothing else wants. Where `chrt` is absent (the image ships it) or refuses,
 *   it falls back to `low`.
 * - `low`: nice 19 (weight 15).
 * - `normal`: unchanged.
 *
 * V8's platform threads (garbage-collection helpers, background compilation) and libuv's
 * threads are shared by the whole process, the main thread included, and are left alone.
 *
 * @example
 *   const applied = lowerThreadPriority('idle'); // 'idle' | 'low' | 'normal', and why not
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export type ThreadPriority = 'idle' | 'low' | 'normal';

/** 'idle' and 'low' need only the right to lower one's own priority, which every process has. */
export const DEFAULT_ANALYSIS_PRIORITY: ThreadPriority = 'idle';

export interface Applied {
  priority: ThreadPriority;
  tid?: number;
  /** Why the asked priority was not applied (then `priority` says what was). */
  reason?: string;
}

/** Lowers the calling thread. */
export function lowerThreadPriority(wanted: ThreadPriority): Applied {
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
export function lowerThreadsNamed(comm: string, wanted: ThreadPriority): Applied[] {
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

function lowerThread(tid: number, wanted: Exclude<ThreadPriority, 'normal'>): Applied {
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
