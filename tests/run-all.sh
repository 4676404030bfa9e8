#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install dependencies, build, run every test
# (unit, integration against the fake metadata server, end-to-end in network namespaces;
# the e2e tests skip with a reason when not run as root). Ends with ctest's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
"$root/packaging/build.sh" "$root/build"
cd "$root/build"
ctest --output-on-failure --timeout 900 "$@"
