#!/usr/bin/env bash
# Fleet bench (issue 10 item 4): one siplined with LINES lines (a generated
# flat profile; the users in Kamailio's db_text) registering with digest to
# a primary Kamailio on 127.0.0.1, the primary killed (SIGKILL) so that
# every line fails over to the backup, the primary restarted so that every
# line falls back; then, in the same run, SIPp's authenticated REGISTER rate
# for the same users against the same Kamailio. Printed, never asserted.
#
#   bench/fleet/run.sh BUILD_DIR [LINES]          (default 10000)
#
# Environment:
#   TRANSPORT=udp|tcp   the lines' transport (default udp). Over UDP a line
#                       notices the dead primary at its next REGISTER (the
#                       ICMP error, R5c), so the failover spread follows the
#                       refresh times; over TCP the connection drops and
#                       every line fails over at once (a storm).
#   GRANT=S             the primary's longest grant (default 30 s: refresh
#                       after 14 s, the earlier of 78 % and expiry - Timer F)
#   FALLBACK=S          Proxy_Fallback_Intvl (default 30 s)
#   DELAY=S             Reg_Retry_Random_Delay (default 0, the SPEC's)
#   SIPP_RATES="..."    SIPp call rates tried, the best one counts
#                       (default "1500 3000 6000")
#   KAM_CHILDREN=N      Kamailio UDP workers per instance (default: the
#                       config's 2; the machine has 2 cores)
#   SD_ARGS="..."       more siplined options (e.g. --max-pending 0 to see
#                       the fleet without its window of requests in flight)
#   IT_KEEP=1           keep the work directory (events, logs)
#
# What it prints, and how it is measured:
#   - registrations/s: lines registered at the primary ("registered" events
#     of siplined, their daemon clock t) per second, and LINES over the
#     time from the daemon's start to the last line registered;
#   - failover / fallback spread: the first to the last line registered at
#     the backup after the kill (at the primary after the restart);
#   - RSS per line: siplined's VmRSS with all lines registered, less the
#     VmRSS of the same daemon with a one-line profile that does not
#     register, over LINES;
#   - CPU per REGISTER: siplined's utime+stime over the phase, over the
#     REGISTERs it sent (Kamailio's core:rcv_requests_register plus the
#     datagrams its socket dropped, /proc/net/udp);
#   - SIPp: the same users (bench/fleet/sipp_register.xml, -inf CSV with
#     [authentication]) at each rate of SIPP_RATES after siplined stopped
#     (SIPp first would leave 10,000 more bindings and its failed calls'
#     retransmissions in the primary); registrations/s = LINES / SIPp's run
#     time; siplined's rate as a % of the best.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ] || [ $# -lt 1 ]; then
  sed -n 2,45p "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
build=$(cd "$1" && pwd)
N=${2:-10000}
TRANSPORT=${TRANSPORT:-udp}
GRANT=${GRANT:-30}
FALLBACK=${FALLBACK:-30}
DELAY=${DELAY:-0}
SIPP_RATES=${SIPP_RATES:-1500 2500 4000}
SD_ARGS=${SD_ARGS:-}
export SIPLINE_BUILD_DIR=$build
. "$root/tests/integration/lib.sh"
it_init fleet
it_need_daemon
for p in kamailio kamcmd sipp; do
  command -v "$p" >/dev/null || it_fail "$p is missing (bash scripts/deps.sh)"
done
case $TRANSPORT in udp) TP=UDP ;; tcp) TP=TCP ;; *) it_fail "TRANSPORT $TRANSPORT?" ;; esac

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load0=$(loadavg)

# --- the users, the profile, Kamailio ----------------------------------------
mkdir -p "$IT_DIR/db"
cp "$root/tests/integration/kamailio/db/version" "$IT_DIR/db/"
"$here/gen.sh" subscriber "$N" >"$IT_DIR/db/subscriber"
"$here/gen.sh" sipp-csv "$N" >"$IT_DIR/users.csv"
pp=$(it_free_port)
bp=$(it_free_port)
lp=$(it_free_port)
sp=$(it_free_port)
P="127.0.0.1:$pp"
B="127.0.0.1:$bp"
"$here/gen.sh" profile "$N" "$pp" "$bp" "$lp" \
  "SIP_Transport_n_=$TP" "Proxy_Fallback_Intvl_n_=$FALLBACK" \
  "Reg_Retry_Random_Delay=$DELAY" "Reg_Retry_Long_Random_Delay=$DELAY" \
  >"$IT_DIR/profile.xml"
"$SIPLINED" --check -c "$IT_DIR/profile.xml" >/dev/null ||
  it_fail "the generated profile does not load"

# Kamailio for LINES bindings: more shared memory, no per-request log line
# (--debug=1: the config's xlog L_INFO would write one per REGISTER), a
# UDP receive buffer up to 8 MiB (capped by net.core.rmem_max).
export IT_KAM_DB="$IT_DIR/db" IT_KAM_SHM=${KAM_SHM:-256} IT_KAM_PKG=16
export IT_KAM_ARGS="--debug=1 -A MAXBUFFER=8388608"
[ -n "${KAM_CHILDREN:-}" ] && export IT_KAM_CHILDREN=$KAM_CHILDREN
start_kamailio primary "$pp" "$GRANT" >/dev/null
start_kamailio backup "$bp" 600 >/dev/null

kam_stat() { # NAME STAT -> its value (0 when kamcmd does not answer)
  timeout 3 kamcmd -s "$(kam_ctl "$1")" stats.get_statistics "$2" 2>/dev/null |
    awk -F' = ' 'NF == 2 { print $2; f = 1 } END { if (!f) print 0 }'
}
udp_drops() { # PORT -> datagrams dropped by the socket bound there
  awk -v p="$(printf '%04X' "$1")" '$2 ~ ":" p "$" { print $NF; f = 1 }
    END { if (!f) print 0 }' /proc/net/udp
}
# REGISTERs that reached an instance: what it parsed plus what its socket
# dropped (UDP). Over TCP nothing is dropped.
kam_sent() { echo $(($(kam_stat "$1" rcv_requests_register) + $(udp_drops "$(kam_port "$1")"))); }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# --- SIPp against the same Kamailio ------------------------------------------
# sipp_rates WHEN: SIPp at each rate of SIPP_RATES; best_WHEN = the best.
sipp_rates() {
  local when=$1 r s0 t0 t1 rc okc rate best=0
  echo
  echo "== SIPp $when siplined stopped: $N authenticated registrations (401 + digest) per run, the same users, the primary $P"
  for r in $SIPP_RATES; do
    s0=$(kam_sent primary)
    t0=$(it_now)
    rc=0
    run_sipp "sipp-$when-$r" "$sp" -sf "$here/sipp_register.xml" \
      -inf "$IT_DIR/users.csv" -m "$N" -r "$r" -rp 1000 -l "$N" \
      -t "$(it_tp_sipp "$TRANSPORT")" -max_socket 64 \
      -timeout 120s -auth_uri "$P" "$P" || rc=$?
    t1=$(it_now)
    okc=$(awk -F'|' '/Successful call/ { gsub(/ /, "", $3); print $3 }' "$IT_DIR/sipp-$when-$r.log")
    rate=$(awk -v n="${okc:-0}" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    printf "  -r %5s: %5s of %d registered in %6.3f s = %5s/s, %d REGISTERs reached Kamailio (exit %d)\n" \
      "$r" "${okc:-0}" "$N" "$(it_elapsed "$t0" "$t1")" "$rate" \
      $(($(kam_sent primary) - s0)) "$rc"
    [ "$rate" -gt "$best" ] && best=$rate
  done
  eval "best_$when=$best"
}
# --- siplined's size with no line at work --------------------------------------
it_profile "$IT_DIR/idle.xml" "Proxy_1_=$P" "User_ID_1_=100001" \
  "Password_1_=pw100001" "Register_1_=No" "SIP_Port_1_=$lp"
start_bg idle "$SIPLINED" -c "$IT_DIR/idle.xml" -s "$IT_DIR/idle.sock" -l warn
wait_for 5 test -S "$IT_DIR/idle.sock" || it_fail "the idle siplined did not start"
sleep 0.5
rss_idle=$(rss_kb "$(bg_pid idle)")
stop_bg idle TERM 3

# --- siplined with LINES lines -----------------------------------------------
ev="$IT_DIR/sd-events.log" # start_bg writes NAME.log
sent_reg0=$(kam_sent primary)
t_start=$(it_now)
# shellcheck disable=SC2086
start_bg sd "$SIPLINED" -c "$IT_DIR/profile.xml" -s "$IT_DIR/sd.sock" -l warn \
  $SD_ARGS
pid=$(bg_pid sd)
wait_for 10 test -S "$IT_DIR/sd.sock" || it_fail "siplined did not start"
start_bg sd-events "$SIPLINECTL" -s "$IT_DIR/sd.sock" --json events --follow
# The follower reads the ring from its start: no event is missed.
lines_at() { # SERVER AFTER_SEQ -> lines with a "registered" event there
  jq -r --arg s "$1" --argjson q "$2" \
    'select(.event == "registered" and .server == $s and .seq > $q) | .line' \
    "$ev" 2>/dev/null | sort -un | wc -l
}
wait_lines() { # SERVER AFTER_SEQ SECONDS
  local i n=0
  for ((i = 0; i < $3 * 2; i++)); do
    n=$(grep -c "\"registered\"" "$ev" 2>/dev/null) || n=0
    if [ "$n" -ge "$N" ]; then
      n=$(lines_at "$1" "$2")
      [ "$n" -ge "$N" ] && return 0
    fi
    sleep 0.5
    bg_alive sd || it_fail "siplined died"
  done
  it_log "only $n of $N lines registered at $1 within $3 s"
  return 1
}
last_seq() { tail -n 1 "$ev" | jq -r '.seq // 0'; }
# spread SERVER AFTER_SEQ TITLE: first/last registration there, per second.
spread() {
  jq -r --arg s "$1" --argjson q "$2" \
    'select(.event == "registered" and .server == $s and .seq > $q)
     | "\(.line) \(.t)"' "$ev" |
    awk -v title="$3" -v n="$N" '
      !($1 in seen) { seen[$1] = 1; t = $2 + 0; k++
        if (k == 1 || t < first) first = t
        if (t > last) last = t
        c[int(t)]++ }
      END {
        peak = 0; for (s in c) if (c[s] > peak) { peak = c[s]; ps = s }
        printf "%s: %d of %d lines, first at t=%.3f s, last at t=%.3f s, spread %.3f s, peak %d/s (second %d)\n",
          title, k, n, first, last, last - first, peak, ps
        for (s = int(first); s <= int(last); s++)
          printf "    t=%5d s %6d registered\n", s, c[s] + 0
      }'
}

ok=1
if wait_lines "$P" 0 120; then
  t_all=$(it_now)
else
  ok=0
  t_all=$(it_now)
fi
cpu_reg=$(cpu_ticks "$pid")
sent_reg=$(($(kam_sent primary) - sent_reg0))
rss_reg=$(rss_kb "$pid")
sent_at_reg=$(kam_sent primary)
sleep $((2 + 1)) # past one malloc_trim (SD_TRIM_EVERY_MS)
rss_reg2=$(rss_kb "$pid")
# The last REGISTER transactions live on for Timer K (T4 = 5 s over UDP)
# with their request copies: only past it is the line's resting cost seen.
sleep 6
rss_reg3=$(rss_kb "$pid")
# ...unless the first lines are refreshing by then (a registration that
# took longer than ~5 s with the default grant, as on a loaded machine):
# REGISTERs that reached the primary between the readings say so.
sent_rest=$(($(kam_sent primary) - sent_at_reg))
# Each line's first registration (events come in seq order): by now the
# first lines may have refreshed, and their later "registered" events must
# not count as the end of the start-up.
first_regs() {
  jq -r --arg s "$P" 'select(.event == "registered" and .server == $s)
    | "\(.line) \(.t)"' "$ev" | awk '!($1 in seen) { seen[$1] = 1; print $2 }'
}
reg_last=$(first_regs | sort -n | tail -n 1)
echo "== siplined: $N lines over $TRANSPORT, Kamailio primary $P (grant $GRANT s), backup $B"
spread "$P" 0 "registration at the primary"
reg_rate=$(awk -v n="$N" -v t="$reg_last" 'BEGIN { printf "%.0f", n / t }')
reg_first=$(first_regs | awk 'NR == 1 || $1 < m { m = $1 } END { print m }')
reg_rate2=$(awk -v n="$N" -v a="$reg_first" -v b="$reg_last" 'BEGIN { printf "%.0f", n / (b - a) }')

# --- failover: the primary killed -------------------------------------------
seq_kill=$(last_seq)
it_signal_group "$(kam_pid primary)" KILL
t_kill=$IT_SIGNAL_AT
stop_kamailio primary KILL
t_kill_d=$(awk -v a="$t_kill" -v b="$t_start" 'BEGIN { printf "%.3f", a - b }')
cpu0=$(cpu_ticks "$pid")
sentb0=$(kam_sent backup)
fo_ok=1
wait_lines "$B" "$seq_kill" $((GRANT + 120)) || fo_ok=0
cpu_fo=$(($(cpu_ticks "$pid") - cpu0))
sent_fo=$(($(kam_sent backup) - sentb0))
echo
echo "primary killed at t=${t_kill_d} s (daemon clock)"
spread "$B" "$seq_kill" "failover to the backup"
n_fo=$(jq -r --argjson q "$seq_kill" 'select(.event == "failover" and .seq > $q) | .line' "$ev" | sort -un | wc -l)
echo "  failover events: $n_fo lines"

# --- fallback: the primary back ---------------------------------------------
seq_back=$(last_seq)
start_kamailio primary "$pp" "$GRANT" >/dev/null
t_back_d=$(awk -v a="$(it_now)" -v b="$t_start" 'BEGIN { printf "%.3f", a - b }')
cpu0=$(cpu_ticks "$pid")
fb_ok=1
wait_lines "$P" "$seq_back" $((FALLBACK + 120)) || fb_ok=0
cpu_fb=$(($(cpu_ticks "$pid") - cpu0))
sent_fb=$(kam_sent primary)
echo
echo "primary restarted at t=${t_back_d} s"
spread "$P" "$seq_back" "fallback to the primary"
n_fb=$(jq -r --argjson q "$seq_back" 'select(.event == "fallback" and .seq > $q) | .line' "$ev" | sort -un | wc -l)
echo "  fallback events: $n_fb lines"
load_sd=$(loadavg)
sd_st=$(timeout 10 "$SIPLINECTL" -s "$IT_DIR/sd.sock" --json status |
  jq -c '{events_dropped, heap, pending_window}') || sd_st="(no status)"
stop_bg sd TERM 5
stop_bg sd-events TERM 1

sipp_rates after
best=$best_after
load1=$(loadavg)

# --- the table ----------------------------------------------------------------
per_line=$(awk -v a="$rss_reg" -v b="$rss_idle" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
per_line2=$(awk -v a="$rss_reg2" -v b="$rss_idle" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
us() { awk -v c="$1" -v n="$2" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / hz / n; else print "-" }'; }
pct=$(awk -v a="$reg_rate" -v b="$best" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "-" }')
pct2=$(awk -v a="$reg_rate2" -v b="$best" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "-" }')
fos=$(spread "$B" "$seq_kill" x | awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "spread") print $(i + 1) }')
fbs=$(spread "$P" "$seq_back" x | awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "spread") print $(i + 1) }')
echo
echo "== fleet, $N lines over $TRANSPORT (Reg_Retry_Random_Delay $DELAY, grant $GRANT s, fallback $FALLBACK s)"
echo "| figure | value |"
echo "|---|---:|"
echo "| all $N lines registered (daemon start to the last 200) | ${reg_last} s$([ $ok = 1 ] || echo ' (NOT all)') |"
echo "| siplined registrations/s (daemon start to last / first to last 200) | $reg_rate / $reg_rate2 |"
echo "| SIPp registrations/s, best of -r $SIPP_RATES | $best |"
echo "| siplined / SIPp (the two siplined rates) | ${pct} % / ${pct2} % |"
echo "| failover spread (first to last line at the backup) | ${fos} s$([ $fo_ok = 1 ] || echo ' (NOT all)') |"
echo "| fallback spread (first to last line back at the primary) | ${fbs} s$([ $fb_ok = 1 ] || echo ' (NOT all)') |"
echo "| siplined VmRSS idle (1 line, no REGISTER) | ${rss_idle} KiB |"
echo "| siplined VmRSS, all registered / after a heap trim | ${rss_reg} / ${rss_reg2} KiB |"
echo "| RSS per line (all registered / after a trim) | ${per_line} / ${per_line2} B |"
echo "| RSS per line at rest (9 s later, past Timer K) | $(((rss_reg3 - rss_idle) * 1024 / N)) B$([ "$sent_rest" -le 0 ] || echo " (NOT at rest: $sent_rest REGISTERs sent meanwhile)") |"
echo "| CPU per REGISTER sent, registration (incl. start-up) | $(us "$cpu_reg" "$sent_reg") us ($sent_reg REGISTERs) |"
echo "| CPU per REGISTER sent, failover | $(us "$cpu_fo" "$sent_fo") us ($sent_fo REGISTERs) |"
echo "| CPU per REGISTER sent, fallback | $(us "$cpu_fb" "$sent_fb") us ($sent_fb REGISTERs) |"
echo "| load average: start / after siplined / after SIPp | $load0 / $load_sd / $load1 |"
echo "(cores: $(nproc); Kamailio workers: ${KAM_CHILDREN:-2} UDP per instance; siplined options: ${SD_ARGS:-none})"
echo "siplined at the end: $sd_st"
