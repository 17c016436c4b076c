#!/usr/bin/env bash
# Start-to-ready time and idle memory of `apiserver serve` (issue #13: ≤ 100 ms, ≤ 20 MB), and where
# the resident memory is (per mapped file, and per section of the binary), written to the
# `## Footprint` section of BENCHMARKS.md.
#
# Each start: spawn, poll /readyz every millisecond until 200 (migrations applied), IDLE seconds idle,
# then read /proc (scripts/footprint.py). STARTS starts (default 7), medians reported.
# APISERVER_BIN=path measures that binary instead of building; BASELINE_BIN=path measures an older
# binary too, its starts alternating with the current one's, and adds the ratios.
# RANKS=1 also configures both tokenizer rank files (as scripts/run.sh does), which adds a row.
# COLD=1 drops each binary's pages from the page cache before every start (scripts/footprint.py).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages

STARTS=${STARTS:-7}
IDLE=${IDLE:-3}
bench_setup footprint
unset TIKTOKEN_CL100K_PATH TIKTOKEN_O200K_PATH

BINARIES=("current=$BIN")
[ -n "${BASELINE_BIN:-}" ] && BINARIES=("baseline=$BASELINE_BIN" "${BINARIES[@]}")
log "$STARTS starts of ${BINARIES[*]}"
python3 scripts/footprint.py "$API_PORT" "$STARTS" "$IDLE" "${BINARIES[@]}" >"$WORK/plain.json"
if [ "${RANKS:-0}" = 1 ]; then
  TIKTOKEN_CL100K_PATH=$(bash scripts/fetch-token-ranks.sh) TIKTOKEN_O200K_PATH=$(bash scripts/fetch-token-ranks.sh --o200k)
  export TIKTOKEN_CL100K_PATH TIKTOKEN_O200K_PATH
  log "again with both tokenizer rank files configured"
  python3 scripts/footprint.py "$API_PORT" "$STARTS" "$IDLE" "${BINARIES[@]}" >"$WORK/ranks.json"
fi

python3 - "$WORK/plain.json" "$WORK/ranks.json" "$STARTS" "$IDLE" <<'PY'
import json, os, re, subprocess, sys, time
plain = json.load(open(sys.argv[1]))
ranks = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else None
starts, idle = sys.argv[3], sys.argv[4]
cold = os.environ.get("COLD") == "1"
names = list(plain)
MiB = 1024
def figure(report, key, scale=MiB, unit="MiB"):
    s = report[key]
    return f"{s['median'] / scale:.1f} {unit} ({s['min'] / scale:.1f}–{s['max'] / scale:.1f})"
rows = [("start to first 200 from `/readyz` (median; min–max)", "ready_ms", 1, "ms"),
        (f"RSS {idle} s after ready", "rss_kb", MiB, "MiB"),
        ("of which anonymous", "anon_kb", MiB, "MiB"),
        ("of which file-backed", "file_kb", MiB, "MiB"),
        (f"peak RSS (VmHWM) in those {idle} s", "peak_kb", MiB, "MiB")]
def table(results, label):
    head = "| " + label + " | " + " | ".join(names) + (" | current / baseline |" if len(names) == 2 else " |")
    lines = [head, "|---" * (len(names) + 1 + (len(names) == 2)) + "|"]
    for title, key, scale, unit in rows:
        cells = [figure(results[name], key, scale, unit) for name in names]
        if len(names) == 2:
            cells.append(f"{results['current'][key]['median'] / results['baseline'][key]['median']:.2f}×")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
def breakdown(report, key, limit):
    items = sorted(report[key].items(), key=lambda item: -item[1])[:limit]
    return ", ".join(f"{name} {value / MiB:.2f}" for name, value in items if value >= 64)
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[0]
current = plain["current"]
section = f"""## Footprint

Command: `{'BASELINE_BIN=… ' if len(names) == 2 else ''}STARTS={starts}{' RANKS=1' if ranks else ''}{' COLD=1' if cold else ''} bash scripts/bench-footprint.sh` (release build with
`--static-swift-stdlib`, as deployed; its own cluster, migrations applied; no tokenizer rank files unless a row
says so). Each start spawns `apiserver serve`, polls `GET /readyz` every millisecond until it answers 200 (the
database answers and every migration file is applied with its checksum), waits {idle} s, then reads
`/proc/PID/status`, `smaps` and `pagemap` (scripts/footprint.py).{' Before every start the binary is dropped from the page cache (`COLD=1`: read from disk, as after a deploy).' if cold else ''} {starts} starts per binary{', alternating' if len(names) == 2 else ''}; medians
(min–max). Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {cpu}, load average {load} when it ended.

{table(plain, 'figure')}
"""
if ranks:
    section += f"\nWith both tokenizer rank files configured (`RANKS=1`, as `scripts/run.sh` does):\n\n{table(ranks, 'figure')}\n"
section += f"""
Where the current binary's resident memory is {idle} s after ready (medians, MiB): by mapping:
{breakdown(current, 'mappings_kb', 14)}.
By section of the binary ({current['bytes'] / 1e6:.1f} MB on disk): {breakdown(current, 'sections_kb', 8) or 'not read (needs root for pagemap)'}.
"""
path = "BENCHMARKS.md"
text = open(path).read()
notes_start = text.find("<!-- footprint-notes -->")
if notes_start >= 0:
    notes_end = text.find("<!-- /footprint-notes -->", notes_start)
    section += "\n" + text[notes_start:notes_end + len("<!-- /footprint-notes -->")] + "\n"
pattern = re.compile(r"^## Footprint\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n"
else:
    text = text.replace("\n## Assets\n", "\n" + section + "\n## Assets\n", 1) if "\n## Assets\n" in text else text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
print(section)
PY
