#!/usr/bin/env bash
# End-to-end: proxies between the VM and the metadata server.
#   - http_proxy set for the agent, no no_proxy -> DEGRADED proxy.no_proxy_missing (the
#     agent bypasses the proxy itself; other software on the VM would not). The agent's
#     environment is fixed at start, so the fault is a restart with http_proxy set and its
#     removal a restart without it (same state_dir, as after fixing the unit file).
#   - a transparent proxy answering without the Metadata-Flavor header (fake-mds
#     {"no_flavor":true})                      -> FAILED proxy.intercepted
#
#   bash tests/e2e/test_proxy_faults.sh build-e2e/guestpulse build-e2e/tests/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init proxy_faults "$@"
e2e_up

apply_http_proxy() {
  e2e_agent_stop
  E2E_AGENT_ENV=("http_proxy=$E2E_PROXY_URL")
  e2e_agent_start
  # Self-check of the fault: the running agent really has http_proxy and no no_proxy.
  e2e_wait_for 5 agent_env_has "http_proxy=$E2E_PROXY_URL" &&
    ! agent_env_has_prefix "no_proxy=" && ! agent_env_has_prefix "NO_PROXY="
}
agent_env() { tr '\0' '\n' <"/proc/$E2E_AGENT_PID/environ" 2>/dev/null; }
agent_env_has() { agent_env | grep -qxF -- "$1"; }
agent_env_has_prefix() { agent_env | grep -q -- "^$1"; }
remove_http_proxy() {
  e2e_agent_stop
  E2E_AGENT_ENV=()
  e2e_agent_start
}

apply_no_flavor() { e2e_fake POST faults '{"path":"/computeMetadata/v1/","no_flavor":true}' >/dev/null; }
remove_no_flavor() { e2e_fake DELETE faults >/dev/null; }

e2e_fault_case "http_proxy without no_proxy" DEGRADED proxy.no_proxy_missing \
  apply_http_proxy remove_http_proxy
e2e_fault_case "proxy strips Metadata-Flavor" FAILED proxy.intercepted \
  apply_no_flavor remove_no_flavor

e2e_finish
