#!/usr/bin/env bash
# Password-login throughput and memory on this machine, in one run:
#  (a) logins/s from the load driver at a few connections, beside the
#      ceiling set by the hash: cores ÷ one argon2id verification, timed
#      by the Go benchmark BenchmarkArgon2idVerify in the same run;
#  (b) peak memory (VmRSS sampled every 200 ms, and VmHWM) of the server
#      while 500 connections attempt logins, with the status-code breakdown
#      (503 + Retry-After is the expected answer to the overflow).
# Gatehouse runs on SQLite in a temporary directory. Loopback only.
#
#   bash bench/login.sh [seconds per phase, default 10] [connections for (a), default 4] [connections for (b), default 500]
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.10}
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-4}
flood=${3:-500}
addr=127.0.0.1:18110
email=bench@example.com
pw="bench password for load tests"
work=$(mktemp -d)
cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/loadgen" ./bench/loadgen

if curl -s -o /dev/null "http://$addr/"; then echo "port ${addr##*:} is already in use; stop what runs there first" >&2; exit 1; fi

# The ceiling: one serial argon2id verification, times the cores. This
# machine's speed drifts by several per cent from minute to minute, so the
# serial time is measured just before and just after phase (a) and averaged.
serial_ns() {
  timeout 300 go test -run '^$' -bench '^BenchmarkArgon2idVerify$' -benchtime 60x ./internal/httpapi/ |
    awk '/^BenchmarkArgon2idVerify/ { for (i = 2; i <= NF; i++) if ($i == "ns/op") print $(i-1) }'
}
ns_before=$(serial_ns)
[ -n "$ns_before" ] || { echo "could not read ns/op from BenchmarkArgon2idVerify" >&2; exit 1; }
cores=$(nproc)
# The hash engine alone on every core at once (no server), same run.
pns=$(timeout 300 go test -run '^$' -bench '^BenchmarkArgon2idVerifyParallel$' -benchtime 40x ./internal/httpapi/ |
     awk '/^BenchmarkArgon2idVerifyParallel/ { for (i = 2; i <= NF; i++) if ($i == "ns/op") print $(i-1) }')
[ -n "$pns" ] || { echo "could not read ns/op from BenchmarkArgon2idVerifyParallel" >&2; exit 1; }

export SECRET_KEY=bench-secret-key-0123456789abcdef0123456789abcdef SITE_URL=https://bench.invalid
mkdir -p "$work/data"
"$work/gatehouse" createuser --data-dir "$work/data" --email "$email" --password "$pw" --organization Bench >"$work/createuser.log" 2>&1
"$work/gatehouse" serve --addr "$addr" --data-dir "$work/data" >"$work/server.log" 2>&1 &
echo $! >"$work/server.pid"
spid=$(cat "$work/server.pid")
up=
for _ in $(seq 100); do curl -sf "http://$addr/_health" >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ -n "$up" ] || { echo "gatehouse did not start:" >&2; tail -20 "$work/server.log" >&2; exit 1; }

login() { # label connections
  timeout $((secs + 60)) "$work/loadgen" -json -mode login -label "$1" -url "http://$addr/api/login/" \
    -email "$email" -password "$pw" -c "$2" -d "${secs}s" -n 10000000
}

# CPU seconds used by the whole machine and by the server (USER_HZ ticks): on
# a shared machine, other processes' use makes the ceiling unreachable.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
server_cpu() { sed 's/.*) //' "/proc/$spid/stat" | awk '{ print $12 + $13 }'; }

# (a) throughput against the ceiling.
b0=$(busy); s0=$(server_cpu); t0=$(date +%s.%N)
a=$(login "login-c$conns" "$conns")
b1=$(busy); s1=$(server_cpu); t1=$(date +%s.%N)
cpu_a="$(( s1 - s0 )) $(( b1 - b0 )) $t0 $t1"
ns_after=$(serial_ns)
[ -n "$ns_after" ] || { echo "could not read ns/op from BenchmarkArgon2idVerify" >&2; exit 1; }
ns=$(python3 -c "print(($ns_before + $ns_after) / 2)")

# (b) memory under a flood. The sampler runs in the background: its pid goes
# to a file (a subshell's $! does not reach the parent), and it stops by
# itself when the server does.
(
  while kill -0 "$spid" 2>/dev/null; do
    awk '/^VmRSS:/ { print $2 }' "/proc/$spid/status" 2>/dev/null || true
    sleep 0.2
  done
) >"$work/rss.kb" &
echo $! >"$work/sampler.pid"
b=$(login "login-c$flood" "$flood")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$spid/status")
kill "$(cat "$work/sampler.pid")" 2>/dev/null || true
rm -f "$work/sampler.pid"

printf '%s\n%s\n' "$a" "$b" | python3 -c '
import json, sys
ns, cores, hwm_kb, rss_file, conns, flood = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
srv_ticks, busy_ticks, t0, t1 = (float(x) for x in sys.argv[7].split())
pns = float(sys.argv[8])
a, b = (json.loads(l) for l in sys.stdin if l.strip())
rss = [int(l) for l in open(rss_file) if l.strip().isdigit()]
h = ns / 1e9
ceiling = cores / h
print("argon2id verify (m=19456 KiB, t=2, p=1): %.2f ms serial (%.2f before, %.2f after phase a); ceiling %d cores / %.2f ms = %.1f logins/s" % (h * 1e3, float(sys.argv[9]) / 1e6, float(sys.argv[10]) / 1e6, cores, h * 1e3, ceiling))
def status(r):
    parts = ["%s:%d" % kv for kv in sorted(r["failed_by_status"].items())]
    if r.get("transport_errors"):
        parts.append("errors:%d" % r["transport_errors"])
    return " ".join(parts) or "-"
print("hash engine alone on %d cores (no server): %.1f verifications/s = %.1f %% of the ceiling" % (cores, 1e9 / pns, 100 * ns / (cores * pns)))
print("(a) %s conns: %.1f logins/s = %.1f %% of the ceiling (target >= 90 %%)  p50 %.1f ms  p99 %.1f ms  ok %d  non-2xx %s" % (
    conns, a["requests_per_s"], 100 * a["requests_per_s"] / ceiling, a["p50_ms"], a["p99_ms"], a["requests_ok"], status(a)))
wall = t1 - t0
print("    CPU during (a): server %.2f cores, loadgen and other processes %.2f cores, of %d" % (
    srv_ticks / 100 / wall, max(0, (busy_ticks - srv_ticks) / 100 / wall), cores))
print("(b) %s conns: %.1f logins/s  ok(200) %d  non-2xx %s  p50 %.1f ms  p99 %.1f ms" % (
    flood, b["requests_per_s"], b["requests_ok"], status(b), b["p50_ms"], b["p99_ms"]))
print("    server memory: peak VmRSS %.1f MB over %d samples (every 200 ms), VmHWM %.1f MB (target < 400 MB)" % (
    max(rss or [0]) / 1024, len(rss), hwm_kb / 1024))
' "$ns" "$cores" "$hwm" "$work/rss.kb" "$conns" "$flood" "$cpu_a" "$pns" "$ns_before" "$ns_after"
