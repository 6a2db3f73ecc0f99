#!/usr/bin/env bash
# SPEC R16 on the wire (RFC 4028) through the record-routing Kamailio, over
# udp or tcp ($1), with two SIPp callers at once (each takes about 95 s of
# real time: Session-Expires 90, Min-SE 90). siplined (1001) registers at
# Kamailio; each SIPp is authenticated there as 1003 (407) and its INVITE is
# record-routed, so every in-dialog request must carry the Route set and go
# to Kamailio, which relays it only by loose_route (no Route: 404):
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

kp=$(it_free_port)
lp=$(it_free_port)
s1=$(it_free_port)
s2=$(it_free_port)
# One Kamailio worker, so that siplined's 180 and 200 (sent in the same
# millisecond) reach SIPp in order (see test_call_update_sipp.sh).
IT_KAM_CHILDREN=1 start_kamailio proxy "$kp" >/dev/null
kam="127.0.0.1:$kp"
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=$kam" "User_ID_1_=1001" "Password_1_=secret1001" \
  "Register_Expires_1_=3600" "SIP_Transport_1_=$(it_tp_profile "$tp")" \
  "Auto_Answer_1_=0" "Session_Expires_1_=1800" "Min_SE_1_=90"
start_siplined sd "$IT_DIR/profile.xml" "$lp"
sd_wait_event sd 10 '.event == "registered"' >/dev/null ||
  it_fail "siplined did not register at Kamailio"

# Each SIPp runs under a shell that records its exit status (0: its call
# ended as the scenario says, every check in it passed).
sipp_args=(-m 1 -t "$(it_tp_sipp "$tp")" -timeout 150s -timeout_error
  -s 1001 -au 1003 -ap secret1003 -auth_uri "1001@$kam" "$kam")
for n in refresh expire; do
  [ $n = refresh ] && sp=$s1 || sp=$s2
  start_bg "$n" bash -c 'sipp "$@"; echo $? >"$0"' "$IT_DIR/$n.rc" \
    -nostdin -i 127.0.0.1 -p "$sp" -trace_err \
    -error_file "$IT_DIR/$n.errors.log" \
    -sf "$IT_SIPP_DIR/uac_timer_$n.xml" "${sipp_args[@]}"
done
for n in refresh expire; do
  wait_for 130 test -s "$IT_DIR/$n.rc" ||
    it_fail "SIPp $n did not finish in 130 s"
  [ "$(cat "$IT_DIR/$n.rc")" = 0 ] ||
    it_fail "SIPp $n failed (exit $(cat "$IT_DIR/$n.rc")): $(head -c 600 "$IT_DIR/$n.errors.log" 2>/dev/null)"
done

# Both calls came in (SIPp knows only Kamailio's address; over UDP the
# INVITEs come from its port, over TCP on a connection Kamailio opened).
n=$(sd_count sd '.event == "rx" and .method == "INVITE"')
[ "$n" -eq 2 ] || it_fail "siplined received $n INVITEs, not 2"
if [ "$tp" = udp ]; then
  n=$(sd_count sd ".event == \"rx\" and .method == \"INVITE\" and .from == \"$kam\"")
  [ "$n" -eq 2 ] || it_fail "siplined received $n INVITEs from Kamailio, not 2"
fi

n=$(sd_count sd '.event == "call" and .reason == "refresh_sent"')
[ "$n" -ge 2 ] || it_fail "siplined refreshed $n times, not at least 2"
# Each refresh followed the route set: siplined sent it to Kamailio (not
# to SIPp's Contact), and Kamailio relayed it to SIPp's Contact by
# loose_route (its log names each request it routed).
n=$(sd_count sd ".event == \"tx\" and .method == \"UPDATE\" and .to == \"$kam\"")
[ "$n" -ge 2 ] || it_fail "$n UPDATEs went to Kamailio, not at least 2"
n=$(sd_count sd ".event == \"tx\" and .method == \"UPDATE\" and .to != \"$kam\"")
[ "$n" -eq 0 ] || it_fail "$n UPDATEs bypassed the route set"
klog=$(kam_dir proxy)/kamailio.log
n=$(grep -c "UPDATE sip:sipp@127.0.0.1:$s1" "$klog" || true)
[ "$n" -ge 2 ] || it_fail "Kamailio routed $n UPDATEs to the refresh SIPp, not 2"

x=$(sd_events sd '.event == "call" and .reason == "session_expired"' | head -1)
[ -n "$x" ] || it_fail "siplined did not end the unrefreshed session"
n=$(sd_count sd ".event == \"tx\" and .method == \"BYE\" and .to == \"$kam\"")
[ "$n" -ge 1 ] || it_fail "siplined's BYE did not go to Kamailio"
grep -q "BYE sip:sipp@127.0.0.1:$s2" "$klog" ||
  it_fail "Kamailio did not route siplined's BYE to the expire SIPp"
id=$(echo "$x" | jq .id)
t0=$(sd_events sd ".event == \"call\" and .id == $id and .state == \"confirmed\"" | head -1 | jq .t)
dt=$(awk -v a="$t0" -v b="$(echo "$x" | jq .t)" 'BEGIN { printf "%.3f", b - a }')
awk -v d="$dt" 'BEGIN { exit !(d >= 59.5 && d <= 61) }' ||
  it_fail "BYE came ${dt}s after the call was confirmed, not 60 s"
ts=$(sd_events sd '.event == "call" and .reason == "refresh_sent"' | jq -r .t | tr '\n' ' ')
it_log "refreshes by UPDATE via Kamailio at t=$ts; unrefreshed session ended ${dt}s after confirm"
echo "MEASURE session_timer_$tp: refreshes via Kamailio at $ts; expiry BYE after ${dt}s"
stop_siplined sd
echo "PASS session_timer_$tp"
