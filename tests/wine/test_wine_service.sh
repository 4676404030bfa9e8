#!/usr/bin/env bash
# guestpulse.exe as a Windows service under wine's SCM, COM1 on a pty of the test's own:
# with an invalid configuration it stops at once with exit code 3 and `service install`
# says so; with a valid one `service install` registers and starts it; the service writes
# guest attributes and its serial lines; `net stop` stops it gracefully (STOPPED with exit code 0 in `sc query`, the
# stop line on COM1); `net start` starts it again; `service uninstall` stops and removes it.
# Wine ends services when the last ordinary wine process exits, so a `cmd` reading from a
# FIFO of the test's own stays alive throughout.
#   test_wine_service.sh WINDOWS_BUILD_DIR FAKE_MDS
source "$(dirname "$0")/lib.sh"
wine_init service "$@"
wine_com1 pty
wine_fake_start
config=$(wine_config)

# The keep-alive: cmd waits on a FIFO we hold open; closing it ends cmd.
mkfifo "$WINE_TMP/keep"
WINEPREFIX=$WINE_PREFIX WINEDEBUG=-all "$WINE64" cmd <"$WINE_TMP/keep" >"$WINE_TMP/keep.out" 2>&1 &
KEEP_PID=$!
exec 9>"$WINE_TMP/keep"
WINE_CLEANUPS+=('exec 9>&-; kill $KEEP_PID 2>/dev/null')
# Whatever happens, the service does not outlive the test.
WINE_CLEANUPS+=('wine_exe service uninstall >/dev/null 2>&1')

# The service's state in `sc query`: STATE name and WIN32_EXIT_CODE, or "none".
sc_state() {
  wine_run 30 sc query guestpulse
  local state exit
  state=$(sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p' "$WINE_OUT" | head -1)
  exit=$(sed -n 's/.*WIN32_EXIT_CODE *: *\([0-9]*\).*/\1/p' "$WINE_OUT" | head -1)
  echo "${state:-none} ${exit:-}"
}
wait_state() { # STATE LIMIT_SECONDS
  local i s
  for ((i = 0; i < $2 * 2; i++)); do
    s=$(sc_state)
    [[ ${s%% *} == "$1" ]] && { echo "$s"; return 0; }
    sleep 0.5
  done
  echo "$s"
  return 1
}
serial_count() { grep -cE -- "$1" "$WINE_SERIAL.times" 2>/dev/null || true; }

wine_exe service uninstall # a leftover from an interrupted run

# An invalid configuration: the service starts, stops with exit code 3, and install says so.
printf 'probes:\n  metadata:\n    interval: 30\n' >"$WINE_TMP/bad.yaml"
wine_exe service install -c "$(wine_path "$WINE_TMP/bad.yaml")"
install_rc=$WINE_RC
said=$(grep -o 'stopped at once with exit code 3[^;]*' "$WINE_ERR" || true)
s=$(wait_state STOPPED 30) || true
wine_run 30 sc query guestpulse
if [[ $install_rc == 1 && -n $said ]] && grep -q 'SERVICE_EXIT_CODE *: *3 ' "$WINE_OUT"; then
  wine_ok "invalid config: install exits 1 ($said); sc query: $s, service exit code 3"
else
  cat "$WINE_OUT"
  wine_fail "invalid config: install exit $install_rc ('$said'), sc query: $s"
fi

wine_exe service install -c "$(wine_path "$config")"
if [[ $WINE_RC == 0 ]]; then
  wine_ok "service install: exit 0: $(tr -d '\r' <"$WINE_OUT" | tr '\n' ' ')"
else
  cat "$WINE_OUT" "$WINE_ERR"
  wine_fail "service install: exit $WINE_RC"
fi
if s=$(wait_state RUNNING 30); then wine_ok "sc query: $s"; else wine_fail "sc query after install: $s"; fi
if line=$(wine_wait_serial 'INFO msg="guestpulse [^ ]+ started' 60); then
  wine_ok "the service's start line on COM1: ${line#* }"
else
  wine_fail "no start line from the service on COM1"
fi
if wine_wait_attribute '"guestpulse/status":"OK"' 30 && wine_wait_attribute '"guestpulse/heartbeat"' 30; then
  wine_ok "the service writes guest attributes: $(wine_attributes | head -c 200)"
else
  wine_fail "no guest attributes from the service: $(wine_attributes)"
fi

stops_before=$(serial_count 'INFO msg="guestpulse stopping"')
t0=$(wine_now)
wine_run 60 net stop guestpulse
net_rc=$WINE_RC
if s=$(wait_state STOPPED 30) && [[ $s == "STOPPED 0" ]]; then
  wine_ok "net stop (exit $net_rc): sc query says $s after $(wine_elapsed "$t0" "$(wine_now)") s"
else
  wine_fail "net stop (exit $net_rc): sc query says $s"
fi
if wine_wait_serial 'INFO msg="guestpulse stopping"' 10 >/dev/null &&
  (($(serial_count 'INFO msg="guestpulse stopping"') > stops_before)); then
  wine_ok "graceful: the service wrote its stop line to COM1"
else
  wine_fail "no stop line on COM1 after net stop"
fi

starts_before=$(serial_count 'INFO msg="guestpulse [^ ]+ started')
wine_run 60 net start guestpulse
if s=$(wait_state RUNNING 30); then wine_ok "net start (exit $WINE_RC): $s"; else wine_fail "net start (exit $WINE_RC): $s"; fi
for ((i = 0; i < 60 && $(serial_count 'INFO msg="guestpulse [^ ]+ started') <= starts_before; i++)); do sleep 0.5; done
if (($(serial_count 'INFO msg="guestpulse [^ ]+ started') > starts_before)); then
  wine_ok "started again: a new start line on COM1"
else
  wine_fail "no new start line after net start"
fi
heartbeat() { wine_attributes | python3 -c 'import json,sys; print(json.load(sys.stdin).get("guestpulse/heartbeat",""))'; }
beat=$(heartbeat)
now=$beat
for ((i = 0; i < 60; i++)); do
  [[ $now != "$beat" ]] && break
  sleep 0.5
  now=$(heartbeat)
done
if [[ $now != "$beat" ]]; then
  wine_ok "the restarted service refreshes the heartbeat ($beat -> $now)"
else
  wine_fail "heartbeat not refreshed after net start (still $beat)"
fi

wine_exe service uninstall
uninstall="$(tr -d '\r' <"$WINE_OUT" | tr '\n' ' ')"
s=$(sc_state)
if [[ $WINE_RC == 0 && $s == none* ]]; then
  wine_ok "service uninstall: $uninstall; sc query finds no service"
else
  wine_fail "service uninstall: exit $WINE_RC ($uninstall), sc query: $s"
fi
wine_finish
