#!/usr/bin/env python3
"""A UDP registrar for siplined's --max-pending test: answers every REGISTER
with 200 OK after DELAY seconds and counts how many distinct requests (by
Via branch; retransmissions are not new) were waiting for their answer at
once. Writes "max_outstanding=N answered=M users=U" to --out on SIGTERM or
when --users distinct users have been answered.

  slow_registrar.py --port P --delay 0.1 --users 200 --out FILE
"""
import argparse
import heapq
import re
import signal
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--delay", type=float, default=0.1)
ap.add_argument("--users", type=int, required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", a.port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
due = []          # (time, seq, addr, response, branch)
waiting = set()   # branches received, not yet answered
answered = set()  # branches answered
users = set()
max_out = 0
seq = 0


def finish(*_):
    with open(a.out, "w") as f:
        f.write("max_outstanding=%d answered=%d users=%d\n"
                % (max_out, len(answered), len(users)))
    sys.exit(0)


signal.signal(signal.SIGTERM, finish)


def response(req):
    head = req.split("\r\n\r\n", 1)[0]
    keep = []
    for l in head.split("\r\n")[1:]:
        name = l.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq",
                    "contact", "m", "expires"):
            keep.append(l)
        elif name in ("to", "t"):
            keep.append(l + ";tag=slow1")
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
            "\r\nContent-Length: 0\r\n\r\n").encode()


while True:
    now = time.monotonic()
    while due and due[0][0] <= now:
        _, _, addr, resp, br, user = heapq.heappop(due)
        s.sendto(resp, addr)
        waiting.discard(br)
        answered.add(br)
        users.add(user)
        if len(users) >= a.users:
            finish()
    s.settimeout(max(0.001, due[0][0] - now) if due else 0.5)
    try:
        data, addr = s.recvfrom(65536)
    except socket.timeout:
        continue
    req = data.decode("latin-1")
    if not req.startswith("REGISTER "):
        continue
    br = re.search(r"branch=([^;,\s]+)", req)
    user = re.search(r"\r\nTo:[^\r]*sip:([^@>;]+)", req, re.I)
    if not br or not user:
        continue
    br = br.group(1)
    if br in waiting or br in answered:
        continue  # a retransmission
    waiting.add(br)
    max_out = max(max_out, len(waiting))
    seq += 1
    heapq.heappush(due, (now + a.delay, seq, addr, response(req), br,
                         user.group(1)))
