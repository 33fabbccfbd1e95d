import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../admission/types.ts';
import { GuardError } from '../errors.ts';

export interface Manifest {
  /** `file` or `file#2` for the third document, `file#1.items[0]` for a List item. */
  source: string;
  object: KubeObject;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function filesUnder(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new GuardError('CIG_ERR_MANIFEST', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(child)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name))) out.push(child);
  }
  return out;
}

function flatten(object: unknown, source: string, out: Manifest[]): void {
  if (object === null || object === undefined) return; // empty document between `---`
  if (typeof object !== 'object' || Array.isArray(object)) {
    throw new GuardError('CIG_ERR_MANIFEST', `${source} is not a Kubernetes object (found ${Array.isArray(object) ? 'a list' : typeof object})`);
  }
  const obj = object as KubeObject;
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj['items'])) {
    (obj['items'] as unknown[]).forEach((item, i) => flatten(item, `${source}.items[${i}]`, out));
    return;
  }
  out.push({ source, object: obj });
}

/**
 * Reads manifests from files and folders (recursively: .yaml, .yml, .json): multi-document
 * YAML, JSON, and `kind: List` as kubectl prints it. `-` reads standard input.
 */
export async function readManifests(paths: readonly string[], stdin: () => Promise<string>): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const path of paths) {
    const files = path === '-' ? ['-'] : await filesUnder(path);
    for (const file of files) {
      const text = file === '-' ? await stdin() : await readFile(file, 'utf8');
      const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
      const list = Array.isArray(docs) ? docs : [docs];
      list.forEach((doc, i) => {
        const source = list.length > 1 ? `${file}#${i}` : file;
        if (doc.errors.length > 0) throw new GuardError('CIG_ERR_MANIFEST', `${source} is not valid YAML/JSON: ${doc.errors[0]!.message}`);
        flatten(doc.toJS(), source, out);
      });
    }
  }
  return out;
}
