#!/usr/bin/env bash
# How the event streams' reads and a generation delete's cascade scale with a large events table,
# with the current indexes (migration 187's, the user's made (user_id, tx, id) by 191) and with the
# one index before 187 ((user_id, generation_id, id)), in one run. A throwaway cluster gets the schema (`apiserver migrate`) and 2 million events written
# directly (foreign keys off): one user with 1,000,000 over 100,000 generations, 199 users with
# 5,000 each, interleaved. Each read runs as the API plans it (a named statement, generic plan):
# a user's stream from its start for the large and for a small user, one generation's stream, and
# the lookup a cascade makes per deleted generation. Prints each plan's scan and execution time.
# APISERVER_BIN=path uses that binary for the migration (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
BIN=${APISERVER_BIN:-.build/debug/apiserver}
[ -x "$BIN" ] || { echo "no $BIN: swift build first, or set APISERVER_BIN" >&2; exit 1; }
plan_bench_cluster event-plans
log "writing 2,000,000 events"
psql_ <<'SQL'
set session_replication_role = replica;
insert into public.generation_events (user_id, generation_id, type, payload)
select '00000000-0000-0000-0000-000000000001'::uuid, ('00000000-0000-0000-0001-' || lpad(to_hex(i % 100000), 12, '0'))::uuid, 'progress', '{}'
from generate_series(1, 1000000) i;
insert into public.generation_events (user_id, generation_id, type, payload)
select ('00000000-0000-0000-0000-' || lpad(to_hex(2 + i % 199), 12, '0'))::uuid, ('00000000-0000-0000-0002-' || lpad(to_hex(i % 50000), 12, '0'))::uuid, 'progress', '{}'
from generate_series(1, 995000) i;
vacuum analyze public.generation_events;
SQL
reads() {
  log "$1"
  psql_ <<'SQL' | grep -E "^ *-- |Scan|Execution" | sed 's/^ *-- /  /' 
set plan_cache_mode = force_generic_plan;
prepare user_stream(bigint, uuid) as
  select e.id from public.generation_events e where (e.tx, e.id) > ('0'::xid8, $1) and e.user_id = $2 order by e.tx, e.id limit 200;
prepare generation_stream(bigint, uuid, uuid) as
  select e.id from public.generation_events e where e.id > $1 and e.generation_id = $3 and e.user_id = $2 order by e.id limit 200;
select '-- the large user''s stream from its start';
explain (analyze, costs off, timing off, summary on) execute user_stream(0, '00000000-0000-0000-0000-000000000001');
select '-- a small user''s stream from its start';
explain (analyze, costs off, timing off, summary on) execute user_stream(0, '00000000-0000-0000-0000-000000000009');
select '-- one generation''s stream (a small user''s)';
explain (analyze, costs off, timing off, summary on) execute generation_stream(0, '00000000-0000-0000-0000-000000000009', '00000000-0000-0000-0002-000000000007');
select '-- a deleted generation''s events (the cascade''s lookup)';
explain (analyze, costs off, timing off, summary on) select 1 from public.generation_events where generation_id = '00000000-0000-0000-0002-000000000007'::uuid;
SQL
}
reads "with the current indexes"
psql_ -c "drop index public.generation_events_user_tx_order_idx; drop index public.generation_events_generation_id_order_idx;
          create index generation_events_user_idx on public.generation_events (user_id, generation_id, id);"
psql_ -c "vacuum analyze public.generation_events"
reads "with the index before it, (user_id, generation_id, id)"
