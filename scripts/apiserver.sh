#!/usr/bin/env bash
# Runs the apiserver command line against the embedded default that scripts/run.sh set up: the
# cluster under ./data and the secrets in ./data/secrets.env. For example
#   bash scripts/apiserver.sh pricing import pricing/catalog.json
#   bash scripts/apiserver.sh rotate-encryption-key
# While run.sh is serving, its cluster is used as it is; otherwise the cluster is started for the
# command and stopped afterwards. Same overrides as run.sh: RUN_DATA_DIR, PG_PORT, APISERVER_BIN.
source "$(dirname "$0")/common.sh"
# No `cd`: a FILE argument is read from where the command is typed.

DATA="${RUN_DATA_DIR:-$ROOT/data}"
PG_PORT=${PG_PORT:-54329}
[ -f "$DATA/secrets.env" ] || { log "no $DATA/secrets.env: run scripts/run.sh once first, it creates the cluster and the secrets"; exit 1; }

if [ -n "${APISERVER_BIN:-}" ]; then
  BIN=$APISERVER_BIN
else
  swift build --package-path "$ROOT" -c release --static-swift-stdlib --product apiserver 2>&1 | grep -E "error:|complete" | tail -3 >&2
  BIN="$(swift build --package-path "$ROOT" -c release --static-swift-stdlib --show-bin-path)/apiserver"
fi

STARTED_CLUSTER=0
# The run.sh lock: when it is free no run.sh is serving, and this command owns the cluster for its
# duration (a run.sh started meanwhile is refused rather than having its cluster stopped under it).
exec 9>>"$DATA/run.lock"
if flock -n 9 && ! as_postgres "$(pg_bin)/pg_ctl" -D "$DATA/postgres/data" status >/dev/null 2>&1; then
  STARTED_CLUSTER=1
  trap 'cluster_stop "$DATA/postgres" 9>&-' EXIT
  cluster_start "$DATA/postgres" "$PG_PORT" 9>&-
fi

load_secrets "$DATA/secrets.env"
export APP_ENV=${APP_ENV:-development}
export MIGRATIONS_DIR=${MIGRATIONS_DIR:-$ROOT/migrations} PRICING_CATALOG=${PRICING_CATALOG:-$ROOT/pricing/catalog.json}
export OPENAPI_PATH=${OPENAPI_PATH:-$ROOT/openapi.yaml} API_DOCS_PATH=${API_DOCS_PATH:-$ROOT/docs/api.html}
export MIGRATION_DATABASE_URL=${MIGRATION_DATABASE_URL:-postgresql://postgres@127.0.0.1:$PG_PORT/mediaworkspace}
export DATABASE_URL=${DATABASE_URL:-postgresql://authenticator@127.0.0.1:$PG_PORT/mediaworkspace}
# The instance's blobs (as run.sh serves them), wherever the command is typed from: `storage gc` must see them.
export STORAGE_DIR=${STORAGE_DIR:-$DATA/storage}

if [ "$STARTED_CLUSTER" = 1 ]; then
  "$BIN" "$@"
else
  exec "$BIN" "$@"
fi
