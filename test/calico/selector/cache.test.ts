import t from 'tap';
import {
  parseSelector,
  parseSelectorCached,
  SelectorCache,
  SelectorSyntaxError,
} from '../../../src/calico/selector/index.ts';

t.test('parseSelectorCached returns the same object for the same text', async (t) => {
  const table = [`app == 'web'`, `has(a) && !has(b)`, ``, `global()`];
  for (const source of table) {
    const first = parseSelectorCached(source);
    t.equal(parseSelectorCached(source), first, `same object for ${JSON.stringify(source)}`);
    t.not(parseSelector(source), first, `parseSelector does not use the cache (${JSON.stringify(source)})`);
    t.equal(first.source, source);
  }
});

t.test('different texts get different objects, even with the same meaning', async (t) => {
  const a = parseSelectorCached(`a == 'x'`);
  const b = parseSelectorCached(`a == "x"`);
  t.not(a, b);
  t.equal(a.toString(), b.toString());
  t.equal(a.source, `a == 'x'`);
  t.equal(b.source, `a == "x"`);
});

t.test('cached selectors are frozen', async (t) => {
  const sel = parseSelectorCached(`a == 'frozen'`);
  t.ok(Object.isFrozen(sel));
  t.ok(Object.isFrozen(sel.ast));
});

t.test('invalid selectors throw every time and are not cached', async (t) => {
  const cache = new SelectorCache(4096);
  for (let i = 0; i < 3; i++) {
    t.throws(() => cache.get(`a = 'x'`), SelectorSyntaxError, `attempt ${i + 1}`);
  }
  t.equal(cache.size, 0);
  t.equal(cache.bytes, 0);
  t.throws(() => parseSelectorCached(`a = 'x'`), SelectorSyntaxError);
});

// Each of these 6-character selectors is charged 2*6 + 512 + 4*6 + 64 = 612 bytes.
const ENTRY = 612;

t.test('a bounded cache evicts the least recently used entry', async (t) => {
  // Room for four: an entry may take up to a quarter of the bound.
  const cache = new SelectorCache(4 * ENTRY);
  const a = cache.get('has(a)');
  const b = cache.get('has(b)');
  cache.get('has(x)');
  cache.get('has(y)');
  t.equal(cache.size, 4);
  t.equal(cache.bytes, 4 * ENTRY, 'bytes are counted');
  t.equal(cache.get('has(a)'), a, 'a hit refreshes a');
  const c = cache.get('has(c)');
  t.equal(cache.size, 4, 'still four entries');
  t.equal(cache.get('has(a)'), a, 'a survived: it was used more recently than b');
  t.equal(cache.get('has(c)'), c, 'c is cached');
  t.not(cache.get('has(b)'), b, 'b was evicted and is parsed afresh');
  t.ok(cache.bytes <= cache.maxBytes, 'within the bound');
  cache.clear();
  t.equal(cache.size, 0, 'clear empties the cache');
  t.equal(cache.bytes, 0, 'and its bytes');
  t.not(cache.get('has(a)'), a, 'after clear a is parsed afresh');
});

t.test('a selector over a quarter of the bound is parsed but not kept', async (t) => {
  const cache = new SelectorCache(8 * ENTRY);
  const short = 'has(a)';
  const long = `a == '${'x'.repeat(400)}'`;
  t.equal(cache.get(short), cache.get(short), 'a small selector is cached');
  const first = cache.get(long);
  t.equal(first.matches({ a: 'x'.repeat(400) }), true, 'a large one still parses');
  t.not(cache.get(long), first, 'but is parsed afresh each time');
  t.equal(cache.size, 1);
});

t.test('the byte bound must be a positive integer', async (t) => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => new SelectorCache(bad), RangeError, `maxBytes ${bad}`);
  }
  t.equal(new SelectorCache().maxBytes, 16 * 1024 * 1024, 'default bound');
});
