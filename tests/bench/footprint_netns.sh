#!/usr/bin/env bash
# Idle RSS of `guestpulse run` on the default config, the way it runs on a VM: in a
# network namespace where the metadata server is 169.254.169.254:80 (fake-mds in a second
# namespace), /etc/hosts maps metadata.google.internal, and resolv.conf names
# 169.254.169.254. Unlike footprint.sh (endpoint overridden to loopback), every healthy
# cycle here also runs the DNS layer of the metadata probe: a getaddrinfo of
# metadata.google.internal through glibc's NSS, the hosts file, resolv.conf and the proxy
# environment. Prints figures; asserts nothing. Needs root (skips with a reason).
#
#   sudo bash tests/bench/footprint_netns.sh build/guestpulse build/tests/fake-mds [IDLE_SECONDS]
#   (FOOTPRINT_DETAIL=1 adds a per-mapping breakdown)
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
# shellcheck source=tests/bench/memory.sh
source "$(dirname "${BASH_SOURCE[0]}")/memory.sh"
idle=${3:-60}
e2e_init footprint "$1" "$2"

# The shipped defaults, with only the serial device and state directory moved into the
# temp dir (the real /dev/ttyS0 is this machine's console).
e2e_write_config() {
  mkdir -p "$E2E_STATE_DIR"
  : >>"$E2E_SERIAL"
  cat >"$E2E_CFG" <<YAML
provider: gce
report:
  serial: { device: $E2E_SERIAL }
  state_dir: $E2E_STATE_DIR
YAML
}

# A cold page cache for the binary, as after a reboot.
cold_page_cache "$E2E_GP"
e2e_up
sleep "$idle"
echo "after ${idle}s idle on the default config, endpoint 169.254.169.254 in a netns:"
memline "$E2E_AGENT_PID" "guestpulse run"
echo "shared objects mapped: $(mapped_objects "$E2E_AGENT_PID")"
echo "requests the fake saw: $(e2e_fake GET requests | jq length)"
# FOOTPRINT_DETAIL=1: resident memory per mapping, anonymous regions (heap, thread
# stacks, malloc arenas) one by one.
if [[ ${FOOTPRINT_DETAIL:-} == 1 ]]; then
  awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6" "$2} /^Rss:/{if($2>0) r[name]+=$2} END{for(n in r) printf "%6d kB %s\n", r[n], n}' \
    "/proc/$E2E_AGENT_PID/smaps" | sort -rn | head -12
  awk '/^[0-9a-f]+-[0-9a-f]+ /{hdr=$1" "$6; anon=($6=="" || $6 ~ /^\[/)} /^Rss:/{ if(anon && $2>0) print $2" kB", hdr}' \
    "/proc/$E2E_AGENT_PID/smaps"
fi
