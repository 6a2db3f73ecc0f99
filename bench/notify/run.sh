#!/usr/bin/env bash
# bench/notify: SIPp sends authenticated NOTIFY Event: xml-service to a
# running siplined as fast as it can for DURATION seconds (issue 5, item 6).
#
# Steady state (the figure): each SIPp "call" sends one NOTIFY, gets the
# 401 challenge, then K=80 authenticated NOTIFYs under that nonce with
# nonce-counts 1..80 (gen_scenario.py; SIPp 3.6 reads no scenario file over
# 64 KiB), each a new transaction that must get 200. CONCURRENCY calls run
# at once in each of BENCH_SOURCES (4) SIPp processes, one per loopback
# address 127.0.0.1-4. This measures the digest-checking path: only
# unauthenticated requests meet siplined's challenge limiter (per source
# address, and global). Then, for CHALLENGE_SECONDS (10), the plain scenario
# (a fresh challenge for every NOTIFY) shows that limiter at work.
#
# Prints requests answered per second, failures (timeouts, unexpected
# messages, failed calls), retransmissions, siplined's CPU, and its memory
# before, after the run and 5 s later (no growth expected). Printed, never
# asserted; not a ctest.
#
#   bash bench/notify/run.sh [DURATION=60] [CONCURRENCY=20]
#
# Environment: SIPLINED / SIPLINECTL (default build/bin/); BENCH_FETCH=1
# puts an http URL in the body (each accepted NOTIFY then makes siplined
# fetch it from a local python3 -m http.server), else the item is the
# internal URI Key:Services (executed at once, no I/O), which measures SIP
# and digest alone. BENCH_CHALLENGE_LIMIT=RATE[/BURST] raises siplined's
# challenge limiter for the last run. BENCH_ROUNDS=N repeats the steady run N times (memory
# after each).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${1:-60}
CONC=${2:-20}
K=80
SOURCES=${BENCH_SOURCES:-4}
CHALLENGE_SECONDS=${CHALLENGE_SECONDS:-10}
here=$root/bench/notify
export IT_SD_LOG=warn IT_SD_TRACE=0 IT_SD_MESSAGES=0
. "$root/tests/integration/lib.sh"
it_init bench-notify
it_need_daemon

kp=$(it_free_port)
lp=$(it_free_port)
start_kamailio registrar "$kp" >/dev/null
url="Key:Services"
if [ "${BENCH_FETCH:-0}" = 1 ]; then
  hp=$(it_free_port)
  mkdir -p "$IT_DIR/www"
  echo '<CiscoIPPhoneText><Text>bench</Text></CiscoIPPhoneText>' \
    >"$IT_DIR/www/doc.xml"
  start_bg http python3 -m http.server "$hp" --bind 127.0.0.1 -d "$IT_DIR/www"
  wait_for 5 bash -c "ss -Hlnt 'sport = :$hp' | grep -q ." ||
    it_fail "http.server did not start"
  url="http://127.0.0.1:$hp/doc.xml"
fi
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1001" "Password_1_=secret1001" \
  "Register_Expires_1_=3600" "SIP_Transport_1_=UDP"
# BENCH_CHALLENGE_LIMIT=RATE[/BURST]: siplined's challenge limiter, per
# source and global (--challenge-limit, --challenge-limit-global), for the
# challenge-per-request run; unset keeps its defaults (20/s and 200/s).
sd_args=()
[ -z "${BENCH_CHALLENGE_LIMIT:-}" ] || sd_args=(--challenge-limit
  "$BENCH_CHALLENGE_LIMIT" --challenge-limit-global "$BENCH_CHALLENGE_LIMIT")
# BENCH_SIPLINED_ARGS: more siplined options (word-split), e.g.
# "--event-history 100".
# shellcheck disable=SC2206
sd_args+=(${BENCH_SIPLINED_ARGS:-})
start_siplined sd "$IT_DIR/profile.xml" "$lp" "${sd_args[@]}"
sd_wait_event sd 10 '.event == "registered"' >/dev/null ||
  it_fail "siplined did not register"
pid=$(cat "$IT_DIR/sd.daemon.pid" 2>/dev/null || bg_pid sd)

# RSS and peak from the kernel; the heap's live and free (held by malloc,
# not yet given back) bytes from siplined's status, to tell the two apart.
mem() {
  awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "RSS %d KiB (peak %d KiB)", r, h }' "/proc/$pid/status"
  sd_ctl sd --json status 2>/dev/null | jq -r 'select(.heap) | .heap |
    "; heap in use \(.in_use / 1024 | floor) KiB, free \(.free / 1024 | floor) KiB, trims \(.trims)"' 2>/dev/null | tr -d '\n' || true
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)

echo "siplined pid $pid on 127.0.0.1:$lp (UDP), item URL $url"
echo "steady state: $DURATION s, $SOURCES SIPp processes (127.0.0.1-$SOURCES) x $CONC calls at once, each 1 challenge + $K authenticated NOTIFYs"
python3 "$here/gen_scenario.py" "$K" >"$IT_DIR/steady.xml"
# Warm-up: one NOTIFY, which must be accepted (else the figures are void).
run_sipp warmup "$(it_free_port)" -sf "$IT_SIPP_DIR/uac_notify_xml_service.xml" \
  -m 1 -timeout 10s -timeout_error -s 1001 -au 1001 -ap secret1001 \
  -auth_uri "1001@127.0.0.1:$lp" -key url "$url" "127.0.0.1:$lp" ||
  it_fail "a single authenticated NOTIFY was not accepted (see warmup.log)"
sleep 1

# run_load NAME SCENARIO SECONDS: SOURCES SIPp processes at full speed
# (rate uncapped, at most CONC calls at once each), from 127.0.0.1,
# 127.0.0.2, ... (siplined limits challenges per source address); their
# files in NAME/<n>/.
run_load() {
  local i sp pids=()
  for ((i = 1; i <= SOURCES; i++)); do
    sp=$(it_free_port)
    mkdir -p "$IT_DIR/$1/$i"
    (cd "$IT_DIR/$1/$i" && timeout -s INT $(($3 + 60)) sipp -nostdin \
      -i "127.0.0.$i" -p "$sp" -sf "$2" -s 1001 -au 1001 -ap secret1001 \
      -auth_uri "1001@127.0.0.1:$lp" -key url "$url" -r 100000 -l "$CONC" \
      -m 100000000 -timeout "${3}s" -recv_timeout 30000 \
      -trace_counts -trace_stat -fd 1 -trace_err \
      -error_file "$IT_DIR/$1/$i/errors.log" "127.0.0.1:$lp" \
      >"$IT_DIR/$1/$i/sipp.log" 2>&1 </dev/null) &
    pids+=($!)
  done
  wait "${pids[@]}" || true
}

mem0=$(mem)
c0=$(cpu_ticks)
t0=$(it_now)
run_load steady "$IT_DIR/steady.xml" "$DURATION"
t1=$(it_now)
c1=$(cpu_ticks) # the figures are the first round's
# BENCH_ROUNDS=N: N-1 more steady runs first-hand, memory after each (a
# leak grows every round; a high-water mark does not).
for ((r = 2; r <= ${BENCH_ROUNDS:-1}; r++)); do
  echo "  round $((r - 1)): memory $(mem)"
  run_load "steady$r" "$IT_DIR/steady.xml" "$DURATION"
  echo "  round $r: memory $(mem)"
done
mem1=$(mem)
sleep 5
mem2=$(mem)
# Server transactions stay for Timer J (SIP_Timer_J, 16 s by default) after
# their answer, so memory at full load is about rate x Timer J x the size
# of one; after Timer J it is free again (if not returned to the system).
sleep 15
mem3=$(mem)
el=$(it_elapsed "$t0" "$t1")
echo "steady state:"
python3 "$here/summarize.py" "$el" "$IT_DIR"/steady/*
awk -v c="$((c1 - c0))" -v hz="$hz" -v e="$el" 'BEGIN {
  printf "  siplined CPU: %.1f s in %.1f s = %.0f %% of one core\n", c / hz, e, 100 * c / hz / e }'
echo "  siplined memory before: $mem0"
echo "  siplined memory after:  $mem1"
echo "  siplined memory +5 s:   $mem2"
echo "  siplined memory +20 s:  $mem3 (after Timer J)"
errs=$(cat "$IT_DIR"/steady/*/errors.log 2>/dev/null |
  grep -m 3 'Aborting\|unexpected\|timeout' | cut -c1-200 || true)
[ -z "$errs" ] || printf '  first SIPp errors:\n%s\n' "$errs"

if [ "$CHALLENGE_SECONDS" -gt 0 ]; then
  echo "a fresh challenge for every NOTIFY (uac_notify_xml_service.xml), $CHALLENGE_SECONDS s:"
  t0=$(it_now)
  run_load challenge "$IT_SIPP_DIR/uac_notify_xml_service.xml" "$CHALLENGE_SECONDS"
  python3 "$here/summarize.py" "$(it_elapsed "$t0")" "$IT_DIR"/challenge/*
  echo "  (siplined's challenge limiter, per source address and global, sets"
  echo "   this pace; SIPp retransmits the NOTIFYs it drops unanswered)"
  echo "  siplined memory after:  $(mem) (compare with the steady run's)"
  errs=$(cat "$IT_DIR"/challenge/*/errors.log 2>/dev/null |
    grep -m 3 'Aborting\|unexpected\|timeout' | cut -c1-200 || true)
  [ -z "$errs" ] || printf '  first SIPp errors:\n%s\n' "$errs"
fi
echo "events seen by a follower: $(sd_count sd '.event == "notify"') notify," \
  "$(sd_count sd '.event == "auth_failed"') auth_failed," \
  "$(sd_count sd '.event == "fetch"') fetch"
stop_siplined sd
