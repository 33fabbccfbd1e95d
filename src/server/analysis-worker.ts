/**
 * The policy-analysis worker thread (analysis-pool.ts starts it): the same decision as the
 * main thread (`createAdmit`, default rules), over its copy of the cluster snapshot, which the
 * pool keeps in step (snapshot-sync.ts).
 *
 * Messages in: `{ type: 'config', config, priority }` once (this thread's CPU priority is
 * lowered to `priority` then: src/cpu-priority.ts), snapshot parts and commits, and
 * `{ type: 'review', id, stage, request }` (parsed on the main thread) or
 * `{ type: 'raw', id, stage, text }` (a large body: parsed and checked here, as the main thread
 * would). Out: `{ ready: true, priority }` once loaded (the priority applied); per review `{ id, uid, decision }`, or
 * `{ id, refused }` (the 400's message), or `{ id, error }`. Before analysing a raw policy
 * review it posts `{ id, uid, fallback }`: the policy's own checks, which the pool answers
 * with if the budget runs out first.
 */
import { parentPort } from 'node:worker_threads';
import { createAdmit, type Decide } from '../admission/decide.ts';
import type { AdmissionRequest } from '../admission/types.ts';
import { EMPTY_SNAPSHOT } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import { defaultRegistry } from '../rules/index.ts';
import type { Stage } from '../rules/types.ts';
import { fallback, isAnalysed } from './isolated-admit.ts';
import { checkReviewText } from './review-check.ts';
import { isSnapshotMessage, snapshotReplica, type SnapshotMessage } from './snapshot-sync.ts';
import { lowerThreadPriority, type CpuPriority } from '../cpu-priority.ts';

type Message =
  | { type: 'config'; config: Config; priority: CpuPriority }
  | SnapshotMessage
  | { type: 'review'; id: number; stage: Stage; request: AdmissionRequest }
  | { type: 'raw'; id: number; stage: Stage; text: string };

const port = parentPort!;
const replica = snapshotReplica();
let admit: Decide | null = null;
let cheap: Decide | null = null;

port.on('message', (msg: Message) => {
  if (isSnapshotMessage(msg)) replica.apply(msg);
  else if (msg.type === 'config') {
    const registry = defaultRegistry();
    admit = createAdmit({ registry, config: msg.config, cluster: replica });
    cheap = createAdmit({ registry, config: msg.config, cluster: { snapshot: () => EMPTY_SNAPSHOT } });
    port.postMessage({ ready: true, priority: lowerThreadPriority(msg.priority) });
  } else {
    try {
      let request: AdmissionRequest;
      if (msg.type === 'review') request = msg.request;
      else {
        const checked = checkReviewText(msg.text);
        if ('refused' in checked) {
          port.postMessage({ id: msg.id, refused: checked.refused });
          return;
        }
        request = checked.review.request;
        if (isAnalysed(request)) port.postMessage({ id: msg.id, uid: request.uid, fallback: fallback(cheap!, msg.stage, request) });
      }
      port.postMessage({ id: msg.id, uid: request.uid, decision: admit!(msg.stage, request) });
    } catch (err) {
      port.postMessage({ id: msg.id, error: (err as Error).stack ?? String(err) });
    }
  }
});
