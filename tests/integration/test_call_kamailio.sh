#!/usr/bin/env bash
# A real call between two siplined through a record-routing Kamailio, over
# udp or tcp ($1) (SPEC R14, RFC 3261 §12, §16.12 loose routing):
#   A (1001) calls 1002; Kamailio challenges the INVITE (407), A answers
#   with its line's credentials; B (1002, Auto_Answer_1_=0) rings and
#   answers; A holds with UPDATE, which follows the route set through
#   Kamailio (Record-Route), and B answers a=recvonly; B sends UPDATE
#   without SDP back through Kamailio; A hangs up; both see the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "kamcall-$tp"
it_need_daemon

kp=$(it_free_port)
pa=$(it_free_port)
pb=$(it_free_port)
start_kamailio proxy "$kp" >/dev/null
T=$(it_tp_profile "$tp")
it_profile "$IT_DIR/a.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1001" \
  "Password_1_=secret1001" "Register_Expires_1_=60" "SIP_Transport_1_=$T"
it_profile "$IT_DIR/b.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1002" \
  "Password_1_=secret1002" "Register_Expires_1_=60" "SIP_Transport_1_=$T" \
  "Auto_Answer_1_=0"
start_siplined a "$IT_DIR/a.xml" "$pa"
start_siplined b "$IT_DIR/b.xml" "$pb"
sd_wait_event a 10 '.event == "registered"' >/dev/null || it_fail "A did not register"
sd_wait_event b 10 '.event == "registered"' >/dev/null || it_fail "B did not register"

t0=$(it_now)
id=$(sd_ctl a --json call 1 1002 | jq -r .id)
[ -n "$id" ] && [ "$id" != null ] || it_fail "A's call gave no id"
sd_wait_event a 10 '.event == "call" and .state == "confirmed"' >/dev/null ||
  it_fail "A's call was not confirmed"
sd_wait_event b 5 '.event == "call" and .state == "confirmed"' >/dev/null ||
  it_fail "B's call was not confirmed"
t1=$(it_now)
bid=$(sd_events b '.event == "call" and .state == "incoming"' | head -1 | jq -r .id)

sd_ctl a hold "$id" >/dev/null || it_fail "hold refused"
sd_wait_event a 5 '.event == "call" and .reason == "update_ok"' >/dev/null ||
  it_fail "A's UPDATE (hold) was not answered 200"
[ "$(sd_count a '.event == "call_sdp" and .state == "answer" and .from == "remote" and .reason == "update" and ((.sdp // "") | test("a=recvonly"))')" -eq 1 ] ||
  it_fail "B's answer to the hold is not a=recvonly"
# The UPDATE went to Kamailio (the route set), not straight to B.
[ "$(sd_count a ".event == \"tx\" and .method == \"UPDATE\" and .to == \"127.0.0.1:$kp\"")" -ge 1 ] ||
  it_fail "A's UPDATE did not follow the Record-Route through Kamailio"

sd_ctl b update "$bid" --no-sdp >/dev/null || it_fail "B's update refused"
sd_wait_event b 5 '.event == "call" and .reason == "update_ok"' >/dev/null ||
  it_fail "B's UPDATE without SDP was not answered"
sd_wait_event a 5 '.event == "call" and .reason == "refresh_rx"' >/dev/null ||
  it_fail "A did not see B's UPDATE"
[ "$(sd_count b ".event == \"tx\" and .method == \"UPDATE\" and .to == \"127.0.0.1:$kp\"")" -ge 1 ] ||
  it_fail "B's UPDATE did not go through Kamailio"

sd_ctl a hangup "$id" >/dev/null || it_fail "hangup refused"
sd_wait_event a 5 '.event == "call" and .state == "ended"' >/dev/null || it_fail "A's call did not end"
sd_wait_event b 5 '.event == "call" and .state == "ended" and .reason == "remote_bye"' >/dev/null ||
  it_fail "B's call did not end by A's BYE"
it_log "A->Kamailio(407, RR)->B answered; UPDATE hold both through Kamailio; BYE"
echo "MEASURE call_kamailio_$tp: call set up through Kamailio in $(it_elapsed "$t0" "$t1")s"
stop_siplined a
stop_siplined b
echo "PASS call_kamailio_$tp"
