/**
 * Calico's field checks that the GlobalNetworkPolicy compiler (policy.ts) applies as it reads
 * an object: each problem carries the kubectl-style field path and Calico's own reason
 * (libcalico-go/lib/validator/v3/validator.go and the CEL rules on the v3 API types), and the
 * Calico versions it holds for when the rule changed between releases.
 */

/** The Calico releases a check holds for: `from` inclusive, `before` exclusive (`major.minor`). */
export interface CalicoVersions {
  readonly from?: string;
  readonly before?: string;
}

/**
 * Checks with a name: a rule of their own reports them (with a fix or a patch), so gnp-schema
 * leaves them to it (see rules/gnp-schema.ts).
 */
export type NamedCheck = 'preDNAT-with-doNotTrack' | 'preDNAT-with-egress' | 'applyOnForward-required';

export interface Problem {
  /** Field path, e.g. `spec.ingress[0].destination.nets[1]`. */
  readonly path: string;
  readonly message: string;
  /** Absent: every supported release. */
  readonly calico?: CalicoVersions;
  readonly check?: NamedCheck;
}

/** The release the model follows unless the config says otherwise (`calico.version`). */
export const DEFAULT_CALICO_VERSION = '3.32';

const VERSION = /^(\d+)\.(\d+)$/;

/** `3.9` < `3.31` < `3.32`; throws on anything but `major.minor`. */
function compareVersions(a: string, b: string): number {
  const pa = VERSION.exec(a);
  const pb = VERSION.exec(b);
  if (pa === null || pb === null) throw new Error(`not a Calico version (major.minor): ${pa === null ? a : b}`);
  return Number(pa[1]) - Number(pb[1]) || Number(pa[2]) - Number(pb[2]);
}

/** Whether a problem holds for Calico `version`. */
export function holdsFor(problem: Problem, version: string): boolean {
  const range = problem.calico;
  if (range === undefined) return true;
  if (range.from !== undefined && compareVersions(version, range.from) < 0) return false;
  if (range.before !== undefined && compareVersions(version, range.before) >= 0) return false;
  return true;
}

export type Problems = Problem[];

/** Records a problem; returns undefined, so a reader can report and give up in one statement. */
export function report(out: Problems, path: string, message: string, calico?: CalicoVersions): undefined {
  out.push(calico === undefined ? { path, message } : { path, message, calico });
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

type Obj = Record<string, unknown>;
export const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

// k8s.io/apimachinery validation: DNS-1123 labels and subdomains, qualified names.
const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
export const DNS_LABEL = new RegExp(`^${LABEL}$`);
export const DNS_SUBDOMAIN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
/** GlobalNetworkPolicy names: a label, optionally after one `tier.` prefix (`globalNetworkPolicyNameRegex`). */
const GNP_NAME = new RegExp(`^(${LABEL}\\.)?${LABEL}$`);
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** `IsQualifiedName`: `[prefix/]name`, prefix a DNS subdomain, name up to 63 characters. */
function qualifiedNameError(key: string): string | null {
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return 'prefix part must be a lowercase RFC 1123 subdomain';
  } else if (parts.length > 2) {
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'";
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return null;
}

const ANNOTATIONS_LIMIT = 256 * 1024;

/** `validateObjectMetaAnnotations`: keys are qualified names (checked lower-cased), 256 KiB in all. */
export function checkAnnotations(value: unknown, path: string, out: Problems): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) return report(out, path, `must be a map of strings, found ${describe(value)}`);
  let size = 0;
  for (const [key, text] of Object.entries(value)) {
    const error = qualifiedNameError(key.toLowerCase());
    if (error !== null) report(out, `${path}[${key}]`, `annotation key: ${error}`);
    size += key.length + (typeof text === 'string' ? text.length : 0);
  }
  if (size > ANNOTATIONS_LIMIT) report(out, path, `total size of annotations is too large by ${size - ANNOTATIONS_LIMIT} bytes`);
}

/** `validateObjectMetaLabels`: keys are qualified names. */
function checkLabels(value: unknown, path: string, out: Problems): void {
  if (!isObject(value)) return;
  for (const key of Object.keys(value)) {
    const error = qualifiedNameError(key);
    if (error !== null) report(out, `${path}[${key}]`, `label key: ${error}`);
  }
}

/** NetworkPolicy names: also `knp.default.` / `ossg.default.` before a subdomain (`networkPolicyNameRegex`). */
const NP_NAME = new RegExp(`^((${LABEL})(\\.${LABEL})?|((?:knp|ossg)\\.default\\.${LABEL}(\\.${LABEL})*))$`);

/** `validateGlobalNetworkPolicy`'s (or, `namespaced`, `validateNetworkPolicy`'s) metadata checks. */
export function checkMetadata(metadata: unknown, namespaced: boolean, out: Problems): void {
  if (!isObject(metadata)) return;
  const name = metadata['name'];
  const pattern = namespaced ? NP_NAME : GNP_NAME;
  if (typeof name === 'string') {
    if (name.length > 253) report(out, 'metadata.name', `name is too long by ${name.length - 253} bytes`);
    if (!pattern.test(name)) {
      report(out, 'metadata.name', `name must consist of lower case alphanumeric characters or '-', with at most one '.' after a tier name (regex: ${pattern.source})`);
    }
  }
  checkAnnotations(metadata['annotations'], 'metadata.annotations', out);
  checkLabels(metadata['labels'], 'metadata.labels', out);
}

const ICMP_FIELDS = [['type', 254], ['code', 255]] as const;

/** ICMP `type` 0–254 and `code` 0–255; a code needs a type (the kernel matches a code only under a type). */
export function checkIcmpFields(value: unknown, path: string, out: Problems): void {
  if (!isObject(value)) return;
  for (const [field, max] of ICMP_FIELDS) {
    const n = value[field];
    if (n != null && !(Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max)) report(out, `${path}.${field}`, `must be a whole number from 0 to ${max}, found ${describe(n)}`);
  }
  if (value['code'] != null && value['type'] == null) report(out, `${path}.code`, 'ICMP code specified without an ICMP type');
}

/** `validateHTTPRule`: no duplicate methods; each path one of exact/prefix, starting `/`, without `?`, `#` or spaces. */
export function checkHttpMatch(value: unknown, path: string, out: Problems): void {
  if (!isObject(value)) return;
  const methods = value['methods'];
  if (Array.isArray(methods) && new Set(methods).size !== methods.length) {
    report(out, `${path}.methods`, `Invalid methods (duplicates): ${methods.map((m) => (typeof m === 'string' ? m : typeof m)).join(' ')}`);
  }
  const paths = value['paths'];
  if (!Array.isArray(paths)) return;
  for (let i = 0; i < paths.length; i++) {
    const p: unknown = paths[i];
    if (!isObject(p)) continue;
    const exact = typeof p['exact'] === 'string' ? p['exact'] : '';
    const prefix = typeof p['prefix'] === 'string' ? p['prefix'] : '';
    const at = `${path}.paths[${i}]`;
    if (exact !== '' && prefix !== '') report(out, at, "Invalid path match. Both 'exact' and 'prefix' are set");
    else if (exact === '' && prefix === '') report(out, at, "Invalid path match. Either 'exact' or 'prefix' must be set");
    else {
      const text = exact || prefix;
      if (!text.startsWith('/') || /[? #]/.test(text)) report(out, at, `Invalid path ${text}. (must start with \`/\` and not contain \`?\` or \`#\``);
    }
  }
}

const PERFORMANCE_HINTS = ['AssumeNeededOnEveryNode'];

export function checkPerformanceHints(value: unknown, out: Problems): void {
  if (!Array.isArray(value)) return;
  const seen = new Set<unknown>();
  for (let i = 0; i < value.length; i++) {
    const hint: unknown = value[i];
    if (!PERFORMANCE_HINTS.includes(hint as string)) report(out, `spec.performanceHints[${i}]`, `must be one of ${PERFORMANCE_HINTS.join(', ')}, found ${describe(hint)}`);
    else if (seen.has(hint)) report(out, `spec.performanceHints[${i}]`, `${String(hint)} is listed more than once`);
    seen.add(hint);
  }
}

/** A namespaceSelector holding global() must hold nothing else (Calico checks its tokens). */
export const LONE_GLOBAL = /^\s*global\(\s*\)\s*$/;
export const GLOBAL_ONLY_IN_NAMESPACE_SELECTOR = 'global() can only be used in an EntityRule namespaceSelector';
