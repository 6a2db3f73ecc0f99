#!/usr/bin/env bash
# Every bad/*.json must exit 2 with exactly one line on stderr that names
# the file and contains the text in bad/<name>.want (the key at fault).
# Usage: bad.sh SIPLINE_SIM BADDIR
set -uo pipefail
sim=$1 dir=$2
fail=0
n=0
for f in "$dir"/*.json; do
  n=$((n + 1))
  want=$(head -1 "${f%.json}.want")
  err=$("$sim" "$f" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$err" | wc -l)
  if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] ||
     [[ "$err" != *"$(basename "$f")"* ]] || [[ "$err" != *"$want"* ]]; then
    echo "FAIL $f: exit $rc, stderr: $err (wanted exit 2, one line naming the file and '$want')"
    fail=1
  else
    echo "ok   $(basename "$f"): $err"
  fi
done
[ $n -gt 0 ] || { echo "no bad scenarios"; exit 1; }
exit $fail
