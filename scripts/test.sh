#!/usr/bin/env bash
# The test command: installs what is missing, builds three times (gcc
# RelWithDebInfo, gcc Release, and clang with ASan+UBSan and the fuzzers),
# all with warnings as errors, and runs every ctest test.
#   build/          normal build: unit, sim, integration
#   build-release/  Release (-O3) build, compiled only: the optimiser's extra
#                   warnings (format-truncation, ...) must not come back
#   build-asan/     sanitizer build: unit, sim, fuzz-smoke
# SIPLINE_WERROR is ON here and in CI, OFF by default for users, so that a
# newer compiler's new warning cannot break someone's build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPLINE_WERROR=ON \
  >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSIPLINE_WERROR=ON \
  >/dev/null
cmake --build build-release -j"$jobs"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DSIPLINE_SANITIZE=ON -DSIPLINE_FUZZ=ON -DSIPLINE_BENCH=OFF \
  -DSIPLINE_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
echo "== normal build: unit, sim, integration"
ctest --test-dir build --output-on-failure -j"$jobs" -LE 'fuzz-smoke' || rc=1
echo "== sanitizer build: unit, sim, fuzz-smoke"
ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE integration || rc=1
exit $rc
