#!/usr/bin/env bash
# guestpulse.exe run under wine with custom exec probes whose command starts a detached
# daemon (no console, a process group of its own, no inherited handles, asking to leave
# the job): the daemon appends to a heartbeat file every 100 ms, which this test watches
# from Linux. The daemon must stop
#  1. when its command's timeout ends the job (the probe FAILED with custom.exec_timeout);
#  2. when the agent stops (Ctrl-C) while its command is still running, the stop staying
#     graceful (exit 0);
#  3. when the agent is killed (SIGKILL): the job's last handle closes with it.
# Needs the test program exec_child.exe of the Windows build (built unless --no-tests).
#   test_wine_exec.sh WINDOWS_BUILD_DIR FAKE_MDS
source "$(dirname "$0")/lib.sh"
wine_init exec "$@"
CHILD=$WINE_BUILD/tests/exec_child.exe
[[ -f $CHILD ]] || wine_skip "no $CHILD (packaging/windows/build.sh builds it without --no-tests)"

AGENT_PID=""
start_agent() {
  WINE_OUT=$WINE_TMP/agent.out WINE_ERR=$WINE_TMP/agent.err
  WINEPREFIX=$WINE_PREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
    "$WINE64" "$WINE_GP" run -c "$(wine_path "$1")" >"$WINE_OUT" 2>"$WINE_ERR" </dev/null &
  AGENT_PID=$!
}
# Waits for the agent to end, at most $1 s; sets STOP_RC (the exit code, or "timeout").
wait_agent() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
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

beat_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# True once the heartbeat file $1 has grown, within $2 s.
beating() {
  local first i
  first=$(beat_size "$1")
  for ((i = 0; i < $2 * 10; i++)); do
    sleep 0.1
    (($(beat_size "$1") > first)) && return 0
  done
  return 1
}
# True when the heartbeat file $1 does not grow over 1.5 s (fifteen beats).
stopped_beating() {
  local before
  before=$(beat_size "$1")
  sleep 1.5
  (($(beat_size "$1") == before))
}

# The agent's config with exec probes NAME=TIMEOUT..., each starting a daemon that beats
# into $WINE_TMP/NAME.beat, then sleeping 60 s.
exec_config() {
  local config probe block=$WINE_TMP/custom.yaml
  config=$(wine_config "$1")
  shift
  echo "  custom:" >"$block"
  for probe in "$@"; do
    local name=${probe%%=*} timeout=${probe#*=}
    cat >>"$block" <<YAML
    - name: $name
      type: exec
      command: ['$(wine_path "$CHILD")', 'detach:beat:$(wine_path "$WINE_TMP/$name.beat")', 'sleep:60000']
      timeout: $timeout
      interval: 60s
YAML
  done
  sed -i "/^probes:\$/r $block" "$config"
  echo "$config"
}

wine_com1 pty
wine_fake_start

# --- 1 and 2: the timeout, then the agent's stop ----------------------------------------
start_agent "$(exec_config stop quick=2s slow=50s)"
if beating "$WINE_TMP/quick.beat" 60 && beating "$WINE_TMP/slow.beat" 10; then
  wine_ok "both commands started their daemons, which beat"
else
  cat "$WINE_ERR"
  wine_fail "no heartbeat from the daemons within 60 s"
fi
if line=$(wine_wait_serial 'probe=quick state=FAILED cause=custom\.exec_timeout' 20); then
  wine_ok "timeout: ${line#* }"
else
  wine_fail "timeout: no custom.exec_timeout line for the quick probe"
fi
if (($(beat_size "$WINE_TMP/quick.beat") > 0)) && stopped_beating "$WINE_TMP/quick.beat"; then
  wine_ok "timeout: the quick command's daemon is gone ($(beat_size "$WINE_TMP/quick.beat") beats)"
else
  wine_fail "timeout: the quick command's daemon still beats"
fi
if beating "$WINE_TMP/slow.beat" 2; then
  wine_ok "the slow command's daemon still beats, its command running"
else
  wine_fail "the slow command's daemon stopped before the agent did"
fi
t0=$(wine_now)
kill -INT "$AGENT_PID" 2>/dev/null || true
wait_agent 20
took=$(wine_elapsed "$t0" "$(wine_now)")
if [[ $STOP_RC == 0 ]]; then
  wine_ok "Ctrl-C with a command running: graceful stop, exit 0 in $took s"
else
  tail -5 "$WINE_ERR"
  wine_fail "Ctrl-C with a command running: exit $STOP_RC after $took s"
fi
if (($(beat_size "$WINE_TMP/slow.beat") > 0)) && stopped_beating "$WINE_TMP/slow.beat"; then
  wine_ok "stop: the running command's daemon is gone"
else
  wine_fail "stop: the running command's daemon outlived the agent"
fi

# --- 3. the agent killed ----------------------------------------------------------------
start_agent "$(exec_config killed held=50s)"
if beating "$WINE_TMP/held.beat" 60; then
  wine_ok "killed: the command's daemon beats"
else
  cat "$WINE_ERR"
  wine_fail "killed: no heartbeat within 60 s"
fi
kill -KILL "$AGENT_PID" 2>/dev/null || true
wait_agent 10
sleep 0.5 # wineserver closes the dead process's handles
if (($(beat_size "$WINE_TMP/held.beat") > 0)) && stopped_beating "$WINE_TMP/held.beat"; then
  wine_ok "killed: the daemon is gone with the agent"
else
  wine_fail "killed: the daemon outlived the agent"
fi
wine_finish
