#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time as a smoke test and prints its
# figures. Usage: run-smoke.sh FUZZER SECONDS WORKDIR SEEDDIR TESTDATA
# The work corpus starts from the checked-in seeds plus the seed files the
# target's seeds.list names (paths relative to TESTDATA), so findings do not
# pollute the repo.
set -euo pipefail
fuzzer=$1 secs=$2 work=$3 seeds=$4 testdata=$5
rm -rf "$work" && mkdir -p "$work"
if [ -d "$seeds" ]; then
  find "$seeds" -maxdepth 1 -type f ! -name seeds.list -exec cp {} "$work"/ \;
  if [ -f "$seeds/seeds.list" ]; then
    while read -r pat; do
      [ -z "$pat" ] && continue
      for f in $testdata/$pat; do [ -f "$f" ] && cp "$f" "$work"/ || true; done
    done < "$seeds/seeds.list"
  fi
fi
echo "seeds: $(ls "$work" | wc -l) files"
log=$(mktemp)
set +e
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 "$work" >"$log" 2>&1
rc=$?
set -e
grep -E '^(#[0-9]+.*DONE|stat::|Done )' "$log" || true
if [ $rc -ne 0 ]; then tail -60 "$log"; fi
rm -f "$log"
exit $rc
