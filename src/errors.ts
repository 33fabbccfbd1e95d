/**
 * Every error clusterip-guard reports to a person, with a stable code. README.md ("Errors")
 * documents each code; a test keeps the two in step.
 */
export const ERRORS = {
  CIG_ERR_CONFIG_INVALID: { status: 1, summary: 'the configuration file does not match the schema' },
  CIG_ERR_CONFIG_UNREADABLE: { status: 1, summary: 'the configuration file cannot be read or parsed' },
  CIG_ERR_USAGE: { status: 2, summary: 'the command line is wrong' },
  CIG_ERR_TLS: { status: 1, summary: 'the TLS certificate or key cannot be loaded' },
  CIG_ERR_MANIFEST: { status: 2, summary: 'a manifest given to `check` cannot be read or parsed' },
  CIG_ERR_RULE_REGISTRY: { status: 1, summary: 'the rule registry is inconsistent (a bug)' },
  CIG_ERR_CLUSTER_UNREADABLE: { status: 2, summary: '`explain --kubeconfig` or `audit --kubeconfig` cannot read the cluster state' },
  CIG_ERR_LISTEN: { status: 3, summary: 'a port cannot be listened on (in use, not permitted, no such address)' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class GuardError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GuardError';
    this.code = code;
  }
  /** Process exit status for the CLI. */
  get exitStatus(): number {
    return ERRORS[this.code].status;
  }
}
