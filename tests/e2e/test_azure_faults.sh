#!/usr/bin/env bash
# End-to-end on Azure: fake-mds plays Azure IMDS (--provider azure) at 169.254.169.254 in
# its own namespace and the agent runs with `provider: azure` in the vm namespace.
#   - a short 410 spell (IMDS updating, 20 s)  -> DEGRADED azure_imds.updating, then OK,
#                                                 never FAILED
#   - a long 410 spell                         -> DEGRADED azure_imds.updating at once,
#                                                 FAILED only after 70 s, then OK
#   - 429                                      -> DEGRADED azure_imds.throttled
#   - 400 (a header lost on the way)           -> FAILED azure_imds.bad_request
#   - iptables OUTPUT REJECT                   -> FAILED net.connection_refused
# Each: `check --json` and the running agent's serial lines name the cause, and the agent
# writes `state=OK msg="recovered after ...` once the fault is removed.
#
#   bash tests/e2e/test_azure_faults.sh build/guestpulse build/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
E2E_PROVIDER=azure
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init azure_faults "$@"
e2e_require_iptables
e2e_up

vm_iptables() { ip netns exec "$E2E_VM" iptables -w 5 "$@"; }
REJECT_RULE=(OUTPUT -d "$E2E_MDS_IP" -p tcp -m owner --uid-owner 0 -j REJECT --reject-with tcp-reset)

apply_410() { e2e_fake POST faults '{"path":"/metadata/instance","status":410}' >/dev/null; }
apply_429() { e2e_fake POST faults '{"path":"/metadata/instance","status":429}' >/dev/null; }
apply_400() { e2e_fake POST faults '{"path":"/metadata/instance","status":400}' >/dev/null; }
clear_faults() { e2e_fake DELETE faults >/dev/null; }
apply_reject() { vm_iptables -A "${REJECT_RULE[@]}"; }
remove_reject() { vm_iptables -D "${REJECT_RULE[@]}"; }

DEGRADED_RE=' WARN probe=metadata state=DEGRADED cause=azure_imds\.updating '
FAILED_RE=' ERROR probe=metadata state=FAILED cause=azure_imds\.updating '
RECOVERED_RE=' INFO probe=metadata state=OK msg="recovered after '

# spell LABEL SECONDS: 410 for SECONDS (0: until the FAILED line), then removed.
spell() {
  local label=$1 seconds=$2 ok=1 offset t0 degraded="-" failed="-" recovery="-" check
  e2e_log "== $label"
  e2e_ensure_healthy_agent || { e2e_record "$label|-|-|-|-|-|FAIL (no healthy agent)"; return 0; }
  offset=$(e2e_serial_count)
  t0=$(e2e_now)
  apply_410
  e2e_check_bg
  if e2e_wait_for "$E2E_LINE_DEADLINE" e2e_serial_has "$offset" "$DEGRADED_RE"; then
    degraded="DEGRADED after $(e2e_elapsed "$t0" "$(e2e_now)")s"
  else
    ok=0
  fi
  e2e_check_wait
  check=$E2E_CHECK_OBSERVED
  e2e_check_matches DEGRADED azure_imds.updating || ok=0
  if ((seconds > 0)); then
    sleep "$seconds"   # the spell lasts this long, then ends
  else
    if e2e_wait_for 150 e2e_serial_has "$offset" "$FAILED_RE"; then
      local secs
      secs=$(e2e_elapsed "$t0" "$(e2e_now)")
      failed="FAILED after ${secs}s"
      awk -v s="$secs" 'BEGIN { exit !(s >= 70) }' || { ok=0; failed+=" (before 70s)"; }
    else
      ok=0
      failed="no FAILED line in 150s"
    fi
  fi
  clear_faults
  local t1
  t1=$(e2e_now)
  if e2e_wait_for "$E2E_RECOVERY_DEADLINE" e2e_serial_has "$offset" "$RECOVERED_RE"; then
    recovery="OK in $(e2e_elapsed "$t1" "$(e2e_now)")s"
  else
    ok=0
    recovery="none in ${E2E_RECOVERY_DEADLINE}s"
  fi
  if ((seconds > 0)) && e2e_serial_has "$offset" "$FAILED_RE"; then
    ok=0
    failed="FAILED during a ${seconds}s spell"
  fi
  ((ok)) || e2e_dump_diagnostics
  local verdict=PASS
  ((ok)) || verdict=FAIL
  e2e_log "$verdict $label: $degraded; $failed; recovery $recovery"
  e2e_record "$label|DEGRADED azure_imds.updating|$check|$degraded; $failed|$recovery|-|$verdict"
}

spell "410 for 20s (IMDS updating)" 20
spell "410 until FAILED (past 70s)" 0
e2e_fault_case "429 on /metadata/instance" DEGRADED azure_imds.throttled apply_429 clear_faults
e2e_fault_case "400 on /metadata/instance" FAILED azure_imds.bad_request apply_400 clear_faults
e2e_fault_case "iptables REJECT tcp-reset (owner uid 0)" FAILED net.connection_refused apply_reject remove_reject

e2e_finish
