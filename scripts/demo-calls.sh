#!/usr/bin/env bash
# The calls demo (issue 9): two siplined lines (1001, 1002) registered to a
# local Kamailio on 127.0.0.1; 1001 calls 1002 and plays a 1000 Hz tone,
# 1002 answers and records; 1001 sends DTMF 123#, holds the call with
# UPDATE (a=sendonly) and resumes it, then hangs up. Prints the call events
# each side saw and what was heard (the tone's frequency measured in the
# recording). Everything started is stopped by PID. Under a minute after
# the build.
#
#   bash scripts/demo-calls.sh      (BUILD_DIR=... to use another build dir)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
printf '\n\033[1m== building (%s/)\033[0m\n' "$BUILD_DIR"
bash scripts/deps.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target siplined siplinectl
export SIPLINE_BUILD_DIR=$root/$BUILD_DIR IT_KEEP=1
printf '\n\033[1m== a call through Kamailio: tone, DTMF, hold/resume by UPDATE\033[0m\n'
out=$(bash tests/integration/test_call_media.sh udp 2>&1) || {
  echo "$out"
  exit 1
}
dir=$(echo "$out" | sed -n 's/.*logs in \(.*\):.*/\1/p' | tail -1)
[ -n "$dir" ] || dir=$(ls -td /tmp/sipline-media-udp.* | head -1)
for side in a b; do
  printf '\n\033[1m== what %s saw\033[0m\n' "$([ $side = a ] && echo "1001 (caller)" || echo "1002 (callee)")"
  jq -r 'select(.event == "call" or .event == "call_sdp" or .event == "dtmf" or .event == "media") |
    "  \(.t)  \(.event)  " + (if .event == "call" then "\(.state) \(.reason // "") \(.status // "")"
      elif .event == "call_sdp" then "\(.from) \(.state) in \(.reason): " + ((.sdp // "") | split("\r\n") | map(select(startswith("m=") or startswith("a=send") or startswith("a=recv"))) | join(" | "))
      elif .event == "dtmf" then "digit \(.digit)"
      else "rtp sent \(.pkts_sent) received \(.pkts_recv) lost \(.lost)" end)' \
    "$dir/$side-events.log"
done
printf '\n\033[1m== what 1002 heard\033[0m\n'
echo "$out" | grep MEASURE | sed 's/^MEASURE /  /'
rm -rf "$dir"
