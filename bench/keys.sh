#!/usr/bin/env bash
# Key-authenticated throughput on this machine, in one run: GET
# /api/users/@me with a personal API key (phx_) and GET
# /api/feature_flag/local_evaluation with the project secret (phs_), from
# wrk (Debian's package: apt-get install wrk; our Go load driver costs the
# server too much CPU to measure this) against Gatehouse on SQLite and on
# PostgreSQL, beside a bare net/http server answering the same kind of GET.
# Loopback only.
#
#   bash bench/keys.sh [seconds per target, default 10] [connections, default 32]
#
# PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
# a schema gh_bench_keys is created in it and dropped afterwards. Set
# BENCH_SKIP_POSTGRES=1 to skip it.
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.10}
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
pg=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}" $(cat "$work"/*/pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${BENCH_SKIP_POSTGRES:-}" ]; then psql "$pg" -qc 'DROP SCHEMA IF EXISTS gh_bench_keys CASCADE' >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench/keys.sh needs wrk: apt-get install wrk" >&2; exit 1; }
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/loadgen" ./bench/loadgen
go build -o "$work/bareserver" ./bench/bareserver

# shellcheck source=bench/lib.sh
. bench/lib.sh
for port in 18120 18121 18122; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is already in use; stop what runs there first" >&2; exit 1; fi
done

results=()
"$work/bareserver" --addr 127.0.0.1:18120 & pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18120/ && break; sleep 0.1; done
results+=("$(load bare-net-http http://127.0.0.1:18120/api/users/@me/ "Authorization: Bearer phx_bare")")

read -r key secret tok < <(start_gatehouse sqlite 127.0.0.1:18121)
results+=("$(load sqlite-me http://127.0.0.1:18121/api/users/@me/ "Authorization: Bearer $key")")
results+=("$(load sqlite-local-eval "http://127.0.0.1:18121/api/feature_flag/local_evaluation?token=$tok" "Authorization: Bearer $secret")")
kill "$(cat "$work/sqlite/pid")"

if [ -z "${BENCH_SKIP_POSTGRES:-}" ]; then
  psql "$pg" -qc 'DROP SCHEMA IF EXISTS gh_bench_keys CASCADE; CREATE SCHEMA gh_bench_keys' >/dev/null
  sep='?'; case "$pg" in *\?*) sep='&';; esac
  read -r key secret tok < <(start_gatehouse postgres 127.0.0.1:18122 "${pg}${sep}search_path=gh_bench_keys&sslmode=disable")
  results+=("$(load postgres-me http://127.0.0.1:18122/api/users/@me/ "Authorization: Bearer $key")")
  results+=("$(load postgres-local-eval "http://127.0.0.1:18122/api/feature_flag/local_evaluation?token=$tok" "Authorization: Bearer $secret")")
fi

printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
base = rows[0]["requests_per_s"]
head = ("target", "req/s", "p50 ms", "p99 ms", "ok", "failed", "vs bare")
print("%-22s%10s%9s%9s%10s%8s%9s" % head)
for r in rows:
    print("%-22s%10.0f%9.2f%9.2f%10d%8d%9.3f" % (r["label"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["requests_ok"], r["requests_failed"], r["requests_per_s"] / base))
print("target: >= 30000 req/s with p99 < 5 ms at %s connections" % sys.argv[1])
' "$conns"
