#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a throwaway server: every operation in openapi.yaml, every check
# on, a bounded number of examples, signed in as a fresh user. Fails on any failure schemathesis
# reports (a response the spec does not document, a server error, a schema the server disagrees with).
# Left out: signing out and deleting the account (they would end the run's own session) and the two
# event streams (they stay open by design; their contract is checked by the Swift tests), and
# uploads, whose bodies are files whose bytes (magic numbers), not a schema, decide the answer
# (AssetUploadTests and the hostile-input sweep cover them).
#
# SCHEMATHESIS: the schemathesis executable (scripts/test.sh installs it into the test venv).
# APISERVER_BIN: the apiserver to run (as scripts/readme-quickstart.sh). ST_MAX_EXAMPLES and
# ST_MAX_TIME bound the run (defaults 5 examples per operation, 100 seconds).
source "$(dirname "$0")/common.sh"
cd "$ROOT"

SCHEMATHESIS="${SCHEMATHESIS:-$ROOT/.build/venv/bin/schemathesis}"
WORK=$(mktemp -d /tmp/mw-schemathesis.XXXXXX)
chmod 755 "$WORK"
if [ -z "${APISERVER_BIN:-}" ] && [ -x "$ROOT/.build/debug/apiserver" ]; then
  export APISERVER_BIN="$ROOT/.build/debug/apiserver"
fi
PORT=$(free_port)
RUN_PID=""
finish() {
  local status=$?
  if [ -n "$RUN_PID" ]; then
    kill -TERM "$RUN_PID" 2>/dev/null || true
    wait "$RUN_PID" 2>/dev/null || true
  fi
  [ "$status" -eq 0 ] || { log "schemathesis: failed; the server's last output:"; tail -20 "$WORK/run.log" >&2 || true; }
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT

# run.sh starts in APP_ENV=development, whose sign-up and token limits are generous, so the run
# reaches the logic behind them instead of 429s.
RUN_DATA_DIR="$WORK/data" PORT=$PORT PG_PORT=$(free_port) HOST=127.0.0.1 bash "$ROOT/scripts/run.sh" > "$WORK/run.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 1200); do
  grep -qs "serving on" "$WORK/run.log" && break
  kill -0 "$RUN_PID" 2>/dev/null || { log "schemathesis: run.sh stopped before serving"; exit 1; }
  sleep 0.1
done
grep -qs "serving on" "$WORK/run.log" || { log "schemathesis: the server did not start within 120 s"; exit 1; }

API="http://127.0.0.1:$PORT"
TOKEN=$(curl -fsS -X POST "$API/auth/v1/signup" -H 'Content-Type: application/json' \
  -d "{\"email\":\"schemathesis-$RANDOM@example.com\",\"password\":\"correct horse battery\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -fsS -X POST "$API/v1/projects" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"schemathesis","budget_limit":"5"}' >/dev/null

log "schemathesis: every operation, all checks, ${ST_MAX_EXAMPLES:-5} examples each, at most ${ST_MAX_TIME:-100} s"
"$SCHEMATHESIS" --config-file "$ROOT/scripts/schemathesis.toml" run openapi.yaml --url "$API" -H "Authorization: Bearer $TOKEN" \
  --checks all --max-examples "${ST_MAX_EXAMPLES:-5}" --max-time "${ST_MAX_TIME:-100}" \
  --seed 1 --no-shrink --warnings off --request-timeout 20 \
  --exclude-operation-id deleteUser --exclude-operation-id logOut \
  --exclude-operation-id streamEvents --exclude-operation-id streamGenerationEvents --exclude-operation-id uploadAsset
