#!/usr/bin/env bash
# End-to-end on EC2: fake-mds plays IMDSv2 (--provider ec2) at 169.254.169.254 in its own
# namespace and the agent runs with `provider: ec2` in the vm namespace.
#   - token PUT answered 400                 -> FAILED imds.bad_token_request
#   - GET answered 401 with a fresh token    -> FAILED imds.token_rejected
#   - the endpoint turned off (403)          -> FAILED imds.disabled
#   - iptables OUTPUT REJECT                 -> FAILED net.connection_refused
#   - http_proxy without NO_PROXY            -> DEGRADED proxy.no_proxy_missing (fix: NO_PROXY=169.254.169.254)
#   - 429 on everything                      -> DEGRADED imds.throttled
#   - a 429 storm against an agent on the default config (interval 30s, retry 1s..60s x5):
#     the requests it sends during E2E_STORM_SECONDS (default 120) are counted from the
#     fake's log, the rate is printed, and the count must stay within the bound the
#     backoff gives.
# Each fault case: `check --json` and the running agent's serial line name the cause, and
# the agent writes `state=OK msg="recovered after ...` once the fault is removed. The
# agent has a cached token when a fault starts, as on a real instance: token faults show
# once IMDS forgets it (DELETE /_fake/ec2/tokens, as after an IMDS restart).
#
#   bash tests/e2e/test_ec2_faults.sh build/guestpulse build/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
E2E_PROVIDER=ec2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ec2_faults "$@"
STORM_SECONDS=${E2E_STORM_SECONDS:-120}
e2e_require_iptables
e2e_up

vm_iptables() { ip netns exec "$E2E_VM" iptables -w 5 "$@"; }
REJECT_RULE=(OUTPUT -d "$E2E_MDS_IP" -p tcp -m owner --uid-owner 0 -j REJECT --reject-with tcp-reset)

forget_tokens() { e2e_fake DELETE ec2/tokens >/dev/null; }
clear_faults() { e2e_fake DELETE faults >/dev/null; }

apply_token_400() {
  e2e_fake POST faults '{"path":"/latest/api/token","status":400}' >/dev/null && forget_tokens
}
apply_get_401() { e2e_fake POST faults '{"path":"/latest/meta-data/instance-id","status":401}' >/dev/null; }
apply_disabled() { e2e_fake PUT ec2/options '{"http_endpoint":"disabled"}' >/dev/null; }
remove_disabled() { e2e_fake PUT ec2/options '{"http_endpoint":"enabled"}' >/dev/null; }
apply_reject() { vm_iptables -A "${REJECT_RULE[@]}"; }
remove_reject() { vm_iptables -D "${REJECT_RULE[@]}"; }
apply_http_proxy() {
  e2e_agent_stop
  E2E_AGENT_ENV=("http_proxy=$E2E_PROXY_URL")
  e2e_agent_start
}
remove_http_proxy() {
  e2e_agent_stop
  E2E_AGENT_ENV=()
  e2e_agent_start
}
apply_429() { e2e_fake POST faults '{"path":"/latest/","status":429}' >/dev/null; }

# e2e_fault_case checks cause and state; these check the fix words too, from the same
# `check --json`.
expect_fix() {  # expect_fix LABEL TEXT
  local fix
  fix=$(jq -r '[.probes[] | select(.name == "metadata")][0].fix' "$E2E_CHECK_JSON" 2>/dev/null)
  if [[ $fix == *"$2"* ]]; then
    e2e_log "PASS $1: the fix says '$2'"
    e2e_record "$1 (fix)|$2|-|-|-|-|PASS"
  else
    e2e_log "FAIL $1: the fix '$fix' lacks '$2'"
    e2e_record "$1 (fix)|$2|$fix|-|-|-|FAIL"
  fi
}

# The running agent knows the instance's ID from earlier answers and puts it in the fix.
expect_serial() {  # expect_serial LABEL ERE
  if grep -Eq -- "$2" "$E2E_SERIAL"; then
    e2e_log "PASS $1: a serial line matches /$2/"
    e2e_record "$1 (serial fix)|$2|-|-|-|-|PASS"
  else
    e2e_log "FAIL $1: no serial line matches /$2/"
    e2e_record "$1 (serial fix)|$2|-|-|-|-|FAIL"
  fi
}

e2e_fault_case "token PUT answered 400" FAILED imds.bad_token_request apply_token_400 clear_faults
e2e_fault_case "GET answered 401 with a fresh token" FAILED imds.token_rejected apply_get_401 clear_faults
e2e_fault_case "IMDS endpoint disabled (403)" FAILED imds.disabled apply_disabled remove_disabled
expect_fix "IMDS endpoint disabled" "aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-endpoint enabled"
expect_serial "IMDS endpoint disabled" 'cause=imds\.disabled .*fix="turn it on: aws ec2 modify-instance-metadata-options --instance-id i-0123456789abcdef0 --http-endpoint enabled'
e2e_fault_case "iptables REJECT tcp-reset (owner uid 0)" FAILED net.connection_refused apply_reject remove_reject
e2e_fault_case "http_proxy without NO_PROXY" DEGRADED proxy.no_proxy_missing apply_http_proxy remove_http_proxy
expect_fix "http_proxy without NO_PROXY" "NO_PROXY=169.254.169.254"
e2e_fault_case "429 on every IMDS path" DEGRADED imds.throttled apply_429 clear_faults

# ---- the 429 storm against the default backoff ----
storm_config() {
  sed -e 's/^  timeout: 1s$/  timeout: 2s/' -e 's/^  initial: 200ms$/  initial: 1s/' \
    -e 's/^  max: 4s$/  max: 60s/' -e 's/^  attempts: 3$/  attempts: 5/' \
    -e 's/^    interval: 2s$/    interval: 30s/' "$E2E_CFG" >"$E2E_TMP/storm.yaml"
  grep -q '^    interval: 30s$' "$E2E_TMP/storm.yaml" && grep -q '^  max: 60s$' "$E2E_TMP/storm.yaml"
}
storm() {
  local label="429 storm for ${STORM_SECONDS}s, default config"
  e2e_log "== $label"
  e2e_agent_stop
  storm_config || { e2e_record "$label|-|-|-|-|-|FAIL (config)"; return 0; }
  local cfg=$E2E_CFG
  E2E_CFG=$E2E_TMP/storm.yaml
  if ! e2e_agent_up_ok; then
    E2E_CFG=$cfg
    e2e_dump_diagnostics
    e2e_record "$label|-|-|-|-|-|FAIL (no healthy agent)"
    return 0
  fi
  local offset t0 requests rate bound line ok=1
  offset=$(e2e_serial_count)
  e2e_fake DELETE requests >/dev/null
  t0=$(e2e_now)
  apply_429
  local re=' WARN probe=metadata state=DEGRADED cause=imds\.throttled ' to_line="-"
  if e2e_wait_for "$STORM_SECONDS" e2e_serial_has "$offset" "$re"; then
    to_line=$(e2e_elapsed "$t0" "$(e2e_now)")
  fi
  # The storm lasts STORM_SECONDS from its start, whenever the line came.
  sleep "$(awk -v t0="$t0" -v now="$(e2e_now)" -v s="$STORM_SECONDS" \
    'BEGIN { r = t0 + s - now; printf "%.1f", (r > 0 ? r : 0) }')"
  requests=$(e2e_fake GET requests | jq '[.[] | select(.target | startswith("/latest/"))] | length')
  clear_faults
  rate=$(awk -v n="$requests" -v s="$STORM_SECONDS" 'BEGIN { printf "%.3f", n / s }')
  # The first failing run spends the budget (5), then one request per cycle, cycles at
  # least 30 s apart: the bound, plus one run that may straddle the end.
  bound=$((5 + STORM_SECONDS / 30 + 1))
  line=$(e2e_serial_find "$offset" "$re")
  [[ -n $line ]] || ok=0
  ((requests <= bound)) || ok=0
  e2e_log "storm: $requests requests in ${STORM_SECONDS}s = $rate/s (bound $bound); serial: ${line:+DEGRADED imds.throttled}"
  local rec="none in 90s"
  if e2e_wait_for 90 e2e_serial_has "$offset" ' INFO probe=metadata state=OK msg="recovered after '; then
    rec="OK in $(e2e_elapsed "$t0" "$(e2e_now)")s from the storm's start"
  else
    ok=0
  fi
  local verdict=PASS
  ((ok)) || verdict=FAIL
  e2e_record "$label|DEGRADED imds.throttled|-|$requests requests = $rate/s (bound $bound)|$rec|$to_line|$verdict"
  e2e_agent_stop
  E2E_CFG=$cfg
}
storm

e2e_finish
