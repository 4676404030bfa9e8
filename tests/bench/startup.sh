#!/usr/bin/env bash
# Start -> READY, start -> first result and CPU per healthy probe cycle, beside one curl of
# the same URL measured in the same run. See tests/bench/startup.py; needs a built tree
# (packaging/build.sh).
#   tests/bench/startup.sh [--build DIR] [--runs 20] [--cycle-seconds 60]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exec python3 "$root/tests/bench/startup.py" --build "${BUILD_DIR:-$root/build}" "$@"
