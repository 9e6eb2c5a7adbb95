#!/usr/bin/env bash
# Provides kube-controller-manager and kube-scheduler, of the same Kubernetes
# version as scripts/kube-apiserver.sh, in the same git-ignored cache folder,
# building both with one `go build` from the Go module proxy when they are
# missing. Idempotent: a second run with the binaries present takes
# milliseconds. Prints the folder on stdout (everything else goes to stderr):
#   export PRESCALE_KUBE_DIR="$(scripts/kube-control-plane.sh)"
#
# Environment:
#   PRESCALE_KUBE_DIR   cache folder (default: <repo>/.cache/kube)
#   KUBE_VERSION        Kubernetes version (default: v1.37.2)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PRESCALE_KUBE_DIR:-$repo/.cache/kube}"
kube_version="${KUBE_VERSION:-v1.37.2}"
# Staging modules are published as v0.MINOR.PATCH for Kubernetes v1.MINOR.PATCH.
staging_version="v0.${kube_version#v1.}"
bins=(kube-controller-manager kube-scheduler)

log() { echo "kube-control-plane.sh: $*" >&2; }

mkdir -p "$dir"

# Version stamps make a version change rebuild instead of reusing a stale
# binary with the same name.
have() { [[ -x "$dir/$1" && "$(cat "$dir/$1.version" 2>/dev/null)" == "$kube_version" ]]; }

missing=0
for b in "${bins[@]}"; do have "$b" || missing=1; done

if ((missing)); then
	work="$(mktemp -d)"
	out="$(mktemp -d "$dir/.build.XXXXXX")"
	trap 'rm -rf "$work" "$out"' EXIT
	log "building ${bins[*]} $kube_version from the Go module proxy (measured: 93 s after kube-apiserver.sh on the same Go cache; 25 minutes on an empty one)"
	mod="$(go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
	[[ -f "$mod" ]] || { log "cannot download k8s.io/kubernetes@$kube_version"; exit 1; }
	# k8s.io/kubernetes replaces its staging modules with local paths, which a
	# consumer cannot use: the wrapper replaces each with its published version.
	{
		printf 'module kcp\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$kube_version"
		sed -n '/^replace (/,/^)/p' "$mod" | awk -v v="$staging_version" '/=>/ {print "\t" $1 " => " $1 " " v}'
		echo ')'
	} >"$work/go.mod"
	{
		printf '//go:build tools\n\npackage kcp\n\nimport (\n'
		for b in "${bins[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
		printf ')\n'
	} >"$work/tools.go"
	V=k8s.io/component-base/version
	minor="${kube_version#v1.}"
	minor="${minor%%.*}"
	pkgs=()
	for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
	(
		cd "$work"
		GOFLAGS=-mod=mod go mod tidy >&2
		# One build for both: they share most packages, and -o into a folder
		# writes each main package under its own name.
		go build -trimpath \
			-ldflags "-s -w -X $V.gitVersion=$kube_version -X $V.gitMajor=1 -X $V.gitMinor=$minor" \
			-o "$out/" "${pkgs[@]}" >&2
	)
	for b in "${bins[@]}"; do
		mv "$out/$b" "$dir/$b"
		echo "$kube_version" >"$dir/$b.version"
	done
fi

for b in "${bins[@]}"; do
	[[ -x "$dir/$b" ]] || { log "$dir/$b missing after build"; exit 1; }
done
echo "$dir"
