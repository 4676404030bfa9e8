#!/usr/bin/env bash
# End-to-end: EC2's PUT response hop limit, diagnosed by the agent through a real router.
# fake-mds (--provider ec2 --hop-limit 1) sends its token answers with IP TTL 1, as EC2
# does with HttpPutResponseHopLimit 1. Four namespaces, nothing on the host's network (the
# topology is drawn at e2e_routed_topology_up in lib.sh; fake-mds listens in gp-imds-<pid>):
#
#   - the agent two hops away (behind the router, as in a container): `check --json` and
#     the running agent's serial line say FAILED imds.hop_limit, with the fix
#     --http-put-response-hop-limit 2;
#   - one hop away (on the link): `check --json` says OK;
#   - the limit raised to 2 (PUT /_fake/ec2/options): the far agent recovers.
#
#   sudo bash tests/e2e/test_ec2_hop_limit.sh PATH/TO/guestpulse PATH/TO/fake-mds
# Exit 0 all passed, 1 any failed, 77 skipped (reason printed).
# shellcheck source=tests/e2e/lib.sh
E2E_PROVIDER=ec2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ec2_hop_limit "$@"

e2e_routed_topology_up

# lib.sh's helpers run the agent in E2E_VM and drive the fake from E2E_MDS.
E2E_VM=$FAR
E2E_MDS=$IMDS
E2E_FAKE_ARGS=(--hop-limit 1)
e2e_fake_up
e2e_write_config

record() {  # record LABEL EXPECTED OBSERVED OK(0|1)
  if (($4)); then
    e2e_log "PASS $1: $3"
    e2e_record "$1|$2|$3|-|-|-|PASS"
  else
    e2e_log "FAIL $1: expected $2, got $3"
    e2e_record "$1|$2|$3|-|-|-|FAIL"
  fi
}

# Two hops away: the running agent and `check`.
t0=$(e2e_now)
e2e_agent_start
re=' ERROR probe=metadata state=FAILED cause=imds\.hop_limit '
if e2e_wait_for "$E2E_LINE_DEADLINE" e2e_serial_has 0 "$re"; then
  line=$(e2e_serial_find 0 "$re")
  ok=0
  [[ $line == *'--http-put-response-hop-limit 2'* ]] && ok=1
  record "two hops away: serial line" "FAILED imds.hop_limit" \
    "FAILED imds.hop_limit after $(e2e_elapsed "$t0" "$(e2e_now)")s from start" "$ok"
else
  e2e_dump_diagnostics
  record "two hops away: serial line" "FAILED imds.hop_limit" \
    "$(e2e_serial_last_metadata_state) (no hop-limit line in ${E2E_LINE_DEADLINE}s)" 0
fi
e2e_check
ok=0
e2e_check_matches FAILED imds.hop_limit && ok=1
record "two hops away: check --json" "FAILED imds.hop_limit" "$E2E_CHECK_OBSERVED" "$ok"
((ok)) || e2e_dump_diagnostics

# One hop away, on the link: the same check is OK.
E2E_VM=$NEAR
e2e_check
E2E_VM=$FAR
ok=0
e2e_check_matches OK "" && ok=1
record "one hop away: check --json" "OK" "$E2E_CHECK_OBSERVED" "$ok"

# The limit raised to 2: the far agent recovers.
offset=$(e2e_serial_count)
e2e_fake PUT ec2/options '{"hop_limit":2}' >/dev/null
t1=$(e2e_now)
ok=0
if e2e_wait_for "$E2E_RECOVERY_DEADLINE" e2e_serial_has "$offset" \
    ' INFO probe=metadata state=OK msg="recovered after '; then
  ok=1
fi
record "hop limit raised to 2" "recovered" "OK in $(e2e_elapsed "$t1" "$(e2e_now)")s" "$ok"

e2e_finish
