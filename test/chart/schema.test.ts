// values.schema.json: the embedded config schema cannot drift from src/config/schema.json, the
// schema is strict wherever the chart owns the shape, values.yaml and every ci scenario satisfy it,
// every value in values.yaml is documented, and helm itself rejects bad values naming the field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Ajv } from 'ajv';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR, CI_DIR, REPO_ROOT, SCENARIOS, runHelm, templateArgs } from './render.ts';
import { addCidrFormat } from './schema-support.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const readJson = (path: string): JsonObject => JSON.parse(readFileSync(path, 'utf8')) as JsonObject;
const configSchema = readJson(join(REPO_ROOT, 'src', 'config', 'schema.json'));
const valuesSchema = readJson(join(CHART_DIR, 'values.schema.json'));
const valuesText = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
const defaultValues = parseYaml(valuesText) as JsonObject;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's merge: maps merge key by key, everything else (lists included) replaces. */
function mergeValues(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? mergeValues(current, value) : value;
  }
  return out;
}

t.test('values.schema.json embeds src/config/schema.json unchanged under properties.config', async (t) => {
  const properties = valuesSchema.properties as JsonObject;
  t.strictSame(
    properties.config,
    configSchema,
    'copy src/config/schema.json into properties.config of charts/clusterip-guard/values.schema.json, e.g. ' +
      `node -e "const f=require('fs'),p='charts/clusterip-guard/values.schema.json',s=JSON.parse(f.readFileSync(p));` +
      `s.properties.config=JSON.parse(f.readFileSync('src/config/schema.json'));f.writeFileSync(p,JSON.stringify(s,null,2)+'\\n')"`,
  );
});

t.test('values.schema.json is strict wherever the chart owns the shape', async (t) => {
  // Free-form on purpose: Kubernetes types passed through verbatim, string maps, and `global`.
  const freeForm = new Set(['/properties/affinity', '/properties/tolerations/items', '/properties/global']);
  const loose: string[] = [];
  const walk = (node: Json, path: string): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, `${path}/${i}`));
      return;
    }
    if (!isObject(node)) return;
    const isObjectSchema = node.type === 'object' || isObject(node.properties);
    if (isObjectSchema && !freeForm.has(path) && node.additionalProperties === undefined) loose.push(path || '/');
    for (const [key, child] of Object.entries(node)) walk(child, `${path}/${key}`);
  };
  walk(valuesSchema, '');
  t.same(loose, [], 'every object schema sets additionalProperties (false, or a value schema for maps)');
  t.equal(valuesSchema.additionalProperties, false, 'unknown top-level keys are rejected');
});

t.test('values.yaml and every ci scenario satisfy values.schema.json', async (t) => {
  const ajv = addCidrFormat(new Ajv({ strict: true, allErrors: true }));
  const validate = ajv.compile(valuesSchema);
  t.ok(validate(defaultValues), `values.yaml: ${ajv.errorsText(validate.errors)}`);
  for (const scenario of SCENARIOS) {
    const overrides = (parseYaml(readFileSync(join(CI_DIR, scenario), 'utf8')) ?? {}) as JsonObject;
    const merged = mergeValues(defaultValues, overrides);
    t.ok(validate(merged), `${scenario}: ${ajv.errorsText(validate.errors)}`);
  }
});

t.test('every value in values.yaml is documented', async (t) => {
  const doc = parseDocument(valuesText);
  const undocumented: string[] = [];
  const walk = (map: YAMLMap, path: string[], documented: boolean): void => {
    map.items.forEach((pair, index) => {
      const key = String((pair.key as { value?: unknown }).value);
      // A comment above the first key of a nested map is stored on the map itself.
      const comment = [(pair.key as { commentBefore?: string }).commentBefore, index === 0 ? map.commentBefore : undefined]
        .filter(Boolean)
        .join('\n');
      const here = documented || /(^|\n)\s*-- \S/.test(comment);
      if (isMap(pair.value) && pair.value.items.length > 0) walk(pair.value, [...path, key], here);
      else if (!here) undocumented.push([...path, key].join('.'));
    });
  };
  t.ok(isMap(doc.contents), 'values.yaml is a map');
  if (isMap(doc.contents)) walk(doc.contents, [], false);
  t.same(undocumented, [], 'each value (or the block it belongs to) has a "# -- why it exists" comment');
});

t.test('every top-level value in values.yaml is in the schema and the reverse', async (t) => {
  const schemaKeys = Object.keys(valuesSchema.properties as JsonObject).sort();
  t.same(Object.keys(defaultValues).sort(), schemaKeys);
});

/** Values helm must refuse, and what its message must mention. */
const rejected: { name: string; set?: string[]; setString?: string[]; mentions: RegExp[] }[] = [
  { name: 'replicaCount as a word', setString: ['replicaCount=two'], mentions: [/replicaCount/, /integer/] },
  { name: 'unknown top-level key', set: ['replicas=2'], mentions: [/replicas/, /additional propert/i] },
  { name: 'misspelt nested key', set: ['webhooks.mutating.failurePolicyy=Fail'], mentions: [/failurePolicyy/] },
  { name: 'bad rule action', set: ['config.rules.gnp-schema=deny'], mentions: [/gnp-schema/, /enforce/] },
  { name: 'unknown rule ID', set: ['config.rules.service-pinned=warn'], mentions: [/service-pinned/] },
  { name: 'unknown config section', set: ['config.logging.level=debug'], mentions: [/logging/] },
  { name: 'failurePolicy not Fail/Ignore', set: ['webhooks.mutating.failurePolicy=Deny'], mentions: [/failurePolicy/] },
  { name: 'timeout above the API server maximum', set: ['webhooks.validating.timeoutSeconds=31'], mentions: [/timeoutSeconds/, /30/] },
  { name: 'unknown TLS mode', set: ['tls.mode=vault'], mentions: [/tls\/mode|tls\.mode/] },
  { name: 'latest image tag', set: ['image.tag=latest'], mentions: [/image\/tag/] },
  { name: 'caBundle with whitespace', set: ['tls.mode=secret', 'tls.caBundle=not base64'], mentions: [/caBundle/] },
  {
    name: 'secret mode without a secret name',
    set: ['tls.mode=secret', `tls.caBundle=${Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64')}`],
    mentions: [/tls\.secret\.name is required/],
  },
  { name: 'secret mode without caBundle', set: ['tls.mode=secret', 'tls.secret.name=webhook-tls'], mentions: [/tls\.caBundle is required/] },
  { name: 'url mode without host', set: ['tls.mode=url', `tls.caBundle=${Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64')}`], mentions: [/tls\.url\.host is required/] },
  { name: 'caBundle that is not a PEM certificate', set: ['tls.mode=url', 'tls.url.host=127.0.0.1', 'tls.caBundle=aGVsbG8='], mentions: [/tls\.caBundle must be base64 of one or more PEM/] },
  { name: 'caBundle with cert-manager', set: [`tls.caBundle=${Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64')}`], mentions: [/tls\.caBundle must be empty when tls\.mode=certManager/] },
  { name: 'issuerRef without a name', set: ['tls.certManager.issuerRef.kind=ClusterIssuer'], mentions: [/issuerRef/] },
];

for (const c of rejected) {
  t.test(`helm template rejects: ${c.name}`, async (t) => {
    const result = await runHelm(templateArgs('default-values.yaml', { set: c.set, setString: c.setString }));
    t.not(result.code, 0, 'helm template must fail');
    for (const mention of c.mentions) t.match(result.stderr, mention, `error mentions ${mention}`);
  });
}
