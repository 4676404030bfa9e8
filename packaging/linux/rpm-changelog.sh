#!/usr/bin/env bash
# Prints a Debian-format changelog (packaging/linux/changelog) as an RPM %changelog.
#   rpm-changelog.sh CHANGELOG
set -euo pipefail
dpkg-parsechangelog -l "$1" --all -S Version >/dev/null  # fails loudly on a malformed file
awk '
  /^[a-z0-9][a-z0-9.+-]* \(/ { version = $2; gsub(/[()]/, "", version); n = 0; delete items; next }
  /^  \* / { items[++n] = substr($0, 5); next }
  /^    / && n > 0 { sub(/^ +/, ""); items[n] = items[n] " " $0; next }
  /^ -- / {
    line = substr($0, 5)
    split(line, parts, "  ")
    who = parts[1]
    cmd = "LC_ALL=C date -u -d \"" parts[2] "\" \"+%a %b %d %Y\""
    cmd | getline day
    close(cmd)
    printf "* %s %s - %s\n", day, who, version
    for (i = 1; i <= n; i++) printf "- %s\n", items[i]
    printf "\n"
  }
' "$1"
