#!/usr/bin/env bash
# End-to-end: a healthy VM. In real network namespaces, with the agent on its default
# endpoint (http://169.254.169.254), `guestpulse check --json` reports the metadata probe
# OK and exits 0, `guestpulse run` writes an OK serial line for the metadata probe, and the
# guest attribute guestpulse/status=OK reaches the (fake) metadata server.
#
#   bash tests/e2e/test_healthy.sh build-e2e/guestpulse build-e2e/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init healthy "$@"
e2e_up   # dies unless the agent writes probe=metadata state=OK first

# 1. check --json: metadata OK, overall OK, exit 0.
e2e_check
if e2e_check_matches OK "" && [[ $(jq -r .status "$E2E_CHECK_JSON") == OK && $E2E_CHECK_RC == 0 ]]; then
  e2e_record "check --json|OK (exit 0)|$E2E_CHECK_OBSERVED|-|-|-|PASS"
else
  e2e_log "FAIL check --json: expected metadata OK with no cause, status OK, exit 0; got $E2E_CHECK_OBSERVED"
  e2e_dump_diagnostics
  e2e_record "check --json|OK (exit 0)|$E2E_CHECK_OBSERVED|-|-|-|FAIL"
fi

# 2. The serial OK line (already waited for by e2e_up): level INFO, no cause.
ok_line=$(e2e_serial_find 0 ' INFO probe=metadata state=OK( |$)')
if [[ -n $ok_line ]]; then
  e2e_record "serial line|INFO state=OK|-|${ok_line#*: }|-|-|PASS"
else
  e2e_log "FAIL serial: no 'INFO probe=metadata state=OK' line"
  e2e_dump_diagnostics
  e2e_record "serial line|INFO state=OK|-|$(e2e_serial_last 0 'probe=metadata' | cut -c1-80)|-|-|FAIL"
fi

# 3. Guest attributes on the fake: guestpulse/status = OK, and a heartbeat.
ga_status() {
  [[ $(e2e_fake GET guest-attributes | jq -r '."guestpulse/status" // empty') == OK ]]
}
t0=$(e2e_now)
if e2e_wait_for 20 ga_status; then
  attrs=$(e2e_fake GET guest-attributes | jq -c .)
  hb=$(jq -r '."guestpulse/heartbeat" // "missing"' <<<"$attrs")
  e2e_record "guest attributes|guestpulse/status=OK|-|-|-|$(e2e_elapsed "$t0" "$(e2e_now)")|PASS"
  e2e_log "guest attributes: $attrs (heartbeat $hb)"
else
  e2e_log "FAIL guest attributes: guestpulse/status=OK did not appear within 20s; have: $(e2e_fake GET guest-attributes 2>&1)"
  e2e_dump_diagnostics
  e2e_record "guest attributes|guestpulse/status=OK|-|-|-|-|FAIL"
fi

e2e_finish
