#!/usr/bin/env bash
# Provides KEDA's ScaledObject CRD for the integration tests (actuator/keda),
# taken from the KEDA module itself on the Go module proxy (never written by
# hand), into a git-ignored cache folder. Idempotent: with the file present
# at the pinned version it takes milliseconds. Prints the folder to use as
# PRESCALE_KEDA_CRDS on stdout (everything else goes to stderr):
#   export PRESCALE_KEDA_CRDS="$(scripts/keda-crds.sh)"
#
# Environment:
#   PRESCALE_KEDA_DIR   cache folder (default: <repo>/.cache/keda)
#   KEDA_VERSION        module version (default: v2.20.1; v2.21 needs Go 1.27)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PRESCALE_KEDA_DIR:-$repo/.cache/keda}"
version="${KEDA_VERSION:-v2.20.1}"
crd="keda.sh_scaledobjects.yaml"

log() { echo "keda-crds.sh: $*" >&2; }

if [[ -f "$dir/crd/$crd" && "$(cat "$dir/crd.version" 2>/dev/null)" == "$version" ]]; then
	echo "$dir/crd"
	exit 0
fi
log "downloading github.com/kedacore/keda/v2@$version from the Go module proxy"
src="$(cd "$repo" && go mod download -json "github.com/kedacore/keda/v2@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
if [[ -z "$src" || ! -f "$src/config/crd/bases/$crd" ]]; then
	log "no $crd in github.com/kedacore/keda/v2@$version (config/crd/bases)"
	exit 1
fi
mkdir -p "$dir/crd"
cp "$src/config/crd/bases/$crd" "$dir/crd/$crd.tmp"
chmod 644 "$dir/crd/$crd.tmp"
mv "$dir/crd/$crd.tmp" "$dir/crd/$crd"
echo "$version" >"$dir/crd.version"
echo "$dir/crd"
