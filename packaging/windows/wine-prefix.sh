#!/usr/bin/env bash
# Creates (or reuses) a wine prefix of its own for running the Windows build, never ~/.wine,
# and maps its COM1 to TARGET before any program can open COM1. Prints the prefix path.
#   prefix=$(packaging/windows/wine-prefix.sh [--prefix DIR] [TARGET])
# DIR defaults to $GUESTPULSE_WINEPREFIX, else /var/tmp/guestpulse-wine-<uid>. TARGET is a
# file, FIFO or pty of the caller's (default /dev/null).
#
# A fresh prefix maps COM1 to /dev/ttyS0, which on these machines is the real console. Wine
# only checks that the device exists when it makes the prefix (it does not open it); COM1 is
# then pointed at TARGET both in the registry (HKLM\Software\Wine\Ports, read each time wine
# starts) and in the prefix's dosdevices link (what an open of COM1 follows), before anything
# else runs. The host's own serial devices still appear as COM2 and up (wine gives every
# /dev/ttyS* a port): nothing may open those.
#
# Wine's first command in a prefix hands its stdout/stderr to services.exe, which outlives it,
# so every wine command here writes to files, never to a pipe of the caller's.
set -euo pipefail

prefix=${GUESTPULSE_WINEPREFIX:-/var/tmp/guestpulse-wine-$(id -u)}
target=/dev/null
while (($#)); do
  case $1 in
    --prefix) prefix=$2; shift 2 ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) target=$1; shift ;;
  esac
done
log() { echo "wine-prefix: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
[[ $prefix == /* ]] || prefix=$PWD/$prefix
[[ $target == /* ]] || die "COM1 target must be an absolute path: $target"
case $(readlink -f -- "$target") in
  /dev/ttyS* | /dev/console | /dev/hvc* | /dev/ttyAMA*)
    die "refusing to map COM1 to the host's serial console $target" ;;
esac
wine64=$(command -v wine64 || echo /usr/lib/wine/wine64)
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver)
[[ -x $wine64 ]] || die "wine64 not found (packaging/windows/build-deps.sh installs it)"

export WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY # no windows, no prompts
mkdir -p "$prefix"
exec 8>"$prefix.lock" # one setup at a time per prefix
flock 8
out=$prefix/guestpulse-setup.log
wine_quiet() { "$wine64" "$@" >>"$out" 2>&1 </dev/null; }

if [[ ! -f $prefix/system.reg ]]; then
  log "creating $prefix"
  t=$(date +%s)
  wine_quiet wineboot -i || die "wineboot -i failed (see $out)"
  log "created in $(($(date +%s) - t))s"
fi
# The dosdevices link first (takes effect at once, whatever is running), then the registry
# (mountmgr recreates the links from it whenever the prefix's wineserver starts).
ln -sfn "$target" "$prefix/dosdevices/com1"
wine_quiet reg add 'HKLM\Software\Wine\Ports' /v COM1 /t REG_SZ /d "$target" /f ||
  die "reg add COM1 failed (see $out)"

# Verify from a fresh start of the prefix: the registry value is saved, and mountmgr's
# links made from it point COM1 at TARGET.
"$wineserver" -w
query=$prefix/guestpulse-com1-query.txt
"$wine64" reg query 'HKLM\Software\Wine\Ports' /v COM1 >"$query" 2>>"$out" </dev/null ||
  die "reg query COM1 failed (see $out)"
value=$(sed -n 's/^ *COM1 *REG_SZ *//p' "$query" | tr -d '\r')
[[ $value == "$target" ]] || die "registry COM1 is '$value', expected '$target'"
link=$(readlink "$prefix/dosdevices/com1" || true)
[[ $link == "$target" ]] || die "dosdevices/com1 points to '$link', expected '$target'"
echo "$target" >"$prefix/guestpulse-com1"
log "COM1 -> $target (registry and dosdevices verified)"
echo "$prefix"
