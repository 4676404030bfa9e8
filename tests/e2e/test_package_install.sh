#!/usr/bin/env bash
# Install, upgrade, remove and purge of the .deb in a throwaway Debian root, for real.
#
# Part 1, in a chroot (no systemd running, as in an image build or a container):
#   apt-get install ./guestpulse_<v>_amd64.deb; the unit is enabled, nothing started;
#   the operator edits the conffile; apt-get install of a newer-versioned build keeps the
#   edit; a broken config is named by `guestpulse config validate` and by the postinst;
#   remove keeps config and state; purge removes both and the enablement.
#
# Part 2, the same root booted with `systemd-nspawn --boot` inside the test's own network
# namespace, where fake-mds answers at 169.254.169.254 (where nspawn cannot boot here,
# the reason is printed and the part skipped):
#   the service is active (READY reached), STATUS= shows the state and then the failing
#   probe's; it runs as a dynamic user in dialout and tty with CAP_NET_ADMIN only; the
#   firewall evidence is read inside the sandbox and `check --json` run under the unit's
#   sandbox (systemd-run) finds what root finds; reload reaches the agent; a SIGSTOPped
#   agent is restarted by the watchdog; an upgrade restarts it and keeps the edit; a broken
#   config fails `systemctl restart` with exit 3 in the journal and no restart loop;
#   remove stops it; purge removes state and config.
#
#   bash tests/e2e/test_package_install.sh build/guestpulse build/tests/fake-mds
# Exit 0 all passed (a skipped part is printed), 1 any failed, 77 skipped.

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/pkg_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pkg_lib.sh"

CT_NSPAWN_PID=""
CT_INIT=""

pkg_cleanup() {
  local rc=$?
  set +e
  if [[ -n $CT_NSPAWN_PID ]]; then e2e_stop_pid "$CT_NSPAWN_PID" 20; fi
  pkg_root_down
  # Never let the temp dir's removal reach into something still mounted.
  if [[ -n $E2E_TMP ]] && findmnt -rn -o TARGET | grep -q "^$E2E_TMP/"; then
    echo "e2e $E2E_NAME: mounts remain under $E2E_TMP; leaving it in place" >&2
    findmnt -rn -o TARGET | grep "^$E2E_TMP/" >&2
    E2E_KEEP=1
  fi
  return "$rc"
}

e2e_init package_install "$@"
trap 'pkg_cleanup; e2e_cleanup' EXIT
for tool in dpkg-deb rpmbuild chroot findmnt; do
  command -v "$tool" >/dev/null || e2e_skip "'$tool' is missing (packaging/install-deps.sh installs it)"
done
chmod 0755 "$E2E_TMP"
# Each step records PASS or FAIL and the test goes on; no step aborts it.
set +e
trap - ERR
T_START=$(e2e_now)

check() {  # check LABEL RESULT(0 = pass) DETAIL; returns RESULT
  if [[ $2 == 0 ]]; then
    e2e_record "$1|$3|PASS"
    e2e_log "PASS $1: $3"
  else
    e2e_record "$1|$3|FAIL"
    e2e_log "FAIL $1: $3"
  fi
  return "$2"
}
skip_row() { E2E_ROWS+=("$1|$2|SKIP"); e2e_log "SKIP $1: $2"; }

# ---- packages: the release version and a newer-versioned build of the same binary ----
V1=$("$E2E_GP" version | awk '{ print $2 }')
V2="$V1+test2"
pkg_build "$E2E_TMP/pkgs" >"$E2E_TMP/build1.log" 2>&1 || { cat "$E2E_TMP/build1.log" >&2; e2e_die "build-packages.sh failed"; }
pkg_build "$E2E_TMP/pkgs" --version "$V2" >"$E2E_TMP/build2.log" 2>&1 || { cat "$E2E_TMP/build2.log" >&2; e2e_die "build-packages.sh --version $V2 failed"; }
DEB1=guestpulse_${V1}_$(dpkg --print-architecture).deb
DEB2=guestpulse_${V2}_$(dpkg --print-architecture).deb
[[ -f $E2E_TMP/pkgs/$DEB1 && -f $E2E_TMP/pkgs/$DEB2 ]] || e2e_die "packages missing in $E2E_TMP/pkgs"

t0=$(e2e_now)
pkg_debian_root
LOWER=$PKG_DEBIAN_ROOT
e2e_log "cached Debian root: $LOWER (ready after $(e2e_elapsed "$t0" "$(e2e_now)")s)"

CONF=/etc/guestpulse/guestpulse.yaml
in_root() { pkg_chroot "$@"; }
status_of() { "$@" dpkg-query -W -f='${Status} ${Version}' guestpulse 2>/dev/null || echo "not installed"; }
apt_install() {  # apt_install RUNNER LOG DEB...: apt-get install ./DEB from /root in the root
  local runner=$1 log=$2
  shift 2
  "$runner" sh -c "cd /root && apt-get install -y -q -o Dpkg::Options::=--force-confold $*" >"$log" 2>&1
}
# The operator's edit of the conffile: a comment and a changed value.
edit_conffile() {
  sed -i -e '1i # edited by the operator' -e 's/^  level: info /  level: debug /' "$1$CONF"
}
edited() { head -n 1 "$1$CONF" | grep -qx '# edited by the operator' && grep -q '^  level: debug ' "$1$CONF"; }
# A broken conffile: probes.metadata.interval (the first "    interval:") without a unit.
break_conffile() {
  cp "$1$CONF" "$E2E_TMP/conffile.good"
  sed -i '0,/^    interval: [0-9a-z]*/s//    interval: 30/' "$1$CONF"
}
fix_conffile() { cat "$E2E_TMP/conffile.good" >"$1$CONF"; }

# ========================================================================================
# Part 1: chroot, no systemd
e2e_log "== part 1: chroot (no systemd running)"
pkg_root_up "$LOWER"
mount -t proc proc "$PKG_ROOT/proc" && PKG_ROOT_MOUNTS+=("$PKG_ROOT/proc")
R=$PKG_ROOT
cp "$E2E_TMP/pkgs/$DEB1" "$E2E_TMP/pkgs/$DEB2" "$R/root/"

t0=$(e2e_now)
rc=0
apt_install in_root "$E2E_TMP/p1-install.log" "./$DEB1" || rc=$?
st=$(status_of in_root)
[[ $rc == 0 && $st == "install ok installed $V1" && -x $R/usr/bin/guestpulse && -f $R$CONF &&
  -L $R/etc/systemd/system/multi-user.target.wants/guestpulse.service ]]
check "chroot: apt-get install ./$DEB1" $? "apt exit $rc, $st, enabled, nothing started ($(e2e_elapsed "$t0" "$(e2e_now)")s)"
((rc == 0)) || tail -n 20 "$E2E_TMP/p1-install.log" >&2
in_root guestpulse version >/dev/null
check "chroot: guestpulse runs" $? "$(in_root guestpulse version 2>&1)"

edit_conffile "$R"
rc=0
apt_install in_root "$E2E_TMP/p1-upgrade.log" "./$DEB2" || rc=$?
st=$(status_of in_root)
[[ $rc == 0 && $st == "install ok installed $V2" ]] && edited "$R" &&
  [[ -L $R/etc/systemd/system/multi-user.target.wants/guestpulse.service ]]
check "chroot: upgrade to $V2 keeps the edited conffile" $? "apt exit $rc, $st, edit $(edited "$R" && echo kept || echo LOST)"

break_conffile "$R"
rc=0
out=$(in_root guestpulse config validate 2>&1) || rc=$?
[[ $rc == 3 && $out == *probes.metadata.interval* && $out == *"needs a unit"* ]]
check "chroot: config validate names the broken key" $? "exit $rc: $(echo "$out" | tr '\n' ' ' | head -c 160)"
rc=0
in_root sh -c "cd /root && apt-get install -y -q --reinstall ./$DEB2" >"$E2E_TMP/p1-reinstall.log" 2>&1 || rc=$?
grep -q "guestpulse: $CONF is invalid" "$E2E_TMP/p1-reinstall.log" &&
  grep -q "probes.metadata.interval" "$E2E_TMP/p1-reinstall.log"
check "chroot: postinst says the config is invalid" $? "apt exit $rc; $(grep -m1 'is invalid' "$E2E_TMP/p1-reinstall.log")"
fix_conffile "$R"

# The service never ran here; give it state as systemd would (DynamicUser=yes).
mkdir -p "$R/var/lib/private/guestpulse"
echo '{}' >"$R/var/lib/private/guestpulse/health.json"
ln -sfn private/guestpulse "$R/var/lib/guestpulse"
rc=0
in_root apt-get remove -y -q guestpulse >"$E2E_TMP/p1-remove.log" 2>&1 || rc=$?
st=$(status_of in_root)
[[ $rc == 0 && $st == "deinstall ok config-files $V2" && ! -e $R/usr/bin/guestpulse ]] && edited "$R" &&
  [[ -f $R/var/lib/private/guestpulse/health.json ]]
check "chroot: remove keeps config and state" $? "apt exit $rc, $st"
rc=0
in_root apt-get purge -y -q guestpulse >"$E2E_TMP/p1-purge.log" 2>&1 || rc=$?
st=$(status_of in_root)
left=$(cd "$R" && ls -d etc/guestpulse var/lib/guestpulse var/lib/private/guestpulse \
  etc/systemd/system/multi-user.target.wants/guestpulse.service etc/systemd/system/guestpulse.service \
  var/lib/systemd/deb-systemd-helper-enabled/guestpulse.service.dsh-also 2>/dev/null | tr "\n" " " || true)
[[ $rc == 0 && -z $left && ($st == "not installed" || $st == "unknown ok not-installed "*) ]]
check "chroot: purge removes config, state and enablement" $? "apt exit $rc, ${st:-gone}${left:+; left: $left}"
pkg_root_down

# ========================================================================================
# Part 1b: the .rpm's scriptlets, in the same kind of chroot. rpm --root runs them chrooted
# into the root, where systemd is not running. --nodeps: the root is Debian, whose libc
# rpm does not know. What RPM-based systems add (dnf, their libc) cannot be had here.
e2e_log "== part 1b: the .rpm in a chroot (rpm --root, no systemd running)"
RPM1=$(cd "$E2E_TMP/pkgs" && ls guestpulse-"$V1"-*.rpm)
RPM2=$(cd "$E2E_TMP/pkgs" && ls guestpulse-"$V2"-*.rpm)
pkg_root_up "$LOWER"
R=$PKG_ROOT
rpm_in() { rpm --root="$R" "$@"; }
rc=0
{ rpm_in --initdb && rpm_in -i --nodeps "$E2E_TMP/pkgs/$RPM1"; } >"$E2E_TMP/p1b-install.log" 2>&1 || rc=$?
[[ $rc == 0 && $(rpm_in -q guestpulse 2>/dev/null) == "guestpulse-$V1-"* && -f $R/usr/lib/systemd/system/guestpulse.service &&
  -L $R/etc/systemd/system/multi-user.target.wants/guestpulse.service ]] && chroot "$R" guestpulse version >/dev/null
check "rpm: install ($RPM1)" $? "rpm exit $rc, $(rpm_in -q guestpulse 2>/dev/null), %post enabled the unit, nothing started"
edit_conffile "$R"
rc=0
rpm_in -U --nodeps "$E2E_TMP/pkgs/$RPM2" >"$E2E_TMP/p1b-upgrade.log" 2>&1 || rc=$?
[[ $rc == 0 && $(rpm_in -q guestpulse 2>/dev/null) == "guestpulse-${V2}-"* &&
  -L $R/etc/systemd/system/multi-user.target.wants/guestpulse.service ]] && edited "$R"
check "rpm: upgrade keeps the edited %config(noreplace)" $? "rpm exit $rc, $(rpm_in -q guestpulse 2>/dev/null), edit $(edited "$R" && echo kept || echo LOST)"
mkdir -p "$R/var/lib/private/guestpulse"
echo '{}' >"$R/var/lib/private/guestpulse/health.json"
ln -sfn private/guestpulse "$R/var/lib/guestpulse"
rc=0
rpm_in -e guestpulse >"$E2E_TMP/p1b-erase.log" 2>&1 || rc=$?
left=$(cd "$R" && ls -d usr/bin/guestpulse var/lib/guestpulse var/lib/private/guestpulse \
  etc/systemd/system/multi-user.target.wants/guestpulse.service 2>/dev/null | tr "\n" " " || true)
[[ $rc == 0 && -z $left && -f $R$CONF.rpmsave ]]
check "rpm: erase disables, removes state, keeps the edit as .rpmsave" $? "rpm exit $rc${left:+; left: $left}; $(ls "$R/etc/guestpulse" 2>/dev/null | tr '\n' ' ')"
pkg_root_down

# ========================================================================================
# Part 2: the root booted under systemd, in the test's network namespace
e2e_log "== part 2: systemd-nspawn --boot"
boot_skip=""
command -v systemd-nspawn >/dev/null || boot_skip="systemd-nspawn is missing (package systemd-container)"
command -v nsenter >/dev/null || boot_skip="nsenter is missing"
[[ -z $boot_skip ]] && ! ip netns add "gp-nsprobe-$$" 2>/dev/null && boot_skip="cannot create network namespaces"
[[ -z $boot_skip ]] && ip netns del "gp-nsprobe-$$"

in_ct() { nsenter -t "$CT_INIT" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= "$@"; }
prop() { in_ct systemctl show -p "$1" --value guestpulse.service 2>/dev/null; }
# STATUS= is "OK" while every probe is, "FAILED: <probe> <cause>" otherwise.
status_ok() { [[ $1 =~ ^OK($|[^A-Z]) ]]; }
main_pid() { prop MainPID; }
ct_running() {
  local s
  s=$(in_ct systemctl is-system-running 2>/dev/null) || true
  [[ $s == running || $s == degraded ]]
}

boot_container() {
  e2e_topology_up
  e2e_fake_up
  pkg_root_up "$LOWER"
  R=$PKG_ROOT
  # Not /tmp: nspawn mounts a tmpfs there.
  cp "$E2E_TMP/pkgs/$DEB1" "$E2E_TMP/pkgs/$DEB2" "$R/root/"
  # As on a GCE VM: the metadata name in /etc/hosts, the metadata server as resolver.
  e2e_write_hosts_with_mapping "$R/etc/hosts"
  rm -f "$R/etc/resolv.conf"
  e2e_write_resolv "$R/etc/resolv.conf" "$E2E_MDS_IP"
  mount -t proc proc "$R/proc" && PKG_ROOT_MOUNTS+=("$R/proc")
  apt_install in_root "$E2E_TMP/p2-install.log" "./$DEB1" || { tail -n 20 "$E2E_TMP/p2-install.log" >&2; return 1; }
  umount "$R/proc"
  unset 'PKG_ROOT_MOUNTS[-1]'
  # The operator's edit: shorter intervals, so the test sees faults within seconds.
  edit_conffile "$R"
  # provider: gce as on a GCE VM, whatever the firmware of the machine running the test says.
  sed -i -e 's/^provider: auto$/provider: gce/' \
    -e 's/^    interval: 30s /    interval: 2s /' -e 's/^  timeout: 2s/  timeout: 1s/' \
    -e 's/^  initial: 1s/  initial: 200ms/' -e 's/^  max: 60s/  max: 4s/' -e 's/^  attempts: 5/  attempts: 3/' \
    -e 's|^  custom: \[\]|  custom: [{name: sandbox-exec, type: exec, command: ["/bin/sh", "-c", "id -u"], interval: 5s}]|' \
    "$R$CONF"
  grep -q 'name: sandbox-exec' "$R$CONF" && grep -q '^provider: gce$' "$R$CONF" || return 1
  chroot "$R" guestpulse config validate >/dev/null || return 1

  systemd-nspawn --quiet --register=no --keep-unit --boot -D "$R" -M "gp-$$" \
    --network-namespace-path="/run/netns/$E2E_VM" --resolv-conf=off --timezone=off --capability=CAP_NET_ADMIN \
    </dev/null >"$E2E_TMP/nspawn.log" 2>&1 &
  CT_NSPAWN_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    CT_INIT=$(cat /proc/"$CT_NSPAWN_PID"/task/*/children 2>/dev/null | awk '{ print $1 }')
    [[ -n $CT_INIT ]] && break
    e2e_pid_alive "$CT_NSPAWN_PID" || break
    sleep 0.1
  done
  [[ -n $CT_INIT ]] || return 1
  e2e_wait_for 60 ct_running
}

t0=$(e2e_now)
if [[ -z $boot_skip ]] && ! boot_container; then
  boot_skip="systemd-nspawn could not boot the root here: $(grep -v '^\s*$' "$E2E_TMP/nspawn.log" 2>/dev/null | tail -n 3 | tr '\n' ' ' | head -c 300)"
fi

if [[ -n $boot_skip ]]; then
  skip_row "boot: service under systemd" "$boot_skip"
else
  e2e_log "container booted in $(e2e_elapsed "$t0" "$(e2e_now)")s (init pid $CT_INIT)"

  # -- READY, STATUS=, user, groups, capabilities
  e2e_wait_for 20 eval '[[ $(prop ActiveState) == active ]]'
  active=$(in_ct systemctl is-active guestpulse 2>&1)
  ready=$(in_ct journalctl -b -u guestpulse -o cat --no-pager 2>/dev/null | grep -c '^Started guestpulse.service' || true)
  [[ $active == active && $(prop Type) == notify && $ready -ge 1 ]]
  check "boot: systemctl is-active guestpulse" $? "$active; Type=notify READY reached ('Started' logged $ready time(s))"
  e2e_wait_for 30 eval 'status_ok "$(prop StatusText)"'
  status=$(prop StatusText)
  status_ok "$status"
  check "boot: STATUS= overall state" $? "\"$status\""

  pid=$(main_pid)
  ps_status=$(in_ct cat "/proc/$pid/status")
  getval() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' <<<"$ps_status"; }
  uid=$(getval Uid | awk '{ print $1 }')
  user=$(in_ct ps -o user= -p "$pid" | tr -d ' ')
  groups=$(getval Groups)
  dialout=$(in_ct getent group dialout | cut -d: -f3)
  tty=$(in_ct getent group tty | cut -d: -f3)
  caps="CapInh=$(getval CapInh) CapPrm=$(getval CapPrm) CapEff=$(getval CapEff) CapBnd=$(getval CapBnd) CapAmb=$(getval CapAmb)"
  echo "  service process: pid $pid user $user uid $uid groups [$groups] (dialout=$dialout tty=$tty)"
  echo "  $caps NoNewPrivs=$(getval NoNewPrivs) Seccomp=$(getval Seccomp)"
  net_admin=0000000000001000   # 1 << CAP_NET_ADMIN (12)
  [[ $uid != 0 && -n $uid && " $groups " == *" $dialout "* && " $groups " == *" $tty "* &&
    $caps == "CapInh=$net_admin CapPrm=$net_admin CapEff=$net_admin CapBnd=$net_admin CapAmb=$net_admin" &&
    $(getval NoNewPrivs) == 1 && $(getval Seccomp) == 2 ]]
  check "boot: not root, dialout+tty, CAP_NET_ADMIN only" $? "uid $uid ($user), groups $groups, caps 0x1000 everywhere, seccomp on" ||
    echo "$ps_status" | grep -E '^(Name|Pid|PPid|Uid|Cap)' >&2

  # -- firewall evidence from inside the sandbox, and check --json under the unit's sandbox
  vm_ipt() { ip netns exec "$E2E_VM" iptables -w 5 "$@"; }
  REJECT=(OUTPUT -d "$E2E_MDS_IP" -p tcp -j REJECT --reject-with tcp-reset)
  vm_ipt -A "${REJECT[@]}"
  e2e_wait_for 30 eval '[[ $(prop StatusText) == *FAILED* ]]'
  status=$(prop StatusText)
  msg=$(in_ct cat /var/lib/guestpulse/status.json | jq -r '.probes[] | select(.name == "metadata") | "\(.state) \(.cause): \(.message)"')
  [[ $status == *FAILED* && $msg == "FAILED net.connection_refused:"*"firewall rule"*REJECT* ]]
  check "boot: the service quotes the REJECT rule" $? "STATUS \"$status\"; status.json: $(head -c 220 <<<"$msg")"
  # STATUS= names the overall state, the worst probe and its cause.
  [[ $status == "FAILED: metadata net.connection_refused" ]]
  check "boot: STATUS= names the failing probe" $? "\"$status\""

  # The unit's [Service] sandbox, as systemd-run properties.
  sandbox=()
  while IFS= read -r line; do sandbox+=(-p "$line"); done < <(
    sed -n '/^\[Service\]/,/^\[/p' "$R/lib/systemd/system/guestpulse.service" | grep -E '^[A-Za-z]+=' |
      grep -vE '^(Type|NotifyAccess|ExecStart|ExecReload|TimeoutStopSec|WatchdogSec|Restart|RestartSec|RestartPreventExitStatus)=')
  root_rc=0 sb_rc=0
  in_ct guestpulse check --json >"$E2E_TMP/check-root.json" 2>/dev/null || root_rc=$?
  in_ct systemd-run --quiet --wait --pipe --collect "${sandbox[@]}" /usr/bin/guestpulse check --json \
    >"$E2E_TMP/check-sandbox.json" 2>"$E2E_TMP/check-sandbox.err" </dev/null || sb_rc=$?
  summarize() { jq -r '.probes[] | "\(.name) \(.state) \(.cause) firewall_rule_quoted=\(.message | test("firewall rule"))"' "$1" 2>/dev/null | sort; }
  metadata_message() { jq -r '.probes[] | select(.name == "metadata") | .message' "$1" 2>/dev/null | head -c 300; }
  echo "  root    metadata message: $(metadata_message "$E2E_TMP/check-root.json")"
  echo "  sandbox metadata message: $(metadata_message "$E2E_TMP/check-sandbox.json")"
  echo "  root:    exit $root_rc; $(summarize "$E2E_TMP/check-root.json" | tr '\n' ';')"
  echo "  sandbox: exit $sb_rc; $(summarize "$E2E_TMP/check-sandbox.json" | tr '\n' ';')"
  [[ -s $E2E_TMP/check-sandbox.json && $root_rc == "$sb_rc" &&
    $(summarize "$E2E_TMP/check-root.json") == "$(summarize "$E2E_TMP/check-sandbox.json")" ]]
  check "boot: check --json under the unit's sandbox = as root" $? "exit $sb_rc vs $root_rc (${#sandbox[@]} sandbox args)$([[ -s $E2E_TMP/check-sandbox.err ]] && echo "; $(head -c 200 "$E2E_TMP/check-sandbox.err")")"
  vm_ipt -D "${REJECT[@]}"
  e2e_wait_for 30 eval 'status_ok "$(prop StatusText)"'
  check "boot: recovers after the rule is removed" $? "\"$(prop StatusText)\""
  # The custom exec probe of the test config runs /bin/sh under the unit's seccomp filter.
  exec_probe=$(in_ct cat /var/lib/guestpulse/status.json | jq -r '.probes[] | select(.name == "sandbox-exec") | "\(.state) \(.cause) \(.message)"')
  [[ $exec_probe == "OK "* ]]
  check "boot: a custom exec probe runs in the sandbox" $? "$exec_probe"
  ttyline=$(in_ct journalctl -b -o cat --no-pager | grep -m1 -i 'ttyS0')
  echo "  journal on the missing /dev/ttyS0: ${ttyline:-(nothing)}"

  # -- systemctl reload: SIGHUP, same process
  pid=$(main_pid)
  since=$(in_ct date '+%Y-%m-%d %H:%M:%S')
  in_ct systemctl reload guestpulse
  e2e_wait_for 10 eval 'in_ct journalctl -u guestpulse --since "$since" -o cat --no-pager | grep -q "reload"'
  line=$(in_ct journalctl -u guestpulse --since "$since" -o cat --no-pager | grep -m1 'reload')
  [[ -n $line && $(main_pid) == "$pid" ]]
  check "boot: systemctl reload guestpulse" $? "pid $pid kept; journal: $line"

  # -- the watchdog: a stopped event loop is aborted and restarted
  pid=$(main_pid)
  restarts=$(prop NRestarts)
  wd=$(prop WatchdogUSec)
  t0=$(e2e_now)
  in_ct kill -STOP "$pid"
  e2e_wait_for 90 eval '[[ $(main_pid) != "$pid" && $(main_pid) != 0 && $(prop ActiveState) == active ]]'
  took=$(e2e_elapsed "$t0" "$(e2e_now)")
  wdline=$(in_ct journalctl -u guestpulse -o cat --no-pager | grep -m1 -i 'watchdog timeout')
  [[ $(main_pid) != "$pid" && $(prop NRestarts) -gt $restarts && -n $wdline ]]
  check "boot: SIGSTOP -> watchdog restart" $? "WatchdogSec=$wd: new pid $(main_pid) after ${took}s, NRestarts $restarts -> $(prop NRestarts); $wdline"
  e2e_wait_for 30 eval 'status_ok "$(prop StatusText)"'

  # -- upgrade while running: restarted, the edit kept
  pid=$(main_pid)
  rc=0
  apt_install in_ct "$E2E_TMP/p2-upgrade.log" "./$DEB2" || rc=$?
  st=$(status_of in_ct)
  e2e_wait_for 20 eval '[[ $(prop ActiveState) == active && $(main_pid) != "$pid" ]]'
  [[ $rc == 0 && $st == "install ok installed $V2" && $(main_pid) != "$pid" && $(prop ActiveState) == active ]] && edited "$R"
  check "boot: upgrade to $V2 restarts, keeps the edit" $? "apt exit $rc, $st, pid $pid -> $(main_pid), edit $(edited "$R" && echo kept || echo LOST)"

  # -- a broken config after an upgrade: start fails with exit 3, no restart loop
  break_conffile "$R"
  since=$(in_ct date '+%Y-%m-%d %H:%M:%S')
  restarts=$(prop NRestarts)
  rc=0
  in_ct systemctl restart guestpulse >/dev/null 2>&1 || rc=$?
  sleep 8   # longer than RestartSec=5: a restart would have happened by now
  state="$(prop ActiveState)/$(prop Result) status=$(prop ExecMainStatus) NRestarts=$(prop NRestarts)"
  jline=$(in_ct journalctl -u guestpulse --since "$since" -o cat --no-pager | grep -m1 'probes.metadata.interval')
  [[ $rc != 0 && $state == "failed/exit-code status=3 NRestarts=$restarts" && $jline == *"needs a unit"* ]]
  check "boot: broken config -> start fails, exit 3, no restart" $? "systemctl exit $rc; $state; journal: $jline"
  rc=0
  out=$(in_ct guestpulse config validate 2>&1) || rc=$?
  [[ $rc == 3 && $out == *probes.metadata.interval* ]]
  check "boot: config validate names it" $? "exit $rc: $(echo "$out" | tail -n 1 | sed 's/^ *//')"
  fix_conffile "$R"
  in_ct systemctl restart guestpulse
  e2e_wait_for 20 eval '[[ $(prop ActiveState) == active ]]'
  check "boot: fixed config -> active again" $? "$(prop ActiveState)"

  # -- remove, then purge
  e2e_wait_for 10 test -f "$R/var/lib/private/guestpulse/health.json"
  rc=0
  in_ct apt-get remove -y -q guestpulse >"$E2E_TMP/p2-remove.log" 2>&1 || rc=$?
  st=$(status_of in_ct)
  [[ $rc == 0 && $(prop ActiveState) != active && $st == "deinstall ok config-files $V2" &&
    -f $R/var/lib/private/guestpulse/health.json ]] && edited "$R"
  check "boot: remove stops the service, keeps config and state" $? "apt exit $rc, $(prop ActiveState), $st"
  rc=0
  in_ct apt-get purge -y -q guestpulse >"$E2E_TMP/p2-purge.log" 2>&1 || rc=$?
  left=$(cd "$R" && ls -d etc/guestpulse var/lib/guestpulse var/lib/private/guestpulse \
    etc/systemd/system/multi-user.target.wants/guestpulse.service 2>/dev/null | tr "\n" " " || true)
  [[ $rc == 0 && -z $left ]]
  check "boot: purge removes state and config" $? "apt exit $rc${left:+; left: $left}"

  # -- a first install on a running system starts the service at once
  rc=0
  apt_install in_ct "$E2E_TMP/p2-reinstall.log" "./$DEB1" || rc=$?
  e2e_wait_for 20 eval '[[ $(prop ActiveState) == active ]]'
  [[ $rc == 0 && $(prop ActiveState) == active && $(prop UnitFileState) == enabled ]]
  check "boot: apt-get install on a running system enables and starts" $? "apt exit $rc, $(prop ActiveState), $(prop UnitFileState)"
fi

echo
echo "e2e $E2E_NAME summary"
printf '%s\n' "step|observed|result" "----|--------|------" "${E2E_ROWS[@]}" | column -t -s '|' -o ' | '
echo "took $(e2e_elapsed "$T_START" "$(e2e_now)")s"
echo "e2e $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
((E2E_FAILED == 0 && E2E_PASSED > 0))
