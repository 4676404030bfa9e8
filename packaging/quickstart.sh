#!/usr/bin/env bash
# Quick start: install dependencies, build, and watch guestpulse diagnose a metadata
# server outage and its recovery, against the bundled fake metadata server on loopback.
# Nothing leaves this machine: the agent is pointed at the fake with GCE_METADATA_HOST
# and writes its "serial console" to a file under build/demo.
#   packaging/quickstart.sh [--no-build]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
demo="$build/demo"

if [[ "${1:-}" != "--no-build" ]]; then
  "$root/packaging/install-deps.sh"
  "$root/packaging/build.sh" "$build"
fi

rm -rf "$demo" && mkdir -p "$demo/state"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Guest attributes on, as on a VM created with enable-guest-attributes=TRUE (without it
# the fake, like GCE, answers 403 and the agent reports through the serial console only).
"$build/tests/fake-mds" --listen 127.0.0.1:0 --port-file "$demo/port" --quiet \
  --attribute enable-guest-attributes=TRUE &
pids+=($!)
for _ in $(seq 50); do [[ -s "$demo/port" ]] && break; sleep 0.1; done
port=$(cat "$demo/port")
fake="http://127.0.0.1:$port"

cat > "$demo/guestpulse.yaml" <<YAML
# Demo settings: short intervals so an outage and a recovery fit in a minute.
provider: gce   # the fake plays GCE; no detection
metadata: { timeout: 1s }
retry: { initial: 250ms, max: 8s, multiplier: 2, attempts: 3 }
probes:
  metadata: { enabled: true, interval: 3s }
report:
  guest_attributes: { enabled: true, namespace: guestpulse, heartbeat: 30s }
  serial: { enabled: true, device: $demo/serial.log }
  state_dir: $demo/state
log: { level: info }
YAML

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show_serial() { sed 's/^/   serial | /' "$demo/serial.log" 2>/dev/null || true; }
show_attributes() {
  curl -s "$fake/_fake/guest-attributes" | python3 -c '
import json, sys
for k, v in sorted(json.load(sys.stdin).items()):
    print(f"   guest-attribute | {k} = {v}")'
}

say "fake metadata server on $fake; starting: guestpulse run -c $demo/guestpulse.yaml"
GCE_METADATA_HOST="127.0.0.1:$port" "$build/guestpulse" run -c "$demo/guestpulse.yaml" \
  2> "$demo/agent.log" &
agent=$!
pids+=($agent)
sleep 5
show_serial
show_attributes

say "outage: the metadata server now answers 503 to every GET of instance/id"
curl -s -X POST "$fake/_fake/faults" -d '{"path":"/computeMetadata/v1/instance/id","status":503}' >/dev/null
sleep 12
show_serial
show_attributes

say "recovery: faults cleared"
curl -s -X DELETE "$fake/_fake/faults" >/dev/null
sleep 10
show_serial
show_attributes

say "what an operator runs on the VM:  guestpulse check"
GCE_METADATA_HOST="127.0.0.1:$port" "$build/guestpulse" check -c "$demo/guestpulse.yaml" || true

say "stopping the agent (SIGTERM)"
kill -TERM "$agent"
wait "$agent" && echo "   agent exited 0"
say "requests the agent sent: $(curl -s "$fake/_fake/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'); agent log: $demo/agent.log"
