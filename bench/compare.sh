#!/usr/bin/env bash
# This tree against another revision, side by side in one run, on SQLite:
# password logins/s (the load driver, 4 connections) and key-authenticated
# GET /api/users/@me (wrk, 32 connections), each measured for both builds
# in alternating rounds (A B A B …) so that the machine's drift falls on
# both alike. Prints each figure and this tree's ratio to the other.
# Used to show what a feature costs (e.g. the audit log: compare with the
# revision before it). Loopback only.
#
#   bash bench/compare.sh REV [seconds per measurement, default 10] [rounds, default 2]
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.10}
cd "$(dirname "$0")/.."
rev=${1:?usage: bash bench/compare.sh REV [seconds] [rounds]}
secs=${2:-10}
rounds=${3:-2}
conns=32
base=$(mktemp -d)
cleanup() {
  for p in $(cat "$base"/*/*/pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  git worktree remove --force "$base/src" >/dev/null 2>&1 || true
  rm -rf "$base"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "bench/compare.sh needs wrk: apt-get install wrk" >&2; exit 1; }

mkdir -p "$base/this" "$base/other"
go build -o "$base/this/gatehouse" ./cmd/gatehouse
go build -o "$base/loadgen" ./bench/loadgen
git worktree add --detach "$base/src" "$rev" >/dev/null 2>&1
(cd "$base/src" && go build -o "$base/other/gatehouse" ./cmd/gatehouse)

# shellcheck source=bench/lib.sh
. bench/lib.sh
declare -A key addr
addr[this]=127.0.0.1:18141
addr[other]=127.0.0.1:18142
for b in this other; do
  if curl -s -o /dev/null "http://${addr[$b]}/"; then echo "${addr[$b]} is already in use" >&2; exit 1; fi
  work="$base/$b"
  read -r k _ _ < <(start_gatehouse data "${addr[$b]}")
  key[$b]=$k
done

logins() { # build: logins/s
  "$base/loadgen" -json -mode login -url "http://${addr[$1]}/api/login/" -email "$email" -password "$pw" \
    -c 4 -d "${secs}s" -n 10000000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_per_s"])'
}
reads() { # build: @me req/s
  load me "http://${addr[$1]}/api/users/@me/" "Authorization: Bearer ${key[$1]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_per_s"])'
}

declare -A sum
for (( i = 1; i <= rounds; i++ )); do
  for b in this other; do
    sum[login-$b]=$(python3 -c "print(${sum[login-$b]:-0} + $(logins "$b"))")
    sum[read-$b]=$(python3 -c "print(${sum[read-$b]:-0} + $(reads "$b"))")
  done
done
python3 - "$rev" "$rounds" "${sum[login-this]}" "${sum[login-other]}" "${sum[read-this]}" "${sum[read-other]}" <<'PY'
import sys
rev, n = sys.argv[1], int(sys.argv[2])
lt, lo, rt, ro = (float(x) / n for x in sys.argv[3:7])
print("%-28s%14s%14s%10s" % ("measurement (mean of %d)" % n, "this tree", rev[:12], "ratio"))
print("%-28s%14.1f%14.1f%10.3f" % ("password logins/s", lt, lo, lt / lo))
print("%-28s%14.0f%14.0f%10.3f" % ("key-authenticated @me req/s", rt, ro, rt / ro))
PY
