#!/usr/bin/env bash
# Footprint with mTLS to the metadata server set up (root.crt and client.key present, so
# the mds_mtls probe connects every cycle), as on new GCE images. Prints figures; asserts
# nothing.
#   tests/bench/footprint_mtls.sh [BUILD_DIR] [IDLE_SECONDS] [BASELINE_BINARY]
# Figures:
#   - RSS / PSS / private memory of `guestpulse run` after IDLE_SECONDS (default 60) with
#     mds_mtls every 10 s (so it really connected several times: TLS handshakes counted at
#     the fake), and which OpenSSL libraries the daemon has mapped;
#   - the same for BASELINE_BINARY in the same run (e.g. a build that runs TLS probes in
#     its own process), for a ratio;
#   - what one mds_mtls run costs in its child process (`guestpulse internal probe
#     mds_mtls`, five runs): wall time, CPU time and peak RSS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$root/build"}
idle=${2:-60}
baseline=${3:-}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=tests/bench/memory.sh
source "$root/tests/bench/memory.sh"

# Certificates as Google's guest agent lays them out: a CA for the server's certificate
# (metadata.google.internal), and a client certificate with its key in one PEM.
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=mds root" \
  -keyout ca.key -out root.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=metadata.google.internal" \
  -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:metadata.google.internal\n' >server.ext
openssl x509 -req -in server.csr -CA root.crt -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.crt 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=client ca" \
  -keyout client-ca.key -out client-ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=vm" \
  -keyout client-only.key -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA client-ca.crt -CAkey client-ca.key -CAcreateserial -days 2 \
  -out client.crt 2>/dev/null
cat client.crt client-only.key >client.key
chmod 600 client.key
cd - >/dev/null

"$build/tests/fake-mds" --listen 127.0.0.1:0 --port-file "$work/port" \
  --https-listen 127.0.0.1:0 --https-port-file "$work/https-port" \
  --tls-cert "$work/server.crt" --tls-key "$work/server.key" --client-ca "$work/client-ca.crt" \
  --attribute enable-guest-attributes=TRUE --quiet &
pids+=($!)
for _ in $(seq 50); do [[ -s "$work/port" && -s "$work/https-port" ]] && break; sleep 0.1; done
port=$(cat "$work/port")
fake="http://127.0.0.1:$port"

config() {  # config NAME: a config like the default, with mds_mtls every 10 s
  cat >"$work/$1.yaml" <<YAML
provider: gce
probes:
  mds_mtls:
    enabled: true
    interval: 10s
    root_ca: $work/root.crt
    client_cert: $work/client.key
    port: $(cat "$work/https-port")
report:
  serial: { device: $work/serial-$1.log }
  state_dir: $work/state-$1
YAML
}

start() {  # start NAME BINARY: prints the agent's pid
  config "$1"
  strip -o "$work/$1.bin" "$2"
  cold_page_cache "$work/$1.bin"
  GCE_METADATA_HOST="127.0.0.1:$port" "$work/$1.bin" run -c "$work/$1.yaml" >"$work/$1.log" 2>&1 &
  echo $!
}

agent=$(start agent "$build/guestpulse")
pids+=("$agent")
if [[ -n $baseline ]]; then
  base=$(start baseline "$baseline")
  pids+=("$base")
fi
sleep "$idle"
probe_field() {  # probe_field NAME FIELD: from the agent's status.json
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print([p.get(sys.argv[3]) for p in s["probes"] if p["name"]==sys.argv[2]][0])' \
    "$work/state-agent/status.json" "$1" "$2"
}
echo "after ${idle}s with mds_mtls every 10s ($(probe_field mds_mtls runs) mds_mtls runs, each connecting over mTLS):"
memline "$agent" "guestpulse run"
private_mappings "$agent"
echo "  OpenSSL mapped by the daemon: $(mapped_objects "$agent" | tr ' ' '\n' | grep -E 'libssl|libcrypto' | tr '\n' ' ' || true)"
echo "  mds_mtls verdict: $(probe_field mds_mtls state) $(probe_field mds_mtls message | cut -c1-90)"
if [[ -n $baseline ]]; then
  memline "$base" "baseline run"
  echo "  OpenSSL mapped by the baseline: $(mapped_objects "$base" | tr ' ' '\n' | grep -E 'libssl|libcrypto' | tr '\n' ' ' || true)"
  awk -v a="$(kb Rss "$agent")" -v b="$(kb Rss "$base")" 'BEGIN { printf "rss ratio guestpulse/baseline: %.2f\n", a / b }'
fi

echo "one mds_mtls run in its child (guestpulse internal probe mds_mtls), 5 runs:"
# The rusage of each child (wait4): CPU to the microsecond, peak RSS.
measure='import os, resource, subprocess, sys, time
start = time.monotonic()
with open(sys.argv[1], "w") as out:
    child = subprocess.Popen(sys.argv[2:], stdout=out)
    _, status, use = os.wait4(child.pid, 0)
wall = time.monotonic() - start
print(f"{wall:.3f} {use.ru_utime + use.ru_stime:.3f} {use.ru_maxrss}")'
for i in 1 2 3 4 5; do
  read -r wall cpu maxrss < <(GCE_METADATA_HOST="127.0.0.1:$port" python3 -c "$measure" \
    "$work/child$i.json" "$work/agent.bin" internal probe mds_mtls -c "$work/agent.yaml")
  printf '  run %d: wall %s s, cpu %s s, peak rss %d kB, %s\n' "$i" "$wall" "$cpu" "$maxrss" \
    "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["state"], r["cause"] or "-")' "$work/child$i.json")"
done
