#!/usr/bin/env bash
# The providers' own metadata clients against fake-mds, one fake per case, on loopback:
#   gcp-metadata (Google)                    -> --provider gce
#   @smithy/credential-provider-imds (AWS)   -> --provider ec2, IMDSv2 tokens required
#   @azure/identity ManagedIdentityCredential -> --provider azure
# plus one case each that must fail the way the real service makes it fail.
#
#   bash tests/sdk/test_sdk_clients.sh PATH/TO/fake-mds
#
# Exit 0 all passed, 1 any failed, 77 skipped (no Node.js/npm and no way to install them,
# or the npm registry unreachable; the reason is printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(($# == 1)) || { echo "usage: bash $0 PATH/TO/fake-mds" >&2; exit 1; }
fake=$(realpath "$1")
[[ -x $fake ]] || { echo "fake-mds '$1' is not executable" >&2; exit 1; }

set +e
modules=$("$here/setup.sh" | tail -n 1)
rc=${PIPESTATUS[0]}
set -e
if ((rc == 77)); then echo "$modules"; exit 77; fi
((rc == 0)) || { echo "sdk: setup failed (exit $rc)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/gp-sdk.XXXXXX)
fake_pid=""
cleanup() {
  if [[ -n $fake_pid ]]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

version() { node -p "require('$modules/$1/package.json').version"; }
echo "node $(node --version); gcp-metadata $(version gcp-metadata);" \
  "@smithy/credential-provider-imds $(version @smithy/credential-provider-imds);" \
  "@azure/identity $(version @azure/identity) (msal-node $(version @azure/msal-node))"

passed=0 failed=0 rows=()
port=""

start_fake() {
  rm -f "$tmp/port"
  "$fake" --listen 127.0.0.1:0 --port-file "$tmp/port" --quiet "$@" 2>"$tmp/fake.err" &
  fake_pid=$!
  for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.05; done
  [[ -s $tmp/port ]] || { cat "$tmp/fake.err" >&2; echo "fake-mds did not start" >&2; exit 1; }
  port=$(head -n 1 "$tmp/port")
}
stop_fake() {
  kill "$fake_pid" 2>/dev/null || true
  wait "$fake_pid" 2>/dev/null || true
  fake_pid=""
}
# control METHOD PATH [JSON]: the fake's control API, through node (no curl needed).
control() {
  node -e 'fetch(process.argv[1], { method: process.argv[2], body: process.argv[3] || undefined })
    .then(async (r) => { if (!r.ok) { console.error(await r.text()); process.exit(1); } })' \
    "http://127.0.0.1:$port/_fake/$2" "$1" "${3:-}"
}

# run_case LABEL CASE ENV...: runs `node clients.cjs CASE` with ENV, records the result.
run_case() {
  local label=$1 name=$2 start end secs result
  shift 2
  echo "== $label"
  start=$(date +%s.%N)
  if env -i PATH="$PATH" HOME="$tmp" NODE_PATH="$modules" "$@" \
      timeout 120 node "$here/clients.cjs" "$name"; then
    result=PASS; passed=$((passed + 1))
  else
    result=FAIL; failed=$((failed + 1))
    echo "-- fake-mds requests:"; node -e 'fetch(process.argv[1]).then(r => r.text()).then(t => console.log(t.slice(-3000)))' \
      "http://127.0.0.1:$port/_fake/requests" || true
  fi
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  rows+=("$label|$result|${secs}s")
}

tags='["http-server","db-client"]'
id=4520031799277581759

start_fake --provider gce --attribute enable-guest-attributes=TRUE --metadata "instance/tags=$tags"
run_case "gcp-metadata vs --provider gce" gce GCE_METADATA_HOST="127.0.0.1:$port" EXPECT_ID=$id
control POST faults '{"no_flavor":true}'
run_case "gcp-metadata vs a proxy stripping Metadata-Flavor" gce-proxied \
  GCE_METADATA_HOST="127.0.0.1:$port"
stop_fake

start_fake --provider ec2
run_case "@smithy IMDS vs --provider ec2 (tokens required)" ec2 \
  AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port" AWS_EC2_METADATA_V1_DISABLED=true
stop_fake
start_fake --provider ec2 --imds-disabled
run_case "@smithy IMDS vs an EC2 endpoint disabled" ec2-disabled \
  AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port"
stop_fake

start_fake --provider azure
run_case "@azure/identity vs --provider azure" azure \
  AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:$port"
control DELETE metadata/identity/client-id
run_case "@azure/identity vs a VM without managed identity" azure-no-identity \
  AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:$port"
stop_fake

echo
printf '%s\n' "case|result|time" "${rows[@]}" | column -t -s '|' -o ' | '
echo "sdk: $passed passed, $failed failed"
((failed == 0))
