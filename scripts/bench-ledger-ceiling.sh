#!/usr/bin/env bash
# What PostgreSQL can do for one project's generations, whatever our server does: the leanest write
# set a generation's accounting needs, run by pgbench on a throwaway cluster beside pgbench's built-in
# TPC-B-like transaction (the unit), in one run. Not part of scripts/test.sh; BENCHMARKS.md
# ("Chat completions beside LiteLLM", "What the floors need") reads these figures.
#
# The lean write set, per generation (8 row writes in 2 transactions, no triggers, foreign keys,
# row security or PL/pgSQL):
#   admission: lock the project's, the user's and the provider's summary rows in a fixed order,
#              add the estimate to their `reserved`, insert the generation row (running);
#   settlement: lock the same rows, update the generation (succeeded, cost, usage, output),
#               move the estimate from `reserved` to the cost in `spent`.
# "batched": the same, for BATCH generations per transaction pair (one writer per project holding the
# rows once per batch): multi-row insert and update, one summary update per scope.
#
# Every unit is one generation (lean) or one transaction (TPC-B); PostgreSQL's CPU is its process
# tree's user + system time over the run.
#
#   CLIENTS="1 10 64" BATCH=16 DURATION=8 bash scripts/bench-ledger-ceiling.sh
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages

CLIENTS=${CLIENTS:-"1 10 64"}
BATCH=${BATCH:-16}
DURATION=${DURATION:-8}
WORK=$(mktemp -d /tmp/mw-ledger-ceiling-XXXXXX)
chmod 755 "$WORK"
PG_PORT=$(free_port)
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
cluster_start "$WORK/pg" "$PG_PORT"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
"${PSQL[@]}" <<'SQL'
create table scope_totals (
    user_id uuid not null, scope text not null, reserved numeric not null default 0, spent numeric not null default 0,
    budget numeric, primary key (user_id, scope));
create table generations (
    id uuid primary key default gen_random_uuid(), user_id uuid not null, project_id uuid not null, status text not null,
    model text not null, estimate numeric not null, cost numeric, usage jsonb, output_text text,
    created_at timestamptz not null default now(), updated_at timestamptz not null default now(), finished_at timestamptz);
create index generations_user_created_idx on generations (user_id, created_at desc, id desc);
-- As the engine's claim indexes: the running ones, which the batched settlement picks up.
create index generations_running_idx on generations (user_id) where status = 'running';
insert into scope_totals (user_id, scope, budget) values
    ('00000000-0000-0000-0000-000000000001', 'project-1', 1000000),
    ('00000000-0000-0000-0000-000000000001', 'user', null),
    ('00000000-0000-0000-0000-000000000001', 'provider-openai', null);
SQL
pgbench_tpcb_init

USER_ID="'00000000-0000-0000-0000-000000000001'"
SCOPES="user_id = $USER_ID and scope in ('project-1', 'user', 'provider-openai')"
LOCK="select count(*) as locked from (select from scope_totals where $SCOPES order by scope for no key update) l \\gset"
cat >"$WORK/lean.sql" <<SQL
begin;
$LOCK
update scope_totals set reserved = reserved + 0.0000123 where $SCOPES and (budget is null or spent + reserved + 0.0000123 <= budget);
insert into generations (user_id, project_id, status, model, estimate) values ($USER_ID, '00000000-0000-0000-0000-000000000002', 'running', 'gpt-4o-mini', 0.0000123) returning id \\gset
commit;
begin;
$LOCK
update generations set status = 'succeeded', cost = 0.0000081, usage = '{"prompt_tokens": 12, "completion_tokens": 9}', output_text = 'Hello! How can I help you today?', finished_at = now(), updated_at = now() where id = :id;
update scope_totals set reserved = reserved - 0.0000123, spent = spent + 0.0000081 where $SCOPES;
commit;
SQL
cat >"$WORK/batched.sql" <<SQL
begin;
$LOCK
update scope_totals set reserved = reserved + $BATCH * 0.0000123 where $SCOPES and (budget is null or spent + reserved + $BATCH * 0.0000123 <= budget);
insert into generations (user_id, project_id, status, model, estimate) select $USER_ID, '00000000-0000-0000-0000-000000000002', 'running', 'gpt-4o-mini', 0.0000123 from generate_series(1, $BATCH);
commit;
begin;
$LOCK
update generations set status = 'succeeded', cost = 0.0000081, usage = '{"prompt_tokens": 12, "completion_tokens": 9}', output_text = 'Hello! How can I help you today?', finished_at = now(), updated_at = now() where id in (select id from generations where status = 'running' and user_id = $USER_ID limit $BATCH for update skip locked);
update scope_totals set reserved = reserved - $BATCH * 0.0000123, spent = spent + $BATCH * 0.0000081 where $SCOPES;
commit;
SQL

# run NAME CLIENTS UNITS_PER_TRANSACTION PGBENCH_ARGS...: one line of figures.
run() {
  local name=$1 clients=$2 units=$3 figures rate latency cpu
  shift 3
  figures=$(pgbench_cpu "$clients" "$units" "$@") || exit 1
  read -r rate latency cpu <<<"$figures"
  printf '| %s | %s | %.0f | %.2f | %s |\n' "$name" "$clients" "$rate" "$latency" "$cpu"
}
echo "| workload | clients | units/s | latency ms per script run | PostgreSQL CPU ms per unit |"
echo "|---|---|---|---|---|"
for clients in $CLIENTS; do
  run "TPC-B-like (unit: transaction)" "$clients" 1 tpcb
  run "lean, one generation per transaction pair" "$clients" 1 -f "$WORK/lean.sql" postgres
done
for clients in 1 2; do
  run "lean, $BATCH generations per transaction pair" "$clients" "$BATCH" -f "$WORK/batched.sql" postgres
done
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
