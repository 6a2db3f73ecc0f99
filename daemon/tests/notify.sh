#!/usr/bin/env bash
# siplined executes a CiscoIPPhoneExecute pushed by an authenticated NOTIFY
# (SPEC R17-R21): the right password -> 200 and the URL is fetched (a
# "fetch" event with status 200 and object CiscoIPPhoneText); a wrong
# password -> 401 and nothing is fetched. Every process is stopped by PID.
#   notify.sh SIPLINED SIPLINECTL WORKDIR
set -euo pipefail
SIPLINED=$1 CTL=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK"
mkdir -p "$WORK/www"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -n 40 "$WORK/siplined.log" || true
  exit 1
}
hport=$((20000 + RANDOM % 20000))
sport=$((hport + 1))
cat >"$WORK/www/text.xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<CiscoIPPhoneText><Title>sipline</Title><Text>hello</Text></CiscoIPPhoneText>
XML
(cd "$WORK/www" && exec python3 -m http.server "$hport" --bind 127.0.0.1) \
  >"$WORK/http.log" 2>&1 &
pids+=($!)
cat >"$WORK/profile.xml" <<XML
<flat-profile>
  <Proxy_1_>127.0.0.1:9</Proxy_1_>
  <Register_1_>No</Register_1_>
  <User_ID_1_>1001</User_ID_1_>
  <Password_1_>N0tifySecret</Password_1_>
</flat-profile>
XML
sock="$WORK/ctl.sock"
"$SIPLINED" -c "$WORK/profile.xml" -p "$sport" -s "$sock" -l debug \
  2>"$WORK/siplined.log" &
dpid=$!
pids+=($dpid)
for _ in $(seq 50); do
  [ -S "$sock" ] && break
  sleep 0.1
done
for _ in $(seq 50); do # the web server is up when it answers
  python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$hport/text.xml')" \
    2>/dev/null && break
  sleep 0.1
done
url="http://127.0.0.1:$hport/text.xml"

code=$(python3 "$HERE/notify_client.py" "$sport" 1001 WrongPassword "$url?bad")
echo "wrong password: $code"
[ "$code" = 401 ] || fail "wrong password answered $code"
code=$(python3 "$HERE/notify_client.py" "$sport" 1001 N0tifySecret "$url")
echo "right password: $code"
[ "$code" = 200 ] || fail "right password answered $code"

for _ in $(seq 50); do
  "$CTL" -s "$sock" --json events | grep -q '"event":"fetch"' && break
  sleep 0.1
done
"$CTL" -s "$sock" events
ev=$("$CTL" -s "$sock" --json events | grep '"event":"fetch"') ||
  fail "no fetch event"
echo "$ev" | grep -q '"status":200' || fail "fetch status: $ev"
echo "$ev" | grep -q '"object":"CiscoIPPhoneText"' || fail "object: $ev"
echo "$ev" | grep -q '?bad' && fail "the wrong password's URL was fetched"
[ "$(echo "$ev" | wc -l)" -eq 1 ] || fail "more than one fetch"
grep -q "?bad" "$WORK/http.log" && fail "the web server saw the bad URL"
grep -q "N0tifySecret" "$WORK/siplined.log" && fail "password in the log"
grep -Eq 'response="[0-9a-f]{32}"' "$WORK/siplined.log" &&
  fail "a digest response in the log"
kill -TERM "$dpid"
wait "$dpid" || fail "siplined exit status $?"
echo PASS
