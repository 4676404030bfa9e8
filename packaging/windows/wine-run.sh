#!/usr/bin/env bash
# Runs a Windows program under wine64 in a prefix of its own: the emulator the toolchain file
# gives ctest and catch_discover_tests.
#   wine-run.sh PREFIX COM1_TARGET PROGRAM.exe [ARGS...]
# A prefix not yet set up is made first by wine-prefix.sh, COM1 mapped to COM1_TARGET.
#
# The program's output is collected in files and replayed when it exits: when a wine command
# starts the prefix's wineserver, services.exe and the other background processes inherit its
# stdout/stderr and outlive it, and a caller reading them through a pipe (ctest) would wait
# for those processes too.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(($# >= 3)) || {
  echo "usage: $0 PREFIX COM1_TARGET PROGRAM.exe [ARGS...]" >&2
  exit 2
}
prefix=$1 com1=$2
shift 2
if [[ ! -f $prefix/guestpulse-com1 ]]; then
  "$here/wine-prefix.sh" --prefix "$prefix" "$com1" >/dev/null || exit 1
fi
wine64=$(command -v wine64 || echo /usr/lib/wine/wine64)
export WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY

out=$(mktemp -d "${TMPDIR:-/tmp}/wine-run.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
"$wine64" "$@" >"$out/stdout" 2>"$out/stderr" </dev/null &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
wait "$child"
rc=$?
if ((rc > 128)) && kill -0 "$child" 2>/dev/null; then # interrupted: wait for the program
  wait "$child"
  rc=$?
fi
cat "$out/stdout"
cat "$out/stderr" >&2
exit "$rc"
