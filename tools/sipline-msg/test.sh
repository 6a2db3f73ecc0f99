#!/usr/bin/env bash
# Runs sipline-msg over a few testdata files and checks its JSON lines and
# exit codes. Usage: test.sh SIPLINE_MSG TESTDATA
set -u
bin=$1 td=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect_line OUTPUT FILE KEY VALUE: the line for FILE has "KEY":VALUE
expect() {
  local out=$1 file=$2 kv=$3
  local line
  line=$(grep -F "\"file\":\"$file\"" "$out")
  [ -n "$line" ] || { fail "no line for $file"; return; }
  case "$line" in
    *"$kv"*) ;;
    *) fail "$file: expected $kv in $line" ;;
  esac
}

# 1. all valid: exit 0
"$bin" check "$td/rfc4475/wsinv.dat" "$td/rfc4475/unreason.dat" \
  >"$tmp/o1" 2>"$tmp/e1"
rc=$?
[ $rc -eq 0 ] || fail "valid files: exit $rc"
[ "$(wc -l <"$tmp/o1")" -eq 2 ] || fail "valid files: not 2 lines"
expect "$tmp/o1" "$td/rfc4475/wsinv.dat" '"verdict":"valid"'
expect "$tmp/o1" "$td/rfc4475/wsinv.dat" '"kind":"request"'
expect "$tmp/o1" "$td/rfc4475/wsinv.dat" '"method":"INVITE"'
expect "$tmp/o1" "$td/rfc4475/wsinv.dat" '"call_id":"wsinv.ndaksdj@192.0.2.1"'
expect "$tmp/o1" "$td/rfc4475/wsinv.dat" '"error":null'
expect "$tmp/o1" "$td/rfc4475/wsinv.dat" '"response":null'
expect "$tmp/o1" "$td/rfc4475/unreason.dat" '"kind":"response"'
expect "$tmp/o1" "$td/rfc4475/unreason.dat" '"status":200'

# 2. invalid ones: exit 1, error and response set
"$bin" check "$td/rfc4475/badvers.dat" "$td/rfc4475/wsinv.dat" \
  "$td/rfc4475/scalar02.dat" "$td/rfc4475/unkscm.dat" \
  "$td/rfc4475/bigcode.dat" "$td/rfc5118/wire/ipv6-bad.dat" >"$tmp/o2"
rc=$?
[ $rc -eq 1 ] || fail "invalid files: exit $rc"
expect "$tmp/o2" "$td/rfc4475/badvers.dat" '"verdict":"invalid"'
expect "$tmp/o2" "$td/rfc4475/badvers.dat" '"response":505'
expect "$tmp/o2" "$td/rfc4475/badvers.dat" '"error":"Version Not Supported"'
expect "$tmp/o2" "$td/rfc4475/scalar02.dat" '"response":400'
expect "$tmp/o2" "$td/rfc4475/unkscm.dat" '"verdict":"valid"'
expect "$tmp/o2" "$td/rfc4475/unkscm.dat" '"response":416'
expect "$tmp/o2" "$td/rfc4475/bigcode.dat" '"verdict":"invalid"'
expect "$tmp/o2" "$td/rfc4475/bigcode.dat" '"response":null'
expect "$tmp/o2" "$td/rfc5118/wire/ipv6-bad.dat" '"response":400'

# 2b. what the engine answers on the wire to the methods it refuses, with
# the Allow it sends (issue 10: regaut01, a REGISTER, was "response":null;
# a UA is no registrar: 405). The same decision as src/ua/ua.c's, shared
# through sipline_msg_uas_answer().
allow='"allow":"INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, UPDATE, INFO, PRACK"'
"$bin" check "$td/rfc4475/regaut01.dat" "$td/rfc4475/esc02.dat" \
  "$td/rfc4475/lwsdisp.dat" "$td/rfc4475/unksm2.dat" >"$tmp/o2b"
rc=$?
[ $rc -eq 0 ] || fail "refused methods: exit $rc"
expect "$tmp/o2b" "$td/rfc4475/regaut01.dat" '"verdict":"valid"'
expect "$tmp/o2b" "$td/rfc4475/regaut01.dat" '"response":405'
expect "$tmp/o2b" "$td/rfc4475/regaut01.dat" "$allow"
expect "$tmp/o2b" "$td/rfc4475/esc02.dat" '"response":501'
expect "$tmp/o2b" "$td/rfc4475/esc02.dat" "$allow"
expect "$tmp/o2b" "$td/rfc4475/lwsdisp.dat" '"response":200'
expect "$tmp/o2b" "$td/rfc4475/unksm2.dat" '"response":405'
grep -F '"file":"'"$td/rfc4475/lwsdisp.dat"'"' "$tmp/o2b" | grep -q allow &&
  fail "lwsdisp: allow on a 200"
# every method the engine refuses by itself, out of dialog
for pair in REGISTER:405 SUBSCRIBE:405 REFER:405 MESSAGE:405 PUBLISH:405 \
  FOO:501 BYE:481 UPDATE:481 INFO:481 PRACK:481 OPTIONS:200 \
  INVITE:null NOTIFY:null; do
  meth=${pair%%:*} want=${pair#*:}
  printf '%s sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: m1\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\nl: 0\r\n\r\n' \
    "$meth" "$meth" >"$tmp/$meth.sip"
  "$bin" check "$tmp/$meth.sip" >"$tmp/o-$meth"
  expect "$tmp/o-$meth" "$tmp/$meth.sip" "\"response\":$want"
  case $want in
    405 | 501) expect "$tmp/o-$meth" "$tmp/$meth.sip" "$allow" ;;
  esac
done
# in a dialog (a To tag) the dialog decides: null
sed 's/<sip:b@b>/<sip:b@b>;tag=9/' "$tmp/BYE.sip" >"$tmp/bye-tag.sip"
"$bin" check "$tmp/bye-tag.sip" >"$tmp/o-bye-tag"
expect "$tmp/o-bye-tag" "$tmp/bye-tag.sip" '"response":null'

# 3. an unreadable file: exit 2, message on stderr, others still checked
"$bin" check "$tmp/does-not-exist" "$td/rfc4475/wsinv.dat" \
  >"$tmp/o3" 2>"$tmp/e3"
rc=$?
[ $rc -eq 2 ] || fail "missing file: exit $rc"
grep -q "does-not-exist" "$tmp/e3" || fail "missing file: no stderr message"
[ "$(wc -l <"$tmp/o3")" -eq 1 ] || fail "missing file: other file not checked"

# 4. usage errors
"$bin" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no arguments: exit $rc"
"$bin" lint x >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unknown command: exit $rc"
"$bin" check >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "check without files: exit $rc"
"$bin" --help | grep -q "sipline-msg check" || fail "--help"

# 5. JSON escaping: a quote and a control byte in the Call-ID
printf 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: a"b\\c\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n' \
  >"$tmp/esc.sip"
"$bin" check "$tmp/esc.sip" >"$tmp/o5"
grep -qF '"call_id":"a\"b\\c"' "$tmp/o5" || fail "escaping: $(cat "$tmp/o5")"
if command -v python3 >/dev/null; then
  for o in "$tmp"/o1 "$tmp"/o2 "$tmp"/o2b "$tmp"/o5; do
    python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$o" || fail "not JSON: $o"
  done
fi

[ $fails -eq 0 ] && echo "sipline-msg: all checks passed"
exit $((fails > 0))
