#!/usr/bin/env bash
# A call a person could hear (issue 9): siplined A calls siplined B through
# a record-routing Kamailio over udp or tcp ($1). A plays a 1000 Hz tone
# (WAV made here) and records; B answers with `siplinectl answer --record`;
# A sends DTMF 123#; A holds (UPDATE a=sendonly) and resumes; A hangs up.
# Checked: the tone's frequency and level in B's recording (Goertzel,
# tone.py), the digits B reports (RFC 4733), RTP counted both ways.
# With "srtp" as $2 both lines have Secure_Call_Setting_1_=Yes: the call
# offers and answers RTP/SAVP with SDES keys (RFC 4568) and the tone
# crosses as SRTP.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
sec=${2:-}
it_init "media-$tp$sec"
SEC=()
[ "$sec" = srtp ] && SEC=("Secure_Call_Setting_1_=Yes")
it_need_daemon
TONE="$(dirname "$0")/tone.py"

kp=$(it_free_port)
pa=$(it_free_port)
pb=$(it_free_port)
start_kamailio proxy "$kp" >/dev/null
python3 "$TONE" gen "$IT_DIR/tone.wav" 1000 6
T=$(it_tp_profile "$tp")
it_profile "$IT_DIR/a.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1001" \
  "Password_1_=secret1001" "Register_Expires_1_=60" "SIP_Transport_1_=$T" \
  "${SEC[@]}"
it_profile "$IT_DIR/b.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1002" \
  "Password_1_=secret1002" "Register_Expires_1_=60" "SIP_Transport_1_=$T" \
  "${SEC[@]}"
start_siplined a "$IT_DIR/a.xml" "$pa"
start_siplined b "$IT_DIR/b.xml" "$pb"
sd_wait_event a 10 '.event == "registered"' >/dev/null || it_fail "A did not register"
sd_wait_event b 10 '.event == "registered"' >/dev/null || it_fail "B did not register"

id=$(sd_ctl a --json call 1 1002 --play "$IT_DIR/tone.wav" \
  --record "$IT_DIR/a.wav" | jq -r .id)
[ -n "$id" ] && [ "$id" != null ] || it_fail "A's call gave no id"
inc=$(sd_wait_event b 5 '.event == "call" and .state == "incoming"') ||
  it_fail "B did not ring"
bid=$(echo "$inc" | jq -r .id)
sd_ctl b answer "$bid" --record "$IT_DIR/b.wav" >/dev/null || it_fail "answer refused"
sd_wait_event a 5 '.event == "call" and .state == "confirmed"' >/dev/null ||
  it_fail "A's call was not confirmed"
sleep 3
# status lists the call with its codec and RTP counts
cs=$(sd_ctl a --json status | jq -c ".calls[] | select(.id == $id)")
[ "$(echo "$cs" | jq -r .state)" = confirmed ] && [ "$(echo "$cs" | jq -r .codec)" = PCMU/8000 ] &&
  [ "$(echo "$cs" | jq -r .pkts_sent)" -gt 50 ] || it_fail "status does not show the call: $cs"
sd_ctl a status | grep -q "PCMU/8000" || it_fail "siplinectl status prints no call row"
sd_ctl a dtmf "$id" '123#' >/dev/null || it_fail "dtmf refused"
sleep 1.5
sd_ctl a hold "$id" >/dev/null || it_fail "hold refused"
sd_wait_event a 5 '.event == "call" and .reason == "update_ok"' >/dev/null ||
  it_fail "hold was not answered"
sleep 0.5
sd_ctl a resume "$id" >/dev/null || it_fail "resume refused"
sleep 0.5
sd_ctl a hangup "$id" >/dev/null || it_fail "hangup refused"
ma=$(sd_wait_event a 5 '.event == "media"') || it_fail "no media report from A"
mb=$(sd_wait_event b 5 '.event == "media"') || it_fail "no media report from B"
digits=$(sd_events b '.event == "dtmf"' | jq -r .digit | tr -d '\n')
[ "$digits" = "123#" ] || it_fail "B received digits '$digits', not 123#"
m=$(python3 "$TONE" measure "$IT_DIR/b.wav")
f=$(echo "$m" | sed -n 's/.*freq=\([0-9]*\).*/\1/p')
rms=$(echo "$m" | sed -n 's/.*rms=\([-0-9.]*\).*/\1/p')
[ "$f" -ge 990 ] && [ "$f" -le 1010 ] || it_fail "B heard $f Hz, not 1000 ($m)"
awk -v r="$rms" 'BEGIN { exit !(r > -30) }' || it_fail "B's recording is too quiet ($m)"
ra=$(echo "$ma" | jq .pkts_recv) sb=$(echo "$mb" | jq .pkts_sent)
rb=$(echo "$mb" | jq .pkts_recv)
[ "$rb" -ge 150 ] || it_fail "B received only $rb RTP packets"
[ "$ra" -ge 150 ] || it_fail "A received only $ra RTP packets (B's silence)"
if [ "$sec" = srtp ]; then
  [ "$(sd_count b '.event == "call_sdp" and .state == "answer" and .from == "local" and ((.sdp // "") | test("RTP/SAVP")) and ((.sdp // "") | test("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"))')" -ge 1 ] ||
    it_fail "B's answer is not RTP/SAVP with an SDES key"
fi
it_log "B heard: $m; digits $digits; RTP A<-B $ra, B<-A $rb (B sent $sb)"
echo "MEASURE call_media_$tp$sec: $m digits=$digits rtp_b_recv=$rb rtp_a_recv=$ra"
stop_siplined a
stop_siplined b
echo "PASS call_media_$tp$sec"
