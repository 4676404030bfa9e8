#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install dependencies, build, run every test
# (unit, integration against the fake metadata server, end-to-end in network namespaces;
# the e2e tests skip with a reason when not run as root), then the Windows build: its unit
# tests under wine, and the wine end-to-end tests (registered in the Linux ctest, they run
# build-windows/guestpulse.exe against the Linux fake-mds), then the same unit and
# integration tests under ASan+UBSan, the threaded ones under TSan (tests/sanitize.sh),
# and a smoke run of every fuzzer (tests/fuzz/run.sh, 20 s each). Ends with ctest's
# summaries, the sanitizer timings and one line per fuzzer (executions, coverage).
# Arguments go to the Linux ctest. GUESTPULSE_QUICK=1 skips the sanitizer builds and the
# fuzzers. A failing part does not stop the later ones; the exit status is the first failure's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
"$root/packaging/build.sh" "$root/build"

# The Windows cross build. Its toolchain comes from apt and Debian's sources (cached in
# /var/cache/guestpulse): where those cannot be had, the Windows tests skip and say why;
# once they are there, a failing Windows build fails the run.
windows=0
t=$(date +%s)
if [[ $(id -u) -ne 0 ]]; then
  echo "run-all: Windows build skipped: build-deps.sh needs root to install the mingw toolchain and wine"
elif ! "$root/packaging/windows/build-deps.sh" >/dev/null; then
  echo "run-all: Windows build skipped: packaging/windows/build-deps.sh failed (see above)"
else
  "$root/packaging/windows/build.sh" "$root/build-windows"
  windows=1
fi
echo "run-all: Windows build: $(($(date +%s) - t)) s"

rc=0
fail() { if ((rc == 0)); then rc=$1; fi; }
# Each part appends its verdict here (tests/ctest-phase.sh, sanitize.sh, fuzz/run.sh); the
# file is printed last, so the end of the log says what failed, by name.
export GUESTPULSE_RUN_SUMMARY=$root/build/run-all-summary.txt
: >"$GUESTPULSE_RUN_SUMMARY"
phase="$root/tests/ctest-phase.sh"
# Unit, integration and lint tests two at a time (loopback, port 0, their own temp dirs);
# the end-to-end tests one at a time: they own network namespaces and 169.254.169.254.
"$phase" "unit, integration, lint" "$root/build" --output-on-failure --timeout 900 -j2 \
  -LE 'e2e|wine' "$@" || fail $?
"$phase" "e2e and wine" "$root/build" --output-on-failure --timeout 900 -L 'e2e|wine' "$@" ||
  fail $?
if ((windows)); then
  "$phase" "Windows unit tests under wine" "$root/build-windows" --output-on-failure \
    --timeout 300 -L unit || fail $?
else
  echo "Windows build and its tests: skipped (see above)" >>"$GUESTPULSE_RUN_SUMMARY"
fi
if [[ ${GUESTPULSE_QUICK:-0} != 1 ]]; then
  "$root/tests/sanitize.sh" || fail $?
  "$root/tests/fuzz/run.sh" "${FUZZ_SECONDS:-20}" || fail $?
fi
echo
echo "run-all: summary"
sed 's/^/  /' "$GUESTPULSE_RUN_SUMMARY"
if ((rc == 0)); then echo "run-all: PASSED"; else echo "run-all: FAILED (exit $rc)"; fi
exit "$rc"
