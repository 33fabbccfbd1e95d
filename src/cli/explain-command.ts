import { KubeConfig } from '@kubernetes/client-node';
import { startClusterState, type ClusterLogger } from '../cluster/informers.ts';
import { snapshotFromObjects } from '../cluster/manifests.ts';
import type { ClusterSnapshot } from '../cluster/types.ts';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { GuardError } from '../errors.ts';
import { parse } from './args.ts';
import { processIo, type Io } from './check-command.ts';
import { explain } from './explain.ts';
import { readManifests } from './read-manifests.ts';

const SYNC_TIMEOUT_MS = 30_000;

/**
 * The live cluster, read once: the cluster-state cache is started, awaited until every
 * resource is listed, copied and stopped. A cluster that cannot be read is an error (explain
 * must not answer from the static fallback as if it were the cluster).
 */
async function readCluster(kubeconfig: string, config: Config): Promise<ClusterSnapshot> {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(kubeconfig);
  } catch (err) {
    throw new GuardError('CIG_ERR_USAGE', `cannot load kubeconfig ${kubeconfig}: ${(err as Error).message}`, { cause: err });
  }
  const problems: string[] = [];
  const note = (obj: object, msg?: string): void => void problems.push(msg ?? JSON.stringify(obj));
  const logger: ClusterLogger = { info: () => {}, warn: note, error: note };
  const state = await startClusterState({ kubeConfig, config, logger, syncTimeoutMs: SYNC_TIMEOUT_MS, discoveryTimeoutMs: 10_000 });
  try {
    const deadline = Date.now() + SYNC_TIMEOUT_MS + 5_000;
    while (!state.ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const snapshot = state.snapshot();
    if (snapshot.source !== 'cluster') {
      throw new GuardError('CIG_ERR_CLUSTER_UNREADABLE', `cannot read the cluster of ${kubeconfig}${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`);
    }
    return snapshot;
  } finally {
    await state.close();
  }
}

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
      ? await readCluster(values.kubeconfig, config)
      : snapshotFromObjects((await readManifests(files, io.stdin)).map((m) => m.object), config);
  const result = explain(cluster, config, { service: values.service, to: values.to, from: values.from });
  io.stdout(values.output === 'json' ? JSON.stringify(result.json, null, 2) + '\n' : result.text);
  return result.open > 0 ? 1 : 0;
}
