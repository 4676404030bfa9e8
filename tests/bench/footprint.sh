#!/usr/bin/env bash
# Footprint and load figures for `guestpulse run` on the default config (endpoint
# pointed at a loopback fake-mds; serial to a file). Prints figures; asserts nothing.
#   tests/bench/footprint.sh [BUILD_DIR] [IDLE_SECONDS] [OUTAGE_SECONDS]
# Figures:
#   - stripped binary size;
#   - (the binary starts from a cold page cache; FOOTPRINT_WARM=1 keeps it as written)
#   - RSS / PSS / private memory of three agents (and their median RSS; PSS is lower
#     for sharing their pages) after IDLE_SECONDS (default 60) of a
#     healthy server, and of `sleep` in the same run as the floor of any dynamically
#     linked process on this machine (ratio printed);
#   - requests per second the agent sends during OUTAGE_SECONDS (default 120) of a dead
#     server: every connection reset (TCP-level failure), and every answer 503.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$root/build"}
idle=${2:-60}
outage=${3:-120}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=tests/bench/memory.sh
source "$root/tests/bench/memory.sh"

strip -o "$work/guestpulse.stripped" "$build/guestpulse"
echo "binary: $(stat -c %s "$build/guestpulse") bytes, stripped $(stat -c %s "$work/guestpulse.stripped") bytes"
# Start from a cold page cache for the binary, as after a reboot.
cold_page_cache "$work/guestpulse.stripped"

"$build/tests/fake-mds" --listen 127.0.0.1:0 --port-file "$work/port" --quiet \
  --attribute enable-guest-attributes=TRUE &
pids+=($!)
for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
port=$(cat "$work/port")
fake="http://127.0.0.1:$port"
# Three agents side by side: where ASLR puts libc and the binary moves the 64 kB
# fault-around windows, so one process's RSS varies by ~±150 kB from run to run.
agents=()
for i in 1 2 3; do
  cat > "$work/g$i.yaml" <<YAML
provider: gce
report:
  serial: { device: $work/serial$i.log }
  state_dir: $work/state$i
YAML
  GCE_METADATA_HOST="127.0.0.1:$port" "$work/guestpulse.stripped" run -c "$work/g$i.yaml" \
    2>"$work/agent$i.log" &
  agents+=($!)
  pids+=($!)
done
agent=${agents[0]}
sleep 1000 & floor=$!
pids+=($floor)
sleep "$idle"
echo "after ${idle}s idle on the default config (30s interval):"
rss_all=()
for i in 0 1 2; do
  memline "${agents[$i]}" "guestpulse run #$((i + 1))"
  rss_all+=("$(kb Rss "${agents[$i]}")")
done
memline "$floor" "sleep (floor)"
median=$(printf '%s\n' "${rss_all[@]}" | sort -n | sed -n 2p)
echo "median rss: $median kB ($(awk -v m="$median" 'BEGIN { printf "%.2f", m / 1024 }') MiB)"
awk -v a="$median" -v b="$(kb Rss "$floor")" 'BEGIN { printf "rss ratio guestpulse/sleep: %.1f\n", a / b }'
echo "shared objects mapped by the agent: $(mapped_objects "$agent")"
for i in 1 2; do kill "${agents[$i]}" 2>/dev/null || true; done

count() { curl -s "$fake/_fake/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
for fault in '{"reset":true}' '{"status":503}'; do
  curl -s -X DELETE "$fake/_fake/faults" >/dev/null
  curl -s -X DELETE "$fake/_fake/requests" >/dev/null
  curl -s -X POST "$fake/_fake/faults" -d "$fault" >/dev/null
  sleep "$outage"
  n=$(count)
  awk -v n="$n" -v s="$outage" -v f="$fault" 'BEGIN { printf "dead server %-16s %d requests in %ds = %.3f/s\n", f, n, s, n / s }'
  curl -s -X DELETE "$fault" >/dev/null 2>&1 || true
done
memline "$agent" "guestpulse after outage"
private_mappings "$agent"
