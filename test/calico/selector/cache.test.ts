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
  const cache = new SelectorCache(4);
  for (let i = 0; i < 3; i++) {
    t.throws(() => cache.parse(`a = 'x'`), SelectorSyntaxError, `attempt ${i + 1}`);
  }
  t.equal(cache.size, 0);
  t.throws(() => parseSelectorCached(`a = 'x'`), SelectorSyntaxError);
});

t.test('a bounded cache evicts the least recently used entry', async (t) => {
  const cache = new SelectorCache(2);
  const a = cache.parse('has(a)');
  const b = cache.parse('has(b)');
  t.equal(cache.size, 2);
  t.equal(cache.parse('has(a)'), a, 'a hit refreshes a');
  const c = cache.parse('has(c)');
  t.equal(cache.size, 2, 'still two entries');
  t.equal(cache.parse('has(a)'), a, 'a survived: it was used more recently than b');
  t.equal(cache.parse('has(c)'), c, 'c is cached');
  t.not(cache.parse('has(b)'), b, 'b was evicted and is parsed afresh');
  cache.clear();
  t.equal(cache.size, 0, 'clear empties the cache');
  t.not(cache.parse('has(a)'), a, 'after clear a is parsed afresh');
});

t.test('long selectors are parsed but not kept', async (t) => {
  const cache = new SelectorCache(10, 20);
  const short = `a == '${'x'.repeat(13)}'`; // 20 characters
  const long = `a == '${'x'.repeat(14)}'`; // 21 characters
  t.equal(cache.parse(short), cache.parse(short), 'a selector at the limit is cached');
  const first = cache.parse(long);
  t.equal(first.matches({ a: 'x'.repeat(14) }), true, 'a longer one still parses');
  t.not(cache.parse(long), first, 'but is parsed afresh each time');
  t.equal(cache.size, 1);
  const shared = `has(${'k'.repeat(500)}) && ${Array.from({ length: 8 }, (_, i) => `has(${'k'.repeat(500)}${i})`).join(' && ')}`;
  t.ok(shared.length > 4096);
  t.not(parseSelectorCached(shared), parseSelectorCached(shared), 'the shared cache skips selectors over 4096 characters');
});

t.test('the cache limits must be integers in range', async (t) => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => new SelectorCache(bad), RangeError, `maxEntries ${bad}`);
  }
  for (const bad of [-1, 2.5, Number.NaN]) {
    t.throws(() => new SelectorCache(10, bad), RangeError, `maxSourceLength ${bad}`);
  }
  const defaults = new SelectorCache();
  t.equal(defaults.maxEntries, 10_000, 'default size');
  t.equal(defaults.maxSourceLength, 4096, 'default longest source');
});
