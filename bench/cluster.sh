#!/usr/bin/env bash
# What adding instances does, on this machine: one, then three Gatehouse
# instances on one PostgreSQL, measured with the same total load: GET
# /api/users/@me with a personal API key (wrk) and 100-event /batch/
# capture (the load driver). With three instances the connections are
# split evenly across them and the per-instance figures are added up.
# Loopback only; every process shares this machine's cores, so the figures
# show the cost of coordination through the database, not the gain of more
# machines (see docs/capacity.md).
#
#   bash bench/cluster.sh [seconds per target, default 10] [connections, default 32]
#
# PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
# a schema gh_bench_cluster is created in it and dropped afterwards.
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
  psql "$pg" -qc 'DROP SCHEMA IF EXISTS gh_bench_cluster CASCADE' >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench/cluster.sh needs wrk: apt-get install wrk" >&2; exit 1; }
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/loadgen" ./bench/loadgen

# shellcheck source=bench/lib.sh
. bench/lib.sh
addrs=(127.0.0.1:18131 127.0.0.1:18132 127.0.0.1:18133)
for a in "${addrs[@]}"; do
  if curl -s -o /dev/null "http://$a/"; then echo "$a is already in use; stop what runs there first" >&2; exit 1; fi
done

psql "$pg" -qc 'DROP SCHEMA IF EXISTS gh_bench_cluster CASCADE; CREATE SCHEMA gh_bench_cluster' >/dev/null
sep='?'; case "$pg" in *\?*) sep='&';; esac
db="${pg}${sep}search_path=gh_bench_cluster&sslmode=disable"
read -r key _ tok < <(start_gatehouse i1 "${addrs[0]}" "$db")
for i in 2 3; do
  dir="$work/i$i"; mkdir -p "$dir"
  DATABASE_URL="$db" "$work/gatehouse" serve --addr "${addrs[i-1]}" --data-dir "$dir" >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  wait_up "${addrs[i-1]}"
done

# together label n cmd...: runs cmd once per instance (n of them) at the
# same time, each given its address and its share of the connections as
# ADDR and CONNS, and prints the summed requests (or events) per second.
together() {
  local label=$1 n=$2; shift 2
  local share=$(( (conns + n - 1) / n )) i
  for (( i = 0; i < n; i++ )); do
    ADDR=${addrs[i]} CONNS=$share bash -c "$*" >"$work/out.$i" &
  done
  wait # together runs in a command substitution: its only jobs are these
  python3 - "$label" "$n" "$work"/out.* <<'PY'
import json, sys
label, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:3 + int(sys.argv[2])]
rows = [json.loads(open(f).read().strip().splitlines()[-1]) for f in files]
key = "events_per_s" if "events_per_s" in rows[0] else "requests_per_s"
print(json.dumps({"label": label, "instances": n, key: sum(r[key] for r in rows),
                  "failed": sum(r.get("requests_failed", 0) for r in rows)}))
PY
  rm -f "$work"/out.*
}

export work secs key tok
wrk_me='conns=$CONNS; . bench/lib.sh; load me "http://$ADDR/api/users/@me/" "Authorization: Bearer $key"'
capture='"$work/loadgen" -json -label capture -url "http://$ADDR/batch/" -token "$tok" -c "$CONNS" -d "${secs}s"'
results=()
results+=("$(together me-1-instance 1 "$wrk_me")")
results+=("$(together me-3-instances 3 "$wrk_me")")
results+=("$(together capture-1-instance 1 "$capture")")
results+=("$(together capture-3-instances 3 "$capture")")

printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print("%-22s%10s%14s%8s" % ("target", "instances", "per second", "failed"))
for r in rows:
    v = r.get("requests_per_s", r.get("events_per_s"))
    print("%-22s%10d%14.0f%8d" % (r["label"], r["instances"], v, r["failed"]))
'
