#!/usr/bin/env bash
# Provides etcd and kube-apiserver for the envtest integration tests in a
# git-ignored cache folder, building them from the Go module proxy when they
# are missing. Idempotent: a second run with the binaries present takes
# milliseconds. Prints the folder to use as KUBEBUILDER_ASSETS on stdout
# (everything else goes to stderr), so callers can write
#   export KUBEBUILDER_ASSETS="$(scripts/kube-apiserver.sh)"
#
# Environment:
#   PRESCALE_KUBE_DIR   cache folder (default: <repo>/.cache/kube)
#   KUBE_VERSION        kube-apiserver version (default: v1.37.2)
#   ETCD_VERSION        etcd version built from the proxy when no etcd is
#                       installed (default: v3.6.5)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PRESCALE_KUBE_DIR:-$repo/.cache/kube}"
kube_version="${KUBE_VERSION:-v1.37.2}"
etcd_version="${ETCD_VERSION:-v3.6.5}"
# Staging modules are published as v0.MINOR.PATCH for Kubernetes v1.MINOR.PATCH.
staging_version="v0.${kube_version#v1.}"

log() { echo "kube-apiserver.sh: $*" >&2; }

mkdir -p "$dir"

# Temporary wrapper modules, removed on exit whatever happens.
tmpdirs=()
cleanup() { if ((${#tmpdirs[@]})); then rm -rf "${tmpdirs[@]}"; fi; }
trap cleanup EXIT

# Version stamps make a version change rebuild instead of reusing a stale
# binary with the same name.
have() { [[ -x "$dir/$1" && "$(cat "$dir/$1.version" 2>/dev/null)" == "$2" ]]; }

build_kube_apiserver() {
	local work
	work="$(mktemp -d)"
	tmpdirs+=("$work")
	log "building kube-apiserver $kube_version from the Go module proxy (about 15 minutes on a cold Go cache)"
	local mod
	mod="$(go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
	[[ -f "$mod" ]] || { log "cannot download k8s.io/kubernetes@$kube_version"; return 1; }
	# k8s.io/kubernetes replaces its staging modules with local paths, which a
	# consumer cannot use: the wrapper replaces each with its published version.
	{
		printf 'module kapi\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$kube_version"
		sed -n '/^replace (/,/^)/p' "$mod" | awk -v v="$staging_version" '/=>/ {print "\t" $1 " => " $1 " " v}'
		echo ')'
	} >"$work/go.mod"
	printf '//go:build tools\n\npackage kapi\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >"$work/tools.go"
	local V=k8s.io/component-base/version
	local minor="${kube_version#v1.}"
	minor="${minor%%.*}"
	(
		cd "$work"
		GOFLAGS=-mod=mod go mod tidy >&2
		go build -trimpath \
			-ldflags "-s -w -X $V.gitVersion=$kube_version -X $V.gitMajor=1 -X $V.gitMinor=$minor" \
			-o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
	)
	mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
	echo "$kube_version" >"$dir/kube-apiserver.version"
}

build_etcd() {
	local work
	work="$(mktemp -d)"
	tmpdirs+=("$work")
	log "building etcd $etcd_version from the Go module proxy"
	# go install refuses modules with replace directives; a wrapper module
	# requiring the server module builds its main package instead.
	printf 'module etcdw\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$etcd_version" >"$work/go.mod"
	printf '//go:build tools\n\npackage etcdw\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$work/tools.go"
	(
		cd "$work"
		GOFLAGS=-mod=mod go mod tidy >&2
		go build -trimpath -ldflags "-s -w" -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3 >&2
	)
	mv "$dir/etcd.tmp" "$dir/etcd"
	echo "$etcd_version" >"$dir/etcd.version"
}

provide_etcd() {
	# An etcd already installed on the machine (Debian's etcd-server, 3.4+)
	# works with kube-apiserver 1.37 and saves a build.
	local sys
	sys="$(command -v etcd 2>/dev/null || true)"
	if [[ -z "$sys" && -x /usr/bin/etcd ]]; then sys=/usr/bin/etcd; fi
	if [[ -n "$sys" ]]; then
		if [[ "$(readlink "$dir/etcd" 2>/dev/null)" != "$sys" ]]; then
			rm -f "$dir/etcd" "$dir/etcd.version"
			ln -s "$sys" "$dir/etcd"
			log "using $sys"
		fi
		return
	fi
	if [[ -L "$dir/etcd" ]]; then rm -f "$dir/etcd"; fi # dangling link to a removed system etcd
	have etcd "$etcd_version" || build_etcd
}

provide_etcd
have kube-apiserver "$kube_version" || build_kube_apiserver

for b in etcd kube-apiserver; do
	[[ -x "$dir/$b" ]] || { log "$dir/$b missing after build"; exit 1; }
done
echo "$dir"
