#!/usr/bin/env bash
# Renders the seed's 3600/600 example (examples/sim/R11-fallback-600.json)
# as sipline-sim --svg draws it in a real browser, headless Chromium, and
# checks the screenshot: its size, more than one colour, enough drawn, and
# the fills of the server bands (up green, down red) and of the line's
# registrations at both servers as visible areas. The SVG must carry the
# failover and fallback marks with their times and reasons.
# Chromium gets a fresh profile and a resolver that resolves nothing, and
# opens only a file:// URL: nothing on the network. Missing Chromium is a
# failure, not a skip (scripts/deps.sh installs it).
# Usage: svg-chromium.sh SIPLINE_SIM SOURCE_DIR OUT_DIR
set -uo pipefail
sim=$1 src=$2 out=$3
mkdir -p "$out"
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
  echo "FAIL: chromium is not installed (scripts/deps.sh installs it); the SVG cannot be checked in a browser"
  exit 1
fi
svg=$out/R11-fallback-600.svg png=$out/R11-fallback-600.png
"$sim" --svg "$svg" "$src/examples/sim/R11-fallback-600.json" >/dev/null ||
  { echo "FAIL: sipline-sim --svg: exit $?"; exit 1; }
for m in 'failover 2824.04 s: 10.0.0.1:5060 → 10.0.0.2:5060 (timeout)' \
         'fallback 3424.08 s: 10.0.0.2:5060 → 10.0.0.1:5060 (fallback_interval)'; do
  grep -qF -- "$m" "$svg" || { echo "FAIL: no \"$m\" in $svg"; exit 1; }
done
w=$(sed -n 's/^<svg [^>]*width="\([0-9]*\)".*/\1/p' "$svg")
h=$(sed -n 's/^<svg [^>]*height="\([0-9]*\)".*/\1/p' "$svg")
[ -n "$w" ] && [ -n "$h" ] || { echo "FAIL: no width/height in $svg"; exit 1; }
prof=$(mktemp -d)
trap 'rm -rf "$prof"' EXIT
rm -f "$png"
timeout -k 5 60 "$chrome" --headless --no-sandbox --disable-gpu \
  --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$prof" \
  --no-first-run --no-default-browser-check --disable-background-networking \
  --disable-component-update --disable-sync --disable-extensions \
  --disable-default-apps --disable-client-side-phishing-detection \
  --host-resolver-rules='MAP * ~NOTFOUND' --mute-audio \
  --window-size="$w,$h" --screenshot="$png" "file://$svg" >"$out/chromium.log" 2>&1
rc=$?
if [ $rc -ne 0 ] || [ ! -s "$png" ]; then
  echo "FAIL: chromium exit $rc, no screenshot $png; its output:"
  tail -20 "$out/chromium.log"
  exit 1
fi
# Up, down, registered at 10.0.0.1 (blue), registered at 10.0.0.2 (purple).
python3 "$src/tests/sim/pngcheck.py" "$png" "$w" "$h" \
  a5d6a7 ef9a9a 1f77b4 9467bd || exit 1
echo "ok: $png ($(wc -c <"$png") bytes)"
