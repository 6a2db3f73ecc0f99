#!/usr/bin/env bash
# Rewrites the golden timelines from the current build. Run it only after
# reading the diff: a golden file blesses whatever the build does.
#   tests/sim/regen.sh BUILD_DIR [SCENARIO_NAME...]
# It prints the diff for each changed file and the --check result.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: regen.sh BUILD_DIR [NAME...]}
shift
sim="$build/bin/sipline-sim"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$here"/scenarios/*.json; do names+=("$(basename "${f%.json}")"); done
fi
for n in "${names[@]}"; do
  sc="$here/scenarios/$n.json" g="$here/golden/$n.jsonl"
  tmp=$(mktemp)
  "$sim" --check "$sc" >"$tmp" 2>"$tmp.err"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "== $n: --check FAILED (exit $rc), golden not written:"
    cat "$tmp.err"
    rm -f "$tmp" "$tmp.err"
    continue
  fi
  if [ -f "$g" ] && cmp -s "$g" "$tmp"; then
    echo "== $n: unchanged"
  else
    echo "== $n: changed"
    [ -f "$g" ] && diff -u "$g" "$tmp" | head -40
    mv "$tmp" "$g"
  fi
  rm -f "$tmp" "$tmp.err"
done
