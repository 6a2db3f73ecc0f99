#!/usr/bin/env python3
"""Sends one NOTIFY Event: xml-service to siplined over UDP, answering its
digest challenge (RFC 2617, qop=auth, MD5) with the given password, and
prints the final status code.
  notify_client.py PORT USER PASSWORD URL
"""
import hashlib
import random
import re
import socket
import sys

port, user, password, url = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    sys.argv[4]
body = ('<CiscoIPPhoneExecute><ExecuteItem Priority="0" URL="%s"/>'
        '</CiscoIPPhoneExecute>' % url)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(3)
lport = s.getsockname()[1]
ruri = "sip:%s@127.0.0.1:%d" % (user, port)
callid = "%x@notify" % random.getrandbits(64)


def send(cseq, auth=None):
    h = ["NOTIFY %s SIP/2.0" % ruri,
         "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%x" %
         (lport, random.getrandbits(48)),
         "Max-Forwards: 70",
         "From: <sip:server@127.0.0.1>;tag=srv1",
         "To: <sip:%s@127.0.0.1>" % user,
         "Call-ID: " + callid,
         "CSeq: %d NOTIFY" % cseq,
         "Event: xml-service",
         "Content-Type: application/x-cisco-remotecc-request+xml"]
    if auth:
        h.append("Authorization: " + auth)
    h.append("Content-Length: %d" % len(body))
    s.sendto(("\r\n".join(h) + "\r\n\r\n" + body).encode(),
             ("127.0.0.1", port))
    while True:
        r = s.recv(65536).decode()
        code = int(r.split(" ")[1])
        if code >= 200:
            return code, r


code, r = send(1)
if code == 401:
    m = re.search(r"WWW-Authenticate:\s*Digest\s+(.*)", r, re.I)
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', m.group(1)))
    realm, nonce = params["realm"], params["nonce"]
    cnonce, nc = "%x" % random.getrandbits(32), "00000001"
    md5 = lambda x: hashlib.md5(x.encode()).hexdigest()
    ha1 = md5("%s:%s:%s" % (user, realm, password))
    ha2 = md5("NOTIFY:" + ruri)
    resp = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
    auth = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s"' %
            (user, realm, nonce, ruri, resp, nc, cnonce))
    code, r = send(2, auth)
print(code)
