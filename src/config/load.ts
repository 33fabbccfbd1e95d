import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject } from 'ajv';
import YAML from 'yaml';
import { parseSelector } from '../calico/selector/index.ts';
import { deepFreeze } from '../cluster/snapshot-store.ts';
import { GuardError } from '../errors.ts';
import { describeSchemaError } from '../kube/field-path.ts';
import { ALL_RULES } from '../rules/index.ts';
import { unsupportedRuleActions } from '../rules/registry.ts';
import { isCidr } from './cidr-format.ts';
import { DEFAULT_CONFIG } from './defaults.ts';
import schema from './schema.json' with { type: 'json' };
import type { Config } from './types.ts';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
ajv.addFormat('cidr', { type: 'string', validate: isCidr });
const validateConfig = ajv.compile(schema);

/** Renders ajv errors the way a person reads them: `network.podCIDRs[0]: "x" is not a valid cidr`. */
export function formatSchemaErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const { path, message } = describeSchemaError(e);
    return `${path || '(top level)'}: ${message}`;
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; lists and scalars from `over` replace. */
function merge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/**
 * Validates a parsed config document against schema.json and merges it over the defaults.
 * Throws CIG_ERR_CONFIG_INVALID listing every schema error.
 */
export function resolveConfig(document: unknown, source = 'config'): Config {
  const doc = document ?? {};
  if (!validateConfig(doc)) {
    const lines = formatSchemaErrors(validateConfig.errors);
    throw new GuardError('CIG_ERR_CONFIG_INVALID', `${source} is invalid:\n  ${lines.join('\n  ')}`);
  }
  const config = merge(structuredClone(DEFAULT_CONFIG), doc) as Config;
  const problems = semanticErrors(config);
  if (problems.length > 0) throw new GuardError('CIG_ERR_CONFIG_INVALID', `${source} is invalid:\n  ${problems.join('\n  ')}`);
  return deepFreeze(config);
}

/** Checks a schema cannot express: the selector parses, the port range is ordered, each rule can take its action. */
function semanticErrors(config: Config): string[] {
  const out: string[] = unsupportedRuleActions(config, ALL_RULES);
  try {
    parseSelector(config.network.hostEndpointSelector);
  } catch (err) {
    out.push(`network.hostEndpointSelector: ${(err as Error).message}`);
  }
  const [min, max] = config.network.nodePortRange.split(':').map(Number) as [number, number];
  if (!(min >= 1 && max <= 65535 && min <= max)) out.push(`network.nodePortRange: "${config.network.nodePortRange}" must be min:max with 1 <= min <= max <= 65535`);
  return out;
}

/** Reads a YAML or JSON config file, validates and defaults it. */
export async function loadConfigFile(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GuardError('CIG_ERR_CONFIG_UNREADABLE', `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = YAML.parseDocument(text, { prettyErrors: true });
  if (parsed.errors.length > 0) {
    throw new GuardError('CIG_ERR_CONFIG_UNREADABLE', `config file ${file} is not valid YAML/JSON: ${parsed.errors[0]!.message}`);
  }
  let document: unknown;
  try {
    document = parsed.toJS(); // throws on an alias bomb ("Excessive alias count …")
  } catch (err) {
    throw new GuardError('CIG_ERR_CONFIG_UNREADABLE', `config file ${file} cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
  return resolveConfig(document, `config file ${file}`);
}

export const defaultConfig = (): Config => resolveConfig({}, 'built-in defaults');

