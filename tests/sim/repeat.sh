#!/usr/bin/env bash
# The same scenario and seed give the same timeline; another seed moves the
# random delays. Usage: repeat.sh SIPLINE_SIM SCENARIO
set -uo pipefail
sim=$1 sc=$2
a=$("$sim" --seed 7 "$sc") || exit 1
b=$("$sim" --seed 7 "$sc") || exit 1
c=$("$sim" --seed 8 "$sc") || exit 1
[ "$a" == "$b" ] || { echo "seed 7 gave two different timelines"; exit 1; }
[ "$a" != "$c" ] || { echo "seeds 7 and 8 gave the same timeline (is the random delay used?)"; exit 1; }
echo "ok: seed 7 repeatable ($(printf '%s\n' "$a" | wc -l) lines), seed 8 differs"
