#!/usr/bin/env bash
# siplined --max-pending (daemon/pace.c): 200 lines on one UDP port register
# at a registrar that answers each REGISTER 0.1 s after it came
# (slow_registrar.py, which counts the requests waiting for their answer at
# once). With --max-pending 8 at most 8 wait and all 200 lines register;
# with 0 (no window) far more wait at once, which shows the count can fail.
#   window.sh SIPLINED SIPLINECTL WORKDIR
set -euo pipefail
SIPLINED=$1 CTL=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
N=200
rm -rf "$WORK"
mkdir -p "$WORK"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -n 20 "$WORK"/*.log 2>/dev/null || true
  exit 1
}

run() { # WINDOW -> prints the registrar's line
  local w=$1 port=$((20000 + RANDOM % 20000)) out="$WORK/reg-$1.txt"
  local lport=$((port + 1)) i
  python3 "$HERE/slow_registrar.py" --port "$port" --delay 0.1 --users $N \
    --out "$out" >"$WORK/reg-$w.log" 2>&1 &
  local rpid=$!
  pids+=($rpid)
  # bound before the lines send (an ICMP error would fail them over)
  for ((i = 0; i < 50; i++)); do
    ss -Hlnu "sport = :$port" | grep -q . && break
    sleep 0.1
  done
  {
    echo "<flat-profile>"
    for ((i = 1; i <= N; i++)); do
      echo "<Proxy_${i}_>127.0.0.1:$port</Proxy_${i}_><User_ID_${i}_>u$i</User_ID_${i}_><SIP_Port_${i}_>$lport</SIP_Port_${i}_>"
    done
    echo "</flat-profile>"
  } >"$WORK/p-$w.xml"
  "$SIPLINED" -c "$WORK/p-$w.xml" -s "$WORK/sd-$w.sock" -l warn \
    --max-pending "$w" >"$WORK/sd-$w.log" 2>&1 &
  local spid=$!
  pids+=($spid)
  for ((i = 0; i < 300; i++)); do
    [ -s "$out" ] && break
    sleep 0.1
  done
  kill "$spid" 2>/dev/null || true
  kill "$rpid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    [ -s "$out" ] && break
    sleep 0.1
  done
  [ -s "$out" ] || fail "window $w: no result from the registrar"
  cat "$out"
}

r8=$(run 8)
echo "--max-pending 8: $r8"
max8=$(sed 's/.*max_outstanding=\([0-9]*\).*/\1/' <<<"$r8")
users8=$(sed 's/.*users=\([0-9]*\).*/\1/' <<<"$r8")
[ "$users8" -eq $N ] || fail "with --max-pending 8 only $users8 of $N lines registered"
[ "$max8" -le 8 ] || fail "with --max-pending 8, $max8 REGISTERs waited at once"
[ "$max8" -ge 4 ] || fail "with --max-pending 8 only $max8 at once: no window used"

r0=$(run 0)
echo "--max-pending 0: $r0"
max0=$(sed 's/.*max_outstanding=\([0-9]*\).*/\1/' <<<"$r0")
[ "$max0" -gt 50 ] || fail "without a window only $max0 REGISTERs waited at once"
echo "PASS daemon_window"
