#!/usr/bin/env bash
# siplined calls SIPp (uas_prack_update.xml), over udp or tcp ($1): a
# reliable 183 with the answer is PRACKed (RAck 1 1 INVITE); SIPp sends
# UPDATE with a hold offer in the early dialog and siplined answers
# a=recvonly in its 200 (RFC 3311 §5.1); after the 200/ACK an UPDATE
# without SDP gets a plain 200; `siplinectl hangup` sends the BYE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "callprack-$tp"
it_need_daemon

lp=$(it_free_port)
sp=$(it_free_port)
start_sipp uas "$sp" -sf "$IT_SIPP_DIR/uas_prack_update.xml" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 20s -timeout_error
wait_for 3 bash -c "ss -Hln 'sport = :$sp' | grep -q ." ||
  it_fail "SIPp UAS did not listen"
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=127.0.0.1:$sp" "User_ID_1_=1001" "Register_1_=No" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")"
start_siplined sd "$IT_DIR/profile.xml" "$lp"

id=$(sd_ctl sd --json call 1 1002 | jq -r '.id')
[ -n "$id" ] && [ "$id" != null ] || it_fail "siplinectl call gave no id"
sd_wait_event sd 5 '.event == "call" and .state == "confirmed"' >/dev/null ||
  it_fail "the call was not confirmed"
sd_wait_event sd 5 '.event == "call" and .reason == "refresh_rx"' >/dev/null ||
  it_fail "the confirmed-dialog UPDATE without SDP did not arrive"
sd_ctl sd hangup "$id" >/dev/null || it_fail "hangup refused"
sd_wait_event sd 5 '.event == "call" and .state == "ended"' >/dev/null ||
  it_fail "the call did not end"
wait_for 5 bash -c "! kill -0 $(bg_pid uas) 2>/dev/null" ||
  it_fail "SIPp did not finish its scenario"
wait "$(bg_pid uas)" 2>/dev/null || true
grep -q "Failed" "$IT_DIR/uas.errors.log" 2>/dev/null &&
  it_fail "SIPp saw a failure: $(head -5 "$IT_DIR/uas.errors.log")"
ev() { sd_count sd "$1"; }
[ "$(ev '.event == "tx" and .method == "PRACK"')" -ge 1 ] ||
  it_fail "no PRACK sent"
[ "$(ev '.event == "call_sdp" and .state == "answer" and .from == "remote" and .reason == "1xx"')" -eq 1 ] ||
  it_fail "the answer in the reliable 183 is not in the events"
[ "$(ev '.event == "call" and .state == "early" and .reason == "update_rx"')" -eq 1 ] ||
  it_fail "the early UPDATE is not in the events"
[ "$(ev '.event == "call_sdp" and .state == "answer" and .from == "local" and .reason == "update" and ((.sdp // "") | test("a=recvonly"))')" -eq 1 ] ||
  it_fail "siplined's answer to the early UPDATE (a=recvonly) is missing"
it_log "183 (100rel) -> PRACK, early UPDATE -> 200 a=recvonly, 200/ACK, UPDATE -> 200, BYE"
stop_siplined sd
echo "PASS call_prack_$tp"
