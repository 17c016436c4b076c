#!/usr/bin/env bash
# Writes scripts/startup-order.txt: the functions of `apiserver` that run from start until the
# server is ready and then idle (readiness, the vault key derivation beside serving, one
# connection, the listener), as lld's `--symbol-ordering-file` reads them (Package.swift lays them
# out first, together). Measured with valgrind's callgrind on a release build, its own cluster.
#
# Regenerate it when start-up changes; a stale list costs only locality (lld skips names it does
# not find), never correctness. BIN=path uses that binary instead of building one. Functions the
# compiler emits without a symbol cannot be listed; scripts/startup-order.ld gathers those instead.
# To see what a start touches outside the ordered block, record its page faults:
# `perf record -e page-faults -c 1 -d -g -- apiserver serve` (each fault maps a 64 KiB window).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages valgrind

WORK=$(mktemp -d /tmp/mw-order-XXXXXX)
chmod 755 "$WORK"
API_PORT=$(free_port)
PG_PORT=$(free_port)
cleanup() {
  [ -n "${VG_PID:-}" ] && kill "$VG_PID" 2>/dev/null && wait "$VG_PID" 2>/dev/null
  cluster_stop "$WORK/pg"
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${BIN:-}" ]; then
  log "building (release)"
  swift build -c release --static-swift-stdlib --product apiserver 2>&1 | grep -E "error:|complete" | tail -2
  BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/apiserver"
fi

cluster_start "$WORK/pg" "$PG_PORT"
export MIGRATION_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
export DATABASE_URL="postgresql://authenticator@127.0.0.1:$PG_PORT/postgres" APP_ENV=development \
  JWT_SECRET="order-secret-0123456789abcdefghijklmnopq" APP_ENCRYPTION_SECRET="order-encryption-0123456789abcdefghijk" \
  PORT=$API_PORT LOG_LEVEL=warn
unset TIKTOKEN_CL100K_PATH TIKTOKEN_O200K_PATH
"$BIN" migrate >/dev/null

log "start under callgrind until ready, then idle until the start-up work is done"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" --compress-strings=no --compress-pos=no \
  --demangle=no "$BIN" serve >"$WORK/server.log" 2>&1 &
VG_PID=$!
for _ in $(seq 1 600); do
  curl -fs -o /dev/null "http://127.0.0.1:$API_PORT/readyz" && break
  sleep 0.5
done
curl -fs -o /dev/null "http://127.0.0.1:$API_PORT/readyz" || { cat "$WORK/server.log" >&2; exit 1; }
# Idle until the process stops using CPU (the key derivation beside serving ends), at most 5 minutes.
previous=-1
for _ in $(seq 1 100); do
  sleep 3
  ticks=$(awk '{print $14 + $15}' "/proc/$VG_PID/stat")
  [ "$ticks" -le $((previous + 5)) ] && break
  previous=$ticks
done
callgrind_control -d "$VG_PID" >/dev/null
# Killed, not stopped: what runs at shutdown is not start-up work, and no second dump is written.
kill -KILL "$VG_PID"; wait "$VG_PID" 2>/dev/null || true; VG_PID=""

# The toolchain's static libraries (Foundation, CoreFoundation, dispatch, most of the standard
# library) are not built with function sections: naming one of their functions moves its whole
# object's code. Those names go last, so the functions lld can place one by one lie together first
# instead of between large blocks that are mostly idle (BENCHMARKS.md, "Footprint").
STATIC_LIBS="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/swift_static/linux"
python3 - "$BIN" "$WORK" "$STATIC_LIBS" scripts/link/libstdc++.a > scripts/startup-order.txt <<'PY'
import glob, os, re, subprocess, sys
binary, work, static_libs, libstdcxx = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
names, seen = [], set()
for path in sorted(glob.glob(os.path.join(work, "callgrind.out*"))):
    current = None
    for line in open(path, errors="replace"):
        if line.startswith("ob="):
            current = os.path.realpath(line[3:].strip())
        elif line.startswith("fn=") and current == binary:
            name = line[3:].strip()
            if name not in seen and not name.startswith("0x"):
                seen.add(name)
                names.append(name)
# Functions defined in an archive object's one plain `.text` section larger than 16 KiB.
in_large_sections = set()
for archive in glob.glob(os.path.join(static_libs, "*.a")) + [libstdcxx]:
    if not os.path.exists(archive):
        continue
    sections = {}
    listing = subprocess.run(["readelf", "-SsW", archive], capture_output=True, text=True, errors="replace").stdout
    for line in listing.splitlines():
        if line.startswith("File: "):
            sections = {}
        elif header := re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line):
            sections[header.group(1)] = (header.group(2), int(header.group(3), 16))
        elif len(fields := line.split()) >= 8 and fields[0].endswith(":") and fields[3] == "FUNC" and fields[6] in sections:
            section, size = sections[fields[6]]
            if section == ".text" and size > 16384:
                in_large_sections.add(fields[7])
print("\n".join([name for name in names if name not in in_large_sections] + [name for name in names if name in in_large_sections]))
PY
log "$(wc -l < scripts/startup-order.txt) functions in scripts/startup-order.txt"
# SwiftPM does not know the link reads this file (nor startup-order.ld), so an unchanged build
# would keep the old layout.
rm -f "$(swift build -c release --static-swift-stdlib --show-bin-path)/apiserver"
log "removed the release binary: the next release build links with the new order"
