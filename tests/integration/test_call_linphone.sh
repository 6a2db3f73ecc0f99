#!/usr/bin/env bash
# Calls between siplined and another implementation, linphonec (Debian's
# linphone-cli 5.1), both registered at the test's record-routing Kamailio,
# over udp or tcp ($1). linphonec runs headless: no sound card, its
# "soundcard use files" mode plays a WAV as its microphone and records what
# it hears; it is driven through a FIFO on its stdin and its stdout is read
# for what it reports ("Receiving tone 5", "Call 1 ... ended").
#   1. A (siplined, 1001) calls L (linphonec, 1003), which auto-answers. A
#      plays 1000 Hz, L plays 600 Hz; A holds (UPDATE a=sendonly; L answers
#      a=recvonly and says it is paused) and resumes (UPDATE); A sends DTMF
#      123#, L sends 456*; A hangs up (BYE through Kamailio).
#   2. L calls A (its offer: opus, speex, PCMU, ... with dynamic payload
#      types); A answers; A plays 1400 Hz, L 800 Hz; L pauses (re-INVITE
#      a=sendonly; A answers a=recvonly) and resumes (re-INVITE, A answers
#      sendrecv); A sends 7*, L sends 90#; L hangs up.
# Checked each time: both recordings hold the other side's tone (Goertzel,
# tone.py) at a sane level, the digits each side reports (RFC 4733), RTP
# counted both ways, the call ended on both sides; and that A answered
# linphonec's offer (three telephone-event types: 48000, 16000, 8000 Hz)
# with PCMU/PCMA and the 8000 Hz telephone-event only.
# With "timer" as $2, both sides ask for 90 s session timers (RFC 4028):
# linphonec then refreshes (refresher=uac on its INVITE, refresher=uas on
# A's), so call 2 is held until linphonec's refresh UPDATE reaches A (~45 s)
# and A answers it 200 with Session-Expires; the call goes on afterwards.
# linphonec facts this relies on (5.1.65): it does not start without a
# writable $HOME/.local/share/linphone (its database); it sends each DTMF
# digit of a line then sleeps 1 s without serving SIP (commands.c), so the
# test waits for the digits to arrive before the next step.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
timer=${2:-}
it_init "linphone-$tp$timer"
it_need_daemon
command -v linphonec >/dev/null ||
  it_fail "linphonec is missing (Debian package linphone-cli: bash scripts/deps.sh)"
TONE="$(dirname "$0")/tone.py"

kp=$(it_free_port)
pa=$(it_free_port)
pl=$(it_free_port)
rl=$(it_free_port)
start_kamailio proxy "$kp" >/dev/null
for hz in 1000 600 1400 800; do
  python3 "$TONE" gen "$IT_DIR/tone$hz.wav" "$hz" 6
done
T=$(it_tp_profile "$tp")
SE=() LSE=0
[ "$timer" = timer ] && SE=("Session_Expires_1_=90") LSE=1
it_profile "$IT_DIR/a.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1001" \
  "Password_1_=secret1001" "Register_Expires_1_=60" "SIP_Transport_1_=$T" \
  "${SE[@]}"
start_siplined a "$IT_DIR/a.xml" "$pa"

# linphonec: its own HOME, SIP on 127.0.0.1:$pl over $tp only, RTP on $rl,
# one account (1003) registering at Kamailio, every request routed there.
udp=0 tcp=0
[ "$tp" = udp ] && udp=$pl
[ "$tp" = tcp ] && tcp=$pl
LH=$IT_DIR/lhome
mkdir -p "$LH/.local/share/linphone" "$LH/.config"
cat >"$IT_DIR/linphonerc" <<EOF
[sip]
sip_port=$udp
sip_tcp_port=$tcp
sip_tls_port=0
bind_address=127.0.0.1
use_ipv6=0
default_proxy=0
session_expires_enabled=$LSE
session_expires_value=90
session_expires_min_value=90
[rtp]
audio_rtp_port=$rl
video_rtp_port=0
[video]
capture=0
display=0
[proxy_0]
reg_proxy=<sip:127.0.0.1:$kp;transport=$tp>
reg_route=<sip:127.0.0.1:$kp;transport=$tp;lr>
reg_identity=sip:1003@127.0.0.1
reg_expires=60
reg_sendregister=1
[auth_info_0]
username=1003
passwd=secret1003
realm=sipline.test
EOF
mkfifo "$IT_DIR/lin.in"
HOME=$LH XDG_DATA_HOME=$LH/.local/share XDG_CONFIG_HOME=$LH/.config \
  start_bg lin bash -c 'exec linphonec -c "$1" -d 6 -l "$2" <"$3"' lin \
  "$IT_DIR/linphonerc" "$IT_DIR/lin-debug.log" "$IT_DIR/lin.in"
exec 7>"$IT_DIR/lin.in"
# lc COMMAND: one line to linphonec.
lc() { echo "$*" >&7; }
# lin_out: linphonec's output, without the prompts that begin its lines.
lin_out() { sed 's/^\(linphonec> \)*//' "$IT_DIR/lin.log"; }
# lin_count REGEX: lines of linphonec's output matching.
lin_count() { lin_out | grep -cE "$1" || true; }
lin_has() { [ "$(lin_count "$1")" -ge "${2:-1}" ]; }
lin_wait() { # SECONDS REGEX [N]
  wait_for "$1" lin_has "$2" "${3:-1}" || {
    it_log "linphonec did not print [$2] (x${3:-1}) in $1 s"
    return 1
  }
}

lc "soundcard use files"
lc "autoanswer enable"
lin_wait 10 '^Auto answer enabled' || it_fail "linphonec did not take its commands"
sd_wait_event a 10 '.event == "registered"' >/dev/null || it_fail "A did not register"
wait_for 15 kam_has_binding proxy 1003 || it_fail "linphonec did not register at Kamailio"
it_log "A and linphonec registered at Kamailio ($tp)"

# measure WAV HZ WHO: the tone in a recording is HZ (+-10) and louder than
# -30 dBFS; prints tone.py's line.
measure() {
  local m f rms
  m=$(python3 "$TONE" measure "$1")
  f=$(echo "$m" | sed -n 's/.*freq=\([0-9]*\).*/\1/p')
  rms=$(echo "$m" | sed -n 's/.*rms=\([-0-9.]*\).*/\1/p')
  [ "$f" -ge $(($2 - 10)) ] && [ "$f" -le $(($2 + 10)) ] ||
    it_fail "$3 heard $f Hz, not $2 ($m)"
  awk -v r="$rms" 'BEGIN { exit !(r > -30) }' || it_fail "$3's recording is too quiet ($m)"
  echo "$m"
}
# digits_at_a SINCE-SEQ: the digits A reported after event SINCE-SEQ.
digits_at_a() { sd_events a ".event == \"dtmf\" and .seq > $1" | jq -r .digit | tr -d '\n'; }
# digits_at_l N: the digits linphonec reported in its call N.
digits_at_l() {
  awk -v n="$1" '/^Receiving new incoming call|^Establishing call/ { c++ }
    c == n && /^Receiving tone/ { printf "%s", $3 }' <(lin_out)
}
a_digits_ge() { [ "$(sd_count a ".event == \"dtmf\" and .seq > $1")" -ge "$2" ]; }
last_seq() { sd_events a 'true' | tail -n 1 | jq -r .seq; }

# --- 1. siplined calls linphonec --------------------------------------------
lc "play $IT_DIR/tone600.wav"
lc "record $IT_DIR/l1.wav"
s0=$(last_seq)
id=$(sd_ctl a --json call 1 1003 --play "$IT_DIR/tone1000.wav" \
  --record "$IT_DIR/a1.wav" | jq -r .id)
[ -n "$id" ] && [ "$id" != null ] || it_fail "A's call gave no id"
sd_wait_event a 10 ".event == \"call\" and .id == $id and .state == \"confirmed\"" >/dev/null ||
  it_fail "A's call to linphonec was not confirmed"
lin_wait 5 '^Media streams established .* for call 1 ' || it_fail "linphonec started no media"
sleep 2
s_h=$(last_seq)
sd_ctl a hold "$id" >/dev/null || it_fail "hold refused"
sd_wait_event a 5 ".event == \"call\" and .id == $id and .reason == \"update_ok\" and .seq > $s_h" >/dev/null ||
  it_fail "linphonec did not answer A's hold (UPDATE)"
sd_events a ".event == \"call_sdp\" and .id == $id and .from == \"remote\" and .state == \"answer\" and .reason == \"update\" and .seq > $s_h" |
  jq -r .sdp | grep -q '^a=recvonly' || it_fail "linphonec's answer to the hold is not a=recvonly"
lin_wait 5 '^Call 1 has been paused' || it_fail "linphonec does not say it is paused"
sleep 1
s_h=$(last_seq)
sd_ctl a resume "$id" >/dev/null || it_fail "resume refused"
sd_wait_event a 5 ".event == \"call\" and .id == $id and .reason == \"update_ok\" and .seq > $s_h" >/dev/null ||
  it_fail "linphonec did not answer A's resume (UPDATE)"
sd_events a ".event == \"call_sdp\" and .id == $id and .from == \"remote\" and .state == \"answer\" and .reason == \"update\" and .seq > $s_h" |
  jq -r .sdp | grep -qE '^a=(recvonly|sendonly|inactive)' && it_fail "linphonec's answer to the resume is not sendrecv"
lin_wait 5 '^Media streams established .* for call 1 ' 2 || it_fail "linphonec did not resume its media"
sleep 1
sd_ctl a dtmf "$id" '123#' >/dev/null || it_fail "dtmf refused"
lin_wait 5 '^Receiving tone' 4 || it_fail "linphonec did not report 4 digits: $(digits_at_l 1)"
lc "456*"
wait_for 8 a_digits_ge "$s0" 4 ||
  it_fail "A received digits '$(digits_at_a "$s0")' from linphonec, not 456*"
sleep 1.2 # linphonec sleeps 1 s after its last digit
sd_ctl a hangup "$id" >/dev/null || it_fail "hangup refused"
sd_wait_event a 5 ".event == \"call\" and .id == $id and .state == \"ended\"" >/dev/null ||
  it_fail "A's call did not end"
lin_wait 5 '^Call 1 with .* ended' || it_fail "linphonec did not see A's BYE"
ma=$(sd_wait_event a 5 ".event == \"media\" and .id == $id") || it_fail "no media report from A"
[ "$(sd_count a ".event == \"call\" and .id == $id and .state == \"ended\" and .reason == \"hangup\"")" -eq 1 ] ||
  it_fail "A's call did not end by its own BYE: $(sd_events a ".event == \"call\" and .id == $id and .state == \"ended\"")"
dl=$(digits_at_l 1)
[ "$dl" = "123#" ] || it_fail "linphonec received digits '$dl', not 123#"
da=$(digits_at_a "$s0")
[ "$da" = "456*" ] || it_fail "A received digits '$da', not 456*"
ml1=$(measure "$IT_DIR/l1.wav" 1000 linphonec)
ma1=$(measure "$IT_DIR/a1.wav" 600 A)
ra1=$(jq .pkts_recv <<<"$ma") sa1=$(jq .pkts_sent <<<"$ma")
[ "$ra1" -ge 150 ] && [ "$sa1" -ge 150 ] || it_fail "RTP at A: sent $sa1, received $ra1"
it_log "1. A->linphonec: linphonec heard $ml1, A heard $ma1; digits A->L $dl, L->A $da; A's RTP sent $sa1 recv $ra1"

# --- 2. linphonec calls siplined --------------------------------------------
lc "play $IT_DIR/tone800.wav"
lc "record $IT_DIR/l2.wav"
s1=$(last_seq)
lc "call sip:1001@127.0.0.1:$kp;transport=$tp"
inc=$(sd_wait_event a 10 ".event == \"call\" and .state == \"incoming\" and .seq > $s1") ||
  it_fail "A did not ring for linphonec's call"
bid=$(jq -r .id <<<"$inc")
sd_ctl a answer "$bid" --play "$IT_DIR/tone1400.wav" --record "$IT_DIR/a2.wav" >/dev/null ||
  it_fail "answer refused"
sd_wait_event a 5 ".event == \"call\" and .id == $bid and .state == \"confirmed\"" >/dev/null ||
  it_fail "A's answered call was not confirmed (no ACK?)"
lin_wait 5 '^Media streams established .* for call 2 ' || it_fail "linphonec started no media for its call"
sleep 2
# local_answer_after SEQ: A's answer to the re-INVITE received after SEQ.
local_answer_after() {
  sd_events a ".event == \"call_sdp\" and .id == $bid and .from == \"local\" and .state == \"answer\" and .seq > $1" |
    head -n 1 | jq -r .sdp
}
s_h=$(last_seq)
lc "pause"
sd_wait_event a 5 ".event == \"call\" and .id == $bid and .reason == \"reinvite_rx\" and .seq > $s_h" >/dev/null ||
  it_fail "linphonec's pause (re-INVITE) did not reach A"
lin_wait 5 '^Call 2 with .* is now paused' || it_fail "linphonec's call was not paused"
local_answer_after "$s_h" | grep -q '^a=recvonly' || it_fail "A's answer to the pause is not a=recvonly"
sleep 1
s_h=$(last_seq)
lc "resume"
sd_wait_event a 5 ".event == \"call\" and .id == $bid and .reason == \"reinvite_rx\" and .seq > $s_h" >/dev/null ||
  it_fail "linphonec's resume (re-INVITE) did not reach A"
lin_wait 5 '^Media streams established .* for call 2 ' 2 || it_fail "linphonec did not resume its media"
local_answer_after "$s_h" | grep -qE '^a=(recvonly|sendonly|inactive)' && it_fail "A's answer to the resume is not sendrecv"
sleep 1
if [ "$timer" = timer ]; then
  cf=$(sd_events a ".event == \"call\" and .id == $bid and .state == \"confirmed\"" | head -n 1)
  [ "$(jq -r .session_expires <<<"$cf")" = 90 ] || it_fail "A's call has no 90 s session timer: $cf"
  rf=$(sd_wait_event a 60 ".event == \"call\" and .id == $bid and .reason == \"refresh_rx\"") ||
    it_fail "linphonec's session refresh did not reach A"
  [ "$(sd_count a ".event == \"rx\" and .method == \"UPDATE\" and .seq > $s1")" -ge 1 ] ||
    it_fail "linphonec's refresh was not an UPDATE"
  it_log "linphonec refreshed the session after $(it_elapsed "$(ev_time "$cf")" "$(ev_time "$rf")") s"
  sleep 1
fi
sd_ctl a dtmf "$bid" '7*' >/dev/null || it_fail "dtmf refused"
lin_wait 5 '^Receiving tone' 6 || it_fail "linphonec did not report 2 more digits: $(digits_at_l 2)"
lc "90#"
wait_for 8 a_digits_ge "$s1" 3 ||
  it_fail "A received digits '$(digits_at_a "$s1")' from linphonec, not 90#"
sleep 1.2
lc "terminate"
sd_wait_event a 5 ".event == \"call\" and .id == $bid and .state == \"ended\" and .reason == \"remote_bye\"" >/dev/null ||
  it_fail "A did not see linphonec's BYE"
lin_wait 5 '^Call 2 with .* ended' || it_fail "linphonec's call did not end"
mb=$(sd_wait_event a 5 ".event == \"media\" and .id == $bid") || it_fail "no media report from A"
dl=$(digits_at_l 2)
[ "$dl" = "7*" ] || it_fail "linphonec received digits '$dl', not 7*"
da=$(digits_at_a "$s1")
[ "$da" = "90#" ] || it_fail "A received digits '$da', not 90#"
ml2=$(measure "$IT_DIR/l2.wav" 1400 linphonec)
ma2=$(measure "$IT_DIR/a2.wav" 800 A)
ra2=$(jq .pkts_recv <<<"$mb") sa2=$(jq .pkts_sent <<<"$mb")
[ "$ra2" -ge 150 ] && [ "$sa2" -ge 150 ] || it_fail "RTP at A: sent $sa2, received $ra2"
offer=$(sd_events a ".event == \"call_sdp\" and .id == $bid and .from == \"remote\" and .state == \"offer\"" |
  head -n 1 | jq -r .sdp)
answer=$(sd_events a ".event == \"call_sdp\" and .id == $bid and .from == \"local\" and .state == \"answer\"" |
  head -n 1 | jq -r .sdp)
[ "$(grep -c 'telephone-event/' <<<"$offer")" -ge 2 ] ||
  it_fail "linphonec's offer is not the one this test expects: $offer"
grep -q '^m=audio [0-9]* RTP/AVP [08] ' <<<"$answer" &&
  [ "$(grep -c 'telephone-event/' <<<"$answer")" -eq 1 ] &&
  grep -q 'telephone-event/8000' <<<"$answer" ||
  it_fail "A's answer to linphonec's offer: $answer"
it_log "2. linphonec->A: linphonec heard $ml2, A heard $ma2; digits A->L $dl, L->A $da; A's RTP sent $sa2 recv $ra2"

lc "quit"
exec 7>&-
wait_for 10 eval '! bg_alive lin' || it_fail "linphonec did not quit"
echo "MEASURE call_linphone_$tp$timer: A->L: L heard $ml1 A heard $ma1;" \
  "L->A: L heard $ml2 A heard $ma2; digits ok; RTP at A $sa1/$ra1 $sa2/$ra2"
stop_siplined a
echo "PASS call_linphone_$tp$timer"
