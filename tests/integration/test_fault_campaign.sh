#!/usr/bin/env bash
# Issue 10 item 3, the short fault campaign over udp, tcp or tls ($1): three
# cycles each (CYCLES, $2) of the primary Kamailio killed and restarted,
# frozen and resumed, answering 503 and healed, all three in parallel
# (bench/faults/campaign.sh; see its header for the cycle and the bound).
# Every cycle must register at the backup within the SPEC's bound (next
# refresh or keep-alive + Timer F + round trips: excess 0), fall back to the
# primary leaving no binding at the backup and exactly one at the primary,
# with siplined alive (no crash, no core) and nothing left registered after
# its SIGTERM. The full campaign (100 cycles) is the benchmark.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
cycles=${2:-3}
it_init "fault-campaign-$tp"
it_need_daemon
[ "$tp" != tls ] || [ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] ||
  it_fail "Kamailio's tls module is missing (bash scripts/deps.sh)"

out=$IT_DIR/out
rc=0
FC_OUT=$out SIPLINED=$SIPLINED SIPLINECTL=$SIPLINECTL \
  bash "$IT_LIB_DIR/../../bench/faults/campaign.sh" "$(dirname "$SIPLINED")/.." \
  "$cycles" killed,frozen,503 "$tp" >"$IT_DIR/campaign.out" 2>&1 || rc=$?
cat "$IT_DIR/campaign.out" >&2
[ "$rc" -eq 0 ] || {
  for f in "$out"/*/campaign.log; do
    echo "----- $f" >&2
    grep -v '^ev ' "$f" | tail -n 30 >&2
  done
  it_fail "the campaign did not run every combination (rc $rc)"
}
[ -s "$out/summary.tsv" ] || it_fail "no summary.tsv"
n=0
# fault tp cycles bmin bmax umax umean xmax nover stray fbdev crashes cores
# left rss_first rss_last rss_max errors
while IFS=$'\t' read -r fault t cyc bmin bmax umax umean xmax nover stray \
  fbdev crashes cores left rf rl rmax errs; do
  [ "$fault" = fault ] && continue
  n=$((n + 1))
  what="$fault/$t"
  [ "$cyc" -eq "$cycles" ] || it_fail "$what: $cyc cycles of $cycles"
  [ "$errs" -eq 0 ] || it_fail "$what: $errs cycles went wrong (see cycles.tsv)"
  [ "$nover" -eq 0 ] || it_fail "$what: $nover cycles beyond the bound (max excess ${xmax}s)"
  [ "$stray" -eq 0 ] || it_fail "$what: $stray stray bindings after fallbacks"
  [ "$crashes" -eq 0 ] && [ "$cores" -eq 0 ] || it_fail "$what: siplined crashed"
  [ "$left" = 0 ] || it_fail "$what: $left bindings left after siplined stopped"
  # R11: the fallback comes Proxy Fallback Intvl after the backup
  # registration (a second late at most on this loaded machine).
  awk -v d="$fbdev" 'BEGIN { exit !(d <= 1.0) }' ||
    it_fail "$what: a fallback ${fbdev}s away from Proxy Fallback Intvl"
  echo "MEASURE fault_campaign_${fault}_$t: $cyc cycles, unregistered max ${umax}s mean ${umean}s (bound ${bmin}-${bmax}s), excess 0, stray 0, RSS ${rf}->${rl} kB"
done <"$out/summary.tsv"
[ "$n" -eq 3 ] || it_fail "$n combinations in the summary, expected 3"
echo "PASS fault_campaign_$tp"
