#!/usr/bin/env bash
# Where a text generation's time goes: the round trips per generation as the server counts them,
# then a CPU profile (perf) of the server while wrk runs `POST /v1/generations` with `Prefer: wait`
# against `fake-providers`, summarised by library and by symbol. Writes nothing in the tree.
# Not part of scripts/test.sh; needs perf (linux-perf) and wrk.
#
# APISERVER_BIN / FAKE_PROVIDERS_BIN = paths profile those binaries (release builds, with symbols).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages wrk
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }

DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-16}
SEQUENTIAL=${SEQUENTIAL:-30}
bench_setup profile
bench_fake_providers
# At info the server logs its database_round_trips when it stops.
LOG_LEVEL=info "$BIN" serve >"$WORK/server.log" 2>&1 &
API_PID=$!
wait_for_health "$API_PORT" || { cat "$WORK/server.log" >&2; exit 1; }

field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
TOKEN=$(api POST /auth/v1/signup '{"email":"profile@example.com","password":"correct horse battery staple"}' | field access_token)
api POST /v1/api-keys "{\"provider\":\"openai\",\"label\":\"profile\",\"key\":\"sk-proj-$(printf 'a%.0s' $(seq 40))\"}" >/dev/null
PROJECT=$(api POST /v1/projects '{"name":"Profile"}' | field id)
BODY="{\"project_id\":\"$PROJECT\",\"type\":\"text\",\"prompt\":\"Write a haiku about the sea.\",\"provider\":\"openai\",\"parameters\":{\"max_output_tokens\":100}}"
generate() { curl -fsS -o /dev/null -X POST "http://127.0.0.1:$API_PORT/v1/generations" -H "Content-Type: application/json" \
  -H "Authorization: Bearer $TOKEN" -H "Prefer: wait=30" -d "$BODY"; }
generate   # warms what is read once per process

# Round trips: the server's own count (`DatabaseRoundTrips`, logged at the stop) over SEQUENTIAL
# generations, less an idle server's over as long.
trips() {  # trips LOG → database_round_trips in the server's last "stopped" line
  python3 -c "import re,sys; print(re.findall(r'\"database_round_trips\":(\d+)', open(sys.argv[1]).read())[-1])" "$1"
}
restart() {  # restart LOG
  kill "$API_PID" && wait "$API_PID" 2>/dev/null || true
  LOG_LEVEL=info "$BIN" serve >"$1" 2>&1 &
  API_PID=$!
  wait_for_health "$API_PORT" || { cat "$1" >&2; exit 1; }
}
restart "$WORK/sequential.log"
generate   # the new process's first read of the pricing document
started=$(date +%s.%N)
for _ in $(seq "$SEQUENTIAL"); do generate; done
elapsed=$(python3 -c "import time; print(time.time() - $started)")
restart "$WORK/idle.log"
sleep "$elapsed"
restart "$WORK/profile.log"
busy=$(trips "$WORK/sequential.log"); idle=$(trips "$WORK/idle.log")
log "round trips per generation: ($busy - $idle idle - 1 warm-up) / $SEQUENTIAL"
python3 -c "print(round(($busy - $idle) / ($SEQUENTIAL + 1), 2), 'round trips per generation (the warm-up counted as one more)')"

# The profile: perf samples the server (all its threads) while wrk keeps CONNECTIONS generations going.
{
  echo 'wrk.method = "POST"'
  echo "wrk.body = [[$BODY]]"
  echo 'wrk.headers["Content-Type"] = "application/json"'
  echo "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\""
  echo 'wrk.headers["Prefer"] = "wait=30"'
} >"$WORK/pipeline.lua"
generate
bench_analyze   # the planner statistics a running database has (common.sh)
perf record -F 999 -g -p "$API_PID" -o "$WORK/perf.data" -- sleep "$DURATION" 2>"$WORK/perf.log" &
PERF_PID=$!
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 60s --latency -s "$WORK/pipeline.lua" "http://127.0.0.1:$API_PORT/v1/generations" | \
  grep -E "Requests/sec|50%|99%|Non-2xx" >&2
wait "$PERF_PID" || true
if [ -n "${KEEP_PERF:-}" ]; then cp "$WORK/perf.data" "$KEEP_PERF"; log "perf data kept in $KEEP_PERF"; fi
log "CPU by library (self time)"
perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E "^\s+[0-9]" | sed -E 's/ +$//' | head -15 || true
log "CPU by symbol (self time, ≥ 0.7 %)"
perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --percent-limit 0.7 --stdio 2>/dev/null | grep -E "^\s+[0-9]" | \
  sed -E 's/ +-? +-? *$//' | head -45 || true
log "CPU by caller (inclusive, ≥ 2 %, demangled)"
perf report -i "$WORK/perf.data" --children --sort symbol --percent-limit 2 --stdio -g none 2>/dev/null | grep -E "^\s+[0-9]" | \
  sed -E 's/ +-? +-? *$//' | { command -v swift-demangle >/dev/null && swift-demangle --simplified || cat; } | cut -c1-230 | head -90 || true

