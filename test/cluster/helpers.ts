import type { KubeObject } from '../../src/admission/types.ts';
import type { ClusterLogger } from '../../src/cluster/informers.ts';
import { DEFAULT_CONFIG } from '../../src/config/defaults.ts';
import type { Config } from '../../src/config/types.ts';

/** Defaults, plus the namespace `edge` whose Services are all exposed. */
export const CONFIG: Config = {
  ...DEFAULT_CONFIG,
  exposure: { ...DEFAULT_CONFIG.exposure, namespaces: ['edge'] },
};

export const EXPOSED = { 'clusterip-guard.io/exposed': 'true' };

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that records every call. */
export function recordingLogger(): ClusterLogger & { entries: LogEntry[]; count(level: LogEntry['level']): number } {
  const entries: LogEntry[] = [];
  const log = (level: LogEntry['level']) => (obj: object, msg?: string): void => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return {
    entries,
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    count: (level) => entries.filter((e) => e.level === level).length,
  };
}

/** Polls `condition` every 5 ms; fails after `timeoutMs` with `what` in the message. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function names(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => o.metadata?.name ?? '');
}

export function named(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { metadata: { name }, spec };
}

export function service(namespace: string, name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { metadata: { namespace, name, labels }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } };
}
