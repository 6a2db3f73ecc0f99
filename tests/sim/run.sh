#!/usr/bin/env bash
# Runs one scenario: its timeline must equal the golden file and its
# "expect" entries must hold. Usage: run.sh SIPLINE_SIM SCENARIO GOLDEN
set -uo pipefail
sim=$1 scenario=$2 golden=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$sim" --check "$scenario" >"$out"
rc=$?
status=0
if [ $rc -ne 0 ]; then
  echo "sipline-sim --check $scenario: exit $rc"
  status=1
fi
if [ ! -f "$golden" ]; then
  echo "no golden timeline $golden (tests/sim/regen.sh writes it)"
  status=1
elif ! diff -u "$golden" "$out" | head -60; then
  :
fi
if [ -f "$golden" ] && ! cmp -s "$golden" "$out"; then
  echo "timeline differs from $golden (above)"
  status=1
fi
exit $status
