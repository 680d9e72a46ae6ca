#!/usr/bin/env bash
# Capture throughput on this machine: 100-event /batch/ requests from the
# load driver against a bare net/http server, Gatehouse on SQLite and
# Gatehouse on PostgreSQL, one after the other in one run. Loopback only.
#
#   bash bench/capture.sh [seconds per target, default 10] [connections, default 32]
#
# PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
# a schema gh_bench is created in it and dropped afterwards. Set BENCH_SKIP_POSTGRES=1 to skip it.
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
  if [ -z "${BENCH_SKIP_POSTGRES:-}" ]; then psql "$pg" -qc 'DROP SCHEMA IF EXISTS gh_bench CASCADE' >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/loadgen" ./bench/loadgen
go build -o "$work/bareserver" ./bench/bareserver

wait_up() { for _ in $(seq 100); do curl -sf "http://$1/_health" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; exit 1; }
for port in 18100 18101 18102; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is already in use; stop what runs there first" >&2; exit 1; fi
done

export SECRET_KEY=bench-secret-key-0123456789abcdef0123456789abcdef SITE_URL=https://bench.invalid

start_gatehouse() { # name addr [DATABASE_URL]
  local dir="$work/$1"; mkdir -p "$dir"
  local tok
  tok=$(DATABASE_URL="${3:-}" "$work/gatehouse" createuser --data-dir "$dir" --email "bench@example.com" \
        --password "bench password for load tests" --organization Bench 2>/dev/null | sed -n 's/.*project API token (public): //p')
  DATABASE_URL="${3:-}" "$work/gatehouse" serve --addr "$2" --data-dir "$dir" >"$dir/log" 2>&1 &
  echo $! >"$dir/pid" # this runs in a subshell: the parent reads the pid file to stop it
  wait_up "$2"
  echo "$tok"
}

# Two seconds of warm-up first (connections to the database, prepared
# statements, caches), not counted; the same for every target, as in
# bench/lib.sh.
load() { # label url token: one JSON line from loadgen
  "$work/loadgen" -json -label "$1" -url "$2" -token "$3" -c "$conns" -d 2s >/dev/null
  "$work/loadgen" -json -label "$1" -url "$2" -token "$3" -c "$conns" -d "${secs}s"
}

results=()
"$work/bareserver" --addr 127.0.0.1:18100 & pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18100/ && break; sleep 0.1; done
results+=("$(load bare-net-http http://127.0.0.1:18100/batch/ phc_bare)")
kill "${pids[0]}" # only the target under test runs

tok=$(start_gatehouse sqlite 127.0.0.1:18101)
results+=("$(load gatehouse-sqlite http://127.0.0.1:18101/batch/ "$tok")")
kill "$(cat "$work/sqlite/pid")"

if [ -z "${BENCH_SKIP_POSTGRES:-}" ]; then
  psql "$pg" -qc 'DROP SCHEMA IF EXISTS gh_bench CASCADE; CREATE SCHEMA gh_bench' >/dev/null
  sep='?'; case "$pg" in *\?*) sep='&';; esac
  tok=$(start_gatehouse postgres 127.0.0.1:18102 "${pg}${sep}search_path=gh_bench&sslmode=disable")
  results+=("$(load gatehouse-postgres http://127.0.0.1:18102/batch/ "$tok")")
fi

printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
base = rows[0]["events_per_s"]
head = ("target", "events/s", "req/s", "p50 ms", "p99 ms", "failed", "vs bare")
print("%-22s%12s%10s%9s%9s%8s%9s" % head)
for r in rows:
    print("%-22s%12.0f%10.0f%9.2f%9.2f%8d%9.3f" % (r["label"], r["events_per_s"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["requests_failed"], r["events_per_s"] / base))
'
