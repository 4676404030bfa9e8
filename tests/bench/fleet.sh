#!/usr/bin/env bash
# A fleet of real agents through a steady phase, an all-503 outage and the recovery, against
# one fake metadata server; prints the per-second request rate per phase and draws it.
# See tests/bench/fleet.py for the options; needs a built tree (packaging/build.sh).
#   tests/bench/fleet.sh [--build DIR] [--agents 500] [--scale 3] [--out DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v gnuplot >/dev/null && [[ $(id -u) -eq 0 ]]; then
  apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || echo "fleet: gnuplot not installed; no plot"
fi
# Hundreds of agents each keep a few descriptors and threads open.
ulimit -n 65536 2>/dev/null || true
exec python3 "$root/tests/bench/fleet.py" --build "${BUILD_DIR:-$root/build}" "$@"
