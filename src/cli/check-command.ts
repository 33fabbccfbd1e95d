import { text } from 'node:stream/consumers';
import YAML from 'yaml';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import { DEFAULT_CONFIG } from '../config/defaults.ts';
import { GuardError } from '../errors.ts';
import { defaultRegistry } from '../rules/index.ts';
import { parse } from './args.ts';
import { checkManifests, formatText } from './check.ts';
import { readManifests } from './read-manifests.ts';

export interface Io {
  stdout: (s: string) => void;
  stdin: () => Promise<string>;
}

export const processIo: Io = { stdout: (s) => void process.stdout.write(s), stdin: () => text(process.stdin) };

/** `clusterip-guard check`: returns the exit status (1 when anything would be denied). */
export async function checkCommand(argv: string[], io: Io = processIo): Promise<number> {
  const { values } = parse(argv, {
    file: { type: 'string', short: 'f', multiple: true },
    config: { type: 'string' },
    output: { type: 'string', short: 'o', default: 'text' },
    'print-default-config': { type: 'boolean' },
  });
  if (values['print-default-config']) {
    io.stdout(YAML.stringify(DEFAULT_CONFIG));
    return 0;
  }
  if (values.output !== 'text' && values.output !== 'json') throw new GuardError('CIG_ERR_USAGE', `--output must be text or json (got "${values.output}")`);
  if (!values.file || values.file.length === 0) throw new GuardError('CIG_ERR_USAGE', 'check needs at least one -f FILE, DIR or - (standard input)');
  const config = values.config ? await loadConfigFile(values.config) : defaultConfig();
  const manifests = await readManifests(values.file, io.stdin);
  const results = checkManifests(manifests, defaultRegistry(), config);
  io.stdout(values.output === 'json' ? JSON.stringify(results, null, 2) + '\n' : formatText(results));
  return results.some((r) => r.decision === 'deny') ? 1 : 0;
}
