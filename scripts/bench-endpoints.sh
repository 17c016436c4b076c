#!/usr/bin/env bash
# The server's own CPU per request of the GET endpoints an app or dashboard polls, to find the ones
# that cost far more than their database work. One user with a project, GENERATIONS ended offline
# generations (text and image, so assets too) and a stored key; for each path, wrk -c4 for DURATION
# seconds, then the server's CPU time over the run divided by the requests served. Each figure is
# also given as a ratio to `GET /v1/user-budget` measured in the same run (an authenticated read of one
# row through the same RLS transaction): the unit to read the others in on a shared, noisy machine.
# Prints a Markdown table; not part of scripts/test.sh.
#
#   APISERVER_BIN=.build/release/apiserver DURATION=4 bash scripts/bench-endpoints.sh
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages wrk

DURATION=${DURATION:-4}
GENERATIONS=${GENERATIONS:-24}
bench_setup endpoints
bench_serve || { cat "$WORK/server.log" >&2; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(api POST /auth/v1/signup '{"email":"endpoints@example.com","password":"correct horse battery staple"}' | json '["access_token"]')
PROJECT=$(api POST /v1/projects '{"name":"Endpoints","budget_limit":"100"}' | json '["id"]')
api POST /v1/api-keys "{\"provider\":\"openai\",\"label\":\"bench\",\"key\":\"sk-proj-$(printf 'a%.0s' $(seq 40))\"}" >/dev/null
seed_local_generations "$PROJECT" "$GENERATIONS" text image || exit 1
GENERATION=$(api GET "/v1/generations?limit=1" | json '["data"][0]["id"]')
ASSET=$(api GET "/v1/assets?limit=1" | json '["data"][0]["id"]')
bench_analyze   # the planner statistics a running database has (common.sh)

# measure PATH → "requests/s µs-per-request bytes" (fails on any answer but 200)
measure() {
  local status before after out
  status=$(curl -s -o "$WORK/body" -w "%{http_code}" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT$1")
  [ "$status" = 200 ] || { echo "$1 answered $status: $(head -c 300 "$WORK/body")" >&2; exit 1; }
  before=$(cpu_ticks "$API_PID")
  out=$(wrk -t2 -c4 -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT$1")
  after=$(cpu_ticks "$API_PID")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers from $1: $out" >&2; exit 1; fi
  python3 - "$(awk '/requests in/ {print $1}' <<<"$out")" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$((after - before))" "$(getconf CLK_TCK)" "$(stat -c %s "$WORK/body")" <<'PY'
import sys
requests, rate, ticks, hz, size = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(f"{rate:.0f} {ticks * 1e6 / hz / max(requests, 1):.0f} {size}")
PY
}

figures=$(measure /v1/user-budget) || exit 1
read -r _ unit _ <<<"$figures"
echo "| path | body bytes | requests/s | server CPU µs / request | × \`GET /v1/user-budget\` ($unit µs) |"
echo "|---|---|---|---|---|"
for path in "/v1/user-budget" "/auth/v1/user" "/v1/projects?limit=20" "/v1/projects/$PROJECT" "/v1/api-keys" "/v1/provider-configs" \
            "/v1/generations?limit=20" "/v1/generations/$GENERATION" "/v1/assets?limit=20" "/v1/assets/$ASSET" \
            "/v1/assets/$ASSET/lineage" "/v1/providers" "/v1/pricing"; do
  figures=$(measure "$path") || exit 1
  read -r rate cpu size <<<"$figures"
  shown=$(sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/{id}/' <<<"$path")
  echo "| \`$shown\` | $size | $rate | $cpu | $(python3 -c "print(f'{$cpu / max($unit, 1):.1f}')") |"
done
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
