#!/usr/bin/env bash
# siplined on UDP, the parts the smoke test does not cover:
#  (a) ICMP port unreachable from a dead proxy reaches the core at once
#      (tperr unreachable, server_down reason=transport; R5c), not after
#      Timer F;
#  (b) --hep: every message also goes to a HEPv3 collector;
#  (c) SIGTERM with a frozen registrar: the un-REGISTER is never answered
#      and the daemon still exits 0 within 2 s;
#  (d) a second SIGTERM exits at once (status 1).
# Every process started here is stopped by PID.
#   udp.sh SIPLINED SIPLINECTL SIPP WORKDIR
set -euo pipefail
SIPLINED=$1 CTL=$2 SIPP=$3 WORK=$4
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -CONT "$p" 2>/dev/null || true
    kill -9 "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -n 30 ./*.log || true
  exit 1
}
now_ms() { date +%s%3N; }
wait_event() { # SOCK PATTERN [TRIES]
  for _ in $(seq "${3:-50}"); do
    "$CTL" -s "$1" --json events --messages 2>/dev/null | grep -q "$2" &&
      return 0
    sleep 0.05
  done
  return 1
}
profile() { # FILE PROXY
  cat >"$1" <<XML
<flat-profile>
  <Proxy_1_>$2</Proxy_1_>
  <User_ID_1_>1001</User_ID_1_>
  <Password_1_>UdpSecret</Password_1_>
  <Register_Expires_1_>60</Register_Expires_1_>
  <SIP_Timer_F>16</SIP_Timer_F>
</flat-profile>
XML
}
port=$((20000 + RANDOM % 20000))

# (a) nothing listens on $port: ICMP port unreachable
profile dead.xml "127.0.0.1:$port"
t0=$(now_ms)
"$SIPLINED" -c dead.xml -p $((port + 10)) -s dead.sock 2>dead.log &
d=$!
pids+=($d)
wait_event dead.sock '"event":"server_down".*"reason":"transport"' 40 ||
  fail "(a) no server_down after ICMP unreachable"
dt=$(($(now_ms) - t0))
"$CTL" -s dead.sock --json events --messages |
  grep -q '"event":"tperr".*"reason":"unreachable"' || fail "(a) no tperr"
echo "(a) ICMP unreachable -> server_down in $dt ms (Timer F is 16 s)"
[ "$dt" -lt 3000 ] || fail "(a) took $dt ms"
kill -TERM $d
wait $d || fail "(a) exit status $?"

# (b) + (c): a registrar, a HEP collector, then the registrar freezes
"$SIPP" -nostdin -i 127.0.0.1 -p $((port + 1)) -sf "$HERE/reg_uas.xml" \
  >sipp.out 2>&1 &
sp=$!
pids+=($sp)
python3 - $((port + 2)) >hep.txt 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    d = s.recv(70000)
    ok = d[:4] == b"HEP3" and int.from_bytes(d[4:6], "big") == len(d)
    print("HEP3" if ok else "BAD", d.split(b"\r\n")[0][-40:], flush=True)
PY
hp=$!
pids+=($hp)
for _ in $(seq 60); do grep -q ready hep.txt && break; sleep 0.05; done
profile live.xml "127.0.0.1:$((port + 1))"
"$SIPLINED" -c live.xml -p $((port + 10)) -s live.sock \
  --hep 127.0.0.1:$((port + 2)) 2>live.log &
d=$!
pids+=($d)
wait_event live.sock '"event":"registered"' 100 || fail "(b) not registered"
sleep 0.2
n=$(grep -c '^HEP3' hep.txt || true)
echo "(b) the collector got $n HEPv3 packets"
[ "$n" -ge 2 ] || fail "(b) $n HEP packets"
grep -q '^BAD' hep.txt && fail "(b) a malformed HEP packet"
kill -STOP $sp
t0=$(now_ms)
kill -TERM $d
rc=0
wait $d || rc=$?
dt=$(($(now_ms) - t0))
echo "(c) frozen registrar: exit $rc after $dt ms"
[ "$rc" -eq 0 ] || fail "(c) exit status $rc"
[ "$dt" -lt 2000 ] || fail "(c) took $dt ms"

# (d) the same, with a second SIGTERM 200 ms after the first
kill -CONT $sp
"$SIPLINED" -c live.xml -p $((port + 10)) -s live.sock --shutdown-grace 5000 \
  2>live2.log &
d=$!
pids+=($d)
wait_event live.sock '"event":"registered"' 100 || fail "(d) not registered"
kill -STOP $sp
kill -TERM $d
sleep 0.2
t0=$(now_ms)
kill -TERM $d
rc=0
wait $d || rc=$?
dt=$(($(now_ms) - t0))
echo "(d) second SIGTERM: exit $rc after $dt ms"
[ "$rc" -eq 1 ] || fail "(d) exit status $rc"
[ "$dt" -lt 500 ] || fail "(d) took $dt ms"
grep -q "UdpSecret" ./*.log && fail "password in a log"
echo PASS
