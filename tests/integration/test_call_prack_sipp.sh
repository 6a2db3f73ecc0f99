#!/usr/bin/env bash
# siplined calls SIPp (uas_prack_update.xml), over udp or tcp ($1): a
# reliable 183 with the answer is PRACKed (RAck 1 1 INVITE); SIPp sends
# UPDATE with a hold offer in the early dialog and siplined answers
# a=recvonly in its 200 (RFC 3311 §5.1); after the 200/ACK an UPDATE
# without SDP gets a plain 200; `siplinectl hangup` sends the BYE.
# With `kamailio` as $2 the call goes through the record-routing Kamailio
# (uas_prack_update_kam.xml): SIPp registers there as 1002 first, then
# answers on that Contact; siplined (1001, registered) is challenged (407)
# and its INVITE arrives record-routed; SIPp echoes the Record-Route in the
# 183 and the 200, so siplined's PRACK, ACK and BYE must go to Kamailio with
# a Route naming it (checked in siplined's pcap, events and Kamailio's
# log), and SIPp's UPDATEs carry the route set to Kamailio, which relays an
# in-dialog request only by loose_route (404 otherwise).
#   usage: test_call_prack_sipp.sh [udp|tcp] [direct|kamailio]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
via=${2:-direct}
case $via in direct) name=$tp ;; kamailio) name=kam_$tp ;;
  *) echo "usage: $0 [udp|tcp] [direct|kamailio]" >&2; exit 2 ;; esac
it_init "callprack-$name"
it_need_daemon

lp=$(it_free_port)
sp=$(it_free_port)
scen=uas_prack_update.xml
if [ "$via" = kamailio ]; then
  kp=$(it_free_port)
  kam=127.0.0.1:$kp
  start_kamailio proxy "$kp" >/dev/null
  # SIPp's Contact sip:1002@127.0.0.1:$sp is where Kamailio sends the call.
  run_sipp reg "$sp" -sf "$IT_SIPP_DIR/uac_register.xml" -m 1 \
    -t "$(it_tp_sipp "$tp")" -timeout 10s -timeout_error -s 1002 \
    -au 1002 -ap secret1002 -auth_uri "$kam" "$kam" ||
    it_fail "SIPp could not register 1002 at Kamailio: $(head -c 600 "$IT_DIR/reg.errors.log" 2>/dev/null)"
  kam_has_binding proxy 1002 || it_fail "Kamailio has no binding for 1002"
  scen=uas_prack_update_kam.xml
fi
start_sipp uas "$sp" -sf "$IT_SIPP_DIR/$scen" -m 1 \
  -t "$(it_tp_sipp "$tp")" -timeout 20s -timeout_error
wait_for 3 bash -c "ss -Hln 'sport = :$sp' | grep -q ." ||
  it_fail "SIPp UAS did not listen"
if [ "$via" = direct ]; then
  it_profile "$IT_DIR/profile.xml" \
    "Proxy_1_=127.0.0.1:$sp" "User_ID_1_=1001" "Register_1_=No" \
    "SIP_Transport_1_=$(it_tp_profile "$tp")"
  start_siplined sd "$IT_DIR/profile.xml" "$lp"
else
  it_profile "$IT_DIR/profile.xml" \
    "Proxy_1_=$kam" "User_ID_1_=1001" "Password_1_=secret1001" \
    "Register_Expires_1_=60" "SIP_Transport_1_=$(it_tp_profile "$tp")"
  start_siplined sd "$IT_DIR/profile.xml" "$lp"
  sd_wait_event sd 10 '.event == "registered"' >/dev/null ||
    it_fail "siplined did not register at Kamailio"
fi

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
if [ "$via" = kamailio ]; then
  # siplined sent its in-dialog requests to Kamailio (the route set), none
  # to SIPp's Contact; over UDP its answers to SIPp's UPDATEs too.
  for m in PRACK ACK BYE; do
    [ "$(sd_count sd ".event == \"tx\" and .method == \"$m\" and .to == \"$kam\"")" -ge 1 ] ||
      it_fail "siplined's $m did not go to Kamailio"
    n=$(sd_count sd ".event == \"tx\" and .method == \"$m\" and .to != \"$kam\"")
    [ "$n" -eq 0 ] || it_fail "$n ${m}s of siplined bypassed the route set"
  done
  if [ "$tp" = udp ]; then
    n=$(sd_count sd ".event == \"tx\" and .status != null and .to != \"$kam\"")
    [ "$n" -eq 0 ] || it_fail "$n responses of siplined bypassed Kamailio"
  fi
  # The pcap: each of them (in SIPp's dialog: the To tag is SIPp's; the
  # ACK to the 407 is not) carried Route: Kamailio's Record-Route.
  for m in PRACK ACK BYE; do
    rs=$(tshark -r "$IT_DIR/sd.pcap" -T fields -e sip.Route \
      -Y "sip.Method == \"$m\" and sip.to.tag contains \"SIPpTag01\"" 2>/dev/null)
    [ -n "$rs" ] || it_fail "no $m of siplined in SIPp's dialog in the pcap"
    while IFS= read -r r; do
      grep -q "<sip:${kam}[;>]" <<<"$r" || it_fail "siplined's $m has no Route to Kamailio: '$r'"
    done <<<"$rs"
  done
  # Kamailio relayed each one to SIPp's Contact and SIPp's UPDATEs to
  # siplined's (its log names every request it handles).
  klog=$(kam_dir proxy)/kamailio.log
  for m in PRACK ACK BYE; do
    grep -Eq "$m sip:callee@127\.0\.0\.1:${sp}[^ ]* from " "$klog" ||
      it_fail "Kamailio's log has no $m to SIPp's Contact"
  done
  n=$(grep -Ec "UPDATE sip:1001@127\.0\.0\.1:${lp}[^ ]* from " "$klog" || true)
  [ "$n" -eq 2 ] || it_fail "Kamailio relayed $n UPDATEs of SIPp to siplined, not 2"
  grep -q "Not here" "$klog" && it_fail "Kamailio refused an in-dialog request (404 Not here)"
  it_log "via Kamailio: PRACK, ACK, BYE with Route $(head -1 <<<"$rs"); SIPp's UPDATEs relayed by loose_route"
fi
stop_siplined sd
echo "PASS call_prack_$name"
