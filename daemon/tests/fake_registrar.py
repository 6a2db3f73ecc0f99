#!/usr/bin/env python3
"""A registrar for siplined's own tests: answers every REGISTER with 200 OK
(echoing Contact and Expires) over TCP or TLS (SIPp has no TLS here), and
logs one line per request: "<transport> <sni> REGISTER expires=<n>".

  fake_registrar.py --tls CERT KEY --port P --log FILE
  fake_registrar.py --tcp --port P --log FILE
"""
import argparse
import re
import socket
import ssl
import sys
import threading


def answer(req):
    head = req.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    keep = []
    exp = None
    for l in lines[1:]:
        name = l.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq",
                    "contact", "m"):
            keep.append(l)
        elif name in ("to", "t"):
            keep.append(l + ";tag=fake1")
        elif name == "expires":
            keep.append(l)
            exp = l.split(":", 1)[1].strip()
    m = re.search(r"expires=(\d+)", head, re.I)
    if exp is None and m:
        exp = m.group(1)
    resp = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + \
        "\r\nServer: fake-registrar\r\nContent-Length: 0\r\n\r\n"
    return resp, lines[0].split(" ")[0], exp


def serve(conn, tp, sni, log):
    buf = b""
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            return
        buf += data
        while b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"content-length\s*:\s*(\d+)", head, re.I)
            n = int(m.group(1)) if m else 0
            if len(rest) < n:
                break
            req = (head + b"\r\n\r\n").decode("utf-8", "replace")
            buf = rest[n:]
            if req.startswith("SIP/2.0"):
                continue
            resp, method, exp = answer(req)
            with open(log, "a") as f:
                f.write("%s %s %s expires=%s\n" % (tp, sni.get("name") or "-",
                                                   method, exp))
            conn.sendall(resp.encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.host, a.port))
    srv.listen(8)
    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
    print("ready", flush=True)
    while True:
        c, _ = srv.accept()
        sni = {}
        tp = "TCP"
        if ctx:
            tp = "TLS"

            def cb(sock, name, _ctx, sni=sni):
                sni["name"] = name
            ctx.sni_callback = cb
            try:
                c = ctx.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError) as e:
                with open(a.log, "a") as f:
                    f.write("TLS-FAIL %s\n" % e)
                c.close()
                continue
        threading.Thread(target=serve, args=(c, tp, sni, a.log),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
