#!/usr/bin/env python3
"""Checks that a PNG screenshot shows a picture, with the standard library
only: the size is the one asked for, it is not one colour, enough of it is
drawn on, and the given colours (RRGGBB, as the SVG fills) appear in areas
of at least MIN_PIXELS each (so they are shapes, not antialiased edges).

Usage: pngcheck.py FILE.png WIDTH HEIGHT [RRGGBB ...]
Exit 0 when all hold; 1 with one line per failure."""
import struct
import sys
import zlib

MIN_PIXELS = 40


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unexpected PNG format: depth %d, colour type %d, "
                         "interlace %d" % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    colours = [tuple(int(c[k:k + 2], 16) for k in (0, 2, 4))
               for c in sys.argv[4:]]
    w, h, bpp, rows = read_png(path)
    fails = []
    if (w, h) != (want_w, want_h):
        fails.append("size %dx%d, wanted %dx%d" % (w, h, want_w, want_h))
    counts = {}
    for line in rows:
        for x in range(0, len(line), bpp):
            px = (line[x], line[x + 1], line[x + 2])
            counts[px] = counts.get(px, 0) + 1
    total = w * h
    white = counts.get((255, 255, 255), 0)
    if len(counts) < 2:
        fails.append("one colour only")
    drawn = 1 - white / total
    if drawn < 0.05:
        fails.append("only %.1f%% of the pixels are not white" % (100 * drawn))
    for c in colours:
        n = sum(v for k, v in counts.items()
                if all(abs(k[i] - c[i]) <= 3 for i in range(3)))
        if n < MIN_PIXELS:
            fails.append("colour #%02x%02x%02x: %d pixels (wanted >= %d)"
                         % (c + (n, MIN_PIXELS)))
    for f in fails:
        print("pngcheck: %s: %s" % (path, f))
    if not fails:
        print("pngcheck: %s: %dx%d, %d colours, %.1f%% drawn, all %d colours "
              "present" % (path, w, h, len(counts), 100 * drawn, len(colours)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
