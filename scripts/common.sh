#!/usr/bin/env bash
# Shared by run.sh, test.sh and the benchmark scripts: system packages and local PostgreSQL clusters.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SYSTEM_PACKAGES=(libmicrohttpd-dev libpq-dev libssl-dev libcurl4-openssl-dev libcrypt-dev pkg-config
                 postgresql postgresql-contrib curl ca-certificates python3 python3-venv)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Exports each variable a secrets file sets (read as `source` reads it: quotes, `export`) unless the
# environment already sets it, so a value given on the command line (a new APP_ENCRYPTION_SECRET for a
# rotation) wins over the file.
load_secrets() {
  local name value
  while IFS= read -r -d '' name && IFS= read -r -d '' value; do
    [ -n "${!name+set}" ] || export "$name=$value"
  done < <(env -i bash -c 'set -a; source "$1"; for n in $(compgen -e); do
             case "$n" in PWD|OLDPWD|SHLVL|_) ;; *) printf "%s\0%s\0" "$n" "${!n}" ;; esac; done' _ "$1")
}

# Installs the Debian packages the project needs, once: apt-get update only when something is missing.
install_packages() {
  local missing=()
  for package in "${SYSTEM_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then echo "run as root (or install: ${missing[*]})" >&2; exit 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v swift >/dev/null || { echo "swift is not on PATH (expected the Swift 6 toolchain at /opt/swift)" >&2; exit 1; }
}

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to 5 s for our server on 127.0.0.1:PORT to answer GET /healthz.
wait_for_health() {
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.05; done
  return 1
}

pg_bin() {
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  echo "/usr/lib/postgresql/$version/bin"
}

# PostgreSQL refuses to run as root, so cluster commands run as the unprivileged `postgres` user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# cluster_start DIR PORT: creates the cluster on first use, then starts it if it is not running.
cluster_start() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  mkdir -p "$dir/socket"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1" start >/dev/null
  fi
}

cluster_stop() {
  local dir=$1
  as_postgres "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# The benchmarks' common start (bench-reads.sh, bench-footprint.sh, bench-assets.sh): a work directory,
# the release binary, a throwaway cluster with the schema migrated, and a server on it.

# bench_binary: BIN, the server the benchmarks run: APISERVER_BIN when set, else a release build.
bench_binary() {
  if [ -n "${APISERVER_BIN:-}" ]; then
    BIN=$APISERVER_BIN
  else
    log "building (release)"
    swift build -c release --static-swift-stdlib --product apiserver 2>&1 | grep -E "error:|complete" | tail -2
    BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/apiserver"
  fi
}

# bench_setup NAME: WORK (a fresh /tmp/mw-NAME-* directory, removed on exit with the server and the
# cluster), API_PORT and PG_PORT (free now), BIN ($APISERVER_BIN, or the release build as deployed),
# a cluster on PG_PORT with every migration applied, and the server's environment exported
# (DATABASE_URL, secrets, PORT, LOG_LEVEL=warn). Export more before bench_serve if a benchmark needs it.
# KEEP_LOG=FILE copies the server's log there when the run ends (its directory is removed).
bench_setup() {
  WORK=$(mktemp -d "/tmp/mw-$1-XXXXXX")
  chmod 755 "$WORK"
  API_PORT=$(free_port)
  PG_PORT=$(free_port)
  trap bench_cleanup EXIT
  bench_binary
  cluster_start "$WORK/pg" "$PG_PORT"
  export MIGRATION_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  export DATABASE_URL="postgresql://authenticator@127.0.0.1:$PG_PORT/postgres" APP_ENV=development \
    JWT_SECRET="bench-secret-0123456789abcdefghijklmnopq" APP_ENCRYPTION_SECRET="bench-encryption-0123456789abcdefghijk" \
    PORT=$API_PORT LOG_LEVEL=warn
  # DB_SOCKET=1: the server reaches PostgreSQL on its Unix socket instead of TCP on loopback (run AB:
  # 0.01-0.05 ms off one connection's p50, nothing resolved at 64; run.sh keeps TCP, whose address
  # has no length limit where a socket's path under a deep checkout could pass 107 bytes).
  if [ "${DB_SOCKET:-0}" = 1 ]; then
    export DATABASE_URL="postgresql://authenticator@/postgres?host=$WORK/pg/socket&port=$PG_PORT"
  fi
  "$BIN" migrate >/dev/null
  bench_warm_wal
}

# bench_warm_wal: WAL segments to recycle, as a database that has been running has. A new cluster has
# none, so every 16 MB of WAL (about 2,300 chat completions) PostgreSQL creates a segment, zero-fills
# and flushes it while the commit that crossed into it, and every request queued behind that commit,
# waits: at one connection 1 % of requests took 36-100 ms instead of 2-5 (BENCHMARKS.md, run AB). A
# running database renames segments a checkpoint no longer needs instead (min_wal_size keeps 1 GB of
# them here); this makes 32 segments now and lets a checkpoint recycle them, about 3 s.
bench_warm_wal() {
  [ "${WARM_WAL:-1}" = 1 ] || return 0   # WARM_WAL=0: a new cluster as it comes, for comparison
  local psql=("$(pg_bin)/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
  "${psql[@]}" -c "alter system set min_wal_size = '1GB'" -c "select pg_reload_conf()" >/dev/null
  for _ in $(seq 32); do
    "${psql[@]}" -c "select pg_logical_emit_message(false, 'bench-warm-wal', '')" -c "select pg_switch_wal()" >/dev/null
  done
  "${psql[@]}" -c "checkpoint" >/dev/null
}

# bench_analyze: the planner statistics a running database has (autovacuum gathers them within a
# minute of the first writes), gathered now: a throwaway cluster a few seconds old has none, and
# without them the planner takes a user's few rows for many and scans that user's whole history for
# lookups by generation. Call once the run's users and first rows exist, before measuring.
bench_analyze() {
  "$(pg_bin)/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "analyze" >/dev/null
}

# bench_serve: starts `$BIN serve` in the background (API_PID; its output in $WORK/server.log) and
# waits until /healthz answers.
bench_serve() {
  "$BIN" serve >"$WORK/server.log" 2>&1 &
  API_PID=$!
  wait_for_health "$API_PORT"
}

# bench_fake_providers: starts `fake-providers` ($FAKE_PROVIDERS_BIN, or the release build) on a free
# FAKE_PORT (FAKE_PID; its log in $WORK/fake.log, stopped by bench_cleanup) and exports what points
# the server's OpenAI adapter, price list and storage at this run. Call before bench_serve.
bench_fake_providers() {
  FAKE_BIN=${FAKE_PROVIDERS_BIN:-"$(swift build -c release --static-swift-stdlib --show-bin-path)/fake-providers"}
  if [ -z "${FAKE_PROVIDERS_BIN:-}" ]; then
    swift build -c release --static-swift-stdlib --product fake-providers 2>&1 | grep -E "error:|complete" | tail -2
  fi
  FAKE_PORT=$(free_port)
  "$FAKE_BIN" --port "$FAKE_PORT" --threads 4 >"$WORK/fake.log" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 100); do grep -qs "listening" "$WORK/fake.log" && break; sleep 0.05; done
  export STORAGE_DIR="$WORK/storage" PRICING_CATALOG="$ROOT/pricing/catalog.json" OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/openai/v1"
}

# bench_statement_stats [TRACK]: pg_stat_statements in the bench cluster (it must be preloaded: one
# restart). TRACK=all also counts the statements inside functions, and function times.
bench_statement_stats() {
  local psql=("$(pg_bin)/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
  "${psql[@]}" -c "alter system set shared_preload_libraries = 'pg_stat_statements'" >/dev/null
  [ "${1:-top}" = all ] && "${psql[@]}" -c "alter system set track_functions = 'all'" >/dev/null
  as_postgres "$(pg_bin)/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -m fast -w restart \
    -o "-p $PG_PORT -k $WORK/pg/socket -c listen_addresses=127.0.0.1" >/dev/null
  "${psql[@]}" -c "create extension if not exists pg_stat_statements" >/dev/null
  [ "${1:-top}" = all ] && "${psql[@]}" -c "alter system set pg_stat_statements.track = 'all'" -c "select pg_reload_conf()" >/dev/null
  return 0
}

# The EXIT trap bench_setup sets: stops the server bench_serve started (and fake-providers), then the
# cluster, and removes WORK.
bench_cleanup() {
  if [ -n "${API_PID:-}" ]; then kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null || true; fi
  if [ -n "${FAKE_PID:-}" ]; then kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null || true; fi
  cluster_stop "$WORK/pg"
  [ -n "${KEEP_LOG:-}" ] && cp "$WORK/server.log" "$KEEP_LOG"; rm -rf "$WORK"
}

# cpu_ticks PID...: the user + system CPU time, in clock ticks, of these processes and every process
# below them, as /proc shows it now, with that of their children that exited and were waited for
# (PostgreSQL's backends of closed connections count through the postmaster).
cpu_ticks() {
  python3 - "$@" <<'PY'
import os, sys
parents, ticks = {}, {}
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        with open(f"/proc/{entry}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    parents[int(entry)] = int(fields[1])
    ticks[int(entry)] = sum(int(v) for v in fields[11:15])
def under(pid, roots):
    while pid > 1:
        if pid in roots:
            return True
        pid = parents.get(pid, 0)
    return False
roots = {int(p) for p in sys.argv[1:]}
print(sum(t for pid, t in ticks.items() if under(pid, roots)))
PY
}

# cpu_steal: the machine's "steal total" ticks from /proc/stat (time the host gave this virtual
# machine's CPUs to others, and all CPU time). Two readings around a run give the share stolen, which
# these shared machines swing through: a run that lost much is not comparable with one that lost none.
cpu_steal() {
  awk '/^cpu / {total = 0; for (i = 2; i <= NF; i++) total += $i; print $9, total; exit}' /proc/stat
}

# api METHOD PATH [BODY]: a JSON request to bench_serve's server, as $TOKEN when it is set; fails on
# an HTTP error.
api() { curl -fsS -X "$1" "http://127.0.0.1:$API_PORT$2" -H "Content-Type: application/json" ${TOKEN:+-H "Authorization: Bearer $TOKEN"} ${3:+-d "$3"}; }

# seed_local_generations PROJECT COUNT KIND...: COUNT generations of the offline provider in PROJECT
# (as $TOKEN), their kinds taken from KIND... in turn, then waits up to 30 s until all have succeeded.
seed_local_generations() {
  local project=$1 count=$2 i ended=0
  shift 2
  local kinds=("$@")
  for i in $(seq "$count"); do
    api POST /v1/generations "{\"project_id\":\"$project\",\"type\":\"${kinds[$((i % ${#kinds[@]}))]}\",\"prompt\":\"A “quoted” ünïcode prompt number $i\",\"provider\":\"local\"}" >/dev/null
  done
  for _ in $(seq 300); do
    ended=$(api GET "/v1/generations?status=succeeded&limit=100" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
    [ "$ended" -ge "$count" ] && return 0
    sleep 0.1
  done
  echo "only $ended of $count generations ended" >&2
  return 1
}

# postmaster_pid: the cluster's postmaster (bench_setup's cluster).
postmaster_pid() { as_postgres head -1 "$WORK/pg/data/postmaster.pid"; }

# pgbench_tpcb_init: pgbench's TPC-B-like tables (scale 4) in a database `tpcb` of bench_setup's
# cluster, the unit the database benchmarks read their figures in.
pgbench_tpcb_init() {
  as_postgres "$(pg_bin)/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "create database tpcb" >/dev/null
  as_postgres "$(pg_bin)/pgbench" -q -i -s 4 -h 127.0.0.1 -p "$PG_PORT" -U postgres tpcb >/dev/null 2>&1
}

# pgbench_cpu CLIENTS UNITS PGBENCH_ARGS...: pgbench, prepared, for DURATION seconds as `postgres` on
# bench_setup's cluster, each script run counting UNITS units; prints "units/s latency_ms cpu_ms":
# the rate, the mean latency of one script run, and the cluster's CPU per unit (its postmaster and
# backends, cpu_ticks). Fails with pgbench's output when pgbench fails.
pgbench_cpu() {
  local clients=$1 units=$2 before after out
  shift 2
  out=$(mktemp)
  before=$(cpu_ticks "$(postmaster_pid)")
  as_postgres "$(pg_bin)/pgbench" -n -M prepared -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" -T "$DURATION" \
    -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" >"$out" 2>&1 || { cat "$out" >&2; rm -f "$out"; return 1; }
  after=$(cpu_ticks "$(postmaster_pid)")
  python3 - "$units" "$DURATION" "$(getconf CLK_TCK)" "$((after - before))" \
    "$(awk '/number of transactions actually processed/ {print $NF}' "$out" | cut -d/ -f1)" \
    "$(awk '/latency average/ {print $4}' "$out")" <<'PY'
import sys
units, duration, hz, ticks, runs, latency = sys.argv[1:7]
done = int(runs) * int(units)
print(f"{done / int(duration):.1f} {float(latency):.3f} {int(ticks) * 1000 / int(hz) / max(done, 1):.3f}")
PY
  rm -f "$out"
}

# A throwaway cluster migrated by "$BIN" (`apiserver migrate`), for the query-plan benchmarks: sets
# WORK and PG_PORT, removes both on exit; psql_ then runs as the cluster's owner. $1 names the work folder.
plan_bench_cluster() {
  WORK=$(mktemp -d "/tmp/mw-$1-XXXXXX")
  chmod 755 "$WORK"
  PG_PORT=$(free_port)
  cluster_start "$WORK/pg" "$PG_PORT"
  trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
  export MIGRATION_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres" \
    DATABASE_URL="postgresql://authenticator@127.0.0.1:$PG_PORT/postgres" APP_ENV=development \
    JWT_SECRET="bench-secret-0123456789abcdefghijklmnopq" APP_ENCRYPTION_SECRET="bench-encryption-0123456789abcdefghijk"
  "$BIN" migrate >/dev/null 2>&1
}
psql_() { "$(pg_bin)/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres "$@"; }
