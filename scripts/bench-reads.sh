#!/usr/bin/env bash
# Measures authenticated list reads against the database work behind them and writes the `## Reads`
# section of BENCHMARKS.md. In one run, alternating order: wrk on `GET /v1/projects?limit=20` (and
# `GET /v1/api-keys`) through the API, and pgbench running, on the same cluster, as the same login
# role and with the same number of clients, the very transaction the API ran for that request (read
# from PostgreSQL's statement log: BEGIN, the role and claims set_config, the list statement with
# its parameters, COMMIT). The same for `GET /v1/generations?limit=20` over ended generations of the
# offline provider. Also the idle RSS and start-to-ready time over several starts.
#
# APISERVER_BIN=path measures that binary instead of building (e.g. an older commit's, for a
# before/after comparison). PROFILE=1 adds a `perf record` of the server under the projects load
# (PROFILE_PATH=/v1/api-keys for the other list).
source "$(dirname "$0")/common.sh"
# The API names each statement once per connection and binds it after (Parse once, Bind/Execute
# each time): pgbench's prepared mode sends the same protocol. Each round also runs the statement
# parsed and planned every time (`-M extended`), the protocol the API used before, as a third figure.
cd "$ROOT"
install_packages wrk

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-4}
PROJECTS=${PROJECTS:-25}
LEDGER_PER_PROJECT=${LEDGER_PER_PROJECT:-12}
GENERATIONS=${GENERATIONS:-25}
STARTS=${STARTS:-7}
bench_setup reads
PSQL=("$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)

# Start-to-ready (spawn → first 200 from /readyz, migrations applied) and RSS after 3 s idle, per start.
STARTUP=$(python3 - "$BIN" "$API_PORT" "$STARTS" <<'PY'
import socket, statistics, subprocess, sys, time
binary, port, starts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ready, idle, peak, anon, files = [], [], [], [], []
def status(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
for _ in range(starts):
    start = time.perf_counter()
    process = subprocess.Popen([binary, "serve"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            pass
        time.sleep(0.001)
    ready.append((time.perf_counter() - start) * 1000)
    time.sleep(3)
    idle.append(status(process.pid, "VmRSS:"))
    peak.append(status(process.pid, "VmHWM:"))
    anon.append(status(process.pid, "RssAnon:"))
    files.append(status(process.pid, "RssFile:"))
    process.terminate()
    process.wait()
print(f"{statistics.median(ready):.1f} {min(ready):.1f} {max(ready):.1f} "
      f"{statistics.median(idle) / 1024:.1f} {min(idle) / 1024:.1f} {max(idle) / 1024:.1f} {statistics.median(peak) / 1024:.1f} "
      f"{statistics.median(anon) / 1024:.1f} {statistics.median(files) / 1024:.1f}")
PY
)
log "start to ready / idle RSS: $STARTUP"

bench_serve

# The reader: one user with projects (half monthly, half total budgets), ledger rows in each, and keys.
TOKEN=$(api POST /auth/v1/signup '{"email":"reader@example.com","password":"correct horse battery staple"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
for i in $(seq "$PROJECTS"); do
  period=$([ $((i % 2)) -eq 0 ] && echo monthly || echo total)
  api POST /v1/projects "{\"name\":\"Project $i – “quoted” \\\\ ünïcode\",\"description\":\"Bench project $i\",\"budget_limit\":\"$((i * 10)).50\",\"budget_period\":\"$period\"}" >/dev/null
done
"${PSQL[@]}" <<SQL
insert into public.budget_ledger (user_id, project_id, kind, amount, created_at)
select p.user_id, p.id, (array['charge', 'charge', 'charge', 'reservation', 'release'])[1 + n % 5],
       round((random() * 3)::numeric, 6), now() - (n || ' hours')::interval
from public.projects p cross join generate_series(1, $LEDGER_PER_PROJECT) n;
analyze;
SQL
KEYS=0
for provider in openai anthropic elevenlabs fal; do
  case $provider in
    openai) key="sk-proj-$(printf 'a%.0s' $(seq 40))" ;;
    anthropic) key="sk-ant-api03-$(printf 'b%.0s' $(seq 60))" ;;
    elevenlabs) key="sk_$(printf 'c%.0s' $(seq 48))" ;;
    fal) key="key-id-0123:$(printf 'd%.0s' $(seq 32))" ;;
  esac
  for n in 1 2 3; do
    api POST /v1/api-keys "{\"provider\":\"$provider\",\"label\":\"$provider key $n\",\"key\":\"$key$n\"}" >/dev/null 2>&1 && KEYS=$((KEYS + 1))
  done
done
# Ended generations of the offline provider (text: its answer, cost lines, candidates) in the first project.
FIRST_PROJECT=$(api GET "/v1/projects?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
seed_local_generations "$FIRST_PROJECT" "$GENERATIONS" text || exit 1
log "seeded $PROJECTS projects, $((PROJECTS * LEDGER_PER_PROJECT)) ledger rows, $KEYS api keys, $GENERATIONS generations"
bench_analyze   # the planner statistics a running database has (common.sh)

# One request of each kind with every statement logged, to copy the API's own transaction.
LOG_FILE="$WORK/pg/server.log"
"${PSQL[@]}" -c "alter system set log_statement = 'all'" -c "alter system set log_line_prefix = '@@%p@@ '" -c "select pg_reload_conf()" >/dev/null
sleep 0.5
capture() {  # capture NAME PATH MARKER: writes $WORK/NAME.sql and $WORK/NAME.vars from the logged transaction
  # that contains MARKER (other backends, the generation worker's polling above all, log transactions too)
  local offset
  offset=$(stat -c %s "$LOG_FILE")
  api GET "$2" >"$WORK/$1.json"
  sleep 0.5
  python3 - "$LOG_FILE" "$offset" "$WORK/$1" "$3" <<'PY'
import collections, re, sys
path, offset, out, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
text = open(path, encoding="utf-8").read()[offset:]
parts = re.split(r"^@@(\d+)@@ ", text, flags=re.M)[1:]
by_backend = collections.defaultdict(list)
for pid, entry in zip(parts[0::2], parts[1::2]):
    statements = by_backend[pid]
    executed = re.match(r"LOG:  execute [^:\s]+: ", entry)  # `<unnamed>` or the statement's name
    if executed:
        # The log indents continuation lines with a tab; the statement had none.
        statements.append([entry[executed.end():].rstrip("\n").replace("\n\t", "\n"), {}])
    elif entry.lower().startswith("detail:  parameters: ") and statements:
        for number, value in re.findall(r"\$(\d+) = (NULL|'(?:[^']|'')*')", entry):
            statements[-1][1][int(number)] = None if value == "NULL" else value[1:-1].replace("''", "'")
transaction = None
for statements in by_backend.values():
    for begin, (sql, _) in enumerate(statements):
        if sql.startswith("begin"):
            end = next((i for i in range(begin, len(statements)) if statements[i][0] == "commit"), None)
            if end is not None and any(marker in sql for sql, _ in statements[begin:end]):
                transaction = statements[begin:end + 1]
assert transaction, f"no logged transaction contains {marker!r}"
script, variables = [], []
for index, (sql, parameters) in enumerate(transaction):
    for number, value in parameters.items():
        assert value is not None
        variables.append(f"s{index}p{number}={value}")
    script.append(re.sub(r"\$(\d+)", lambda m: f":s{index}p{m.group(1)}", sql) + ";")
open(out + ".sql", "w").write("\n".join(script) + "\n")
open(out + ".vars", "w").write("\n".join(variables) + "\n")
# The same statements sent the way the API sends them: a one-statement read (BEGIN, the scope's
# set_config, the statement, COMMIT) all in one pipeline, one round trip (`readInUserScope`); a longer
# transaction has its first three in one pipeline and the rest one by one.
opened = len(script) if len(script) == 4 else min(3, len(script) - 1)
open(out + ".pipelined.sql", "w").write("\n".join(["\\startpipeline"] + script[:opened] + ["\\endpipeline"] + script[opened:]) + "\n")
PY
}
capture projects "/v1/projects?limit=20" "from public.projects p"
capture apikeys "/v1/api-keys" "from public.user_api_keys order by"
capture generations "/v1/generations?limit=20" "order by g.created_at desc, g.id desc"
"${PSQL[@]}" -c "alter system reset log_statement" -c "alter system reset log_line_prefix" -c "select pg_reload_conf()" >/dev/null
grep -q "request.jwt.claims" "$WORK/projects.sql" && [ -s "$WORK/projects.vars" ] || { echo "no parameters captured" >&2; exit 1; }
ROWS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]))' "$WORK/projects.json")
[ "$ROWS" -eq 20 ] || { echo "expected 20 projects in the page, got $ROWS" >&2; exit 1; }
ROWS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]))' "$WORK/generations.json")
[ "$ROWS" -eq 20 ] || { echo "expected 20 generations in the page, got $ROWS" >&2; exit 1; }
log "the API's transaction for GET /v1/projects?limit=20:"; cat "$WORK/projects.sql" >&2

api_rps() {  # api_rps PATH → requests/s (fails on any non-2xx answer)
  local out
  out=$(wrk -t2 -c"$CLIENTS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT$1")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers from $1: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
db_tps() {  # db_tps NAME [SCRIPT [MODE]] → transactions/s of the captured transaction (SCRIPT: sql or pipelined.sql)
  local defines=()
  while IFS= read -r line; do [ -n "$line" ] && defines+=(-D "$line"); done <"$WORK/$1.vars"
  local out
  out=$("$(pg_bin)/pgbench" -n -M "${3:-prepared}" -c "$CLIENTS" -j 2 -T "$DURATION" -f "$WORK/$1.${2:-sql}" "${defines[@]}" \
    -h 127.0.0.1 -p "$PG_PORT" -U authenticator postgres 2>&1)
  # Every transaction must have run as the API's did: no aborted client, no failed transaction.
  if grep -qiE "aborted|error" <<<"$out" || ! grep -qE "number of failed transactions: 0 " <<<"$out"; then
    echo "pgbench did not run the transaction cleanly: $out" >&2; exit 1
  fi
  awk '/^tps = / {print $3}' <<<"$out"
}
per_unit() {  # per_unit TICKS RATE → µs of CPU per unit of a DURATION-second run at RATE units/s
  python3 -c 'import os, sys; t, rate, d = (float(x) for x in sys.argv[1:]); print(round(t / os.sysconf("SC_CLK_TCK") / (rate * d) * 1e6))' \
    "$1" "$2" "$DURATION"
}
api_measured() {  # api_measured PATH → "req/s cpu-µs-per-request" (the server's own CPU time per request)
  local before after pg_before pg_after rps
  before=$(cpu_ticks "$API_PID"); pg_before=$(cpu_ticks "$PG_PID")
  rps=$(api_rps "$1")
  after=$(cpu_ticks "$API_PID"); pg_after=$(cpu_ticks "$PG_PID")
  log "$1: PostgreSQL $(per_unit "$((pg_after - pg_before))" "$rps") µs of CPU per request"
  echo "$rps $(per_unit "$((after - before))" "$rps")"
}
db_measured() {  # db_measured NAME → transactions/s of pgbench prepared, logging PostgreSQL's CPU per transaction
  local pg_before pg_after tps
  pg_before=$(cpu_ticks "$PG_PID")
  tps=$(db_tps "$1")
  pg_after=$(cpu_ticks "$PG_PID")
  log "$1 pgbench prepared: PostgreSQL $(per_unit "$((pg_after - pg_before))" "$tps") µs of CPU per transaction"
  echo "$tps"
}
measure() {  # measure NAME PATH → appends "api db pipelined cpu" per round to $WORK/NAME.results
  for round in $(seq "$ROUNDS"); do
    local api db pipelined parsed
    if [ $((round % 2)) -eq 1 ]; then
      api=$(api_measured "$2"); db=$(db_measured "$1"); pipelined=$(db_tps "$1" pipelined.sql); parsed=$(db_tps "$1" sql extended)
    else
      parsed=$(db_tps "$1" sql extended); pipelined=$(db_tps "$1" pipelined.sql); db=$(db_measured "$1"); api=$(api_measured "$2")
    fi
    echo "${api% *} $db $pipelined ${api#* } $parsed" >>"$WORK/$1.results"
    log "$2 round $round: API ${api% *} req/s (${api#* } µs of server CPU each), pgbench $db tps, pgbench pipelined as the API sends it $pipelined tps, parsed each time $parsed tps"
  done
}
PG_PID=$(postmaster_pid)
api_rps "/v1/projects?limit=20" >/dev/null   # warm-up
measure projects "/v1/projects?limit=20"
measure apikeys "/v1/api-keys"
measure generations "/v1/generations?limit=20"

PROFILE_TEXT=""
if [ "${PROFILE:-0}" = 1 ]; then
  wrk -t2 -c"$CLIENTS" -d"$((DURATION + 2))s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT${PROFILE_PATH:-/v1/projects?limit=20}" >/dev/null &
  WRK_PID=$!
  sleep 1
  perf record -q -F 999 -g -p "$API_PID" -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1
  wait "$WRK_PID"
  # perf report does not resolve this binary's symbols here, so samples are mapped with nm.
  PROFILE_TEXT=$(python3 - "$WORK/perf.data" "$BIN" <<'PY'
import bisect, collections, re, subprocess, sys
data, binary = sys.argv[1], sys.argv[2]
symbols = []
for line in subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True).stdout.splitlines():
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[1] in "tTwW":
        symbols.append((int(parts[0], 16), parts[2]))
starts = [address for address, _ in symbols]
# perf gives addresses in the binary as file offsets, nm virtual addresses: lld places the code
# segment a page above its file offset.
segments = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
code = re.search(r"LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+R E", segments)
delta = int(code.group(2), 16) - int(code.group(1), 16) if code else 0
script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"], capture_output=True, text=True).stdout
own, inclusive, samples, stack = collections.Counter(), collections.Counter(), 0, []
for line in script.splitlines() + [""]:
    line = line.strip()
    if line:
        ip, rest = line.split(" ", 1)
        sym, _, dso = rest.rpartition(" (")
        dso = dso.rstrip(")")
        if dso == binary or dso.endswith("/" + binary.split("/")[-1]):
            index = bisect.bisect_right(starts, int(ip, 16) + delta) - 1
            stack.append(symbols[index][1] if index >= 0 else ip)
        else:
            stack.append((sym.strip() if sym.strip() not in ("", "[unknown]") else ip) + " [" + dso.split("/")[-1] + "]")
        continue
    if stack:
        samples += 1
        own[stack[0]] += 1
        for name in set(stack):
            inclusive[name] += 1
    stack = []
names = sorted(set(own) | set(inclusive))
plain = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
readable = dict(zip(names, plain)) if len(plain) == len(names) else {}
print(f"{samples} samples. Self time:")
for name, count in own.most_common(20):
    print(f"{100 * count / samples:5.1f} %  {readable.get(name, name)[:140]}")
print("Inclusive (callees counted):")
for name, count in inclusive.most_common(70):
    print(f"{100 * count / samples:5.1f} %  {readable.get(name, name)[:140]}")
PY
)
  echo "$PROFILE_TEXT" >&2
fi

python3 - "$DURATION" "$CLIENTS" "$PROJECTS" "$((PROJECTS * LEDGER_PER_PROJECT))" "$KEYS" "$STARTUP" \
  "$WORK/projects.results" "$WORK/apikeys.results" "$WORK/projects.sql" "$PROFILE_TEXT" "$GENERATIONS" \
  "$WORK/generations.results" <<'PY'
import os, re, subprocess, sys, time
duration, clients, projects, ledger, keys, startup, projects_results, keys_results, sql, profile, generations, generations_results = sys.argv[1:13]
ready, ready_min, ready_max, idle, idle_min, idle_max, peak, anon, files = startup.split()
def rows(path):
    return [tuple(float(x) for x in line.split()) for line in open(path) if line.strip()]
def table(results):
    return "\n".join(f"| {i + 1} | {a:,.0f} | {d:,.0f} | {a / d:.2f} | {p:,.0f} | {a / p:.2f} | {e:,.0f} | {a / e:.2f} | {c:,.0f} |"
                     for i, (a, d, p, c, e) in enumerate(results))
def mean_ratio(results, column=1):
    return sum(r[0] / r[column] for r in results) / len(results)
projects_rows, keys_rows, generations_rows = rows(projects_results), rows(keys_results), rows(generations_results)
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
statement = open(sql).read().strip()
section = f"""## Reads

Command: `DURATION={duration} ROUNDS={len(projects_rows)} CLIENTS={clients} bash scripts/bench-reads.sh` (release build, default
`HTTP_THREADS` and pool; its own cluster). One user with {projects} projects (budgets half monthly, half total),
{ledger} ledger rows across them, {keys} stored API keys and {generations} ended text generations of the offline
provider. Each round runs, in alternating order,
`wrk -t2 -c{clients} -d{duration}s` through the API (JWT verified, RLS transaction, JSON) and
`pgbench -n -M prepared -c{clients} -j2 -T{duration}` with the transaction the API ran for the same request, copied
from PostgreSQL's statement log with its parameters (same login role `authenticator`), once statement by
statement (four round trips) and once as the API sends it (BEGIN, the `set_config`, the list statement and
COMMIT in one pipeline, `\\startpipeline`…`\\endpipeline`: one round trip); prepared, as the API names
each statement once per connection. A third run parses and plans every statement each time (`-M extended`,
four round trips), as the API did before it named its statements. wrk, pgbench, the
server and PostgreSQL share the machine's 2 cores. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {cpu}.

`GET /v1/projects?limit=20` (20 projects with budget summaries):

| round | API req/s | pgbench tps | ratio | pgbench pipelined tps | ratio | pgbench parsed each time tps | ratio | server CPU µs / request |
|---|---|---|---|---|---|---|---|---|
{table(projects_rows)}

`GET /v1/api-keys` ({keys} keys):

| round | API req/s | pgbench tps | ratio | pgbench pipelined tps | ratio | pgbench parsed each time tps | ratio | server CPU µs / request |
|---|---|---|---|---|---|---|---|---|
{table(keys_rows)}

`GET /v1/generations?limit=20` (20 ended generations, each with its candidates, cost lines and answer):

| round | API req/s | pgbench tps | ratio | pgbench pipelined tps | ratio | pgbench parsed each time tps | ratio | server CPU µs / request |
|---|---|---|---|---|---|---|---|---|
{table(generations_rows)}

| figure | value | target |
|---|---|---|
| projects list, API / pgbench (mean of rounds) | {mean_ratio(projects_rows):.2f}× | ≥ 0.8× (aim 0.9×) |
| projects list, API / pgbench pipelined as the API sends it | {mean_ratio(projects_rows, 2):.2f}× | |
| projects list, API / pgbench parsing each statement every time | {mean_ratio(projects_rows, 4):.2f}× | |
| API keys list, API / pgbench (mean of rounds) | {mean_ratio(keys_rows):.2f}× | |
| API keys list, API / pgbench pipelined as the API sends it | {mean_ratio(keys_rows, 2):.2f}× | |
| API keys list, API / pgbench parsing each statement every time | {mean_ratio(keys_rows, 4):.2f}× | |
| generations list, API / pgbench (mean of rounds) | {mean_ratio(generations_rows):.2f}× | |
| generations list, API / pgbench pipelined as the API sends it | {mean_ratio(generations_rows, 2):.2f}× | |
| start to first 200 from `/readyz`, migrations applied (median of starts; min–max) | {ready} ms ({ready_min}–{ready_max}) | ≤ 100 ms |
| RSS 3 s after ready (median; min–max) | {idle} MiB ({idle_min}–{idle_max}) | ≤ 20 MB |
| of which anonymous / file-backed (medians) | {anon} MiB / {files} MiB | |
| peak RSS in those 3 s (median) | {peak} MiB | |

The pgbench transaction for the projects list:

```sql
{statement}
```
"""
path = "BENCHMARKS.md"
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
notes_start = text.find("<!-- reads-notes -->")
notes = ""
if notes_start >= 0:
    notes_end = text.find("<!-- /reads-notes -->", notes_start)
    notes = text[notes_start:notes_end + len("<!-- /reads-notes -->")] + "\n"
section += "\n" + notes
pattern = re.compile(r"^## Reads\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n"
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
print(section)
if profile:
    print("perf record of the server under the projects load:\n" + profile)
PY
