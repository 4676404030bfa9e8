#!/usr/bin/env bash
# The Windows build of guestpulse, cross-compiled on Debian 12 (as root), and its packages:
#   packaging/windows/build.sh [--no-tests] [BUILD_DIR]     (default BUILD_DIR: build-windows)
# 1. build-deps.sh: the mingw-w64 toolchain, wine, wixl and the static libraries (cached);
# 2. a MinSizeRel cross build (GUESTPULSE_WINDOWS_BUILD_TYPE overrides): guestpulse.exe, and
#    unless --no-tests the unit tests that ctest runs under wine;
# 3. checks that guestpulse.exe imports only DLLs every Windows has;
# 4. BUILD_DIR/packages/guestpulse-<version>-win64.zip (guestpulse.exe, guestpulse.yaml,
#    README.md) and guestpulse-<version>-x64.msi (wixl; see guestpulse.wxs).
# Prints the packages, their sizes and the imported DLLs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tests=ON
build_dir=$root/build-windows
while (($#)); do
  case $1 in
    --no-tests) tests=OFF; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) build_dir=$1; shift ;;
  esac
done
[[ $build_dir == /* ]] || build_dir=$PWD/$build_dir
build_type=${GUESTPULSE_WINDOWS_BUILD_TYPE:-MinSizeRel}
jobs=$(nproc 2>/dev/null || echo 2)
log() { echo "windows build: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

t0=$(date +%s)
deps=$("$here/build-deps.sh")
t1=$(date +%s)
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_TOOLCHAIN_FILE="$here/toolchain-mingw64.cmake" -DGUESTPULSE_MINGW_DEPS="$deps" \
  -DGUESTPULSE_BUILD_TESTS="$tests" >/dev/null
nice -n 10 cmake --build "$build_dir" -j "$jobs"
t2=$(date +%s)
exe=$build_dir/guestpulse.exe
[[ -f $exe ]] || die "no $exe after the build"

# Only DLLs that ship with every Windows: no C++ runtime, no OpenSSL DLL beside the exe.
system_dlls='^(advapi32|crypt32|iphlpapi|kernel32|msvcrt|mswsock|ole32|oleaut32|shell32|user32|winhttp|ws2_32)\.dll$'
mapfile -t dlls < <(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p' | sort -f)
for dll in "${dlls[@]}"; do
  [[ ${dll,,} =~ $system_dlls ]] || die "guestpulse.exe imports $dll, which is not a system DLL"
done

version=$(sed -n 's/^project(guestpulse VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
[[ -n $version ]] || die "no version in CMakeLists.txt"
packages=$build_dir/packages
stage=$build_dir/stage
rm -rf "$stage" && mkdir -p "$stage" "$packages"
cp "$exe" "$stage/guestpulse.exe"
cp "$root/config/examples/windows.yaml" "$stage/guestpulse.yaml"
cp "$root/README.md" "$stage/README.md"

zip=$packages/guestpulse-$version-win64.zip
rm -f "$zip"
(cd "$stage" && zip -q -X -9 "$zip" guestpulse.exe guestpulse.yaml README.md)

msi=$packages/guestpulse-$version-x64.msi
rm -f "$msi"
# wixl warns about attributes it does not model; the ones that matter are set below.
# wixl takes file sources relative to the working directory only.
(cd "$stage" && wixl -a x64 -D Version="$version" -D SourceDir=. -o "$msi" "$here/guestpulse.wxs" \
  2> >(grep -v 'GLib-GObject-WARNING\|^$' >&2))
# The configuration stays on upgrade and uninstall, as an operator's edits should:
# 256 (64-bit) + 16 (permanent) + 128 (never overwrite an existing file).
msibuild "$msi" -q "UPDATE \`Component\` SET \`Attributes\` = 400 WHERE \`Component\` = 'Config'"
msiinfo export "$msi" ServiceInstall | grep -q '^GuestpulseService' || die "the MSI has no service"
t3=$(date +%s)

size() { stat -c %s "$1"; }
log "deps $((t1 - t0)) s, build $((t2 - t1)) s, packages $((t3 - t2)) s"
echo "guestpulse.exe  $(size "$exe") bytes, imports: ${dlls[*]}"
echo "$zip  $(size "$zip") bytes"
echo "$msi  $(size "$msi") bytes"
