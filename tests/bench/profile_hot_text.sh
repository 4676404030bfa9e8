#!/usr/bin/env bash
# Regenerates packaging/footprint/hot_functions.txt: runs `guestpulse run` on the default
# config under callgrind, in the same network namespaces as footprint_netns.sh (so the
# healthy cycle's DNS layer runs too), for IDLE_SECONDS, and lists every function of the
# binary it executed. Needs root and valgrind. Run it after changes to what the daemon
# does at start or per cycle; a stale list only costs resident memory, never correctness.
#
#   sudo bash tests/bench/profile_hot_text.sh build/guestpulse build/tests/fake-mds [IDLE_SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
agent=$(realpath "$1")
fake=$2
idle=${3:-70}
command -v valgrind >/dev/null || { echo "profile_hot_text: valgrind is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap '[[ -n ${PROFILE_KEEP:-} ]] || rm -rf "$work"' EXIT
cat >"$work/agent" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$work/callgrind.out --demangle=no $agent "\$@"
SH
chmod +x "$work/agent"
# Valgrind starts the agent slowly; footprint_netns.sh waits for its first OK line.
E2E_START_DEADLINE_OVERRIDE=90 FOOTPRINT_WARM=1 \
  bash "$root/tests/bench/footprint_netns.sh" "$work/agent" "$fake" "$idle" >/dev/null
for _ in $(seq 50); do [[ -s $work/callgrind.out ]] && break; sleep 0.2; done
python3 "$root/packaging/footprint/gen_hot_functions.py" "$work/callgrind.out" "$agent" \
  >"$root/packaging/footprint/hot_functions.txt"
head -1 "$root/packaging/footprint/hot_functions.txt"
