#!/usr/bin/env bash
# What the lean write set could save, measured before it is built: profile-chat-database.sh run
# PAIRS times each (alternated, so the host's drift falls on both) on the real schema and on the real
# schema with scripts/experiments/lean-ledger-bound.sql applied after it (the lone path without
# ledger or scope entries; see that file: an upper bound, not a design). CONNECTIONS defaults to 1,
# where every admission and end is a lone one and the experiment covers the whole path.
#
# PostgreSQL's CPU per generation is also given over the server's: the experiment does not change
# the server's work, so that ratio cancels most of the host's speed changes between runs.
#
#   PAIRS=3 bash scripts/bench-lean-ledger-bound.sh
#
# APISERVER_BIN / FAKE_PROVIDERS_BIN: use those release builds instead of building. Not part of scripts/test.sh.
source "$(dirname "$0")/common.sh"
cd "$ROOT"

PAIRS=${PAIRS:-3}
CONNECTIONS=${CONNECTIONS:-1}
DURATION=${DURATION:-10}
if [ -z "${APISERVER_BIN:-}" ]; then
  log "building (release)"
  swift build -c release --static-swift-stdlib --product apiserver 2>&1 | grep -E "error:|complete" | tail -2
  export APISERVER_BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/apiserver"
fi
if [ -z "${FAKE_PROVIDERS_BIN:-}" ]; then
  swift build -c release --static-swift-stdlib --product fake-providers 2>&1 | grep -E "error:|complete" | tail -2
  export FAKE_PROVIDERS_BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/fake-providers"
fi

SCHEMAS=$(mktemp -d /tmp/mw-lean-bound-XXXXXX)
trap 'rm -rf "$SCHEMAS"' EXIT
mkdir "$SCHEMAS/today" "$SCHEMAS/lean"
cp migrations/*.sql "$SCHEMAS/today/"
cp migrations/*.sql "$SCHEMAS/lean/"
cp scripts/experiments/lean-ledger-bound.sql "$SCHEMAS/lean/999_lean_ledger_bound.sql"

# run SCHEMA: one profile run; prints "p50_ms requests_per_s server_ms postgres_ms rows wal_bytes".
run() {
  local out
  out=$(MIGRATIONS_DIR="$SCHEMAS/$1" TPCB=0 CONNECTIONS="$CONNECTIONS" DURATION="$DURATION" USERS=1 \
    bash scripts/profile-chat-database.sh 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
  python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
def find(pattern):
    m = re.search(pattern, text)
    if not m:
        sys.exit("profile-chat-database.sh gave no figures:\n" + text[-2000:])
    return m.groups()
p50, unit = find(r"50%\s+([\d.]+)(us|ms|s)\b")
p50 = float(p50) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps, = find(r"Requests/sec:\s+([\d.]+)")
server, pg = find(r"server ([\d.]+) ms, PostgreSQL ([\d.]+) ms")
wal, rows = find(r"Written per generation: (\d+) WAL bytes, ([\d.]+) rows")
steal, = find(r"host steal during the run: (\d+) %")
print(f"{p50:.2f} {rps} {server} {pg} {rows} {wal} {steal}")
PY
}

log "$PAIRS alternated pairs at $CONNECTIONS connection(s), ${DURATION}s each"
printf '%-6s %8s %9s %10s %12s %7s %7s %9s %6s\n' schema p50_ms req/s server_ms postgres_ms pg/srv rows wal_bytes steal%
results=()
for pair in $(seq "$PAIRS"); do
  for schema in lean today; do
    read -r p50 rps server pg rows wal steal <<<"$(run "$schema")" || exit 1
    ratio=$(python3 -c "print(f'{$pg / $server:.2f}')")
    printf '%-6s %8s %9s %10s %12s %7s %7s %9s %6s\n' "$schema" "$p50" "$rps" "$server" "$pg" "$ratio" "$rows" "$wal" "$steal"
    results+=("$schema $p50 $pg $ratio")
  done
done
python3 - "${results[@]}" <<'PY'
import statistics, sys
runs = [r.split() for r in sys.argv[1:]]
def mean(schema, i):
    return statistics.mean(float(r[i]) for r in runs if r[0] == schema)
for i, name in ((1, "p50"), (2, "PostgreSQL CPU per generation"), (3, "PostgreSQL CPU over the server's")):
    print(f"lean / today, {name}: {mean('lean', i) / mean('today', i):.2f}x")
PY
