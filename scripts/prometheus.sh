#!/usr/bin/env bash
# Installs a Prometheus server and promtool for the integration tests, when
# they are missing: Debian's prometheus package. Idempotent: a second run
# only checks. Prints the versions found.
set -euo pipefail
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    echo "prometheus.sh: prometheus/promtool missing and no apt-get to install them" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "prometheus.sh: installing Debian's prometheus package" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package may start a system service on :9090; the tests run their
  # own servers on free ports and do not need it.
  $sudo systemctl stop prometheus prometheus-node-exporter >/dev/null 2>&1 || true
  $sudo pkill -x prometheus >/dev/null 2>&1 || true
fi
prometheus --version 2>&1 | head -1
