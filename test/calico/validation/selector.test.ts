/**
 * Calico's selector parser table (libcalico-go/lib/selector/parser/parser_test.go): every
 * selector with the label maps it must and must not match, the selectors it must refuse, and
 * the canonical text each must print as; and from tokenizer_test.go the inputs it refuses.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseSelector, SelectorSyntaxError } from '../../../src/calico/selector/index.ts';

interface Tables {
  selectorTests: { source: string; selector: string; matches: Record<string, string>[]; misses: Record<string, string>[] }[];
  badSelectors: { source: string; selector: string }[];
  canonicalisationTests: { source: string; input: string; expected: string }[];
  /** Inputs tokenizer_test.go expects the tokenizer to refuse (so no selector parses). */
  tokenizerRefusals: { source: string; selector: string }[];
  tokenizerAccepts: { source: string; selector: string }[];
}
const tables = JSON.parse(readFileSync(new URL('../../fixtures/calico-validation/selector-parser.json', import.meta.url), 'utf8')) as Tables;

let agree = 0;
for (const test of tables.selectorTests) {
  const sel = parseSelector(test.selector);
  const canonical = parseSelector(sel.toString());
  let ok = true;
  // Calico's GlobalNode.Evaluate answers true, so its tables evaluate global() as true.
  for (const labels of test.matches) ok = t.ok(sel.matches(labels, { global: true }) && canonical.matches(labels, { global: true }), `${test.source} ${test.selector} matches ${JSON.stringify(labels)}`) && ok;
  for (const labels of test.misses) ok = t.notOk(sel.matches(labels, { global: true }) || canonical.matches(labels, { global: true }), `${test.source} ${test.selector} misses ${JSON.stringify(labels)}`) && ok;
  if (ok) agree++;
}
for (const test of tables.badSelectors) {
  if (t.throws(() => parseSelector(test.selector), SelectorSyntaxError, `${test.source} refuses ${JSON.stringify(test.selector)}`)) agree++;
}
for (const test of tables.tokenizerRefusals) {
  if (t.throws(() => parseSelector(test.selector), SelectorSyntaxError, `${test.source} refuses ${JSON.stringify(test.selector.slice(0, 40))}`)) agree++;
}
for (const test of tables.tokenizerAccepts) {
  if (t.doesNotThrow(() => parseSelector(test.selector), `${test.source} accepts ${JSON.stringify(test.selector.slice(0, 40))}`)) agree++;
}
for (const test of tables.canonicalisationTests) {
  if (t.equal(parseSelector(test.input).toString(), test.expected, `${test.source} ${JSON.stringify(test.input)} prints canonically`)) agree++;
}
const total =
  tables.selectorTests.length + tables.badSelectors.length + tables.canonicalisationTests.length + tables.tokenizerRefusals.length + tables.tokenizerAccepts.length;
t.comment(`parser_test.go + tokenizer_test.go: ${total} entries, ${agree} agree with Calico`);
