#!/usr/bin/env bash
# `cmake --install` into a scratch prefix: the library (shared and static),
# the headers, a pkg-config file a program builds and runs with, the tools,
# the man pages and the systemd unit (checked with systemd-analyze when
# present).
#   install.sh BUILDDIR WORKDIR
set -euo pipefail
BUILD=$1 WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
P=$WORK/prefix
cmake --install "$BUILD" --prefix "$P" >"$WORK/install.log"
fail() { echo "FAIL: $*"; exit 1; }
for f in sbin/siplined bin/siplinectl include/sipline/ua.h \
  include/sipline/profile.h include/sipline/base.h \
  share/man/man8/siplined.8 share/man/man1/siplinectl.1 \
  share/man/man1/sipline-sim.1 share/man/man1/sipline-msg.1 \
  lib/systemd/system/siplined.service; do
  [ -e "$P/$f" ] || fail "missing $f"
done
pc=$(find "$P" -name sipline.pc | head -n 1)
[ -n "$pc" ] || fail "no sipline.pc"
ls "$(dirname "$(dirname "$pc")")"/libsipline.so* >/dev/null ||
  fail "no shared library beside the pkg-config file"
for t in sipline-sim sipline-msg; do
  [ -x "$BUILD/bin/$t" ] && { [ -x "$P/bin/$t" ] || fail "$t not installed"; }
done
grep -q "ExecStart=$P/sbin/siplined " "$P/lib/systemd/system/siplined.service" ||
  fail "the unit does not run the installed siplined"
cat >"$WORK/use.c" <<'C'
#include <sipline/ua.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  sipline_profile *p = NULL;
  const char *xml = "<flat-profile><Proxy_1_>127.0.0.1</Proxy_1_>"
                    "</flat-profile>";
  if (sipline_profile_parse(&p, xml, strlen(xml), NULL, NULL) != 0)
    return 1;
  printf("%s %u\n", sipline_event_name(SIPLINE_EV_FAILOVER), p->n_lines);
  sipline_profile_del(p);
  return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$pc")
# shellcheck disable=SC2046
cc -o "$WORK/use" "$WORK/use.c" $(pkg-config --cflags --libs sipline)
out=$(LD_LIBRARY_PATH=$(pkg-config --variable=libdir sipline) "$WORK/use")
[ "$out" = "failover 1" ] || fail "the pkg-config program printed '$out'"
"$P/sbin/siplined" --version | grep -q "^siplined " || fail "siplined --version"
if command -v man >/dev/null 2>&1; then
  man -l "$P/share/man/man8/siplined.8" 2>&1 | grep -q "CONTROL PROTOCOL" ||
    fail "siplined.8 does not render"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
  # only the Documentation= man: look-ups may fail outside a real install
  if systemd-analyze verify "$P/lib/systemd/system/siplined.service" 2>&1 |
    grep -v "man sipline" | grep .; then
    fail "systemd-analyze verify"
  fi
fi
echo "installed $(find "$P" -type f | wc -l) files; pkg-config program: $out"
echo PASS
