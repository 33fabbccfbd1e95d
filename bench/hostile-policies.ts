/**
 * `node bench/hostile-policies.ts PORT CLIENTS`: the policy senders of bench/hostile.ts part 3,
 * in their own process. In the same process as the Service client, the 4 streams of 200 KB
 * bodies (TLS-encrypting and sending about 14 MB/s) delayed its event loop by up to tens of
 * ms, latency the Services then showed although the server never caused it. Sends 1,000-rule
 * policies to /validate, CLIENTS at a time, from the first line on stdout (`started`) until
 * SIGTERM; then prints its tally as JSON and exits.
 */
import { newTally, poster } from './hostile-client.ts';
import { largePolicyReview } from './reviews.ts';

const [port, clients] = process.argv.slice(2).map(Number) as [number, number];
const body = JSON.stringify(largePolicyReview(1000, 4));
const { post, close } = poster(port);
const tally = newTally();
let stop = false;
const senders = Array.from({ length: clients }, async () => {
  while (!stop) await post('/validate', body, tally);
});
process.stdout.write('started\n');
process.on('SIGTERM', () => {
  stop = true;
  void Promise.all(senders).then(() => {
    close();
    process.stdout.write(`${JSON.stringify({ ...tally, sentAtMs: [] })}\n`);
  });
});
