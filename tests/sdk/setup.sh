#!/usr/bin/env bash
# Installs what tests/sdk/test_sdk_clients.sh needs: Node.js and npm from Debian (only
# when missing), then the pinned SDK clients of package-lock.json into a cache OUTSIDE the
# checkout, keyed by the hash of package.json and package-lock.json, so a second run costs
# nothing. Idempotent. Talks to nothing but Debian's archive (apt-get) and the npm
# registry (npm ci).
#
#   tests/sdk/setup.sh          prints the node_modules directory on its last line
#
# Exit 0 when ready, 77 with a reason when this machine cannot have them (no apt-get, no
# root to install Node.js, the registry unreachable), 1 on anything else.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

say() { echo "sdk setup: $*" >&2; }
skip() {
  echo "SKIP sdk: $*"
  exit 77
}

node_major() { node -e 'console.log(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || skip "Node.js/npm missing and no apt-get to install them"
  ((EUID == 0)) || skip "Node.js/npm missing; installing them with apt-get needs root"
  say "installing nodejs and npm from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null 2>&1 ||
    skip "apt-get install nodejs npm failed"
fi
(($(node_major) >= 18)) || skip "Node.js $(node --version) is too old for the pinned clients (need 18+)"

key=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
if [[ -w /var/cache || (-d /var/cache/guestpulse && -w /var/cache/guestpulse) ]]; then
  base=/var/cache/guestpulse
else
  base=${XDG_CACHE_HOME:-$HOME/.cache}/guestpulse
fi
cache=$base/npm-$key
if [[ -f $cache/.complete ]]; then
  echo "$cache/node_modules"
  exit 0
fi

say "installing the pinned SDK clients into $cache (npm ci)"
mkdir -p "$base"
work=$(mktemp -d "$base/.npm-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
if ! (cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
      --cache "$base/npm-cache" >"$work/npm.log" 2>&1); then
  tail -n 20 "$work/npm.log" >&2
  if grep -qiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network' "$work/npm.log"; then
    skip "the npm registry cannot be reached (npm ci failed)"
  fi
  echo "sdk setup: npm ci failed" >&2
  exit 1
fi
touch "$work/.complete"
rm -f "$work/npm.log"
# Another run may have finished first; either copy is complete.
mv -T "$work" "$cache" 2>/dev/null || true
trap - EXIT
rm -rf "$work"
echo "$cache/node_modules"
