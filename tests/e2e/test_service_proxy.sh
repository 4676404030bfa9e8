#!/usr/bin/env bash
# End-to-end: a Traffic Director / Envoy sidecar VM, in real network namespaces with real
# nat rules. The vm namespace holds:
#   - an ISTIO-style interception (nat OUTPUT -> ISTIO_OUTPUT -> ISTIO_REDIRECT -> REDIRECT
#     to 15001, the link-local range excluded as Traffic Director excludes the metadata
#     server, PREROUTING -> ISTIO_INBOUND for serving port 8080) with the proxy's
#     `--uid-owner 1337 -j RETURN` exclusion;
#   - the fake Envoy admin interface on 127.0.0.1:15000, running as uid 1337;
#   - trafficdirector.googleapis.com mapped in the namespace's hosts file to the mds side,
#     where fake-mds also listens on :443 (the control plane's TCP port).
# fake-mds serves the gce-service-proxy instance attribute and guest attributes. Each
# fault below must be named by `check --json`, by the running agent's serial line and by
# its guest attribute guestpulse/probe-service_proxy, and recover once removed.
#
#   FAKE_ENVOY=build/tests/fake-envoy bash tests/e2e/test_service_proxy.sh \
#       build/guestpulse build/tests/fake-mds
# (FAKE_ENVOY defaults to fake-envoy beside fake-mds.)
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).

# The apply_/remove_ functions are called by name from e2e_fault_case.
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init service_proxy "$@"
e2e_require_iptables

readonly PROXY_UID=1337
readonly CONTROL_PLANE=trafficdirector.googleapis.com
readonly CONTROL_PLANE_IP=$E2E_MDS_LINK_ADDR
FAKE_ENVOY=${FAKE_ENVOY:-$(dirname "$E2E_FAKE")/fake-envoy}
[[ -x $FAKE_ENVOY ]] || e2e_die "fake-envoy '$FAKE_ENVOY' is not executable (set FAKE_ENVOY)"
command -v setpriv >/dev/null 2>&1 || e2e_skip "setpriv (util-linux) is needed to run the fake Envoy as uid $PROXY_UID"

E2E_PROBE=service_proxy
E2E_FAKE_ARGS=(--listen "$CONTROL_PLANE_IP:443")
E2E_SERVICE_PROXY_YAML="    enabled: auto
    interval: 2s
    heartbeat_stale: 5m
    bootstrap_grace: 1s"

vm_nat() { ip netns exec "$E2E_VM" iptables -w 5 -t nat "$@"; }
vm_filter() { ip netns exec "$E2E_VM" iptables -w 5 "$@"; }
ga_put() { e2e_fake PUT "metadata/instance/guest-attributes/gce-service-proxy/$1" "$2" >/dev/null; }
fresh_heartbeat() { ga_put agent-heartbeat "$(date -u +%FT%TZ)"; }
envoy_answers() {
  ip netns exec "$E2E_VM" curl -sS --fail-with-body --noproxy '*' --max-time 5 -X PUT \
    --data "$1" "http://127.0.0.1:15000/_fake/answers" >/dev/null
}

write_hosts() {  # write_hosts with|without: the control plane's name in the vm's hosts file
  e2e_write_hosts_with_mapping "$(E2E_VM_HOSTS)"
  [[ $1 == with ]] && echo "$CONTROL_PLANE_IP $CONTROL_PLANE" >>"$(E2E_VM_HOSTS)"
  return 0
}

# ---- the fake Envoy, as the proxy's uid ----
ENVOY_DIR=$E2E_TMP/envoy
ENVOY_PID=""
envoy_start() {
  ip netns exec "$E2E_VM" setpriv --reuid="$PROXY_UID" --regid="$PROXY_UID" --clear-groups \
    "$ENVOY_DIR/fake-envoy" --listen 127.0.0.1:15000 >>"$E2E_TMP/fake-envoy.log" 2>&1 &
  ENVOY_PID=$!
  E2E_BG_PIDS+=("$ENVOY_PID")
  e2e_wait_for 10 envoy_answers '{}' || e2e_die "the fake Envoy did not answer on 127.0.0.1:15000"
}
envoy_stop() { e2e_stop_pid "$ENVOY_PID" 5; }

# ---- the interception, as an Istio-style script sets it up ----
istio_up() {
  local chain
  for chain in ISTIO_INBOUND ISTIO_IN_REDIRECT ISTIO_OUTPUT ISTIO_REDIRECT; do vm_nat -N "$chain"; done
  vm_nat -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
  vm_nat -A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15001
  vm_nat -A PREROUTING -p tcp -j ISTIO_INBOUND
  vm_nat -A ISTIO_INBOUND -p tcp -m tcp --dport 8080 -j ISTIO_IN_REDIRECT
  vm_nat -A OUTPUT -p tcp -j ISTIO_OUTPUT
  vm_nat -A ISTIO_OUTPUT -d 169.254.0.0/16 -j RETURN
  vm_nat -A ISTIO_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN
  vm_nat -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
  vm_nat -A ISTIO_OUTPUT -j ISTIO_REDIRECT
}
istio_down() {
  local chain
  vm_nat -D OUTPUT -p tcp -j ISTIO_OUTPUT
  vm_nat -D PREROUTING -p tcp -j ISTIO_INBOUND
  for chain in ISTIO_INBOUND ISTIO_IN_REDIRECT ISTIO_OUTPUT ISTIO_REDIRECT; do vm_nat -F "$chain"; done
  for chain in ISTIO_INBOUND ISTIO_IN_REDIRECT ISTIO_OUTPUT ISTIO_REDIRECT; do vm_nat -X "$chain"; done
}

# ---- set-up: a healthy service-proxy VM ----
e2e_topology_up
write_hosts with
e2e_fake_up
e2e_fake PUT metadata/instance/attributes/gce-service-proxy \
  '{"api-version": "0.2", "proxy-spec": {"proxy-port": 15001, "network": "default"}, "service": {"serving-ports": [8080]}}' >/dev/null
ga_put bootstrap-status FINISHED
fresh_heartbeat
mkdir -p "$ENVOY_DIR"
cp "$FAKE_ENVOY" "$ENVOY_DIR/fake-envoy"
chmod 711 "$E2E_TMP"
chmod 755 "$ENVOY_DIR" "$ENVOY_DIR/fake-envoy"
envoy_start
istio_up
e2e_write_config
if ! e2e_agent_up_ok || ! e2e_wait_for "$E2E_START_DEADLINE" e2e_serial_probes_ok; then
  e2e_dump_diagnostics
  e2e_die "the agent did not report the metadata and service_proxy probes OK within ${E2E_START_DEADLINE}s on a healthy service-proxy VM"
fi
e2e_log "healthy: $(e2e_serial_find 0 'probe=service_proxy state=OK' | cut -c1-400)"

# ---- the faults ----
apply_in_progress() { fresh_heartbeat && ga_put bootstrap-status "IN PROGRESS"; }
remove_in_progress() { ga_put bootstrap-status FINISHED; }
apply_bootstrap_failed() {
  fresh_heartbeat && ga_put bootstrap-last-failure "failed to install Envoy: 403 Forbidden" &&
    ga_put bootstrap-status FAILED
}
remove_bootstrap_failed() { ga_put bootstrap-status FINISHED; }
apply_agent_dead() {
  ga_put agent-last-failure "envoy exited with status 1" &&
    ga_put agent-heartbeat "$(($(date +%s) - 3600))"  # Unix seconds, an hour ago
}
remove_agent_dead() { fresh_heartbeat; }
apply_scope_missing() {
  fresh_heartbeat && e2e_fake PUT metadata/instance/service-accounts/default/scopes \
    "https://www.googleapis.com/auth/devstorage.read_only" >/dev/null
}
remove_scope_missing() {
  e2e_fake PUT metadata/instance/service-accounts/default/scopes \
    "https://www.googleapis.com/auth/cloud-platform" >/dev/null
}
apply_not_live() { fresh_heartbeat && envoy_answers '{"ready_status": 503, "ready_body": "PRE_INITIALIZING\n"}'; }
remove_not_live() { envoy_answers '{"ready_status": 200, "ready_body": "LIVE\n"}'; }
apply_no_listeners() { fresh_heartbeat && envoy_answers '{"config_dump": "no_listeners"}'; }
remove_no_listeners() { envoy_answers '{"config_dump": "configured"}'; }
apply_envoy_down() { fresh_heartbeat && envoy_stop; }
remove_envoy_down() { envoy_start; }
apply_too_old() { fresh_heartbeat && envoy_answers '{"version": "1.8.0"}'; }
remove_too_old() { envoy_answers '{"version": "1.27.0"}'; }
apply_loop() { fresh_heartbeat && vm_nat -D ISTIO_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN; }
remove_loop() { vm_nat -I ISTIO_OUTPUT 2 -m owner --uid-owner "$PROXY_UID" -j RETURN; }
apply_no_chain() { fresh_heartbeat && istio_down; }
remove_no_chain() { istio_up; }
apply_no_inbound() { fresh_heartbeat && vm_nat -D ISTIO_INBOUND -p tcp -m tcp --dport 8080 -j ISTIO_IN_REDIRECT; }
remove_no_inbound() { vm_nat -A ISTIO_INBOUND -p tcp -m tcp --dport 8080 -j ISTIO_IN_REDIRECT; }
CP_REJECT=(OUTPUT -d "$CONTROL_PLANE_IP" -p tcp --dport 443 -j REJECT --reject-with tcp-reset)
apply_cp_reject() { fresh_heartbeat && vm_filter -A "${CP_REJECT[@]}"; }
remove_cp_reject() { vm_filter -D "${CP_REJECT[@]}"; }
apply_cp_name() { fresh_heartbeat && write_hosts without; }
remove_cp_name() { write_hosts with; }

# A cause seen three times within report.serial.reminder (1m here) is flapping, and the
# serial console then summarises it once a minute (serial_reporter.hpp): before a third
# case of one cause the agent restarts on a fresh state directory. Guest attributes trail
# the serial console (about 10 writes a minute): the last argument 1 also waits for
# guestpulse/probe-service_proxy to say the same.
declare -A SEEN=()
sp_case() {  # LABEL STATE CAUSE APPLY REMOVE [CHECK_ATTRIBUTE]
  local cause=service_proxy.$3
  if ((${SEEN[$cause]:-0} >= 2)); then
    e2e_log "restarting the agent: a third $cause within a minute would read as flapping"
    e2e_agent_restart_fresh || e2e_die "the agent did not come back healthy after a restart"
    SEEN=()
  fi
  SEEN[$cause]=$((${SEEN[$cause]:-0} + 1))
  E2E_CHECK_ATTRIBUTE=${6:-0}
  e2e_fault_case "$1" "$2" "$cause" "$4" "$5"
}

sp_case "bootstrap-status IN PROGRESS past the grace" FAILED bootstrap_pending apply_in_progress remove_in_progress
sp_case "bootstrap-status FAILED" FAILED bootstrap_failed apply_bootstrap_failed remove_bootstrap_failed 1
sp_case "agent-heartbeat an hour old (Unix seconds)" FAILED agent_dead apply_agent_dead remove_agent_dead
sp_case "scopes without cloud-platform" FAILED scope_missing apply_scope_missing remove_scope_missing
sp_case "Envoy /ready 503 PRE_INITIALIZING" FAILED envoy_not_ready apply_not_live remove_not_live
sp_case "Envoy config_dump without listeners" FAILED envoy_not_ready apply_no_listeners remove_no_listeners
sp_case "Envoy 1.8.0" DEGRADED envoy_too_old apply_too_old remove_too_old
sp_case "nat: ISTIO chain without the --uid-owner exclusion" FAILED interception_loop apply_loop remove_loop 1
sp_case "nat: no interception chain" FAILED interception_missing apply_no_chain remove_no_chain
sp_case "nat: serving port 8080 not redirected" FAILED interception_missing apply_no_inbound remove_no_inbound
sp_case "control plane: TCP 443 rejected" FAILED control_plane_unreachable apply_cp_reject remove_cp_reject 1
sp_case "control plane: name not resolvable" FAILED control_plane_unreachable apply_cp_name remove_cp_name
sp_case "Envoy admin interface down" FAILED envoy_not_ready apply_envoy_down remove_envoy_down 1

e2e_finish
