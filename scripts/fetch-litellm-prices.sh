#!/usr/bin/env bash
# Prints the path of LiteLLM's full price file, model_prices_and_context_window.json, on stdout.
#
# The file ships in the PyPI wheel of litellm as litellm/model_prices_and_context_window_backup.json
# (the copy LiteLLM itself falls back to offline). `pip download --no-deps` fetches only the wheel;
# the one member is extracted under .build/litellm-prices (ignored by git). Tests never call this:
# they read the trimmed copy Tests/Fixtures/litellm-model-prices-trimmed.json. To import it:
#
#   apiserver pricing import "$(bash scripts/fetch-litellm-prices.sh)"
#
#   LITELLM_VERSION=1.110.2 pins the wheel (default: the newest).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${LITELLM_PRICES_DIR:-$ROOT/.build/litellm-prices}"
SPEC="litellm${LITELLM_VERSION:+==$LITELLM_VERSION}"
MEMBER="litellm/model_prices_and_context_window_backup.json"

mkdir -p "$DIR/wheel"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$DIR/wheel" "$SPEC" >&2
WHEEL="$(ls -t "$DIR"/wheel/litellm-*.whl | head -n 1)"
python3 - "$WHEEL" "$MEMBER" "$DIR/model_prices_and_context_window.json" <<'PY'
import sys, zipfile
wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive, open(target, "wb") as out:
    out.write(archive.read(member))
PY
echo "fetch-litellm-prices: extracted $MEMBER from $(basename "$WHEEL")" >&2
echo "$DIR/model_prices_and_context_window.json"
