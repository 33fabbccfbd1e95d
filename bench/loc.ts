/**
 * `node bench/loc.ts [REV]`: lines and module-level caches of the policy model (src/calico) and
 * the GlobalNetworkPolicy rules, at a commit (default: the working tree), so that size figures
 * can be compared across commits. A cache is a module-level declaration of a Map, WeakMap or one
 * of the memos of src/calico/memo.ts. The comparable line leaves out src/calico/reachability.ts
 * (a later feature, not in the older sets) and counts src/cluster/derived.ts in (the
 * per-snapshot memo that moved out of src/calico).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const rev = process.argv.slice(2).find((a) => !a.startsWith('--'));
const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const files = (rev === undefined ? git('ls-files', 'src') : git('ls-tree', '-r', '--name-only', rev, 'src')).split('\n').filter((f) => f.endsWith('.ts'));
const read = (f: string): string => (rev === undefined ? readFileSync(f, 'utf8') : git('show', `${rev}:${f}`));

const GNP_SET = /^src\/(calico\/.*|rules\/gnp-[^/]*|rules\/support\/(gnp|gnp-json-schema|after-write))\.ts$/;
// Module-level declarations (no indent), and static class fields.
const CACHE = /^((export )?(const|let) |  static readonly )\w+.*=\s*(gauged\(|new (Weak)?Map|new ParseCache|boundedMemo|recentMemo|perSnapshot|perObject)/;

const rows = files.map((f) => {
  const text = read(f);
  return { f, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), caches: text.split('\n').filter((l) => CACHE.test(l)).length };
});
const sum = (pick: (f: string) => boolean) => rows.filter((r) => pick(r.f)).reduce((a, r) => ({ lines: a.lines + r.lines, caches: a.caches + r.caches }), { lines: 0, caches: 0 });
const groups: [string, (f: string) => boolean][] = [
  ['GNP set (src/calico, rules/gnp-*, support/gnp*, after-write)', (f) => GNP_SET.test(f)],
  ['  of which src/calico/reachability.ts', (f) => f === 'src/calico/reachability.ts'],
  ['comparable: GNP set - reachability.ts + src/cluster/derived.ts', (f) => (GNP_SET.test(f) && f !== 'src/calico/reachability.ts') || f === 'src/cluster/derived.ts'],
  ['src/calico + src/rules', (f) => /^src\/(calico|rules)\//.test(f)],
  ['src', () => true],
];
console.log(`at ${rev ?? 'working tree'}`);
for (const [name, pick] of groups) {
  const { lines, caches } = sum(pick);
  console.log(`${name.padEnd(64)} ${String(lines).padStart(6)} lines ${String(caches).padStart(3)} caches`);
}
if (process.argv.includes('--files')) for (const r of rows.filter((r) => r.caches > 0 || GNP_SET.test(r.f))) console.log(`${r.f.padEnd(64)} ${String(r.lines).padStart(6)} ${String(r.caches).padStart(3)}`);
