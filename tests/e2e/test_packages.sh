#!/usr/bin/env bash
# The packages' quality gates, on packages built from the binary under test:
#   - lintian on the .deb: no error and no warning (overrides, if any, carry a reason);
#   - rpm -qpl / -qpi: the .rpm holds the same files as the .deb (the unit in
#     /usr/lib/systemd/system instead of /lib/systemd/system), with sane metadata,
#     the config as %config(noreplace), scriptlets, and libc requirements;
#   - man --warnings -l: the man page renders without a warning;
#   - systemd-analyze security --offline=true on the shipped unit: exposure <= 2.0
#     (printed), and the privileges it grants are exactly the intended ones.
#
#   bash tests/e2e/test_packages.sh build/guestpulse build/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/pkg_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pkg_lib.sh"
E2E_NAME=packages
if (($# != 2)); then
  echo "usage: bash $0 PATH/TO/guestpulse PATH/TO/fake-mds" >&2
  exit 1
fi
E2E_GP=$(realpath "$1")
trap e2e_cleanup EXIT
for tool in dpkg-deb rpm rpmbuild lintian man systemd-analyze; do
  command -v "$tool" >/dev/null || e2e_skip "'$tool' is missing (packaging/install-deps.sh installs it)"
done
E2E_TMP=$(mktemp -d /tmp/gp-e2e-packages.XXXXXX)
chmod 0755 "$E2E_TMP"
# Each step records PASS or FAIL and the test goes on; no step aborts it.
set +e
trap - ERR

check() {  # check LABEL RESULT(0/1) DETAIL
  if [[ $2 == 0 ]]; then
    e2e_record "$1|$3|PASS"
  else
    e2e_record "$1|$3|FAIL"
    e2e_log "FAIL $1: $3"
  fi
}

t0=$(e2e_now)
out=$E2E_TMP/packages
pkg_build "$out" >"$E2E_TMP/build.log" 2>&1 || { cat "$E2E_TMP/build.log" >&2; e2e_die "build-packages.sh failed"; }
sed 's/^/  /' "$E2E_TMP/build.log"
deb=$(echo "$out"/guestpulse_*.deb)
rpmf=$(echo "$out"/guestpulse-*.rpm)
[[ -f $deb && -f $rpmf ]] || e2e_die "expected one .deb and one .rpm in $out"
e2e_log "packages built in $(e2e_elapsed "$t0" "$(e2e_now)")s"
version=$("$E2E_GP" version | awk '{ print $2 }')

# ---- lintian: errors and warnings fail; information tags are printed ----
t1=$(e2e_now)
lintian_as=()
# lintian advises against root; it needs nothing but to read the file.
((EUID == 0)) && lintian_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp)
rc=0
"${lintian_as[@]}" lintian --display-info --show-overrides --fail-on error,warning "$deb" \
  >"$E2E_TMP/lintian.txt" 2>&1 || rc=$?
sed 's/^/  lintian | /' "$E2E_TMP/lintian.txt"
tags=$(grep -cE '^[EW]: ' "$E2E_TMP/lintian.txt" || true)
check "lintian: no error or warning" "$((rc != 0 || tags != 0))" \
  "exit $rc, $tags E/W tag(s), $(grep -cE '^I: ' "$E2E_TMP/lintian.txt" || true) info, $(grep -cE '^O: ' "$E2E_TMP/lintian.txt" || true) overridden (${lintian_as:+as nobody, }$(e2e_elapsed "$t1" "$(e2e_now)")s)"

# ---- the same files in both packages ----
# Regular files and symlinks; directories are compared by ownership below, because the
# .rpm leaves /usr, /usr/bin, ... to the filesystem package, as RPM packages do.
dpkg-deb --fsys-tarfile "$deb" | tar -tv | awk '$1 !~ /^d/ { print $NF }' | sed 's|^\./|/|' |
  sed 's|^/lib/systemd/system/|/usr/lib/systemd/system/|' | LC_ALL=C sort >"$E2E_TMP/deb.files"
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpmf" 2>/dev/null |
  awk '$1 !~ /^d/ { print $2 }' | LC_ALL=C sort >"$E2E_TMP/rpm.files"
if diff "$E2E_TMP/deb.files" "$E2E_TMP/rpm.files" >"$E2E_TMP/files.diff"; then
  check "rpm -qpl = .deb contents" 0 "$(wc -l <"$E2E_TMP/rpm.files") files; unit in /usr/lib/systemd/system"
else
  check "rpm -qpl = .deb contents" 1 "differ: $(tr '\n' ' ' <"$E2E_TMP/files.diff")"
fi
rpm_dirs=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpmf" 2>/dev/null | awk '$1 ~ /^d/ { print $2 }' | tr '\n' ' ')
[[ $rpm_dirs == "/etc/guestpulse /usr/share/doc/guestpulse " ]]
check "rpm owns its own directories" $? "$rpm_dirs"
for f in /usr/bin/guestpulse /etc/guestpulse/guestpulse.yaml /usr/share/man/man8/guestpulse.8.gz \
  /usr/share/doc/guestpulse/README.md /usr/share/doc/guestpulse/copyright \
  /usr/share/doc/guestpulse/changelog.gz /usr/lib/systemd/system/guestpulse.service; do
  grep -qx -- "$f" "$E2E_TMP/rpm.files" || check "package holds $f" 1 "missing"
done
# The binary is the same file in both.
mkdir -p "$E2E_TMP/deb-x" "$E2E_TMP/rpm-x"
dpkg-deb -x "$deb" "$E2E_TMP/deb-x"
(cd "$E2E_TMP/rpm-x" && rpm2cpio "$rpmf" | cpio -idm --quiet)
same=1
for f in usr/bin/guestpulse etc/guestpulse/guestpulse.yaml usr/share/man/man8/guestpulse.8.gz; do
  cmp -s "$E2E_TMP/deb-x/$f" "$E2E_TMP/rpm-x/$f" || same=0
done
cmp -s "$E2E_TMP/deb-x/lib/systemd/system/guestpulse.service" \
  "$E2E_TMP/rpm-x/usr/lib/systemd/system/guestpulse.service" || same=0
check "same binary, config, unit and man page" "$((!same))" "byte for byte"
file "$E2E_TMP/deb-x/usr/bin/guestpulse" | grep -q 'stripped' &&
  ! file "$E2E_TMP/deb-x/usr/bin/guestpulse" | grep -q 'not stripped'
check "binary stripped" $? "$(stat -c %s "$E2E_TMP/deb-x/usr/bin/guestpulse") bytes"

# ---- metadata ----
rpm -qpi "$rpmf" >"$E2E_TMP/rpm.info" 2>/dev/null
sed 's/^/  rpm -qpi | /' "$E2E_TMP/rpm.info" | head -n 14
field() { sed -n "s/^$1 *: //p" "$E2E_TMP/rpm.info" | head -n 1; }
bad=""
[[ $(field Name) == guestpulse ]] || bad+=" Name=$(field Name)"
[[ $(field Version) == "${version//-/_}" ]] || bad+=" Version=$(field Version)"
[[ $(field Architecture) == x86_64 || $(field Architecture) == "$(uname -m)" ]] || bad+=" Architecture=$(field Architecture)"
[[ -n $(field License) && -n $(field Summary) && -n $(field Packager) ]] || bad+=" License/Summary/Packager empty"
check "rpm -qpi metadata" "$([[ -z $bad ]]; echo $?)" "${bad:-$(field Name) $(field Version)-$(field Release) $(field Architecture), License $(field License)}"
conf=$(rpm -qpc "$rpmf" 2>/dev/null)
[[ $conf == /etc/guestpulse/guestpulse.yaml ]] &&
  rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmf" 2>/dev/null | grep -q '^cn /etc/guestpulse/guestpulse.yaml$'
check "rpm: config is %config(noreplace)" $? "$conf"
rpm -qp --requires "$rpmf" 2>/dev/null | grep -q '^libc.so.6(GLIBC_' &&
  ! rpm -qp --requires "$rpmf" 2>/dev/null | grep -qE '^lib(ssl|crypto|yaml|stdc)'
check "rpm: requires glibc only" $? "$(rpm -qp --requires "$rpmf" 2>/dev/null | grep -oE '^libc.so.6\(GLIBC_2\.[0-9]+\)' | sort -V | tail -n 1) and older"
scripts=$(rpm -qp --scripts "$rpmf" 2>/dev/null | grep -cE '^(postinstall|preuninstall|postuninstall) scriptlet')
check "rpm: post/preun/postun scriptlets" "$((scripts != 3))" "$scripts of 3"
dpkg-deb -f "$deb" Package Version Architecture Depends Recommends Section | sed 's/^/  deb | /'
[[ $(dpkg-deb -f "$deb" Version) == "$version" && $(dpkg-deb -f "$deb" Depends) == libc6* ]] &&
  [[ $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) == /etc/guestpulse/guestpulse.yaml ]]
check "deb: version, Depends, conffile" $? "$(dpkg-deb -f "$deb" Version), $(dpkg-deb -f "$deb" Depends)"

# ---- the man page ----
man_warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$E2E_TMP/deb-x/usr/share/man/man8/guestpulse.8.gz" 2>&1 >/dev/null)
lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$E2E_TMP/deb-x/usr/share/man/man8/guestpulse.8.gz" 2>/dev/null | wc -l)
check "man --warnings -l guestpulse.8" "$([[ -z $man_warn && $lines -gt 50 ]]; echo $?)" \
  "${man_warn:-no warning}, $lines lines"

# ---- systemd-analyze security on the shipped unit ----
unit=$E2E_TMP/deb-x/lib/systemd/system/guestpulse.service
systemd-analyze security --offline=true --no-pager "$unit" >"$E2E_TMP/security.txt" 2>&1 || true
grep -E '^✗' "$E2E_TMP/security.txt" | sed 's/^/  exposed | /'
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$E2E_TMP/security.txt")
echo "  systemd-analyze security --offline=true guestpulse.service: ${exposure:-?} (Google's guest agent: 9.6 UNSAFE)"
check "exposure <= 2.0" "$(awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'; echo $?)" "${exposure:-not printed}"
grants=$(grep -E '^(User|DynamicUser|SupplementaryGroups|CapabilityBoundingSet|AmbientCapabilities)=' "$unit" | tr '\n' ' ')
[[ $grants == "DynamicUser=yes SupplementaryGroups=dialout tty CapabilityBoundingSet=CAP_NET_ADMIN AmbientCapabilities=CAP_NET_ADMIN " ]]
check "privileges granted" $? "$grants"
# verify needs the ExecStart binary: point a copy of the unit at the extracted one.
sed "s|/usr/bin/guestpulse|$E2E_TMP/deb-x/usr/bin/guestpulse|" "$unit" >"$E2E_TMP/guestpulse.service"
systemd-analyze verify --man=no "$E2E_TMP/guestpulse.service" >"$E2E_TMP/verify.txt" 2>&1
check "systemd-analyze verify" $? "$(head -c 300 "$E2E_TMP/verify.txt" | tr '\n' ' ')"

{
  echo
  echo "e2e packages summary"
  printf '%s\n' "check|observed|result" "-----|--------|------" "${E2E_ROWS[@]}" | column -t -s '|' -o ' | '
  echo "package sizes: $(basename "$deb") $(stat -c %s "$deb") bytes; $(basename "$rpmf") $(stat -c %s "$rpmf") bytes; installed $(dpkg-deb -f "$deb" Installed-Size) KiB"
  echo "took $(e2e_elapsed "$t0" "$(e2e_now)")s"
  echo "e2e packages: $E2E_PASSED passed, $E2E_FAILED failed"
}
((E2E_FAILED == 0 && E2E_PASSED > 0))
