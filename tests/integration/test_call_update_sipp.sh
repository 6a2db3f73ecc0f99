#!/usr/bin/env bash
# SPEC R14 on the wire, over udp or tcp ($1): SIPp calls siplined straight
# (Auto_Answer_1_=0), then sends UPDATE with a hold offer (its 200 must
# carry the a=recvonly answer) and UPDATE without SDP (a plain 200), then
# BYE; siplined's events must show the offer and answer, both UPDATEs and
# the remote BYE. SIPp checks the responses (uac_call_update.xml).
# With `kamailio` as $2 the call goes through the record-routing Kamailio
# (siplined registered there as 1001, SIPp authenticated as 1003 after the
# 407, uac_call_update_kam.xml): siplined's 200 must echo Kamailio's
# Record-Route (SIPp checks it; the pcap too), and SIPp's ACK, UPDATEs and
# BYE carry that route set to Kamailio, which relays an in-dialog request
# only by loose_route (404 otherwise); its log and siplined's events show
# each of them passed through it.
#   usage: test_call_update_sipp.sh [udp|tcp] [direct|kamailio]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
via=${2:-direct}
case $via in direct) name=$tp ;; kamailio) name=kam_$tp ;;
  *) echo "usage: $0 [udp|tcp] [direct|kamailio]" >&2; exit 2 ;; esac
it_init "callupd-$name"
it_need_daemon

lp=$(it_free_port)
sp=$(it_free_port)
if [ "$via" = direct ]; then
  it_profile "$IT_DIR/profile.xml" \
    "Proxy_1_=127.0.0.1:$sp" "User_ID_1_=1001" "Register_1_=No" \
    "SIP_Transport_1_=$(it_tp_profile "$tp")" "Auto_Answer_1_=0"
  start_siplined sd "$IT_DIR/profile.xml" "$lp"
  sipp_args=(-sf "$IT_SIPP_DIR/uac_call_update.xml" -s 1001 "127.0.0.1:$lp")
else
  kp=$(it_free_port)
  kam=127.0.0.1:$kp
  # One Kamailio worker: siplined sends 100, 180 and 200 in the same
  # millisecond, and two workers can relay the 200 before the 180; SIPp
  # then meets the 180 after its ACK and aborts the call (seen once in a
  # clean-clone run under load). One worker relays them in order.
  IT_KAM_CHILDREN=1 start_kamailio proxy "$kp" >/dev/null
  it_profile "$IT_DIR/profile.xml" \
    "Proxy_1_=$kam" "User_ID_1_=1001" "Password_1_=secret1001" \
    "Register_Expires_1_=60" "SIP_Transport_1_=$(it_tp_profile "$tp")" \
    "Auto_Answer_1_=0"
  start_siplined sd "$IT_DIR/profile.xml" "$lp"
  sd_wait_event sd 10 '.event == "registered"' >/dev/null ||
    it_fail "siplined did not register at Kamailio"
  sipp_args=(-sf "$IT_SIPP_DIR/uac_call_update_kam.xml" -s 1001
    -au 1003 -ap secret1003 -auth_uri "1001@$kam" "$kam")
fi

t0=$(it_now)
run_sipp uac "$sp" -m 1 -t "$(it_tp_sipp "$tp")" -timeout 15s \
  -timeout_error "${sipp_args[@]}" || {
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
if [ "$via" = kamailio ]; then
  # Over UDP siplined received every request from Kamailio's address and
  # sent every response there (over TCP both go on connections Kamailio
  # opened from ephemeral ports, so Kamailio's log below is the proof).
  if [ "$tp" = udp ]; then
    n=$(sd_count sd ".event == \"tx\" and .status != null and .to != \"$kam\"")
    [ "$n" -eq 0 ] || it_fail "$n responses of siplined bypassed Kamailio"
    for m in INVITE ACK UPDATE BYE; do
      n=$(sd_count sd ".event == \"rx\" and .method == \"$m\" and .from != \"$kam\"")
      [ "$n" -eq 0 ] || it_fail "$n ${m}s reached siplined not from Kamailio"
    done
  fi
  # Kamailio relayed each in-dialog request (its log names every request
  # it handles; without the Route it would have answered 404 itself).
  klog=$(kam_dir proxy)/kamailio.log
  for m in "ACK:2" "UPDATE:3" "UPDATE:4" "BYE:5"; do
    grep -Eq "${m%%:*} sip:1001@127\.0\.0\.1:${lp}[^ ]* from .* cseq ${m#*:}\$" "$klog" ||
      it_fail "Kamailio's log has no ${m%%:*} (CSeq ${m#*:}) to siplined's Contact"
  done
  grep -q "Not here" "$klog" && it_fail "Kamailio refused an in-dialog request (404 Not here)"
  # The pcap: siplined's 200 to the INVITE echoed Kamailio's Record-Route.
  rr=$(tshark -r "$IT_DIR/sd.pcap" -Y 'sip.Status-Code == 200 and sip.CSeq.method == "INVITE"' \
    -T fields -e sip.Record-Route 2>/dev/null | head -1)
  grep -q "sip:$kam" <<<"$rr" ||
    it_fail "siplined's 200 to the INVITE has no Record-Route of Kamailio: '$rr'"
  it_log "via Kamailio: 200 carried Record-Route $rr; ACK, UPDATEs, BYE relayed by loose_route"
fi
echo "MEASURE call_update_$name: whole SIPp scenario in $(it_elapsed "$t0" "$t1")s"
stop_siplined sd
echo "PASS call_update_$name"
