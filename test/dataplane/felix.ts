/**
 * Felix in the node namespace, against the e2e kube-apiserver (Kubernetes datastore).
 *
 * kube-apiserver listens on 127.0.0.1 of the root namespace; a Unix socket is reachable from any
 * network namespace, so one socat outside turns the socket into the API server and one inside the
 * node namespace listens on the same 127.0.0.1:PORT: the kubeconfig works unchanged. The host
 * endpoint is on eth0 only, so this loopback bridge is not policed.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNs, type Processes } from './netns.ts';
import { NODE_NAME } from './topology.ts';

export type DataplaneMode = 'iptables' | 'nftables';

export interface Felix {
  readonly mode: DataplaneMode;
  /** The node namespace's ruleset as Felix's dataplane mode renders it. */
  dump(): Promise<string>;
  log(): string;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function bridgeApiServer(procs: Processes, nodeNs: string, apiServer: string): Promise<void> {
  const port = new URL(apiServer).port;
  const dir = await mkdtemp(join(tmpdir(), 'cig-dataplane-'));
  const sock = join(dir, 'api.sock');
  procs.start('socat-outside', 'socat', [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${port}`]);
  for (let i = 0; i < 50; i++) {
    if (await inNs(nodeNs, 'test', ['-S', sock]).then(() => true, () => false)) break;
    await delay(100);
  }
  procs.start('socat-inside', 'ip', ['netns', 'exec', nodeNs, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`]);
  for (let i = 0; i < 50; i++) {
    if (await inNs(nodeNs, 'bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).then(() => true, () => false)) return;
    await delay(100);
  }
  throw new Error('the API server bridge into the node namespace did not come up');
}

export async function startFelix(procs: Processes, felixBin: string, nodeNs: string, kubeconfig: string, mode: DataplaneMode): Promise<Felix> {
  const statusDir = await mkdtemp(join(tmpdir(), 'cig-felix-status-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    KUBECONFIG: kubeconfig,
    FELIX_DATASTORETYPE: 'kubernetes',
    FELIX_FELIXHOSTNAME: NODE_NAME,
    FELIX_LOGFILEPATH: 'none',
    FELIX_LOGSEVERITYSYS: 'none',
    FELIX_LOGSEVERITYSCREEN: 'info',
    FELIX_HEALTHENABLED: 'true',
    FELIX_HEALTHHOST: '127.0.0.1',
    FELIX_USAGEREPORTINGENABLED: 'false',
    FELIX_IPV6SUPPORT: 'false',
    FELIX_ENDPOINTSTATUSPATHPREFIX: statusDir,
    FELIX_BPFENABLED: 'false',
    // The non-cgo build has only a stub libbpf: skip the BPF conntrack cleanup that calls it.
    FELIX_DebugSkipCTLBCleanup: 'true',
    ...(mode === 'iptables' ? { FELIX_NFTABLESMODE: 'Disabled', FELIX_IPTABLESBACKEND: 'Legacy' } : { FELIX_NFTABLESMODE: 'Enabled' }),
  };
  const child = procs.start(`felix-${mode}`, 'ip', ['netns', 'exec', nodeNs, felixBin], env);
  // Felix logs to stdout with FELIX_LOGSEVERITYSCREEN; keep it for diagnosis.
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  });
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Felix exited (${child.exitCode}):\n${out.slice(-4000)}\n${procs.logs.get(child) ?? ''}`);
    const ready = await inNs(nodeNs, 'curl', ['-fsS', 'http://127.0.0.1:9099/readiness']).then(() => true, () => false);
    if (ready) break;
    await delay(250);
  }
  if (Date.now() >= deadline) throw new Error(`Felix not ready within 90 s:\n${out.slice(-4000)}`);
  return {
    mode,
    dump: () => (mode === 'iptables' ? inNs(nodeNs, 'iptables-legacy-save', []) : inNs(nodeNs, 'nft', ['list', 'ruleset'])),
    log: () => out,
  };
}

/** Waits until the dump shows the sentinel port (rendered after everything applied before it). */
export async function waitProgrammed(felix: Felix, sentinelPort: number, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  const re = new RegExp(`(^|[^0-9])${sentinelPort}([^0-9]|$)`, 'm');
  while (Date.now() - t0 < timeoutMs) {
    if (re.test(await felix.dump())) return Date.now() - t0;
    await delay(100);
  }
  throw new Error(`Felix (${felix.mode}) did not program sentinel port ${sentinelPort} within ${timeoutMs} ms`);
}
