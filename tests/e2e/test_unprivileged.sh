#!/usr/bin/env bash
# Does every diagnosis still work as the service runs it, not as root?
#
# The packaged unit runs guestpulse as a dynamic user in the groups dialout and tty, with
# CAP_NET_ADMIN as its only capability (ambient and bounding) and no_new_privs. Here
# `guestpulse check --json` runs twice per fault, in the test's network namespaces with
# real firewall rules: as root, and under setpriv with exactly that user, groups and
# capabilities. For each fault the probes must reach the same state and cause. Where the
# message differs, the service's message must say what it could not read and why;
# losing evidence silently fails the test. Every difference is printed.
#
# The serial console is then written as the service user through a device file owned by
# root:dialout 0660 (udev's ttyS*) and root:tty 0620 (while a getty holds it), and not
# through root:root 0600.
#
#   bash tests/e2e/test_unprivileged.sh build/guestpulse build/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# shellcheck disable=SC2317  # apply_/remove_ functions are called by name
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init unprivileged "$@"
e2e_require_iptables
command -v setpriv >/dev/null || e2e_skip "setpriv is missing (util-linux)"
command -v iptables-legacy >/dev/null || e2e_skip "iptables-legacy is missing (package iptables)"
set +e
trap - ERR
T_START=$(e2e_now)

e2e_topology_up
e2e_fake_up
# The two runs of a case must see the same network: without this, the first run's DNS
# queries use up the mds namespace's ICMP rate limit, and the second run's queries to the
# dead resolver time out instead of being refused.
ip netns exec "$E2E_MDS" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000
e2e_write_config
# The service user must be able to read the config, as it reads /etc/guestpulse.
chmod 0755 "$E2E_TMP"
chmod 0644 "$E2E_CFG"

# A uid in systemd's DynamicUser range that no account uses.
SVC_UID=""
for ((u = 61184 + $$ % 4000; u < 65519; u++)); do
  getent passwd "$u" >/dev/null || getent group "$u" >/dev/null || { SVC_UID=$u; break; }
done
[[ -n $SVC_UID ]] || e2e_die "no free uid in 61184..65519"
DIALOUT=$(getent group dialout | cut -d: -f3)
TTY=$(getent group tty | cut -d: -f3)
[[ -n $DIALOUT && -n $TTY ]] || e2e_skip "groups dialout and tty must exist"
# shellcheck disable=SC2054  # the commas are setpriv's capability lists
AS_SERVICE=(setpriv --reuid="$SVC_UID" --regid="$SVC_UID" --groups="$DIALOUT,$TTY"
  --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin
  --no-new-privs --)
caps=$(e2e_in_vm "${AS_SERVICE[@]}" grep -E '^(Uid|Groups|CapEff|CapAmb|CapBnd|NoNewPrivs)' /proc/self/status | tr -s '\t\n' '  ')
e2e_log "service identity: $caps"

check_as() {  # check_as root|service OUTFILE
  local rc=0
  if [[ $1 == root ]]; then
    e2e_in_vm timeout 60 "$E2E_GP" check --json -c "$E2E_CFG" >"$2" 2>"$2.err" || rc=$?
  else
    e2e_in_vm "${AS_SERVICE[@]}" timeout 60 "$E2E_GP" check --json -c "$E2E_CFG" >"$2" 2>"$2.err" || rc=$?
  fi
  echo "$rc"
}
# "name state cause" per probe, sorted.
verdicts() { jq -r '.probes[] | "\(.name) \(.state) \(.cause)"' "$1" 2>/dev/null | sort; }
# The metadata probe's message without what changes from run to run (attempt timings).
evidence() {
  jq -r '.probes[] | select(.name == "metadata") | .message' "$1" 2>/dev/null |
    sed -E 's/\([0-9]+ attempts? over [0-9.]+m?s\)//g; s/(under )?[0-9]+(\.[0-9]+)?m?s\b/<t>/g'
}
# Does a message say what could not be read, and why?
says_why() { grep -qiE "(permission denied|not permitted|needs root|CAP_NET_ADMIN|cannot|could not)" <<<"$1"; }

LOSSES=()
# compare_case LABEL APPLY REMOVE [GAP]: GAP names the agent change a known silent loss
# of evidence waits for; such a case is reported as skipped (with GAP) instead of failed.
compare_case() {
  local label=$1 apply=$2 remove=$3 gap=${4:-} root_rc svc_rc rv sv re se
  if ! "$apply"; then
    e2e_record "$label|could not apply the fault|-|FAIL"
    return
  fi
  root_rc=$(check_as root "$E2E_TMP/root.json")
  svc_rc=$(check_as service "$E2E_TMP/service.json")
  "$remove" || e2e_log "WARN $label: removing the fault failed"
  rv=$(verdicts "$E2E_TMP/root.json")
  sv=$(verdicts "$E2E_TMP/service.json")
  re=$(evidence "$E2E_TMP/root.json")
  se=$(evidence "$E2E_TMP/service.json")
  local meta
  meta=$(grep '^metadata ' <<<"$rv" | cut -d' ' -f2-)
  if [[ -z $rv || $rv != "$sv" || $root_rc != "$svc_rc" ]]; then
    e2e_record "$label|${meta:-no JSON} (exit $root_rc)|$(grep '^metadata ' <<<"$sv" | cut -d' ' -f2-) (exit $svc_rc)|FAIL"
    e2e_log "FAIL $label: verdicts differ"
    echo "  root:    $(tr '\n' ';' <<<"$rv") $(head -c 300 "$E2E_TMP/root.json.err")" >&2
    echo "  service: $(tr '\n' ';' <<<"$sv") $(head -c 300 "$E2E_TMP/service.json.err")" >&2
  elif [[ $re == "$se" ]]; then
    e2e_record "$label|$meta (exit $root_rc)|same verdicts, same evidence|PASS"
  elif says_why "$se"; then
    e2e_record "$label|$meta (exit $root_rc)|same verdicts; less evidence, said why|PASS"
    LOSSES+=("$label: root: $(jq -r '.probes[] | select(.name == "metadata") | .message' "$E2E_TMP/root.json")")
    LOSSES+=("$label: service: $(jq -r '.probes[] | select(.name == "metadata") | .message' "$E2E_TMP/service.json")")
  else
    echo "  root:    $re" >&2
    echo "  service: $se" >&2
    LOSSES+=("$label: root: $(jq -r '.probes[] | select(.name == "metadata") | .message' "$E2E_TMP/root.json")")
    LOSSES+=("$label: service: $(jq -r '.probes[] | select(.name == "metadata") | .message' "$E2E_TMP/service.json")")
    if [[ -n $gap ]]; then
      E2E_ROWS+=("$label|$meta (exit $root_rc)|evidence lost without a reason: $gap|SKIP")
      e2e_log "SKIP $label: known gap, $gap"
    else
      e2e_record "$label|$meta (exit $root_rc)|evidence lost without a reason|FAIL"
    fi
  fi
}

vm_ipt() { ip netns exec "$E2E_VM" iptables -w 5 "$@"; }
vm_ipt_legacy() { ip netns exec "$E2E_VM" iptables-legacy -w 5 "$@"; }
REJECT=(OUTPUT -d "$E2E_MDS_IP" -p tcp -j REJECT --reject-with tcp-reset)
DROP=(OUTPUT -d "$E2E_MDS_IP" -j DROP)
none() { true; }
apply_reject() { vm_ipt -A "${REJECT[@]}"; }
remove_reject() { vm_ipt -D "${REJECT[@]}"; }
apply_drop() { vm_ipt -A "${DROP[@]}"; }
remove_drop() { vm_ipt -D "${DROP[@]}"; }
apply_legacy_reject() { vm_ipt_legacy -A "${REJECT[@]}"; }
remove_legacy_reject() { vm_ipt_legacy -D "${REJECT[@]}"; }
apply_no_route() { e2e_route_del; }
remove_no_route() { e2e_route_add; }
apply_hosts() { e2e_write_hosts_without_mapping "$(E2E_VM_HOSTS)"; }
remove_hosts() { e2e_write_hosts_with_mapping "$(E2E_VM_HOSTS)"; }
apply_nameserver() { e2e_write_resolv "$(E2E_VM_RESOLV)" 192.0.2.53; }
remove_nameserver() { e2e_write_resolv "$(E2E_VM_RESOLV)" "$E2E_MDS_IP"; }
apply_proxy() { E2E_AGENT_ENV=("http_proxy=$E2E_PROXY_URL"); }
remove_proxy() { E2E_AGENT_ENV=(); }

compare_case "healthy" none none
compare_case "iptables-nft REJECT" apply_reject remove_reject
compare_case "iptables-nft DROP" apply_drop remove_drop
# /proc/net/ip_tables_names is readable by root only, so no capability short of
# CAP_DAC_READ_SEARCH lists legacy tables; the agent must say so in the message.
compare_case "iptables-legacy REJECT" apply_legacy_reject remove_legacy_reject
compare_case "route deleted" apply_no_route remove_no_route
compare_case "hosts mapping missing" apply_hosts remove_hosts
compare_case "nameserver not metadata" apply_nameserver remove_nameserver
compare_case "http_proxy without no_proxy" apply_proxy remove_proxy

# ---- the serial console through the device's group ----
serial_case() {  # serial_case LABEL OWNER MODE EXPECT(yes|no)
  local label=$1 owner=$2 mode=$3 expect=$4 dev=$E2E_TMP/serial-$RANDOM pid wrote=no
  : >"$dev"
  chown "$owner" "$dev"
  chmod "$mode" "$dev"
  sed "s|^    device: .*|    device: $dev|" "$E2E_CFG" >"$E2E_TMP/serial.yaml"
  sed -i "s|^  state_dir: .*|  state_dir: $E2E_TMP/svc-state|" "$E2E_TMP/serial.yaml"
  chmod 0644 "$E2E_TMP/serial.yaml"
  mkdir -p "$E2E_TMP/svc-state"
  chown "$SVC_UID:$SVC_UID" "$E2E_TMP/svc-state"
  e2e_vm_argv
  "${E2E_ARGV[@]}" "${AS_SERVICE[@]}" "$E2E_GP" run -c "$E2E_TMP/serial.yaml" >"$E2E_TMP/serial-run.log" 2>&1 &
  pid=$!
  E2E_BG_PIDS+=("$pid")
  e2e_wait_for 10 grep -q 'guestpulse .* started' "$dev" && wrote=yes
  [[ $wrote == no ]] && sleep 2   # the negative case: give it the same chance
  e2e_stop_pid "$pid" 10
  if [[ $wrote == "$expect" ]]; then
    e2e_record "serial via $owner $mode|written: $wrote|as expected|PASS"
  else
    e2e_record "serial via $owner $mode|written: $wrote|expected $expect|FAIL"
    tail -n 5 "$E2E_TMP/serial-run.log" >&2
  fi
  if [[ $expect == no ]]; then
    local said
    said=$(grep -m1 -i 'permission denied' "$E2E_TMP/serial-run.log")
    [[ -n $said ]] || e2e_record "serial via $owner $mode: said why|no 'Permission denied' in the log|-|FAIL"
    [[ -n $said ]] && e2e_log "unwritable serial device, logged: $said"
  fi
}
serial_case "udev ttyS*" "root:dialout" 0660 yes
serial_case "getty holds it" "root:tty" 0620 yes
serial_case "root only" "root:root" 0600 no

echo
echo "e2e $E2E_NAME summary (service: uid $SVC_UID, groups dialout=$DIALOUT tty=$TTY, CAP_NET_ADMIN only)"
printf '%s\n' "case|as root|as the service|result" "----|-------|--------------|------" "${E2E_ROWS[@]}" |
  column -t -s '|' -o ' | '
if ((${#LOSSES[@]})); then
  echo "evidence the service does not get:"
  printf '  %s\n' "${LOSSES[@]}"
else
  echo "evidence the service does not get: none"
fi
echo "took $(e2e_elapsed "$T_START" "$(e2e_now)")s"
echo "e2e $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
((E2E_FAILED == 0 && E2E_PASSED > 0))
