/**
 * Property: whatever JSON arrives in any field of a review, the server + rules answer 200 (with
 * the request's uid and one audit line) or a catalogue 400, never a 5xx or a crash.
 * FUZZ_RUNS (default 5000) sets the number of cases, FUZZ_SEED replays a run; the seed is printed.
 */
import fc from 'fast-check';
import t from 'tap';
import { makeAdmit } from '../../bench/admit.ts';
import { buildWebhookApp } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { fuzzCase, fuzzReview } from '../../bench/fuzz-reviews.ts';

const numRuns = Number(process.env.FUZZ_RUNS ?? 5000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

t.test(`server + rules are total over arbitrary JSON in rule fields (${numRuns} cases, seed ${seed})`, async (t) => {
  t.comment(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed} FUZZ_RUNS=${numRuns})`);
  const { admit } = await makeAdmit();
  let audits = 0;
  const app = buildWebhookApp({ admit, auditLog: () => void audits++, metrics: createMetrics({ processMetrics: false }), logger: false });
  t.teardown(() => app.close());
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fuzzCase, async (c) => {
      const body = fuzzReview(c);
      const before = audits;
      const res = await app.inject({ method: 'POST', url: `/${c.stage}`, payload: body });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 200) {
        if (res.json().response.uid !== body.request.uid) return false;
        return audits === before + 1;
      }
      return res.statusCode === 400 && /^CIG_ERR_/.test(res.json().code);
    }),
    { numRuns, seed },
  );
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  t.ok(statuses.get(200)! > numRuns / 2, 'most cases reach the rules');
});
