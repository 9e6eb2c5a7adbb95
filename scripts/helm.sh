#!/usr/bin/env bash
# Provides Helm (pinned) for the chart tests in a git-ignored cache folder,
# building it from the Go module proxy (helm.sh/helm/v4) when it is missing
# or another version. Idempotent: with the binary present it takes
# milliseconds. Prints the binary's path on stdout (everything else goes to
# stderr), so callers can write
#   export PRESCALE_HELM="$(scripts/helm.sh)"
#
# Environment:
#   PRESCALE_HELM_DIR   cache folder (default: <repo>/.cache/helm)
#   HELM_VERSION        Helm version (default: v4.3.2)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PRESCALE_HELM_DIR:-$repo/.cache/helm}"
version="${HELM_VERSION:-v4.3.2}"

log() { echo "helm.sh: $*" >&2; }

mkdir -p "$dir"
if [[ ! -x "$dir/helm" || "$(cat "$dir/helm.version" 2>/dev/null)" != "$version" ]]; then
	log "building helm $version from the Go module proxy (about 5 minutes on a cold Go cache)"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	GOBIN="$tmp" GOFLAGS=-mod=mod go install \
		-ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
		"helm.sh/helm/v4/cmd/helm@$version" >&2
	mv "$tmp/helm" "$dir/helm"
	echo "$version" >"$dir/helm.version"
fi
"$dir/helm" version --short >&2
echo "$dir/helm"
