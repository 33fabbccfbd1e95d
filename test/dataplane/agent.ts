/**
 * Runs inside one of the rig's network namespaces (started with `ip netns exec`).
 *
 *   agent.ts listen PORT...   TCP and UDP listeners on 0.0.0.0 for each port; a TCP connection is
 *                             accepted and closed, a UDP datagram is echoed. Prints `ready`.
 *   agent.ts probe            reads JSON lines `{id, proto, src, dst, port, timeoutMs}` on stdin,
 *                             answers `{id, ok}`: ok when a TCP handshake completes or a UDP echo
 *                             comes back within the timeout.
 */
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

interface Probe {
  readonly id: number;
  readonly proto: 'tcp' | 'udp';
  readonly src: string;
  readonly dst: string;
  readonly port: number;
  readonly timeoutMs: number;
}

async function listen(ports: number[]): Promise<void> {
  for (const port of ports) {
    await new Promise<void>((res, rej) => {
      const srv = createServer((sock) => sock.end());
      srv.once('error', rej);
      srv.listen(port, '0.0.0.0', () => res());
    });
    await new Promise<void>((res, rej) => {
      const udp = createSocket('udp4');
      udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
      udp.once('error', rej);
      udp.bind(port, '0.0.0.0', () => res());
    });
  }
  process.stdout.write('ready\n');
}

function probeTcp(p: Probe): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect({ host: p.dst, port: p.port, localAddress: p.src });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      res(ok);
    };
    const timer = setTimeout(() => done(false), p.timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function probeUdp(p: Probe): Promise<boolean> {
  return new Promise((res) => {
    const sock = createSocket('udp4');
    const payload = Buffer.from(`probe-${p.id}`);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      res(ok);
    };
    const timer = setTimeout(() => done(false), p.timeoutMs);
    sock.on('message', (msg) => {
      if (msg.equals(payload)) done(true);
    });
    sock.once('error', () => done(false));
    sock.bind(0, p.src, () => sock.send(payload, p.port, p.dst));
  });
}

function probe(): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    const p = JSON.parse(line) as Probe;
    void (p.proto === 'tcp' ? probeTcp(p) : probeUdp(p)).then((ok) => process.stdout.write(`${JSON.stringify({ id: p.id, ok })}\n`));
  });
  lines.on('close', () => process.exit(0));
  process.stdout.write('ready\n');
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'listen') await listen(rest.map(Number));
else if (mode === 'probe') probe();
else {
  process.stderr.write('usage: agent.ts listen PORT... | agent.ts probe\n');
  process.exit(2);
}
