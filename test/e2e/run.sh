#!/usr/bin/env bash
# End-to-end suite: builds the control plane if needed (a no-op when cached), then runs the
# tap files in test/e2e one at a time (each starts its own etcd + kube-apiserver).
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash test/e2e/control-plane.sh build
npx tap --jobs=1 --timeout=600 --exclude='__none__' "${@:-test/e2e/*.test.ts}"
echo "e2e suite took $(( $(date +%s) - start ))s"
