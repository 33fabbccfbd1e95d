import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ALL_RULES } from '../../src/rules/index.ts';

const main = join(import.meta.dirname, '../../src/main.ts');
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000 });
const dir = mkdtempSync(join(tmpdir(), 'cig-cli-'));

t.test('usage errors exit 2 with the code and usage', async (t) => {
  for (const args of [[], ['frobnicate'], ['serve', '--tls-cert', 'a.crt'], ['serve', '--port', 'http'], ['serve', '--no-cluster', '--kubeconfig', 'k']]) {
    const r = cli(...args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, /^clusterip-guard: CIG_ERR_USAGE: /, args.join(' '));
  }
});

t.test('--help or -h after any command prints the usage and exits 0', async (t) => {
  for (const args of [['--help'], ['serve', '--help'], ['check', '-f', 'x.yaml', '-h'], ['explain', '--help'], ['audit', '-h']]) {
    const r = cli(...args);
    t.equal(r.status, 0, args.join(' '));
    t.match(r.stdout, /^Usage:/, args.join(' '));
    t.equal(r.stderr, '', args.join(' '));
  }
});

t.test('an invalid config stops serve before it listens, exit 1 with the schema errors', async (t) => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'network:\n  podCIDRs: [not-a-cidr]\nrules:\n  gnp-schema: loud\n');
  const r = cli('serve', '--no-cluster', '--config', file, '--port', '0', '--probe-port', '0');
  t.equal(r.status, 1);
  t.match(r.stderr, /CIG_ERR_CONFIG_INVALID: config file .*bad\.yaml is invalid:/);
  t.match(r.stderr, /network\.podCIDRs\[0\]: "not-a-cidr" is not a valid cidr/);
  t.match(r.stderr, /rules\.gnp-schema: must be one of/);
});

t.test('a missing certificate file stops serve with a clear error', async (t) => {
  const r = cli('serve', '--no-cluster', '--tls-cert', join(dir, 'none.crt'), '--tls-key', join(dir, 'none.key'), '--port', '0', '--probe-port', '0');
  t.equal(r.status, 1);
  t.match(r.stderr, /none\.crt/);
});

t.test('rules lists every rule with its default action', async (t) => {
  const r = cli('rules');
  t.equal(r.status, 0);
  t.match(r.stdout, /^service-cluster-ip-pinned +enforce +mutate /m);
  t.match(r.stdout, /^gnp-pod-cidr-allowed +warn +validate /m);
  t.equal(r.stdout.trim().split('\n').length, ALL_RULES.length, 'one line per registered rule');
});
