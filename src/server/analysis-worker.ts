/**
 * The policy-analysis worker thread (analysis-pool.ts starts it): the same decision as the
 * main thread (`createAdmit`, default rules), over the cluster snapshot the pool posts
 * whenever it changes. Messages in: `{ type: 'config', config }` once, `{ type: 'snapshot',
 * snapshot }`, `{ type: 'review', id, stage, request }`; out: `{ ready: true }` once loaded,
 * then `{ id, decision }` or `{ id, error }`.
 */
import { parentPort } from 'node:worker_threads';
import { createAdmit } from '../admission/decide.ts';
import type { AdmissionRequest } from '../admission/types.ts';
import { EMPTY_SNAPSHOT, type ClusterSnapshot } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import { defaultRegistry } from '../rules/index.ts';
import type { Stage } from '../rules/types.ts';

type Message =
  | { type: 'config'; config: Config }
  | { type: 'snapshot'; snapshot: ClusterSnapshot }
  | { type: 'review'; id: number; stage: Stage; request: AdmissionRequest };

let snapshot: ClusterSnapshot = EMPTY_SNAPSHOT;
let admit: ReturnType<typeof createAdmit> | null = null;

parentPort!.on('message', (msg: Message) => {
  if (msg.type === 'config') {
    admit = createAdmit({ registry: defaultRegistry(), config: msg.config, cluster: { snapshot: () => snapshot } });
    parentPort!.postMessage({ ready: true });
  }  else if (msg.type === 'snapshot') snapshot = msg.snapshot;
  else {
    try {
      parentPort!.postMessage({ id: msg.id, decision: admit!(msg.stage, msg.request) });
    } catch (err) {
      parentPort!.postMessage({ id: msg.id, error: (err as Error).stack ?? String(err) });
    }
  }
});
