/**
 * Calico's own validation tables, every entry that applies to a GlobalNetworkPolicy, run
 * through the webhook's GlobalNetworkPolicy validation (gnp-schema and the rules it leaves
 * Calico's named checks to) with `calico.version` set to the table's release:
 * validator_test.go (the Go validator, v3.32.1 and v3.31.7) and crd_validation_test.go (the CEL rules on the v3 CRDs together with the Go validator, at the
 * newest commit; v3.32.1 has no CEL table). An entry either agrees with Calico or is listed in
 * differences.json with the reason.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ALL_RULES } from '../../../src/rules/index.ts';
import { DEDICATED, gnpSchema } from '../../../src/rules/gnp-schema.ts';
import { config, snapshot } from '../../helpers.ts';
import { wrap, type ValidatorEntry } from './wrap.ts';

const dir = new URL('../../fixtures/calico-validation/', import.meta.url);
const read = (file: string): unknown => JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
const differences = read('differences.json') as Record<string, { webhook: 'valid' | 'invalid'; reason: string }>;

const judges = [gnpSchema, ...ALL_RULES.filter((r) => Object.values(DEDICATED).includes(r.id))];
const cluster = snapshot();
const used = new Set<string>();

// Each table with the Calico release it states (crd_validation_test.go is newer than 3.32 but
// has no entry that releases answer differently).
const tables: [file: string, version: string][] = [
  ['validator.json', '3.32'],
  ['crd-cel.json', '3.32'],
  ['validator-v3.31.json', '3.31'],
];
for (const [file, version] of tables) {
  const entries = read(file) as ValidatorEntry[];
  const cfg = config({ calico: { version } });
  let agree = 0;
  let differ = 0;
  for (const entry of entries) {
    const object = wrap(entry);
    const findings = judges.flatMap((rule) => rule.check({ stage: 'validate', operation: 'CREATE', object, oldObject: null, config: cfg, cluster }));
    const valid = findings.length === 0;
    const difference = differences[entry.source];
    const label = `${entry.source} ${entry.description}`;
    if (difference !== undefined) {
      used.add(entry.source);
      t.not(difference.webhook === 'valid', entry.valid, `${label}: a recorded difference differs from Calico`);
      t.equal(valid, difference.webhook === 'valid', `${label}: ${difference.reason}`, { findings: findings.map((f) => f.message) });
      differ++;
    } else if (t.equal(valid, entry.valid, label, { object, findings: findings.map((f) => f.message) })) {
      agree++;
    }
  }
  t.comment(`${file} (Calico ${version}): ${entries.length} entries, ${agree} agree with Calico, ${differ} recorded differences`);
}
t.same(Object.keys(differences).filter((s) => !used.has(s)), [], 'every recorded difference names a table entry');

// The entries whose answer changed between Calico releases follow `calico.version`.
const versioned: [version: string, line: number, valid: boolean][] = [
  ['3.31', 1415, false], // named ports need a protocol before v3.32
  ['3.31', 1422, false],
  ['3.30', 3824, true], // catch-all notNets were accepted before v3.31
  ['3.30', 3839, true],
  ['3.30', 3854, true],
];
const byLine = new Map((read('validator.json') as ValidatorEntry[]).map((e) => [Number(e.source.split(':').pop()), e]));
for (const [version, line, valid] of versioned) {
  const entry = byLine.get(line)!;
  const object = wrap(entry);
  const older = config({ calico: { version } });
  t.not(entry.valid, valid, `${entry.source}: the v3.32 answer differs`);
  t.equal(gnpSchema.check({ stage: 'validate', operation: 'CREATE', object, oldObject: null, config: older, cluster }).length === 0, valid, `${entry.source} ${entry.description}, for Calico ${version}`);
}
