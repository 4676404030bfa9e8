#!/usr/bin/env bash
# Configures and builds guestpulse, its tests and the fake metadata server.
#   packaging/build.sh [BUILD_DIR] [BUILD_TYPE]     (defaults: build, MinSizeRel)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-"$root/build"}
build_type=${2:-MinSizeRel}
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build "$build_dir" -j "$jobs"
