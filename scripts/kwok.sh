#!/usr/bin/env bash
# Provides kwok (pinned), fake nodes for the control-plane tests (kwok plays the kubelet:
# pods bound to its nodes go Running and Ready),
# in a git-ignored cache folder, building it from the Go module proxy
# (sigs.k8s.io/kwok/cmd/kwok) when it is missing or another version. Idempotent:
# with the binary present it takes milliseconds. Prints the binary's path on
# stdout (everything else goes to stderr), so callers can write
#   export PRESCALE_KWOK="$(scripts/kwok.sh)"
#
# Environment:
#   PRESCALE_KWOK_DIR   cache folder (default: <repo>/.cache/kwok)
#   KWOK_VERSION        kwok version (default: v0.8.0)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PRESCALE_KWOK_DIR:-$repo/.cache/kwok}"
version="${KWOK_VERSION:-v0.8.0}"

log() { echo "kwok.sh: $*" >&2; }

mkdir -p "$dir"
if [[ ! -x "$dir/kwok" || "$(cat "$dir/kwok.version" 2>/dev/null)" != "$version" ]]; then
	log "building kwok $version from the Go module proxy (about 6 minutes on a cold Go cache)"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	GOBIN="$tmp" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$version" >&2
	mv "$tmp/kwok" "$dir/kwok"
	echo "$version" >"$dir/kwok.version"
fi
echo "$dir/kwok"
