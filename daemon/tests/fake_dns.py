#!/usr/bin/env python3
"""A tiny authoritative DNS server over UDP for siplined's tests: answers
SRV, NAPTR, A and AAAA from a JSON file, NXDOMAIN otherwise, and logs each
question ("SRV _sip._udp.example.test").
  fake_dns.py PORT ZONE.json LOG
ZONE.json: {"_sip._udp.x.test": {"srv": ["0 1 5060 pbx1.x.test"]},
            "pbx1.x.test": {"a": ["127.0.0.1"], "ttl": 300}}
"ttl" (seconds) is the TTL of the name's records, 60 when not given.
"""
import json
import socket
import struct
import sys

port, zone, log = int(sys.argv[1]), json.load(open(sys.argv[2])), sys.argv[3]
zone = {k.lower().rstrip("."): v for k, v in zone.items()}


def name_wire(n):
    out = b""
    for part in n.rstrip(".").split("."):
        out += bytes([len(part)]) + part.encode()
    return out + b"\0"


def parse_name(d, off):
    labels = []
    while d[off]:
        ln = d[off]
        labels.append(d[off + 1:off + 1 + ln].decode())
        off += 1 + ln
    return ".".join(labels), off + 1


def rdata(qtype, v):
    if qtype == 1:
        return socket.inet_pton(socket.AF_INET, v)
    if qtype == 28:
        return socket.inet_pton(socket.AF_INET6, v)
    if qtype == 33:
        p, w, prt, tgt = v.split()
        return struct.pack("!HHH", int(p), int(w), int(prt)) + name_wire(tgt)
    if qtype == 35:  # "order pref flags service regexp replacement"
        o, p, fl, svc, rx, rep = v.split()
        s = lambda x: bytes([len(x.strip('"'))]) + x.strip('"').encode()
        return struct.pack("!HH", int(o), int(p)) + s(fl) + s(svc) + s(rx) \
            + name_wire(rep)


KEYS = {1: "a", 28: "aaaa", 33: "srv", 35: "naptr"}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
print("ready", flush=True)
while True:
    d, peer = s.recvfrom(4096)
    qid, flags, qd = struct.unpack("!HHH", d[:6])
    qname, off = parse_name(d, 12)
    qtype, qclass = struct.unpack("!HH", d[off:off + 4])
    question = d[12:off + 4]
    with open(log, "a") as f:
        f.write("%s %s\n" % ({1: "A", 28: "AAAA", 33: "SRV", 35: "NAPTR"}
                             .get(qtype, str(qtype)), qname))
    rec = zone.get(qname.lower())
    answers = (rec or {}).get(KEYS.get(qtype, "?"), [])
    rcode = 0 if rec else 3
    hdr = struct.pack("!HHHHHH", qid, 0x8400 | rcode, 1, len(answers), 0, 0)
    ttl = int((rec or {}).get("ttl", 60))
    body = b""
    for v in answers:
        rd = rdata(qtype, v)
        body += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, ttl, len(rd)) + rd
    s.sendto(hdr + question + body, peer)
