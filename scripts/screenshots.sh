#!/usr/bin/env bash
# Regenerates docs/screenshots: builds gatehouse, starts a throwaway
# instance (SQLite in a temporary directory, 127.0.0.1 only), signs in with
# headless Chromium and saves every page at 1280x900 and 390x844.
# Needs Go and Debian's chromium (apt-get install chromium).
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.10}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gatehouse" ./cmd/gatehouse
go run ./internal/tools/screenshots -bin "$tmp/gatehouse" -out docs/screenshots "$@"
