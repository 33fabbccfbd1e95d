import type { KubeObject } from '../admission/types.ts';
import { buildReports } from '../audit/openreports.ts';
import { readClusterOnce } from '../cluster/read-once.ts';
import { auditSnapshot, toCheckShape } from '../audit/scan.ts';
import { snapshotFromObjects } from '../cluster/manifests.ts';
import type { ClusterSnapshot } from '../cluster/types.ts';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { GuardError } from '../errors.ts';
import { defaultRegistry } from '../rules/index.ts';
import { parse } from './args.ts';
import { formatAuditText, formatReportsYaml } from './audit.ts';
import { processIo, type Io } from './check-command.ts';
import { readManifests } from './read-manifests.ts';

const OUTPUTS = ['text', 'json', 'openreports'];

/** The snapshot to audit and where each object came from. */
async function source(values: { file?: string[] | undefined; kubeconfig?: string | undefined }, config: Config, io: Io): Promise<{ cluster: ClusterSnapshot; sourceOf: (o: KubeObject) => string }> {
  if (values.file !== undefined && values.file.length > 0) {
    const manifests = await readManifests(values.file, io.stdin);
    const sources = new Map(manifests.map((m) => [m.object, m.source]));
    return { cluster: snapshotFromObjects(manifests.map((m) => m.object), config), sourceOf: (o) => sources.get(o) ?? '<manifests>' };
  }
  return { cluster: await readClusterOnce(values.kubeconfig!, config, AbortSignal.timeout(120_000)), sourceOf: () => 'cluster' };
}

/** `clusterip-guard audit`: returns the exit status (1 when any finding is at enforce). */
export async function auditCommand(argv: string[], io: Io = processIo, now: () => Date = () => new Date()): Promise<number> {
  const { values } = parse(argv, {
    file: { type: 'string', short: 'f', multiple: true },
    kubeconfig: { type: 'string' },
    config: { type: 'string' },
    output: { type: 'string', short: 'o', default: 'text' },
  });
  if (!OUTPUTS.includes(values.output)) throw new GuardError('CIG_ERR_USAGE', `--output must be text, json or openreports (got "${values.output}")`);
  const files = values.file !== undefined && values.file.length > 0;
  if (files === (values.kubeconfig !== undefined)) throw new GuardError('CIG_ERR_USAGE', 'audit needs either -f FILE, DIR or - (standard input), or --kubeconfig FILE');
  const config = values.config ? await loadConfigFile(values.config) : defaultConfig();
  const { cluster, sourceOf } = await source(values, config, io);
  const results = auditSnapshot(cluster, { registry: defaultRegistry(), config }, sourceOf);
  if (values.output === 'json') io.stdout(JSON.stringify(results.map(toCheckShape), null, 2) + '\n');
  else if (values.output === 'openreports') io.stdout(formatReportsYaml(buildReports(results, now())));
  else io.stdout(formatAuditText(results));
  return results.some((r) => r.decision === 'deny') ? 1 : 0;
}
