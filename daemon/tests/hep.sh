#!/usr/bin/env bash
# siplined --hep (ctest integration.daemon_hep): every SIP message also goes
# to a HEPv3 collector over UDP (daemon/trace.c shep_encode). A python3
# collector on 127.0.0.1 decodes each packet strictly: magic "HEP3", the
# total length equal to the datagram, chunks (vendor 0) that exactly fill
# it: 1 IP family (2 = IPv4), 2 IP protocol (17 = UDP), 3/4 IPv4 source and
# destination, 7/8 ports, 9/10 timestamp (seconds within the test, micro-
# seconds < 10^6), 11 protocol type (1 = SIP), 12 capture id (--hep-id),
# 15 payload. siplined registers over UDP with a SIPp registrar that
# challenges (401) and then accepts (200); the test asserts that the
# REGISTER, the 401, the authenticated REGISTER and its 200 arrive as HEP
# packets with the right addresses and ports (REGISTER: siplined -> SIPp;
# responses: SIPp -> siplined), payloads starting "REGISTER sip:" /
# "SIP/2.0 401" / "SIP/2.0 200", and that the password is in no payload.
# Every process started here is stopped by PID.
#   hep.sh SIPLINED SIPLINECTL SIPP WORKDIR
set -euo pipefail
SIPLINED=$1 CTL=$2 SIPP=$3 WORK=$4
HERE=$(cd "$(dirname "$0")" && pwd)
PASSWORD=HepS3cretPw
HEP_ID=4242
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
  echo "--- siplined log"; tail -n 40 siplined.log || true
  echo "--- collector"; tail -n 20 hep.jsonl collector.err 2>/dev/null || true
  echo "--- sipp"; tail -n 20 sipp.out sipp.log 2>/dev/null || true
  exit 1
}

# Three ports free on 127.0.0.1 (UDP): the registrar, siplined, the
# collector.
read -r sp lp hp < <(python3 - <<'PY'
import random, socket
got = []
while len(got) < 3:
    p = random.randrange(20000, 60000)
    ok = True
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        s.close()
    if ok and p not in got:
        got.append(p)
print(*got)
PY
)

python3 - "$hp" >hep.jsonl 2>collector.err <<'PY' &
# The collector: one JSON line per datagram, "errors" lists every way the
# packet breaks HEPv3 (empty when it is well formed).
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print(json.dumps({"ready": True}), flush=True)
while True:
    d = s.recv(70000)
    err, ch = [], {}
    if d[:4] != b"HEP3":
        err.append("magic %r" % d[:4])
    if len(d) < 6 or int.from_bytes(d[4:6], "big") != len(d):
        err.append("total length %s != %d" % (d[4:6].hex(), len(d)))
    o = 6
    while o < len(d):
        if o + 6 > len(d):
            err.append("truncated chunk header at %d" % o)
            break
        vendor = int.from_bytes(d[o:o + 2], "big")
        typ = int.from_bytes(d[o + 2:o + 4], "big")
        ln = int.from_bytes(d[o + 4:o + 6], "big")
        if ln < 6 or o + ln > len(d):
            err.append("chunk %d length %d at %d overruns %d" % (typ, ln, o, len(d)))
            break
        if vendor != 0:
            err.append("chunk %d vendor %d" % (typ, vendor))
        if typ in ch:
            err.append("chunk %d twice" % typ)
        ch[typ] = d[o + 6:o + ln]
        o += ln
    sizes = {1: 1, 2: 1, 3: 4, 4: 4, 7: 2, 8: 2, 9: 4, 10: 4, 11: 1, 12: 4}
    for t, n in sizes.items():
        if t not in ch:
            err.append("chunk %d missing" % t)
        elif len(ch[t]) != n:
            err.append("chunk %d has %d bytes, not %d" % (t, len(ch[t]), n))
    if 15 not in ch:
        err.append("chunk 15 (payload) missing")
    u = lambda t: int.from_bytes(ch.get(t, b""), "big") if t in ch else None
    ip = lambda t: socket.inet_ntoa(ch[t]) if len(ch.get(t, b"")) == 4 else None
    pl = ch.get(15, b"")
    print(json.dumps({
        "errors": err, "family": u(1), "proto": u(2),
        "src": "%s:%s" % (ip(3), u(7)), "dst": "%s:%s" % (ip(4), u(8)),
        "sec": u(9), "usec": u(10), "type": u(11), "id": u(12),
        "payload": pl.decode("utf-8", "replace"),
    }), flush=True)
PY
pids+=($!)
for _ in $(seq 100); do grep -q ready hep.jsonl && break; sleep 0.05; done
grep -q ready hep.jsonl || fail "the collector did not start"

"$SIPP" -nostdin -i 127.0.0.1 -p "$sp" -sf "$HERE/hep_reg_auth.xml" \
  -trace_logs -log_file "$WORK/sipp.log" >sipp.out 2>&1 &
pids+=($!)

cat >profile.xml <<XML
<flat-profile>
  <Proxy_1_>127.0.0.1:$sp</Proxy_1_>
  <User_ID_1_>1001</User_ID_1_>
  <Password_1_>$PASSWORD</Password_1_>
  <Register_Expires_1_>3600</Register_Expires_1_>
  <SIP_Transport_1_>UDP</SIP_Transport_1_>
</flat-profile>
XML
t_start=$(date +%s)
"$SIPLINED" -c profile.xml -p "$lp" -s ctl.sock -l debug \
  --hep "127.0.0.1:$hp" --hep-id "$HEP_ID" 2>siplined.log &
dpid=$!
pids+=($dpid)
ok=
for _ in $(seq 100); do
  "$CTL" -s ctl.sock --json events 2>/dev/null |
    grep -q '"event":"registered"' && { ok=1; break; }
  sleep 0.1
done
[ -n "$ok" ] || fail "not registered in 10 s"
sleep 0.3 # the 200's HEP copy is sent before the event; UDP on loopback
t_end=$(date +%s)
grep -q "auth ok=true" sipp.log || fail "SIPp did not accept the digest"

python3 - hep.jsonl "127.0.0.1:$lp" "127.0.0.1:$sp" "$HEP_ID" \
  "$PASSWORD" "$t_start" "$t_end" <<'PY' || fail "HEP packets: see above"
import json, sys
path, ua, reg, hep_id, pw, t0, t1 = sys.argv[1:]
hep_id, t0, t1 = int(hep_id), int(t0), int(t1)
pk = [json.loads(l) for l in open(path) if '"ready"' not in l]
bad = []
def want(c, what):
    if not c:
        bad.append(what)
for i, p in enumerate(pk):
    first = p["payload"].split("\r\n")[0]
    tag = "packet %d (%s)" % (i, first)
    want(not p["errors"], "%s: %s" % (tag, p["errors"]))
    want(p["family"] == 2, "%s: IP family %s" % (tag, p["family"]))
    want(p["proto"] == 17, "%s: IP protocol %s" % (tag, p["proto"]))
    want(p["type"] == 1, "%s: protocol type %s (1 = SIP)" % (tag, p["type"]))
    want(p["id"] == hep_id, "%s: capture id %s" % (tag, p["id"]))
    want(p["sec"] is not None and t0 - 1 <= p["sec"] <= t1 + 1,
         "%s: time %s not in [%d, %d]" % (tag, p["sec"], t0, t1))
    want(p["usec"] is not None and p["usec"] < 1000000,
         "%s: usec %s" % (tag, p["usec"]))
    want(pw not in p["payload"], "%s: the password is in the payload" % tag)
    if first.startswith("REGISTER "):
        want(first.startswith("REGISTER sip:"), tag)
        want(p["src"] == ua and p["dst"] == reg,
             "%s: %s -> %s, not %s -> %s" % (tag, p["src"], p["dst"], ua, reg))
    elif first.startswith("SIP/2.0 "):
        want(p["src"] == reg and p["dst"] == ua,
             "%s: %s -> %s, not %s -> %s" % (tag, p["src"], p["dst"], reg, ua))
    else:
        bad.append("%s: neither a REGISTER nor a response" % tag)
def hdr(p, name):
    for l in p["payload"].split("\r\n"):
        if l.lower().startswith(name.lower() + ":"):
            return l.split(":", 1)[1].strip()
regs = [p for p in pk if p["payload"].startswith("REGISTER sip:")]
r401 = [p for p in pk if p["payload"].startswith("SIP/2.0 401")]
r200 = [p for p in pk if p["payload"].startswith("SIP/2.0 200")]
auth = [p for p in regs if hdr(p, "Authorization")]
want(len(regs) >= 2, "%d REGISTERs, want >= 2" % len(regs))
want(len(r401) >= 1 and len(r200) >= 1, "401s %d, 200s %d" % (len(r401), len(r200)))
want(auth and "Digest" in hdr(auth[0], "Authorization"),
     "no REGISTER with Authorization: Digest")
# The 200 answers the authenticated REGISTER: same Call-ID and CSeq.
if auth and r200:
    want(hdr(r200[0], "Call-ID") == hdr(auth[0], "Call-ID") and
         hdr(r200[0], "CSeq") == hdr(auth[0], "CSeq"),
         "the 200 (%s, %s) does not answer the authenticated REGISTER (%s, %s)"
         % (hdr(r200[0], "Call-ID"), hdr(r200[0], "CSeq"),
            hdr(auth[0], "Call-ID"), hdr(auth[0], "CSeq")))
    want(pk.index(auth[0]) < pk.index(r200[0]), "the 200 before its REGISTER")
for b in bad:
    print("HEP:", b)
print("HEP: %d packets (%d REGISTER, %d 401, %d 200), capture id %d, %s <-> %s"
      % (len(pk), len(regs), len(r401), len(r200), hep_id, ua, reg))
sys.exit(1 if bad else 0)
PY

kill -TERM "$dpid"
wait "$dpid" || fail "siplined exit status $?"
echo "PASS daemon_hep"
