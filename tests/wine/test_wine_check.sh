#!/usr/bin/env bash
# guestpulse.exe check --json under wine against the Linux fake-mds on loopback: a healthy
# server is OK (exit 0, every probe OK); with the server stopped it is FAILED (exit 2) with
# a network cause named for the metadata probe, and the fix in Windows words.
#   test_wine_check.sh WINDOWS_BUILD_DIR FAKE_MDS
source "$(dirname "$0")/lib.sh"
wine_init check "$@"
wine_com1 /dev/null
wine_fake_start
config=$(wine_config check)

json_field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

t0=$(wine_now)
wine_exe check --json -c "$(wine_path "$config")"
took=$(wine_elapsed "$t0" "$(wine_now)")
status=$(json_field "$WINE_OUT" 'd["status"]' 2>/dev/null || echo "no JSON")
if [[ $WINE_RC == 0 && $status == OK ]]; then
  wine_ok "healthy server: exit 0, status OK ($took s): $(json_field "$WINE_OUT" '", ".join(p["name"]+"="+p["state"] for p in d["probes"])')"
else
  cat "$WINE_OUT" "$WINE_ERR"
  wine_fail "healthy server: exit $WINE_RC, status $status"
fi

wine_fake_stop
t0=$(wine_now)
wine_exe check --json -c "$(wine_path "$config")"
took=$(wine_elapsed "$t0" "$(wine_now)")
status=$(json_field "$WINE_OUT" 'd["status"]' 2>/dev/null || echo "no JSON")
cause=$(json_field "$WINE_OUT" '[p for p in d["probes"] if p["name"]=="metadata"][0]["cause"]' 2>/dev/null || echo "")
fix=$(json_field "$WINE_OUT" '[p for p in d["probes"] if p["name"]=="metadata"][0]["fix"]' 2>/dev/null || echo "")
if [[ $WINE_RC == 2 && $status == FAILED && $cause == net.* ]]; then
  wine_ok "server stopped: exit 2, status FAILED, metadata cause $cause ($took s)"
else
  cat "$WINE_OUT" "$WINE_ERR"
  wine_fail "server stopped: exit $WINE_RC, status $status, cause '$cause'"
fi
if [[ $fix == *netsh\ advfirewall* ]]; then
  wine_ok "the fix names Windows' tools: $fix"
else
  wine_fail "the fix is not in Windows words: '$fix'"
fi
wine_finish
