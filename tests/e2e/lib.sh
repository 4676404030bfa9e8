# Shared code for the end-to-end fault-injection tests (sourced, never run).
#
# Each test script builds its own two network namespaces joined by a veth pair:
#
#   gp-vm-<pid>  veth0 169.254.10.2/30, route 169.254.169.254 dev veth0 (on-link, as GCE)
#                /etc/hosts  = /etc/netns/gp-vm-<pid>/hosts  (169.254.169.254 metadata.google.internal)
#                resolv.conf = /etc/netns/gp-vm-<pid>/resolv.conf (nameserver 169.254.169.254)
#                guestpulse runs here with its default endpoint http://169.254.169.254
#   gp-mds-<pid> veth0 169.254.10.1/30 + 169.254.169.254/32; fake-mds listens on :80
#
# Faults are applied inside the vm namespace (iptables, routes, hosts/resolv.conf, the
# agent's environment) or through fake-mds's control API, which the tests drive with curl
# from the mds namespace so that control traffic never crosses a fault. Nothing touches
# the host's own network, firewall or files outside /etc/netns/gp-*-<pid> and a temp dir;
# all of it is removed on exit (trap), including on failure and Ctrl-C.
#
# Usage in a test script:
#   source "$(dirname "$0")/lib.sh"
#   E2E_PROVIDER=ec2                    # optional: gce (default), ec2 or azure; the fake
#                                       # plays it and the agent's config pins it
#   e2e_init network_faults "$@"        # root, tools, binaries; exit 77 with a reason if not
#   e2e_require_iptables                # only where iptables is needed
#   e2e_up                              # namespaces, fake-mds, agent; waits for its OK line
#   e2e_fault_case "label" FAILED net.timeout apply_fn remove_fn
#   e2e_finish                          # table, "e2e NAME: N passed, M failed", exit 0/1
#
# Fault cases judge the probe named by E2E_PROBE (default metadata): its serial line, its
# row of `check --json`, and (E2E_CHECK_ATTRIBUTE=1) its guest attribute probe-<name>.
#
# Exit codes: 0 all passed, 1 any failed (or the harness broke), 77 skipped.

# Constants and globals here are used by the scripts that source this file.
# shellcheck disable=SC2034
set -Eeuo pipefail

readonly E2E_MDS_IP=169.254.169.254
readonly E2E_VM_ADDR=169.254.10.2
readonly E2E_MDS_LINK_ADDR=169.254.10.1
readonly E2E_METADATA_NAME=metadata.google.internal
# Where a resolver would be but none listens: the mds side's link address (port 53 closed,
# so queries get ICMP port unreachable). Inside our own namespaces, never the host's.
readonly E2E_DEAD_RESOLVER=$E2E_MDS_LINK_ADDR
# A proxy address for http_proxy; nothing listens there and the agent must not use it.
readonly E2E_PROXY_URL="http://$E2E_MDS_LINK_ADDR:3128"

# Deadlines (seconds). The agent config below gives: interval 2s, timeout 1s, retry
# 200ms..4s x3, so a fault shows within ~2s + 3x1s + backoff and a recovery within ~4s + 2s.
readonly E2E_LINE_DEADLINE=30
readonly E2E_RECOVERY_DEADLINE=30
readonly E2E_START_DEADLINE=${E2E_START_DEADLINE_OVERRIDE:-20}
# Guest attributes trail the serial console: GCE allows about 10 writes a minute, and a
# run of faults queues more than that. A full minute of budget, and some.
readonly E2E_ATTRIBUTE_DEADLINE=75

E2E_NAME=""
E2E_PROVIDER=${E2E_PROVIDER:-gce}
E2E_FAKE_ARGS=()        # extra fake-mds options (e.g. --hop-limit 2)
E2E_GP=""
E2E_FAKE=""
E2E_TMP=""
E2E_VM=""
E2E_MDS=""
E2E_CFG=""
E2E_SERIAL=""
E2E_STATE_DIR=""
E2E_AGENT_LOG=""
E2E_FAKE_LOG=""
E2E_AGENT_PID=""
E2E_FAKE_PID=""
E2E_BG_PIDS=()
E2E_AGENT_ENV=()        # extra environment (NAME=value) for the agent and for check
E2E_SKIPPING=0
E2E_CREATED_NETNS_DIR=0
E2E_NETNS_CREATED=()
E2E_PASSED=0
E2E_FAILED=0
E2E_ROWS=()             # summary rows, fields separated by '|'
E2E_PROBE=metadata      # the probe the fault cases judge
E2E_CHECK_ATTRIBUTE=0   # 1: fault cases also wait for guest attribute probe-$E2E_PROBE
E2E_FAKE_ARGS=()        # more fake-mds arguments (e.g. --listen for a second address)
# The probes.service_proxy section of the agent's config (indented four spaces).
E2E_SERVICE_PROXY_YAML="    enabled: false"

# Results of the last e2e_check call.
E2E_CHECK_RC=""
E2E_CHECK_JSON=""
E2E_CHECK_OBSERVED=""   # "STATE cause" of the probe under test, or a note

# ---------------------------------------------------------------------------------------
# small helpers

e2e_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
e2e_now() { date +%s.%N; }
e2e_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# e2e_wait_for SECONDS CMD [ARG...]: polls CMD every 0.1 s until it succeeds (0) or the
# deadline passes (1). Never waits longer than SECONDS (plus one CMD run).
e2e_wait_for() {
  local seconds=$1
  shift
  local deadline
  deadline=$(awk -v n="$(e2e_now)" -v s="$seconds" 'BEGIN { printf "%.3f", n + s }')
  while :; do
    if "$@"; then return 0; fi
    if awk -v n="$(e2e_now)" -v d="$deadline" 'BEGIN { exit !(n >= d) }'; then return 1; fi
    sleep 0.1
  done
}

# True while PID is a live (not zombie) process.
e2e_pid_alive() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]]
}

# Stops one process we started: SIGTERM, up to SECONDS for it to exit, then SIGKILL. Reaps it.
e2e_stop_pid() {
  local pid=$1 seconds=${2:-10}
  [[ -n $pid ]] || return 0
  if e2e_pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! e2e_wait_for "$seconds" eval "! e2e_pid_alive $pid"; then
      e2e_log "pid $pid ignored SIGTERM for ${seconds}s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      e2e_wait_for 5 eval "! e2e_pid_alive $pid" || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

e2e_skip() {
  echo "SKIP e2e ${E2E_NAME:-?}: $*"
  E2E_SKIPPING=1
  exit 77
}

e2e_die() {
  echo "ERROR e2e ${E2E_NAME:-?}: $*" >&2
  exit 1
}

# Runs a command inside the vm namespace with a clean environment (no proxy or
# GCE_METADATA_HOST leaking in from whoever runs the tests) plus E2E_AGENT_ENV.
# Background jobs use E2E_ARGV directly (never a function with `&`, which would fork a
# subshell and leave $! pointing at the subshell instead of the process to stop).
e2e_vm_argv() {
  E2E_ARGV=(ip netns exec "$E2E_VM" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    ${E2E_AGENT_ENV[@]+"${E2E_AGENT_ENV[@]}"})
}
e2e_in_vm() {
  e2e_vm_argv
  "${E2E_ARGV[@]}" "$@"
}

# ---------------------------------------------------------------------------------------
# set-up and tear-down

e2e_cleanup() {
  local rc=$?
  set +e
  trap - ERR
  for pid in ${E2E_BG_PIDS[@]+"${E2E_BG_PIDS[@]}"}; do e2e_stop_pid "$pid" 5; done
  e2e_stop_pid "$E2E_AGENT_PID" 10
  e2e_stop_pid "$E2E_FAKE_PID" 5
  # Safety net: anything still running with our temp dir on its command line is ours.
  if [[ -n $E2E_TMP ]]; then
    local leaked
    for leaked in $(pgrep -f -- "$E2E_TMP/" 2>/dev/null); do
      [[ $leaked == "$$" ]] && continue
      echo "e2e ${E2E_NAME}: stopping leftover process $leaked: $(tr '\0' ' ' <"/proc/$leaked/cmdline" 2>/dev/null)" >&2
      e2e_stop_pid "$leaked" 5
    done
  fi
  for ns in ${E2E_NETNS_CREATED[@]+"${E2E_NETNS_CREATED[@]}"}; do
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  if ((E2E_CREATED_NETNS_DIR)); then rmdir /etc/netns 2>/dev/null; fi
  if [[ -n $E2E_TMP && -d $E2E_TMP ]]; then
    if [[ ${E2E_KEEP:-0} == 1 ]]; then
      echo "e2e ${E2E_NAME}: kept $E2E_TMP (E2E_KEEP=1)"
    else
      rm -rf "$E2E_TMP"
    fi
  fi
  # 77 means "skipped" to ctest: only a deliberate skip may produce it.
  if ((rc == 77 && !E2E_SKIPPING)); then rc=1; fi
  exit "$rc"
}

e2e_on_error() {
  local rc=$? line=$1 cmd=$2
  echo "ERROR e2e ${E2E_NAME:-?}: harness command failed (exit $rc) at line $line: $cmd" >&2
}

# Installs the packages behind any missing command (idempotent; apt-get only when needed).
e2e_ensure_tools() {
  local -A pkg_of=([ip]=iproute2 [iptables]=iptables [curl]=curl [jq]=jq [awk]=gawk)
  local missing=() cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]:-$cmd}")
  done
  ((${#missing[@]} == 0)) && return 0
  e2e_log "installing ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    e2e_skip "missing ${missing[*]} and no apt-get to install them"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    e2e_skip "cannot install ${missing[*]} (apt-get install failed)"
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || e2e_skip "'$cmd' is still missing after installing"
  done
}

# e2e_init NAME GUESTPULSE FAKE_MDS
e2e_init() {
  E2E_NAME=$1
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'e2e_on_error $LINENO "$BASH_COMMAND"' ERR
  if (($# != 3)); then
    echo "usage: bash $0 PATH/TO/guestpulse PATH/TO/fake-mds" >&2
    exit 1
  fi
  [[ -x $2 ]] || e2e_die "guestpulse binary '$2' is not executable"
  [[ -x $3 ]] || e2e_die "fake-mds binary '$3' is not executable"
  E2E_GP=$(realpath "$2")
  E2E_FAKE=$(realpath "$3")
  ((EUID == 0)) || e2e_skip "needs root to create network namespaces and firewall rules (running as uid $EUID)"
  e2e_ensure_tools ip curl jq awk
  E2E_TMP=$(mktemp -d "/tmp/gp-e2e-$E2E_NAME.XXXXXX")
  E2E_VM="gp-vm-$$"
  E2E_MDS="gp-mds-$$"
  E2E_CFG=$E2E_TMP/guestpulse.yaml
  E2E_SERIAL=$E2E_TMP/serial.log
  E2E_STATE_DIR=$E2E_TMP/state
  E2E_AGENT_LOG=$E2E_TMP/agent.stderr
  E2E_FAKE_LOG=$E2E_TMP/fake-mds.stderr
}

e2e_require_iptables() {
  e2e_ensure_tools iptables
  # Probe in a throwaway namespace: the exact rule kinds the tests use (owner match,
  # REJECT with tcp-reset, DROP), never the host's tables.
  local probe="gp-ipt-$$"
  ip netns add "$probe" 2>"$E2E_TMP/netns.err" ||
    e2e_skip "cannot create a network namespace ('ip netns add' failed: $(head -c 200 "$E2E_TMP/netns.err"))"
  E2E_NETNS_CREATED+=("$probe")
  if ! ip netns exec "$probe" iptables -w 5 -A OUTPUT -d "$E2E_MDS_IP" -p tcp -m owner --uid-owner 0 \
      -j REJECT --reject-with tcp-reset 2>"$E2E_TMP/iptables-probe.err" ||
     ! ip netns exec "$probe" iptables -w 5 -A OUTPUT -d "$E2E_MDS_IP" -j DROP 2>>"$E2E_TMP/iptables-probe.err"; then
    e2e_skip "iptables cannot be used in a network namespace: $(head -c 300 "$E2E_TMP/iptables-probe.err")"
  fi
  ip netns del "$probe"
}

e2e_write_hosts_with_mapping() {
  cat >"$1" <<EOF
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
$E2E_MDS_IP $E2E_METADATA_NAME metadata
EOF
}
e2e_write_hosts_without_mapping() {
  cat >"$1" <<EOF
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
EOF
}
e2e_write_resolv() { printf 'nameserver %s\n' "$2" >"$1"; }

# The vm namespace's /etc files. They are rewritten in place (same inode), because
# `ip netns exec` bind-mounts them over /etc and a running agent keeps that mount.
E2E_VM_HOSTS() { echo "/etc/netns/$E2E_VM/hosts"; }
E2E_VM_RESOLV() { echo "/etc/netns/$E2E_VM/resolv.conf"; }

e2e_topology_up() {
  ip netns add "$E2E_VM" 2>"$E2E_TMP/netns.err" ||
    e2e_skip "cannot create a network namespace ('ip netns add' failed: $(head -c 200 "$E2E_TMP/netns.err"))"
  E2E_NETNS_CREATED+=("$E2E_VM")
  ip netns add "$E2E_MDS" 2>"$E2E_TMP/netns.err" ||
    e2e_skip "cannot create a second network namespace: $(head -c 200 "$E2E_TMP/netns.err")"
  E2E_NETNS_CREATED+=("$E2E_MDS")

  # The veth pair is created inside the vm namespace with its peer sent straight to the
  # mds namespace: no interface ever appears in the host's namespace.
  ip -n "$E2E_VM" link add veth0 type veth peer name veth0 netns "$E2E_MDS"
  ip -n "$E2E_VM" link set lo up
  ip -n "$E2E_MDS" link set lo up
  ip -n "$E2E_MDS" addr add "$E2E_MDS_LINK_ADDR/30" dev veth0
  ip -n "$E2E_MDS" addr add "$E2E_MDS_IP/32" dev veth0
  ip -n "$E2E_MDS" link set veth0 up
  ip -n "$E2E_VM" addr add "$E2E_VM_ADDR/30" dev veth0
  ip -n "$E2E_VM" link set veth0 up
  e2e_route_add
  # No default route in the vm namespace: only the metadata server is reachable.

  if [[ ! -d /etc/netns ]]; then
    mkdir /etc/netns 2>/dev/null || e2e_skip "cannot create /etc/netns for the namespace's hosts and resolv.conf"
    E2E_CREATED_NETNS_DIR=1
  fi
  mkdir "/etc/netns/$E2E_VM" || e2e_skip "cannot create /etc/netns/$E2E_VM"
  e2e_write_hosts_with_mapping "$(E2E_VM_HOSTS)"
  e2e_write_resolv "$(E2E_VM_RESOLV)" "$E2E_MDS_IP"
  # The agent reads proxy variables from /etc/environment too: the vm namespace gets an
  # empty one, so a proxy set on the machine running the tests never leaks into a verdict
  # (test_proxy_faults.sh sets its own). `ip netns exec` only binds over files that exist.
  if [[ -f /etc/environment ]]; then : >"/etc/netns/$E2E_VM/environment"; fi
}

e2e_route_add() { ip -n "$E2E_VM" route replace "$E2E_MDS_IP" dev veth0; }
e2e_route_del() { ip -n "$E2E_VM" route del "$E2E_MDS_IP" dev veth0; }

# A routed topology for hop-limit tests: four namespaces, nothing on the host's network.
#
#   $FAR  169.254.20.2/30 --veth-- 169.254.20.1/30  $RTR (ip_forward=1)
#                                  169.254.21.1/30 --veth-- 169.254.21.2/30  $IMDS
#   $NEAR 169.254.22.2/30 --veth------------------------- 169.254.22.1/30  (+ E2E_MDS_IP/32)
#
# Sets FAR, RTR, IMDS and NEAR to the namespaces' names. $FAR reaches E2E_MDS_IP through
# the router (one routed hop), $NEAR on the same link.
e2e_routed_topology_up() {
  FAR="gp-far-$$"
  RTR="gp-rtr-$$"
  IMDS="gp-imds-$$"
  NEAR="gp-near-$$"
  local ns pair dev
  for ns in "$FAR" "$RTR" "$IMDS" "$NEAR"; do
    ip netns add "$ns" 2>"$E2E_TMP/netns.err" ||
      e2e_skip "cannot create a network namespace ('ip netns add' failed: $(head -c 200 "$E2E_TMP/netns.err"))"
    E2E_NETNS_CREATED+=("$ns")
    ip -n "$ns" link set lo up
  done
  # Each veth pair is made inside one namespace with its peer sent straight to the other.
  ip -n "$FAR" link add eth0 type veth peer name far0 netns "$RTR"
  ip -n "$RTR" link add imds0 type veth peer name eth0 netns "$IMDS"
  ip -n "$NEAR" link add eth0 type veth peer name near0 netns "$IMDS"
  ip -n "$FAR" addr add 169.254.20.2/30 dev eth0
  ip -n "$RTR" addr add 169.254.20.1/30 dev far0
  ip -n "$RTR" addr add 169.254.21.1/30 dev imds0
  ip -n "$IMDS" addr add 169.254.21.2/30 dev eth0
  ip -n "$IMDS" addr add "$E2E_MDS_IP/32" dev eth0
  ip -n "$IMDS" addr add 169.254.22.1/30 dev near0
  ip -n "$NEAR" addr add 169.254.22.2/30 dev eth0
  for pair in "$FAR eth0" "$RTR far0" "$RTR imds0" "$IMDS eth0" "$IMDS near0" "$NEAR eth0"; do
    read -r ns dev <<<"$pair"
    ip -n "$ns" link set "$dev" up
  done
  ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$FAR" route add "$E2E_MDS_IP" via 169.254.20.1
  ip -n "$RTR" route add "$E2E_MDS_IP" via 169.254.21.2
  ip -n "$IMDS" route add 169.254.20.0/30 via 169.254.21.1
  ip -n "$NEAR" route add "$E2E_MDS_IP" dev eth0
}

# fake-mds control API, always from the mds namespace. e2e_fake METHOD PATH [JSON]
e2e_fake() {
  local method=$1 path=$2 data=${3:-}
  local args=(-sS --fail-with-body --noproxy '*' --max-time 5 -X "$method")
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data "$data")
  ip netns exec "$E2E_MDS" curl "${args[@]}" "http://$E2E_MDS_IP/_fake/$path"
}

e2e_fake_up() {
  local port_file=$E2E_TMP/fake-mds.port
  # Guest attributes on, as on a VM created with enable-guest-attributes=TRUE: the agent
  # reports through them, and the fake (like GCE) answers 403 without it.
  local provider_args=(--provider "$E2E_PROVIDER")
  if [[ $E2E_PROVIDER == gce ]]; then provider_args+=(--attribute enable-guest-attributes=TRUE); fi
  ip netns exec "$E2E_MDS" "$E2E_FAKE" --listen "$E2E_MDS_IP:80" --port-file "$port_file" \
    "${provider_args[@]}" ${E2E_FAKE_ARGS[@]+"${E2E_FAKE_ARGS[@]}"} --log-requests \
    >"$E2E_FAKE_LOG" 2>&1 &
  E2E_FAKE_PID=$!
  e2e_wait_for 10 test -s "$port_file" ||
    { cat "$E2E_FAKE_LOG" >&2; e2e_die "fake-mds did not start listening on $E2E_MDS_IP:80"; }
  [[ $(e2e_fake GET ping) == *ok* ]] || e2e_die "fake-mds control API does not answer /_fake/ping"
}

e2e_write_config() {
  mkdir -p "$E2E_STATE_DIR"
  : >>"$E2E_SERIAL"
  # metadata.endpoint and metadata.hostname stay at their defaults (http://169.254.169.254,
  # metadata.google.internal): the agent must find the server the way it does on GCE.
  cat >"$E2E_CFG" <<EOF
provider: $E2E_PROVIDER
metadata:
  timeout: 1s
retry:
  initial: 200ms
  max: 4s
  multiplier: 2
  attempts: 3
probes:
  metadata:
    interval: 2s
  workload_certs:
    enabled: false
  mds_mtls:
    enabled: false
  service_proxy:
$E2E_SERVICE_PROXY_YAML
report:
  guest_attributes:
    enabled: true
    namespace: guestpulse
    heartbeat: 10s
  serial:
    enabled: true
    device: $E2E_SERIAL
    reminder: 1m
  state_dir: $E2E_STATE_DIR
log:
  level: debug
EOF
}

# Starts `guestpulse run` in the vm namespace with E2E_AGENT_ENV; stderr to E2E_AGENT_LOG.
e2e_agent_start() {
  [[ -z $E2E_AGENT_PID ]] || e2e_die "agent already running (pid $E2E_AGENT_PID)"
  echo "---- agent start $(date -u +%FT%TZ) env: ${E2E_AGENT_ENV[*]:-(none)}" >>"$E2E_AGENT_LOG"
  e2e_vm_argv
  "${E2E_ARGV[@]}" "$E2E_GP" run -c "$E2E_CFG" >>"$E2E_AGENT_LOG" 2>&1 &
  E2E_AGENT_PID=$!
}

e2e_agent_stop() {
  e2e_stop_pid "$E2E_AGENT_PID" 10
  E2E_AGENT_PID=""
}

e2e_serial_count() { wc -l <"$E2E_SERIAL" | tr -d ' '; }

# Prints the first serial line after line OFFSET that matches the ERE, as "N:line".
e2e_serial_find() {
  OFFSET=$1 RE=$2 awk 'NR > ENVIRON["OFFSET"] && $0 ~ ENVIRON["RE"] { print NR ":" $0; exit }' \
    "$E2E_SERIAL"
}
# The last such line after OFFSET, as "N:line".
e2e_serial_last() {
  OFFSET=$1 RE=$2 awk 'NR > ENVIRON["OFFSET"] && $0 ~ ENVIRON["RE"] { last = NR ":" $0 } END { if (last != "") print last }' \
    "$E2E_SERIAL"
}
# "STATE cause (LEVEL)" of a serial line.
e2e_serial_summary() {
  sed -E "s/.* (INFO|WARN|ERROR) probe=$E2E_PROBE state=([A-Z]+)( cause=([^ ]+))?.*/\\2 \\4 (\\1)/" <<<"${1#*:}"
}
e2e_serial_has() { [[ -n $(e2e_serial_find "$1" "$2") ]]; }

# A probe's latest state as written on the serial console ("" if none yet).
e2e_serial_last_state() {
  PROBE=$1 awk 'BEGIN { re = "probe=" ENVIRON["PROBE"] " state=[A-Z]+" }
       match($0, re) { s = substr($0, RSTART, RLENGTH); sub(/.*state=/, "", s) }
       END { print s }' "$E2E_SERIAL"
}
e2e_serial_last_metadata_state() { e2e_serial_last_state metadata; }
e2e_serial_metadata_ok() { [[ $(e2e_serial_last_state metadata) == OK ]]; }
# The metadata probe and the probe under test are both OK.
e2e_serial_probes_ok() {
  [[ $(e2e_serial_last_state metadata) == OK && $(e2e_serial_last_state "$E2E_PROBE") == OK ]]
}

e2e_escape_ere() { sed -e 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }

e2e_level_for() {
  case $1 in OK) echo INFO ;; DEGRADED) echo WARN ;; *) echo ERROR ;; esac
}
e2e_exit_for() {
  case $1 in OK) echo 0 ;; DEGRADED) echo 1 ;; FAILED) echo 2 ;; *) echo "?" ;; esac
}

# Starts the agent and waits for its metadata probe to report OK on the serial console.
e2e_agent_up_ok() {
  e2e_agent_start
  e2e_wait_for "$E2E_START_DEADLINE" e2e_serial_metadata_ok
}

# Namespaces, fake-mds, config and a healthy agent.
e2e_up() {
  e2e_topology_up
  e2e_fake_up
  e2e_write_config
  if ! e2e_agent_up_ok; then
    e2e_dump_diagnostics
    e2e_die "the agent did not report probe=metadata state=OK within ${E2E_START_DEADLINE}s of start on a healthy topology"
  fi
  e2e_log "topology up: vm=$E2E_VM mds=$E2E_MDS, agent pid $E2E_AGENT_PID healthy"
}

# ---------------------------------------------------------------------------------------
# guestpulse check --json

# Runs `guestpulse check --json` in the vm namespace (with E2E_AGENT_ENV), bounded to 60 s.
# Sets E2E_CHECK_RC, E2E_CHECK_JSON (file) and E2E_CHECK_OBSERVED.
e2e_check() {
  E2E_CHECK_JSON=$E2E_TMP/check.json
  E2E_CHECK_RC=0
  e2e_in_vm timeout 60 "$E2E_GP" check --json -c "$E2E_CFG" >"$E2E_CHECK_JSON" \
    2>"$E2E_TMP/check.stderr" || E2E_CHECK_RC=$?
  e2e_check_parse
}

# Same, in the background, so the serial console can be timed meanwhile; e2e_check_wait.
e2e_check_bg() {
  E2E_CHECK_JSON=$E2E_TMP/check.json
  e2e_vm_argv
  "${E2E_ARGV[@]}" timeout 60 "$E2E_GP" check --json -c "$E2E_CFG" >"$E2E_CHECK_JSON" \
    2>"$E2E_TMP/check.stderr" &
  E2E_CHECK_BG_PID=$!
  E2E_BG_PIDS+=("$E2E_CHECK_BG_PID")
}
e2e_check_wait() {
  E2E_CHECK_RC=0
  wait "$E2E_CHECK_BG_PID" || E2E_CHECK_RC=$?
  local kept=() pid
  for pid in ${E2E_BG_PIDS[@]+"${E2E_BG_PIDS[@]}"}; do
    [[ $pid == "$E2E_CHECK_BG_PID" ]] || kept+=("$pid")
  done
  E2E_BG_PIDS=(${kept[@]+"${kept[@]}"})
  e2e_check_parse
}

e2e_check_parse() {
  local line
  if line=$(PROBE=$E2E_PROBE jq -er '[.probes[] | select(.name == env.PROBE)][0] | "\(.state) \(.cause)"' \
      "$E2E_CHECK_JSON" 2>/dev/null); then
    E2E_CHECK_OBSERVED="${line% } exit=$E2E_CHECK_RC"
  else
    E2E_CHECK_OBSERVED="no $E2E_PROBE probe in JSON (exit=$E2E_CHECK_RC)"
  fi
}

# True when the check's row of the probe under test has STATE and CAUSE, and the exit code
# matches the report's overall status (0 OK, 1 DEGRADED, 2 FAILED).
e2e_check_matches() {
  local state=$1 cause=$2 got overall
  got=$(PROBE=$E2E_PROBE jq -r '[.probes[] | select(.name == env.PROBE)][0] | "\(.state)|\(.cause)"' \
    "$E2E_CHECK_JSON" 2>/dev/null) || return 1
  [[ $got == "$state|$cause" ]] || return 1
  overall=$(jq -r '.status' "$E2E_CHECK_JSON" 2>/dev/null) || return 1
  [[ $E2E_CHECK_RC == "$(e2e_exit_for "$overall")" ]]
}

# ---------------------------------------------------------------------------------------
# diagnostics and results

e2e_dump_diagnostics() {
  {
    echo "---------------- diagnostics (${E2E_NAME}) ----------------"
    if [[ -n $E2E_CHECK_JSON && -s $E2E_CHECK_JSON ]]; then
      echo "-- guestpulse check --json (exit $E2E_CHECK_RC):"
      jq . "$E2E_CHECK_JSON" 2>/dev/null || cat "$E2E_CHECK_JSON"
      [[ -s $E2E_TMP/check.stderr ]] && { echo "-- check stderr:"; tail -n 20 "$E2E_TMP/check.stderr"; }
    fi
    echo "-- serial console ($E2E_SERIAL):"
    cat "$E2E_SERIAL" 2>/dev/null
    echo "-- agent stderr (last 60 lines of $E2E_AGENT_LOG):"
    tail -n 60 "$E2E_AGENT_LOG" 2>/dev/null
    echo "-- fake-mds (last 15 lines):"
    tail -n 15 "$E2E_FAKE_LOG" 2>/dev/null
    echo "-- fake-mds faults: $(e2e_fake GET faults 2>&1 | head -c 400)"
    echo "-- vm namespace: routes / OUTPUT rules / hosts / resolv.conf"
    ip -n "$E2E_VM" route 2>&1 | sed 's/^/   /'
    ip netns exec "$E2E_VM" iptables -w 5 -S OUTPUT 2>&1 | sed 's/^/   /'
    ip netns exec "$E2E_VM" iptables -w 5 -t nat -S 2>&1 | sed 's/^/   nat: /'
    sed 's/^/   /' "$(E2E_VM_HOSTS)" "$(E2E_VM_RESOLV)" 2>/dev/null
    echo "------------------------------------------------------------"
  } >&2
}

# The agent's guest attribute probe-$E2E_PROBE on the fake ("" when not written yet).
E2E_ATTRIBUTE_NAMESPACE=guestpulse
e2e_attribute() {
  e2e_fake GET guest-attributes 2>/dev/null |
    KEY="$E2E_ATTRIBUTE_NAMESPACE/probe-$E2E_PROBE" jq -r '.[env.KEY] // empty'
}
e2e_attribute_starts() { [[ $(e2e_attribute) == "$1"* ]]; }

e2e_record() {  # fault|expected|check|serial|recovery|seconds|result
  E2E_ROWS+=("$1")
  if [[ ${1##*|} == PASS ]]; then ((++E2E_PASSED)); else ((++E2E_FAILED)); fi
}

# Makes sure the agent's metadata probe (and the probe under test) is OK before a fault. If
# a previous case left it failing, restarts it on a fresh state directory so cases stay
# independent.
e2e_ensure_healthy_agent() {
  if [[ -n $E2E_AGENT_PID ]] && e2e_pid_alive "$E2E_AGENT_PID" &&
     e2e_wait_for "$E2E_RECOVERY_DEADLINE" e2e_serial_probes_ok; then
    return 0
  fi
  e2e_log "agent not healthy before the next case; restarting it on a fresh state dir"
  E2E_AGENT_ENV=()
  e2e_agent_restart_fresh
}

# Restarts the agent on a fresh state directory (no health or flapping history) and waits
# until the metadata probe and the probe under test are OK.
e2e_agent_restart_fresh() {
  e2e_agent_stop
  rm -rf "$E2E_STATE_DIR"
  mkdir -p "$E2E_STATE_DIR"
  e2e_agent_up_ok && e2e_wait_for "$E2E_START_DEADLINE" e2e_serial_probes_ok
}

# e2e_fault_case LABEL STATE CAUSE APPLY_FN REMOVE_FN
#
# With a healthy agent: applies the fault, runs `check --json` (in the background) while
# timing the first serial line `probe=$E2E_PROBE state=STATE cause=CAUSE`, then removes
# the fault and waits for `probe=$E2E_PROBE state=OK msg="recovered after`. APPLY_FN and
# REMOVE_FN may change E2E_AGENT_ENV and restart the agent (the check uses the same env).
e2e_fault_case() {
  local label=$1 state=$2 cause=$3 apply=$4 remove=$5
  local check_col serial_col recovery_col secs="-" ok=1 offset t0 t_line found nonok
  e2e_log "== $label: expect $state $cause"

  if ! e2e_ensure_healthy_agent; then
    e2e_dump_diagnostics
    e2e_record "$label|$state $cause|not run|not run|-|-|FAIL (no healthy agent before the fault)"
    return 0
  fi

  # The attribute must show the healthy state first, or a lagging write could pass for the
  # fault's.
  if ((E2E_CHECK_ATTRIBUTE)) && ! e2e_wait_for "$E2E_ATTRIBUTE_DEADLINE" e2e_attribute_starts OK; then
    e2e_log "note: guest attribute probe-$E2E_PROBE is '$(e2e_attribute | cut -c1-60)', not OK, before the fault"
  fi

  offset=$(e2e_serial_count)
  if ! "$apply"; then
    e2e_log "FAIL $label: applying the fault ($apply) failed"
    e2e_dump_diagnostics
    "$remove" || true
    e2e_record "$label|$state $cause|-|-|-|-|FAIL (could not apply fault)"
    return 0
  fi
  t0=$(e2e_now)
  e2e_check_bg

  local re level
  level=$(e2e_level_for "$state")
  re=" $level probe=$E2E_PROBE state=$state cause=$(e2e_escape_ere "$cause")( |\$)"
  if e2e_wait_for "$E2E_LINE_DEADLINE" e2e_serial_has "$offset" "$re"; then
    t_line=$(e2e_now)
    secs=$(e2e_elapsed "$t0" "$t_line")
    found=$(e2e_serial_find "$offset" "$re")
    serial_col="$state $cause"
    # Say so when the agent first wrote something else (a passing but noteworthy detour).
    nonok=$(e2e_serial_find "$offset" "probe=$E2E_PROBE state=(FAILED|DEGRADED)")
    if [[ -n $nonok && ${nonok%%:*} != "${found%%:*}" ]]; then
      serial_col+=" (first: $(e2e_serial_summary "$nonok"))"
    fi
  else
    ok=0
    found=""
    nonok=$(e2e_serial_last "$offset" "probe=$E2E_PROBE state=(FAILED|DEGRADED)")
    if [[ -n $nonok ]]; then
      serial_col=$(e2e_serial_summary "$nonok")
    else
      serial_col="no non-OK line in ${E2E_LINE_DEADLINE}s"
    fi
    e2e_log "FAIL $label: no serial line matching /$re/ within ${E2E_LINE_DEADLINE}s"
  fi

  e2e_check_wait
  check_col=$E2E_CHECK_OBSERVED
  if ! e2e_check_matches "$state" "$cause"; then
    ok=0
    e2e_log "FAIL $label: check --json: expected $E2E_PROBE $state $cause (exit $(e2e_exit_for "$state")), got $E2E_CHECK_OBSERVED"
  fi
  if ((E2E_CHECK_ATTRIBUTE)) && [[ -n $found ]]; then
    if e2e_wait_for "$E2E_ATTRIBUTE_DEADLINE" e2e_attribute_starts "$state $cause: "; then
      check_col+="; attr ok"
    else
      ok=0
      check_col+="; attr: $(e2e_attribute | cut -c1-60)"
      e2e_log "FAIL $label: guest attribute $E2E_ATTRIBUTE_NAMESPACE/probe-$E2E_PROBE is not '$state $cause: ...' after ${E2E_ATTRIBUTE_DEADLINE}s: $(e2e_attribute)"
    fi
  fi
  # Show the evidence while the fault is still in place.
  ((ok)) || e2e_dump_diagnostics

  # Recovery: after the fault line (or, without one, after the fault was applied).
  local rec_offset=$offset
  [[ -n $found ]] && rec_offset=${found%%:*}
  if ! "$remove"; then
    ok=0
    recovery_col="could not remove fault"
  else
    local t1
    t1=$(e2e_now)
    if [[ -z $found && -z $(e2e_serial_find "$offset" "probe=$E2E_PROBE state=(FAILED|DEGRADED)") ]]; then
      ok=0
      recovery_col="n/a (never left OK)"
    elif e2e_wait_for "$E2E_RECOVERY_DEADLINE" e2e_serial_has "$rec_offset" \
        " INFO probe=$E2E_PROBE state=OK msg=\"recovered after "; then
      recovery_col="OK in $(e2e_elapsed "$t1" "$(e2e_now)")s"
    else
      ok=0
      recovery_col="none in ${E2E_RECOVERY_DEADLINE}s"
      e2e_log "FAIL $label: no 'state=OK msg=\"recovered after' line within ${E2E_RECOVERY_DEADLINE}s of removing the fault"
      e2e_dump_diagnostics
    fi
  fi

  if ((ok)); then
    e2e_log "PASS $label (${secs}s fault->line; recovery $recovery_col)"
    e2e_record "$label|$state $cause|$check_col|$serial_col|$recovery_col|$secs|PASS"
  else
    e2e_record "$label|$state $cause|$check_col|$serial_col|$recovery_col|$secs|FAIL"
  fi
}

# Prints the summary table and the final line; exits 0 when all passed, else 1.
e2e_finish() {
  echo
  echo "e2e $E2E_NAME summary"
  {
    echo "fault|expected cause|check --json ($E2E_PROBE)|serial|recovery|s fault->line|result"
    echo "-----|--------------|-----------------------|------|--------|--------------|------"
    printf '%s\n' ${E2E_ROWS[@]+"${E2E_ROWS[@]}"}
  } | column -t -s '|' -o ' | ' 2>/dev/null || printf '%s\n' ${E2E_ROWS[@]+"${E2E_ROWS[@]}"}
  echo "e2e $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
  ((E2E_FAILED == 0 && E2E_PASSED > 0)) && exit 0
  exit 1
}
