#!/usr/bin/env bash
# Measures the generation pipeline and writes the `## Generations` section of BENCHMARKS.md. In one
# run, against one PostgreSQL cluster and one `fake-providers`:
#   1. a text generation with `Prefer: wait=30` through the whole pipeline (JWT, admission, reserve,
#      the provider call to the fake, settle, outputs stored) against the same chat completion sent
#      to the fake directly: p50 and requests/s at 16 and 64 connections (wrk), alternating order;
#   2. database round trips per generation: pg_stat_statements' calls (every statement the server
#      sends is one round trip, BEGIN and COMMIT included) over sequential generations;
#   3. `FOR UPDATE SKIP LOCKED` claim throughput: pgbench running the worker's claim statement
#      (GenerationStore.claimWork, limit 1 and 16) as the service role over a table of queued rows.
# Not part of scripts/test.sh.
#
# APISERVER_BIN / FAKE_PROVIDERS_BIN = paths measure those binaries instead of building release ones.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages wrk

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
SEQUENTIAL=${SEQUENTIAL:-50}
QUEUED=${QUEUED:-400000}
export CLAIM_CLIENTS=${CLAIM_CLIENTS:-8}
if [ -n "${APISERVER_BIN:-}" ] && [ -n "${FAKE_PROVIDERS_BIN:-}" ]; then
  BUILD="given binaries ($APISERVER_BIN)"
else
  unset APISERVER_BIN FAKE_PROVIDERS_BIN
  BUILD="release build"
fi
bench_setup generations
PSQL=("$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
# track_utility is on by default, so BEGIN and COMMIT are counted.
bench_statement_stats
bench_fake_providers
bench_serve || { cat "$WORK/server.log" >&2; exit 1; }

field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
TOKEN=$(api POST /auth/v1/signup '{"email":"bench@example.com","password":"correct horse battery staple"}' | field access_token)
KEY="sk-proj-$(printf 'a%.0s' $(seq 40))"
api POST /v1/api-keys "{\"provider\":\"openai\",\"label\":\"bench\",\"key\":\"$KEY\"}" >/dev/null
PROJECT=$(api POST /v1/projects '{"name":"Bench"}' | field id)
BODY="{\"project_id\":\"$PROJECT\",\"type\":\"text\",\"prompt\":\"Write a haiku about the sea.\",\"provider\":\"openai\",\"parameters\":{\"max_output_tokens\":100}}"
DIRECT_BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Write a haiku about the sea."}],"max_tokens":100}'
[ "$(curl -fsS -X POST "http://127.0.0.1:$API_PORT/v1/generations" -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" \
  -H "Prefer: wait=30" -d "$BODY" | field status)" = succeeded ] || { echo "a generation did not succeed" >&2; cat "$WORK/server.log" >&2; exit 1; }

lua() {  # lua FILE BODY HEADER...: a wrk script posting BODY with the headers
  local file=$1 body=$2; shift 2
  {
    echo 'wrk.method = "POST"'
    echo "wrk.body = [[$body]]"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    for header in "$@"; do echo "wrk.headers[\"${header%%:*}\"] = \"${header#*: }\""; done
  } >"$file"
}
lua "$WORK/pipeline.lua" "$BODY" "Authorization: Bearer $TOKEN" "Prefer: wait=30"
lua "$WORK/direct.lua" "$DIRECT_BODY" "Authorization: Bearer $KEY"

run_wrk() {  # run_wrk SCRIPT URL CONNECTIONS → "p50_ms rps"
  local out
  out=$(wrk -t2 -c"$3" -d"${DURATION}s" --timeout 60s --latency -s "$1" "$2")
  if grep -q "Non-2xx" <<<"$out" || ! grep -q "requests in" <<<"$out" || grep -qE "^\s+0 requests in" <<<"$out"; then
    echo "wrk got no clean answers from $2: $out" >&2; exit 1
  fi
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
print(f"{p50:.2f} {rps:.1f}")
PY
}
PIPELINE_URL="http://127.0.0.1:$API_PORT/v1/generations"
DIRECT_URL="http://127.0.0.1:$FAKE_PORT/openai/v1/chat/completions"
run_wrk "$WORK/pipeline.lua" "$PIPELINE_URL" 16 >/dev/null   # warm-up
bench_analyze   # the planner statistics a running database has (common.sh)
: >"$WORK/load.results"
for connections in 16 64; do
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
      pipeline=$(run_wrk "$WORK/pipeline.lua" "$PIPELINE_URL" "$connections"); direct=$(run_wrk "$WORK/direct.lua" "$DIRECT_URL" "$connections")
    else
      direct=$(run_wrk "$WORK/direct.lua" "$DIRECT_URL" "$connections"); pipeline=$(run_wrk "$WORK/pipeline.lua" "$PIPELINE_URL" "$connections")
    fi
    echo "$connections $round $pipeline $direct" >>"$WORK/load.results"
    log "c=$connections round $round: pipeline p50 ms / rps = $pipeline, direct = $direct"
  done
done

# Round trips: every statement the server sent (as any role but this script's postgres) over
# SEQUENTIAL generations, one at a time, less what it sends when idle over as long (the event
# streams' and the worker's timers), measured right after.
statements() {  # statements FILE: calls and statement text, most called first
  "${PSQL[@]}" -At -F $'\t' -c "
    select s.calls, left(regexp_replace(s.query, '\s+', ' ', 'g'), 110)
    from pg_stat_statements s join pg_roles r on r.oid = s.userid
    where r.rolname <> 'postgres' order by s.calls desc" >"$1"
}
# wrk stops with generations still in flight: let them end first, so none is counted here.
for _ in $(seq 600); do
  [ "$("${PSQL[@]}" -At -c "select count(*) from public.generations where status in ('queued', 'running')")" = 0 ] && break
  sleep 0.5
done
# Round trips are counted by the server itself (every statement or pipeline it sends is one round
# trip; pg_stat_statements counts statements, and a pipeline sends BEGIN, the scope, the call and
# COMMIT together) and logged when it stops: a fresh server runs the SEQUENTIAL generations, and
# another as long idle, so its start-up and timers are subtracted.
serve_counting() {  # serve_counting LOG: a fresh server logging at info (its "stopped" line has the count)
  LOG_LEVEL=info "$BIN" serve >"$1" 2>&1 &
  API_PID=$!
  wait_for_health "$API_PORT" || { cat "$1" >&2; exit 1; }
}
stop_counting() {  # stop_counting LOG → the server's database_round_trips
  kill "$API_PID" && wait "$API_PID" 2>/dev/null || true
  API_PID=""
  python3 -c "import re,sys; print(re.findall(r'\"database_round_trips\":(\d+)', open(sys.argv[1]).read())[-1])" "$1"
}
kill "$API_PID" && wait "$API_PID" 2>/dev/null || true
serve_counting "$WORK/sequential.log"
"${PSQL[@]}" -c "select pg_stat_statements_reset()" >/dev/null
started=$(date +%s.%N)
for _ in $(seq "$SEQUENTIAL"); do
  curl -fsS -o /dev/null -X POST "$PIPELINE_URL" -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" -H "Prefer: wait=30" -d "$BODY"
done
sleep 0.5
statements "$WORK/statements.tsv"
elapsed=$(python3 -c "import time; print(time.time() - $started)")
TRIPS=$(stop_counting "$WORK/sequential.log")
serve_counting "$WORK/idle.log"
"${PSQL[@]}" -c "select pg_stat_statements_reset()" >/dev/null
sleep "$elapsed"
statements "$WORK/idle.tsv"
IDLE_TRIPS=$(stop_counting "$WORK/idle.log")
log "round trips: $TRIPS over $SEQUENTIAL generations, $IDLE_TRIPS idle"
log "statements over $SEQUENTIAL generations:"; head -40 "$WORK/statements.tsv" >&2

# Claim throughput: queued rows whose lease lapsed, claimed by the worker's statement with SKIP LOCKED.
# The server (and its worker loop) is stopped already, so pgbench is the only claimant.
USER_ID=$("${PSQL[@]}" -At -c "select id from auth.users limit 1")
"${PSQL[@]}" <<SQL
insert into public.generations (user_id, project_id, kind, prompt, pricing_version, status, lease_owner, lease_expires_at)
select '$USER_ID', '$PROJECT', 'text', 'queued ' || n, (select id from pricing.versions limit 1), 'queued', 'gone', now() - interval '1 hour'
from generate_series(1, $QUEUED) n;
analyze public.generations;
SQL
claim_tps() {  # claim_tps LIMIT → transactions/s
  # One pipeline per claim, as the worker sends it (BEGIN, the scope, the claim and COMMIT in one round trip).
  cat >"$WORK/claim.sql" <<SQL
\\startpipeline
begin;
select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true),
       set_config('synchronous_commit', 'off', true);
update public.generations g set lease_owner = 'bench', lease_expires_at = now() + interval '1 hour', updated_at = now()
where g.id in (
    select c.id from public.generations c
    where c.status in ('queued', 'running') and (c.lease_expires_at is null or c.lease_expires_at < now())
    order by c.lease_expires_at nulls first limit $1 for update skip locked)
returning g.id, g.user_id,
          not exists (select from public.budget_ledger l where l.generation_id = g.id and l.kind = 'reservation') as batch_item;
commit;
\\endpipeline
SQL
  # As the worker does: a claimed row is leased for an hour, so it is claimed once. QUEUED rows must
  # outlast the run (checked below), so every claim takes a full batch. Prepared, as the worker's
  # connection names each statement once (PreparedStatements) and binds it after.
  local out
  out=$("$(pg_bin)/pgbench" -n -M prepared -c "$CLAIM_CLIENTS" -j 2 -T "$DURATION" -f "$WORK/claim.sql" -h 127.0.0.1 -p "$PG_PORT" -U authenticator postgres 2>&1)
  grep -qE "number of failed transactions: 0 " <<<"$out" || { echo "pgbench failed: $out" >&2; exit 1; }
  awk '/^tps = / {print $3}' <<<"$out"
}
CLAIM1=$(claim_tps 1)
LEFT=$("${PSQL[@]}" -At -c "select count(*) from public.generations where lease_owner = 'gone'")
[ "$LEFT" -gt 0 ] || { echo "QUEUED=$QUEUED rows ran out during the limit-1 run: raise QUEUED" >&2; exit 1; }
"${PSQL[@]}" -c "update public.generations set lease_owner = 'gone', lease_expires_at = now() - interval '1 hour' where lease_owner = 'bench'" \
  -c "vacuum analyze public.generations" >/dev/null
CLAIM16=$(claim_tps 16)
LEFT=$("${PSQL[@]}" -At -c "select count(*) from public.generations where lease_owner = 'gone'")
[ "$LEFT" -gt 0 ] || { echo "QUEUED=$QUEUED rows ran out during the limit-16 run: raise QUEUED" >&2; exit 1; }
"${PSQL[@]}" -c "update public.generations set lease_owner = 'gone', lease_expires_at = now() - interval '1 hour' where lease_owner = 'bench'" \
  -c "vacuum analyze public.generations" >/dev/null
CLAIM64=$(claim_tps 64)
LEFT=$("${PSQL[@]}" -At -c "select count(*) from public.generations where lease_owner = 'gone'")
[ "$LEFT" -gt 0 ] || { echo "QUEUED=$QUEUED rows ran out during the limit-64 run: raise QUEUED" >&2; exit 1; }
log "claims: limit 1 → $CLAIM1 tps, limit 16 → $CLAIM16 tps, limit 64 → $CLAIM64 tps"

python3 - "$DURATION" "$ROUNDS" "$SEQUENTIAL" "$QUEUED" "$BUILD" "$WORK/load.results" "$WORK/statements.tsv" "$CLAIM1" "$CLAIM16" "$WORK/idle.tsv" "$CLAIM64" "$TRIPS" "$IDLE_TRIPS" <<'PY'
import os, re, statistics, subprocess, sys, time
duration, rounds, sequential, queued, build, load, statements, claim1, claim16, idle, claim64, trips, idle_trips = sys.argv[1:14]
sequential = int(sequential)
rows = [line.split() for line in open(load) if line.strip()]
table, summary = [], []
for connections in ("16", "64"):
    mine = [r for r in rows if r[0] == connections]
    for r in mine:
        table.append(f"| {connections} | {r[1]} | {float(r[2]):.1f} | {float(r[4]):.1f} | {float(r[2]) - float(r[4]):.1f} | {float(r[3]):,.0f} | {float(r[5]):,.0f} |")
    added = statistics.median(float(r[2]) - float(r[4]) for r in mine)
    rps = statistics.median(float(r[3]) for r in mine)
    summary.append(f"| added p50 at {connections} connections (median of rounds) | {added:.1f} ms |")
    summary.append(f"| generations/s at {connections} connections (median of rounds) | {rps:,.0f} |")
calls = [(int(line.split("\t", 1)[0]), line.split("\t", 1)[1].strip()) for line in open(statements) if line.strip()]
total = sum(c for c, _ in calls)
# Each generation settles once: generations that ended in the window (a few of the load phase's may
# still have been admitted then), the divisor.
settled = sum(c for c, q in calls if "app_engine.finish_generation(" in q or "app_ledger.settle(" in q) or sequential
sequential = settled
idle_total = sum(int(line.split("\t", 1)[0]) for line in open(idle) if line.strip())
top = "\n".join(f"| {c / sequential:.2f} | `{q.replace('|', '/')}` |" for c, q in calls[:25])
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
section = f"""## Generations

Command: `DURATION={duration} ROUNDS={rounds} bash scripts/bench-generations.sh` ({build}; its own cluster with
`pg_stat_statements`; one `fake-providers`; default `HTTP_THREADS`, `PROVIDER_THREADS` and pool). wrk, the server,
the fake and PostgreSQL share the machine's 2 cores. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {cpu}.

Pipeline: `POST /v1/generations` with `Prefer: wait=30`, a text generation pinned to `openai` (JWT, admission:
plan and reserve, the row leased to this process, the provider call to the fake, settle, the text stored as an
asset, the row `succeeded`, the answer). Direct: the same chat completion `POST`ed to the fake's
`/openai/v1/chat/completions`. `wrk -t2 -c<connections> -d{duration}s --latency`, alternating order per round.

| connections | round | pipeline p50 ms | direct p50 ms | added p50 ms | pipeline req/s | direct req/s |
|---|---|---|---|---|---|---|
{chr(10).join(table)}

| figure | value |
|---|---|
{chr(10).join(summary)}
| database round trips per generation ({sequential} generations settled while {sys.argv[3]} ran one at a time; counted by the server: every statement or pipeline it sent, less an idle server's over as long) | {(int(trips) - int(idle_trips)) / sequential:.1f} (aim ≤ 3; {trips} and {idle_trips} idle) |
| statements per generation (the same run, `pg_stat_statements`: BEGIN, the scope's `set_config`, each statement and COMMIT, pipelined or not, less the idle server's) | {(total - idle_total) / sequential:.1f} ({total / sequential:.1f} before subtracting {idle_total} idle statements) |
| `SKIP LOCKED` claims/s, one row per claim (pgbench -c{os.environ.get("CLAIM_CLIENTS", "8")}, the worker's pipeline) | {float(claim1):,.0f} (target ≥ 2,000) |
| `SKIP LOCKED` claims/s, 16 rows per claim (the worker's batch) | {float(claim16) * 16:,.0f} ({float(claim16):,.0f} statements/s) |
| `SKIP LOCKED` claims/s, 64 rows per claim | {float(claim64) * 64:,.0f} ({float(claim64):,.0f} statements/s) |

Each claim is one transaction committed with `synchronous_commit = off` (the worker's claim does the
same: a claim lost to a crash of PostgreSQL only leaves its rows claimable again), sent as one pipeline
(BEGIN, the scope, the claim, COMMIT), walking claimable rows by lease expiry (migration 111), so a
claim neither waits for a WAL flush nor walks past the rows claimed before it; claiming in batches, as
the worker does, multiplies it further.

Statements per generation (`pg_stat_statements` calls / {sequential}, every role but the script's own, idle ones included):

| per generation | statement |
|---|---|
{top}
"""
path = "BENCHMARKS.md"
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
pattern = re.compile(r"^## Generations\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n"
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
print(section)
PY
