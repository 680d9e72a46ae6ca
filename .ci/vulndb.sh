#!/usr/bin/env bash
# Prints the directory of a Go vulnerability database for govulncheck
# (-db file://DIR), built from the OSV files of the golang.org/x/vulndb
# module at a pinned version: only the Go module proxy is needed. The
# database is kept in $(go env GOPATH)/pkg/gatehouse-vulndb/<version> and
# built again only when the version changes. Bump VULNDB_VERSION to a newer
# pseudo-version of golang.org/x/vulndb to pick up new reports.
set -euo pipefail
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(go env GOPATH)/pkg/gatehouse-vulndb/$VULNDB_VERSION"
if [ ! -f "$out/index/modules.json" ]; then
  # Outside this module, so that go.mod and go.sum stay as they are.
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
  json=$(cd "$scratch" && go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION")
  field() { printf '%s\n' "$json" | sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p"; }
  dir=$(field Dir)
  modified=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(field Info)")
  [ -d "$dir/data/osv" ] || { echo "no data/osv in golang.org/x/vulndb@$VULNDB_VERSION ($dir)" >&2; exit 1; }
  rm -rf "$out"
  (cd "$root" && go run ./internal/tools/vulndb -osv "$dir/data/osv" -modified "$modified" -out "$out") >&2
fi
printf '%s\n' "$out"
