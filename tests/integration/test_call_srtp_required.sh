#!/usr/bin/env bash
# A secure line takes no plain RTP (issue 9), over udp or tcp ($1). The
# line has Secure_Call_Setting_1_=Yes and Auto_Answer_1_=0:
#   - SIPp offers plain RTP/AVP (uac_plain_offer_secure.xml): siplined
#     refuses at once (no 180 first) with 488 and "Warning: 303 ..." (SIPp
#     checks both),
#     the call ends with reason srtp_required, never confirmed, no RTP;
#   - siplined calls SIPp (uas_answer_plain.xml), which answers its
#     RTP/SAVP offer with plain RTP/AVP and no a=crypto: siplined ACKs and
#     hangs up at once with "Reason: SIP;cause=488;text=\"SRTP required..."
#     (SIPp checks it), reason srtp_required, and sends no RTP at all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "srtpreq-$tp"
it_need_daemon

lp=$(it_free_port)
s1=$(it_free_port)
s2=$(it_free_port)
start_sipp uas "$s2" -sf "$IT_SIPP_DIR/uas_answer_plain.xml" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 20s -timeout_error
wait_for 3 bash -c "ss -Hln 'sport = :$s2' | grep -q ." ||
  it_fail "SIPp UAS did not listen"
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=127.0.0.1:$s2" "User_ID_1_=1001" "Register_1_=No" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "Auto_Answer_1_=0" \
  "Secure_Call_Setting_1_=Yes"
start_siplined sd "$IT_DIR/profile.xml" "$lp"

# 1. A plain offer to the secure line.
run_sipp uac "$s1" -sf "$IT_SIPP_DIR/uac_plain_offer_secure.xml" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 10s -timeout_error -s 1001 \
  "127.0.0.1:$lp" || {
  cat "$IT_DIR/uac.errors.log" >&2 || true
  it_fail "SIPp did not get 488 with Warning 303 for its plain offer"
}
x=$(sd_wait_event sd 5 '.event == "call" and .state == "ended"') ||
  it_fail "the refused call did not end"
in_id=$(jq .id <<<"$x")
[ "$(jq -r .reason <<<"$x")" = srtp_required ] && [ "$(jq .status <<<"$x")" = 488 ] ||
  it_fail "the refused call ended as $x, not 488 srtp_required"
[ "$(sd_count sd ".event == \"call\" and .id == $in_id and .state == \"confirmed\"")" -eq 0 ] ||
  it_fail "the plain call was confirmed"
[ "$(sd_count sd '.event == "tx" and .status == 200 and .cseq_method == "INVITE"')" -eq 0 ] ||
  it_fail "siplined answered a plain offer 200"
[ "$(sd_count sd '.event == "tx" and .status == 180')" -eq 0 ] ||
  it_fail "siplined rang (180) before refusing the plain offer"
it_log "plain RTP/AVP offer -> 488 + Warning 303, reason srtp_required"

# 2. A plain answer to our SRTP offer.
id=$(sd_ctl sd --json call 1 1002 | jq -r .id)
[ -n "$id" ] && [ "$id" != null ] || it_fail "siplinectl call gave no id"
x=$(sd_wait_event sd 5 ".event == \"call\" and .id == $id and .state == \"ended\"") ||
  it_fail "the call answered in the clear did not end"
[ "$(jq -r .reason <<<"$x")" = srtp_required ] ||
  it_fail "the call answered in the clear ended as $x, not srtp_required"
wait_for 5 bash -c "! kill -0 $(bg_pid uas) 2>/dev/null" ||
  it_fail "SIPp UAS did not finish (no BYE with Reason?)"
grep -q "Failed\|unexpected" "$IT_DIR/uas.errors.log" 2>/dev/null &&
  it_fail "SIPp UAS saw a failure: $(head -c 600 "$IT_DIR/uas.errors.log")"
[ "$(sd_count sd '.event == "tx" and .method == "ACK"')" -ge 1 ] || it_fail "no ACK sent"
[ "$(sd_count sd '.event == "tx" and .method == "BYE"')" -eq 1 ] || it_fail "no BYE sent"
m=$(sd_wait_event sd 5 ".event == \"media\" and .id == $id") ||
  it_fail "no media report for the call"
[ "$(jq .pkts_sent <<<"$m")" -eq 0 ] ||
  it_fail "siplined sent $(jq .pkts_sent <<<"$m") RTP packets in the clear"
it_log "plain RTP/AVP answer to our SAVP offer -> ACK, BYE with Reason, no RTP sent"
echo "MEASURE call_srtp_required_$tp: plain offer 488/303; plain answer BYE, rtp_sent=0"
stop_siplined sd
echo "PASS call_srtp_required_$tp"
