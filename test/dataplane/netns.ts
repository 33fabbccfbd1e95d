/**
 * The rig's network namespaces: client ─veth─ node ─veth─ pod, plus a veth pair inside the node
 * for the sentinel host endpoint. No namespace has a route to the machine's uplink: the node's
 * only links are the veths, and its namespace starts empty. Deleting a namespace
 * removes its links and all of its iptables/nftables state, so teardown is `ip netns del`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { CLIENTS, CLUSTER_IPS, NODE_IP, POD_CIDR, POD_GATEWAY, POD_IP, SERVICE_CIDR } from './topology.ts';

const run = promisify(execFile);

export interface Namespaces {
  readonly client: string;
  readonly node: string;
  readonly pod: string;
}

export async function sh(cmd: string, args: readonly string[], input?: string): Promise<string> {
  if (input === undefined) return (await run(cmd, [...args], { maxBuffer: 64 << 20 })).stdout;
  return new Promise((res, rej) => {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

export const inNs = (ns: string, cmd: string, args: readonly string[], input?: string): Promise<string> => sh('ip', ['netns', 'exec', ns, cmd, ...args], input);

/** kube-proxy stand-in: cluster IP → pod IP, ports unchanged, in the nat prerouting hook. */
const kubeProxyRuleset = (): string => `table ip cig_kube_proxy {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
${CLUSTER_IPS.map((ip) => `    ip daddr ${ip} dnat to ${POD_IP}`).join('\n')}
  }
}
`;

export async function createNamespaces(prefix: string): Promise<Namespaces> {
  const ns: Namespaces = { client: `${prefix}-client`, node: `${prefix}-node`, pod: `${prefix}-pod` };
  try {
    await build(ns);
  } catch (err) {
    await deleteNamespaces(ns);
    throw err;
  }
  return ns;
}

async function build(ns: Namespaces): Promise<void> {
  for (const name of Object.values(ns)) await sh('ip', ['netns', 'add', name]);
  const ipn = (name: string, ...args: string[]) => sh('ip', ['-n', name, ...args]);
  // Links are created inside the node namespace and their peers moved straight into the others.
  await ipn(ns.node, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.client);
  await ipn(ns.node, 'link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.pod);
  // A veth pair with both ends on the node (no dummy driver needed): sent1 is never used.
  await ipn(ns.node, 'link', 'add', 'sent0', 'type', 'veth', 'peer', 'name', 'sent1');
  for (const name of Object.values(ns)) await ipn(name, 'link', 'set', 'lo', 'up');
  for (const link of ['eth0', 'pod0', 'sent0', 'sent1']) await ipn(ns.node, 'link', 'set', link, 'up');
  await ipn(ns.client, 'link', 'set', 'eth0', 'up');
  await ipn(ns.pod, 'link', 'set', 'eth0', 'up');

  await ipn(ns.node, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'eth0');
  await ipn(ns.node, 'addr', 'add', `${POD_GATEWAY}/24`, 'dev', 'pod0');
  await ipn(ns.node, 'addr', 'add', '192.0.2.1/32', 'dev', 'sent0');
  await ipn(ns.node, 'route', 'add', '203.0.113.0/24', 'dev', 'eth0');
  await inNs(ns.node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);

  for (const src of CLIENTS) {
    await ipn(ns.client, 'addr', 'add', src.startsWith('198.51.100.') ? `${src}/24` : `${src}/32`, 'dev', 'eth0');
  }
  for (const net of [SERVICE_CIDR, POD_CIDR]) await ipn(ns.client, 'route', 'add', net, 'via', NODE_IP);

  await ipn(ns.pod, 'addr', 'add', `${POD_IP}/24`, 'dev', 'eth0');
  await ipn(ns.pod, 'route', 'add', 'default', 'via', POD_GATEWAY);

  await inNs(ns.node, 'nft', ['-f', '-'], kubeProxyRuleset());
}

export async function deleteNamespaces(ns: Namespaces): Promise<void> {
  for (const name of Object.values(ns)) await sh('ip', ['netns', 'del', name]).catch(() => undefined);
}

/** Long-running processes the rig started; stopped by PID on teardown. */
export class Processes {
  readonly children: ChildProcess[] = [];
  readonly logs = new Map<ChildProcess, string>();

  start(name: string, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    this.children.push(child);
    this.logs.set(child, '');
    const keep = (c: Buffer) => {
      const log = (this.logs.get(child) ?? '') + c.toString();
      this.logs.set(child, log.length > 200_000 ? log.slice(-100_000) : log);
    };
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => keep(Buffer.from(`\n[${name} exited: ${code ?? signal}]\n`)));
    return child;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((res) => child.once('exit', () => res()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.children.length = 0;
  }
}
