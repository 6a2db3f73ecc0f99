#!/usr/bin/env bash
# siplined against a real phone without UPDATE (issue 9): baresip 1.0.0,
# registered at the test's Kamailio over udp or tcp ($1), answers UPDATE
# with 501 Not Implemented and lists no UPDATE in Allow. siplined (1001,
# Session_Expires_1_=90) calls it (1003, answermode=auto, its audio source
# a 700 Hz sine from the ausine module, no sound card), recording what it
# hears. Checked on the wire (siplined's events, its pcap read by tshark,
# and baresip's own SIP trace):
#   hold: UPDATE a=sendonly -> 501 from baresip -> re-INVITE a=sendonly in
#     the same dialog -> 200 a=recvonly, ACK; the call stays up (R14);
#   resume: straight to re-INVITE (no second UPDATE: the 501 is remembered
#     for the call) -> 200 a=sendrecv;
#   session refresh (R16): baresip does not do timers, siplined refreshes
#     by re-INVITE with its SDP unchanged (same o= version) at SE/2 = 45 s
#     after the last re-INVITE, answered 200;
#   the tone: 700 Hz in siplined's recording (tone.py measure).
# Runs about 55 s (Min-SE is 90 s, so a refresh is 45 s away at best).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
case $tp in
  udp | tcp) ;;
  -h | --help) sed -n "2,18s/^# \{0,1\}//p" "$0"; echo "usage: $0 [udp|tcp]"; exit 0 ;;
  *) echo "usage: $0 [udp|tcp]" >&2; exit 2 ;;
esac
it_init "baresip-$tp"
it_need_daemon
command -v baresip >/dev/null ||
  it_fail "baresip is missing (bash scripts/deps.sh installs baresip-core)"
[ -f /usr/lib/baresip/modules/ausine.so ] ||
  it_fail "baresip's ausine module is missing (/usr/lib/baresip/modules)"
command -v tshark >/dev/null || it_fail "tshark is missing (bash scripts/deps.sh)"
TONE="$(dirname "$0")/tone.py"
HZ=700

kp=$(it_free_port)
pa=$(it_free_port)
pb=$(it_free_port)
start_kamailio proxy "$kp" >/dev/null

# baresip: its own config dir, SIP on 127.0.0.1:$pb (UDP and TCP), RTP on
# the loopback (net_interface), only the modules the call needs: G.711, the
# sine source (48 kHz stereo only, resampled to 8 kHz by baresip) and the
# account loader; no player (none loaded: what it receives is dropped).
bd="$IT_DIR/baresip"
mkdir -p "$bd"
cat >"$bd/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$pb
net_interface		127.0.0.1
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module_app		account.so
audio_source		ausine,$HZ
ausrc_srate		48000
ausrc_channels		2
audio_alert		nil
audio_player		nil
EOF
echo "<sip:1003@127.0.0.1:$kp;transport=$tp>;auth_pass=secret1003;regint=60;answermode=auto" \
  >"$bd/accounts"
# -s: baresip prints every SIP message it sends and receives (baresip.log).
start_bg baresip baresip -f "$bd" -s
wait_for 10 kam_has_binding proxy 1003 ||
  it_fail "baresip did not register 1003 at Kamailio: $(tail -5 "$IT_DIR/baresip.log")"

it_profile "$IT_DIR/a.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1001" \
  "Password_1_=secret1001" "Register_Expires_1_=60" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" \
  "Session_Expires_1_=90" "Min_SE_1_=90"
start_siplined a "$IT_DIR/a.xml" "$pa"
sd_wait_event a 10 '.event == "registered"' >/dev/null || it_fail "A did not register"

id=$(sd_ctl a --json call 1 1003 --record "$IT_DIR/a.wav" | jq -r .id)
[ -n "$id" ] && [ "$id" != null ] || it_fail "A's call gave no id"
C=".id == $id"
sd_wait_event a 10 "$C and .event == \"call\" and .state == \"confirmed\"" >/dev/null ||
  it_fail "baresip did not answer"
callid=$(sd_events a ".event == \"tx\" and .method == \"INVITE\"" | head -1 | jq -r .call_id)
ci=$(sd_ctl a --json status | jq -c ".calls[] | select(.id == $id)")
[ "$(jq -r .peer_allows_update <<<"$ci")" = false ] ||
  it_fail "baresip's 200 listed UPDATE in Allow? $ci"
sleep 2

# --- hold: UPDATE -> 501 -> re-INVITE --------------------------------------
sd_ctl a hold "$id" >/dev/null || it_fail "hold refused"
sd_wait_event a 5 "$C and .reason == \"update_unsupported_reinvite\" and .status == 501" >/dev/null ||
  it_fail "A's UPDATE (hold) was not answered 501 and followed by a re-INVITE"
sd_wait_event a 5 "$C and .reason == \"reinvite_ok\"" >/dev/null ||
  it_fail "the re-INVITE (hold) was not answered 200"
# In order on siplined's side: UPDATE, its 501, the re-INVITE, its 200, ACK.
W=".call_id == \"$callid\" and (.event == \"tx\" or .event == \"rx\")"
wire() { # the call's messages as "tx METHOD CSEQ" / "rx STATUS CSEQ METHOD"
  sd_events a "$W" | jq -r 'if .event == "tx" then "tx \(.method) \(.cseq)"
                            else "rx \(.status) \(.cseq) \(.cseq_method)" end'
}
u=$(wire | awk '$1 == "tx" && $2 == "UPDATE" { print $3; exit }')
[ -n "$u" ] || it_fail "A sent no UPDATE for the hold"
seq=$(wire | awk '$1 == "tx" && $2 == "UPDATE" { f = 1 }
                  f && !($1 == "rx" && $2 < 200)' | head -5 | tr '\n' ,)
want="tx UPDATE $u,rx 501 $u UPDATE,tx INVITE $((u + 1)),rx 200 $((u + 1)) INVITE,tx ACK $((u + 1)),"
[ "$seq" = "$want" ] || it_fail "hold on the wire: $seq; expected $want"
# The offers and answers (siplined's view) ...
offer=$(sd_events a "$C and .event == \"call_sdp\" and .state == \"offer\" and .from == \"local\" and .reason == \"update\"" | head -1)
grep -q 'a=sendonly' <<<"$(jq -r .sdp <<<"$offer")" || it_fail "the hold offer is not a=sendonly: $offer"
ans=$(sd_events a "$C and .event == \"call_sdp\" and .state == \"answer\" and .from == \"remote\"" | sed -n 2p)
grep -q 'a=recvonly' <<<"$(jq -r .sdp <<<"$ans")" || it_fail "baresip's answer to the hold is not a=recvonly: $ans"
# ... and the pcap siplined wrote, decoded by tshark: CSeq, status, SDP
# direction of every SIP message of the call.
pcap_sip() {
  tshark -r "$IT_DIR/a.pcap" -Y "sip.Call-ID == \"$callid\"" -T fields \
    -E separator='|' -e sip.CSeq -e sip.Status-Code -e sdp.media_attr 2>/dev/null |
    awk -F'|' '{ d = "-"; if ($3 ~ /sendonly/) d = "sendonly"; if ($3 ~ /recvonly/) d = "recvonly";
                 if ($3 ~ /sendrecv/) d = "sendrecv"; if ($3 != "" && d == "-") d = "nodir";
                 printf "%s|%s|%s\n", $1, ($2 == "" ? "req" : $2), d }'
}
pc=$(pcap_sip)
grep -qx "$u UPDATE|req|sendonly" <<<"$pc" || it_fail "pcap: no UPDATE a=sendonly: $pc"
grep -qx "$u UPDATE|501|-" <<<"$pc" || it_fail "pcap: no 501 to the UPDATE: $pc"
grep -qx "$((u + 1)) INVITE|req|sendonly" <<<"$pc" || it_fail "pcap: no re-INVITE a=sendonly: $pc"
grep -qx "$((u + 1)) INVITE|200|recvonly" <<<"$pc" || it_fail "pcap: no 200 a=recvonly to the re-INVITE: $pc"
# baresip's own trace: it sent the 501, and the re-INVITE reached it.
tr -d '\033' <"$IT_DIR/baresip.log" >"$IT_DIR/baresip.txt"
[ "$(grep -c '^SIP/2.0 501 Not Implemented' "$IT_DIR/baresip.txt")" -eq 1 ] ||
  it_fail "baresip's trace does not show one 501"
grep -q "^CSeq: $u UPDATE" "$IT_DIR/baresip.txt" || it_fail "baresip's trace lacks the UPDATE"
grep -q "got re-INVITE" "$IT_DIR/baresip.txt" || it_fail "baresip did not take the re-INVITE"
# Every message both ends saw went over the transport under test.
TP=$(it_tp_profile "$tp")
[ -z "$(grep -E '^(UDP|TCP|TLS) [0-9]' "$IT_DIR/baresip.txt" | grep -v "^$TP ")" ] ||
  it_fail "baresip's trace shows a transport other than $TP"
[ "$(sd_count a ".event == \"tx\" and .transport != \"$TP\"")" -eq 0 ] ||
  it_fail "siplined sent over a transport other than $TP"
[ "$(sd_ctl a --json status | jq -r ".calls[] | select(.id == $id) | .state")" = confirmed ] ||
  it_fail "the call is not up after the hold"
sleep 1

# --- resume: the 501 is remembered, re-INVITE at once ------------------------
sd_ctl a resume "$id" >/dev/null || it_fail "resume refused"
sd_wait_event a 5 "$C and .reason == \"update_unsupported_reinvite\" and (.status // 0) == 0" >/dev/null ||
  it_fail "the resume did not go by re-INVITE at once"
wait_for 5 test "$(sd_count a "$C and .reason == \"reinvite_ok\"")" -ge 2 ||
  it_fail "the re-INVITE (resume) was not answered 200"
tresume=$(sd_events a "$C and .reason == \"reinvite_ok\"" | sed -n 2p | jq .t)
[ "$(wire | grep -c '^tx UPDATE')" -eq 1 ] || it_fail "A sent UPDATE again after the 501: $(wire | tr '\n' ,)"
ans=$(sd_events a "$C and .event == \"call_sdp\" and .state == \"answer\" and .from == \"remote\"" | sed -n 3p)
grep -q 'a=sendrecv' <<<"$(jq -r .sdp <<<"$ans")" || it_fail "baresip's answer to the resume is not a=sendrecv: $ans"
pc=$(pcap_sip)
grep -qx "$((u + 2)) INVITE|req|nodir" <<<"$pc" || it_fail "pcap: the resume re-INVITE is not CSeq $((u + 2)) (sendrecv): $pc"
grep -qx "$((u + 2)) INVITE|200|sendrecv" <<<"$pc" || it_fail "pcap: no 200 a=sendrecv to the resume: $pc"

# --- session refresh (R16): re-INVITE at SE/2 --------------------------------
resume_sdp=$(sd_events a "$C and .event == \"call_sdp\" and .state == \"offer\" and .from == \"local\"" | tail -1 | jq -r .sdp)
sd_wait_event a 55 "$C and .reason == \"refresh_sent\"" >/dev/null ||
  it_fail "siplined did not refresh the session within 55 s"
sd_wait_event a 5 "$C and .reason == \"refreshed\"" >/dev/null ||
  it_fail "the refresh was not answered 200"
r=$(sd_events a "$C and .reason == \"refresh_sent\"" | head -1)
dt=$(awk -v a="$tresume" -v b="$(jq .t <<<"$r")" 'BEGIN { printf "%.3f", b - a }')
awk -v d="$dt" 'BEGIN { exit !(d >= 44.5 && d <= 46.5) }' ||
  it_fail "the refresh came ${dt}s after the last re-INVITE, not 45 s (SE/2)"
rl=$(wire | awk '$1 == "tx" && $2 != "ACK"' | tail -1)
[ "$rl" = "tx INVITE $((u + 3))" ] || it_fail "the refresh was '$rl', not re-INVITE CSeq $((u + 3))"
[ "$(wire | grep -c '^tx UPDATE')" -eq 1 ] || it_fail "the refresh tried UPDATE"
ref_sdp=$(sd_events a "$C and .event == \"call_sdp\" and .state == \"offer\" and .from == \"local\"" | tail -1 | jq -r .sdp)
[ "$(grep '^o=' <<<"$ref_sdp")" = "$(grep '^o=' <<<"$resume_sdp")" ] ||
  it_fail "the refresh changed the SDP's o= line: $(grep '^o=' <<<"$ref_sdp")"
grep -qx "$((u + 3)) INVITE|200|sendrecv" <<<"$(pcap_sip)" || it_fail "pcap: no 200 to the refresh"
[ "$(grep -c 'got re-INVITE' "$IT_DIR/baresip.log")" -ge 3 ] || it_fail "baresip saw fewer than 3 re-INVITEs"

# --- the tone, and the end ---------------------------------------------------
cs=$(sd_ctl a --json status | jq -c ".calls[] | select(.id == $id)")
[ "$(jq -r .state <<<"$cs")" = confirmed ] || it_fail "the call is not up after the refresh: $cs"
sd_ctl a hangup "$id" >/dev/null || it_fail "hangup refused"
sd_wait_event a 5 "$C and .event == \"call\" and .state == \"ended\" and .status == 200" >/dev/null ||
  it_fail "baresip did not answer the BYE 200"
m=$(sd_wait_event a 5 '.event == "media"') || it_fail "no media report"
rx=$(jq .pkts_recv <<<"$m")
# ~50 s of RTP less the hold: thousands of packets; 1000 is a floor.
[ "$rx" -ge 1000 ] || it_fail "A received only $rx RTP packets from baresip"
tm=$(python3 "$TONE" measure "$IT_DIR/a.wav")
f=$(sed -n 's/.*freq=\([0-9]*\).*/\1/p' <<<"$tm")
rms=$(sed -n 's/.*rms=\([-0-9.]*\).*/\1/p' <<<"$tm")
[ "$f" -ge $((HZ - 10)) ] && [ "$f" -le $((HZ + 10)) ] || it_fail "A heard $f Hz, not $HZ ($tm)"
awk -v r="$rms" 'BEGIN { exit !(r > -30) }' || it_fail "A's recording is too quiet ($tm)"
it_log "hold: UPDATE $u -> 501 -> INVITE $((u + 1)) -> 200 recvonly; resume: INVITE $((u + 2)) at once; refresh: INVITE $((u + 3)) after ${dt}s; heard $tm"
echo "MEASURE call_baresip_$tp: refresh ${dt}s after the last re-INVITE; rtp_recv=$rx; $tm"
stop_siplined a
stop_bg baresip
echo "PASS call_baresip_$tp"
