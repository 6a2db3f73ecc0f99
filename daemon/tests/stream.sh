#!/usr/bin/env bash
# siplined over TCP and TLS against a registrar on 127.0.0.1
# (fake_registrar.py: SIPp has no TLS here):
#  - TLS with --ca-file: registers; the registrar saw SNI "localhost";
#  - TLS without the CA: the certificate is refused (tperr reason=tls), no
#    registration;
#  - TCP: registers; when the registrar dies the closed connection reaches
#    the core at once (tperr closed, server_down reason=transport, R5c).
# Every process started here is stopped by PID.
#   stream.sh SIPLINED SIPLINECTL WORKDIR
set -euo pipefail
SIPLINED=$1 CTL=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -n 30 "$WORK"/*.log || true
  exit 1
}
wait_ready() { # FILE
  for _ in $(seq 100); do
    grep -q ready "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "$1 not ready"
}
wait_event() { # SOCK PATTERN
  for _ in $(seq 50); do
    "$CTL" -s "$1" --json events --messages 2>/dev/null | grep -q "$2" && return 0
    sleep 0.1
  done
  return 1
}
profile() { # FILE PROXY TRANSPORT
  cat >"$1" <<XML
<flat-profile>
  <Proxy_1_>$2</Proxy_1_>
  <SIP_Transport_1_>$3</SIP_Transport_1_>
  <User_ID_1_>1001</User_ID_1_>
  <Password_1_>Str3amSecret</Password_1_>
  <Register_Expires_1_>60</Register_Expires_1_>
  <Reg_Retry_Intvl>30</Reg_Retry_Intvl>
</flat-profile>
XML
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
  -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
port=$((20000 + RANDOM % 20000))

# --- TLS, verified -----------------------------------------------------------
python3 "$HERE/fake_registrar.py" --port "$port" --tls cert.pem key.pem \
  --log tls-reg.log >tls-ready.txt 2>&1 &
pids+=($!)
wait_ready tls-ready.txt
profile tls.xml "localhost:$port" TLS
"$SIPLINED" -c tls.xml -p $((port + 10)) -s tls.sock --ca-file cert.pem \
  -l debug 2>tls.log &
d1=$!
pids+=($d1)
wait_event tls.sock '"event":"registered"' || fail "TLS: not registered"
grep -q "^TLS localhost REGISTER expires=60" tls-reg.log ||
  fail "TLS: the registrar saw no SNI localhost"
echo "TLS: registered, SNI localhost"
kill -TERM $d1
wait $d1 || fail "TLS: exit status $?"
grep -q "^TLS localhost REGISTER expires=0" tls-reg.log ||
  fail "TLS: no un-REGISTER"

# --- TLS, unknown CA -----------------------------------------------------------
"$SIPLINED" -c tls.xml -p $((port + 10)) -s tls2.sock -l info 2>tls2.log &
d2=$!
pids+=($d2)
wait_event tls2.sock '"event":"tperr".*"reason":"tls"' ||
  fail "TLS: an unknown CA was not refused"
"$CTL" -s tls2.sock --json events | grep -q '"event":"registered"' &&
  fail "TLS: registered through an unverified certificate"
echo "TLS: self-signed certificate refused without --ca-file"
kill -TERM $d2
wait $d2 || true

# --- TCP, then the registrar dies ---------------------------------------------
python3 "$HERE/fake_registrar.py" --port $((port + 1)) --log tcp-reg.log \
  >tcp-ready.txt 2>&1 &
rpid=$!
pids+=($rpid)
wait_ready tcp-ready.txt
profile tcp.xml "127.0.0.1:$((port + 1))" TCP
"$SIPLINED" -c tcp.xml -p $((port + 20)) -s tcp.sock -l info 2>tcp.log &
d3=$!
pids+=($d3)
wait_event tcp.sock '"event":"registered"' || fail "TCP: not registered"
echo "TCP: registered"
t0=$(date +%s%3N)
kill -9 $rpid
wait_event tcp.sock '"event":"server_down".*"reason":"transport"' ||
  fail "TCP: a closed connection did not take the server down"
echo "TCP: server_down after the registrar died, in $(($(date +%s%3N) - t0)) ms"
"$CTL" -s tcp.sock events --messages | tail -n 5
kill -TERM $d3
wait $d3 || fail "TCP: exit status $?"
# --- TCP over IPv6 (when the host has ::1) ------------------------------------
if python3 -c "import socket; socket.socket(socket.AF_INET6).bind(('::1', 0))" \
  2>/dev/null; then
  python3 "$HERE/fake_registrar.py" --host ::1 --port $((port + 2)) \
    --log v6-reg.log >v6-ready.txt 2>&1 &
  pids+=($!)
  wait_ready v6-ready.txt
  profile v6.xml "[::1]:$((port + 2))" TCP
  "$SIPLINED" -c v6.xml -p $((port + 30)) -b 127.0.0.1 -b ::1 -s v6.sock \
    --trace v6.pcap -l info 2>v6.log &
  d4=$!
  pids+=($d4)
  wait_event v6.sock '"event":"registered","server":"\[::1\]' ||
    fail "IPv6: not registered"
  kill -TERM $d4
  wait $d4 || fail "IPv6: exit status $?"
  if command -v tshark >/dev/null 2>&1; then
    tshark -n -r v6.pcap 2>/dev/null | grep -q "::1 .* ::1 .*SIP.*REGISTER" ||
      fail "IPv6: tshark does not see the REGISTER in the trace"
  fi
  echo "IPv6: registered at [::1] over TCP"
else
  echo "IPv6: no ::1 on this host, skipped"
fi
grep -q "Str3amSecret" ./*.log && fail "password in a log"
echo PASS
