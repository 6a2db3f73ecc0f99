#!/usr/bin/env bash
# siplined resolves the core's DNS questions with c-ares (--dns-server):
# Proxy = a domain with Use_DNS_SRV -> SRV _sip._udp.<domain> -> two
# targets -> A records -> registered at the priority-0 target; with that
# target frozen, the line fails over to the SRV backup (R1, R5a); with
# SIP_Transport Auto the first question is NAPTR (RFC 3263). The SRV
# records have TTL 0 (use once): the REGISTER that used them asks again at
# once (issue 10 item 9: DNS answers follow their TTLs).
# Every process started here is stopped by PID.
#   dns.sh SIPLINED SIPLINECTL SIPP WORKDIR
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
wait_event() { # SOCK PATTERN TRIES
  for _ in $(seq "$3"); do
    "$CTL" -s "$1" --json events 2>/dev/null | grep -q "$2" && return 0
    sleep 0.1
  done
  return 1
}
port=$((20000 + RANDOM % 20000))
p1=$((port + 1)) p2=$((port + 2)) dport=$((port + 3))
for p in $p1 $p2; do
  "$SIPP" -nostdin -i 127.0.0.1 -p $p -sf "$HERE/reg_uas.xml" \
    >sipp$p.out 2>&1 &
  pids+=($!)
done
sp1=${pids[0]}
cat >zone.json <<JSON
{ "sipline.test": { "naptr": [ "10 50 s SIP+D2U \\"\\" _sip._udp.sipline.test" ] },
  "_sip._udp.sipline.test": { "srv": [ "0 1 $p1 pbx1.sipline.test",
                                        "1 1 $p2 pbx2.sipline.test" ],
                               "ttl": 0 },
  "pbx1.sipline.test": { "a": [ "127.0.0.1" ] },
  "pbx2.sipline.test": { "a": [ "127.0.0.1" ] } }
JSON
python3 "$HERE/fake_dns.py" $dport zone.json dns-queries.log >dns.txt 2>&1 &
pids+=($!)
for _ in $(seq 60); do grep -q ready dns.txt && break; sleep 0.05; done
cat >profile.xml <<XML
<flat-profile>
  <Proxy_1_>sipline.test</Proxy_1_>
  <Use_DNS_SRV_1_>Yes</Use_DNS_SRV_1_>
  <DNS_SRV_Auto_Prefix_1_>Yes</DNS_SRV_Auto_Prefix_1_>
  <User_ID_1_>1001</User_ID_1_>
  <Password_1_>DnsSecret</Password_1_>
  <Register_Expires_1_>60</Register_Expires_1_>
  <Proxy_Fallback_Intvl_1_>600</Proxy_Fallback_Intvl_1_>
  <SIP_Timer_F>2</SIP_Timer_F>
</flat-profile>
XML
"$SIPLINED" -c profile.xml -p $((port + 10)) -s ctl.sock \
  --dns-server 127.0.0.1:$dport -l debug 2>siplined.log &
d=$!
pids+=($d)
wait_event ctl.sock "\"event\":\"registered\",\"server\":\"127.0.0.1:$p1\"" 50 ||
  wait_event ctl.sock "\"registered\".*127.0.0.1:$p1" 1 ||
  fail "not registered at the SRV primary"
grep -q "^SRV _sip._udp.sipline.test" dns-queries.log || fail "no SRV query"
grep -q "^A pbx1.sipline.test" dns-queries.log || fail "no A query"
# TTL 0: the list was resolved again right after the REGISTER that used it
for _ in $(seq 50); do
  [ "$(grep -c "^SRV _sip._udp.sipline.test" dns-queries.log)" -ge 2 ] && break
  sleep 0.1
done
[ "$(grep -c "^SRV _sip._udp.sipline.test" dns-queries.log)" -ge 2 ] ||
  fail "the SRV answer with TTL 0 was not asked for again"
echo "registered at the SRV primary 127.0.0.1:$p1; questions asked:"
sort -u dns-queries.log
kill -STOP $sp1
# a new profile (another expiry) makes the line register again now
sed -i 's|<Register_Expires_1_>60<|<Register_Expires_1_>61<|' profile.xml
"$CTL" -s ctl.sock send '{"cmd":"reload"}' >/dev/null
wait_event ctl.sock "\"registered\".*127.0.0.1:$p2" 80 ||
  fail "no failover to the SRV backup"
"$CTL" -s ctl.sock events
"$CTL" -s ctl.sock status
kill -TERM $d
wait $d || true

# SIP_Transport Auto: NAPTR first (RFC 3263), then the SRV it names
kill -CONT $sp1
sed -e 's|<Use_DNS_SRV_1_>Yes</Use_DNS_SRV_1_>|<SIP_Transport_1_>Auto</SIP_Transport_1_>|' \
  -e '/DNS_SRV_Auto_Prefix/d' profile.xml >auto.xml
: >dns-queries.log
"$SIPLINED" -c auto.xml -p $((port + 10)) -s auto.sock \
  --dns-server 127.0.0.1:$dport -l debug 2>auto.log &
d=$!
pids+=($d)
wait_event auto.sock '"event":"registered"' 50 || fail "Auto: not registered"
grep -q "^NAPTR sipline.test" dns-queries.log || fail "Auto: no NAPTR query"
grep -q "^SRV _sip._udp.sipline.test" dns-queries.log ||
  fail "Auto: no SRV query after the NAPTR"
echo "Auto: registered through NAPTR -> SRV -> A:"
cat dns-queries.log
kill -TERM $d
wait $d || true
echo PASS
