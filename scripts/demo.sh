#!/usr/bin/env bash
# The main job, for a newcomer (README's first command): two Kamailio
# registrars on 127.0.0.1 (primary :5060, backup :5070), siplined registered
# to the primary with examples/demo/profile.xml; the primary is frozen
# (SIGSTOP) and siplined fails over to the backup; it is resumed (SIGCONT)
# and siplined falls back to it. Narrated from `siplinectl events` with wall
# clock times; everything it started is stopped by PID at the end (or on
# Ctrl-C). About a minute after the build.
#
#   bash scripts/demo.sh          (BUILD_DIR=... to use another build dir;
#                                  SIPLINED=... SIPLINECTL=... to skip the
#                                  build and use those binaries)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
PRIMARY_PORT=${PRIMARY_PORT:-5060}
BACKUP_PORT=${BACKUP_PORT:-5070}
PROFILE=${PROFILE:-$root/examples/demo/profile.xml}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() {
  printf '\n\033[31mdemo failed: %s\033[0m\n' "$*" >&2
  exit 1
}

if [ -n "${SIPLINED:-}" ] && [ -n "${SIPLINECTL:-}" ]; then
  say "0. Using SIPLINED=$SIPLINED and SIPLINECTL=$SIPLINECTL (no build)"
else
  say "0. Installing what is missing and building ($BUILD_DIR/)"
  bash scripts/deps.sh
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  [ -f daemon/CMakeLists.txt ] ||
    die "this tree has no daemon/ yet: the demo needs siplined and siplinectl"
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target siplined siplinectl ||
    die "building siplined/siplinectl failed (see above; scripts/deps.sh
installs libuv, c-ares, libcurl and cJSON, which daemon/ needs)"
  SIPLINED=$root/$BUILD_DIR/bin/siplined
  SIPLINECTL=$root/$BUILD_DIR/bin/siplinectl
fi
[ -x "$SIPLINED" ] || die "$SIPLINED was not built"
[ -x "$SIPLINECTL" ] || die "$SIPLINECTL was not built"
"$SIPLINED" -c "$PROFILE" --check >/dev/null ||
  die "siplined rejects the demo profile $PROFILE"

for p in "$PRIMARY_PORT" "$BACKUP_PORT"; do
  if ss -Hlnu "sport = :$p" | grep -q . || ss -Hlnt "sport = :$p" | grep -q .; then
    die "port $p is in use on this machine (the demo needs 5060 and 5070):
$(ss -Hlnup "sport = :$p"; ss -Hlntp "sport = :$p")"
  fi
done

export IT_KEEP=1 IT_FAIL_LOGS="sd.log" IT_FAIL_LINES=15
# shellcheck source=../tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
export SIPLINED SIPLINECTL
it_init demo
it_need_daemon
P="127.0.0.1:$PRIMARY_PORT"
B="127.0.0.1:$BACKUP_PORT"

say "1. Two Kamailio registrars (tests/integration/kamailio/kamailio.cfg)"
# The primary grants at most 20 s, so siplined refreshes every ~15 s and a
# refresh soon meets the frozen primary.
start_kamailio primary "$PRIMARY_PORT" 20 >/dev/null ||
  die "kamailio (primary) did not start"
start_kamailio backup "$BACKUP_PORT" >/dev/null ||
  die "kamailio (backup) did not start"
note "primary $P: pid $(kam_pid primary) ($(kam_pids primary | wc -l) processes)"
note "backup  $B: pid $(kam_pid backup) ($(kam_pids backup | wc -l) processes)"

say "2. siplined -c ${PROFILE#"$root"/}"
sed -n 's/^ *<\([A-Za-z0-9_-]*\)>\(.*\)<\/\1>.*/   \1 = \2/p' "$PROFILE" |
  grep -v Password || true
lport=$(it_free_port)
start_siplined sd "$PROFILE" "$lport" || die "siplined did not start"
note "siplined pid $(cat "$IT_DIR/sd.daemon.pid" 2>/dev/null || bg_pid sd), SIP on 127.0.0.1:$lport, control $(sd_sock sd)"
note "the event stream (siplinectl events --follow), as it happens:"
# The narrator: every event but tx/rx, one readable line each.
setsid bash -c '"$0" -s "$1" --json events --follow | jq --unbuffered -r "
  select(.event != null) |
  \"   | \" + .time[11:23] + \"  +\" + (.t | tostring) + \"s  \" +
  (.event + \"              \")[0:13] +
  ([to_entries[] | select(.key | IN(\"seq\",\"time\",\"t\",\"line\",\"event\") | not)
    | \"\(.key)=\(.value)\"] | join(\" \"))"' \
  "$SIPLINECTL" "$(sd_sock sd)" </dev/null &
it_track narrator $!

t_start=$(it_now)
reg=$(sd_wait_event sd 15 ".event == \"registered\" and .server == \"$P\"") ||
  die "siplined did not register at the primary $P within 15 s (step 2)"
sleep 0.3
say "3. Registered at the primary"
sd_ctl sd status | sed 's/^/   /'
note "kamcmd ul.dump on the primary: 1001 -> $(kam_contacts primary 1001 | head -n 1)"

say "4. Freezing the primary (SIGSTOP to each of its $(kam_pids primary | wc -l) processes)"
st=$(sd_status sd)
in=$(jq -r '.lines[0].next_refresh_in // empty' <<<"$st")
seq0=$(jq -r .seq <<<"$reg")
freeze_kamailio primary
t_freeze=$IT_SIGNAL_AT
note "frozen at $(date +%H:%M:%S.%3N). siplined learns it when its next REGISTER"
note "(a refresh, due in ${in:-?} s) gets no answer within Timer F (4 s)."
fo=$(sd_wait_event sd 45 ".event == \"failover\" and .seq > $seq0") ||
  die "no failover within 45 s of freezing the primary (step 4)"
rb=$(sd_wait_event sd 15 ".event == \"registered\" and .server == \"$B\"") ||
  die "no registration at the backup after the failover (step 4)"
sleep 0.3
t_fo=$(it_elapsed "$t_freeze" "$(ev_time "$fo")")
# The REGISTER that met the frozen primary: first send of its CSeq.
fseq=$(jq -r .seq <<<"$fo")
last=$(sd_events sd ".event == \"tx\" and .method == \"REGISTER\" and .to == \"$P\" and .seq < $fseq" | tail -n 1)
t_det=?
if [ -n "$last" ]; then
  first=$(sd_events sd ".event == \"tx\" and .method == \"REGISTER\" and .to == \"$P\" and .cseq == $(ev_get "$last" cseq)" | head -n 1)
  t_det=$(it_elapsed "$(ev_time "$first")" "$(ev_time "$fo")")
fi
t_rb=$(it_elapsed "$t_freeze" "$(ev_time "$rb")")
say "5. Failed over: registered at the backup ${t_rb}s after the freeze"
sd_ctl sd status | sed 's/^/   /'
note "kamcmd ul.dump on the backup: 1001 -> $(kam_contacts backup 1001 | head -n 1)"

say "6. Resuming the primary (SIGCONT)"
thaw_kamailio primary
note "resumed at $(date +%H:%M:%S.%3N). Fallback comes Proxy_Fallback_Intvl (20 s)"
note "after the backup registration (R11), at $(date -d "@$(awk -v t="$(ev_time "$rb")" 'BEGIN { printf "%.3f", t + 20 }')" +%H:%M:%S.%3N)."
fb=$(sd_wait_event sd 40 ".event == \"fallback\" and .seq > $(jq -r .seq <<<"$rb")") ||
  die "no fallback to the primary within 40 s (step 6)"
rp=$(sd_wait_event sd 15 ".event == \"registered\" and .server == \"$P\" and .seq > $(jq -r .seq <<<"$fb")") ||
  die "no registration at the primary after the fallback (step 6)"
sleep 0.5
t_fb=$(it_elapsed "$(ev_time "$rb")" "$(ev_time "$fb")")
say "7. Fell back: at the primary again, ${t_fb}s after the backup registration"
sd_ctl sd status | sed 's/^/   /'
c=$(kam_contacts backup 1001 | head -n 1 || true)
note "kamcmd ul.dump: primary 1001 -> $(kam_contacts primary 1001 | head -n 1 || true)"
note "                backup  1001 -> ${c:-(none: siplined removed it, R11)}"

say "8. Stopping everything this demo started, by PID"
stop_siplined sd
note "siplined stopped (SIGTERM: it un-registered first)"
stop_bg narrator TERM 1
for k in primary backup; do
  pid=$(kam_pid "$k")
  stop_kamailio "$k" TERM
  note "kamailio $k (pid $pid and its workers) stopped"
done

say "Summary"
note "failover: the first REGISTER after the freeze timed out ${t_det}s after it was sent"
note "          (Timer F 4 s); the line moved ${t_fo}s after the freeze and was"
note "          registered at the backup ${t_rb}s after the freeze"
note "fallback: ${t_fb}s after the backup registration (Proxy_Fallback_Intvl 20 s)"
note "demo time: $(it_elapsed "$t_start") s; logs, pcap trace and events in $IT_DIR"
