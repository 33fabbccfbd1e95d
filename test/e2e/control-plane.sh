#!/usr/bin/env bash
# Local Kubernetes control plane for end-to-end tests: etcd + kube-apiserver
# (plus kubectl and helm), built from source through the Go module proxy.
#
#   control-plane.sh build [helm]      (helm only: what the chart tests need)
#   control-plane.sh build calico      (only calico-felix, calico-apiserver and Calico's CRDs)
#   control-plane.sh up   [STATE_DIR]
#   control-plane.sh down [STATE_DIR]
#   control-plane.sh status [STATE_DIR]
#   control-plane.sh webhook-register   [STATE_DIR] URL_BASE CA_FILE [failurePolicy]
#   control-plane.sh webhook-unregister [STATE_DIR]
#
# build: helm, etcd, kube-apiserver, kubectl into $CIG_CACHE_DIR/bin (no-op when built).
# build (all) also builds calico-felix, calico-apiserver and extracts Calico's CRDs
# (calico-build.sh).
# up: starts etcd + kube-apiserver on loopback, applies test/e2e/crds/, writes
#   STATE_DIR/kubeconfig and STATE_DIR/env (KUBECONFIG, CIG_E2E_API_SERVER,
#   CIG_E2E_AUDIT_LOG, ...), prints `export KUBECONFIG=...` as its last line.
#   Default STATE_DIR: $CIG_CACHE_DIR/e2e-state.
# down: stops the processes whose PIDs are in STATE_DIR/*.pid (a test that
#   starts the webhook writes its PID to STATE_DIR/webhook.pid) and removes
#   STATE_DIR. Safe to run twice.
#
# CIG_E2E_CALICO selects how Calico's API is served by `up`:
#   stand-in (default)  test/e2e/crds/: four crd.projectcalico.org CRDs and a
#                       projectcalico.org/v3 GlobalNetworkPolicy CRD standing in for calico-apiserver
#   crds                Calico's own CRDs (from the module zip, see calico-build.sh), no v3
#                       (what Felix needs: the dataplane rig uses it)
#   apiserver           Calico's own CRDs + the aggregation flags + the real calico-apiserver
#                       serving projectcalico.org/v3 (APIService v3.projectcalico.org); the
#                       stand-in v3 CRD is not installed (it would hide the aggregated API)
#
# No kubelet, no controller-manager, no scheduler: Services get cluster IPs
# (allocation happens inside kube-apiserver), CRDs work, admission webhooks are
# called. See BUILD-NOTES.md next to this script for versions and timings.
set -euo pipefail

# ---------------------------------------------------------------- settings
CIG_CACHE_DIR="${CIG_CACHE_DIR:-$HOME/.cache/clusterip-guard}"
# helm: module path selects the major version (helm.sh/helm/v3 or helm.sh/helm/v4).
CIG_HELM_MODULE="${CIG_HELM_MODULE:-helm.sh/helm/v3}"
CIG_HELM_VERSION="${CIG_HELM_VERSION:-v3.22.0}"
# etcd 3.6.x is what Kubernetes 1.34-1.37 are tested against; do not use 3.4 or 3.7.
CIG_ETCD_VERSION="${CIG_ETCD_VERSION:-v3.6.16}"
# Kubernetes releases tried in order; the first one that builds is used.
CIG_K8S_VERSIONS="${CIG_K8S_VERSIONS:-v1.37.2 v1.36.3 v1.35.4 v1.34.4}"
# Go toolchain: the local one unless a module truly needs a newer one.
CIG_GOTOOLCHAIN="${CIG_GOTOOLCHAIN:-local}"
# Set to 1 to retry Kubernetes versions that failed to build before.
CIG_RETRY_FAILED="${CIG_RETRY_FAILED:-0}"
# How long `up` waits for etcd / kube-apiserver / CRDs (seconds).
CIG_START_TIMEOUT="${CIG_START_TIMEOUT:-120}"
CIG_E2E_CALICO="${CIG_E2E_CALICO:-stand-in}"
# calico-apiserver's identity in the apiserver mode: its service account, as the chart assumes.
CALICO_APISERVER_USER="system:serviceaccount:calico-apiserver:calico-apiserver"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN_DIR="$CIG_CACHE_DIR/bin"
BUILD_DIR="$CIG_CACHE_DIR/build"
LOG_DIR="$CIG_CACHE_DIR/logs"
DEFAULT_STATE_DIR="$CIG_CACHE_DIR/e2e-state"
STATE_MARKER=".clusterip-guard-e2e-state"

ADMIN_TOKEN_USER="cig-admin"
MUTATING_NAME="clusterip-guard-mutate"
VALIDATING_NAME="clusterip-guard-validate"

log() { printf '[control-plane] %s\n' "$*" >&2; }
die() {
  printf '\n[control-plane] ERROR: %s\n\n' "$*" >&2
  exit 1
}
now() { date +%s; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# ---------------------------------------------------------------- build
go_env() {
  export GOPATH="$CIG_CACHE_DIR/go"
  export GOMODCACHE="$CIG_CACHE_DIR/go/pkg/mod"
  export GOCACHE="$CIG_CACHE_DIR/go-build"
  export GOTOOLCHAIN="$CIG_GOTOOLCHAIN"
  export GOFLAGS="-trimpath -buildvcs=false -mod=mod"
  export CGO_ENABLED=0
  export GOWORK=off
}

check_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed (need go >= 1.26 on PATH to build the control plane)"
  local v
  v="$(go env GOVERSION 2>/dev/null)" || die "'go env' failed"
  log "using $v ($(command -v go)), GOPROXY=$(go env GOPROXY)"
}

# Fails loudly when the module proxy does not answer.
check_proxy() {
  local out
  if ! out="$(timeout 120 go list -m -json "$CIG_HELM_MODULE@$CIG_HELM_VERSION" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "cannot reach the Go module proxy ($(go env GOPROXY)) to resolve $CIG_HELM_MODULE@$CIG_HELM_VERSION"
  fi
}

# go_build NAME LOGFILE WRAPPER_DIR OUT PKG LDFLAGS
go_build() {
  local name=$1 logf=$2 dir=$3 out=$4 pkg=$5 ldflags=$6
  (cd "$dir" && go build -ldflags="-s -w $ldflags" -o "$out.tmp" "$pkg") >>"$logf" 2>&1 || {
    if grep -q 'requires go >=' "$logf" && [ "$GOTOOLCHAIN" = local ]; then
      log "$name needs a newer Go than the local one; retrying with GOTOOLCHAIN=auto"
      (cd "$dir" && GOTOOLCHAIN=auto go build -ldflags="-s -w $ldflags" -o "$out.tmp" "$pkg") >>"$logf" 2>&1 || return 1
    else
      return 1
    fi
  }
  mv -f "$out.tmp" "$out"
}

# new_wrapper DIR MODULE VERSION GOVERSION [EXTRA_GO_MOD_TEXT]
new_wrapper() {
  local dir=$1 mod=$2 ver=$3 gover=$4 extra=${5:-}
  rm -rf "$dir"
  mkdir -p "$dir"
  {
    printf 'module cig.local/build/%s\n\ngo %s\n\nrequire %s %s\n' "$(basename "$dir")" "$gover" "$mod" "$ver"
    [ -n "$extra" ] && printf '\n%s\n' "$extra"
  } >"$dir/go.mod"
  : >"$dir/go.sum"
}

# Path of the go.mod of MODULE@VERSION in the module cache (downloads it).
module_gomod() {
  local mod=$1 ver=$2 json
  json="$(timeout 600 go mod download -json "$mod@$ver")" || {
    printf '%s\n' "$json" >&2
    return 1
  }
  printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

gomod_go_version() { sed -n 's/^go \([0-9.]*\).*/\1/p' "$1" | head -n1; }

link_bin() { ln -sfn "$2" "$BIN_DIR/$1"; }

# shellcheck source=calico-build.sh
. "$SCRIPT_DIR/calico-build.sh"

# Helm's Makefile stamps the Kubernetes version it assumes for `helm template`
# and `helm lint` (Capabilities.KubeVersion, default v1.20 otherwise) from the
# client-go version it builds with; do the same, reading the -X targets from
# that Makefile rather than hard-coding them.
helm_k8s_ldflags() {
  local gomod=$1 src cgo major minor sym
  src="$GOMODCACHE/$CIG_HELM_MODULE@$CIG_HELM_VERSION"
  cgo="$(sed -n 's/^[[:space:]]*k8s\.io\/client-go[[:space:]]\{1,\}v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p' "$gomod" | head -n1)"
  [ -n "$cgo" ] && [ -f "$src/Makefile" ] || return 0
  major=$((${cgo%% *} + 1))
  minor=${cgo##* }
  grep -o -- '-X [^ ]*\.k8sVersionM[a-z]*=' "$src/Makefile" | sed 's/^-X //; s/=$//' | sort -u | while read -r sym; do
    case "$sym" in
      *Major) printf ' -X %s=%s' "$sym" "$major" ;;
      *Minor) printf ' -X %s=%s' "$sym" "$minor" ;;
    esac
  done
}

build_helm() {
  local ver=$CIG_HELM_VERSION out="$BIN_DIR/helm-$CIG_HELM_VERSION" logf="$LOG_DIR/helm-$CIG_HELM_VERSION.log"
  if [ -x "$out" ]; then
    log "helm $ver: already built ($out)"
    link_bin helm "helm-$ver"
    return 0
  fi
  local t0 gomod dir="$BUILD_DIR/helm-$ver"
  t0=$(now)
  : >"$logf"
  log "helm $ver: building ($CIG_HELM_MODULE/cmd/helm, log $logf)"
  gomod="$(module_gomod "$CIG_HELM_MODULE" "$ver")" || die "helm: cannot download $CIG_HELM_MODULE@$ver"
  new_wrapper "$dir" "$CIG_HELM_MODULE" "$ver" "$(gomod_go_version "$gomod")"
  local ld
  ld="-X $CIG_HELM_MODULE/internal/version.version=$ver -X $CIG_HELM_MODULE/internal/version.gitTreeState=clean"
  ld+="$(helm_k8s_ldflags "$gomod")"
  go_build helm "$logf" "$dir" "$out" "$CIG_HELM_MODULE/cmd/helm" "$ld" || {
    tail -n 40 "$logf" >&2
    die "helm $ver failed to build (full log: $logf)"
  }
  link_bin helm "helm-$ver"
  BUILD_TIMES+=("helm $ver: $(fmt_secs $(($(now) - t0)))")
  log "helm $ver: built in $(fmt_secs $(($(now) - t0)))"
}

build_etcd() {
  local ver=$CIG_ETCD_VERSION out="$BIN_DIR/etcd-$CIG_ETCD_VERSION" logf="$LOG_DIR/etcd-$CIG_ETCD_VERSION.log"
  case "$ver" in v3.6.*) ;; *) log "WARNING: etcd $ver is not a 3.6.x release; Kubernetes 1.34-1.37 pair with etcd 3.6" ;; esac
  if [ -x "$out" ]; then
    log "etcd $ver: already built ($out)"
    link_bin etcd "etcd-$ver"
    return 0
  fi
  local t0 gomod dir="$BUILD_DIR/etcd-$ver"
  t0=$(now)
  : >"$logf"
  log "etcd $ver: building (go.etcd.io/etcd/server/v3, log $logf)"
  gomod="$(module_gomod go.etcd.io/etcd/server/v3 "$ver")" || die "etcd: cannot download go.etcd.io/etcd/server/v3@$ver"
  new_wrapper "$dir" go.etcd.io/etcd/server/v3 "$ver" "$(gomod_go_version "$gomod")"
  go_build etcd "$logf" "$dir" "$out" go.etcd.io/etcd/server/v3 "" || {
    tail -n 40 "$logf" >&2
    die "etcd $ver failed to build (full log: $logf)"
  }
  link_bin etcd "etcd-$ver"
  BUILD_TIMES+=("etcd $ver: $(fmt_secs $(($(now) - t0)))")
  log "etcd $ver: built in $(fmt_secs $(($(now) - t0)))"
}

# Replace directives for the staging modules that k8s.io/kubernetes requires at
# v0.0.0 (the proxy does not serve v0.0.0); v1.M.P maps to v0.M.P.
k8s_replaces() {
  local gomod=$1 ver=$2 stagingver
  stagingver="v0.${ver#v1.}"
  printf 'replace (\n'
  sed -n 's/^[[:space:]]*\(k8s\.io\/[^[:space:]]*\)[[:space:]]\{1,\}v0\.0\.0\([[:space:]].*\)\{0,1\}$/\1/p' "$gomod" |
    sort -u | while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$stagingver"; done
  printf ')\n'
  # godebug settings apply only from the main module: carry them over.
  sed -n 's/^godebug[[:space:]].*/&/p' "$gomod"
}

k8s_ldflags() {
  local ver=$1 minor ld="" p
  minor="${ver#v1.}"
  minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$ver -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld+=" -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  printf '%s' "$ld"
}

build_k8s_version() {
  local ver=$1 logf="$LOG_DIR/kubernetes-$1.log" dir="$BUILD_DIR/kubernetes-$1" gomod t0 t1 ld
  t0=$(now)
  : >"$logf"
  log "kubernetes $ver: building kube-apiserver and kubectl (log $logf)"
  gomod="$(module_gomod k8s.io/kubernetes "$ver" 2>>"$logf")" || {
    echo "cannot download k8s.io/kubernetes@$ver" >>"$logf"
    return 1
  }
  new_wrapper "$dir" k8s.io/kubernetes "$ver" "$(gomod_go_version "$gomod")" "$(k8s_replaces "$gomod" "$ver")"
  log "kubernetes $ver: wrapper module $dir/go.mod ($(grep -c '=>' "$dir/go.mod") staging replaces)"
  ld="$(k8s_ldflags "$ver")"
  go_build kube-apiserver "$logf" "$dir" "$BIN_DIR/kube-apiserver-$ver" k8s.io/kubernetes/cmd/kube-apiserver "$ld" || return 1
  t1=$(now)
  BUILD_TIMES+=("kube-apiserver $ver: $(fmt_secs $((t1 - t0)))")
  log "kubernetes $ver: kube-apiserver built in $(fmt_secs $((t1 - t0)))"
  go_build kubectl "$logf" "$dir" "$BIN_DIR/kubectl-$ver" k8s.io/kubernetes/cmd/kubectl "$ld" || return 1
  BUILD_TIMES+=("kubectl $ver: $(fmt_secs $(($(now) - t1)))")
  log "kubernetes $ver: kubectl built in $(fmt_secs $(($(now) - t1)))"
}

build_k8s() {
  local ver
  for ver in $CIG_K8S_VERSIONS; do
    if [ -x "$BIN_DIR/kube-apiserver-$ver" ] && [ -x "$BIN_DIR/kubectl-$ver" ]; then
      log "kubernetes $ver: already built"
      link_bin kube-apiserver "kube-apiserver-$ver"
      link_bin kubectl "kubectl-$ver"
      return 0
    fi
    if [ -f "$BUILD_DIR/kubernetes-$ver.failed" ] && [ "$CIG_RETRY_FAILED" != 1 ]; then
      log "kubernetes $ver: failed before (see $LOG_DIR/kubernetes-$ver.log; CIG_RETRY_FAILED=1 retries), skipping"
      continue
    fi
    if build_k8s_version "$ver"; then
      rm -f "$BUILD_DIR/kubernetes-$ver.failed"
      link_bin kube-apiserver "kube-apiserver-$ver"
      link_bin kubectl "kubectl-$ver"
      return 0
    fi
    cp "$LOG_DIR/kubernetes-$ver.log" "$BUILD_DIR/kubernetes-$ver.failed"
    log "kubernetes $ver: FAILED to build; last lines of $LOG_DIR/kubernetes-$ver.log:"
    tail -n 30 "$LOG_DIR/kubernetes-$ver.log" >&2
  done
  die "no Kubernetes version out of [$CIG_K8S_VERSIONS] could be built"
}

cmd_build() {
  BUILD_TIMES=()
  local t0
  t0=$(now)
  mkdir -p "$BIN_DIR" "$BUILD_DIR" "$LOG_DIR"
  go_env
  check_go
  if [ -x "$BIN_DIR/helm-$CIG_HELM_VERSION" ] && [ -x "$BIN_DIR/etcd-$CIG_ETCD_VERSION" ] &&
    ls "$BIN_DIR"/kube-apiserver-v* >/dev/null 2>&1; then
    : # probably all built: no need to ask the proxy anything
  else
    check_proxy
  fi
  if [ "${1:-all}" = calico ]; then
    build_calico
    return 0
  fi
  # helm first: chart tests only need helm (`build helm` stops there).
  build_helm
  if [ "${1:-all}" != helm ]; then
    build_etcd
    build_k8s
    build_calico
  fi
  local total=$(($(now) - t0)) line
  for line in "${BUILD_TIMES[@]}"; do log "build time  $line"; done
  log "build time  total: $(fmt_secs "$total")"
  log "binaries in $BIN_DIR:"
  ls -l "$BIN_DIR" >&2
}

# ---------------------------------------------------------------- up / down
need_bins() {
  local b
  for b in etcd kube-apiserver kubectl; do
    [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing: run '$0 build' first"
  done
  command -v openssl >/dev/null || die "openssl is required"
  command -v curl >/dev/null || die "curl is required"
}

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    ss -Htan 2>/dev/null | awk '{print $4}' | grep -Eq "[:.]$1\$"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# Picks a free port below the kernel's ephemeral range (so that outgoing
# connections made meanwhile by this or other processes cannot take it) and
# stores it in FREE_PORT. Not run in a subshell, so USED_PORTS remembers picks.
USED_PORTS=" "
FREE_PORT=
free_port() {
  local p lo=32768 span
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range || lo=32768
  fi
  [ "$lo" -gt 12000 ] || lo=32768
  span=$((lo - 10000))
  for _ in $(seq 1 500); do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    if ! port_in_use "$p"; then
      USED_PORTS+="$p "
      FREE_PORT=$p
      return 0
    fi
  done
  die "could not find a free TCP port"
}

resolve_state() { # STATE_DIR argument or default -> absolute path
  local s=${1:-$DEFAULT_STATE_DIR}
  mkdir -p "$s"
  (cd "$s" && pwd)
}

kill_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ($(basename "$f" .pid)) did not stop, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

stop_state() {
  local s=$1 f
  # webhook(s) first, then calico-apiserver, the API server, then etcd.
  for f in "$s"/webhook*.pid; do [ -e "$f" ] && kill_pidfile "$f"; done
  kill_pidfile "$s/calico-apiserver.pid"
  kill_pidfile "$s/kube-apiserver.pid"
  kill_pidfile "$s/etcd.pid"
}

write_audit_policy() {
  cat >"$1" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  # Full request/response for the objects the webhook handles.
  - level: RequestResponse
    resources:
      - group: ""
        resources: ["services"]
      - group: "projectcalico.org"
      - group: "crd.projectcalico.org"
  - level: Metadata
EOF
}

# wait_until TIMEOUT PID CMD...: 0 when CMD succeeds, 1 when PID exited, 2 on timeout.
wait_until() {
  local timeout=$1 pid=$2
  shift 2
  for _ in $(seq 1 $((timeout * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.25
  done
  return 2
}

# start_checked NAME LOGFILE CHECK-FUNCTION COMMAND...: starts COMMAND in the
# background (PID in $STATE/NAME.pid), waits for CHECK-FUNCTION. Returns 3 when
# the process died because its port was taken meanwhile (caller retries).
start_checked() {
  local name=$1 logf=$2 check=$3 pid rc=0
  shift 3
  "$@" >"$logf" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$UP_STATE_DIR/$name.pid"
  wait_until "$CIG_START_TIMEOUT" "$pid" "$check" || rc=$?
  case $rc in
    0) return 0 ;;
    1)
      if grep -q 'address already in use' "$logf"; then
        log "$name: port taken meanwhile, retrying on other ports"
        rm -f "$UP_STATE_DIR/$name.pid"
        return 3
      fi
      tail -n 40 "$logf" >&2
      die "$name exited during startup (log: $logf)"
      ;;
    *)
      tail -n 40 "$logf" >&2
      die "$name not ready after ${CIG_START_TIMEOUT}s (log: $logf)"
      ;;
  esac
}

cmd_up() {
  need_bins
  local calico_crds="$CIG_CACHE_DIR/calico/$CIG_CALICO_RELEASE/crds"
  case "$CIG_E2E_CALICO" in
    stand-in) ;;
    crds | apiserver)
      [ -d "$calico_crds" ] || die "$calico_crds missing: run '$0 build calico' first"
      if [ "$CIG_E2E_CALICO" = apiserver ]; then
        [ -x "$BIN_DIR/calico-apiserver" ] || die "$BIN_DIR/calico-apiserver missing: run '$0 build calico' first"
      fi
      ;;
    *) die "CIG_E2E_CALICO must be stand-in, crds or apiserver, got '$CIG_E2E_CALICO'" ;;
  esac
  local s
  s="$(resolve_state "${1:-}")"
  if [ -f "$s/kube-apiserver.pid" ] && kill -0 "$(cat "$s/kube-apiserver.pid")" 2>/dev/null; then
    die "a control plane is already running from $s (run '$0 down $s' first)"
  fi
  if [ -n "$(ls -A "$s")" ] && [ ! -f "$s/$STATE_MARKER" ]; then
    die "$s is not empty and was not made by this script; refusing to use it as a state dir"
  fi
  stop_state "$s"
  find "$s" -mindepth 1 -delete
  mkdir -p "$s/etcd" "$s/pki"
  : >"$s/$STATE_MARKER"
  # Clean up whatever got started if any later step fails.
  UP_STATE_DIR=$s
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "up failed (exit $rc): stopping processes in $UP_STATE_DIR"; stop_state "$UP_STATE_DIR"; fi' EXIT
  trap 'exit 130' INT TERM

  # --- PKI: our own CA, apiserver serving cert with 127.0.0.1/localhost SANs,
  #     service-account signing key.
  (
    cd "$s/pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=clusterip-guard-e2e-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1" >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    if [ "$CIG_E2E_CALICO" = apiserver ]; then
      # Aggregation: kube-apiserver proxies to calico-apiserver with a front-proxy client
      # certificate; calico-apiserver serves for its Service name (what the aggregator checks).
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout front-proxy-ca.key -out front-proxy-ca.crt \
        -subj "/CN=clusterip-guard-e2e-front-proxy-ca" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -keyout front-proxy-client.key -out front-proxy-client.csr \
        -subj "/CN=front-proxy-client" 2>/dev/null
      printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=clientAuth" >front-proxy-client.ext
      openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key -CAcreateserial \
        -days 3650 -extfile front-proxy-client.ext -out front-proxy-client.crt 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -keyout calico-apiserver.key -out calico-apiserver.csr \
        -subj "/CN=calico-api.calico-apiserver.svc" 2>/dev/null
      printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:calico-api.calico-apiserver.svc,DNS:calico-api.calico-apiserver.svc.cluster.local,DNS:localhost,IP:127.0.0.1" >calico-apiserver.ext
      openssl x509 -req -in calico-apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile calico-apiserver.ext -out calico-apiserver.crt 2>/dev/null
    fi
  ) || die "openssl failed to create the certificates"

  local token
  token="$(openssl rand -hex 24)"
  printf '%s,%s,%s,"%s"\n' "$token" "$ADMIN_TOKEN_USER" "$ADMIN_TOKEN_USER" "system:masters" >"$s/pki/tokens.csv"
  local calico_token=
  local aggregation=()
  if [ "$CIG_E2E_CALICO" = apiserver ]; then
    calico_token="$(openssl rand -hex 24)"
    # calico-apiserver authenticates as its service account would in a cluster (groups as a
    # service account token gives them); RBAC below binds it.
    printf '%s,%s,%s,"%s"\n' "$calico_token" "$CALICO_APISERVER_USER" "calico-apiserver-uid" \
      "system:serviceaccounts,system:serviceaccounts:calico-apiserver,system:authenticated" >>"$s/pki/tokens.csv"
    aggregation=(
      --requestheader-client-ca-file="$s/pki/front-proxy-ca.crt"
      --requestheader-allowed-names=front-proxy-client
      --requestheader-extra-headers-prefix=X-Remote-Extra-
      --requestheader-group-headers=X-Remote-Group
      --requestheader-username-headers=X-Remote-User
      --proxy-client-cert-file="$s/pki/front-proxy-client.crt"
      --proxy-client-key-file="$s/pki/front-proxy-client.key"
    )
  fi
  chmod 600 "$s/pki/tokens.csv" "$s/pki/"*.key

  local audit_policy="$SCRIPT_DIR/audit-policy.yaml"
  [ -f "$audit_policy" ] || {
    audit_policy="$s/audit-policy.yaml"
    write_audit_policy "$audit_policy"
  }

  # --- etcd
  local rc etcd_port etcd_peer
  for _ in 1 2 3 4 5; do
    free_port
    etcd_port=$FREE_PORT
    free_port
    etcd_peer=$FREE_PORT
    ETCD_CHECK_URL="http://127.0.0.1:$etcd_port"
    log "starting etcd on 127.0.0.1:$etcd_port"
    rm -rf "$s/etcd"
    rc=0
    start_checked etcd "$s/etcd.log" etcd_ready \
      "$BIN_DIR/etcd" \
      --name=cig-e2e \
      --data-dir="$s/etcd" \
      --listen-client-urls="http://127.0.0.1:$etcd_port" \
      --advertise-client-urls="http://127.0.0.1:$etcd_port" \
      --listen-peer-urls="http://127.0.0.1:$etcd_peer" \
      --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
      --initial-cluster="cig-e2e=http://127.0.0.1:$etcd_peer" \
      --unsafe-no-fsync \
      --log-level=warn || rc=$?
    [ $rc -eq 3 ] || break
  done
  [ $rc -eq 0 ] || die "etcd could not get a free port"

  # --- kube-apiserver
  # Loopback only. Kubernetes >= 1.37 refuses a loopback advertise address with
  # the default endpoint reconciler ("may not be in the loopback range"), and
  # without --advertise-address it would pick (and need) a host interface:
  # with no kubelets or pods, nothing needs endpoints for the `kubernetes`
  # Service, so the reconciler is turned off.
  local api_port server
  for _ in 1 2 3 4 5; do
    free_port
    api_port=$FREE_PORT
    server="https://127.0.0.1:$api_port"
    API_CHECK_ARGS=("$server" "$s/pki/ca.crt" "$token")
    log "starting kube-apiserver on $server"
    rc=0
    start_checked kube-apiserver "$s/kube-apiserver.log" api_ready_check \
      "$BIN_DIR/kube-apiserver" \
      --etcd-servers="http://127.0.0.1:$etcd_port" \
      --bind-address=127.0.0.1 \
      --advertise-address=127.0.0.1 \
      --endpoint-reconciler-type=none \
      --secure-port="$api_port" \
      --tls-cert-file="$s/pki/apiserver.crt" \
      --tls-private-key-file="$s/pki/apiserver.key" \
      --token-auth-file="$s/pki/tokens.csv" \
      --authorization-mode=RBAC \
      --service-cluster-ip-range=10.96.0.0/12 \
      --service-account-issuer=https://kubernetes.default.svc.cluster.local \
      --service-account-key-file="$s/pki/sa.pub" \
      --service-account-signing-key-file="$s/pki/sa.key" \
      --disable-admission-plugins=ServiceAccount \
      --enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
      --audit-policy-file="$audit_policy" \
      --audit-log-path="$s/audit.log" \
      --audit-log-format=json \
      --audit-log-mode=blocking \
      "${aggregation[@]}" \
      --v=1 || rc=$?
    [ $rc -eq 3 ] || break
  done
  [ $rc -eq 0 ] || die "kube-apiserver could not get a free port"
  ETCD_URL="http://127.0.0.1:$etcd_port"
  log "kube-apiserver is ready"

  # --- kubeconfig (token auth; verifies the serving cert against our CA)
  local kc="$s/kubeconfig"
  cat >"$kc" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: cig-e2e
    cluster:
      server: $server
      certificate-authority: $s/pki/ca.crt
users:
  - name: $ADMIN_TOKEN_USER
    user:
      token: $token
contexts:
  - name: cig-e2e
    context:
      cluster: cig-e2e
      user: $ADMIN_TOKEN_USER
current-context: cig-e2e
EOF
  chmod 600 "$kc"

  # --- Calico CRDs
  local k=("$BIN_DIR/kubectl" --kubeconfig "$kc") crd_dir="$SCRIPT_DIR/crds/"
  [ "$CIG_E2E_CALICO" = stand-in ] || crd_dir="$calico_crds/"
  local apply=(apply)
  # Calico's own CRDs are too large for client-side apply's last-applied annotation.
  [ "$CIG_E2E_CALICO" = stand-in ] || apply=(apply --server-side)
  "${k[@]}" "${apply[@]}" -f "$crd_dir" >&2
  "${k[@]}" wait --for=condition=Established --timeout="${CIG_START_TIMEOUT}s" -f "$crd_dir" >&2
  # Discovery of the new groups can lag behind Established by a moment.
  for _ in $(seq 1 60); do
    if "${k[@]}" get globalnetworkpolicies.crd.projectcalico.org >/dev/null 2>&1 &&
      { [ "$CIG_E2E_CALICO" != stand-in ] || "${k[@]}" get globalnetworkpolicies.projectcalico.org >/dev/null 2>&1; }; then break; fi
    sleep 0.5
  done
  [ "$CIG_E2E_CALICO" = apiserver ] && start_calico_apiserver "$s" "$server" "$calico_token"

  cat >"$s/env" <<EOF
# Written by test/e2e/control-plane.sh up; source it.
export KUBECONFIG=$kc
export CIG_E2E_STATE_DIR=$s
export CIG_E2E_API_SERVER=$server
export CIG_E2E_ETCD_URL=$ETCD_URL
export CIG_E2E_API_CA=$s/pki/ca.crt
export CIG_E2E_API_TOKEN=$token
export CIG_E2E_AUDIT_LOG=$s/audit.log
export CIG_E2E_APISERVER_LOG=$s/kube-apiserver.log
export CIG_E2E_BIN_DIR=$BIN_DIR
export CIG_E2E_KUBECTL=$BIN_DIR/kubectl
export CIG_E2E_HELM=$BIN_DIR/helm
export CIG_E2E_CALICO=$CIG_E2E_CALICO
export CIG_E2E_CALICO_CRDS=$crd_dir
export CIG_E2E_CALICO_APISERVER_USER=$([ "$CIG_E2E_CALICO" = apiserver ] && echo "$CALICO_APISERVER_USER")
export CIG_E2E_K8S_VERSION=$("$BIN_DIR/kubectl" --kubeconfig "$kc" version -o json 2>/dev/null | sed -n 's/^ *"gitVersion": "\(.*\)",$/\1/p' | tail -n1)
EOF
  trap - EXIT INT TERM
  log "control plane up: state $s, env file $s/env"
  echo "export KUBECONFIG=$kc"
}

# start_calico_apiserver STATE SERVER TOKEN: runs calico-apiserver on loopback with its own
# kubeconfig, registers it as v3.projectcalico.org (ExternalName Service to localhost, so no
# kube-proxy is needed) and waits until the aggregated API answers.
start_calico_apiserver() {
  local s=$1 server=$2 token=$3 ckc="$s/calico-apiserver.kubeconfig" port rc
  sed -e "s|^      token: .*|      token: $token|" -e "s|name: $ADMIN_TOKEN_USER|name: calico-apiserver|" \
    -e "s|user: $ADMIN_TOKEN_USER|user: calico-apiserver|" "$s/kubeconfig" >"$ckc"
  chmod 600 "$ckc"
  local k=("$BIN_DIR/kubectl" --kubeconfig "$s/kubeconfig")
  "${k[@]}" apply -f - >&2 <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: calico-apiserver
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: calico-apiserver-e2e
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: $CALICO_APISERVER_USER
EOF
  for _ in 1 2 3 4 5; do
    free_port
    port=$FREE_PORT
    CALICO_API_CHECK_URL="https://127.0.0.1:$port/readyz"
    CALICO_API_CHECK_CA="$s/pki/ca.crt"
    log "starting calico-apiserver on 127.0.0.1:$port"
    rc=0
    DATASTORE_TYPE=kubernetes KUBECONFIG="$ckc" start_checked calico-apiserver "$s/calico-apiserver.log" calico_api_ready \
      "$BIN_DIR/calico-apiserver" \
      --secure-port="$port" \
      --bind-address=127.0.0.1 \
      --tls-cert-file="$s/pki/calico-apiserver.crt" \
      --tls-private-key-file="$s/pki/calico-apiserver.key" \
      --kubeconfig="$ckc" \
      --authentication-kubeconfig="$ckc" \
      --authorization-kubeconfig="$ckc" || rc=$?
    [ $rc -eq 3 ] || break
  done
  [ $rc -eq 0 ] || die "calico-apiserver could not get a free port"
  local ca
  ca="$(base64 <"$s/pki/ca.crt" | tr -d '\n')"
  "${k[@]}" apply -f - >&2 <<EOF
apiVersion: v1
kind: Service
metadata:
  name: calico-api
  namespace: calico-apiserver
spec:
  type: ExternalName
  externalName: localhost
  ports:
    - name: apiserver
      port: $port
      protocol: TCP
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v3.projectcalico.org
spec:
  group: projectcalico.org
  version: v3
  groupPriorityMinimum: 1500
  versionPriority: 200
  caBundle: $ca
  service:
    name: calico-api
    namespace: calico-apiserver
    port: $port
EOF
  for _ in $(seq 1 $((CIG_START_TIMEOUT * 2))); do
    if "${k[@]}" get globalnetworkpolicies.projectcalico.org >/dev/null 2>&1; then
      log "calico-apiserver serves projectcalico.org/v3 (APIService v3.projectcalico.org)"
      return 0
    fi
    sleep 0.5
  done
  tail -n 40 "$s/calico-apiserver.log" >&2
  "${k[@]}" get apiservice v3.projectcalico.org -o yaml >&2 || true
  die "projectcalico.org/v3 not served through the aggregator after ${CIG_START_TIMEOUT}s"
}

CALICO_API_CHECK_URL=
CALICO_API_CHECK_CA=
calico_api_ready() { curl -fsS --cacert "$CALICO_API_CHECK_CA" "$CALICO_API_CHECK_URL" >/dev/null 2>&1 || curl -ksS "$CALICO_API_CHECK_URL" 2>/dev/null | grep -q -e ok -e Unauthorized -e Forbidden -e '"kind"'; }

ETCD_CHECK_URL=
etcd_ready() { curl -fsS "$ETCD_CHECK_URL/health" | grep -q '"health":"true"'; }
API_CHECK_ARGS=()
api_ready_check() { # /readyz through the CA and token: proves TLS and auth work too
  [ "$(curl -sS --cacert "${API_CHECK_ARGS[1]}" -H "Authorization: Bearer ${API_CHECK_ARGS[2]}" \
    "${API_CHECK_ARGS[0]}/readyz" 2>/dev/null)" = ok ]
}

cmd_down() {
  local s=${1:-$DEFAULT_STATE_DIR}
  if [ ! -d "$s" ]; then
    log "nothing to stop ($s does not exist)"
    return 0
  fi
  stop_state "$s"
  if [ -f "$s/$STATE_MARKER" ]; then
    rm -rf "$s"
    log "control plane stopped, $s removed"
  else
    log "control plane stopped; $s was not made by this script, left in place"
  fi
}

cmd_status() {
  local s=${1:-$DEFAULT_STATE_DIR} f pid
  [ -d "$s" ] || die "no state dir $s"
  for f in "$s"/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$f" .pid): running (pid $pid)"; else echo "$(basename "$f" .pid): not running (pid $pid)"; fi
  done
  [ -f "$s/env" ] && cat "$s/env"
}

# ---------------------------------------------------------------- webhooks
# Both webhooks get the same rules; DELETE (GlobalNetworkPolicy, HostEndpoint) reaches only the
# rules that judge it, IPPool and BGPConfiguration only /validate rules: /mutate allows them as is.
webhook_rules_yaml() { # indentation-free list, indented by caller via sed
  cat <<'EOF'
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["services"]
  scope: "Namespaced"
- apiGroups: ["crd.projectcalico.org"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE", "DELETE"]
  resources: ["globalnetworkpolicies", "hostendpoints", "ippools", "bgpconfigurations"]
  scope: "*"
- apiGroups: ["projectcalico.org"]
  apiVersions: ["v3"]
  operations: ["CREATE", "UPDATE", "DELETE"]
  resources: ["globalnetworkpolicies", "hostendpoints", "ippools", "bgpconfigurations"]
  scope: "*"
EOF
}

webhook_yaml() { # KIND NAME WEBHOOK_NAME URL CABUNDLE FAILUREPOLICY EXTRA
  local kind=$1 name=$2 whname=$3 url=$4 ca=$5 fp=$6 extra=$7
  cat <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: $kind
metadata:
  name: $name
  labels:
    app.kubernetes.io/name: clusterip-guard
    app.kubernetes.io/managed-by: control-plane.sh
webhooks:
  - name: $whname
    clientConfig:
      url: "$url"
      caBundle: "$ca"
    sideEffects: None
    admissionReviewVersions: ["v1"]
    matchPolicy: Equivalent
    timeoutSeconds: 5
    failurePolicy: $fp
$extra    namespaceSelector:
      matchExpressions:
        - key: kubernetes.io/metadata.name
          operator: NotIn
          values: ["kube-system"]
    rules:
$(webhook_rules_yaml | sed 's/^/      /')
EOF
}

cmd_webhook_register() {
  local s
  # STATE_DIR is optional: if the first argument looks like a URL, it is URL_BASE.
  case "${1:-}" in
    https://* | http://*) s="$DEFAULT_STATE_DIR" ;;
    *)
      s="${1:-}"
      shift || true
      ;;
  esac
  [ $# -ge 2 ] || die "usage: $0 webhook-register [STATE_DIR] URL_BASE CA_FILE [Fail|Ignore]"
  local base=${1%/} cafile=$2 fp=${3:-Fail}
  case "$fp" in Fail | Ignore) ;; *) die "failurePolicy must be Fail or Ignore, got '$fp'" ;; esac
  case "$base" in https://*) ;; *) die "URL_BASE must be https:// (the API server only calls https webhooks): $base" ;; esac
  [ -r "$cafile" ] || die "CA file $cafile not readable"
  [ -f "$s/kubeconfig" ] || die "no kubeconfig in $s: run '$0 up' first"
  local ca
  ca="$(base64 <"$cafile" | tr -d '\n')"
  {
    webhook_yaml MutatingWebhookConfiguration "$MUTATING_NAME" mutate.clusterip-guard.io "$base/mutate" "$ca" "$fp" \
      "    reinvocationPolicy: IfNeeded
"
    echo "---"
    webhook_yaml ValidatingWebhookConfiguration "$VALIDATING_NAME" validate.clusterip-guard.io "$base/validate" "$ca" "$fp" ""
  } >"$s/webhook-configurations.yaml"
  "$BIN_DIR/kubectl" --kubeconfig "$s/kubeconfig" apply -f "$s/webhook-configurations.yaml" >&2
  log "webhooks registered ($base/mutate, $base/validate, failurePolicy $fp); manifest $s/webhook-configurations.yaml"
}

cmd_webhook_unregister() {
  local s=${1:-$DEFAULT_STATE_DIR}
  [ -f "$s/kubeconfig" ] || die "no kubeconfig in $s"
  "$BIN_DIR/kubectl" --kubeconfig "$s/kubeconfig" delete --ignore-not-found \
    "mutatingwebhookconfiguration/$MUTATING_NAME" "validatingwebhookconfiguration/$VALIDATING_NAME" >&2
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    build) cmd_build "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    webhook-register) cmd_webhook_register "$@" ;;
    webhook-unregister) cmd_webhook_unregister "$@" ;;
    *) usage ;;
  esac
}

main "$@"
