#!/usr/bin/env python3
"""Where a process's glibc heap pages go: a walk of the main arena's chunks.

    bench/fleet/heapwalk.py PID [SIZE]

Stops PID (SIGSTOP) for the time it reads /proc/PID/pagemap and the [heap]
mapping through /proc/PID/mem, resumes it, then walks the chunks from the
start of [heap] to the top chunk and prints: the resident pages, the live
(in-use) bytes, the resident pages by how full of live blocks they are, the
sizes of the live chunks overall and of those in pages under a quarter live
(the ones that pin pages malloc_trim cannot give back). With SIZE, the first
bytes of a few such chunks of that size (to tell whose they are).
Caveats: chunks in tcache and fastbins count as live (malloc_trim
consolidates fastbins); other arenas and mmapped blocks are not walked.
Needs root or ptrace rights over PID. Used for bench/README "Memory".
"""
import collections
import os
import signal
import struct
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    pid = int(sys.argv[1])
    want = int(sys.argv[2]) if len(sys.argv) > 2 else None
    heap = [l for l in open(f'/proc/{pid}/maps').read().splitlines()
            if l.endswith('[heap]')]
    if not heap:
        sys.exit('no [heap] mapping')
    lo, hi = [int(x, 16) for x in heap[0].split()[0].split('-')]
    pg = os.sysconf('SC_PAGE_SIZE')
    npages = (hi - lo) // pg
    os.kill(pid, signal.SIGSTOP)
    try:
        # pagemap first: reading the memory would fault pages in
        with open(f'/proc/{pid}/pagemap', 'rb') as f:
            f.seek((lo // pg) * 8)
            ent = f.read(npages * 8)
        with open(f'/proc/{pid}/mem', 'rb') as f:
            f.seek(lo)
            mem = f.read(hi - lo)
    finally:
        os.kill(pid, signal.SIGCONT)
    resident = [(struct.unpack_from('<Q', ent, i * 8)[0] >> 63) & 1
                for i in range(npages)]
    chunks = []
    off = 0
    while off + 16 <= len(mem):
        sz = struct.unpack_from('<Q', mem, off + 8)[0] & ~7
        if sz < 16 or off + sz > len(mem):
            break
        chunks.append((off, sz))
        off += sz
    live_in_page = [0] * npages
    live = []
    free_b = 0
    for i, (o, sz) in enumerate(chunks[:-1]):  # the last is the top chunk
        nxt = chunks[i + 1][0]
        if struct.unpack_from('<Q', mem, nxt + 8)[0] & 1:  # PREV_INUSE
            live.append((o, sz))
            a = o
            while a < o + sz:
                p = a // pg
                end = min(o + sz, (p + 1) * pg)
                live_in_page[p] += end - a
                a = end
        else:
            free_b += sz
    print(f'[heap] {hi - lo} B = {npages} pages, {sum(resident)} resident')
    print(f'live chunks {len(live)} ({sum(s for _, s in live)} B), '
          f'free chunks {free_b} B')
    fill = collections.Counter(min(live_in_page[i] * 10 // pg, 10)
                               for i in range(npages) if resident[i])
    print('resident pages by live tenths:', sorted(fill.items()))
    sparse = collections.Counter()
    every = collections.Counter()
    for o, sz in live:
        every[sz] += 1
        if live_in_page[o // pg] < pg // 4:
            sparse[sz] += 1
    print('live chunk sizes:', every.most_common(20))
    print('in pages under 1/4 live:', sparse.most_common(20))
    if want:
        k = 0
        for o, sz in live:
            if sz == want and live_in_page[o // pg] < pg // 4:
                print(hex(lo + o), mem[o + 16:o + min(sz, 96)])
                k += 1
                if k == 8:
                    break


if __name__ == '__main__':
    main()
