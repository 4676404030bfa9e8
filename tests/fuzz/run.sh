#!/usr/bin/env bash
# Builds the fuzzers (clang-15, libFuzzer, ASan+UBSan) and runs each one for a bounded
# time on a copy of its checked-in seed corpus (tests/fuzz/corpus/<target>/), then prints
# one line per fuzzer: executions, coverage (libFuzzer's cov: edges and ft: features) and
# corpus size. Exit 1 when any fuzzer found a crash, a leak or a timeout; the input is
# kept in <build>/artifacts/ (turn it into a unit test, and add it to the corpus).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      smoke run: 20 s each (FUZZ_SECONDS)
#   tests/fuzz/run.sh 3600 fuzz_config           a longer run of one fuzzer
# FUZZ_BUILD_DIR (default <repo>/build-fuzz) is where it builds; FUZZ_JOBS runs that many
# fuzzers side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-20}}
shift || true
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)

if ! command -v clang++-15 >/dev/null; then
  echo "fuzz: clang++-15 is missing (packaging/install-deps.sh installs it)" >&2
  exit 1
fi
CC=clang-15 CXX=clang++-15 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O1 -g" -DGUESTPULSE_FUZZ=ON -DGUESTPULSE_LAZY_OPENSSL=OFF >/dev/null
targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in "$root"/tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
start=$(date +%s)
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
echo "fuzz: built ${#targets[@]} fuzzers in $(($(date +%s) - start)) s"

mkdir -p "$build/artifacts" "$build/logs"
# Reports name functions and lines when a symbolizer is there (Debian's llvm-symbolizer).
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi
failed_targets=()
for target in "${targets[@]}"; do
  seeds="$root/tests/fuzz/corpus/$target"
  work="$build/corpus/$target"
  mkdir -p "$work"
  # -rss_limit_mb and -timeout make a memory blow-up or a hang a finding too; -malloc_limit_mb
  # catches one huge allocation with its stack. The outer timeout is a guard: libFuzzer's
  # out-of-memory report can itself hang under ASan (seen here: 40 minutes at 1 GiB).
  if ! timeout --kill-after=10 $((seconds + 120)) \
      "$build/tests/fuzz/$target" "$work" "$seeds" -max_total_time="$seconds" -malloc_limit_mb=512 \
      -rss_limit_mb=1024 -timeout=10 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$target-" >"$build/logs/$target.log" 2>&1; then
    failed_targets+=("$target")
    echo "fuzz: $target FAILED; its log: $build/logs/$target.log" >&2
    grep -E "ERROR|SUMMARY|Test unit written" "$build/logs/$target.log" | head -5 >&2 || true
  fi
  done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$build/logs/$target.log" | tail -1 || true)
  execs=$(grep -Eo "stat::number_of_executed_units: [0-9]+" "$build/logs/$target.log" | grep -Eo "[0-9]+$" || echo "?")
  cov=$(echo "$done_line" | grep -Eo "cov: [0-9]+" || echo "cov: ?")
  ft=$(echo "$done_line" | grep -Eo "ft: [0-9]+" || echo "ft: ?")
  corp=$(echo "$done_line" | grep -Eo "corp: [0-9]+/[0-9]+[a-zA-Z]*" || echo "corp: ?")
  printf 'fuzz: %-20s %9s executions in %s s, %s edges, %s, %s\n' "$target" "$execs" "$seconds" \
    "$cov" "$ft" "$corp"
done
summary=${GUESTPULSE_RUN_SUMMARY:-/dev/null}  # run-all.sh's closing summary
if ((${#failed_targets[@]} == 0)); then
  echo "fuzzers: ${#targets[@]} run for $seconds s each, nothing found" >>"$summary"
  exit 0
fi
echo "fuzzers: FAILED: ${failed_targets[*]} (logs in $build/logs, inputs in $build/artifacts)" >>"$summary"
exit 1
