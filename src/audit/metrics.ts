import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The background scan's metrics, in a registry of their own: the server's /metrics joins it
 * with the admission registry (prom-client `Registry.merge`).
 */
export interface AuditMetrics {
  readonly registry: Registry;
  /** Replaces the findings gauge with one scan's counts per rule and result. */
  findings(counts: ReadonlyMap<string, number>): void;
  ran(startedAt: number, durationSeconds: number): void;
  leader(isLeader: boolean): void;
  /** The scan process died and is restarted (scan-process.ts). */
  workerRestart(): void;
}

/** Key of the `counts` map passed to `findings`: `rule\u0000result`. */
export const findingKey = (rule: string, result: string): string => `${rule}\u0000${result}`;

export function createAuditMetrics(): AuditMetrics {
  const registry = new Registry();
  const findings = new Gauge({
    name: 'clusterip_guard_audit_findings',
    help: 'Findings of the last background scan, by rule and report result (fail, warn).',
    labelNames: ['rule', 'result'] as const,
    registers: [registry],
  });
  const lastRun = new Gauge({ name: 'clusterip_guard_audit_last_run_timestamp_seconds', help: 'When the last background scan started (Unix time).', registers: [registry] });
  const duration = new Gauge({ name: 'clusterip_guard_audit_run_duration_seconds', help: 'How long the last background scan took, report writes included.', registers: [registry] });
  const leader = new Gauge({ name: 'clusterip_guard_audit_leader', help: '1 while this replica holds the audit lease (scans and writes reports), else 0.', registers: [registry] });
  leader.set(0);
  const restarts = new Counter({ name: 'clusterip_guard_audit_worker_restarts_total', help: 'Times the background scan process died and was restarted.', registers: [registry] });
  return {
    registry,
    findings(counts) {
      findings.reset(); // a rule with no findings any more must not keep its old count
      for (const [key, n] of counts) {
        const [rule, result] = key.split('\u0000') as [string, string];
        findings.set({ rule, result }, n);
      }
    },
    ran(startedAt, durationSeconds) {
      lastRun.set(startedAt / 1000);
      duration.set(durationSeconds);
    },
    leader: (isLeader) => leader.set(isLeader ? 1 : 0),
    workerRestart: () => restarts.inc(),
  };
}
