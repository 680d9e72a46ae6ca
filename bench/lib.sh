# Shared by bench/keys.sh and bench/cluster.sh (sourced, not run): start a
# Gatehouse with an owner, a personal API key and a flag, and measure one
# URL with wrk. The caller sets work (a scratch directory holding the built
# binaries), conns and secs.
export SECRET_KEY=bench-secret-key-0123456789abcdef0123456789abcdef SITE_URL=http://127.0.0.1 SECURE_COOKIES=false

wait_up() { for _ in $(seq 100); do curl -sf "http://$1/_health" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; exit 1; }
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

