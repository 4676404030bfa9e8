#!/usr/bin/env bash
# End-to-end: name-resolution faults in the VM. The agent talks to 169.254.169.254 by
# address, so the metadata server itself stays reachable; what breaks is everything that
# uses metadata.google.internal. guestpulse must name the DNS cause, not an outage.
#   - /etc/hosts without '169.254.169.254 metadata.google.internal' and a dead resolver
#     (resolv.conf -> an address in our mds namespace where nothing serves port 53)
#                                         -> FAILED dns.hosts_mapping_missing
#   - resolv.conf without 'nameserver 169.254.169.254', hosts mapping present
#                                         -> DEGRADED dns.nameserver_not_metadata
# The vm namespace's /etc/hosts and resolv.conf are /etc/netns/<vm>/{hosts,resolv.conf},
# rewritten in place (same inode) so that the running agent's bind mounts see the change.
#
#   bash tests/e2e/test_dns_faults.sh build-e2e/guestpulse build-e2e/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init dns_faults "$@"
e2e_up

apply_hosts_and_dead_resolver() {
  e2e_write_hosts_without_mapping "$(E2E_VM_HOSTS)"
  e2e_write_resolv "$(E2E_VM_RESOLV)" "$E2E_DEAD_RESOLVER"
  # Self-check of the fault: the name must really not resolve in the vm namespace now.
  if e2e_in_vm getent hosts "$E2E_METADATA_NAME" >/dev/null 2>&1; then
    e2e_log "fault not effective: $E2E_METADATA_NAME still resolves in $E2E_VM"
    return 1
  fi
  # ...and the running agent, in the mount namespace `ip netns exec` gave it, sees it too.
  if grep -q "$E2E_METADATA_NAME" "/proc/$E2E_AGENT_PID/root/etc/hosts"; then
    e2e_log "fault not effective: the running agent's /etc/hosts still maps $E2E_METADATA_NAME"
    return 1
  fi
}
remove_hosts_and_dead_resolver() {
  e2e_write_hosts_with_mapping "$(E2E_VM_HOSTS)"
  e2e_write_resolv "$(E2E_VM_RESOLV)" "$E2E_MDS_IP"
}

apply_resolver_not_metadata() {
  e2e_write_resolv "$(E2E_VM_RESOLV)" "$E2E_DEAD_RESOLVER"
  # The hosts mapping is still there, so the name still resolves (from the hosts file),
  # and the running agent sees the new resolv.conf.
  e2e_in_vm getent hosts "$E2E_METADATA_NAME" >/dev/null &&
    grep -q "nameserver $E2E_DEAD_RESOLVER" "/proc/$E2E_AGENT_PID/root/etc/resolv.conf"
}
remove_resolver_not_metadata() { e2e_write_resolv "$(E2E_VM_RESOLV)" "$E2E_MDS_IP"; }

e2e_fault_case "hosts mapping removed + dead resolver" FAILED dns.hosts_mapping_missing \
  apply_hosts_and_dead_resolver remove_hosts_and_dead_resolver
e2e_fault_case "resolv.conf not 169.254.169.254" DEGRADED dns.nameserver_not_metadata \
  apply_resolver_not_metadata remove_resolver_not_metadata

e2e_finish
