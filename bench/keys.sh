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

wait_up() { for _ in $(seq 100); do curl -sf "http://$1/_health" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; exit 1; }
for port in 18120 18121 18122; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is already in use; stop what runs there first" >&2; exit 1; fi
done

export SECRET_KEY=bench-secret-key-0123456789abcdef0123456789abcdef SITE_URL=http://127.0.0.1 SECURE_COOKIES=false
email=bench@example.com
pw="bench password for load tests"

# start_gatehouse name addr [DATABASE_URL]: creates the owner, starts the
# server, signs in, makes a personal API key and one flag, and prints
# "<phx key> <phs secret> <phc token>".
start_gatehouse() {
  local dir="$work/$1" addr=$2; mkdir -p "$dir"
  local out tok secret
  out=$(DATABASE_URL="${3:-}" "$work/gatehouse" createuser --data-dir "$dir" --email "$email" --password "$pw" --organization Bench 2>/dev/null)
  tok=$(sed -n 's/.*project API token (public): //p' <<<"$out")
  secret=$(sed -n 's/.*project secret token: *//p' <<<"$out")
  DATABASE_URL="${3:-}" "$work/gatehouse" serve --addr "$addr" --data-dir "$dir" >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  wait_up "$addr"
  local jar="$dir/cookies"
  curl -sf -c "$jar" -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$pw\"}" "http://$addr/api/login/" >/dev/null
  local csrf
  csrf=$(awk '$6 == "posthog_csrftoken" { print $7 }' "$jar")
  local key
  key=$(curl -sf -b "$jar" -H 'Content-Type: application/json' -H "X-CSRFToken: $csrf" -H "Origin: http://127.0.0.1" \
    -d '{"label":"bench","scopes":["user:read","feature_flag:read"]}' "http://$addr/api/personal_api_keys/" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
  curl -sf -b "$jar" -H 'Content-Type: application/json' -H "X-CSRFToken: $csrf" -H "Origin: http://127.0.0.1" \
    -d '{"key":"bench-flag","filters":{"groups":[{"rollout_percentage":50}]}}' "http://$addr/api/projects/@current/feature_flags/" >/dev/null
  echo "$key $secret $tok"
}

load() { # label url header: one JSON line like loadgen's
  # Two seconds of warm-up first (connections to the database, prepared
  # statements, caches), not counted; the same for every target.
  wrk -t1 -c "$conns" -d 2s -H "$3" "$2" >/dev/null
  wrk -t1 -c "$conns" -d "${secs}s" --latency -H "$3" "$2" | python3 -c '
import json, re, sys
text = sys.stdin.read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
done = int(re.search(r"(\d+) requests in", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
failed = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in errs.groups()) if errs else 0)
print(json.dumps({"label": sys.argv[1], "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
                  "p50_ms": lat["50"], "p99_ms": lat["99"], "requests_ok": done - failed, "requests_failed": failed}))
' "$1"
}

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
