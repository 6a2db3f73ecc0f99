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
      if (first == "" || t < first) first = t
      if (t > last) last = t
    }
    END {
      printf "\n%s: %d REGISTERs to %s in [%d, %d) s\n", title, n, srv, lo, hi
      if (!n) exit
      printf "  first %.3f s, last %.3f s, spread %.3f s\n", first, last, last - first
      peak = 0; for (s in c) if (c[s] > peak) { peak = c[s]; ps = s }
      printf "  peak %d REGISTER/s at second %d\n", peak, ps
      printf "  %8s %8s  %s\n", "second", "count", "histogram (# = peak/50)"
      lo_s = int(first); hi_s = int(last); rows = 0
      step = 1; if (hi_s - lo_s > 60) step = int((hi_s - lo_s) / 60) + 1
      for (s = lo_s; s <= hi_s; s += step) {
        k = 0; for (j = s; j < s + step; j++) k += c[j]
        bar = ""; w = int(k * 50 / (peak * step) + 0.5)
        for (j = 0; j < w; j++) bar = bar "#"
        if (step == 1) printf "  %8d %8d  %s\n", s, k, bar
        else printf "  %4d-%-4d %7d  %s\n", s, s + step - 1, k, bar
      }
    }' "$tmp/tl.jsonl"
}
hist 10.0.0.2:5060 2000 6000 "failover to the backup"
hist 10.0.0.1:5060 3000 9000 "fallback to the primary"
grep -c '"event":"failover"' "$tmp/tl.jsonl" | sed 's/^/failover events: /'
grep -c '"event":"fallback"' "$tmp/tl.jsonl" | sed 's/^/fallback events: /'
