#!/usr/bin/env bash
# EC2's hop limit, emulated for real: fake-mds (--provider ec2) sends its IMDSv2 token
# answers with the IP TTL set to the PUT response hop limit, so a client one routed hop
# away never gets a token while one on the same link does, and raising the limit to 2
# lets the far one through. Four namespaces, nothing on the host's own network (the
# topology is drawn at e2e_routed_topology_up in lib.sh; fake-mds listens in gp-imds-<pid>):
#
#   sudo bash tests/e2e/test_imds_hop_limit.sh PATH/TO/guestpulse PATH/TO/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (not root, no namespaces; reason printed).
source "$(dirname "$0")/lib.sh"
e2e_init imds_hop_limit "$@"

e2e_routed_topology_up
URL="http://$E2E_MDS_IP"
passed=0
failed=0

# IMDSv1 allowed, so a plain GET shows the far client's route works both ways: only the
# token answer is held back.
ip netns exec "$IMDS" "$E2E_FAKE" --provider ec2 --imds-v1 --hop-limit 1 \
  --listen "$E2E_MDS_IP:80" --port-file "$E2E_TMP/port" --log-requests >"$E2E_FAKE_LOG" 2>&1 &
E2E_FAKE_PID=$!
e2e_wait_for 10 test -s "$E2E_TMP/port" || { cat "$E2E_FAKE_LOG" >&2; e2e_die "fake-mds did not start"; }

curl_in() {  # curl_in NS ARGS...: bounded, no proxy, the body on stdout
  local ns=$1
  shift
  ip netns exec "$ns" curl -sS --noproxy '*' --max-time 3 "$@"
}
token_from() {
  curl_in "$1" -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$URL/latest/api/token"
}
time_exceeded() {  # ICMP "time exceeded" messages the router has sent
  ip netns exec "$RTR" awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 }
    else for (i = 1; i <= NF; i++) if (n[i] == "OutTimeExcds") print $i }' /proc/net/snmp
}
result() {  # result LABEL OK(0|1) DETAIL
  if (($2)); then
    passed=$((passed + 1))
    e2e_log "PASS $1: $3"
  else
    failed=$((failed + 1))
    e2e_log "FAIL $1: $3"
  fi
}

token=$(token_from "$NEAR" 2>"$E2E_TMP/near.err") || true
ok=0
[[ $token =~ ^[A-Za-z0-9+/]{56}$ ]] && ok=1
result "same link, hop limit 1" "$ok" "token '${token:0:12}...' $(head -c 120 "$E2E_TMP/near.err")"

id=$(curl_in "$FAR" "$URL/latest/meta-data/instance-id" 2>&1) || true
ok=0
[[ $id == i-0123456789abcdef0 ]] && ok=1
result "one hop away, a plain GET" "$ok" "instance-id '$id' (the route works both ways)"

before=$(time_exceeded)
start=$(e2e_now)
rc=0
far=$(token_from "$FAR" 2>"$E2E_TMP/far.err") || rc=$?
after=$(time_exceeded)
secs=$(e2e_elapsed "$start" "$(e2e_now)")
logged=$(curl_in "$IMDS" "$URL/_fake/requests" | jq -c '[.[] | select(.method == "PUT")] | last | {status, ip_ttl}')
ok=0
[[ $rc == 28 && -z $far && $after -gt $before && $logged == '{"status":200,"ip_ttl":1}' ]] && ok=1
result "one hop away, hop limit 1" "$ok" \
  "curl exit $rc after ${secs}s, no token; the fake answered $logged; router sent $((after - before)) ICMP time-exceeded"

curl_in "$IMDS" -X PUT --data '{"hop_limit":2}' "$URL/_fake/ec2/options" >/dev/null
far=$(token_from "$FAR" 2>"$E2E_TMP/far2.err") || true
ok=0
[[ $far =~ ^[A-Za-z0-9+/]{56}$ ]] && ok=1
result "one hop away, hop limit 2" "$ok" "token '${far:0:12}...' $(head -c 120 "$E2E_TMP/far2.err")"

echo "e2e imds_hop_limit: $passed passed, $failed failed"
((failed == 0 && passed > 0)) && exit 0
exit 1
