#!/usr/bin/env bash
# Provider calls in flight (issue 14): runs ProvidersTests.InFlightScaleTests ROUNDS times and prints
# its figures: 2,000 OpenAI chat completions in flight at once through the real adapter and
# CurlMultiLoop against `fake-providers` (a separate process) answering each after 2 s, with this
# process's thread count (/proc/self/status Threads) and RSS before and at their peak. The test
# build is the debug one `swift test` uses; the figures are the test's own printed line.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
install_packages

ROUNDS=${ROUNDS:-3}
log "building (debug, with tests)"
swift build --build-tests 2>&1 | grep -E "error:|Build complete" | tail -2
for round in $(seq "$ROUNDS"); do
  log "round $round of $ROUNDS"
  swift test --skip-build --disable-swift-testing --filter 'ProvidersTests.InFlightScaleTests' 2>&1 \
    | grep -E "^in-flight:|error:|failed" || { echo "round $round: the test printed no figures" >&2; exit 1; }
done
