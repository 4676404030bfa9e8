#!/usr/bin/env bash
# Prepares the Windows (mingw-w64) cross build of guestpulse on Debian 12, run as root:
#   1. installs the cross compiler, wine and the build tools with apt (only what is missing);
#   2. builds the libraries Debian ships no mingw builds of (OpenSSL 3, yaml-cpp, fmt, spdlog,
#      CLI11, Catch2 v2) from Debian's source packages into a static prefix, plus a directory
#      holding only a link to Debian's Boost 1.81 headers.
# The prefix is cached outside the checkout, keyed by the source versions, the compiler and
# this recipe, and reused when present. Progress goes to stderr; the prefix path is the only
# line on stdout:
#   deps=$(packaging/windows/build-deps.sh)
#   cmake -DCMAKE_TOOLCHAIN_FILE=packaging/windows/toolchain-mingw64.cmake \
#         -DGUESTPULSE_MINGW_DEPS="$deps" ...
# Environment: GUESTPULSE_MINGW_CACHE   cache directory (default /var/cache/guestpulse)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${GUESTPULSE_MINGW_CACHE:-/var/cache/guestpulse}
jobs=$(nproc 2>/dev/null || echo 2)
target=x86_64-w64-mingw32

log() { echo "build-deps: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
now() { date +%s; }
took() { # took NAME START: prints how long the part named NAME took
  local s=$(($(now) - $2))
  log "$(printf '%-9s %dm%02ds' "$1" $((s / 60)) $((s % 60)))"
}
t_all=$(now)

[[ $(id -u) -eq 0 ]] || die "run as root (installs packages, writes $cache_root)"

# ---- 1. packages ----
packages=(
  g++-mingw-w64-x86-64-posix mingw-w64-tools   # the -posix thread model has std::thread
  wine wine64                                  # runs the .exe tests (ctest's emulator)
  wixl msitools                                # Windows installer (.msi) tools
  cmake ninja-build make perl xz-utils dpkg-dev # dpkg-dev: dpkg-source for apt-get source
  libboost1.81-dev                             # Asio, Beast, JSON, URL: used from the headers
)
t=$(now)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -q >&2
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}" >&2
fi
took packages "$t"

# ---- 2. the cache key: source versions, compiler, recipe ----
# Source versions come from the candidate binary packages in the system's package lists, so a
# cached run needs no network; the sources are then fetched at exactly these versions.
sources=(openssl yaml-cpp fmtlib spdlog cli11 catch2)
declare -A binary_of=([openssl]=libssl-dev [yaml-cpp]=libyaml-cpp-dev [fmtlib]=libfmt-dev
  [spdlog]=libspdlog-dev [cli11]=libcli11-dev [catch2]=catch2)
declare -A version_of
binaries=()
for s in "${sources[@]}"; do binaries+=("${binary_of[$s]}"); done
# One apt-cache call (each loads the whole package cache): "BINARY SOURCE_VERSION" lines.
while read -r bin ver; do
  for s in "${sources[@]}"; do
    if [[ ${binary_of[$s]} == "$bin" ]]; then version_of[$s]=$ver; fi
  done
done < <(apt-cache show --no-all-versions "${binaries[@]}" 2>/dev/null | awk '
    /^Package:/ { p = $2; v = ""; s = "" }
    /^Version:/ { v = $2 }
    /^Source:/ && $3 ~ /^\(/ { s = substr($3, 2, length($3) - 2) }
    /^$/ && p != "" { print p, (s != "" ? s : v); p = "" }
    END { if (p != "") print p, (s != "" ? s : v) }')
for s in "${sources[@]}"; do
  [[ -n ${version_of[$s]:-} ]] ||
    die "no candidate version of ${binary_of[$s]} (source $s); run apt-get update"
done
pkgver() { dpkg-query -W -f='${Version}' "$1"; }
manifest=$(
  echo "guestpulse mingw-w64 dependency prefix"
  echo "compiler $target-g++-posix $("$target-g++-posix" -dumpfullversion)" \
    "g++-mingw-w64-x86-64-posix=$(pkgver g++-mingw-w64-x86-64-posix)" \
    "mingw-w64-x86-64-dev=$(pkgver mingw-w64-x86-64-dev)" \
    "binutils-mingw-w64-x86-64=$(pkgver binutils-mingw-w64-x86-64)"
  for s in "${sources[@]}"; do echo "source $s=${version_of[$s]}"; done
  # The recipe: how this script builds (part 3 on) and the toolchain file, without comments.
  echo "recipe $({
    sed -n '/^# ---- 3\. build/,$p' "$here/build-deps.sh"
    cat "$here/toolchain-mingw64.cmake"
  } | grep -v -e '^ *#' -e '^ *$' | sha256sum | cut -c1-16)"
)
key=$(sha256sum <<<"$manifest" | cut -c1-16)
prefix=$cache_root/mingw-deps-$key

if [[ -f $prefix/.complete ]]; then
  log "reusing $prefix"
  took total "$t_all"
  echo "$prefix"
  exit 0
fi

# ---- 3. build (one builder at a time per cache directory) ----
mkdir -p "$cache_root"
exec 9>"$cache_root/mingw-deps.lock"
flock 9
if [[ -f $prefix/.complete ]]; then # built by another run while this one waited
  log "reusing $prefix"
  echo "$prefix"
  exit 0
fi
log "building $prefix"
sed 's/^/  /' <<<"$manifest" >&2
rm -rf "$prefix" # an interrupted earlier build
work=$(mktemp -d "$cache_root/.work-$key-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$prefix"

# The Boost headers: a directory holding only a link, so the cross build never sees the rest
# of /usr/include (glibc's headers).
grep -q 'define BOOST_LIB_VERSION "1_81"' /usr/include/boost/version.hpp ||
  die "/usr/include/boost is not Boost 1.81 (install libboost1.81-dev)"
mkdir -p "$prefix/boost-headers"
ln -sfn /usr/include/boost "$prefix/boost-headers/boost"

# Sources: a deb-src entry for bookworm in a private apt configuration inside the work
# directory, with its own package lists: nothing is added to the system's sources, so no
# entry can be left behind, and the system's lists and lock stay untouched.
t=$(now)
apt_dir=$work/apt
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache" "$work/src"
cat >"$apt_dir/sources.list.d/bookworm-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_private=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update -q >"$work/apt-update.log" 2>&1 ||
  die "apt-get update (deb-src) failed: $(tail -5 "$work/apt-update.log")"
upstream() { # 1:1.10.0+ds-0.4 -> 1.10.0+ds
  local v=${1#*:}
  echo "${v%-*}"
}
cd "$work/src"
# OpenSSL: only the upstream tarball is needed (and on some mirrors only it arrives); apt has
# checked it against the signed index when it is present.
ossl=${version_of[openssl]}
apt-get "${apt_private[@]}" source --download-only "openssl=$ossl" \
  >"$work/openssl-source.log" 2>&1 || true
ossl_up=$(upstream "$ossl")
[[ -f openssl_$ossl_up.orig.tar.gz ]] ||
  die "openssl_$ossl_up.orig.tar.gz did not arrive (are the system's package lists current?" \
    "apt-get update): $(tail -5 "$work/openssl-source.log")"
tar xzf "openssl_$ossl_up.orig.tar.gz"
others=()
for s in "${sources[@]:1}"; do others+=("$s=${version_of[$s]}"); done
apt-get "${apt_private[@]}" source "${others[@]}" >"$work/source.log" 2>&1 ||
  die "apt-get source ${others[*]} failed (are the system's package lists current?" \
    "apt-get update): $(tail -5 "$work/source.log")"
srcdir() { echo "$work/src/$1-$(upstream "${version_of[$1]}")"; }
for s in "${sources[@]}"; do [[ -d $(srcdir "$s") ]] || die "no source tree $(srcdir "$s")"; done
took sources "$t"

# OpenSSL 3, static. The directories compiled into libcrypto are Windows paths only
# administrators can write (OpenSSL's own Windows defaults): the default, a Linux path under
# the cache, would on Windows name a directory any user can create on the system drive, and
# openssl.cnf or engines loaded from there would run in the service (CVE-2019-1552).
t=$(now)
ossl_dirs=("OPENSSLDIR=C:/Program Files/Common Files/SSL"
  "ENGINESDIR=C:/Program Files/OpenSSL/lib/engines-3"
  "MODULESDIR=C:/Program Files/OpenSSL/lib/ossl-modules")
(
  cd "$(srcdir openssl)"
  CC=gcc-posix CXX=g++-posix ./Configure mingw64 "--cross-compile-prefix=$target-" \
    "--prefix=$prefix" --libdir=lib no-shared no-tests -ffunction-sections -fdata-sections \
    >"$work/openssl-configure.log" 2>&1 ||
    die "OpenSSL Configure failed: $(tail -20 "$work/openssl-configure.log")"
  nice -n 10 make -j"$jobs" build_libs "${ossl_dirs[@]}" >"$work/openssl-build.log" 2>&1 ||
    die "OpenSSL build failed: $(tail -30 "$work/openssl-build.log")"
  make install_dev "${ossl_dirs[@]}" >"$work/openssl-install.log" 2>&1 ||
    die "OpenSSL install failed: $(tail -20 "$work/openssl-install.log")"
)
took openssl "$t"

# The CMake projects, with the toolchain file the agent uses; -Os and one section per
# function so the agent's --gc-sections link keeps only what it calls (CFLAGS/CXXFLAGS add to
# the toolchain's flags, where -DCMAKE_CXX_FLAGS would replace them).
cmake_dep() { # cmake_dep SOURCE [CMAKE ARGS...]
  local name=$1 build=$work/build-$1 t
  t=$(now)
  shift
  {
    CFLAGS="-ffunction-sections -fdata-sections" CXXFLAGS="-ffunction-sections -fdata-sections" \
      cmake -S "$(srcdir "$name")" -B "$build" -G Ninja \
      -DCMAKE_TOOLCHAIN_FILE="$here/toolchain-mingw64.cmake" -DGUESTPULSE_MINGW_DEPS="$prefix" \
      -DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_INSTALL_PREFIX="$prefix" "$@" &&
      nice -n 10 cmake --build "$build" -j "$jobs" &&
      cmake --install "$build"
  } >"$work/$name.log" 2>&1 || die "$name failed: $(tail -30 "$work/$name.log")"
  took "$name" "$t"
}
cmake_dep fmtlib -DFMT_TEST=OFF -DFMT_DOC=OFF -DFMT_INSTALL=ON
cmake_dep spdlog -DSPDLOG_FMT_EXTERNAL=ON -DSPDLOG_BUILD_SHARED=OFF -DSPDLOG_BUILD_EXAMPLE=OFF \
  -DSPDLOG_BUILD_TESTS=OFF -DSPDLOG_INSTALL=ON
cmake_dep yaml-cpp -DYAML_BUILD_SHARED_LIBS=OFF -DYAML_CPP_BUILD_TESTS=OFF \
  -DYAML_CPP_BUILD_TOOLS=OFF -DYAML_CPP_INSTALL=ON
cmake_dep cli11 -DCLI11_BUILD_TESTS=OFF -DCLI11_BUILD_EXAMPLES=OFF -DCLI11_BUILD_DOCS=OFF \
  -DCLI11_INSTALL=ON
# Catch2WithMain (a static library, as Debian builds it) and Catch.cmake (catch_discover_tests).
cmake_dep catch2 -DCATCH_BUILD_STATIC_LIBRARY=ON -DCATCH_BUILD_TESTING=OFF \
  -DCATCH_INSTALL_DOCS=OFF -DCATCH_INSTALL_HELPERS=ON

echo "$manifest" >"$prefix/MANIFEST"
touch "$prefix/.complete"
took total "$t_all"
echo "$prefix"
