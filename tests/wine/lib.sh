# Shared code for the end-to-end tests of the Windows build under wine (sourced, never run).
#
# Each test runs guestpulse.exe (from the Windows build directory) under wine64 against the
# Linux fake-mds on loopback, in a wine prefix of the tests' own (<windows build>/wine-e2e,
# kept between runs; made by packaging/windows/wine-prefix.sh). COM1 of that prefix is
# mapped to a pty the test opens itself (tests/wine/pty_capture.py), or to /dev/null; the
# host's serial ports are never opened (wine-prefix.sh refuses /dev/ttyS*, and nothing here
# opens COM2 or above).
#
# Wine output always goes to files: the first wine command of a prefix hands its stdout and
# stderr to services.exe, which lives on, so a pipe would never close.
#
# Usage:
#   source "$(dirname "$0")/lib.sh"
#   wine_init NAME "$@"          # args: WINDOWS_BUILD_DIR FAKE_MDS; exit 77 with a reason
#   wine_com1 pty|/dev/null      # map COM1 (waits for the prefix to be idle)
#   wine_fake_start              # fake-mds on 127.0.0.1:0 with guest attributes on
#   wine_exe ARGS...             # guestpulse.exe ARGS, output in $WINE_OUT / $WINE_ERR
#   wine_ok "what was checked" / wine_fail "what went wrong"
#   wine_finish                  # "wine NAME: N passed, M failed"; exit 0/1
# Exit codes: 0 all passed, 1 any failed, 77 skipped.

set -Eeuo pipefail

WINE_NAME=""
WINE_BUILD=""
WINE_GP=""
WINE_GP_WIN=""
WINE_FAKE=""
WINE_PREFIX=""
WINE64=""
WINE_TMP=""
WINE_PORT=""
WINE_FAKE_PID=""
WINE_PTY_PID=""
WINE_PTY=""
WINE_SERIAL=""
WINE_OUT=""
WINE_ERR=""
WINE_RC=0
WINE_PASSED=0
WINE_FAILED=0
WINE_CLEANUPS=()
WINE_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WINE_PACKAGING=$(cd "$WINE_HERE/../../packaging/windows" && pwd)

wine_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
wine_now() { date +%s.%N; }
wine_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
wine_ok() {
  WINE_PASSED=$((WINE_PASSED + 1))
  wine_log "ok:   $*"
}
wine_fail() {
  WINE_FAILED=$((WINE_FAILED + 1))
  wine_log "FAIL: $*"
}
wine_skip() {
  echo "SKIP wine $WINE_NAME: $*"
  exit 77
}

# A Linux path as wine's Z: drive spells it.
wine_path() { printf 'Z:%s' "${1//\//\\}"; }

wine_cleanup() {
  local rc=$?
  set +e
  local i
  for ((i = ${#WINE_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${WINE_CLEANUPS[i]}"; done
  [[ -n $WINE_FAKE_PID ]] && kill "$WINE_FAKE_PID" 2>/dev/null && wait "$WINE_FAKE_PID" 2>/dev/null
  [[ -n $WINE_PTY_PID ]] && kill "$WINE_PTY_PID" 2>/dev/null && wait "$WINE_PTY_PID" 2>/dev/null
  if [[ -n $WINE_PREFIX && -n $WINE64 ]]; then
    # Everything this test started in the prefix ends with its wineserver.
    WINEPREFIX=$WINE_PREFIX timeout 20 "$(dirname "$WINE64")/wineserver" -k 2>/dev/null
  fi
  [[ -n $WINE_TMP ]] && rm -rf "$WINE_TMP"
  return "$rc"
}

wine_init() {
  WINE_NAME=$1
  local build=${2:-} fake=${3:-}
  [[ -n $build && -n $fake ]] || {
    echo "usage: $0 WINDOWS_BUILD_DIR FAKE_MDS" >&2
    exit 2
  }
  WINE_BUILD=$(cd "$build" 2>/dev/null && pwd) || wine_skip "no Windows build at $build (packaging/windows/build.sh makes it)"
  WINE_GP=$WINE_BUILD/guestpulse.exe
  [[ -f $WINE_GP ]] || wine_skip "no $WINE_GP (packaging/windows/build.sh makes it)"
  [[ -x $fake ]] || wine_skip "no fake-mds at $fake"
  WINE_FAKE=$fake
  WINE64=$(command -v wine64 || echo /usr/lib/wine/wine64)
  [[ -x $WINE64 ]] || wine_skip "wine64 is not installed (packaging/windows/build-deps.sh installs it)"
  command -v python3 >/dev/null || wine_skip "python3 is missing (the pty helper needs it)"
  command -v curl >/dev/null || wine_skip "curl is missing"
  WINE_PREFIX=$WINE_BUILD/wine-e2e
  WINE_TMP=$(mktemp -d /tmp/guestpulse-wine-XXXXXX)
  trap wine_cleanup EXIT
  trap 'exit 1' INT TERM
  WINE_GP_WIN=$(wine_path "$WINE_GP")
  wine_log "wine $WINE_NAME: $WINE_GP under $("$WINE64" --version 2>/dev/null), prefix $WINE_PREFIX"
}

# Maps COM1 to a new pty of ours ("pty") or to a path; the prefix must be idle, so this
# comes before any wine program of the test.
wine_com1() {
  local target=$1
  if [[ $target == pty ]]; then
    WINE_SERIAL=$WINE_TMP/serial.log
    python3 "$WINE_HERE/pty_capture.py" "$WINE_SERIAL" "$WINE_TMP/ptyname" &
    WINE_PTY_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
      [[ -s $WINE_TMP/ptyname ]] && break
      sleep 0.1
    done
    [[ -s $WINE_TMP/ptyname ]] || {
      wine_fail "the pty helper did not start"
      return 1
    }
    WINE_PTY=$(cat "$WINE_TMP/ptyname")
    target=$WINE_PTY
  fi
  local t0
  t0=$(wine_now)
  "$WINE_PACKAGING/wine-prefix.sh" --prefix "$WINE_PREFIX" "$target" >/dev/null 2>"$WINE_TMP/prefix.log" || {
    cat "$WINE_TMP/prefix.log"
    wine_fail "wine-prefix.sh could not map COM1 to $target"
    return 1
  }
  wine_log "COM1 -> $target ($(wine_elapsed "$t0" "$(wine_now)") s, $(tail -1 "$WINE_TMP/prefix.log"))"
}

# Runs a wine program with output in files ($WINE_OUT, $WINE_ERR) and a time limit.
wine_run() {
  local limit=$1
  shift
  WINE_OUT=$WINE_TMP/out.$RANDOM WINE_ERR=$WINE_TMP/err.$RANDOM
  set +e
  WINEPREFIX=$WINE_PREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
    timeout -k 5 "$limit" "$WINE64" "$@" >"$WINE_OUT" 2>"$WINE_ERR" </dev/null
  WINE_RC=$?
  set -e
}
wine_exe() { wine_run 120 "$WINE_GP" "$@"; }

wine_fake_start() {
  local portfile=$WINE_TMP/port
  rm -f "$portfile"
  "$WINE_FAKE" --listen "127.0.0.1:${WINE_PORT:-0}" --port-file "$portfile" \
    --attribute enable-guest-attributes=TRUE --quiet >>"$WINE_TMP/fake.log" 2>&1 &
  WINE_FAKE_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $portfile ]] && break
    sleep 0.1
  done
  [[ -s $portfile ]] || {
    cat "$WINE_TMP/fake.log"
    wine_fail "fake-mds did not start"
    return 1
  }
  WINE_PORT=$(head -1 "$portfile")
}

wine_fake_stop() {
  kill "$WINE_FAKE_PID"
  wait "$WINE_FAKE_PID" 2>/dev/null || true
  WINE_FAKE_PID=""
}

wine_attributes() { curl -s --max-time 5 "http://127.0.0.1:$WINE_PORT/_fake/guest-attributes"; }

# A config for the agent under test: fast cycles against the fake, state in the temp dir
# (a directory of its own per NAME, so one run's state never carries into the next).
wine_config() {
  local name=${1:-agent}
  local file=$WINE_TMP/$name.yaml
  mkdir -p "$WINE_TMP/state-$name"
  # provider: gce, never auto: detection on a machine whose firmware names no cloud would
  # ask 169.254.169.254 as EC2 and Azure, and nothing here may leave loopback.
  cat >"$file" <<YAML
provider: gce
metadata:
  endpoint: http://127.0.0.1:$WINE_PORT
  timeout: 1s
retry: { initial: 200ms, max: 2s, attempts: 2 }
probes:
  metadata: { interval: 2s }
report:
  guest_attributes: { heartbeat: 10s }
  state_dir: '$(wine_path "$WINE_TMP/state-$name")'
YAML
  echo "$file"
}

# Waits up to $2 seconds for a line matching the ERE $1 on the serial pty; prints the
# line's arrival time (epoch seconds) and the line.
wine_wait_serial() {
  local pattern=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    if grep -E -m1 -- "$pattern" "$WINE_SERIAL.times" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

wine_wait_attribute() {
  local pattern=$1 limit=$2 i
  for ((i = 0; i < limit * 2; i++)); do
    if wine_attributes | grep -qE -- "$pattern"; then return 0; fi
    sleep 0.5
  done
  return 1
}

wine_finish() {
  echo "wine $WINE_NAME: $WINE_PASSED passed, $WINE_FAILED failed"
  ((WINE_FAILED == 0))
}
