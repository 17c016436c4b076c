#!/usr/bin/env bash
# What the ledger functions cost PostgreSQL, before and after a migration, in one run: one throwaway
# cluster holds two databases, `before` (the migrations up to BASE, default 184) and `after` (all of
# them), seeded alike and warmed (a second of each transaction, then ANALYZE), and pgbench runs the
# same transactions against each in turn, ROUNDS times, for DURATION seconds each. Figures are the
# cluster's CPU per generation (its postmaster and backends, so pgbench's own work is not counted) and
# the mean latency of one script run, with their medians over the rounds and after/before ratios
# taken round by round. Not part of scripts/test.sh;
# BENCHMARKS.md ("Chat completions beside LiteLLM", run Z) reads these figures.
#
# Transactions, each as the server sends it (role and claims set first, then the call), one user
# and one project without limits:
#   empty         the set-up and an empty select: the floor every transaction pays
#   reserve       a lone admission's reservation (app_ledger.reserve)
#   reserve+settle  the same, then its charge in a second transaction (app_ledger.settle)
#   group of 8    eight reservations in one call (reserve_group), then their ends (end_group)
#
#   ROUNDS=3 DURATION=5 BASE=184 bash scripts/bench-ledger-functions.sh
#
# APISERVER_BIN: the binary whose `migrate` applies the migrations (a release build otherwise).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
BASE=${BASE:-184}
case "$BASE" in *[!0-9]*|'') echo "BASE must be a migration number" >&2; exit 2 ;; esac
WORK=$(mktemp -d /tmp/mw-ledger-functions-XXXXXX)
chmod 755 "$WORK"
PG_PORT=$(free_port)
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
bench_binary
cluster_start "$WORK/pg" "$PG_PORT"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)

# The `before` schema: the migrations up to BASE, linked into a folder of their own.
mkdir "$WORK/migrations-before"
for file in migrations/*.sql; do
  number=$(basename "$file" | cut -d_ -f1)
  [ "$((10#$number))" -le "$BASE" ] && ln -s "$ROOT/$file" "$WORK/migrations-before/"
done
USER_ID=00000000-0000-4000-8000-000000000001
PROJECT_ID=00000000-0000-4000-8000-000000000002
for db in before after; do
  "${PSQL[@]}" -d postgres -c "create database $db"
  dir=migrations
  [ "$db" = before ] && dir="$WORK/migrations-before"
  MIGRATIONS_DIR=$dir MIGRATION_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$db" \
    DATABASE_URL="postgresql://authenticator@127.0.0.1:$PG_PORT/$db" APP_ENV=development \
    JWT_SECRET="bench-secret-0123456789abcdefghijklmnopq" APP_ENCRYPTION_SECRET="bench-encryption-0123456789abcdefghijk" \
    LOG_LEVEL=warn "$BIN" migrate >/dev/null
  "${PSQL[@]}" -d "$db" -c "insert into auth.users (id, email) values ('$USER_ID', 'bench@example.com')" \
    -c "insert into public.projects (id, user_id, name) values ('$PROJECT_ID', '$USER_ID', 'bench')"
done
log "before: migrations up to $(ls "$WORK/migrations-before" | tail -1); after: up to $(ls migrations | tail -1)"

SETUP="select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{\"sub\":\"$USER_ID\",\"role\":\"authenticated\"}', true), set_config('request.jwt.claim.sub', '$USER_ID', true);"
RESERVE="select g.id as generation from (select gen_random_uuid() as id) g, app_ledger.reserve('$PROJECT_ID', g.id, 0.0000123, 'openai') r where r.scope = 'project' and r.admitted \\gset"
cat >"$WORK/empty.sql" <<SQL
begin;
$SETUP
select 1;
commit;
SQL
cat >"$WORK/reserve.sql" <<SQL
begin;
$SETUP
$RESERVE
commit;
SQL
cat >"$WORK/reserve-settle.sql" <<SQL
begin;
$SETUP
$RESERVE
commit;
begin;
$SETUP
select entry_id from app_ledger.settle(:generation::uuid, 0.0000081, 'openai') limit 1;
commit;
SQL
cat >"$WORK/group.sql" <<SQL
begin;
$SETUP
select array_agg(gen_random_uuid()) as ids from generate_series(1, 8) \\gset
select count(*) filter (where admitted) as admitted from app_ledger.reserve_group('$PROJECT_ID', :ids::uuid[], array_fill(0.0000123, array[8]), array_fill('openai'::text, array[8])) where scope = 'project' \\gset
commit;
begin;
$SETUP
select count(*) from app_ledger.end_group(:ids::uuid[], array_fill(0.0000081, array[8]), array_fill(null::text, array[8]));
commit;
SQL

# One pgbench run: "cpu_ms_per_generation latency_ms_per_script_run".
measure() {
  local db=$1 script=$2 units=$3 rate latency cpu
  read -r rate latency cpu <<<"$(pgbench_cpu 1 "$units" -f "$WORK/$script.sql" "$db")" || exit 1
  [ "${rate%.*}" -gt 0 ] || { echo "no transactions ran ($db, $script)" >&2; exit 1; }
  echo "$cpu $latency"
}
# A database that has been running (docs/accounting-throughput.md, "Measuring it"): a second of each
# transaction on both, then the planner statistics autovacuum would have gathered by then.
for workload in "empty 1" "reserve 1" "reserve-settle 1" "group 8"; do
  read -r script units <<<"$workload"
  for db in before after; do DURATION=1 measure "$db" "$script" "$units" >/dev/null; done
done
for db in before after; do "${PSQL[@]}" -d "$db" -c "analyze"; done
RESULTS="$WORK/results"
for round in $(seq "$ROUNDS"); do
  for workload in "empty 1" "reserve 1" "reserve-settle 1" "group 8"; do
    read -r script units <<<"$workload"
    for db in before after; do
      read -r cpu latency <<<"$(measure "$db" "$script" "$units")"
      echo "$round $script $db $cpu $latency" | tee -a "$RESULTS" >&2
    done
  done
done
python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    round_, script, db, cpu, latency = line.split()
    rows[(script, round_)][db] = (float(cpu), float(latency))
print("| transaction | PostgreSQL CPU ms per generation, before / after (median) | after / before | latency ms per run, before / after | after / before |")
print("|---|---|---|---|---|")
for script in ["empty", "reserve", "reserve-settle", "group"]:
    rounds = [v for (s, _), v in sorted(rows.items()) if s == script]
    med = lambda db, i: statistics.median(r[db][i] for r in rounds)
    ratio = lambda i: statistics.median(r["after"][i] / r["before"][i] for r in rounds)
    name = {"group": "group of 8 (per generation)"}.get(script, script)
    print(f"| {name} | {med('before', 0):.3f} / {med('after', 0):.3f} | {ratio(0):.2f} | "
          f"{med('before', 1):.3f} / {med('after', 1):.3f} | {ratio(1):.2f} |")
PY
log "load average: $(cut -d' ' -f1-3 /proc/loadavg); host steal is not measured here: compare only ratios"
