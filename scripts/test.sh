#!/usr/bin/env bash
# Runs every test of prescale: the README's test command and what CI runs.
# Needs Go; it installs what the integration tests need (a real Prometheus),
# idempotently, and then requires those tests to run rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== real parts"
bash scripts/prometheus.sh
export PRESCALE_REQUIRE_REAL_PARTS=1
KUBEBUILDER_ASSETS="$(bash scripts/kube-apiserver.sh)"; export KUBEBUILDER_ASSETS # etcd + kube-apiserver for envtest (actuator/hpa); cached in .cache/kube

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 ./...
