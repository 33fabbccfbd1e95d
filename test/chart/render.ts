/**
 * Rendering helpers for the chart tests, shared with the end-to-end suite (which applies the
 * rendered manifests with `kubectl apply --dry-run=server`).
 *
 * helm is the binary test/e2e/control-plane.sh builds into
 * `${CIG_CACHE_DIR:-$HOME/.cache/clusterip-guard}/bin/helm`; `CIG_HELM` overrides the path.
 *
 * @example
 *   const manifests = await renderChart('default-values.yaml');
 *   const objects = parseManifests(manifests);
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'clusterip-guard');
export const CI_DIR = join(CHART_DIR, 'ci');

/** The scenario files in charts/clusterip-guard/ci, by name. */
export const SCENARIOS = [
  'default-values.yaml',
  'certmanager-off-values.yaml',
  'url-mode-values.yaml',
  'custom-rules-values.yaml',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Release name and namespace the tests render with unless told otherwise. */
export const RELEASE_NAME = 'clusterip-guard';
export const RELEASE_NAMESPACE = 'clusterip-guard';
/**
 * Kubernetes version passed to helm (`--kube-version`), so rendering does not depend on the
 * version stamped into the helm binary. The chart needs 1.30+ (preStop sleep action).
 */
export const KUBE_VERSION = process.env.CIG_KUBE_VERSION ?? '1.34.0';

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** Extra `--set` assignments, e.g. `['tls.caBundle=...']`. */
  set?: string[];
  /** Extra `--set-string` assignments. */
  setString?: string[];
  kubeVersion?: string;
}

/** A rendered Kubernetes object (only the fields every object has are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Path of the helm binary (it may not exist; see requireHelm). */
export function helmPath(): string {
  if (process.env.CIG_HELM) return process.env.CIG_HELM;
  const cache = process.env.CIG_CACHE_DIR ?? join(homedir(), '.cache', 'clusterip-guard');
  return join(cache, 'bin', 'helm');
}

/** The helm binary, or an Error saying how to get it. Tests fail on the error; they never skip. */
export function requireHelm(): string {
  const helm = helmPath();
  try {
    accessSync(helm, constants.X_OK);
  } catch {
    throw new Error(
      `helm not found at ${helm}: build it with \`test/e2e/control-plane.sh build\` ` +
        '(or point CIG_HELM / CIG_CACHE_DIR at an existing helm binary)',
    );
  }
  return helm;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with the given arguments; resolves with its exit code and output, never rejects on a non-zero exit. */
export function runHelm(args: string[], cwd: string = REPO_ROOT): Promise<HelmResult> {
  const helm = requireHelm();
  return new Promise((done, fail) => {
    execFile(helm, args, { cwd, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, HELM_NO_PLUGINS: '1' } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        fail(error);
        return;
      }
      done({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** Resolves a scenario name (`default-values.yaml`) or a path to a values file. */
export function valuesPath(valuesFile: string): string {
  if (isAbsolute(valuesFile)) return valuesFile;
  if (!valuesFile.includes('/')) return join(CI_DIR, valuesFile);
  return resolve(REPO_ROOT, valuesFile);
}

/** The `helm template` argument list for a values file (exported for tests that expect failure). */
export function templateArgs(valuesFile: string | null, options: RenderOptions = {}): string[] {
  const args = [
    'template',
    options.releaseName ?? RELEASE_NAME,
    CHART_DIR,
    '--namespace',
    options.namespace ?? RELEASE_NAMESPACE,
    '--kube-version',
    options.kubeVersion ?? KUBE_VERSION,
  ];
  if (valuesFile !== null) args.push('--values', valuesPath(valuesFile));
  for (const assignment of options.set ?? []) args.push('--set', assignment);
  for (const assignment of options.setString ?? []) args.push('--set-string', assignment);
  return args;
}

/**
 * Renders the chart with one values file (a name in charts/clusterip-guard/ci, or a path) and
 * returns the manifests as helm prints them. Rejects with helm's message when rendering fails.
 */
export async function renderChart(valuesFile: string, options: RenderOptions = {}): Promise<string> {
  const result = await runHelm(templateArgs(valuesFile, options));
  if (result.code !== 0) {
    throw new Error(`helm template with ${valuesFile} failed (exit ${result.code}):\n${result.stderr}`);
  }
  return result.stdout;
}

/** Parses multi-document YAML into objects, dropping empty documents; throws on YAML errors. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

/** Renders and parses in one step. */
export async function renderObjects(valuesFile: string, options: RenderOptions = {}): Promise<K8sObject[]> {
  return parseManifests(await renderChart(valuesFile, options));
}

/** The single object of a kind (optionally with a name); throws when there is not exactly one. */
export function findOne(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  }
  return found[0] as K8sObject;
}

/**
 * Renders NOTES.txt (what `helm install` prints) without a cluster: `helm template` does not print
 * it, so a copy of the chart gets one extra template that includes NOTES.txt into a ConfigMap.
 */
export async function renderNotes(valuesFile: string, options: RenderOptions = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cig-notes-'));
  try {
    const chart = join(dir, 'clusterip-guard');
    cpSync(CHART_DIR, chart, { recursive: true });
    writeFileSync(
      join(chart, 'templates', 'zz-notes-probe.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-probe\ndata:\n' +
        '  notes: {{ include (print $.Template.BasePath "/NOTES.txt") . | toJson }}\n',
    );
    const args = templateArgs(valuesFile, options);
    args[args.indexOf(CHART_DIR)] = chart;
    args.push('--show-only', 'templates/zz-notes-probe.yaml');
    const result = await runHelm(args);
    if (result.code !== 0) throw new Error(`rendering NOTES.txt with ${valuesFile} failed:\n${result.stderr}`);
    const probe = findOne(parseManifests(result.stdout), 'ConfigMap', 'notes-probe') as K8sObject & { data: { notes: string } };
    return probe.data.notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
