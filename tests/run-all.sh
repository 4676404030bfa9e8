#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install dependencies, build, run every test
# (unit, integration against the fake metadata server, end-to-end in network namespaces;
# the e2e tests skip with a reason when not run as root), then the same unit and
# integration tests under ASan+UBSan, the threaded ones under TSan (tests/sanitize.sh),
# and a smoke run of every fuzzer (tests/fuzz/run.sh, 20 s each). Ends with ctest's
# summary, the sanitizer timings and one line per fuzzer (executions, coverage).
# GUESTPULSE_QUICK=1 skips the sanitizer builds and the fuzzers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
"$root/packaging/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure --timeout 900 "$@")
if [[ ${GUESTPULSE_QUICK:-0} != 1 ]]; then
  "$root/tests/sanitize.sh"
  "$root/tests/fuzz/run.sh" "${FUZZ_SECONDS:-20}"
fi
