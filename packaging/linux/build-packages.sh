#!/usr/bin/env bash
# Builds the Linux packages of guestpulse from one release binary and one install tree:
#   build/packages/guestpulse_<v>_amd64.deb        Debian, Ubuntu
#   build/packages/guestpulse-<v>-<r>.x86_64.rpm   RHEL, Rocky, Fedora, SUSE
#
#   packaging/linux/build-packages.sh [--build-dir DIR] [--binary FILE] [--out DIR]
#                                     [--version V] [--rpm-release R]
#
# Without --binary it first runs packaging/install-deps.sh and packaging/build.sh on the
# build dir (default build/, the MinSizeRel + LTO build the tests run). --version overrides the package version (the
# default is the top entry of packaging/linux/changelog, which must equal the binary's own
# version); a rebuild under another version gets a changelog entry saying so.
# Needs dpkg-dev and rpm (packaging/install-deps.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

build_dir=$root/build
binary=""
out=""
version=""
rpm_release=1
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --rpm-release) rpm_release=$2; shift 2 ;;
    -h | --help) sed -n "2,13p" "$0"; exit 0 ;;
    *) echo "build-packages: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
out=${out:-$build_dir/packages}
die() { echo "build-packages: $*" >&2; exit 1; }
# From a clean clone: the build and packaging tools first (idempotent, quick when present).
[[ -n $binary ]] || "$root/packaging/install-deps.sh"
for tool in dpkg-deb dpkg-shlibdeps dpkg-parsechangelog rpmbuild strip gzip; do
  command -v "$tool" >/dev/null || die "'$tool' is missing: run packaging/install-deps.sh"
done

if [[ -z $binary ]]; then
  "$root/packaging/build.sh" "$build_dir"
  binary=$build_dir/guestpulse
fi
[[ -x $binary ]] || die "no executable binary at $binary"
binary_version=$("$binary" version | awk '{ print $2 }')

# The changelog is the single source of the package version and of the build date.
changelog=$here/changelog
top_version=$(dpkg-parsechangelog -l "$changelog" -S Version)
[[ $top_version == "$binary_version" ]] ||
  die "packaging/linux/changelog's top entry is $top_version, the binary says $binary_version: add an entry"
version=${version:-$top_version}
maintainer=$(dpkg-parsechangelog -l "$changelog" -S Maintainer)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l "$changelog" -S Timestamp)}
arch=$(dpkg --print-architecture)
case $arch in
  amd64) rpm_arch=x86_64 ;;
  arm64) rpm_arch=aarch64 ;;
  *) rpm_arch=$arch ;;
esac

work=$out/work
rm -rf "$work"
mkdir -p "$out" "$work"
stage=$work/tree   # the install tree both packages are made from

# ---- the install tree ----
install -d -m 0755 "$stage/usr/bin" "$stage/etc/guestpulse" "$stage/lib/systemd/system" \
  "$stage/usr/share/man/man8" "$stage/usr/share/doc/guestpulse"
install -m 0755 "$binary" "$stage/usr/bin/guestpulse"
# As dh_strip does: no symbols, no .comment/.note; the build id stays.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/guestpulse"
install -m 0644 "$root/config/guestpulse.yaml" "$stage/etc/guestpulse/guestpulse.yaml"
install -m 0644 "$root/packaging/systemd/guestpulse.service" "$stage/lib/systemd/system/"
man_date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
sed -e "s/@DATE@/$man_date/" -e "s/@VERSION@/$binary_version/" "$here/guestpulse.8" |
  gzip -9n >"$stage/usr/share/man/man8/guestpulse.8.gz"
install -m 0644 "$root/README.md" "$stage/usr/share/doc/guestpulse/README.md"
install -m 0644 "$here/copyright" "$stage/usr/share/doc/guestpulse/copyright"
{
  if [[ $version != "$top_version" ]]; then
    # A package built under another version than the release (e.g. a test rebuild).
    printf 'guestpulse (%s) unstable; urgency=medium\n\n  * Rebuild of %s as %s.\n\n -- %s  %s\n\n' \
      "$version" "$top_version" "$version" "$maintainer" \
      "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
  fi
  cat "$changelog"
} >"$work/changelog"
gzip -9n <"$work/changelog" >"$stage/usr/share/doc/guestpulse/changelog.gz"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# ---- .deb ----
debroot=$work/deb
cp -a "$stage" "$debroot"
install -d -m 0755 "$debroot/DEBIAN"
mkdir -p "$work/shlibdeps/debian"
printf 'Source: guestpulse\n\nPackage: guestpulse\nArchitecture: any\n' >"$work/shlibdeps/debian/control"
depends=$(cd "$work/shlibdeps" && dpkg-shlibdeps -O "$debroot/usr/bin/guestpulse" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || die "dpkg-shlibdeps found no dependencies for the binary"
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$debroot" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
  -e "s/@INSTALLED_SIZE@/$installed_size/" -e "s|@MAINTAINER@|$maintainer|" \
  "$here/deb/control" >"$debroot/DEBIAN/control"
install -m 0644 "$here/deb/conffiles" "$debroot/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/deb/$script" "$debroot/DEBIAN/$script"
done
(cd "$debroot" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
  LC_ALL=C sort -z | xargs -0 md5sum) >"$debroot/DEBIAN/md5sums"
chmod 0644 "$debroot/DEBIAN/md5sums"
deb=$out/guestpulse_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$debroot" "$deb" >/dev/null

# ---- .rpm, from the same tree; the unit goes where RPM-based systems keep theirs ----
rpmtop=$work/rpm
mkdir -p "$rpmtop"/{BUILD,RPMS,SRPMS,SPECS,SOURCES,BUILDROOT}
{
  sed -e "s/@VERSION@/${version//-/_}/" -e "s/@RELEASE@/$rpm_release/" \
    -e "s|@MAINTAINER@|$maintainer|" "$here/rpm/guestpulse.spec"
  echo
  echo "%changelog"
  "$here/rpm-changelog.sh" "$work/changelog"
} >"$rpmtop/SPECS/guestpulse.spec"
rpmbuild -bb --quiet --target "$rpm_arch" \
  --define "_topdir $rpmtop" \
  --define "guestpulse_tree $stage" \
  --define "_build_id_links none" \
  --define "use_source_date_epoch_as_buildtime 1" \
  --define "clamp_mtime_to_source_date_epoch 1" \
  --define "_buildhost guestpulse-build" \
  --define "_binary_payload w9.xzdio" \
  "$rpmtop/SPECS/guestpulse.spec" >"$work/rpmbuild.log" 2>&1 ||
  { cat "$work/rpmbuild.log" >&2; die "rpmbuild failed"; }
rpm_file=$(find "$rpmtop/RPMS" -name '*.rpm' | head -n 1)
[[ -n $rpm_file ]] || die "rpmbuild made no package"
cp "$rpm_file" "$out/"

echo "build-packages: version $version from $binary"
for f in "$deb" "$out/$(basename "$rpm_file")"; do
  printf '  %-48s %8d bytes\n' "$(basename "$f")" "$(stat -c %s "$f")"
done
