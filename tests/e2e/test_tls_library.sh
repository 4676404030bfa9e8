#!/usr/bin/env bash
# End-to-end: a VM without the OpenSSL 3 runtime. The agent binary loads libssl.so.3 only
# when a probe needs TLS, so it must still start, probe the metadata server over HTTP,
# and name the missing library (agent.tls_unavailable) for the probes that need it,
# instead of failing to start as a binary linked to libssl would.
# The library is hidden in a private mount namespace (unshare -m; /dev/null bound over
# the file), so nothing outside this test sees the change.
#
#   bash tests/e2e/test_tls_library.sh build/guestpulse build/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).
set -uo pipefail
agent=${1:?guestpulse binary}
fake=${2:?fake-mds binary}

skip() { echo "SKIP test_tls_library: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root for a private mount namespace"
command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
if readelf -d "$agent" | grep -q 'NEEDED.*libssl'; then
  skip "this build links OpenSSL into the agent (GUESTPULSE_LAZY_OPENSSL=OFF)"
fi
libssl=$(ldconfig -p | awk '$1 == "libssl.so.3" { print $NF; exit }')
[[ -n $libssl && -e $libssl ]] || skip "cannot find libssl.so.3 with ldconfig -p"
libssl=$(readlink -f "$libssl")
unshare -m true 2>/dev/null || skip "unshare -m is not permitted here"

work=$(mktemp -d)
fake_pid=
cleanup() { [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
failures=0
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}

"$fake" --listen 127.0.0.1:0 --port-file "$work/port" --quiet &
fake_pid=$!
for _ in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
[[ -s $work/port ]] || { echo "FAIL fake-mds did not start"; exit 1; }
port=$(cat "$work/port")

# mTLS "set up" (root.crt present) and the workload-certificate probe off: the mds_mtls
# probe needs OpenSSL before it reads a byte of the files.
mkdir -p "$work/mtls"
echo "not read: OpenSSL is missing" >"$work/mtls/root.crt"
echo "not read: OpenSSL is missing" >"$work/mtls/client.key"
cat >"$work/g.yaml" <<YAML
provider: gce
metadata: { timeout: 1s }
probes:
  metadata: { interval: 1s }
  workload_certs: { enabled: false }
  mds_mtls:
    enabled: auto
    interval: 1s
    root_ca: $work/mtls/root.crt
    client_cert: $work/mtls/client.key
report:
  serial: { device: $work/serial.log }
  state_dir: $work/state
YAML

# In the namespace: hide libssl, then run `check --json` and the agent for a few cycles.
hidden() {
  GCE_METADATA_HOST="127.0.0.1:$port" unshare -m bash -c '
    mount --bind /dev/null "$1" || exit 90
    shift
    exec "$@"' hide "$libssl" "$@"
}
hidden "$agent" check -c "$work/g.yaml" --json >"$work/check.json" 2>"$work/check.err"
code=$?
[[ $code == 90 ]] && skip "cannot bind-mount over $libssl"
field() { # field PROBE KEY
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(next((p.get(sys.argv[3],"") for p in d["probes"] if p["name"]==sys.argv[2]), ""))' \
    "$work/check.json" "$1" "$2"
}
echo "check exit $code; mds_mtls: $(field mds_mtls cause): $(field mds_mtls message)"
check "check exits 2 (a probe FAILED)" test "$code" = 2
check "the metadata probe works without OpenSSL" test "$(field metadata state)" = OK
check "mds_mtls names the missing library" test "$(field mds_mtls cause)" = agent.tls_unavailable
check "the message quotes the loader's reason" grep -q "OpenSSL 3 could not be loaded" "$work/check.json"
check "the fix says what to install" grep -q "libssl3" "$work/check.json"

hidden timeout -s TERM 4 "$agent" run -c "$work/g.yaml" 2>"$work/run.err"
code=$?
check "the agent runs until stopped (timeout's 124)" test "$code" = 124
check "its serial line names the cause" \
  grep -q "probe=mds_mtls state=FAILED cause=agent.tls_unavailable" "$work/serial.log"
check "it never aborted" bash -c "! grep -q 'called but' '$work/run.err'"
check "outside the namespace libssl is untouched" \
  bash -c "head -c 4 '$libssl' | grep -q ELF"

echo "test_tls_library: $failures failed"
[[ $failures == 0 ]]
