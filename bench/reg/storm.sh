#!/usr/bin/env bash
# Registration storms (issue 3 item 8): 10,000 lines registered on one
# server that goes silent; prints the REGISTER rate per second arriving at
# the backup (failover), then at the primary when it comes back (fallback).
# Usage: storm.sh BUILD_DIR [LINES] [EXTRA_PROFILE_KEYS_JSON]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: storm.sh BUILD_DIR [LINES] [EXTRA_KEYS]}
lines=${2:-10000}
extra=${3:-'"Register_Expires_1_": "3600"'}
sim="$build/bin/sipline-sim"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Primary: ok, silent at 100 s (noticed at each line's refresh, ~2808 s),
# back at 3000 s; fallback after min(expiry, Proxy Fallback Intvl) = 3600 s.
"$here/gen.sh" "$lines" 9000 \
  '[{"at":0,"do":"ok"},{"at":100,"do":"silent"},{"at":3000,"do":"ok"}]' \
  '[{"at":0,"do":"ok"}]' "$extra" >"$tmp/storm.json"
start=$(date +%s.%N)
"$sim" "$tmp/storm.json" >"$tmp/tl.jsonl"
end=$(date +%s.%N)
echo "storm: $lines lines, profile keys {$extra}; sim wall $(echo "$end - $start" | bc) s, $(wc -l <"$tmp/tl.jsonl") timeline lines"
hist() { # $1 = server, $2 = from t, $3 = to t, $4 = title
  awk -v srv="$1" -v lo="$2" -v hi="$3" -v title="$4" '
    /"event":"tx"/ && /"method":"REGISTER"/ && index($0, "\"to\":\"" srv "\"") {
      if (match($0, /"t":[0-9.]+/)) t = substr($0, RSTART + 4, RLENGTH - 4) + 0
      if (t < lo || t >= hi) next
      if ($0 ~ /"expires":0[,}]/) next
      s = int(t); c[s]++; n++
      if (n == 1 || t < first) first = t
      if (t > last) last = t
    }
    END {
      printf "\n%s: %d REGISTERs (with their 401 rounds) to %s in [%d, %d) s\n", title, n, srv, lo, hi
      if (!n) exit
      peak = 0; secs = 0
      for (s in c) { secs++; if (c[s] > peak) { peak = c[s]; ps = s } }
      printf "  first %.3f s, last %.3f s, spread %.3f s over %d distinct seconds\n", first, last, last - first, secs
      printf "  peak %d REGISTER/s at second %d, mean %.1f/s over the spread\n", peak, ps, n / (last - first + 1)
      printf "  %8s %8s  %s\n", "second", "count", "(# = " int((peak + 49) / 50) " REGISTERs)"
      rows = 0
      for (s = int(first); s <= int(last) && rows < 40; s++) {
        if (!(s in c)) continue
        bar = ""; w = int(c[s] * 50 / peak + 0.5); if (w < 1) w = 1
        for (j = 0; j < w; j++) bar = bar "#"
        printf "  %8d %8d  %s\n", s, c[s], bar; rows++
      }
      if (rows == 40) printf "  ... (%d more seconds)\n", secs - rows
    }' "$tmp/tl.jsonl"
}
# The primary goes silent at 100 s; each line notices at its refresh
# (2808.04 s) and fails over; the backup refresh comes 2808 s later, so the
# window stops before it. Fallback comes 3600 s after the backup
# registration (min(3600, Proxy Fallback Intvl 3600)).
hist 10.0.0.2:5060 2000 5000 "failover to the backup"
hist 10.0.0.1:5060 6000 8000 "fallback to the primary"
grep -c '"event":"failover"' "$tmp/tl.jsonl" | sed 's/^/failover events: /'
grep -c '"event":"fallback"' "$tmp/tl.jsonl" | sed 's/^/fallback events: /'
