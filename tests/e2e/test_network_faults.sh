#!/usr/bin/env bash
# End-to-end: network faults between the VM and the metadata server, in real network
# namespaces with real firewall rules (all inside the test's own vm namespace).
#   - iptables OUTPUT REJECT --reject-with tcp-reset (owner match, as AWS's IMDS guide shows)
#                                         -> FAILED net.connection_refused
#   - iptables OUTPUT DROP                -> FAILED net.timeout
#   - route to 169.254.169.254 deleted (no default route) -> FAILED net.no_route
# Each: `check --json` and the running agent's serial line name the cause; once the fault
# is removed the agent writes `state=OK msg="recovered after ...`.
#
#   bash tests/e2e/test_network_faults.sh build-e2e/guestpulse build-e2e/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init network_faults "$@"
e2e_require_iptables
e2e_up

vm_iptables() { ip netns exec "$E2E_VM" iptables -w 5 "$@"; }

REJECT_RULE=(OUTPUT -d "$E2E_MDS_IP" -p tcp -m owner --uid-owner 0 -j REJECT --reject-with tcp-reset)
DROP_RULE=(OUTPUT -d "$E2E_MDS_IP" -j DROP)

apply_reject() { vm_iptables -A "${REJECT_RULE[@]}"; }
remove_reject() { vm_iptables -D "${REJECT_RULE[@]}"; }
apply_drop() { vm_iptables -A "${DROP_RULE[@]}"; }
remove_drop() { vm_iptables -D "${DROP_RULE[@]}"; }
apply_no_route() { e2e_route_del; }
remove_no_route() { e2e_route_add; }

e2e_fault_case "iptables REJECT tcp-reset (owner uid 0)" FAILED net.connection_refused apply_reject remove_reject
e2e_fault_case "iptables DROP" FAILED net.timeout apply_drop remove_drop
e2e_fault_case "route to 169.254.169.254 deleted" FAILED net.no_route apply_no_route remove_no_route

e2e_finish
