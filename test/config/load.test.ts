import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig, loadConfigFile, resolveConfig } from '../../src/config/load.ts';
import { DEFAULT_CONFIG } from '../../src/config/defaults.ts';
import { GuardError } from '../../src/errors.ts';
import { ALL_RULES } from '../../src/rules/index.ts';

const dir = await mkdtemp(join(tmpdir(), 'cig-config-'));
const file = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

t.test('defaults', async (t) => {
  t.same(defaultConfig(), DEFAULT_CONFIG);
  t.equal(defaultConfig().exposure.label, 'clusterip-guard.io/exposed');
  t.equal(defaultConfig().network.hostEndpointSelector, "k8s-role == 'node'");
  t.ok(Object.isFrozen(defaultConfig().network.podCIDRs), 'frozen');
});

t.test('a YAML file merges over the defaults; lists replace', async (t) => {
  const cfg = await loadConfigFile(await file('ok.yaml', 'network:\n  podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]\nrules:\n  service-cluster-ip-pinned: warn\n'));
  t.same(cfg.network.podCIDRs, ['10.244.0.0/16', 'fd00:10:244::/56']);
  t.equal(cfg.network.nodePortRange, '30000:32767', 'untouched keys keep defaults');
  t.equal(cfg.rules['service-cluster-ip-pinned'], 'warn');
});

t.test('JSON and an empty file are accepted', async (t) => {
  t.same((await loadConfigFile(await file('ok.json', '{"exposure":{"namespaces":["edge"]}}'))).exposure.namespaces, ['edge']);
  t.same(await loadConfigFile(await file('empty.yaml', '')), DEFAULT_CONFIG);
});

const invalid: Array<[string, string, RegExp[]]> = [
  ['unknown top-level key', 'netwrk: {}\n', [/\n  netwrk: unknown field/]],
  ['bad CIDR', 'network:\n  podCIDRs: ["192.168.0.0/33"]\n', [/network\.podCIDRs\[0\]: "192\.168\.0\.0\/33" is not a valid cidr/]],
  ['unknown rule', 'rules:\n  no-such-rule: warn\n', [/unknown key "no-such-rule"/]],
  ['bad action', 'rules:\n  gnp-schema: block\n', [/rules\.gnp-schema: must be one of "enforce", "warn", "audit", "patch", "off"/]],
  ['bad nodePortRange', 'network:\n  nodePortRange: 30000-32767\n', [/network\.nodePortRange: must match pattern/]],
  ['two errors at once', 'exposure:\n  label: ""\nexemptions:\n  users: [x]\n', [/exposure\.label/, /exemptions\.users: unknown field/]],
];
for (const [name, text, patterns] of invalid) {
  t.test(`invalid: ${name}`, async (t) => {
    const path = await file(`${name.replaceAll(' ', '-')}.yaml`, text);
    const err = await loadConfigFile(path).then(() => null, (e: unknown) => e);
    t.ok(err instanceof GuardError, 'GuardError');
    t.equal((err as GuardError).code, 'CIG_ERR_CONFIG_INVALID');
    t.match((err as GuardError).message, path);
    for (const p of patterns) t.match((err as GuardError).message, p);
  });
}

t.test('unreadable or unparsable file', async (t) => {
  await t.rejects(loadConfigFile(join(dir, 'missing.yaml')), { code: 'CIG_ERR_CONFIG_UNREADABLE', message: /cannot read config file/ });
  await t.rejects(loadConfigFile(await file('bad.yaml', 'network: [\n')), { code: 'CIG_ERR_CONFIG_UNREADABLE', message: /not valid YAML/ });
});

t.test('a bad host-endpoint selector stops start-up', async (t) => {
  t.throws(() => resolveConfig({ network: { hostEndpointSelector: "k8s-role = 'node'" } }), { code: 'CIG_ERR_CONFIG_INVALID', message: /network\.hostEndpointSelector: .*position/ });
});

t.test('a reversed node-port range stops start-up', async (t) => {
  t.throws(() => resolveConfig({ network: { nodePortRange: '32767:30000' } }), { code: 'CIG_ERR_CONFIG_INVALID', message: /network\.nodePortRange/ });
});

t.test('a patch action for a rule without a patch is a start-up error naming the rule and its actions', async (t) => {
  for (const rule of ALL_RULES.filter((r) => r.patches !== true)) {
    t.throws(
      () => resolveConfig({ rules: { [rule.id]: 'patch' } }),
      { code: 'CIG_ERR_CONFIG_INVALID', message: new RegExp(`rules\\.${rule.id}: "patch" is not an action of ${rule.id}, which has no patch; its actions are enforce, warn, audit, off`) },
      rule.id,
    );
  }
  for (const rule of ALL_RULES.filter((r) => r.patches === true)) {
    t.equal(resolveConfig({ rules: { [rule.id]: 'patch' } }).rules[rule.id], 'patch', `${rule.id} can patch`);
  }
});

t.test("the config schema's rule IDs are the registry's", async (t) => {
  const schema = JSON.parse(await readFile(new URL('../../src/config/schema.json', import.meta.url), 'utf8')) as {
    properties: { rules: { propertyNames: { enum: string[] } } };
  };
  t.same([...schema.properties.rules.propertyNames.enum].sort(), ALL_RULES.map((r) => r.id).sort(), 'schema.json lists exactly the registered rules');
});

t.test('calico.version', async (t) => {
  t.equal(defaultConfig().calico.version, '3.32', 'defaults to 3.32');
  t.equal(resolveConfig({ calico: { version: '3.31' } }).calico.version, '3.31');
  t.throws(() => resolveConfig({ calico: { version: 'v3.31.2' } }), { code: 'CIG_ERR_CONFIG_INVALID', message: /calico\.version: must match pattern/ });
});

t.test('a YAML alias bomb is a CIG_ERR_CONFIG_UNREADABLE error, not a crash', async (t) => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]', ''].join('\n');
  await t.rejects(loadConfigFile(await file('bomb.yaml', bomb)), { name: 'GuardError', code: 'CIG_ERR_CONFIG_UNREADABLE', message: /cannot be loaded: .*alias/i });
});
