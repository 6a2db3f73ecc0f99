#!/usr/bin/env python3
"""Prints what SIPp measured in one bench/notify run.

    summarize.py ELAPSED_SECONDS DIR...

Each DIR holds one SIPp process's files: its -trace_counts CSV (per
scenario message: Sent, Retrans, Recv, Timeout, Unexp; *_counts.csv) and
its -trace_stat CSV (FailedCall; the other *_.csv). The figures are summed.
"""
import csv
import sys

import glob

elapsed = float(sys.argv[1])
tot = {}
failed = 0
for d in sys.argv[2:]:
    for counts in glob.glob(d + "/*_counts.csv"):
        rows = list(csv.reader(open(counts), delimiter=";"))
        hdr, last = rows[0], rows[-1]
        for h, v in zip(hdr, last):
            parts = h.split("_")  # "3_200_Recv", "0_NOTIFY_Retrans"
            if len(parts) < 3 or not v.strip().isdigit():
                continue
            key = (parts[1], parts[2])
            tot[key] = tot.get(key, 0) + int(v)
    for stat in glob.glob(d + "/*_.csv"):
        try:
            srows = list(csv.DictReader(open(stat), delimiter=";"))
            failed += int(float(srows[-1].get("FailedCall(C)", 0) or 0))
        except (OSError, IndexError, ValueError):
            pass
ok = tot.get(("200", "Recv"), 0)
ch = tot.get(("401", "Recv"), 0)
sent = tot.get(("NOTIFY", "Sent"), 0)
retr = tot.get(("NOTIFY", "Retrans"), 0)
tmo = sum(v for (_, k), v in tot.items() if k == "Timeout")
unexp = sum(v for (_, k), v in tot.items() if k == "Unexp")
print(f"  elapsed {elapsed:.1f} s; NOTIFYs sent {sent} (+{retr} retransmissions)")
print(f"  answered 200 (authenticated, accepted): {ok} = {ok / elapsed:.0f}/s")
print(f"  answered 401 (challenges):              {ch} = {ch / elapsed:.0f}/s")
print(f"  requests answered in all:               {ok + ch} = "
      f"{(ok + ch) / elapsed:.0f}/s")
print(f"  failures: {failed} failed calls, {tmo} timeouts, "
      f"{unexp} unexpected messages")
