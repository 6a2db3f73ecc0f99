#!/usr/bin/env bash
# Checks the SIPp scenarios the daemon's tests rely on, against SIPp peers,
# over UDP and TCP, so that a failing daemon test points at the daemon:
#   uas_register_503 / uas_register_200 answer every REGISTER of a Call-ID
#   (the loop) and log each with its time;
#   uac_notify_xml_service passes a digest check (SIPp's verifyauth in
#   uas_notify_auth.xml) and gets 200; uac_notify_refused with a wrong
#   password is refused and itself fails when it gets 200.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init sippsc

for t in u1 t1; do
  for code in 503 200; do
    port=$(it_free_port)
    start_sipp "uas$code-$t" "$port" -sf "$IT_SIPP_DIR/uas_register_$code.xml" \
      -t "$t" -trace_logs -log_file "$IT_DIR/uas$code-$t.reg.log"
    wait_for 3 bash -c "ss -Hln 'sport = :$port' | grep -q ." ||
      it_fail "SIPp UAS $code did not listen"
    # Two clients (two Call-IDs): each gets the answer and is logged.
    for i in 1 2; do
      lp=$(it_free_port)
      run_sipp "reg$code-$t-$i" "$lp" -sf "$IT_SIPP_DIR/uac_register.xml" \
        -m 1 -t "$t" -timeout 5s -s 1001 "127.0.0.1:$port" || true
      grep -q "received 'SIP/2.0 $code" "$IT_DIR/reg$code-$t-$i.errors.log" ||
        it_fail "uas_register_$code ($t) did not answer $code"
    done
    n=$(grep -c "REGISTER CSeq: 1" "$IT_DIR/uas$code-$t.reg.log" || true)
    [ "$n" -eq 2 ] || it_fail "uas_register_$code ($t) logged $n REGISTERs, not 2"
    stop_bg "uas$code-$t" KILL
  done
  it_log "$t: uas_register_503 and uas_register_200 answer and log"

  port=$(it_free_port)
  start_sipp "uasnotify-$t" "$port" -sf "$IT_SIPP_DIR/uas_notify_auth.xml" \
    -t "$t" -trace_logs -log_file "$IT_DIR/uasnotify-$t.auth.log"
  wait_for 3 bash -c "ss -Hln 'sport = :$port' | grep -q ." ||
    it_fail "SIPp NOTIFY UAS did not listen"
  notify() { # notify NAME SCENARIO PASSWORD
    local lp
    lp=$(it_free_port)
    run_sipp "$1" "$lp" -sf "$IT_SIPP_DIR/$2" -m 1 -t "$t" -timeout 5s \
      -s 1001 -au 1001 -ap "$3" -auth_uri "1001@127.0.0.1:$port" \
      -key url "http://127.0.0.1:9/doc.xml" "127.0.0.1:$port"
  }
  notify "good-$t" uac_notify_xml_service.xml secret1001 ||
    it_fail "uac_notify_xml_service ($t) was not accepted by verifyauth"
  notify "bad-$t" uac_notify_refused.xml wrong ||
    it_fail "uac_notify_refused ($t) with a wrong password was not refused"
  if notify "bad200-$t" uac_notify_refused.xml secret1001; then
    it_fail "uac_notify_refused ($t) passed although it got 200"
  fi
  [ "$(grep -c 'auth ok=true' "$IT_DIR/uasnotify-$t.auth.log")" -eq 2 ] &&
    [ "$(grep -c 'auth ok=false' "$IT_DIR/uasnotify-$t.auth.log")" -eq 1 ] ||
    it_fail "verifyauth results differ: $(cat "$IT_DIR/uasnotify-$t.auth.log")"
  stop_bg "uasnotify-$t" KILL
  it_log "$t: NOTIFY digest right -> 200, wrong -> refused"
done
echo "PASS sipp_scenarios"
