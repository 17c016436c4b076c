#!/usr/bin/env bash
# Where a chat completion's database time goes under concurrency: wrk keeps CONNECTIONS requests of
# `POST /v1/chat/completions` going for DURATION seconds against fake-providers, rotating the tokens
# of USERS users (each with a key and a default project), then prints the throughput and, with
# STATS=1, PostgreSQL's own statement times (pg_stat_statements with track = all, nested statements
# included: a statement that waits for a row lock shows the wait in its mean). One user's
# generations share one project, so they queue for its row; several users run side by side. WARMUP
# seconds (default 3) of the same load and an ANALYZE come first, as on a database that has been running.
# PERF=FILE also records a CPU profile of the server meanwhile (perf, 6 s), PG_PERF=FILE one of every
# PostgreSQL process (the backends the server's pool opened included). It also prints the CPU time
# per generation of the server, of PostgreSQL and of fake-providers, and the share of the machine's CPU
# time its host stole during the run (compare runs only when that is small), and the server's context
# switches per generation; TABLES=1 the rows it writes per generation, table by table; PLANS=FILE the
# plans of the run's statements (below); PERCENTILES=1 the latency at 50, 75, 90, 95, 97, 98, 99, 99.5 and
# 99.9 % (the tail behind wrk's four). BODY, BUDGET_LIMIT and UPSTREAM_URL (below) reproduce the peer harness's
# request, project and upstream. Not part of scripts/test.sh.
#
#   STATS=1 USERS=1 CONNECTIONS=64 bash scripts/profile-chat-database.sh
#
# APISERVER_BIN / FAKE_PROVIDERS_BIN: profile those binaries (release builds) instead of building.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages wrk

USERS=${USERS:-1}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
bench_setup chat-database
PSQL=(psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
[ "${STATS:-0}" = 1 ] && bench_statement_stats "${STATS_TRACK:-all}"
# PLANS=FILE: the plan of every statement of the measured run (nested ones included) that took at
# least PLANS_MIN_MS (default 0), from auto_explain, loaded into each new session (the server's pool
# connects after this); a plan that reads a growing table whole shows here before it shows in a profile.
if [ -n "${PLANS:-}" ]; then
  printf "%s\n" "session_preload_libraries = 'auto_explain'" "auto_explain.log_min_duration = '${PLANS_MIN_MS:-0}ms'" \
    "auto_explain.log_nested_statements = on" | as_postgres tee -a "$WORK/pg/data/postgresql.conf" >/dev/null
  "${PSQL[@]}" -c "select pg_reload_conf()" >/dev/null
fi
# PG_SETTINGS: extra postgresql.conf lines for the measured run ("wal_init_zero = off; commit_delay = 10"),
# applied by a reload, so only settings a reload changes take effect.
if [ -n "${PG_SETTINGS:-}" ]; then
  tr ';' '\n' <<<"$PG_SETTINGS" | sed 's/^ *//' | as_postgres tee -a "$WORK/pg/data/postgresql.conf" >/dev/null
  "${PSQL[@]}" -c "select pg_reload_conf()" >/dev/null
fi
bench_fake_providers
# UPSTREAM_URL: an OpenAI-compatible base URL to call instead of fake-providers (the peer harness's
# nginx, say: http://127.0.0.1:18901/v1, started by its run.sh or by bench-chat.sh).
[ -n "${UPSTREAM_URL:-}" ] && export OPENAI_BASE_URL="$UPSTREAM_URL"
# CALLGRIND=FILE: the server runs under valgrind's callgrind (about 50 times slower), counting the
# instructions it executes over the measured run only (zeroed after the warm-up, dumped after it) to
# FILE; it prints them per generation with the functions that execute most. Unlike CPU time, the
# count does not move with the host's load, so two builds can be compared on one run each. It counts
# user-space instructions of the server alone (not the kernel's work for it, nor PostgreSQL's).
if [ -n "${CALLGRIND:-}" ]; then
  install_packages valgrind
  valgrind --tool=callgrind --collect-atstart=yes --callgrind-out-file="$CALLGRIND" "$BIN" serve >"$WORK/server.log" 2>&1 &
  API_PID=$!
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$API_PORT/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs "http://127.0.0.1:$API_PORT/healthz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
else
  bench_serve || { cat "$WORK/server.log" >&2; exit 1; }
fi

# BODY: the request (default one short message); BUDGET_LIMIT: the default project's budget (none by default).
BODY=${BODY:-'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'}
TOKENS=()
for user in $(seq "$USERS"); do
  TOKEN=$(api POST /auth/v1/signup "{\"email\":\"chat-db-$user@example.com\",\"password\":\"correct horse battery staple\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  api POST /v1/api-keys "{\"provider\":\"openai\",\"label\":\"bench\",\"key\":\"sk-proj-$(printf 'a%.0s' $(seq 40))\"}" >/dev/null
  api POST /v1/chat/completions "$BODY" >/dev/null   # makes the default project
  TOKENS+=("\"$TOKEN\"")
done
if [ -n "${BUDGET_LIMIT:-}" ]; then
  "${PSQL[@]}" -c "update public.projects set budget_limit = ${BUDGET_LIMIT//[^0-9.]/} where is_default" >/dev/null
fi
{
  echo "tokens = {$(IFS=,; echo "${TOKENS[*]}")}"
  echo "i = 0"
  echo "request = function()"
  echo "  i = i + 1"
  echo "  return wrk.format('POST', '/v1/chat/completions', {['Content-Type'] = 'application/json',"
  echo "    ['Authorization'] = 'Bearer ' .. tokens[(i % #tokens) + 1]}, [[$BODY]])"
  echo "end"
  # PERCENTILES=1: the latency's tail in finer steps than wrk's own four.
  if [ "${PERCENTILES:-0}" = 1 ]; then
    echo "done = function(summary, latency, requests)"
    echo "  for _, p in ipairs({50, 75, 90, 95, 97, 98, 99, 99.5, 99.9}) do"
    echo "    io.write(string.format('percentile %5.1f%% %8.2fms\\n', p, latency:percentile(p) / 1000))"
    echo "  end"
    echo "end"
  fi
} >"$WORK/rotate.lua"
# A database that has been running: WARMUP seconds of the same load first (its rows are there when
# the measured run starts), then the planner statistics autovacuum would have gathered by then.
# load SECONDS [wrk options]: the run's load (CONNECTIONS connections rotating the users' tokens).
load() {
  local seconds=$1
  shift
  wrk -t"$(( CONNECTIONS < 2 ? 1 : 2 ))" -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s "$@" -s "$WORK/rotate.lua" \
    "http://127.0.0.1:$API_PORT/v1/chat/completions"
}
if [ "${WARMUP:-3}" -gt 0 ]; then
  load "${WARMUP:-3}" >/dev/null
fi
bench_analyze
[ -n "${CALLGRIND:-}" ] && callgrind_control -z "$API_PID" >/dev/null
[ "${STATS:-0}" = 1 ] && "${PSQL[@]}" -c "select pg_stat_statements_reset()" >/dev/null
[ -n "${PLANS:-}" ] && : >"$WORK/pg/server.log"
if [ -n "${PERF:-}" ]; then
  (sleep 2; perf record -q -F 999 -g -p "$API_PID" -o "$PERF" -- sleep 6 >/dev/null 2>&1) &
fi
if [ -n "${PG_PERF:-}" ]; then
  pg_pids="$(postmaster_pid),$(pgrep -d, -P "$(postmaster_pid)")"
  (sleep 2; perf record -q -F 999 -g -p "$pg_pids" -o "$PG_PERF" -- sleep 6 >/dev/null 2>&1) &
fi
log "$USERS user(s), $CONNECTIONS connections, ${DURATION}s"
PG_PID=$(postmaster_pid)
# What the database wrote meanwhile, which the machine's load does not change: WAL bytes, rows
# inserted, updated and deleted (each backend reports its counts within a second of going idle), and
# transactions (fewer per generation: larger groups at the project's writers).
WRITES_SQL="select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint || ' ' || (tup_inserted + tup_updated + tup_deleted)
                   || ' ' || (xact_commit + xact_rollback)
            from pg_stat_database where datname = 'postgres'"
read -r wal_before rows_before xacts_before <<<"$("${PSQL[@]}" -At -c "$WRITES_SQL")"
TABLES_SQL="select relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del from pg_stat_user_tables order by relname"
[ "${TABLES:-0}" = 1 ] && "${PSQL[@]}" -At -F' ' -c "$TABLES_SQL" >"$WORK/tables.before"
read -r api_before pg_before fake_before <<<"$(cpu_ticks "$API_PID") $(cpu_ticks "$PG_PID") $(cpu_ticks "$FAKE_PID")"
read -r steal_before total_before <<<"$(cpu_steal)"
# Context switches of the server's threads meanwhile: each is a hand-off between its threads or a wait.
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n + 0}'; }
switches_before=$(switches "$API_PID")
load "$DURATION" --latency >"$WORK/wrk.out"
if [ -n "${CALLGRIND:-}" ]; then
  callgrind_control -d "$API_PID" >/dev/null
  # The dump of the measured run is FILE.1 (the one valgrind writes when the server stops holds the rest).
  for _ in $(seq 100); do grep -qs "^totals:" "$CALLGRIND.1" && break; sleep 0.1; done
fi
switches_after=$(switches "$API_PID")
read -r steal_after total_after <<<"$(cpu_steal)"
[ -n "${PLANS:-}" ] && cp "$WORK/pg/server.log" "$PLANS"
read -r api_after pg_after fake_after <<<"$(cpu_ticks "$API_PID") $(cpu_ticks "$PG_PID") $(cpu_ticks "$FAKE_PID")"
sleep 2
read -r wal_after rows_after xacts_after <<<"$("${PSQL[@]}" -At -c "$WRITES_SQL")"
[ "${TABLES:-0}" = 1 ] && "${PSQL[@]}" -At -F' ' -c "$TABLES_SQL" >"$WORK/tables.after"
grep -E "Requests/sec|50%|99%|Non-2xx|Socket|^percentile" "$WORK/wrk.out" >&2
# CPU per generation of each process tree over the wrk run (PostgreSQL: the postmaster and its
# backends), in milliseconds: what bounds the throughput on this machine's cores.
python3 - "$(awk '/requests in/ {print $1}' "$WORK/wrk.out")" "$(getconf CLK_TCK)" \
  "$((api_after - api_before))" "$((pg_after - pg_before))" "$((fake_after - fake_before))" \
  "$((wal_after - wal_before))" "$((rows_after - rows_before))" "$((switches_after - switches_before))" "$((xacts_after - xacts_before))" <<'PY' >&2
import sys
requests, hz = int(sys.argv[1]), int(sys.argv[2])
api, pg, fake = (int(v) * 1000 / hz / max(requests, 1) for v in sys.argv[3:6])
wal, rows = (int(v) / max(requests, 1) for v in sys.argv[6:8])
print(f"CPU per generation: server {api:.2f} ms, PostgreSQL {pg:.2f} ms, fake-providers {fake:.2f} ms ({requests} generations)")
print(f"Written per generation: {wal:.0f} WAL bytes, {rows:.1f} rows inserted, updated or deleted; "
      f"{int(sys.argv[9]) / max(requests, 1):.2f} transactions")
print(f"Server context switches per generation: {int(sys.argv[8]) / max(requests, 1):.1f}")
PY
if [ -n "${CALLGRIND:-}" ]; then
  log "server instructions per generation (callgrind, user space): $(awk -v n="$(awk '/requests in/ {print $1}' "$WORK/wrk.out")" \
    '/^totals:/ {printf "%.0f", $2 / (n > 0 ? n : 1)}' "$CALLGRIND.1"); profile: callgrind_annotate $CALLGRIND.1"
fi
log "load average: $(cut -d' ' -f1-3 /proc/loadavg); host steal during the run: $(( (steal_after - steal_before) * 100 / (total_after - total_before > 0 ? total_after - total_before : 1) )) % of the machine's CPU time"
# The unit to read that figure in: the same PostgreSQL's CPU per transaction of pgbench's built-in
# TPC-B-like script (three updates, one insert and one read of small rows, prepared), on as many
# connections, for as long. TPCB=0 skips it.
if [ "${TPCB:-1}" = 1 ]; then
  pgbench_tpcb_init
  figures=$(pgbench_cpu "$CONNECTIONS" 1 tpcb) || exit 1
  read -r tps _ cpu <<<"$figures"
  log "pgbench TPC-B-like, same connections: ${tps%.*} tps, PostgreSQL $cpu ms CPU per transaction"
fi
if [ "${TABLES:-0}" = 1 ]; then
  # Rows written per generation, table by table; an update that is not HOT writes every index again.
  log "rows per generation by table (inserted, updated, of them HOT, deleted)"
  python3 - "$(awk '/requests in/ {print $1}' "$WORK/wrk.out")" "$WORK/tables.before" "$WORK/tables.after" <<'PY'
import sys
requests = max(int(sys.argv[1]), 1)
read = lambda path: {f[0]: [int(v) for v in f[1:]] for f in (line.split() for line in open(path)) if f}
before, after = read(sys.argv[2]), read(sys.argv[3])
for table, counts in sorted(after.items()):
    moved = [(a - b) / requests for a, b in zip(counts, before.get(table, [0] * 4))]
    if any(moved):
        print(f"  {table:32} ins {moved[0]:5.2f}  upd {moved[1]:5.2f}  hot {moved[2]:5.2f}  del {moved[3]:5.2f}")
PY
fi
if [ "${STATS:-0}" = 1 ]; then
  log "statements by total time (nested ones included; mean_ms includes lock waits)"
  "${PSQL[@]}" -c "select calls, round((total_exec_time / calls)::numeric, 3) as mean_ms, round(total_exec_time::numeric) as total_ms,
                          round(min_exec_time::numeric, 3) as min_ms, round(stddev_exec_time::numeric, 3) as sd_ms, toplevel, left(regexp_replace(query, '\s+', ' ', 'g'), 120) as query
                   from pg_stat_statements order by total_exec_time desc limit ${STATS_ROWS:-30}"
  log "functions by their own time (time in the functions they call excluded)"
  "${PSQL[@]}" -c "select calls, round((self_time / calls)::numeric, 3) as self_ms_per_call, round(self_time::numeric) as self_ms,
                          round(total_time::numeric) as total_ms, schemaname || '.' || funcname as function
                   from pg_stat_user_functions order by self_time desc limit 25"
fi
