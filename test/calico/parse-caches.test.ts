/**
 * The parse caches (selectors, nets, ports, compiled port lists) are bounded in bytes, whatever
 * arrives: 10,000 distinct 100 KB inputs to each leave every cache within its bound, and the
 * heap holds no more than the bounds allow.
 */
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseCacheStats } from '../../src/calico/memo.ts';
import { tryParseNet } from '../../src/calico/nets.ts';
import { compilePorts, parsePort } from '../../src/calico/ports.ts';
import { parseSelectorCached } from '../../src/calico/selector/index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const INPUTS = 10_000;
const SIZE = 100 * 1024;
const bound = (): number => parseCacheStats().reduce((sum, c) => sum + c.maxBytes, 0);

t.test('10,000 distinct 100 KB inputs keep every parse cache within its byte bound', async (t) => {
  gc();
  const before = process.memoryUsage().heapUsed;
  const filler = 'x'.repeat(SIZE - 32);
  let over = 0;
  for (let i = 0; i < INPUTS; i++) {
    const text = `${i}-${filler}`;
    parseSelectorCached(`a == "${text}"`);
    tryParseNet(`10.0.0.${i % 256}/${text}`);
    try {
      parsePort(text);
      over++; // a 100 KB text is no port
    } catch {
      // expected: too long for a port name
    }
    compilePorts([text], undefined, 'spec.ingress[0].destination', []);
    for (const c of parseCacheStats()) if (c.bytes > c.maxBytes) over++;
  }
  t.equal(over, 0, 'no cache went over its bound after any input');
  const held = parseCacheStats().reduce((sum, c) => sum + c.bytes, 0);
  t.ok(held <= bound(), `all caches together: ${held} bytes of ${bound()}`);
  t.ok(parseCacheStats().find((c) => c.name === 'selectors')!.bytes > bound() / 4, 'the selector cache was filled, so the bound was what held it');
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  t.ok(grown < 2 * bound(), `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB, within twice the ${(bound() / 2 ** 20).toFixed(0)} MiB of bounds`);
});

t.test('the gauge names each cache', async (t) => {
  t.same(parseCacheStats().map((c) => c.name).sort(), ['compiled ports', 'nets', 'ports', 'selectors']);
});
