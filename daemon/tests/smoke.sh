#!/usr/bin/env bash
# siplined's smoke test (ctest integration.daemon_smoke): the real daemon
# registers with a SIPp registrar on 127.0.0.1; `siplinectl status` shows
# the binding; SIGHUP with the file unchanged does nothing, with a new
# expiry re-registers; SIGTERM un-registers (Expires: 0 seen by
# the registrar) and the daemon exits 0 within 2 s. Every process started
# here is stopped by PID.
#   smoke.sh SIPLINED SIPLINECTL SIPP WORKDIR
set -euo pipefail
SIPLINED=$1 CTL=$2 SIPP=$3 WORK=$4
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK"
mkdir -p "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- siplined log"; tail -n 60 "$WORK/siplined.log" || true
  echo "--- sipp log"; tail -n 20 "$WORK/sipp.log" || true
  exit 1
}
now_ms() { date +%s%3N; }

port=$((20000 + RANDOM % 20000))
base=$((port + 1))
"$SIPP" -nostdin -i 127.0.0.1 -p "$port" -sf "$HERE/reg_uas.xml" \
  -trace_logs -log_file "$WORK/sipp.log" >"$WORK/sipp.out" 2>&1 &
pids+=($!)

cat >"$WORK/profile.xml" <<XML
<flat-profile>
  <Proxy_1_>127.0.0.1:$port</Proxy_1_>
  <User_ID_1_>1001</User_ID_1_>
  <Password_1_>Sm0keSecret</Password_1_>
  <Register_Expires_1_>60</Register_Expires_1_>
</flat-profile>
XML
"$SIPLINED" --check -c "$WORK/profile.xml"
sock="$WORK/ctl.sock"
"$SIPLINED" -c "$WORK/profile.xml" -p "$base" -s "$sock" \
  --trace "$WORK/trace.pcap" -l debug --pid-file "$WORK/siplined.pid" \
  2>"$WORK/siplined.log" &
dpid=$!
pids+=($dpid)

# wait for the binding (at most 5 s)
t0=$(now_ms)
ok=
for _ in $(seq 50); do
  if "$CTL" -s "$sock" --json status 2>/dev/null |
    grep -q "\"registered_at\":\[\"127.0.0.1:$port\"\]"; then
    ok=1
    break
  fi
  sleep 0.1
done
if [ -z "$ok" ]; then
  if ! "$CTL" -s "$sock" --json events --messages | grep -q '"method":"REGISTER"'; then
    echo "SKIP: the core sent no REGISTER (no registration module linked)"
    exit 77
  fi
  fail "not registered after 5 s"
fi
echo "registered in $(($(now_ms) - t0)) ms"
"$CTL" -s "$sock" status
"$CTL" -s "$sock" events | tee "$WORK/events.txt"
grep -q "registered" "$WORK/events.txt" || fail "no registered event"
"$CTL" -s "$sock" --json events | grep -q '"event":"registered"' ||
  fail "no registered event in --json"

# SIGHUP with the file unchanged: nothing happens
kill -HUP "$dpid"
for _ in $(seq 50); do
  "$CTL" -s "$sock" --json events | grep -q '"result":"unchanged"' && break
  sleep 0.1
done
"$CTL" -s "$sock" --json events | grep -q '"result":"unchanged"' ||
  fail "no reload event for an unchanged profile"
# SIGHUP with a new expiry: the line un-registers and registers again
sed -i 's|<Register_Expires_1_>60<|<Register_Expires_1_>90<|' "$WORK/profile.xml"
kill -HUP "$dpid"
for _ in $(seq 50); do
  n=$("$CTL" -s "$sock" --json events | grep -c '"event":"registered"' || true)
  [ "$n" -ge 2 ] && break
  sleep 0.1
done
[ "$n" -ge 2 ] || fail "no second registration after SIGHUP"
"$CTL" -s "$sock" --json events | grep '"event":"registered"' | tail -n 1 |
  grep -q '"expires":90' || fail "the new profile's expiry is not used"
"$CTL" -s "$sock" --json events | grep '"event":"reload"' |
  grep -q '"result":"ok"' || fail "no reload event"

# the device is the same one after the reload (+sip.instance kept)
ninst=$(grep -o 'sip.instance="<urn:uuid:[0-9a-f-]*>"' "$WORK/siplined.log" |
  sort -u | wc -l)
[ "$ninst" -eq 1 ] || fail "$ninst different +sip.instance values"

# SIGTERM: un-REGISTER and exit 0 within 2 s
t0=$(now_ms)
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
dt=$(($(now_ms) - t0))
echo "exit status $rc after SIGTERM in $dt ms"
[ "$rc" -eq 0 ] || fail "exit status $rc"
[ "$dt" -lt 2000 ] || fail "took $dt ms to stop"
[ ! -e "$sock" ] || fail "control socket left behind"
grep -Eiq "REGISTER .*expires[:=] *0([^0-9]|$)" "$WORK/sipp.log" ||
  fail "the registrar saw no REGISTER with Expires 0"

# no password in the log, ever
if grep -q "Sm0keSecret" "$WORK/siplined.log"; then
  fail "the password appears in the log"
fi
# the trace is a pcap tshark reads as SIP
if command -v tshark >/dev/null 2>&1; then
  n=$(tshark -n -r "$WORK/trace.pcap" -Y 'sip.Method == "REGISTER"' 2>/dev/null |
    wc -l)
  echo "tshark: $n REGISTER in the trace"
  [ "$n" -ge 3 ] || fail "tshark found $n REGISTER in the trace"
fi
# and sngrep reads it too
if command -v sngrep >/dev/null 2>&1; then
  out=$(timeout 10 sngrep -I "$WORK/trace.pcap" -N -O "$WORK/sngrep.pcap" 2>&1 </dev/null || true)
  echo "$out" | grep -q "Dialog count: [1-9]" ||
    fail "sngrep found no dialog in the trace: $out"
  echo "sngrep: $(echo "$out" | grep -o 'Dialog count: [0-9]*' | tail -n 1)"
fi
echo PASS
