#!/usr/bin/env bash
# Measures the auth endpoints and writes the `## Auth` section of BENCHMARKS.md: password sign-ins
# per second (bcrypt-bound) and authenticated `GET /auth/v1/user` per second (JWT check plus the
# session lookup), each beside a baseline from the same run: `GET /healthz` on the same server,
# and the bound that bcrypt alone sets (cores / one bcrypt verification).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages wrk

DURATION=${DURATION:-10}
WORK=$(mktemp -d /tmp/mw-bench-XXXXXX)
chmod 755 "$WORK"
API_PORT=$(free_port); PG_PORT=$(free_port)
cleanup() {
  [ -n "${API_PID:-}" ] && kill "$API_PID" 2>/dev/null || true
  cluster_stop "$WORK/pg"
  rm -rf "$WORK"
}
trap cleanup EXIT

log "building (release)"
swift build -c release --static-swift-stdlib --product apiserver 2>&1 | grep -E "error:|complete" | tail -2
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/apiserver"
cluster_start "$WORK/pg" "$PG_PORT"
export MIGRATION_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
export DATABASE_URL="postgresql://authenticator@127.0.0.1:$PG_PORT/postgres" APP_ENV=development PORT=$API_PORT
export JWT_SECRET="bench-secret-0123456789abcdefghijklmnopq" APP_ENCRYPTION_SECRET="bench-encryption-0123456789abcdefghijk"
# Each wrk request claims its own address through a trusted proxy header, so the per-IP rate
# limits (which would stop a single client after 30 sign-ins) measure nothing here.
export TRUSTED_PROXY_HEADER=x-forwarded-for
"$BIN" migrate >/dev/null
"$BIN" serve >/dev/null &
API_PID=$!
wait_for_health "$API_PORT"

BASE="http://127.0.0.1:$API_PORT"
SESSION=$(curl -fs -X POST "$BASE/auth/v1/signup" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench password 123"}')
TOKEN=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' <<<"$SESSION")

cat > "$WORK/signin.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"bench password 123"}'
local n = 0
request = function()
  n = n + 1
  wrk.headers["X-Forwarded-For"] = "10." .. (n % 250) .. "." .. (math.floor(n / 250) % 250) .. ".1"
  return wrk.format(nil, "/auth/v1/token?grant_type=password")
end
LUA
rps() { awk '/Requests\/sec/ {print $2}'; }
non2xx() { awk '/Non-2xx/ {print $4}'; }

HEALTH=$(wrk -t2 -c32 -d"${DURATION}s" "$BASE/healthz" | rps)
USER_OUT=$(wrk -t2 -c32 -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "$BASE/auth/v1/user")
USER=$(rps <<<"$USER_OUT"); USER_BAD=$(non2xx <<<"$USER_OUT")
SIGNIN_OUT=$(wrk -t2 -c8 -d"${DURATION}s" -s "$WORK/signin.lua" "$BASE")
SIGNIN=$(rps <<<"$SIGNIN_OUT"); SIGNIN_BAD=$(non2xx <<<"$SIGNIN_OUT")
# One bcrypt verification at the server's cost, timed by Python through the same libxcrypt.
BCRYPT_MS=$(python3 - <<'PY'
import ctypes, time
crypt = ctypes.CDLL("libcrypt.so.1")
crypt.crypt.restype = ctypes.c_char_p
crypt.crypt_gensalt.restype = ctypes.c_char_p
salt = crypt.crypt_gensalt(b"$2b$", 10, None, 0)
h = crypt.crypt(b"bench password 123", salt)
samples = []
for _ in range(9):
    t = time.perf_counter(); crypt.crypt(b"bench password 123", h); samples.append(time.perf_counter() - t)
samples.sort(); print(f"{samples[4] * 1000:.1f}")
PY
)

python3 - "$DURATION" "$HEALTH" "$USER" "${USER_BAD:-0}" "$SIGNIN" "${SIGNIN_BAD:-0}" "$BCRYPT_MS" "$(nproc)" <<'PY'
import os, re, sys, time
duration, health, user, user_bad, signin, signin_bad, bcrypt_ms, cores = sys.argv[1:9]
health, user, signin, bcrypt_ms, cores = float(health), float(user), float(signin), float(bcrypt_ms), int(cores)
bound = cores / (bcrypt_ms / 1000)
section = f"""## Auth

Command: `bash scripts/bench-auth.sh` (release build, `wrk -d{duration}s`; wrk, server and PostgreSQL share
the machine's {cores} cores). Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.

| figure | value | baseline in the same run | ratio |
|---|---|---|---|
| password sign-ins/s (`POST /auth/v1/token?grant_type=password`, 8 connections, bcrypt cost 10) | {signin:,.1f} (non-2xx: {signin_bad}) | bcrypt-only bound: {cores} cores / {bcrypt_ms} ms per verification = {bound:,.1f}/s | {signin / bound:.2f} |
| authenticated `GET /auth/v1/user`/s (JWT verify + session and user lookup, 32 connections) | {user:,.0f} (non-2xx: {user_bad}) | `GET /healthz` on the same server: {health:,.0f}/s | {user / health:.2f} |

Sign-ins are bound by bcrypt by design (cost 10 as GoTrue); a sign-in also records the sign-in time
and creates a session and a refresh token. Each `GET /auth/v1/user` verifies the HS256 token and reads
the session and the user in service-role transactions.
"""
path = "BENCHMARKS.md"
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
pattern = re.compile(r"^## Auth\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n" if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
print(section)
PY
