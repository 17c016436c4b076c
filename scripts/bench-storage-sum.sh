#!/usr/bin/env bash
# What the storage quota's sum of a user's asset sizes costs with a large assets table, with
# migration 189's index (user_id, created_at, id) INCLUDE (bytes) and with the index before it
# (the same keys without the sizes), in one run. A throwaway cluster gets the schema (`apiserver
# migrate`) and 1,000,000 assets written directly (foreign keys off): one user with 200,000, 320
# users with 2,500 each, interleaved as they would arrive. The sum runs as the API sends it (a
# named statement, generic plan) for the large and for a small user; prints each plan's scan,
# heap fetches and execution time. APISERVER_BIN=path uses that binary for the migration.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
BIN=${APISERVER_BIN:-.build/debug/apiserver}
[ -x "$BIN" ] || { echo "no $BIN: swift build first, or set APISERVER_BIN" >&2; exit 1; }
plan_bench_cluster storage-sum
log "writing 1,000,000 assets"
psql_ <<'SQL'
set session_replication_role = replica;
with rows as (
    select i, case when i % 5 = 0 then '00000000-0000-0000-0000-000000000001'::uuid
                   else ('00000000-0000-0000-0000-' || lpad(to_hex(2 + i % 400), 12, '0'))::uuid end as owner,
           md5(i::text) || md5((i + 1)::text) as hex
    from generate_series(1, 1000000) i
)
insert into public.assets (user_id, project_id, kind, content_type, bytes, sha256, storage_key, name, source, created_at)
select owner, owner, 'image', 'image/png', 1000 + i % 5000, hex,
       'users/' || owner::text || '/sha256/' || substr(hex, 1, 2) || '/' || substr(hex, 3, 2) || '/' || hex,
       'a' || i, 'uploaded', now() - (1000000 - i) * interval '1 second'
from rows;
vacuum analyze public.assets;
SQL
sums() {
  log "$1"
  psql_ <<'SQL' | grep -E "^ *-- |Scan|Heap Fetches|Execution" | sed 's/^ *-- /  /'
set plan_cache_mode = force_generic_plan;
prepare stored(uuid) as select coalesce(sum(a.bytes), 0)::bigint from public.assets a where a.user_id = $1;
select '-- the large user (200,000 assets)';
explain (analyze, costs off, timing off, summary on) execute stored('00000000-0000-0000-0000-000000000001');
explain (analyze, costs off, timing off, summary on) execute stored('00000000-0000-0000-0000-000000000001');
select '-- a small user (2,500 assets)';
explain (analyze, costs off, timing off, summary on) execute stored('00000000-0000-0000-0000-000000000009');
explain (analyze, costs off, timing off, summary on) execute stored('00000000-0000-0000-0000-000000000009');
SQL
}
sums "with migration 189's index, (user_id, created_at, id) include (bytes)"
psql_ -c "drop index public.assets_user_created_bytes_idx; create index assets_user_created_idx on public.assets (user_id, created_at desc, id desc);"
psql_ -c "vacuum analyze public.assets"
sums "with the index before it, (user_id, created_at, id)"
