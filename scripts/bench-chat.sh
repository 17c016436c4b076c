#!/usr/bin/env bash
# The OpenAI-compatible surface head to head with LiteLLM's proxy, in one run of the peer harness
# (issue #15). Our `POST /v1/chat/completions` runs with every accounting step on (session check,
# routing, pricing, the budget reservation, the generation rows and events, settlement on the
# ledger) in front of the harness's fake OpenAI upstream (nginx on 127.0.0.1:18901), beside the
# upstream alone and LiteLLM in front of the same upstream.
#
#   bash scripts/bench-chat.sh [HARNESS_DIR]
#
# HARNESS_DIR (or PEER_HARNESS) is the peer harness folder with run.sh, chat.lua and body.json; it
# lives outside this repository and must be given (its setup.sh runs first when nginx or LiteLLM is missing).
# Also: ROUNDS (harness rounds, default 3), WARMUP (seconds of load before the statistics, default 5;
# 0 measures a database analyzed when nearly empty), PROFILE=1 (perf record of our server under 64
# connections), APISERVER_BIN (measure that binary instead of building), ROUND_TRIPS_N (requests
# whose statements are counted, default 50). Not part of scripts/test.sh.
source "$(dirname "$0")/common.sh"
cd "$ROOT"

HARNESS=${1:-${PEER_HARNESS:-}}
[ -n "$HARNESS" ] || { echo "give the peer harness folder as the first argument (or PEER_HARNESS)" >&2; exit 1; }
[ -x "$HARNESS/run.sh" ] || { echo "no peer harness at $HARNESS (give its folder as the first argument)" >&2; exit 1; }
# A fresh machine lacks the harness's nginx and LiteLLM: its own idempotent setup installs them.
if ! command -v nginx >/dev/null || [ ! -x "${LITELLM_VENV:-/tmp/peer-litellm-venv}/bin/litellm" ]; then
  log "installing the peer harness's packages and LiteLLM (its setup.sh)"
  bash "$HARNESS/setup.sh"
fi
UPSTREAM_PORT=18901
bench_setup chat
STARTED_NGINX=""
cleanup() {
  [ -n "${WRK_PID:-}" ] && kill "$WRK_PID" 2>/dev/null || true
  [ -n "$STARTED_NGINX" ] && kill -QUIT "$STARTED_NGINX" 2>/dev/null || true
  bench_cleanup
}
trap cleanup EXIT

# The harness's fake upstream, started the way run.sh starts it (run.sh then reuses it): our key and
# pricing setup needs no upstream, but the round-trip count below does.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PEER_RUN=/tmp/peer-litellm
if ! port_busy $UPSTREAM_PORT; then
  mkdir -p "$PEER_RUN"
  cp "$HARNESS/fake-openai.nginx.conf" "$PEER_RUN/fake-openai.nginx.conf"
  nginx -p "$PEER_RUN/" -c fake-openai.nginx.conf
  for _ in $(seq 1 50); do [ -s "$PEER_RUN/fake-nginx.pid" ] && port_busy $UPSTREAM_PORT && break; sleep 0.1; done
  STARTED_NGINX=$(cat "$PEER_RUN/fake-nginx.pid")
fi

PSQL=("$(pg_bin)/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
export OPENAI_BASE_URL="http://127.0.0.1:$UPSTREAM_PORT/v1" JWT_EXPIRY_SECONDS=86400
bench_serve

TOKEN=$(api POST /auth/v1/signup '{"email":"chat-bench@example.com","password":"correct horse battery staple"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
api POST /v1/api-keys "{\"provider\":\"openai\",\"label\":\"bench\",\"key\":\"sk-proj-$(printf 'a%.0s' $(seq 48))\"}" >/dev/null
# The first request makes the default project; every later one is charged to it. A budget far
# above what the run spends keeps the budget check on the path without refusing anything.
api POST /v1/chat/completions "$(cat "$HARNESS/body.json")" >/dev/null
PROJECT=$("${PSQL[@]}" -c "select id from public.projects where is_default")
"${PSQL[@]}" -c "update public.projects set budget_limit = 1000000 where id = '$PROJECT'"
log "user, key and default project $PROJECT ready"
# A database that has been running: WARMUP seconds (default 5) of the harness's own request at 16
# connections, then the planner statistics autovacuum would have gathered by then. Statistics taken
# on the near-empty tables instead (one generation) make every backend cache plans that scan the
# ledger and generation tables whole; as those grow during the harness's minute, before autovacuum
# analyzes them again, a generation cost PostgreSQL 2.5 times its CPU (BENCHMARKS.md, run Q).
if [ "${WARMUP:-5}" -gt 0 ]; then
  (cd "$HARNESS" && HDR_NAME=Authorization HDR_VALUE="Bearer $TOKEN" BODY_FILE=body.json \
    wrk -t2 -c16 -d"${WARMUP:-5}s" --timeout 10s -s chat.lua "http://127.0.0.1:$API_PORT/v1/chat/completions" >/dev/null)
fi
bench_analyze

# Database statements per generation: every statement PostgreSQL executes (BEGIN, the scope and
# COMMIT included) while N sequential requests run, minus what the idle background worker issues in
# as long. Transactions are pipelined, so these are statements, not round trips: the round trips
# are what the server counts (`DatabaseRoundTrips`, held by GenerationRoundTripTests).
N=${ROUND_TRIPS_N:-50}
count_statements() {  # count_statements SECONDS_OR_COMMAND...: statements logged while it runs
  local before after
  before=$(wc -l <"$WORK/pg/server.log")
  "$@"
  sleep 0.3
  after=$(wc -l <"$WORK/pg/server.log")
  sed -n "$((before + 1)),${after}p" "$WORK/pg/server.log" | grep -cE "LOG:  (execute|statement)" || true
}
"${PSQL[@]}" -c "alter system set log_statement = 'all'" -c "select pg_reload_conf()" >/dev/null
sleep 0.5
t0=$(date +%s.%N)
busy=$(count_statements bash -c "for i in \$(seq $N); do curl -fsS -o /dev/null -X POST http://127.0.0.1:$API_PORT/v1/chat/completions \
  -H 'Content-Type: application/json' -H 'Authorization: Bearer $TOKEN' --data-binary @$HARNESS/body.json; done")
elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
idle=$(count_statements sleep "$elapsed")
# One generation's statements, to show which they are.
sample_before=$(wc -l <"$WORK/pg/server.log")
api POST /v1/chat/completions "$(cat "$HARNESS/body.json")" >/dev/null
sleep 0.3
sed -n "$((sample_before + 1)),\$p" "$WORK/pg/server.log" | grep -E "LOG:  (execute|statement)" \
  | sed -E 's/.*LOG:  (execute [^:]*|statement): //' | cut -c1-110 >"$WORK/statements.txt"
"${PSQL[@]}" -c "alter system reset log_statement" -c "select pg_reload_conf()" >/dev/null
STATEMENTS=$(awk -v b="$busy" -v i="$idle" -v n="$N" 'BEGIN{printf "%.1f", (b - i) / n}')
log "database statements per generation: $STATEMENTS ($busy statements for $N requests, $idle idle in ${elapsed}s)"
log "one generation's statements:"; cat "$WORK/statements.txt" >&2

if [ "${PROFILE:-0}" = 1 ]; then
  (cd "$HARNESS" && HDR_NAME=Authorization HDR_VALUE="Bearer $TOKEN" BODY_FILE=body.json \
    wrk -t2 -c64 -d12s -s chat.lua "http://127.0.0.1:$API_PORT/v1/chat/completions" >/dev/null) &
  WRK_PID=$!
  sleep 1
  perf record -q -F 499 -g -p "$API_PID" -o "$WORK/perf.data" -- sleep 10 >/dev/null 2>&1 || true
  wait "$WRK_PID"; WRK_PID=""
  # Where the server's CPU goes, by library (the kernel's share is mostly sockets and scheduling).
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -15 >&2 || true
  # Inclusive time per function of our binary (perf report does not resolve its symbols here, so
  # the sampled stacks are mapped with nm, as scripts/bench-reads.sh does).
  python3 - "$WORK/perf.data" "$BIN" >&2 <<'PY' || true
import bisect, collections, subprocess, sys
data, binary = sys.argv[1], sys.argv[2]
symbols = []
for line in subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True).stdout.splitlines():
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[1] in "tTwW":
        symbols.append((int(parts[0], 16), parts[2]))
starts = [address for address, _ in symbols]
script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"], capture_output=True, text=True).stdout
inclusive, samples, stack = collections.Counter(), 0, []
for line in script.splitlines() + [""]:
    line = line.strip()
    if line:
        ip, rest = line.split(" ", 1)
        sym, _, dso = rest.rpartition(" (")
        dso = dso.rstrip(")")
        if dso.endswith("/" + binary.split("/")[-1]):
            index = bisect.bisect_right(starts, int(ip, 16)) - 1
            stack.append(symbols[index][1] if index >= 0 else ip)
        else:
            stack.append((sym.strip() if sym.strip() not in ("", "[unknown]") else ip) + " [" + dso.split("/")[-1] + "]")
        continue
    if stack:
        samples += 1
        for name in set(stack):
            inclusive[name] += 1
    stack = []
names = [name for name, _ in inclusive.most_common(60)]
plain = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
readable = dict(zip(names, plain)) if len(plain) == len(names) else {}
print(f"{samples} samples. Inclusive:")
for name in names:
    print(f"{100 * inclusive[name] / max(samples, 1):5.1f} %  {readable.get(name, name)[:150]}")
PY
fi

log "peer harness: upstream, LiteLLM and ours (pid $API_PID)"
cd "$WORK"
# Without our DATABASE_URL: LiteLLM reads it and would try its (unavailable here) database mode.
env -u DATABASE_URL -u MIGRATION_DATABASE_URL EXTRA_PID=$API_PID ROUNDS=${ROUNDS:-3} RESULTS_FILE="$ROOT/.build/bench-chat-results.md" \
  "$HARNESS/run.sh" ours "http://127.0.0.1:$API_PORT/v1/chat/completions" "Bearer $TOKEN" || status=$?
log "harness report: $ROOT/.build/bench-chat-results.md; statements per generation: $STATEMENTS"
exit "${status:-0}"
