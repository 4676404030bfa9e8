#!/usr/bin/env bash
# guestpulse.exe run under wine, COM1 on a pty of the test's own, against the Linux fake-mds:
#  1. COM1 missing: the agent warns and runs on (guest attributes still arrive), no crash;
#  2. COM1 on the pty: the start line and the metadata OK line arrive there, guest
#     attributes reach the fake; the server stopped: a FAILED line with a network cause
#     (the delay from the kill to the line is printed); the server back on the same port:
#     a "recovered" line, and the whole picture re-sent (last-failure kept);
#  3. Ctrl-C (SIGINT, which wine delivers as CTRL_C_EVENT): a graceful stop, exit 0.
#   test_wine_run.sh WINDOWS_BUILD_DIR FAKE_MDS
source "$(dirname "$0")/lib.sh"
wine_init run "$@"

AGENT_PID=""
start_agent() {
  local config=$1
  WINE_OUT=$WINE_TMP/agent.out WINE_ERR=$WINE_TMP/agent.err
  WINEPREFIX=$WINE_PREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
    "$WINE64" "$WINE_GP" run -c "$(wine_path "$config")" >"$WINE_OUT" 2>"$WINE_ERR" </dev/null &
  AGENT_PID=$!
}
stop_agent() { # SIGINT, then wait up to 20 s; sets STOP_RC
  kill -INT "$AGENT_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$AGENT_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$AGENT_PID" 2>/dev/null; then
    kill -KILL "$AGENT_PID"
    STOP_RC=timeout
  else
    set +e
    wait "$AGENT_PID"
    STOP_RC=$?
    set -e
  fi
  AGENT_PID=""
}
WINE_CLEANUPS+=('[[ -n $AGENT_PID ]] && kill -KILL $AGENT_PID 2>/dev/null')

# --- 1. COM1 missing ------------------------------------------------------------------
wine_com1 "$WINE_TMP/no-such-dir/com1"
wine_fake_start
start_agent "$(wine_config no-com1)"
if wine_wait_attribute '"guestpulse/status":"OK"' 60; then
  wine_ok "COM1 missing: the agent runs on and writes guest attributes"
else
  wine_fail "COM1 missing: no status attribute within 60 s"
fi
if grep -q 'serial' "$WINE_ERR" && grep -qiE 'warn' "$WINE_ERR"; then
  wine_ok "COM1 missing: a warning in the log: $(grep -m1 -i serial "$WINE_ERR")"
else
  cat "$WINE_ERR"
  wine_fail "COM1 missing: no serial warning in the log"
fi
stop_agent
[[ $STOP_RC == 0 ]] && wine_ok "COM1 missing: Ctrl-C stops it, exit 0" || wine_fail "COM1 missing: stop gave $STOP_RC"
wine_fake_stop

# --- 2. COM1 on the pty -----------------------------------------------------------------
wine_com1 pty
wine_fake_start
start_agent "$(wine_config pty)"
if line=$(wine_wait_serial 'INFO msg="guestpulse [^ ]+ started' 60); then
  wine_ok "COM1: the start line arrived: ${line#* }"
else
  cat "$WINE_ERR"
  wine_fail "COM1: no start line within 60 s"
fi
if line=$(wine_wait_serial 'INFO probe=metadata state=OK' 30); then
  wine_ok "COM1: ${line#* }"
else
  wine_fail "COM1: no metadata OK line"
fi
if wine_wait_attribute '"guestpulse/status":"OK"' 30 && wine_wait_attribute '"guestpulse/heartbeat"' 30; then
  wine_ok "guest attributes reach the fake: $(wine_attributes | head -c 300)"
else
  wine_fail "guest attributes: $(wine_attributes)"
fi

wine_fake_stop
killed=$(wine_now)
if line=$(wine_wait_serial 'ERROR probe=metadata state=FAILED cause=net\.' 30); then
  arrived=${line%% *}
  text=${line#* }
  wine_ok "server stopped: FAILED on COM1 $(wine_elapsed "$killed" "$arrived") s after the kill: ${text:0:160}..."
  if [[ $text =~ ^guestpulse:\ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\ ERROR\ probe=metadata\ state=FAILED\ cause=[a-z_.]+\ msg=\".*\"\ fix=\".*\"$ ]] &&
    ((${#text} <= 1024)) && LC_ALL=C grep -qvP '[^\x20-\x7e]' <<<"$text"; then
    wine_ok "the line has the documented form (${#text} bytes, ASCII)"
  else
    wine_fail "the line's form: $text"
  fi
else
  cat "$WINE_ERR"
  wine_fail "server stopped: no FAILED line within 30 s"
fi

wine_fake_start # the same port
if line=$(wine_wait_serial 'INFO probe=metadata state=OK msg="recovered after' 30); then
  wine_ok "server back: ${line#* }"
else
  wine_fail "server back: no recovery line within 30 s"
fi
if wine_wait_attribute '"guestpulse/last-failure":"[^"]* metadata net\.' 30 && wine_wait_attribute '"guestpulse/status":"OK"' 30; then
  wine_ok "the new server got the whole picture, last-failure included"
else
  wine_fail "after recovery: $(wine_attributes)"
fi

# --- 3. Ctrl-C --------------------------------------------------------------------------
stop_agent
if [[ $STOP_RC == 0 ]] && wine_wait_serial 'INFO msg="guestpulse stopping"' 5 >/dev/null; then
  wine_ok "Ctrl-C: graceful stop, exit 0, 'guestpulse stopping' on COM1"
else
  tail -5 "$WINE_ERR"
  wine_fail "Ctrl-C: exit $STOP_RC"
fi
wine_finish
