#!/usr/bin/env bash
# Issue 4 (a) and (d), SPEC R5a/R6/R7/R11, over udp or tcp ($1):
#   the primary Kamailio is frozen (SIGSTOP on every process): the next
#   REGISTER times out after Timer F, the line fails over and registers at the
#   backup (kamcmd ul.dump there shows it; siplinectl status agrees);
#   the primary is resumed: the line falls back to it Proxy Fallback Intvl
#   after the backup registration, and the backup binding is removed.
# The primary grants 20 s (Kamailio max_expires; IT_GRANT), so the refresh
# that meets the frozen primary comes ~15.6 s after registering (R12: 78 %).
# (With a grant under Timer F / 0.22 = 18 s the refresh is at expiry - Timer
# F and its timeout falls on the expiry: IT_GRANT=10 tries that case.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "frozen-$tp"
it_need_daemon
TIMER_F=4
FALLBACK=8

pp=$(it_free_port)
bp=$(it_free_port)
lp=$(it_free_port)
P="127.0.0.1:$pp"
B="127.0.0.1:$bp"
start_kamailio primary "$pp" "${IT_GRANT:-20}" >/dev/null
start_kamailio backup "$bp" 60 >/dev/null
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=$P:p=1|$B:p=2" "User_ID_1_=1001" "Password_1_=secret1001" \
  "Register_Expires_1_=60" "Proxy_Fallback_Intvl_1_=$FALLBACK" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "SIP_Timer_F=$TIMER_F" \
  "SIP_Timer_B=$TIMER_F" "Reg_Retry_Intvl=2" "Try_Backup_RSC=5??"
start_siplined sd "$IT_DIR/profile.xml" "$lp"

reg=$(sd_wait_event sd 10 ".event == \"registered\" and .server == \"$P\"") ||
  it_fail "not registered at the primary $P"
wait_for 3 kam_has_binding primary 1001 || it_fail "no binding at the primary"
it_log "registered at the primary $P ($tp): $reg"

# (a) freeze the primary.
seq0=$(jq -r .seq <<<"$reg")
freeze_kamailio primary
t0=$IT_SIGNAL_AT
it_log "primary frozen (SIGSTOP on $(kam_pids primary | wc -l) processes)"
fo=$(sd_wait_event sd 40 ".event == \"failover\" and .seq > $seq0") ||
  it_fail "no failover within 40 s of freezing the primary"
[ "$(ev_get "$fo" from)" = "$P" ] && [ "$(ev_get "$fo" to)" = "$B" ] ||
  it_fail "failover not from the primary to the backup: $fo"
rb=$(sd_wait_event sd 10 ".event == \"registered\" and .server == \"$B\"") ||
  it_fail "not registered at the backup after the failover"
wait_for 3 kam_has_binding backup 1001 || it_fail "no binding at the backup"
it_agree sd 1001 backup
# The REGISTER that timed out: the first tx of the last REGISTER (its cseq)
# sent to the primary before the failover.
fseq=$(jq -r .seq <<<"$fo")
lastreg=$(sd_events sd ".event == \"tx\" and .method == \"REGISTER\" and .to == \"$P\" and .seq < $fseq" | tail -n 1)
[ -n "$lastreg" ] || it_fail "no REGISTER to the primary before the failover"
cseq=$(ev_get "$lastreg" cseq)
first=$(sd_events sd ".event == \"tx\" and .method == \"REGISTER\" and .to == \"$P\" and .cseq == $cseq" | head -n 1)
detect=$(it_elapsed "$(ev_time "$first")" "$(ev_time "$fo")")
total=$(it_elapsed "$t0" "$(ev_time "$rb")")
it_log "failover: $(ev_get "$fo" reason); REGISTER to the frozen primary timed out after ${detect}s (Timer F ${TIMER_F}s)"
awk -v d="$detect" -v f="$TIMER_F" 'BEGIN { exit !(d >= f - 0.3 && d <= f + 1.5) }' ||
  it_fail "failover ${detect}s after the REGISTER, expected Timer F (${TIMER_F}s)"
echo "MEASURE failover_frozen_$tp: detection ${detect}s after the REGISTER (Timer F ${TIMER_F}s), registered at the backup ${total}s after the freeze"

# (d) resume the primary: fallback Proxy Fallback Intvl after the backup
# registration (R11: min(granted 60, Fallback 8) = 8 s).
thaw_kamailio primary
fb=$(sd_wait_event sd $((FALLBACK + 15)) ".event == \"fallback\"") ||
  it_fail "no fallback to the primary"
[ "$(ev_get "$fb" to)" = "$P" ] || it_fail "fallback not to the primary: $fb"
rp=$(sd_wait_event sd 10 ".event == \"registered\" and .server == \"$P\" and .seq > $(jq -r .seq <<<"$fb")") ||
  it_fail "not registered at the primary after the fallback"
fbt=$(it_elapsed "$(ev_time "$rb")" "$(ev_time "$fb")")
it_log "fallback: $(ev_get "$fb" reason), ${fbt}s after the backup registration"
awk -v d="$fbt" -v f="$FALLBACK" 'BEGIN { exit !(d >= f - 0.5 && d <= f + 2) }' ||
  it_fail "fallback ${fbt}s after the backup registration, expected ${FALLBACK}s (R11)"
wait_for 5 kam_has_binding primary 1001 || it_fail "no binding at the primary after the fallback"
# R11: the backup binding is removed (Dual Registration off).
wait_for 5 kam_no_binding backup 1001 ||
  it_fail "the backup still holds the binding after the fallback: $(kam_contacts backup 1001)"
it_agree sd 1001 primary backup
echo "MEASURE fallback_$tp: ${fbt}s after the backup registration (Proxy Fallback Intvl ${FALLBACK}s)"
stop_siplined sd
echo "PASS failover_frozen_$tp"
