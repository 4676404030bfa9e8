#!/usr/bin/env bash
# The MSI under wine's msiexec, in a network namespace of the test's own where fake-mds
# plays the metadata server at 169.254.169.254:80, so the installed service runs on its
# shipped configuration and nothing leaves the namespace:
#   msiexec /i: files in %ProgramFiles%\guestpulse and %ProgramData%\guestpulse, the Event
#   Log source registered, the service RUNNING, its lines on COM1 (a pty of the test's
#   own) and its guest attributes at the fake;
#   msiexec /x (after net stop: wine's msiexec does not wait for the stop): the service and
#   program files gone, the edited configuration kept.
#   test_wine_msi.sh WINDOWS_BUILD_DIR FAKE_MDS
if [[ -z ${GUESTPULSE_WINE_NETNS:-} ]]; then
  [[ $(id -u) -eq 0 ]] || {
    echo "SKIP wine msi: needs root for a network namespace"
    exit 77
  }
  command -v unshare >/dev/null || {
    echo "SKIP wine msi: unshare is missing"
    exit 77
  }
  # A private network (loopback only) and mount namespace (its own /etc/hosts).
  exec unshare --net --mount env GUESTPULSE_WINE_NETNS=1 bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
wine_init msi "$@"
shopt -s nullglob
msis=("$WINE_BUILD"/packages/guestpulse-*-x64.msi)
((${#msis[@]} == 1)) || wine_skip "no single MSI in $WINE_BUILD/packages (packaging/windows/build.sh makes it)"
msi=${msis[0]}

ip link set lo up
ip addr add 169.254.169.254/32 dev lo
mount --make-rprivate /
printf '127.0.0.1 localhost\n169.254.169.254 metadata.google.internal\n' >"$WINE_TMP/hosts"
mount --bind "$WINE_TMP/hosts" /etc/hosts
wine_log "network namespace: lo up, 169.254.169.254/32 on lo, /etc/hosts maps metadata.google.internal"

wine_com1 pty
drive_c=$WINE_PREFIX/drive_c
printf '127.0.0.1 localhost\r\n169.254.169.254 metadata.google.internal\r\n' \
  >"$drive_c/windows/system32/drivers/etc/hosts"
WINE_PORT=80
portfile=$WINE_TMP/port
"$WINE_FAKE" --listen 169.254.169.254:80 --port-file "$portfile" \
  --attribute enable-guest-attributes=TRUE --quiet >>"$WINE_TMP/fake.log" 2>&1 &
WINE_FAKE_PID=$!
for ((i = 0; i < 100; i++)); do [[ -s $portfile ]] && break; sleep 0.1; done
[[ -s $portfile ]] || { cat "$WINE_TMP/fake.log"; wine_fail "fake-mds did not start"; exit 1; }
wine_attributes() { curl -s --max-time 5 "http://169.254.169.254/_fake/guest-attributes"; }

mkfifo "$WINE_TMP/keep"
WINEPREFIX=$WINE_PREFIX WINEDEBUG=-all "$WINE64" cmd <"$WINE_TMP/keep" >"$WINE_TMP/keep.out" 2>&1 &
KEEP_PID=$!
exec 9>"$WINE_TMP/keep"
WINE_CLEANUPS+=('exec 9>&-; kill $KEEP_PID 2>/dev/null')
WINE_CLEANUPS+=('wine_run 120 msiexec /x "$(wine_path "$msi")" /qn >/dev/null 2>&1')
rm -rf "$drive_c/ProgramData/guestpulse"

t0=$(wine_now)
wine_run 300 msiexec /i "$(wine_path "$msi")" /qn
took=$(wine_elapsed "$t0" "$(wine_now)")
if [[ $WINE_RC == 0 ]]; then wine_ok "msiexec /i $(basename "$msi"): exit 0 ($took s)"; else
  cat "$WINE_OUT" "$WINE_ERR"
  wine_fail "msiexec /i: exit $WINE_RC"
fi
for f in "Program Files/guestpulse/guestpulse.exe" "Program Files/guestpulse/README.md" \
  "ProgramData/guestpulse/guestpulse.yaml"; do
  if [[ -f $drive_c/$f ]]; then wine_ok "installed: C:\\${f//\//\\}"; else wine_fail "missing: C:\\${f//\//\\}"; fi
done
wine_run 30 reg query 'HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\guestpulse' /v EventMessageFile
if [[ $WINE_RC == 0 ]] && grep -qi 'guestpulse.exe' "$WINE_OUT"; then
  wine_ok "Event Log source: $(grep -i EventMessageFile "$WINE_OUT" | tr -s ' ' | tr -d '\r')"
else
  wine_fail "no Event Log source registered"
fi
state=""
for ((i = 0; i < 60; i++)); do
  wine_run 30 sc query guestpulse
  state=$(sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p' "$WINE_OUT" | head -1)
  [[ $state == RUNNING ]] && break
  sleep 0.5
done
[[ $state == RUNNING ]] && wine_ok "the service is RUNNING" || wine_fail "service state: '${state:-none}'"
if line=$(wine_wait_serial 'INFO msg="guestpulse [^ ]+ started' 60); then
  wine_ok "COM1: ${line#* }"
else
  wine_fail "no start line on COM1"
fi
if wine_wait_attribute '"guestpulse/heartbeat"' 60; then
  wine_ok "guest attributes from the installed service: $(wine_attributes | head -c 300)"
else
  wine_fail "no guest attributes: $(wine_attributes)"
fi

echo "# edited by the test" >>"$drive_c/ProgramData/guestpulse/guestpulse.yaml"
# Wine's msiexec sends STOP but does not wait for STOPPED before removing files (Windows
# waits: ServiceControl Wait="yes"), so a running guestpulse.exe would stay behind as a
# file in use. Stop it first here; uninstalling a stopped service is what is checked.
# The process lives on briefly after it reported STOPPED.
wine_run 60 net stop guestpulse
for ((i = 0; i < 100; i++)); do
  pgrep -f 'Program Files.guestpulse.guestpulse\.exe' >/dev/null || break
  sleep 0.2
done
wine_log "net stop guestpulse before uninstalling: exit $WINE_RC, the process gone after $i polls"
wine_run 300 msiexec /x "$(wine_path "$msi")" /qn
if [[ $WINE_RC == 0 ]]; then wine_ok "msiexec /x: exit 0"; else wine_fail "msiexec /x: exit $WINE_RC"; fi
for ((i = 0; i < 60; i++)); do
  wine_run 30 sc query guestpulse
  state=$(sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p' "$WINE_OUT" | head -1)
  [[ -z $state ]] && break
  sleep 0.5
done
[[ -z $state ]] && wine_ok "the service is gone ($i polls)" || wine_fail "the service is still there: $state"
[[ ! -e "$drive_c/Program Files/guestpulse/guestpulse.exe" ]] && wine_ok "guestpulse.exe removed" ||
  wine_fail "guestpulse.exe still installed"
if grep -q '# edited by the test' "$drive_c/ProgramData/guestpulse/guestpulse.yaml" 2>/dev/null; then
  wine_ok "the edited configuration is kept"
else
  wine_fail "the configuration was removed or replaced"
fi
wine_finish
