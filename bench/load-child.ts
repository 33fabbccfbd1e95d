/** Runs load jobs sent by bench.ts over IPC, in its own process (its own core on a 2-core box). */
import { runLoad } from './load.ts';
import type { LoadJob } from './load.ts';

process.on('message', (job: LoadJob) => {
  runLoad(job).then(
    (result) => process.send?.({ ok: true, result }),
    (err: unknown) => process.send?.({ ok: false, error: String((err as Error)?.stack ?? err) }),
  );
});
process.on('disconnect', () => process.exit(0));
