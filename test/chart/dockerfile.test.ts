// The Dockerfile, checked structurally (no container engine runs in the test environment):
// multi-stage, Node 24 bases with pinned tags, production dependencies only in the final image,
// a non-root numeric user, exec-form entrypoint running dist/main.js, and an allow-list
// .dockerignore.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from './render.ts';

/** One Dockerfile instruction, continuation lines joined. */
interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

/** A build stage: its FROM image, optional name, and instructions after FROM. */
interface Stage {
  image: string;
  name?: string;
  flags: string[];
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions (comments and parser directives dropped). */
function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*(#|$)/.test(line)) return;
    if (pending !== '' && /^\s*#/.test(line)) return; // comments inside a continuation
    if (pending === '') start = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      return;
    }
    const full = (pending + line.trim()).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match) out.push({ line: start, keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '' });
  });
  if (pending !== '') throw new Error('Dockerfile ends inside a line continuation');
  return out;
}

/** Groups instructions into stages. */
function parseStages(text: string): { args: Instruction[]; stages: Stage[] } {
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const rest = words.filter((w) => !w.startsWith('--'));
      const asIndex = rest.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image: rest[0] ?? '', name: asIndex > 0 ? rest[asIndex + 1] : undefined, flags, instructions: [] });
    } else if (stages.length === 0) {
      args.push(ins);
    } else {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  return { args, stages };
}

/** Repository and tag of an image reference ("node:24-slim" -> node, 24-slim). */
function splitImage(ref: string): { repository: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = ref.split('@');
  const name = withoutDigest ?? '';
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repository: name.slice(0, colon), tag: name.slice(colon + 1), digest };
  return { repository: name, digest };
}

const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const { args: globalArgs, stages } = parseStages(text);
const final = stages[stages.length - 1] as Stage;
const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));
const external = stages.filter((s) => !stageNames.has(s.image));
const of = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

t.test('parser sanity', async (t) => {
  const parsed = parseStages('ARG V=1\n# c\nFROM a:1 AS one\nRUN x \\\n  # inner\n  && y\nFROM one\nCMD ["z"]\n');
  t.equal(parsed.args.length, 1);
  t.equal(parsed.stages.length, 2);
  t.equal(parsed.stages[0]?.name, 'one');
  t.equal(parsed.stages[0]?.instructions[0]?.args, 'x && y');
  t.same(splitImage('gcr.io/distroless/nodejs24-debian12:nonroot'), { repository: 'gcr.io/distroless/nodejs24-debian12', tag: 'nonroot', digest: undefined });
  t.same(splitImage('localhost:5000/node'), { repository: 'localhost:5000/node', digest: undefined });
});

t.test('multi-stage build', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`);
  t.same(globalArgs, [], 'no ARG before FROM: base images are written out, not substituted');
  for (const stage of stages.slice(0, -1)) t.ok(stage.name, `stage FROM ${stage.image} is named`);
});

t.test('base images: Node 24, pinned, never latest', async (t) => {
  for (const stage of external) {
    const { repository, tag, digest } = splitImage(stage.image);
    t.notMatch(stage.image, /\$/, `${stage.image}: no variables in the image reference`);
    t.ok(tag || digest, `${stage.image}: has a tag or digest`);
    t.not(tag, 'latest', `${stage.image}: not latest`);
    const node24 = (repository.endsWith('/node') || repository === 'node') ? /^24([.-]|$)/.test(tag ?? '') : /nodejs24\b/.test(repository);
    t.ok(node24, `${stage.image}: a Node 24 image`);
    t.same(stage.flags, [], `${stage.image}: no --platform override`);
  }
});

t.test('final stage: distroless, non-root, no shell needed', async (t) => {
  t.match(final.image, /^gcr\.io\/distroless\/nodejs24-/, 'distroless Node 24 runtime');
  const users = of(final, 'USER');
  t.equal(users.length, 1, 'one USER instruction');
  const user = (users[0]?.args ?? '').split(':');
  t.match(user[0] ?? '', /^[0-9]+$/, 'numeric user, so runAsNonRoot can be verified');
  t.equal(user[0], '65532');
  t.not(user[1], '0', 'not the root group');
  t.same(of(final, 'RUN'), [], 'no RUN: the runtime image has no shell');
  for (const keyword of ['ENTRYPOINT', 'CMD']) {
    for (const ins of of(final, keyword)) {
      t.doesNotThrow(() => JSON.parse(ins.args), `${keyword} is exec form (JSON array)`);
    }
  }
  const entrypoint = of(final, 'ENTRYPOINT').map((i) => JSON.parse(i.args) as string[]);
  const cmd = of(final, 'CMD').map((i) => JSON.parse(i.args) as string[]);
  const argv = [...(entrypoint.at(-1) ?? []), ...(cmd.at(-1) ?? [])];
  t.ok(argv.includes('dist/main.js'), `runs dist/main.js: ${argv.join(' ')}`);
  t.match(argv[0] ?? '', /node$/, 'through node');
  t.ok(argv.indexOf('--single-threaded-gc') > 0 && argv.indexOf('--single-threaded-gc') < argv.indexOf('dist/main.js'), 'node runs with --single-threaded-gc');
  t.equal(argv[argv.indexOf('dist/main.js') + 1], 'serve', 'default command is serve');
  t.equal(argv[argv.indexOf('--port') + 1], '8443');
  t.equal(argv[argv.indexOf('--probe-port') + 1], '9090');
});

t.test('final stage copies build output and production dependencies only', async (t) => {
  const copies = of(final, 'COPY');
  const fromStage = (path: string): string | undefined => {
    const ins = copies.find((c) => c.args.split(/\s+/).some((w) => w.replace(/\/$/, '').endsWith(path)));
    return ins ? /--from=(\S+)/.exec(ins.args)?.[1] ?? '(context)' : undefined;
  };
  const distFrom = fromStage('/app/dist');
  const modulesFrom = fromStage('/app/node_modules');
  t.ok(distFrom && stageNames.has(distFrom), `dist from a build stage (${distFrom})`);
  t.ok(modulesFrom && stageNames.has(modulesFrom), `node_modules from a stage (${modulesFrom})`);
  t.ok(copies.some((c) => /(^|\s)package\.json(\s|$)/.test(c.args)), 'package.json (it says "type": "module")');
  const depsStage = stages.find((s) => s.name === modulesFrom) as Stage;
  const installs = of(depsStage, 'RUN').map((r) => r.args).filter((a) => /\bnpm (ci|install)\b/.test(a));
  t.ok(installs.length > 0, 'the node_modules stage installs dependencies');
  for (const install of installs) {
    t.match(install, /npm ci\b/, 'npm ci (lock file, reproducible)');
    t.match(install, /--omit=dev/, 'production dependencies only');
  }
  const fromContext = copies
    .filter((c) => !c.args.includes('--from='))
    .flatMap((c) => c.args.replace(/--\S+/g, '').trim().split(/\s+/).slice(0, -1));
  t.same(fromContext, ['package.json'], 'from the build context only package.json: no sources, no whole context');
});

t.test("final stage has chrt from a Debian stage, for the scan process's SCHED_IDLE", async (t) => {
  const copy = of(final, 'COPY').find((c) => /\/usr\/bin\/chrt\s*$/.test(c.args));
  const from = copy ? /--from=(\S+)/.exec(copy.args)?.[1] : undefined;
  t.ok(from && stageNames.has(from), `chrt copied from a build stage (${from})`);
  const stage = stages.find((s) => s.name === from);
  t.match(stage?.image ?? '', /bookworm/, "a Debian 12 stage, the distroless base's release (same glibc)");
  t.match(copy?.args ?? '', /^--from=\S+ \/usr\/bin\/chrt \/usr\/bin\/chrt$/, 'one binary, to the PATH the scan process searches');
});

t.test('build stage compiles TypeScript from a clean install', async (t) => {
  const build = stages.find((s) => s.name === 'build') as Stage;
  t.ok(build, 'a stage named build');
  const runs = of(build, 'RUN').map((r) => r.args);
  t.ok(runs.some((r) => /npm ci\b/.test(r)), 'npm ci');
  t.ok(runs.some((r) => /\btsc\b.*-p tsconfig\.json/.test(r)), 'tsc -p tsconfig.json');
});

t.test('.dockerignore is an allow-list that keeps secrets and caches out', async (t) => {
  const lines = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  t.equal(lines[0], '*', 'everything excluded first');
  const allowed = lines.filter((l) => l.startsWith('!'));
  t.same(allowed.sort(), ['!package-lock.json', '!package.json', '!src/', '!tsconfig.json']);
  // Every path the Dockerfile copies from the context must be allowed.
  for (const stage of stages) {
    for (const copy of of(stage, 'COPY').filter((c) => !c.args.includes('--from='))) {
      const sources = copy.args.replace(/--\S+/g, '').trim().split(/\s+/).slice(0, -1);
      for (const source of sources) t.ok(allowed.includes(`!${source.replace(/^\.\//, '')}`) || allowed.includes(`!${source}/`), `${source} is in the build context`);
    }
  }
});
