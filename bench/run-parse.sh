#!/usr/bin/env bash
# Runs the parse benchmark: sipline vs the peer stacks installed from Debian
# (osip2, sofia-sip, libre), one run over the shared corpus, one table.
#   bench/run-parse.sh [BUILD_DIR] [-- extra sipline-bench-parse options]
# BUILD_DIR defaults to build/. CPU=n pins to that core (taskset), default 0.
# Needs a build configured with SIPLINE_BENCH=ON (the default) and without
# SIPLINE_SANITIZE. A benchmark prints; it never fails a test.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
corpus=${CORPUS:-$here/../shared/bench-peers/corpus}
cmake --build "$build" --target sipline-bench-parse sipline-bench-parse-alloc \
  >/dev/null
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "${CPU:-0}"); fi
exec "${pin[@]}" "$build/bin/sipline-bench-parse" "$@" "$corpus"/*.sip
