#!/usr/bin/env bash
# Makes a private CA and a serving certificate for the clusterip-guard webhook, for development,
# tests and clusters without cert-manager. See certs/README.md for rotation.
#
# Output (in --out DIR):
#   ca.crt  ca.key    the CA (keep ca.key private; the API server only needs ca.crt)
#   tls.crt tls.key   the serving certificate and key, signed by the CA
#
# The serving certificate names the webhook Service (<svc>, <svc>.<ns>, <svc>.<ns>.svc,
# <svc>.<ns>.svc.<cluster domain>), localhost, 127.0.0.1 and ::1 (the API server accepts a
# loopback clientConfig.url, so local runs need the IP SANs), plus any --dns / --ip given.
set -euo pipefail

prog=$(basename "$0")

usage() {
  cat <<EOF
Usage: $prog [options]

Options:
  --out DIR             output directory (default: certs/out under the repository)
  --days N              validity of the serving certificate in days (default: 365)
  --ca-days N           validity of the CA in days (default: 3650)
  --service NAME        webhook Service name (default: clusterip-guard)
  --namespace NS        namespace of the Service (default: clusterip-guard)
  --cluster-domain D    cluster DNS domain (default: cluster.local)
  --dns NAME            extra DNS SAN (repeatable, or comma-separated)
  --ip ADDR             extra IP SAN (repeatable, or comma-separated)
  --reuse-ca            keep the existing ca.crt/ca.key in DIR and issue a new serving
                        certificate from it (rotation without a caBundle change)
  --force               overwrite existing files (a new CA too, unless --reuse-ca)
  -h, --help            show this help

Refuses to overwrite existing files unless --force or --reuse-ca is given.
EOF
}

die() {
  echo "$prog: $*" >&2
  exit 1
}

usage_error() {
  echo "$prog: $*" >&2
  usage >&2
  exit 2
}

script_dir=$(cd "$(dirname "$0")" && pwd)
out="$script_dir/out"
days=365
ca_days=3650
service=clusterip-guard
namespace=clusterip-guard
cluster_domain=cluster.local
extra_dns=()
extra_ip=()
force=false
reuse_ca=false

need_value() {
  [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --out) need_value "$@"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --days) need_value "$@"; days=$2; shift 2 ;;
    --days=*) days=${1#*=}; shift ;;
    --ca-days) need_value "$@"; ca_days=$2; shift 2 ;;
    --ca-days=*) ca_days=${1#*=}; shift ;;
    --service) need_value "$@"; service=$2; shift 2 ;;
    --service=*) service=${1#*=}; shift ;;
    --namespace) need_value "$@"; namespace=$2; shift 2 ;;
    --namespace=*) namespace=${1#*=}; shift ;;
    --cluster-domain) need_value "$@"; cluster_domain=$2; shift 2 ;;
    --cluster-domain=*) cluster_domain=${1#*=}; shift ;;
    --dns) need_value "$@"; IFS=, read -r -a more <<<"$2"; extra_dns+=("${more[@]}"); shift 2 ;;
    --dns=*) IFS=, read -r -a more <<<"${1#*=}"; extra_dns+=("${more[@]}"); shift ;;
    --ip) need_value "$@"; IFS=, read -r -a more <<<"$2"; extra_ip+=("${more[@]}"); shift 2 ;;
    --ip=*) IFS=, read -r -a more <<<"${1#*=}"; extra_ip+=("${more[@]}"); shift ;;
    --force) force=true; shift ;;
    --reuse-ca) reuse_ca=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

# --- checks ------------------------------------------------------------------------------------
command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"
[[ $days =~ ^[1-9][0-9]*$ ]] || usage_error "--days must be a positive integer, got '$days'"
[[ $ca_days =~ ^[1-9][0-9]*$ ]] || usage_error "--ca-days must be a positive integer, got '$ca_days'"
dns_label='[a-z0-9]([-a-z0-9]*[a-z0-9])?'
[[ $service =~ ^${dns_label}$ && ${#service} -le 63 ]] || usage_error "--service must be a DNS label, got '$service'"
[[ $namespace =~ ^${dns_label}$ && ${#namespace} -le 63 ]] || usage_error "--namespace must be a DNS label, got '$namespace'"
[[ $cluster_domain =~ ^${dns_label}(\.${dns_label})*$ ]] || usage_error "--cluster-domain must be a DNS name, got '$cluster_domain'"
for name in ${extra_dns[@]+"${extra_dns[@]}"}; do
  [[ $name =~ ^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$ ]] || usage_error "--dns: not a DNS name: '$name'"
done
for ip in ${extra_ip[@]+"${extra_ip[@]}"}; do
  [[ $ip =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ || $ip =~ ^[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*$ ]] || usage_error "--ip: not an IP address: '$ip'"
done

mkdir -p "$out"
out=$(cd "$out" && pwd)

if $reuse_ca; then
  [[ -f $out/ca.crt && -f $out/ca.key ]] || die "--reuse-ca: no ca.crt and ca.key in $out"
  targets=(tls.crt tls.key)
  # Asking to reuse the CA is asking to replace the serving certificate.
  force=true
else
  targets=(ca.crt ca.key tls.crt tls.key)
fi
if ! $force; then
  existing=()
  for f in "${targets[@]}"; do
    [[ -e $out/$f ]] && existing+=("$f")
  done
  if [[ ${#existing[@]} -gt 0 ]]; then
    die "refusing to overwrite ${existing[*]} in $out (use --force to replace everything, or --reuse-ca to issue a new serving certificate from the existing CA)"
  fi
fi

# --- work in a private temporary directory, move into place at the end -------------------------
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/clusterip-guard-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

dns_names=(
  "$service"
  "$service.$namespace"
  "$service.$namespace.svc"
  "$service.$namespace.svc.$cluster_domain"
  localhost
  ${extra_dns[@]+"${extra_dns[@]}"}
)
ip_addrs=(127.0.0.1 ::1 ${extra_ip[@]+"${extra_ip[@]}"})

san=""
for name in "${dns_names[@]}"; do san+="${san:+,}DNS:$name"; done
for ip in "${ip_addrs[@]}"; do san+="${san:+,}IP:$ip"; done

cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no

[dn]
CN = placeholder

[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san
EOF

new_ec_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

serial() {
  # Random positive 128-bit serial; the first nibble is forced below 8 so it is never negative.
  echo "0x$(( RANDOM % 8 ))$(openssl rand -hex 15)"
}

if $reuse_ca; then
  cp "$out/ca.crt" "$out/ca.key" "$work/"
  echo "Reusing the CA in $out"
else
  new_ec_key "$work/ca.key"
  openssl req -x509 -new -key "$work/ca.key" -config "$work/openssl.cnf" \
    -subj "/CN=clusterip-guard CA $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -extensions ca_ext -days "$ca_days" -set_serial "$(serial)" -sha256 -out "$work/ca.crt"
fi

new_ec_key "$work/tls.key"
openssl req -new -key "$work/tls.key" -config "$work/openssl.cnf" \
  -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -set_serial "$(serial)" -days "$days" -sha256 \
  -extfile "$work/openssl.cnf" -extensions server_ext -out "$work/tls.crt" 2>/dev/null

openssl verify -CAfile "$work/ca.crt" "$work/tls.crt" >/dev/null ||
  die "the new serving certificate does not verify against the CA"

chmod 600 "$work/ca.key" "$work/tls.key"
chmod 644 "$work/ca.crt" "$work/tls.crt"
for f in "${targets[@]}"; do
  mv -f "$work/$f" "$out/$f"
done

ca_bundle=$(base64 <"$out/ca.crt" | tr -d '\n')
secret_name="$service-tls"

cat <<EOF
Wrote to $out:
  ca.crt, ca.key    CA ($( $reuse_ca && echo "reused" || echo "valid $ca_days days" ))
  tls.crt, tls.key  serving certificate, valid $days days
  names: ${san//,/, }

Create (or update) the Secret the pods mount:
  kubectl -n $namespace create secret tls $secret_name \\
    --cert="$out/tls.crt" --key="$out/tls.key" --dry-run=client -o yaml | kubectl apply -f -

caBundle (base64 of ca.crt) for the webhook configurations:
  $ca_bundle

Install the chart with them:
  helm upgrade --install $service charts/clusterip-guard -n $namespace --create-namespace \\
    --set fullnameOverride=$service --set tls.mode=secret --set tls.secret.name=$secret_name \\
    --set tls.caBundle="\$(base64 <"$out/ca.crt" | tr -d '\\n')"

Or run the webhook on this machine (chart with tls.mode=url, tls.url.host=127.0.0.1):
  node dist/main.js serve --tls-cert "$out/tls.crt" --tls-key "$out/tls.key" --port 8443
EOF
