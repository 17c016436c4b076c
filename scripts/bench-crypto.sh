#!/usr/bin/env bash
# Measures the Crypto module and writes the `## Crypto` section of BENCHMARKS.md.
#
# Every figure has a baseline measured in the same run where one fits:
#   - AES-256-GCM seal/open and JWT: the same OpenSSL calls made directly from Swift in the
#     benchmark binary (`raw_*` lines), and `openssl speed -aead` as the library's own ceiling;
#   - scrypt and bcrypt: the same C libraries called from Python (hashlib.scrypt is OpenSSL's
#     EVP_PBE_scrypt, ctypes reaches libxcrypt's crypt), so the ratio is the wrapper's overhead.
#
# Usage: bash scripts/bench-crypto.sh [--seconds N]   (N = seconds per throughput figure, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=2
if [[ "${1:-}" == "--seconds" && -n "${2:-}" ]]; then seconds="$2"; fi

swift build -c release --product Benchmarks >/dev/null
bin="$(swift build -c release --show-bin-path)/Benchmarks"

ours="$(mktemp)"; base="$(mktemp)"
trap 'rm -f "$ours" "$base"' EXIT

"$bin" crypto --seconds "$seconds" --samples 7 | tee "$ours"

# openssl speed prints thousands of bytes per second; with 100-byte buffers, ops/s = k * 10.
speed_k="$(openssl speed -aead -evp aes-256-gcm -bytes 100 -seconds "$seconds" 2>/dev/null \
  | awk '/^AES-256-GCM/ { sub(/k$/, "", $2); print $2 }')"
if [[ -n "$speed_k" ]]; then
  printf 'openssl_speed_aead_100B\t%.0f\tops/s\topenssl speed -aead -evp aes-256-gcm -bytes 100\n' \
    "$(awk -v k="$speed_k" 'BEGIN { print k * 10 }')" | tee -a "$base"
fi

python3 - "$base" <<'PY' | tee -a "$base" || echo "python3 baselines unavailable" >&2
import ctypes, hashlib, os, statistics, sys, time

def median_ms(fn, samples=7):
    fn()
    times = []
    for _ in range(samples):
        start = time.perf_counter(); fn(); times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)

salt = os.urandom(16)
ms = median_ms(lambda: hashlib.scrypt(b"a deployment secret of reasonable length", salt=salt,
                                      n=32768, r=8, p=1, dklen=32, maxmem=64 * 1024 * 1024))
print(f"py_scrypt_default\t{ms:.1f}\tms\tPython hashlib.scrypt (OpenSSL EVP_PBE_scrypt), same parameters")

libcrypt = ctypes.CDLL("libcrypt.so.1")
libcrypt.crypt.restype = ctypes.c_char_p
setting = b"$2b$10$" + b"abcdefghijklmnopqrstuu"
ms = median_ms(lambda: libcrypt.crypt(b"correct horse battery staple", setting))
print(f"py_bcrypt_cost10\t{ms:.1f}\tms\tPython ctypes crypt() from libxcrypt, $2b$ cost 10")
PY

python3 - "$ours" "$base" "$seconds" <<'PY'
import os, platform, re, subprocess, sys, datetime

def load(path):
    rows = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 4:
            rows[parts[0]] = (float(parts[1]), parts[2], parts[3])
    return rows

ours, base = load(sys.argv[1]), load(sys.argv[2])
rows = {**ours, **base}
seconds = sys.argv[3]

def value(name):
    v = rows.get(name)
    if v is None:
        return "n/a"
    return f"{v[0]:,.1f} {v[1]}" if v[1] == "ms" else f"{v[0]:,.0f} {v[1]}"

def ratio(a, b):
    if a not in rows or b not in rows or rows[b][0] == 0:
        return "n/a"
    return f"{rows[a][0] / rows[b][0]:.2f}"

def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.splitlines()[0].strip()
    except Exception:
        return "unknown"

size = re.search(r"(\d+)-byte", rows.get("jwt_verify", (0, "", ""))[2])
token_size = f"{size.group(1)}-byte" if size else "a"

cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass

section = f"""## Crypto

Command: `bash scripts/bench-crypto.sh` (runs `swift build -c release --product Benchmarks`, then
`Benchmarks crypto --seconds {seconds} --samples 7`, `openssl speed -aead` and two Python baselines).
Measured {datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")} on {cpu},
{os.cpu_count()} cores shared with other work, one thread; {first_line(["openssl", "version"])};
libxcrypt {first_line(["pkg-config", "--modversion", "libxcrypt"])}; {first_line(["swift", "--version"])}.
Throughput figures are operations per second (ratio = ours / baseline, higher is better for us);
scrypt and bcrypt are the median time of one call (ratio = ours / baseline, lower is better).

| figure | ours | baseline in the same run | ratio |
|---|---|---|---|
| AES-256-GCM seal, 100-byte secret (envelope, fresh random nonce, 47-byte AAD) | {value("seal_100B")} | raw EVP calls from Swift, same sizes, own nonce: {value("raw_evp_seal_100B")} | {ratio("seal_100B", "raw_evp_seal_100B")} |
| AES-256-GCM open of that envelope into `SecretBytes` | {value("open_100B")} | raw EVP calls from Swift: {value("raw_evp_open_100B")} | {ratio("open_100B", "raw_evp_open_100B")} |
| AES-256-GCM seal vs. OpenSSL's own loop | {value("seal_100B")} | `openssl speed -aead -evp aes-256-gcm -bytes 100`: {value("openssl_speed_aead_100B")} | {ratio("seal_100B", "openssl_speed_aead_100B")} |
| JWT HS256 verify, {token_size} GoTrue-style access token, `aud` checked | {value("jwt_verify")} | one OpenSSL `HMAC()` over the same signing input: {value("raw_hmac_jwt_input")} | {ratio("jwt_verify", "raw_hmac_jwt_input")} |
| JWT HS256 sign, same claims | {value("jwt_sign")} | (same HMAC baseline) {value("raw_hmac_jwt_input")} | {ratio("jwt_sign", "raw_hmac_jwt_input")} |
| scrypt, one derivation at N=2^15, r=8, p=1, 32 bytes | {value("scrypt_default")} | Python `hashlib.scrypt` (same OpenSSL): {value("py_scrypt_default")} | {ratio("scrypt_default", "py_scrypt_default")} |
| bcrypt hash, cost 10 | {value("bcrypt_hash_cost10")} | Python ctypes `crypt()` (same libxcrypt): {value("py_bcrypt_cost10")} | {ratio("bcrypt_hash_cost10", "py_bcrypt_cost10")} |
| bcrypt verify, cost 10 | {value("bcrypt_verify_cost10")} | (same) {value("py_bcrypt_cost10")} | {ratio("bcrypt_verify_cost10", "py_bcrypt_cost10")} |

Reading it: the raw-EVP baselines do the same OpenSSL work per operation (new context, key
schedule, GHASH) without the envelope, key type and redacted storage, so their ratio is the
wrapper's cost. `openssl speed -aead` keeps one context and key schedule for the whole run, so it
is a ceiling no per-record API reaches. The JWT baseline is only the MAC: the gap is base64url
decoding, two strict JSON parses with duplicate-key checks, and building typed claims. scrypt and
bcrypt spend their time inside the C libraries, so a ratio near 1 means the wrapper adds nothing
measurable. Figures move by 10-20 % between runs on this shared machine.
"""

path = "BENCHMARKS.md"
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
pattern = re.compile(r"^## Crypto\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n"
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
print(f"wrote the ## Crypto section of {path}")
PY
