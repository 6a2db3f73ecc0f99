#!/usr/bin/env bash
# The media of the incoming side from the profile (issue 9): a line's
# Answer_Play_n_ (a WAV played into every call it answers) and
# Answer_Record_Dir_n_ (each answered call's received audio recorded there,
# one WAV named by Call-ID and time), over udp or tcp ($1):
#   - siplined --check refuses a missing play file, a file that is not
#     sound, and a record "directory" that is a file, naming the tag;
#   - A (1001) calls B (1002, Auto_Answer_1_=0) through Kamailio playing a
#     1000 Hz tone and recording; B auto-answers with a 1500 Hz tone from
#     its profile and records into its directory;
#   - A calls C (1003, no auto-answer) the same way; C is answered by a
#     plain `siplinectl answer ID` and uses its profile the same way.
# Checked with tone.py measure: A's recordings hold 1500 Hz (what B and C
# played), B's and C's recordings (found in their directories and named
# in their answer_media events) hold 1000 Hz (what A played).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "ansmedia-$tp"
it_need_daemon
TONE="$(dirname "$0")/tone.py"
T=$(it_tp_profile "$tp")

python3 "$TONE" gen "$IT_DIR/a-tone.wav" 1000 6
python3 "$TONE" gen "$IT_DIR/answer-tone.wav" 1500 6
mkdir -p "$IT_DIR/brec" "$IT_DIR/crec"

# --- validation at load -------------------------------------------------
check_refused() { # NAME EXPECTED-TEXT TAG=VALUE
  local out rc=0
  it_profile "$IT_DIR/$1.xml" "Proxy_1_=127.0.0.1:5060" "User_ID_1_=1002" "$3"
  out=$("$SIPLINED" --check -c "$IT_DIR/$1.xml" 2>&1) || rc=$?
  [ "$rc" -eq 2 ] || it_fail "--check with $3 exited $rc, not 2: $out"
  grep -q -- "${3%%=*}" <<<"$out" && grep -q -- "$2" <<<"$out" ||
    it_fail "--check with $3 said [$out], not the tag and '$2'"
  it_log "refused at load: $out"
}
echo "not a sound file" >"$IT_DIR/text.wav"
check_refused missing "No such file or directory" \
  "Answer_Play_1_=$IT_DIR/none.wav"
check_refused notsound "not a sound file" "Answer_Play_1_=$IT_DIR/text.wav"
check_refused nodir "not a directory" "Answer_Record_Dir_1_=$IT_DIR/text.wav"
check_refused nodir2 "No such file or directory" \
  "Answer_Record_Dir_1_=$IT_DIR/nowhere"
it_profile "$IT_DIR/good.xml" "Proxy_1_=127.0.0.1:5060" "User_ID_1_=1002" \
  "Answer_Play_1_=$IT_DIR/answer-tone.wav" "Answer_Record_Dir_1_=$IT_DIR/brec"
"$SIPLINED" --check -c "$IT_DIR/good.xml" >/dev/null 2>&1 ||
  it_fail "--check refused a readable WAV and a writable directory"

# --- two answered calls -------------------------------------------------
kp=$(it_free_port)
pa=$(it_free_port)
pb=$(it_free_port)
pc=$(it_free_port)
start_kamailio proxy "$kp" >/dev/null
it_profile "$IT_DIR/a.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1001" \
  "Password_1_=secret1001" "Register_Expires_1_=60" "SIP_Transport_1_=$T"
it_profile "$IT_DIR/b.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1002" \
  "Password_1_=secret1002" "Register_Expires_1_=60" "SIP_Transport_1_=$T" \
  "Auto_Answer_1_=0" "Answer_Play_1_=$IT_DIR/answer-tone.wav" \
  "Answer_Record_Dir_1_=$IT_DIR/brec"
it_profile "$IT_DIR/c.xml" "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1003" \
  "Password_1_=secret1003" "Register_Expires_1_=60" "SIP_Transport_1_=$T" \
  "Answer_Play_1_=$IT_DIR/answer-tone.wav" "Answer_Record_Dir_1_=$IT_DIR/crec/"
start_siplined a "$IT_DIR/a.xml" "$pa"
start_siplined b "$IT_DIR/b.xml" "$pb"
start_siplined c "$IT_DIR/c.xml" "$pc"
for n in a b c; do
  sd_wait_event $n 10 '.event == "registered"' >/dev/null ||
    it_fail "$n did not register"
done

# call CALLEE USER: A calls, the callee answers (B by itself; C when told),
# three seconds of audio, A hangs up; prints the callee's recording path.
call() {
  local who=$1 user=$2 id inc cid am rec
  id=$(sd_ctl a --json call 1 "$user" --play "$IT_DIR/a-tone.wav" \
    --record "$IT_DIR/a-$who.wav" | jq -r .id)
  [ -n "$id" ] && [ "$id" != null ] || it_fail "A's call to $who gave no id"
  inc=$(sd_wait_event "$who" 5 '.event == "call" and .state == "incoming"') ||
    it_fail "$who did not ring"
  cid=$(jq -r .id <<<"$inc")
  if [ "$who" = c ]; then
    sleep 0.5
    # not answered by itself: it has no Auto_Answer
    [ "$(sd_count c '.event == "call" and .state == "confirmed"')" -eq 0 ] ||
      it_fail "C answered without being told"
    sd_ctl c answer "$cid" >/dev/null || it_fail "C's plain answer refused"
  fi
  sd_wait_event a 5 ".event == \"call\" and .id == $id and .state == \"confirmed\"" >/dev/null ||
    it_fail "A's call to $who was not confirmed"
  am=$(sd_wait_event "$who" 5 ".event == \"answer_media\" and .id == $cid") ||
    it_fail "$who reported no answer_media"
  [ "$(jq -r .play <<<"$am")" = "$IT_DIR/answer-tone.wav" ] ||
    it_fail "$who's answer_media plays $(jq -r .play <<<"$am")"
  rec=$(jq -r .record <<<"$am")
  sleep 3
  sd_ctl a hangup "$id" >/dev/null || it_fail "hangup refused"
  sd_wait_event "$who" 5 ".event == \"media\" and .id == $cid" >/dev/null ||
    it_fail "no media report from $who"
  sd_wait_event a 5 ".event == \"media\" and .id == $id" >/dev/null ||
    it_fail "no media report from A"
  echo "$rec"
}
# tone FILE HZ WHAT: the recording holds HZ (+-10) loud enough.
tone() {
  local m f rms
  [ -s "$1" ] || it_fail "$3: no recording at $1"
  m=$(python3 "$TONE" measure "$1")
  f=$(echo "$m" | sed -n 's/.*freq=\([0-9]*\).*/\1/p')
  rms=$(echo "$m" | sed -n 's/.*rms=\([-0-9.]*\).*/\1/p')
  [ "$f" -ge $(($2 - 10)) ] && [ "$f" -le $(($2 + 10)) ] ||
    it_fail "$3 holds $f Hz, not $2 ($m)"
  awk -v r="$rms" 'BEGIN { exit !(r > -30) }' || it_fail "$3 is too quiet ($m)"
  it_log "$3: $m"
  echo "$m"
}
for who in b c; do
  user=$([ $who = b ] && echo 1002 || echo 1003)
  rec=$(call $who $user)
  dir=$IT_DIR/${who}rec
  [ "$(dirname "$rec")" = "$dir" ] || it_fail "$who recorded to $rec, not in $dir"
  n=$(find "$dir" -name '*.wav' | wc -l)
  [ "$n" -eq 1 ] || it_fail "$dir holds $n recordings, not 1"
  [[ "$(basename "$rec")" =~ ^[A-Za-z0-9._-]+-[0-9]{8}T[0-9]{6}Z\.wav$ ]] ||
    it_fail "$who's recording name $(basename "$rec") is not CALLID-TIME.wav"
  mc=$(tone "$rec" 1000 "$who's recording (A's tone)")
  ma=$(tone "$IT_DIR/a-$who.wav" 1500 "A's recording of $who (the Answer_Play tone)")
  echo "MEASURE call_answer_media_$tp $who: callee_rec $mc; caller_rec $ma"
done
stop_siplined a
stop_siplined b
stop_siplined c
echo "PASS call_answer_media_$tp"
