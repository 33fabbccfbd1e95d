import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GuardError } from '../errors.ts';

export const USAGE = `Usage:
  clusterip-guard serve [--config FILE] [--tls-cert FILE --tls-key FILE] [--port 8443]
                        [--host ADDR] [--probe-port 9090] [--kubeconfig FILE | --no-cluster]
                        [--drain-delay 0s] [--shutdown-timeout 20s] [--analysis-budget 500ms]
      Serve the admission webhook (POST /mutate, /validate over HTTPS; /healthz, /readyz,
      /metrics over plain HTTP on the probe port). Without --tls-cert/--tls-key a development
      certificate for localhost and 127.0.0.1 is made on the spot (needs openssl).
      On SIGTERM: not ready at once, keep serving --drain-delay (every answer says
      Connection: close), then stop accepting and let answers in progress finish for up to
      --shutdown-timeout; exit 0 (1 if that time ran out). GlobalNetworkPolicy reviews are
      analysed in a worker thread; one that would take longer than --analysis-budget
      (queue time included) is answered with the policy's own checks and a warning.
  clusterip-guard check -f FILE|DIR|- [-f ...] [--config FILE] [--output text|json]
      Run the rules offline on manifests, as a CREATE through /mutate then /validate.
      Exit 1 when anything would be denied, 0 otherwise; 2 on unreadable input.
  clusterip-guard check --print-default-config
  clusterip-guard explain (-f FILE|DIR|- [-f ...] | --kubeconfig FILE) [--config FILE]
                          [--service NAMESPACE/NAME] [--to IP[:PORT][/PROTOCOL] [--from IP|CIDR]]
                          [--output text|json]
      Who reaches each exposed Service port (or the --to destination) through the host
      endpoints. Exit 1 when an exposed Service port is reachable by default, 0 otherwise;
      2 on unreadable input or a bad argument.
  clusterip-guard audit -f FILE|DIR|- [-f ...] | --kubeconfig FILE  [--config FILE]
                        [--output text|json|openreports]
      Judge existing objects as they stand (manifests, or the cluster read once); openreports
      prints the Report/ClusterReport objects serve would write. Exit 1 when anything is at
      enforce, 0 otherwise; 2 on unreadable input.
  clusterip-guard rules
      List the rules with their default actions.
`;

/** Parses a subcommand's options; unknown flags and bad values are usage errors. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (err) {
    throw new GuardError('CIG_ERR_USAGE', `${(err as Error).message}\n\n${USAGE}`, { cause: err });
  }
}

export function portOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GuardError('CIG_ERR_USAGE', `${flag} must be a port number 0-65535 (got "${value}")`);
  return port;
}

/** A duration flag: `250ms`, `5s` or a bare number of seconds; returns milliseconds. */
export function durationOption(value: string | undefined, flag: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  if (!m) throw new GuardError('CIG_ERR_USAGE', `${flag} must be a duration such as 500ms or 5s (got "${value}")`);
  return Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : 1000));
}
