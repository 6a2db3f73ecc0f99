#!/usr/bin/env bash
# bench/calls: calls per second through one siplined line (issue 9, item 5).
#
# A SIPp caller runs uac_call_update.xml (INVITE -> 180 -> 200 -> ACK ->
# UPDATE with SDP -> 200 -> BYE -> 200, no pause) at increasing rates
# against siplined (one UDP line, Register No, Auto_Answer 0 s: it rings,
# answers with its SDP, answers the UPDATE's offer, takes the BYE), and
# then, in the same run, against a SIPp callee (uas_call_update.xml, the
# same responses) for SIPp's own rate on this machine. Each step runs
# STEP seconds at rate R (R*STEP calls, -recv_timeout 5 s). A step fails
# with a failed call or when it reached less than 90 % of R (the caller or
# the callee fell behind); a failed step is run once more (the machine is
# shared, a neighbour's burst can stall either side) and the ramp stops
# when it fails again. The figure for each callee is the highest rate with
# no failed call.
#
# Printed per step: target and achieved rate (successful calls over SIPp's
# own elapsed time), calls ok / failed, retransmissions, for siplined its
# CPU µs per call (utime+stime from /proc/PID/stat, 10 ms ticks) and CPU
# share, and the 1-minute load average (the machine is shared: wall-clock rates are
# only as good as the load beside them). Printed, never asserted; not a
# ctest.
#
#   bash bench/calls/run.sh [STEP=10] [RATES="25 50 100 200 400 800"]
#
# Environment: SIPLINED / SIPLINECTL (default build/bin/); BENCH_MEDIA=1
# makes the SDP a=sendrecv, so siplined sends RTP (PCMU, 50 packets/s) to
# a local sink for every call (default a=inactive: siplined still opens an
# RTP port pair per call, but nothing flows); BENCH_TARGETS="siplined sipp"
# (default both).
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
STEP=${1:-10}
RATES=${2:-"25 50 100 200 400 800"}
TARGETS=${BENCH_TARGETS:-"siplined sipp"}
here=$root/bench/calls
export IT_SD_LOG=warn IT_SD_TRACE=0 IT_SD_MESSAGES=0
. "$root/tests/integration/lib.sh"
it_init bench-calls
it_need_daemon
command -v sipp >/dev/null || it_fail "sipp is missing (bash scripts/deps.sh)"
hz=$(getconf CLK_TCK)

dir=inactive
mport=$(it_free_port)
if [ "${BENCH_MEDIA:-0}" = 1 ]; then
  dir=sendrecv
  # A sink for siplined's RTP (else every packet meets ICMP unreachable).
  start_bg sink python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $mport))
while True:
    s.recv(2048)"
fi

lp=$(it_free_port)
up=$(it_free_port)
it_profile "$IT_DIR/profile.xml" "Proxy_1_=127.0.0.1:$up" "User_ID_1_=1001" \
  "Register_1_=No" "SIP_Transport_1_=UDP" "Auto_Answer_1_=0"
start_siplined sd "$IT_DIR/profile.xml" "$lp"
pid=$(cat "$IT_DIR/sd.daemon.pid" 2>/dev/null || bg_pid sd)
start_sipp uas "$up" -sf "$here/uas_call_update.xml"
wait_for 3 bash -c "ss -Hlnu 'sport = :$up' | grep -q ." ||
  it_fail "the SIPp callee did not start"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# col FILE NAME: the value of column NAME in the last line of a SIPp
# -trace_stat CSV.
col() {
  awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i }
    END { print $c }' "$1"
}
epoch() { awk -F'\t' '{ print $3 }' <<<"$1"; }

# step TARGET RATE: one SIPp caller run; prints one row, returns 1 when the
# step failed (a failed call, or under 90 % of the rate).
step() {
  local target=$1 r=$2 port d n c0 c1 l0 rc=0
  [ "$target" = siplined ] && port=$lp || port=$up
  d=$IT_DIR/$target-$r
  mkdir -p "$d"
  n=$((r * STEP))
  l0=$(loadavg)
  c0=$(cpu_ticks)
  (cd "$d" && timeout -s INT $((STEP * 3 + 30)) sipp -nostdin -i 127.0.0.1 \
    -p "$(it_free_port)" -sf "$here/uac_call_update.xml" -key dir "$dir" \
    -key mport "$mport" -s 1001 -r "$r" -m "$n" -l $((r * 5 + 100)) \
    -recv_timeout 5000 -trace_stat -stf stat.csv -fd 1 -trace_err \
    -error_file errors.log "127.0.0.1:$port" >sipp.log 2>&1 </dev/null) ||
    rc=$?
  c1=$(cpu_ticks)
  local f=$d/stat.csv ok fail rtx t0 t1 el ach cpu share
  [ -s "$f" ] || it_fail "SIPp wrote no statistics for $target at $r/s (exit $rc): $(tail -3 "$d/sipp.log")"
  ok=$(col "$f" 'SuccessfulCall(C)')
  fail=$(col "$f" 'FailedCall(C)')
  rtx=$(col "$f" 'Retransmissions(C)')
  t0=$(epoch "$(col "$f" 'StartTime')")
  t1=$(epoch "$(col "$f" 'CurrentTime')")
  el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  ach=$(awk -v o="$ok" -v e="$el" 'BEGIN { printf "%.1f", (e > 0 ? o / e : 0) }')
  if [ "$target" = siplined ]; then
    cpu=$(awk -v a="$c0" -v b="$c1" -v h="$hz" -v o="$ok" \
      'BEGIN { if (o > 0) printf "%.1f", (b - a) / h / o * 1e6; else print "-" }')
    share=$(awk -v a="$c0" -v b="$c1" -v h="$hz" -v e="$el" \
      'BEGIN { printf "%.1f", (e > 0 ? (b - a) / h / e * 100 : 0) }')
  else
    cpu=-
    share=-
  fi
  printf '| %s | %d | %s | %d | %d | %d | %s | %s | %s / %s |\n' \
    "$target" "$r" "$ach" "$ok" "$fail" "$rtx" "$cpu" "$share" "$l0" \
    "$(loadavg)"
  [ "$fail" -eq 0 ] && [ "$ok" -eq "$n" ] &&
    awk -v a="$ach" -v r="$r" 'BEGIN { exit !(a >= 0.9 * r) }'
}

echo "bench/calls: $(nproc) CPUs, siplined pid $pid on 127.0.0.1:$lp (UDP), SIPp callee on :$up"
echo "scenario INVITE-180-200-ACK-UPDATE(SDP)-200-BYE-200, SDP a=$dir, $STEP s per rate"
# siplined's own cost with no call, over one step: what a slow rate's
# per-call figure includes (its timers, the event follower).
c0=$(cpu_ticks)
sleep "$STEP"
idle=$(awk -v a="$c0" -v b="$(cpu_ticks)" -v h="$hz" -v s="$STEP" \
  'BEGIN { printf "%.2f", (b - a) / h / s * 100 }')
echo "siplined idle: $idle % CPU (no calls, $STEP s)"
echo
echo "| callee | rate/s | achieved/s | calls ok | failed | retrans | siplined CPU µs/call | siplined CPU % | load before / after |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
declare -A best
for target in $TARGETS; do
  best[$target]=0
  for r in $RATES; do
    if step "$target" "$r" || { sleep 2 && step "$target" "$r"; }; then
      best[$target]=$r
    else
      break
    fi
    sleep 1 # let the last calls' transactions (Timer J, K) drain
  done
done
echo
for target in $TARGETS; do
  echo "highest rate with no failed call: $target ${best[$target]}/s"
done
echo "(of the rates tried: $RATES; a callee that passed the last one may go higher)"
# RSS, and the heap in use vs held free by malloc (siplined's status), to
# tell a leak from memory not yet given back; again 5 s and 35 s later
# (Timers J and H, 16 s by default, keep the last transactions a while).
mem() {
  awk '/^VmRSS/ { printf "RSS %d KiB", $2 }' "/proc/$pid/status"
  sd_ctl sd --json status 2>/dev/null | jq -r 'select(.heap) | .heap |
    "; heap in use \(.in_use / 1024 | floor) KiB, free \(.free / 1024 | floor) KiB"' |
    tr -d '\n' || true
}
echo "siplined after the run: $(mem); load average $(cut -d' ' -f1-3 /proc/loadavg)"
sleep 5
echo "siplined 5 s later: $(mem)"
sleep 30
echo "siplined 35 s later: $(mem)"
stop_siplined sd
