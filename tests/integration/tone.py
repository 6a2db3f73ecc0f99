#!/usr/bin/env python3
"""tone.py gen FILE HZ SECONDS   writes an 8 kHz mono 16-bit WAV tone
   tone.py measure FILE           prints 'freq=<Hz> rms=<dBFS> seconds=<s>'
Goertzel over 300..3400 Hz in 5 Hz steps on the loudest second: the
frequency whose power is highest. Python's standard library only."""
import math, struct, sys, wave

def gen(path, hz, secs):
    n = int(8000 * secs)
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / 8000))) for i in range(n)))

def goertzel(x, f, rate):
    k = 2 * math.cos(2 * math.pi * f / rate)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2

def measure(path):
    with wave.open(path, "rb") as w:
        rate = w.getframerate()
        raw = w.readframes(w.getnframes())
    # Count the samples actually there: linphonec's recorder (mediastreamer
    # MSFileRec) writes a data chunk size 44 bytes (its header) too large.
    n = len(raw) // 2
    x = struct.unpack("<%dh" % n, raw[:2 * n])
    best, at = None, 0
    for s in range(0, max(1, len(x) - rate), rate // 2):  # loudest second
        e = sum(v * v for v in x[s:s + rate])
        if best is None or e > best:
            best, at = e, s
    seg = x[at:at + rate]
    rms = math.sqrt(sum(v * v for v in seg) / max(1, len(seg)))
    f = max(range(300, 3401, 5), key=lambda h: goertzel(seg, h, rate))
    db = 20 * math.log10(rms / 32768) if rms > 0 else -999
    print("freq=%d rms=%.1f seconds=%.2f" % (f, db, n / rate))

if sys.argv[1] == "gen":
    gen(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
else:
    measure(sys.argv[2])
