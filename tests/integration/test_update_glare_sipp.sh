#!/usr/bin/env bash
# SPEC R15 on the wire, over udp or tcp ($1): UPDATEs cross between SIPp
# (uac_update_glare.xml, the caller, owner of the Call-ID) and siplined
# (hold after the call is up): 491 each way; siplined retries by itself
# after the RFC 3261 §14.1 delay for a non-owner (0..2 s) and the retry
# gets the 200 with the a=recvonly answer; SIPp then hangs up.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "glare-$tp"
it_need_daemon

lp=$(it_free_port)
sp=$(it_free_port)
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=127.0.0.1:$sp" "User_ID_1_=1001" "Register_1_=No" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "Auto_Answer_1_=0"
start_siplined sd "$IT_DIR/profile.xml" "$lp"
start_sipp uac "$sp" -sf "$IT_SIPP_DIR/uac_update_glare.xml" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 20s -timeout_error -s 1001 \
  "127.0.0.1:$lp"
c=$(sd_wait_event sd 5 '.event == "call" and .state == "confirmed"') ||
  it_fail "the call was not set up"
id=$(echo "$c" | jq -r .id)
sd_ctl sd hold "$id" >/dev/null || it_fail "hold refused"
g=$(sd_wait_event sd 5 '.event == "call" and .reason == "glare_update"') ||
  it_fail "siplined saw no 491 to its UPDATE"
retry=$(echo "$g" | jq -r .retry_in)
awk -v r="$retry" 'BEGIN { exit !(r >= 0 && r <= 2) }' ||
  it_fail "retry in $retry s, not within 0..2 s (siplined does not own the Call-ID)"
sd_wait_event sd 5 '.event == "call" and .reason == "update_ok"' >/dev/null ||
  it_fail "the retried UPDATE did not succeed"
sd_wait_event sd 5 '.event == "call" and .state == "ended"' >/dev/null ||
  it_fail "the call did not end"
wait_for 5 bash -c "! kill -0 $(bg_pid uac) 2>/dev/null" ||
  it_fail "SIPp did not finish"
grep -q "Failed" "$IT_DIR/uac.errors.log" 2>/dev/null &&
  it_fail "SIPp saw a failure: $(head -5 "$IT_DIR/uac.errors.log")"
[ "$(sd_count sd '.event == "call" and .reason == "glare_rx" and .status == 491')" -eq 1 ] ||
  it_fail "siplined did not answer SIPp's crossing UPDATE 491"
t491=$(sd_events sd '.event == "call" and .reason == "glare_update"' | jq -r .t)
tre=$(sd_events sd '.event == "tx" and .method == "UPDATE"' | sed -n 2p | jq -r .t)
it_log "491 both ways; retry_in $retry s; retried UPDATE sent $(awk -v a="$t491" -v b="$tre" 'BEGIN { printf "%.3f", b - a }') s after the 491; 200 with the answer"
echo "MEASURE update_glare_$tp: siplined's retry ${retry}s after the 491"
stop_siplined sd
echo "PASS update_glare_$tp"
