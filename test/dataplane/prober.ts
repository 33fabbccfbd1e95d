/** The rig's agents: listeners in the node and pod namespaces, one prober in the client namespace. */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Processes } from './netns.ts';
import type { ProbeSpec } from './topology.ts';

const AGENT = join(import.meta.dirname, 'agent.ts');

function waitReady(child: ChildProcess, what: string, procs: Processes): Promise<void> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what} not ready in 20 s: ${procs.logs.get(child) ?? ''}`)), 20_000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      if (line === 'ready') res();
      else rej(new Error(`${what}: unexpected "${line}"`));
    });
    child.once('exit', () => rej(new Error(`${what} exited: ${procs.logs.get(child) ?? ''}`)));
  });
}

export async function startListeners(procs: Processes, ns: string, ports: readonly number[]): Promise<void> {
  const child = procs.start(`listen-${ns}`, 'ip', ['netns', 'exec', ns, process.execPath, AGENT, 'listen', ...ports.map(String)]);
  await waitReady(child, `listeners in ${ns}`, procs);
}

export class Prober {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (ok: boolean) => void>();
  #next = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') return;
      const { id, ok } = JSON.parse(line) as { id: number; ok: boolean };
      this.#pending.get(id)?.(ok);
      this.#pending.delete(id);
    });
  }

  static async start(procs: Processes, ns: string): Promise<Prober> {
    const child = procs.start(`probe-${ns}`, 'ip', ['netns', 'exec', ns, process.execPath, AGENT, 'probe']);
    await waitReady(child, `prober in ${ns}`, procs);
    return new Prober(child);
  }

  /** True when the connection (TCP) or the echo (UDP) made it there and back. */
  probe(p: ProbeSpec, timeoutMs: number): Promise<boolean> {
    const id = this.#next++;
    return new Promise((res) => {
      this.#pending.set(id, res);
      this.#child.stdin!.write(`${JSON.stringify({ id, proto: p.proto, src: p.src, dst: p.dst, port: p.port, timeoutMs })}\n`);
    });
  }
}
