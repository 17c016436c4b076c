#!/usr/bin/env bash
# Runs README.md's quickstart verbatim: every ```sh block that follows a `<!-- quickstart -->`
# line, in order, as one script, against a throwaway server and cluster that scripts/run.sh
# starts on free ports in a temporary folder. Fails on the first failing command (the blocks use
# `set -euo pipefail` and `curl -fsS`), so the quickstart cannot rot.
#
# APISERVER_BIN: the apiserver to run (default: the debug build, if there is one; else run.sh
# builds the release one).
source "$(dirname "$0")/common.sh"
cd "$ROOT"

WORK=$(mktemp -d /tmp/mw-quickstart.XXXXXX)
chmod 755 "$WORK"
python3 - README.md "$WORK/quickstart.sh" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"^<!-- quickstart -->\n```sh\n(.*?)^```", text, re.S | re.M)
if not blocks:
    sys.exit("readme-quickstart: README.md has no <!-- quickstart --> blocks")
with open(sys.argv[2], "w", encoding="utf-8") as out:
    out.write("set -euo pipefail\n" + "\n".join(blocks))
print(f"readme-quickstart: {len(blocks)} blocks", file=sys.stderr)
PY

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
  [ "$status" -eq 0 ] || { log "readme-quickstart: failed; the server's output:"; tail -40 "$WORK/run.log" >&2 || true; }
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT

RUN_DATA_DIR="$WORK/data" PORT=$PORT PG_PORT=$(free_port) HOST=127.0.0.1 bash "$ROOT/scripts/run.sh" > "$WORK/run.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 1200); do
  grep -qs "serving on" "$WORK/run.log" && break
  kill -0 "$RUN_PID" 2>/dev/null || { log "readme-quickstart: run.sh stopped before serving"; exit 1; }
  sleep 0.1
done
grep -qs "serving on" "$WORK/run.log" || { log "readme-quickstart: the server did not start within 120 s"; exit 1; }

API="http://127.0.0.1:$PORT" bash "$WORK/quickstart.sh"
log "readme-quickstart: the README quickstart ran verbatim against http://127.0.0.1:$PORT"
