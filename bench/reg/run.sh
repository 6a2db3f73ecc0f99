#!/usr/bin/env bash
# Registration benchmarks (issue 3 items 8 and 9). Printed, never asserted.
#   bench/reg/run.sh BUILD_DIR
# 1. bench_reg: memory per registered line, CPU for 100,000 lines x 24 h.
# 2. sipline-sim wall time, 1,000 lines x 24 h, one failover, one fallback
#    (target <= 5 s).
# 3. storm.sh: REGISTER rate at the backup and at the primary, 10,000 lines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR}
echo "== 1. memory and CPU per line"
if [ -x "$build/bin/bench_reg" ]; then
  "$build/bin/bench_reg" "${BENCH_LINES:-100000}" 24
else
  echo "  $build/bin/bench_reg not built (does bench/CMakeLists.txt add_subdirectory(reg)?)"
fi
echo
echo "== 2. sipline-sim, 1,000 lines x 24 h, one failover, one fallback"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Primary silent 3600..7200 s: the lines fail over at their refreshes and
# fall back 3600 s (Proxy Fallback Intvl default) after the backup
# registration.
"$here/gen.sh" 1000 86400 \
  '[{"at":0,"do":"ok"},{"at":3600,"do":"silent"},{"at":7200,"do":"ok"}]' \
  '[{"at":0,"do":"ok"}]' >"$tmp/day.json"
for mode in "" "--events-only"; do
  start=$(date +%s.%N)
  "$build/bin/sipline-sim" $mode "$tmp/day.json" >"$tmp/day.jsonl"
  end=$(date +%s.%N)
  printf "  sipline-sim %-14s wall %.2f s (target <= 5 s), %d timeline lines, %d failover, %d fallback events\n" \
    "${mode:-(full)}" "$(echo "$end - $start" | bc)" "$(wc -l <"$tmp/day.jsonl")" \
    "$(grep -c '"event":"failover"' "$tmp/day.jsonl" || true)" \
    "$(grep -c '"event":"fallback"' "$tmp/day.jsonl" || true)"
done
echo
echo "== 3. storms, 10,000 lines"
"$here/storm.sh" "$build" 10000
echo
echo "== 3b. storms with Reg Retry Random Delay 60 s"
"$here/storm.sh" "$build" 10000 '"Reg_Retry_Random_Delay": "60", "Reg_Retry_Long_Random_Delay": "60"'
