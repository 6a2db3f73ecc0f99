#!/usr/bin/env bash
# Issue 4 (b), SPEC R5c: the primary Kamailio is killed (SIGKILL to every
# one of its processes, by PID).
#   tcp: the connection drops; the line fails over at once, without waiting
#        for a refresh or a timer (Timer F is 8 s and the next refresh ~45 s
#        away, so only the transport error can explain a quick failover).
#   udp: nothing tells until the next REGISTER (granted 10 s, refresh ~6 s);
#        its ICMP port unreachable fails over at once, not after Timer F.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-tcp}
it_init "killed-$tp"
it_need_daemon
TIMER_F=8

pp=$(it_free_port)
bp=$(it_free_port)
lp=$(it_free_port)
P="127.0.0.1:$pp"
B="127.0.0.1:$bp"
maxexp=60
[ "$tp" = udp ] && maxexp=10
start_kamailio primary "$pp" "$maxexp" >/dev/null
start_kamailio backup "$bp" 60 >/dev/null
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=$P:p=1|$B:p=2" "User_ID_1_=1001" "Password_1_=secret1001" \
  "Register_Expires_1_=60" "Proxy_Fallback_Intvl_1_=600" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "SIP_Timer_F=$TIMER_F" \
  "SIP_Timer_B=$TIMER_F" "Reg_Retry_Intvl=2"
start_siplined sd "$IT_DIR/profile.xml" "$lp"

reg=$(sd_wait_event sd 10 ".event == \"registered\" and .server == \"$P\"") ||
  it_fail "not registered at the primary $P"
it_log "registered at the primary $P ($tp)"
seq0=$(jq -r .seq <<<"$reg")

it_signal_group "$(kam_pid primary)" KILL
t0=$IT_SIGNAL_AT
stop_kamailio primary KILL
it_log "primary killed ($tp)"
fo=$(sd_wait_event sd 20 ".event == \"failover\" and .seq > $seq0") ||
  it_fail "no failover after killing the primary"
[ "$(ev_get "$fo" from)" = "$P" ] && [ "$(ev_get "$fo" to)" = "$B" ] ||
  it_fail "failover not from the primary to the backup: $fo"
rb=$(sd_wait_event sd 10 ".event == \"registered\" and .server == \"$B\"") ||
  it_fail "not registered at the backup after the failover"
wait_for 3 kam_has_binding backup 1001 || it_fail "no binding at the backup"
it_agree sd 1001 backup
total=$(it_elapsed "$t0" "$(ev_time "$rb")")
if [ "$tp" = tcp ]; then
  detect=$(it_elapsed "$t0" "$(ev_time "$fo")")
  what="after the kill"
else
  fseq=$(jq -r .seq <<<"$fo")
  last=$(sd_events sd ".event == \"tx\" and .method == \"REGISTER\" and .to == \"$P\" and .seq < $fseq" | tail -n 1)
  [ -n "$last" ] || it_fail "no REGISTER to the primary before the failover"
  detect=$(it_elapsed "$(ev_time "$last")" "$(ev_time "$fo")")
  what="after the REGISTER that met the dead port"
fi
it_log "failover ($(ev_get "$fo" reason)) ${detect}s $what"
awk -v d="$detect" 'BEGIN { exit !(d < 2.0) }' ||
  it_fail "failover took ${detect}s $what: a timer, not the transport error"
echo "MEASURE failover_killed_$tp: failover ${detect}s $what, registered at the backup ${total}s after the kill"
stop_siplined sd
echo "PASS failover_killed_$tp"
