#!/usr/bin/env bash
# The tests under sanitizers, each in a Debug build of its own (GCC, no LTO):
#   - ASan+UBSan: every unit and integration test (memory errors, leaks, undefined
#     behaviour; UBSan findings are fatal);
#   - TSan: the threaded unit tests: the serial writer thread, the exec supervisor and
#     the stop of commands in flight, the state-file writer's episodes.
# Prints how long each build and each run took. Exit non-zero on any finding.
#   tests/sanitize.sh [asan|tsan]...        (default: both)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${SANITIZE_BUILD_BASE:-$root/build-san}
jobs=$(nproc 2>/dev/null || echo 2)
kinds=("$@")
((${#kinds[@]})) || kinds=(asan tsan)
summary=()
status=0  # the first failing run's exit status; every kind runs regardless
run_summary=${GUESTPULSE_RUN_SUMMARY:-/dev/null}  # run-all.sh's closing summary

for kind in "${kinds[@]}"; do
  case $kind in
    asan) flags=address,undefined targets=(unit_tests integration_tests guestpulse fake-mds) ;;
    tsan) flags=thread targets=(unit_tests) ;;
    *) echo "sanitize: unknown kind $kind (asan, tsan)" >&2; exit 3 ;;
  esac
  dir="$base-$kind"
  t0=$(date +%s)
  # -O1: the instrumented code runs several times faster than at -O0 and keeps the
  # tests' timings close to a normal build's; -g1: line tables for the reports, without
  # the full debug information that makes each compile and link slower.
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DGUESTPULSE_SANITIZE="$flags" -DGUESTPULSE_LAZY_OPENSSL=OFF >/dev/null
  cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
  t1=$(date +%s)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  kind_rc=0
  if [[ $kind == asan ]]; then
    "$root/tests/ctest-phase.sh" "sanitize: asan ctest" "$dir" -j2 -L "unit|integration" \
      --output-on-failure --timeout 600 || kind_rc=$?
  else
    "$dir/tests/unit_tests" "[serial],[exec],[hostile],[serial_reporter]" || kind_rc=$?
    verdict=passed
    ((kind_rc == 0)) || verdict="FAILED (exit $kind_rc)"
    echo "sanitize: tsan unit tests: $verdict" >>"$run_summary"
  fi
  if ((kind_rc && status == 0)); then status=$kind_rc; fi
  t2=$(date +%s)
  summary+=("sanitize: $kind ($flags): build $((t1 - t0)) s, tests $((t2 - t1)) s")
done
printf '%s\n' "${summary[@]}"
exit "$status"
