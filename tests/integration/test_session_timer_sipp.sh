#!/usr/bin/env bash
# SPEC R16 on the wire (RFC 4028), over udp or tcp ($1), with two SIPp
# callers at once (each takes about 95 s of real time: Min-SE is 90 s):
#   uac_timer_refresh.xml asks refresher=uas: siplined keeps it in its 200
#     and refreshes by UPDATE without SDP at ~45 s and ~90 s (SIPp checks
#     Session-Expires: 90;refresher=uac in each), then SIPp hangs up;
#   uac_timer_expire.xml asks refresher=uac and never refreshes: siplined
#     sends BYE 60 s (SE - min(32, SE/3)) after the call started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "sesstimer-$tp"
it_need_daemon

lp=$(it_free_port)
s1=$(it_free_port)
s2=$(it_free_port)
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=127.0.0.1:$s1" "User_ID_1_=1001" "Register_1_=No" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "Auto_Answer_1_=0" \
  "Session_Expires_1_=1800" "Min_SE_1_=90"
start_siplined sd "$IT_DIR/profile.xml" "$lp"
start_sipp refresh "$s1" -sf "$IT_SIPP_DIR/uac_timer_refresh.xml" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 150s -timeout_error -s 1001 "127.0.0.1:$lp"
start_sipp expire "$s2" -sf "$IT_SIPP_DIR/uac_timer_expire.xml" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 150s -timeout_error -s 1001 "127.0.0.1:$lp"
for n in refresh expire; do
  wait_for 130 bash -c "! kill -0 $(bg_pid $n) 2>/dev/null" ||
    it_fail "SIPp $n did not finish in 130 s"
  grep -q "Failed" "$IT_DIR/$n.errors.log" 2>/dev/null &&
    it_fail "SIPp $n saw a failure: $(head -5 "$IT_DIR/$n.errors.log")"
done
n=$(sd_count sd '.event == "call" and .reason == "refresh_sent"')
[ "$n" -ge 2 ] || it_fail "siplined refreshed $n times, not at least 2"
x=$(sd_events sd '.event == "call" and .reason == "session_expired"' | head -1)
[ -n "$x" ] || it_fail "siplined did not end the unrefreshed session"
id=$(echo "$x" | jq .id)
t0=$(sd_events sd ".event == \"call\" and .id == $id and .state == \"confirmed\"" | head -1 | jq .t)
dt=$(awk -v a="$t0" -v b="$(echo "$x" | jq .t)" 'BEGIN { printf "%.3f", b - a }')
awk -v d="$dt" 'BEGIN { exit !(d >= 59.5 && d <= 61) }' ||
  it_fail "BYE came ${dt}s after the call was confirmed, not 60 s"
ts=$(sd_events sd '.event == "call" and .reason == "refresh_sent"' | jq -r .t | tr '\n' ' ')
it_log "refreshes by UPDATE at t=$ts; unrefreshed session ended ${dt}s after confirm"
echo "MEASURE session_timer_$tp: refreshes at $ts; expiry BYE after ${dt}s"
stop_siplined sd
echo "PASS session_timer_$tp"
