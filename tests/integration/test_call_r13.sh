#!/usr/bin/env bash
# SPEC R13 against the real pair, over udp or tcp ($1): siplined A (1001)
# registers at the primary Kamailio (the backup second) and calls B (1002,
# a second siplined registered at the primary only); the call is set up
# through the primary, which record-routes it. The primary is frozen: A's
# next refresh times out, the line fails over and registers at the backup,
# and the call stays up (no BYE, no failure). The primary is resumed; the
# fallback due Proxy Fallback Intvl (8 s) after the backup registration
# waits for the call; A hangs up (the BYE follows the route set to the
# primary) and the line falls back at once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "r13-$tp"
it_need_daemon

pp=$(it_free_port)
bp=$(it_free_port)
la=$(it_free_port)
lb=$(it_free_port)
P="127.0.0.1:$pp"
B="127.0.0.1:$bp"
T=$(it_tp_profile "$tp")
start_kamailio primary "$pp" 20 >/dev/null
start_kamailio backup "$bp" 60 >/dev/null
it_profile "$IT_DIR/a.xml" "Proxy_1_=$P:p=1|$B:p=2" "User_ID_1_=1001" \
  "Password_1_=secret1001" "Register_Expires_1_=60" \
  "Proxy_Fallback_Intvl_1_=8" "SIP_Transport_1_=$T" "SIP_Timer_F=4" \
  "SIP_Timer_B=4" "Reg_Retry_Intvl=2" "Session_Expires_1_=0"
it_profile "$IT_DIR/b.xml" "Proxy_1_=$P" "User_ID_1_=1002" \
  "Password_1_=secret1002" "Register_Expires_1_=3600" "SIP_Transport_1_=$T" \
  "Auto_Answer_1_=0" "Session_Expires_1_=0"
start_siplined a "$IT_DIR/a.xml" "$la"
start_siplined b "$IT_DIR/b.xml" "$lb"
sd_wait_event a 10 ".event == \"registered\" and .server == \"$P\"" >/dev/null ||
  it_fail "A not registered at the primary"
sd_wait_event b 10 '.event == "registered"' >/dev/null || it_fail "B not registered"

id=$(sd_ctl a --json call 1 1002 | jq -r .id)
sd_wait_event a 10 '.event == "call" and .state == "confirmed"' >/dev/null ||
  it_fail "the call was not set up through the primary"
freeze_kamailio primary
it_log "call $id up through the primary; primary frozen"
fo=$(sd_wait_event a 40 '.event == "failover"') || it_fail "no failover"
rb=$(sd_wait_event a 10 ".event == \"registered\" and .server == \"$B\"") ||
  it_fail "not registered at the backup"
thaw_kamailio primary
it_log "failed over and registered at the backup; primary resumed"
sleep 12 # past the 8 s fallback interval
[ "$(sd_count a '.event == "fallback"')" -eq 0 ] ||
  it_fail "the line fell back with the call up (R13)"
sd_events a '.event == "warning" and .reason == "fallback_deferred"' | grep -q . ||
  it_fail "no fallback_deferred warning"
[ "$(sd_count a '.event == "call" and .state == "ended"')" -eq 0 ] ||
  it_fail "the call did not survive the failover"
sd_ctl a hangup "$id" >/dev/null || it_fail "hangup refused"
end=$(sd_wait_event a 10 '.event == "call" and .state == "ended"') ||
  it_fail "the call did not end"
[ "$(ev_get "$end" reason)" = hangup ] || it_fail "the call ended badly: $end"
[ "$(sd_count a ".event == \"tx\" and .method == \"BYE\" and .to == \"$P\"")" -ge 1 ] ||
  it_fail "the BYE did not follow the route set to the primary"
fb=$(sd_wait_event a 5 '.event == "fallback"') || it_fail "no fallback after the hangup"
gap=$(it_elapsed "$(ev_time "$end")" "$(ev_time "$fb")")
sd_wait_event b 5 '.event == "call" and .state == "ended" and .reason == "remote_bye"' >/dev/null ||
  it_fail "B did not get the BYE"
it_log "call held through failover; fallback ${gap}s after the hangup"
echo "MEASURE call_r13_$tp: fallback ${gap}s after the call ended (deferred while it was up)"
stop_siplined a
stop_siplined b
echo "PASS call_r13_$tp"
