#!/usr/bin/env bash
# Builds the Windows smoke test with the mingw toolchain and runs it under wine via ctest
# (as root on Debian 12; build-deps.sh installs what is missing and reuses its cached prefix).
#   packaging/windows/smoke/run.sh [BUILD_DIR] [CTEST ARGS...]   (default BUILD_DIR build-win-smoke)
# COM1 of the build's wine prefix is mapped to /dev/null (GUESTPULSE_WINE_COM1 overrides).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build_dir=${1:-"$root/build-win-smoke"}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)

deps=$("$here/../build-deps.sh")
t=$(date +%s)
cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel \
  -DCMAKE_TOOLCHAIN_FILE="$here/../toolchain-mingw64.cmake" -DGUESTPULSE_MINGW_DEPS="$deps" \
  ${GUESTPULSE_WINE_COM1:+-DGUESTPULSE_WINE_COM1="$GUESTPULSE_WINE_COM1"} >/dev/null
nice -n 10 cmake --build "$build_dir" -j "$jobs"
echo "smoke: built in $(($(date +%s) - t))s"
cd "$build_dir"
ctest --output-on-failure "$@"
