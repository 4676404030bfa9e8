#!/usr/bin/env bash
# End-to-end: the metadata server itself misbehaves (fake-mds faults via its control API,
# driven from the mds namespace).
#   - 503 on every metadata GET (maintenance), then healthy -> FAILED mds.unavailable
#   - 429 Too Many Requests                                 -> DEGRADED mds.throttled
#   - 400 Bad Request on instance/id (request mangled)      -> FAILED mds.header_rejected
#
#   bash tests/e2e/test_mds_faults.sh build-e2e/guestpulse build-e2e/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init mds_faults "$@"
e2e_up

clear_faults() { e2e_fake DELETE faults >/dev/null; }
apply_503() { e2e_fake POST faults '{"path":"/computeMetadata/v1/","status":503}' >/dev/null; }
apply_429() { e2e_fake POST faults '{"path":"/computeMetadata/v1/","status":429}' >/dev/null; }
apply_400() { e2e_fake POST faults '{"path":"/computeMetadata/v1/instance/id","status":400}' >/dev/null; }

e2e_fault_case "503 (maintenance)" FAILED mds.unavailable apply_503 clear_faults
e2e_fault_case "429 (throttled)" DEGRADED mds.throttled apply_429 clear_faults
e2e_fault_case "400 on instance/id" FAILED mds.header_rejected apply_400 clear_faults

e2e_finish
