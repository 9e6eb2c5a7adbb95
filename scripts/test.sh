#!/usr/bin/env bash
# Runs every test of prescale: the README's test command and what CI runs.
# Needs only Go; later steps install what integration tests need, idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 ./...
