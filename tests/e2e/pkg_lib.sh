# shellcheck shell=bash
# Shared code for the package tests (sourced after lib.sh, never run).
#
#   pkg_build OUTDIR [ARGS...]     packaging/linux/build-packages.sh with the binary under test
#   pkg_debian_root                a cached Debian root made by debootstrap (see below)
#   pkg_root_up DIR / pkg_root_down  a throwaway copy of it: an overlay whose lower layer is
#                                  the cache, so every run starts from the same root
#   pkg_chroot CMD...              runs CMD in the throwaway root, without systemd running
#
# The cached root is made once by debootstrap from the Debian mirror that apt on this
# machine already uses (/etc/apt/sources.list*), never another address, and kept in
# $GUESTPULSE_TEST_CACHE (default /var/cache/guestpulse-tests) under a name keyed by the
# suite, the mirror, the debootstrap version and the package list, so a change to any of
# them makes a new one. Creation takes about 2 minutes; later runs reuse it.
# shellcheck disable=SC2034

PKG_ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly PKG_ROOT_DIR
readonly PKG_CACHE=${GUESTPULSE_TEST_CACHE:-/var/cache/guestpulse-tests}
# systemd and dbus to boot it; libssl3 and iptables are the package's Recommends, there so
# that installing it needs nothing from the network.
readonly PKG_ROOT_INCLUDE=systemd,systemd-sysv,dbus,libssl3,iptables,procps
readonly PKG_ROOT_RECIPE=1   # bump when the way the root is made changes

PKG_ROOT=""          # the throwaway root while it is up
PKG_ROOT_MOUNTS=()   # mounted inside it, unmounted in reverse order

pkg_build() {
  local out=$1
  shift
  "$PKG_ROOT_DIR/packaging/linux/build-packages.sh" --binary "$E2E_GP" --out "$out" "$@"
}

# The mirror apt uses for SUITE on this machine: deb822 .sources files and one-line lists.
pkg_mirror_for_suite() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk -v suite="$suite" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") {
          split(uris, u, " "); print u[1]; found = 1; exit
        }
        types = suites = uris = ""
      }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]*#/ { next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk -v suite="$suite" '$1 == "deb" {
        i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f"
  done
}

# Sets PKG_DEBIAN_ROOT to the cached root, making it first if needed (under a lock, so
# two tests never build it at once). Skips (77) with the reason when it cannot be made.
PKG_DEBIAN_ROOT=""
pkg_debian_root() {
  local suite mirror key dir
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ -n $suite ]] || e2e_skip "cannot tell this machine's Debian suite from /etc/os-release"
  command -v debootstrap >/dev/null || e2e_skip "debootstrap is missing (packaging/install-deps.sh installs it)"
  mirror=$(pkg_mirror_for_suite "$suite" | head -n 1)
  [[ -n $mirror ]] || e2e_skip "no 'deb' source for suite $suite in /etc/apt/sources.list*: no mirror to bootstrap from"
  key=$(printf '%s\n' "$suite" "$mirror" "$(debootstrap --version)" "$PKG_ROOT_INCLUDE" "$PKG_ROOT_RECIPE" |
    sha256sum | cut -c1-12)
  dir=$PKG_CACHE/debian-$suite-$key
  mkdir -p "$PKG_CACHE"
  exec {lock}>"$PKG_CACHE/.lock"
  flock "$lock"
  if [[ ! -f $dir/.complete ]]; then
    local t0 tmp=$dir.partial
    t0=$(e2e_now)
    e2e_log "making the cached Debian root ($suite from $mirror; about 2 minutes): $dir"
    rm -rf "$tmp"
    if ! debootstrap --variant=minbase --include="$PKG_ROOT_INCLUDE" "$suite" "$tmp" "$mirror" \
        >"$PKG_CACHE/debootstrap.log" 2>&1; then
      tail -n 20 "$PKG_CACHE/debootstrap.log" >&2
      rm -rf "$tmp"
      flock -u "$lock"
      # The mirror out of reach is this machine's state, not a fault of the package.
      if grep -qE "Couldn't download|Failed getting release file|Temporary failure resolving|Could not resolve|Connection (refused|timed out)" \
          "$PKG_CACHE/debootstrap.log"; then
        e2e_skip "debootstrap cannot reach $mirror: $(grep -m1 -E "Couldn't download|Failed getting|Temporary failure|Could not resolve|Connection" "$PKG_CACHE/debootstrap.log")"
      fi
      e2e_die "debootstrap $suite from $mirror failed (log: $PKG_CACHE/debootstrap.log)"
    fi
    # No daemon may start while packages are installed into a chroot of it.
    rm -f "$tmp/var/cache/apt/archives/"*.deb
    date -u +%FT%TZ >"$tmp/.complete"
    # Older roots of other keys are of no further use.
    find "$PKG_CACHE" -maxdepth 1 -name "debian-$suite-*" ! -name "debian-$suite-$key" \
      ! -name '*.partial' -exec rm -rf {} +
    mv "$tmp" "$dir"
    e2e_log "cached Debian root made in $(e2e_elapsed "$t0" "$(e2e_now)")s"
  fi
  flock -u "$lock"
  PKG_DEBIAN_ROOT=$dir
}

# pkg_root_up LOWER: an overlay over the cached root in the test's temp dir; each call
# starts from the cached root again, with an upper layer of its own.
PKG_ROOT_COUNT=0
pkg_root_up() {
  local lower=$1 base=$E2E_TMP/root$((++PKG_ROOT_COUNT))
  mkdir -p "$base/upper" "$base/work" "$base/merged"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$base/upper,workdir=$base/work" \
    "$base/merged" 2>"$E2E_TMP/overlay.err" ||
    e2e_skip "cannot mount an overlay over the cached root: $(head -c 200 "$E2E_TMP/overlay.err")"
  PKG_ROOT_MOUNTS+=("$base/merged")
  PKG_ROOT=$base/merged
}

pkg_chroot_mounts() {
  local m
  mount -t proc proc "$PKG_ROOT/proc" && PKG_ROOT_MOUNTS+=("$PKG_ROOT/proc")
  for m in dev dev/pts sys; do
    mount --rbind "/$m" "$PKG_ROOT/$m" && mount --make-rslave "$PKG_ROOT/$m" &&
      PKG_ROOT_MOUNTS+=("$PKG_ROOT/$m")
  done
}

pkg_root_down() {
  local i
  for ((i = ${#PKG_ROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount -R "${PKG_ROOT_MOUNTS[i]}" 2>/dev/null || umount -lR "${PKG_ROOT_MOUNTS[i]}" 2>/dev/null || true
  done
  PKG_ROOT_MOUNTS=()
  PKG_ROOT=""
}

# Runs a command in the root as an image build would: chroot, no systemd, no network
# namespace of its own, a clean environment.
pkg_chroot() {
  chroot "$PKG_ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
