import { snapshotFromObjects } from '../cluster/manifests.ts';
import { readClusterOnce } from '../cluster/read-once.ts';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import { GuardError } from '../errors.ts';
import { parse } from './args.ts';
import { processIo, type Io } from './check-command.ts';
import { explain } from './explain.ts';
import { readManifests } from './read-manifests.ts';

/** `clusterip-guard explain`: 0, or 1 when an exposed Service port is reachable by default. */
export async function explainCommand(argv: string[], io: Io = processIo): Promise<number> {
  const { values } = parse(argv, {
    file: { type: 'string', short: 'f', multiple: true },
    kubeconfig: { type: 'string' },
    config: { type: 'string' },
    service: { type: 'string' },
    to: { type: 'string' },
    from: { type: 'string' },
    output: { type: 'string', short: 'o', default: 'text' },
  });
  if (values.output !== 'text' && values.output !== 'json') throw new GuardError('CIG_ERR_USAGE', `--output must be text or json (got "${values.output}")`);
  const files = values.file ?? [];
  if (files.length === 0 && values.kubeconfig === undefined) throw new GuardError('CIG_ERR_USAGE', 'explain needs -f FILE|DIR|- or --kubeconfig FILE');
  if (files.length > 0 && values.kubeconfig !== undefined) throw new GuardError('CIG_ERR_USAGE', '-f and --kubeconfig exclude each other');
  if (values.from !== undefined && values.to === undefined && values.service === undefined) throw new GuardError('CIG_ERR_USAGE', '--from needs --to or --service');
  const config = values.config ? await loadConfigFile(values.config) : defaultConfig();
  const cluster =
    values.kubeconfig !== undefined
      ? await readClusterOnce(values.kubeconfig, config, AbortSignal.timeout(120_000))
      : snapshotFromObjects((await readManifests(files, io.stdin)).map((m) => m.object), config);
  const result = explain(cluster, config, { service: values.service, to: values.to, from: values.from });
  io.stdout(values.output === 'json' ? JSON.stringify(result.json, null, 2) + '\n' : result.text);
  return result.open > 0 ? 1 : 0;
}
