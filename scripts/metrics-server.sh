#!/usr/bin/env bash
# Provides metrics-server (pinned), the metrics API (metrics.k8s.io) for the
# control-plane tests, scraping kwok's emulated kubelets,
# in a git-ignored cache folder, building it from the Go module proxy
# (sigs.k8s.io/metrics-server/cmd/metrics-server) when it is missing or another version. Idempotent:
# with the binary present it takes milliseconds. Prints the binary's path on
# stdout (everything else goes to stderr), so callers can write
#   export PRESCALE_METRICS_SERVER="$(scripts/metrics-server.sh)"
#
# Environment:
#   PRESCALE_METRICS_SERVER_DIR   cache folder (default: <repo>/.cache/metrics-server)
#   METRICS_SERVER_VERSION        metrics-server version (default: v0.8.0)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PRESCALE_METRICS_SERVER_DIR:-$repo/.cache/metrics-server}"
version="${METRICS_SERVER_VERSION:-v0.8.0}"

log() { echo "metrics-server.sh: $*" >&2; }

mkdir -p "$dir"
if [[ ! -x "$dir/metrics-server" || "$(cat "$dir/metrics-server.version" 2>/dev/null)" != "$version" ]]; then
	log "building metrics-server $version from the Go module proxy (about 5 minutes on a cold Go cache)"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	GOBIN="$tmp" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" "sigs.k8s.io/metrics-server/cmd/metrics-server@$version" >&2
	mv "$tmp/metrics-server" "$dir/metrics-server"
	echo "$version" >"$dir/metrics-server.version"
fi
echo "$dir/metrics-server"
