#!/usr/bin/env bash
# sipline-sim --svg: the picture is well-formed SVG with no script or
# external reference, shows the seed's 3600/600 example's marks at their
# times, does not change the timeline on stdout, is the same under
# --events-only, and caps a many-line scenario at 8 lines with a note.
# No browser here (svg-chromium.sh renders it). Starts nothing on the network.
# Usage: svg.sh SIPLINE_SIM SOURCE_DIR OUT_DIR
set -uo pipefail
sim=$1 src=$2 out=$3
mkdir -p "$out"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
r11=$src/examples/sim/R11-fallback-600.json
svg=$out/R11-fallback-600.svg

"$sim" "$r11" >"$out/plain.jsonl" || bad "sipline-sim $r11: exit $?"
"$sim" --svg "$svg" "$r11" >"$out/with-svg.jsonl" || bad "--svg: exit $?"
cmp -s "$out/plain.jsonl" "$out/with-svg.jsonl" ||
  bad "--svg changed the timeline on stdout"

wellformed() {
  python3 - "$1" <<'PY' || return 1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
for e in root.iter():
    assert e.tag != ns + "script", "a <script> element"
    for k in e.attrib:
        assert "href" not in k and not k.startswith("on"), "attribute " + k
PY
}
wellformed "$svg" || bad "$svg is not well-formed, script-free SVG"

# The marks a reader looks for, as the picture writes them (labels and
# tooltips): failover and fallback with times and reasons, the server
# bands, where the line is registered and until when, the REGISTER ticks.
marks=(
  'failover 2824.04 s: 10.0.0.1:5060 → 10.0.0.2:5060 (timeout)'
  'fallback 3424.08 s: 10.0.0.2:5060 → 10.0.0.1:5060 (fallback_interval)'
  'recovery 3424.08 s: 10.0.0.1:5060 up (fallback_interval)'
  '10.0.0.1:5060: ok from 0 s to 100 s (up: answers)'
  '10.0.0.1:5060: silent from 100 s to 3000 s (down: no answer)'
  '10.0.0.2:5060: ok from 0 s to 4000 s (up: answers)'
  'line 1 marked 10.0.0.1:5060 down at 2824.04 s (timeout) until 3424.08 s'
  'line 1 registered at 10.0.0.1:5060 from 0.04 s (granted 3600 s), valid until 3600.04 s; ended 2824.04 s: failover (timeout)'
  'line 1 registered at 10.0.0.2:5060 from 2824.08 s (granted 3600 s), valid until 3424.12 s; ended 3424.12 s: fallback'
  'line 1 registered at 10.0.0.1:5060 from 3424.1 s'
  '2824.04 s: REGISTER to 10.0.0.2:5060, CSeq 4, expires 3600'
  '3424.08 s: REGISTER to 10.0.0.1:5060, CSeq 6, expires 3600'
  '3424.1 s: 200 from 10.0.0.1:5060, CSeq 6, expires 3600'
  '>60 min<'
)
for m in "${marks[@]}"; do
  grep -qF -- "$m" "$svg" || bad "no \"$m\" in $svg"
done

"$sim" --events-only --svg "$out/eo.svg" "$r11" >/dev/null ||
  bad "--events-only --svg: exit $?"
cmp -s "$svg" "$out/eo.svg" || bad "--events-only changed the picture"

multi=$src/tests/sim/svg/multi-line.json
"$sim" --svg "$out/multi-line.svg" "$multi" >/dev/null ||
  bad "--svg $multi: exit $?"
wellformed "$out/multi-line.svg" || bad "multi-line.svg is not well-formed"
n=$(grep -c '>Line [0-9]* (u[0-9]*)<' "$out/multi-line.svg")
[ "$n" -eq 8 ] || bad "multi-line.svg draws $n lines, wanted 8"
for m in '4 more lines not drawn' 'call 1 → 1002 (200–900.02 s)' \
         'fallback 800.06 s: 10.0.0.2:5060 → 10.0.0.1:5060 (fallback_interval)' \
         'failover 900.04 s: 10.0.0.1:5060 → 10.0.0.2:5060 (status:503)' \
         '10.0.0.1:5060: reply:503 from 900 s to 1300 s (failing: answers with errors)' \
         'warning 800.06 s (fallback_deferred)'; do
  grep -qF -- "$m" "$out/multi-line.svg" || bad "no \"$m\" in multi-line.svg"
done

err=$("$sim" --svg /nonexistent-dir/x.svg "$r11" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && [[ "$err" == *"--svg: cannot write /nonexistent-dir/x.svg"* ]] ||
  bad "unwritable --svg path: exit $rc, stderr: $err"

[ $fail -eq 0 ] && echo "ok: $svg and multi-line.svg ($(wc -c <"$svg") and $(wc -c <"$out/multi-line.svg") bytes)"
exit $fail
