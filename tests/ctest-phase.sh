#!/usr/bin/env bash
# One ctest run of tests/run-all.sh or tests/sanitize.sh, with what failed said by name.
#
#   tests/ctest-phase.sh LABEL BUILD_DIR [CTEST_ARGS...]
#
# Runs ctest in BUILD_DIR. When tests fail, they are run once more, alone and one at a
# time (ctest --rerun-failed): the end-to-end and wine tests own real namespaces, wine
# servers and timers on a shared 2-core machine, and a test that fails once and passes
# alone is reported as such, by name, not hidden. Exit status: 0 when every test passed
# the first time or on its second run, ctest's own status when any failed twice.
#
# With GUESTPULSE_RUN_SUMMARY set to a file, one line per run is appended to it, naming
# the tests that failed (twice) and those that passed only on their second run; run-all.sh
# prints that file last, so the end of a CI log says which tests failed.
set -uo pipefail
label=$1
dir=$2
shift 2
summary=${GUESTPULSE_RUN_SUMMARY:-/dev/null}
failed_list=$dir/Testing/Temporary/LastTestsFailed.log

# LastTestsFailed.log lines are "NUMBER:NAME".
names() { [[ -s $failed_list ]] && cut -d: -f2- "$failed_list" | paste -sd ';' - | sed 's/;/; /g'; }

t0=$(date +%s)
rm -f "$failed_list"
(cd "$dir" && ctest "$@")
rc=$?
if ((rc == 0)); then
  echo "$label: passed ($(($(date +%s) - t0)) s)" >>"$summary"
  exit 0
fi
first=$(names)
if [[ -z $first ]]; then
  # ctest failed without a failed test (a configuration or build problem): say so.
  echo "$label: FAILED: ctest exit $rc without a failed test" | tee -a "$summary"
  exit "$rc"
fi
echo "$label: failed on the first run: $first; running those once more, one at a time"
(cd "$dir" && ctest "$@" --rerun-failed -j1)
rc=$?
if ((rc == 0)); then
  echo "$label: passed ($(($(date +%s) - t0)) s); passed only on a second run: $first" |
    tee -a "$summary"
  exit 0
fi
echo "$label: FAILED twice: $(names) (first run: $first)" | tee -a "$summary"
exit "$rc"
