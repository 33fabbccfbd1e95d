import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GuardError } from '../errors.ts';

export const USAGE = `Usage:
  clusterip-guard serve [--config FILE] [--tls-cert FILE --tls-key FILE] [--port 8443]
                        [--host ADDR] [--probe-port 9090] [--kubeconfig FILE | --no-cluster]
      Serve the admission webhook (POST /mutate, /validate over HTTPS; /healthz, /readyz,
      /metrics over plain HTTP on the probe port). Without --tls-cert/--tls-key a development
      certificate for localhost and 127.0.0.1 is made on the spot (needs openssl).
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
