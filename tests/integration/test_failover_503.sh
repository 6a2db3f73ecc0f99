#!/usr/bin/env bash
# Issue 4 (c), SPEC R5b/R9/R12, over udp or tcp ($1): the primary is a SIPp
# UAS answering every REGISTER with 503 (no Retry-After).
#   Try Backup RSC "5??": the line fails over on the 503 and registers at
#     the backup Kamailio.
#   Try Backup RSC empty: no failover; the line retries the primary after
#     Reg Retry Long Intvl (5 s here), as SIPp's log of arrivals shows.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "503-$tp"
it_need_daemon
LONG=5

bp=$(it_free_port)
B="127.0.0.1:$bp"
start_kamailio backup "$bp" 60 >/dev/null

run_case() { # run_case NAME TRY_BACKUP_RSC
  local name=$1 rsc=$2 pp lp
  pp=$(it_free_port)
  lp=$(it_free_port)
  P="127.0.0.1:$pp"
  start_sipp "uas-$name" "$pp" -sf "$IT_SIPP_DIR/uas_register_503.xml" \
    -t "$(it_tp_sipp "$tp")" -trace_logs -log_file "$IT_DIR/uas-$name.reg.log"
  wait_for 3 bash -c "ss -Hln 'sport = :$pp' | grep -q ." ||
    it_fail "SIPp 503 UAS did not listen on $pp"
  it_profile "$IT_DIR/$name.xml" \
    "Proxy_1_=$P:p=1|$B:p=2" "User_ID_1_=1001" "Password_1_=secret1001" \
    "Register_Expires_1_=60" "Proxy_Fallback_Intvl_1_=600" \
    "SIP_Transport_1_=$(it_tp_profile "$tp")" "SIP_Timer_F=4" \
    "SIP_Timer_B=4" "Reg_Retry_Intvl=2" "Reg_Retry_Long_Intvl=$LONG" \
    "Try_Backup_RSC=$rsc" "Retry_Reg_RSC="
  start_siplined "$name" "$IT_DIR/$name.xml" "$lp"
}

# 1. Try Backup RSC 5??: fail over on the 503.
run_case backup '5??'
fo=$(sd_wait_event backup 10 '.event == "failover"') ||
  it_fail "no failover on 503 with Try Backup RSC 5??"
[ "$(ev_get "$fo" from)" = "$P" ] && [ "$(ev_get "$fo" to)" = "$B" ] ||
  it_fail "failover not from the 503 server to the backup: $fo"
rx=$(sd_events backup ".event == \"rx\" and .status == 503" | head -n 1)
[ -n "$rx" ] || it_fail "the 503 was never received"
rb=$(sd_wait_event backup 10 ".event == \"registered\" and .server == \"$B\"") ||
  it_fail "not registered at the backup after the 503"
wait_for 3 kam_has_binding backup 1001 || it_fail "no binding at the backup"
it_agree backup 1001 backup
d=$(it_elapsed "$(ev_time "$rx")" "$(ev_time "$fo")")
t=$(it_elapsed "$(ev_time "$rx")" "$(ev_time "$rb")")
it_log "503 + Try Backup RSC 5??: failover ($(ev_get "$fo" reason)) ${d}s after the 503"
echo "MEASURE failover_503_$tp: failover ${d}s after the 503, registered at the backup ${t}s after it"
stop_siplined backup
stop_kamailio backup TERM
start_kamailio backup "$bp" 60 >/dev/null  # a clean registrar for case 2

# 2. Try Backup RSC empty: stay, retry after Reg Retry Long Intvl.
run_case stay ''
rf=$(sd_wait_event stay 10 '.event == "reg_failed"') ||
  it_fail "no reg_failed on 503"
it_log "503, Try Backup RSC empty: $rf"
ri=$(ev_get "$rf" retry_in)
awk -v r="$ri" -v l="$LONG" 'BEGIN { exit !(r >= l - 0.01 && r <= l + 0.5) }' ||
  it_fail "retry_in $ri, expected Reg Retry Long Intvl ($LONG s)"
wait_for $((LONG + 4)) bash -c "[ \$(grep -c REGISTER '$IT_DIR/uas-stay.reg.log') -ge 2 ]" ||
  it_fail "the primary did not get the retry within $((LONG + 4)) s"
gap=$(awk '/REGISTER/ { t[n++] = $3 } END { printf "%.3f", t[1] - t[0] }' \
  "$IT_DIR/uas-stay.reg.log")
it_log "the primary got the retry ${gap}s after the first REGISTER"
awk -v g="$gap" -v l="$LONG" 'BEGIN { exit !(g >= l - 0.2 && g <= l + 1.5) }' ||
  it_fail "retry ${gap}s after the first REGISTER, expected ${LONG}s (R12)"
[ "$(sd_count stay '.event == "failover"')" -eq 0 ] ||
  it_fail "failed over although Try Backup RSC is empty (R9)"
[ "$(sd_count stay ".event == \"tx\" and .to == \"$B\"")" -eq 0 ] ||
  it_fail "sent to the backup although Try Backup RSC is empty (R9)"
kam_no_binding backup 1001 || it_fail "a binding at the backup (R9)"
echo "MEASURE retry_503_$tp: no failover, retry after ${gap}s (Reg Retry Long Intvl ${LONG}s)"
stop_siplined stay
echo "PASS failover_503_$tp"
