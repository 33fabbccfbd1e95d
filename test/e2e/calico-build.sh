# shellcheck shell=bash
# Calico's calico-felix and calico-apiserver at a pinned release, built from the Go module proxy
# into the shared cache, and Calico's CRDs extracted from the same module zip. Sourced by
# control-plane.sh (uses its log/die/now/fmt_secs and its Go environment):
#
#   control-plane.sh build          everything, Calico last
#   control-plane.sh build calico   only this
#
# Output: $CIG_CACHE_DIR/bin/{calico-felix,calico-apiserver}-<release> (+ stable symlinks
# calico-felix, calico-apiserver), $CIG_CACHE_DIR/calico/<release>/crds/*.yaml. A no-op when
# built. See BUILD-NOTES.md for versions and timings.

# The proxy serves github.com/projectcalico/calico only at exact pseudo-versions (tags are
# refused): this one is the v3.31.0 release commit; the api module is the one it was cut with.
CIG_CALICO_RELEASE="${CIG_CALICO_RELEASE:-v3.31.0}"
CIG_CALICO_VERSION="${CIG_CALICO_VERSION:-v0.0.0-20251021213802-b1f3c43f8437}"
CIG_CALICO_API_VERSION="${CIG_CALICO_API_VERSION:-v0.0.0-20251022175904-f2ab03771208}"

CALICO_MOD=github.com/projectcalico/calico
CALICO_OUT_DIR="$CIG_CACHE_DIR/calico/$CIG_CALICO_RELEASE"
CALICO_WRAP_DIR="$CIG_CACHE_DIR/build/calico-$CIG_CALICO_RELEASE"

# Downloads MODULE@VERSION, prints its module-cache directory; dies with the proxy's words.
calico_download() {
  local mod=$1 ver=$2 json
  if ! json="$(timeout 900 go mod download -json "$mod@$ver" 2>&1)"; then
    printf '%s\n' "$json" >&2
    if printf '%s' "$json" | grep -q -e '403' -e '404' -e 'not available' -e 'unknown revision'; then
      die "the Go module proxy ($(go env GOPROXY)) refuses $mod@$ver (it serves Calico only at exact pseudo-versions; set CIG_CALICO_VERSION / CIG_CALICO_API_VERSION to ones it serves)"
    fi
    die "cannot download $mod@$ver from the Go module proxy ($(go env GOPROXY))"
  fi
  printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# The wrapper module: requires calico at the pinned pseudo-version and repeats the replace
# directives a dependency's go.mod cannot impose (calico's k8s.io/* pins, its api and lib/std
# modules, lumberjack), plus a local empty module for lib/httpmachinery (not on the proxy;
# only whisker-backend imports it, which is not built).
calico_write_wrapper() {
  local src=$1 gover
  gover="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$src/go.mod" | head -n1)"
  rm -rf "$CALICO_WRAP_DIR"
  mkdir -p "$CALICO_WRAP_DIR/httpmachinery"
  printf 'module %s/lib/httpmachinery\n\ngo %s\n' "$CALICO_MOD" "$gover" >"$CALICO_WRAP_DIR/httpmachinery/go.mod"
  {
    printf 'module cig.local/build/calico\n\ngo %s\n\nrequire %s %s\n\nreplace (\n' "$gover" "$CALICO_MOD" "$CIG_CALICO_VERSION"
    printf '\tgithub.com/projectcalico/api => github.com/projectcalico/api %s\n' "$CIG_CALICO_API_VERSION"
    printf '\t%s/lib/std => %s/lib/std %s\n' "$CALICO_MOD" "$CALICO_MOD" "$CIG_CALICO_VERSION"
    printf '\t%s/lib/httpmachinery => ./httpmachinery\n' "$CALICO_MOD"
    printf '\tgopkg.in/natefinch/lumberjack.v2 => gopkg.in/natefinch/lumberjack.v2 v2.0.0\n'
    # calico's own k8s.io replaces (one-line and block forms), module => module version only.
    awk '
      /^replace[[:space:]]*\(/ { inblock = 1; next }
      inblock && /^\)/ { inblock = 0; next }
      { line = $0; sub(/^replace[[:space:]]+/, "", line) }
      (inblock || $0 ~ /^replace[[:space:]]/) && line ~ /^[[:space:]]*k8s\.io\/[^[:space:]]+[[:space:]]+=>[[:space:]]+[^.\/][^[:space:]]*[[:space:]]+v/ {
        gsub(/^[[:space:]]+/, "", line); print "\t" line
      }' "$src/go.mod"
    printf ')\n'
  } >"$CALICO_WRAP_DIR/go.mod"
  : >"$CALICO_WRAP_DIR/go.sum"
}

calico_extract_crds() {
  local src=$1 n
  mkdir -p "$CALICO_OUT_DIR/crds.tmp"
  cp "$src"/libcalico-go/config/crd/*.yaml "$CALICO_OUT_DIR/crds.tmp/"
  chmod -R u+w "$CALICO_OUT_DIR/crds.tmp"
  rm -rf "$CALICO_OUT_DIR/crds"
  mv "$CALICO_OUT_DIR/crds.tmp" "$CALICO_OUT_DIR/crds"
  n=$(find "$CALICO_OUT_DIR/crds" -name '*.yaml' | wc -l)
  [ "$n" -gt 0 ] || die "no CRDs found under libcalico-go/config/crd in $CALICO_MOD@$CIG_CALICO_VERSION"
  log "calico $CIG_CALICO_RELEASE: $n CRDs in $CALICO_OUT_DIR/crds"
}

build_calico_one() { # NAME PACKAGE
  local name=$1 pkg=$2 out="$BIN_DIR/$1-$CIG_CALICO_RELEASE" logf="$LOG_DIR/$1-$CIG_CALICO_RELEASE.log" t0
  if [ -x "$out" ]; then
    log "$name $CIG_CALICO_RELEASE: already built ($out)"
  else
    t0=$(now)
    log "$name $CIG_CALICO_RELEASE: building ($pkg, log $logf)"
    (cd "$CALICO_WRAP_DIR" && go build -ldflags='-s -w' -o "$out.tmp" "$pkg") >"$logf" 2>&1 || {
      tail -n 40 "$logf" >&2
      if grep -q -e '403 Forbidden' -e 'not available' "$logf"; then
        die "the Go module proxy refuses a module $name needs (see above; full log $logf)"
      fi
      die "$name $CIG_CALICO_RELEASE failed to build (full log: $logf)"
    }
    mv -f "$out.tmp" "$out"
    BUILD_TIMES+=("$name $CIG_CALICO_RELEASE: $(fmt_secs $(($(now) - t0)))")
    log "$name $CIG_CALICO_RELEASE: built in $(fmt_secs $(($(now) - t0)))"
  fi
  ln -sfn "$name-$CIG_CALICO_RELEASE" "$BIN_DIR/$name"
}

# build_calico [all|crds]
build_calico() {
  local what=${1:-all} src
  mkdir -p "$BIN_DIR" "$LOG_DIR" "$CALICO_OUT_DIR"
  if [ "$what" = all ] && [ -x "$BIN_DIR/calico-felix-$CIG_CALICO_RELEASE" ] &&
    [ -x "$BIN_DIR/calico-apiserver-$CIG_CALICO_RELEASE" ] && [ -d "$CALICO_OUT_DIR/crds" ]; then
    ln -sfn "calico-felix-$CIG_CALICO_RELEASE" "$BIN_DIR/calico-felix"
    ln -sfn "calico-apiserver-$CIG_CALICO_RELEASE" "$BIN_DIR/calico-apiserver"
    log "calico $CIG_CALICO_RELEASE: already built (felix, apiserver, CRDs)"
    return 0
  fi
  if [ "$what" = crds ] && [ -d "$CALICO_OUT_DIR/crds" ]; then
    log "calico $CIG_CALICO_RELEASE: CRDs already extracted"
    return 0
  fi
  # The checksum database does not know these pseudo-versions.
  export GONOSUMDB="github.com/projectcalico${GONOSUMDB:+,$GONOSUMDB}"
  src="$(calico_download "$CALICO_MOD" "$CIG_CALICO_VERSION")" || exit 1
  [ -n "$src" ] && [ -f "$src/go.mod" ] || die "module download of $CALICO_MOD@$CIG_CALICO_VERSION gave no directory"
  calico_extract_crds "$src"
  [ "$what" = crds ] && return 0
  calico_download github.com/projectcalico/api "$CIG_CALICO_API_VERSION" >/dev/null || exit 1
  calico_write_wrapper "$src"
  build_calico_one calico-felix "$CALICO_MOD/felix/cmd/calico-felix"
  build_calico_one calico-apiserver "$CALICO_MOD/apiserver/cmd/apiserver"
}
