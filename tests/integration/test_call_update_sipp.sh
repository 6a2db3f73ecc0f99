#!/usr/bin/env bash
# SPEC R14 on the wire, over udp or tcp ($1): SIPp calls siplined straight
# (Auto_Answer_1_=0), then sends UPDATE with a hold offer (its 200 must
# carry the a=recvonly answer) and UPDATE without SDP (a plain 200), then
# BYE; siplined's events must show the offer and answer, both UPDATEs and
# the remote BYE. SIPp checks the responses (uac_call_update.xml).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "callupd-$tp"
it_need_daemon

lp=$(it_free_port)
sp=$(it_free_port)
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=127.0.0.1:$sp" "User_ID_1_=1001" "Register_1_=No" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "Auto_Answer_1_=0"
start_siplined sd "$IT_DIR/profile.xml" "$lp"

t0=$(it_now)
run_sipp uac "$sp" -sf "$IT_SIPP_DIR/uac_call_update.xml" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 15s -timeout_error -s 1001 \
  "127.0.0.1:$lp" || {
  cat "$IT_DIR/uac.errors.log" >&2 || true
  it_fail "SIPp's call with two UPDATEs failed (see uac.errors.log)"
}
t1=$(it_now)
sd_wait_event sd 5 '.event == "call" and .state == "ended"' >/dev/null ||
  it_fail "siplined did not end the call"
ev() { sd_count sd "$1"; }
[ "$(ev '.event == "call" and .state == "incoming"')" -eq 1 ] ||
  it_fail "no incoming call event"
[ "$(ev '.event == "call_sdp" and .state == "offer" and .from == "remote" and .reason == "update" and ((.sdp // "") | test("a=sendonly"))')" -eq 1 ] ||
  it_fail "the UPDATE's offer (a=sendonly) is not in the events"
[ "$(ev '.event == "call_sdp" and .state == "answer" and .from == "local" and .reason == "update" and ((.sdp // "") | test("a=recvonly"))')" -eq 1 ] ||
  it_fail "siplined's answer (a=recvonly) is not in the events"
[ "$(ev '.event == "call" and .reason == "refresh_rx"')" -eq 1 ] ||
  it_fail "the UPDATE without SDP is not in the events"
[ "$(ev '.event == "call" and .state == "ended" and .reason == "remote_bye"')" -eq 1 ] ||
  it_fail "the call did not end by the remote BYE"
it_log "INVITE, 200, ACK, UPDATE (hold) -> 200 a=recvonly, UPDATE (no SDP) -> 200, BYE"
# Each request is answered at once, not after SIPp's retransmission.
n=$(sd_count sd '.event == "rx" and .method == "UPDATE"')
[ "$n" -eq 2 ] || it_fail "siplined received $n UPDATEs (retransmitted?), not 2"
echo "MEASURE call_update_$tp: whole SIPp scenario in $(it_elapsed "$t0" "$t1")s"
stop_siplined sd
echo "PASS call_update_$tp"
