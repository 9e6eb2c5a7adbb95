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
bash scripts/kube-control-plane.sh >/dev/null # kube-controller-manager + kube-scheduler beside kube-apiserver (e2e/); cached in .cache/kube
PRESCALE_KWOK="$(bash scripts/kwok.sh)"; export PRESCALE_KWOK # kwok (pinned): fake nodes for e2e/; cached in .cache/kwok
PRESCALE_METRICS_SERVER="$(bash scripts/metrics-server.sh)"; export PRESCALE_METRICS_SERVER # metrics-server (pinned) for e2e/; cached in .cache/metrics-server
PRESCALE_KEDA_CRDS="$(bash scripts/keda-crds.sh)"; export PRESCALE_KEDA_CRDS # KEDA's ScaledObject CRD from its module (actuator/keda); cached in .cache/keda
PRESCALE_HELM="$(bash scripts/helm.sh)"; export PRESCALE_HELM # Helm v4 (pinned) for the chart tests (charts/); cached in .cache/helm

echo "== go vet"
go vet ./...
echo "== go test"
# 30m per package, not go test's default 10m: deploy's TestDockerfile
# builds the binary as the Dockerfile does (-trimpath, CGO_ENABLED=0), a
# second cold build of ~1,000 packages on a fresh clone, which took longer
# than 10m on a loaded 2-core machine.
go test -count=1 -timeout 30m ./...
echo "== fuzz (briefly; fuzz longer locally: go test -run '^\$' -fuzz FuzzRead -fuzztime 10m ./metrics/trace/)"
# FuzzPrometheusRange (./metrics/) instruments client-go: its first build
# takes about 8 of the 10 minutes it needs on 2 loaded cores, within CI's
# 90; it found a nil dereference on an answer without data.result in its
# first second, which seeds alone never would.
# A count of executions, not a duration: with a duration, Go 1.26's fuzz
# coordinator can fail a target with a bare "context deadline exceeded"
# and no failing input when the deadline falls while a worker is busy
# (go.dev/issue/75804, fixed in Go 1.27), which it did on CI's loaded 2
# cores while a worker minimised a large new input; minimisation is
# bounded by count too. 50000 runs take 2-10 s a target here.
# A failure prints the failing input itself: the file go test writes under
# testdata/fuzz stays in CI's clone, and without its bytes the log alone
# cannot reproduce what was found.
stamp="$(mktemp)"
trap 'rm -f "$stamp"' EXIT
for target in ./config/:FuzzParse ./metrics/trace/:FuzzRead ./policy/:FuzzPlanJSON ./metrics/:FuzzPrometheusRange; do
	dir="${target%%:*}" name="${target#*:}"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "${PRESCALE_FUZZTIME:-50000x}" -fuzzminimizetime 100x "$dir"; then
		echo "== ${name} failed; its failing input (save it under ${dir}testdata/fuzz/${name}/ to reproduce):"
		find "${dir}testdata/fuzz/${name}" -type f -newer "$stamp" 2>/dev/null | while read -r f; do
			echo "--- $f"
			cat "$f"
			echo
		done
		exit 1
	fi
done
