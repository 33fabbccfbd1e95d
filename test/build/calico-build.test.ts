/**
 * `control-plane.sh build calico` on an empty cache, with a stand-in `go` on the PATH: every
 * step a fresh machine takes (module downloads, CRD extraction, the wrapper module, two builds)
 * runs in seconds, so a broken step fails here and not first in CI's cold-cache run. The
 * stand-in answers only what the script asks: `go env`, `go mod download -json` (a module
 * directory with a go.mod and one CRD) and `go build -o OUT` (an empty executable).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

const script = join(import.meta.dirname, '../e2e/control-plane.sh');

const FAKE_GO = `#!/usr/bin/env bash
set -eu
echo "$*" >>"$FAKE_GO_LOG"
case "$1" in
  env)
    case "\${2:-}" in GOVERSION) echo go1.26.0 ;; GOPROXY) echo https://proxy.invalid ;; *) echo ;; esac ;;
  list) echo '{}' ;;
  mod)
    mod="\${4%@*}"
    dir="$FAKE_GO_MODS/$(echo "$mod" | tr / _)"
    mkdir -p "$dir/libcalico-go/config/crd"
    printf 'module %s\\n\\ngo 1.25.0\\n\\nreplace k8s.io/api => k8s.io/api v0.34.1\\n' "$mod" >"$dir/go.mod"
    echo 'kind: CustomResourceDefinition' >"$dir/libcalico-go/config/crd/crd.projectcalico.org_globalnetworkpolicies.yaml"
    printf '{\\n\\t"Path": "%s",\\n\\t"Dir": "%s",\\n\\t"GoMod": "%s/go.mod"\\n}\\n' "$mod" "$dir" "$dir" ;;
  build)
    out=""
    while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
    printf '#!/bin/sh\\n' >"$out"; chmod +x "$out" ;;
  *) echo "fake go: unexpected: $*" >&2; exit 2 ;;
esac
`;

t.test('build calico on an empty cache downloads both modules, extracts the CRDs and builds felix and the apiserver', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cig-calico-build-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'go'), FAKE_GO);
  chmodSync(join(bin, 'go'), 0o755);
  const cache = join(dir, 'cache');
  const goLog = join(dir, 'go.log');
  const run = spawnSync('bash', [script, 'build', 'calico'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CIG_CACHE_DIR: cache, FAKE_GO_LOG: goLog, FAKE_GO_MODS: join(dir, 'mods') },
  });
  t.equal(run.status, 0, 'the build succeeds', { stderr: run.stderr });
  const calls = existsSync(goLog) ? readFileSync(goLog, 'utf8') : '';
  t.match(calls, /mod download -json github\.com\/projectcalico\/calico@v0\.0\.0-/, 'the calico module is downloaded');
  t.match(calls, /mod download -json github\.com\/projectcalico\/api@v0\.0\.0-/, 'the api module is downloaded');
  t.match(calls, /build .*felix\/cmd\/calico-felix/, 'felix is built');
  t.match(calls, /build .*apiserver\/cmd\/apiserver/, 'the apiserver is built');
  for (const name of ['calico-felix', 'calico-apiserver']) t.ok(existsSync(join(cache, 'bin', name)), `${name} is linked in the cache`);
  const release = readdirSync(join(cache, 'calico'));
  t.equal(release.length, 1, 'one release directory');
  t.same(readdirSync(join(cache, 'calico', release[0]!, 'crds')), ['crd.projectcalico.org_globalnetworkpolicies.yaml'], 'the CRDs are extracted');
  const wrapper = readFileSync(join(cache, 'build', `calico-${release[0]}`, 'go.mod'), 'utf8');
  t.match(wrapper, /\tk8s\.io\/api => k8s\.io\/api v0\.34\.1/, "the wrapper repeats calico's k8s.io replaces");

  const again = spawnSync('bash', [script, 'build', 'calico'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CIG_CACHE_DIR: cache, FAKE_GO_LOG: goLog, FAKE_GO_MODS: join(dir, 'mods') },
  });
  t.equal(again.status, 0, 'a second run succeeds', { stderr: again.stderr });
  t.match(again.stderr, /already built/, 'and builds nothing');
  t.end();
});
