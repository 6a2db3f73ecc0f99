#!/usr/bin/env bash
# bench/faults/campaign.sh: the failover fault campaign (issue 10 item 3).
#
#   bench/faults/campaign.sh BUILD_DIR [CYCLES] [FAULTS] [TRANSPORTS]
#     CYCLES      per fault x transport (default 100)
#     FAULTS      comma list of killed,frozen,503 (default all three)
#     TRANSPORTS  comma list of udp,tcp,tls (default all three)
#
# Each fault x transport combination runs IN PARALLEL with the others, with
# its own pair of real Kamailio instances (tests/integration/lib.sh) on its
# own ports and its own siplined whose one line has Proxy
# "primary:p=1|backup:p=2". A cycle:
#   1. the line is registered at the primary; wait a random phase in
#      [0, refresh interval) so that faults land anywhere in the refresh /
#      keep-alive schedule;
#   2. fault at t0: killed = SIGKILL to every Kamailio process of the
#      primary; frozen = SIGSTOP to all of them; 503 = the primary answers
#      every request 503 (kamailio.cfg's fail503 switch);
#   3. wait for the failover and the registration at the backup (t_b);
#      "unregistered" = t_b - t0;
#   4. heal the primary (restart on the same port / SIGCONT / 503 off); wait
#      for the fallback (R11: Proxy Fallback Intvl after t_b) and the
#      registration at the primary; then `kamcmd ul.dump` on both: the
#      backup must hold no binding of the line, the primary exactly one;
#   5. siplined's VmRSS; siplined alive, no core file.
#
# The bound (SPEC R5, R12, and the keep-alive beyond the seed): the fault
# can be noticed no later than the line's next REGISTER refresh (at the
# earlier of 78 % of the grant and grant - Timer F after the last
# registration at the primary) or its next keep-alive (Keep Alive Intvl
# after t0; a 503 answer to a keep-alive proves the server alive, so not for
# 503), plus the time the failing request takes to fail (Timer F for a
# frozen primary, or the 10 s CRLF pong wait of RFC 5626 for a TCP/TLS
# keep-alive; 0 for a 503 or a dead port), plus RT_ALLOW for the REGISTER
# round trips (503 or ICMP, then 401 + 200 at the backup). excess =
# max(0, t_b - that deadline); goal 0 in every cycle.
#
# Timers, chosen as short as the SPEC's ranges and Kamailio allow (env):
#   FC_GRANT=10     the primary grants 10 s (Kamailio min_expires 10)
#   FC_TIMER_F=2    SIP_Timer_F / SIP_Timer_B (s)
#   FC_KA=2         Keep_Alive_Intvl (s; Keep_Alive_Fail_Count 1); 0 = off
#   FC_FALLBACK=3   Proxy_Fallback_Intvl (s)
#   FC_RT_ALLOW=0.5 round trips allowance (s)
#   FC_SD_ARGS=     more siplined options (e.g. "--event-history 100": its
#                   event ring, 10000 events by default, fills as the
#                   campaign goes, which shows as RSS growth until it wraps)
#   FC_OUT=DIR      where results and every log go (default
#                   bench-out/faults-DATE under the worktree)
# Output: one table row per fault x transport; per-cycle rows in
# FC_OUT/<fault>-<tp>/cycles.tsv, summary.tsv beside it; the combination's
# logs (Kamailio, siplined, events, pcap) under FC_OUT/<fault>-<tp>/run.*.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] || [ $# -lt 1 ]; then
  usage
  [ $# -ge 1 ] && exit 0 || exit 2
fi

FC_GRANT=${FC_GRANT:-10}
FC_TIMER_F=${FC_TIMER_F:-2}
FC_KA=${FC_KA:-2}
FC_FALLBACK=${FC_FALLBACK:-3}
FC_RT_ALLOW=${FC_RT_ALLOW:-0.5}

# refresh_delay G F: seconds from a registration granted G s to its refresh
# (policy.c sipline__refresh_delay: min(78 % G, G - F), 78 % alone when
# G <= F).
refresh_delay() {
  awk -v g="$1" -v f="$2" 'BEGIN { p = g * 0.78
    if (g > f && g - f < p) p = g - f; printf "%.3f", p }'
}

# ---------------------------------------------------------------------------
# One combination (internal: campaign.sh --combo FAULT TP CYCLES OUTDIR).
combo() {
  local fault=$1 tp=$2 cycles=$3 out=$4
  mkdir -p "$out"
  export TMPDIR=$out
  . "$ROOT/tests/integration/lib.sh"
  IT_KEEP=1
  it_init "run"
  it_need_daemon
  local R
  R=$(refresh_delay "$FC_GRANT" "$FC_TIMER_F")
  local cyc="$out/cycles.tsv" sum="$out/summary.tsv" log="$out/campaign.log"
  : >"$log"
  exec 2>>"$log"
  printf 'cycle\tt0\tbound\tunreg\texcess\thow\tfb_delay\tstray\tprimary_contacts\trss_kb\terror\n' >"$cyc"

  # Ports: PORT for UDP/TCP, PORT+1 for TLS (it_free_port leaves it free).
  local pp bp lp pport bport
  pp=$(it_free_port)
  bp=$(it_free_port)
  lp=$(it_free_port)
  local tlsp="" tlsb="" ca=()
  if [ "$tp" = tls ]; then
    tlsp=$((pp + 1))
    tlsb=$((bp + 1))
    it_tls_cert
    ca=(--ca-file "$IT_DIR/tls/cert.pem")
  fi
  pport=${tlsp:-$pp}
  bport=${tlsb:-$bp}
  local P="127.0.0.1:$pport" B="127.0.0.1:$bport"
  start_kamailio primary "$pp" "$FC_GRANT" 3605 "$tlsp" >/dev/null ||
    it_fail "primary Kamailio did not start"
  start_kamailio backup "$bp" 60 3605 "$tlsb" >/dev/null ||
    it_fail "backup Kamailio did not start"
  it_profile "$IT_DIR/profile.xml" \
    "Proxy_1_=$P:p=1|$B:p=2" "User_ID_1_=1001" "Password_1_=secret1001" \
    "Register_Expires_1_=60" "Proxy_Fallback_Intvl_1_=$FC_FALLBACK" \
    "SIP_Transport_1_=$(it_tp_profile "$tp")" "SIP_Timer_F=$FC_TIMER_F" \
    "SIP_Timer_B=$FC_TIMER_F" "Reg_Retry_Intvl=1" "Try_Backup_RSC=5??" \
    "Keep_Alive_Intvl_1_=$FC_KA" "Keep_Alive_Fail_Count_1_=1"
  # Cores of a crash land in the working directory (core_pattern "core"):
  # siplined gets one of its own, so that a core there is siplined's.
  mkdir -p "$IT_DIR/sd-cwd"
  cd "$IT_DIR/sd-cwd"
  ulimit -c unlimited 2>/dev/null || true
  local extra=()
  read -r -a extra <<<"${FC_SD_ARGS:-}"
  IT_SD_LOG=info IT_SD_MESSAGES=0 start_siplined sd "$IT_DIR/profile.xml" "$lp" "${ca[@]}" "${extra[@]}" ||
    it_fail "siplined did not start"
  cd "$IT_DIR"
  local sdpid
  sdpid=$(cat "$IT_DIR/sd.daemon.pid")

  # The event stream, reduced to TSV by one jq, read through a FIFO: no
  # polling, no re-reading the growing file.
  local fifo="$IT_DIR/ev.fifo"
  mkfifo "$fifo"
  start_bg evr bash -c "tail -n +1 -F '$(sd_events_file sd)' 2>/dev/null |
    jq --unbuffered -r 'select(.event != null) |
      [.event, .seq,
       (((.time[0:19] + \"Z\") | fromdate) + ((.time[20:23] | tonumber) / 1000)),
       (.server // \"-\"), (.from // \"-\"), (.to // \"-\"),
       (.reason // \"-\"), (.expires // 0)] | @tsv' >'$fifo'"
  local evfd
  exec {evfd}<"$fifo"

  # ev_wait SECS EVENT [ADDR]: consumes events until EVENT (whose server,
  # or "to" for failover/fallback, is ADDR when given) arrives; sets E_*.
  # Every registration at the primary updates LAST_REG_P / LAST_G, the
  # anchor of the refresh schedule. 1 on timeout.
  LAST_REG_P=0
  LAST_G=$FC_GRANT
  ev_wait() {
    local secs=$1 want=$2 addr=${3:-} end now left line
    end=$(awk -v n="$(it_now)" -v s="$secs" 'BEGIN { printf "%.3f", n + s }')
    while :; do
      now=$(it_now)
      left=$(awk -v n="$now" -v e="$end" 'BEGIN { d = e - n; printf "%.3f", (d > 0 ? d : 0) }')
      [ "$left" = "0.000" ] && return 1
      IFS= read -r -t "$left" -u "$evfd" line || return 1
      IFS=$'\t' read -r E_EV E_SEQ E_T E_SRV E_FROM E_TO E_REASON E_EXP <<<"$line"
      echo "ev $line" >&2
      if [ "$E_EV" = registered ] && [ "$E_SRV" = "$P" ]; then
        LAST_REG_P=$E_T
        LAST_G=$E_EXP
      fi
      [ "$E_EV" = "$want" ] || continue
      [ -z "$addr" ] && return 0
      case $E_EV in
      failover | fallback) [ "$E_TO" = "$addr" ] && return 0 ;;
      *) [ "$E_SRV" = "$addr" ] && return 0 ;;
      esac
    done
  }

  # Kamailio's usrloc: contacts of 1001 at an instance (empty when none).
  ncontacts() { kam_contacts "$1" 1001 | grep -c . || true; }

  heal() {
    case $fault in
    killed)
      [ -n "$(kam_pids primary)" ] && return 0
      start_kamailio primary "$pp" "$FC_GRANT" 3605 "$tlsp" >/dev/null ;;
    frozen) thaw_kamailio primary ;;
    503) kam_fail503 primary 0 ;;
    esac
  }

  # The line must start at the primary.
  ev_wait 15 registered "$P" || it_fail "not registered at the primary $P"
  local c t0 bound unreg excess how fbd stray pc rss err deadline t_b t_fb
  local crashes=0 ka_to fault_to
  case $fault in
  frozen) fault_to=$FC_TIMER_F ;;
  *) fault_to=0 ;;
  esac
  case $fault:$tp in
  503:*) ka_to="" ;; # a keep-alive answered 503 proves the server alive
  frozen:udp) ka_to=$FC_TIMER_F ;;
  frozen:*) ka_to=10 ;; # RFC 5626 pong wait
  *) ka_to=0 ;;
  esac
  [ "$FC_KA" = 0 ] && ka_to=""
  it_log "combo $fault/$tp: primary $P backup $B, refresh every ${R}s"
  for ((c = 1; c <= cycles; c++)); do
    err=""
    bound=NA unreg=NA excess=NA how=- fbd=NA stray=NA pc=NA
    # 1. a random phase in the refresh schedule.
    sleep "$(awk -v r="$R" -v x="$RANDOM" 'BEGIN { printf "%.3f", r * x / 32768 }')"
    # 2. the fault.
    case $fault in
    # t0 is taken just before the signals (IT_SIGNAL_AT comes after them,
    # and siplined may have noticed a kill by then).
    killed)
      t0=$(it_now)
      it_signal_group "$(kam_pid primary)" KILL
      stop_kamailio primary KILL || true ;;
    frozen) t0=$(it_now); freeze_kamailio primary ;;
    503) kam_fail503 primary 1 || err="kamcmd"; t0=$IT_SIGNAL_AT ;;
    esac
    # 3. failover and registration at the backup.
    if ev_wait $((${LAST_G%.*} + 30)) failover "$B"; then
      how=$E_REASON
      # The refresh schedule is anchored on the last registration at the
      # primary before the failover (one that came after t0 answered a
      # REGISTER the primary had handled before the fault).
      deadline=$(awk -v lr="$LAST_REG_P" -v g="$LAST_G" -v f="$FC_TIMER_F" \
        -v to="$fault_to" -v t0="$t0" -v ka="$FC_KA" -v kto="$ka_to" \
        -v rt="$FC_RT_ALLOW" 'BEGIN {
          p = g * 0.78; if (g > f && g - f < p) p = g - f
          d = lr + p + to
          if (kto != "" && t0 + ka + kto < d) d = t0 + ka + kto
          printf "%.3f", d + rt }')
      bound=$(it_elapsed "$t0" "$deadline")
      if ev_wait 20 registered "$B"; then
        t_b=$E_T
        unreg=$(it_elapsed "$t0" "$t_b")
        excess=$(awk -v a="$t_b" -v d="$deadline" 'BEGIN { x = a - d; printf "%.3f", (x > 0 ? x : 0) }')
      else
        err="no registration at the backup"
      fi
    else
      err="no failover"
    fi
    # 4. heal; fallback; bindings.
    heal || err="${err:+$err; }heal failed"
    if [ -z "$err" ]; then
      if ev_wait $((FC_FALLBACK + 20)) fallback "$P"; then
        t_fb=$E_T
        fbd=$(it_elapsed "$t_b" "$t_fb")
        ev_wait 20 registered "$P" || err="no registration at the primary after the fallback"
      else
        err="no fallback"
      fi
    fi
    if [ -n "$err" ]; then
      # Back to a known state: the primary healed, the line there.
      heal || true
      ev_wait 60 registered "$P" || {
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "${t0:-NA}" \
          "$bound" "$unreg" "$excess" "$how" "$fbd" NA NA NA \
          "$err; stuck: not back at the primary within 60 s" >>"$cyc"
        break
      }
    fi
    # The removal of the backup binding goes out with the registration at
    # the primary; give Kamailio 3 s to have handled it.
    wait_for 3 kam_no_binding backup 1001 || true
    stray=$(ncontacts backup)
    pc=$(ncontacts primary)
    [ "$pc" -gt 1 ] && stray=$((stray + pc - 1))
    [ "$pc" -eq 0 ] && err="${err:+$err; }no binding at the primary"
    # 5. siplined alive, its RSS.
    if kill -0 "$sdpid" 2>/dev/null; then
      rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$sdpid/status")
    else
      rss=NA
      crashes=$((crashes + 1))
      err="${err:+$err; }siplined is gone"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$t0" "$bound" \
      "$unreg" "$excess" "$how" "$fbd" "$stray" "$pc" "$rss" "${err:--}" >>"$cyc"
    [ "$rss" = NA ] && break
  done
  local cores
  cores=$(find "$IT_DIR/sd-cwd" -maxdepth 1 -name 'core*' | grep -c . || true)
  # The end: siplined stops (un-registering), nothing may stay behind.
  local end_left=NA
  if kill -0 "$sdpid" 2>/dev/null; then
    stop_siplined sd
    wait_for 3 kam_no_binding primary 1001 || true
    end_left=$(($(ncontacts primary) + $(ncontacts backup)))
  fi
  awk -F'\t' -v fault="$fault" -v tp="$tp" -v crashes="$crashes" \
    -v cores="$cores" -v endleft="$end_left" -v fb="$FC_FALLBACK" '
    NR == 1 { next }
    { n++
      if ($11 != "-") errs++
      if ($3 != "NA" && $3 > bmax) bmax = $3
      if ($3 != "NA" && (bmin == "" || $3 < bmin)) bmin = $3
      if ($4 != "NA") { m++; s += $4; if ($4 > umax) umax = $4 }
      if ($5 != "NA") { if ($5 > xmax) xmax = $5; if ($5 > 0) nx++ }
      if ($7 != "NA") { d = $7 - fb; if (d < 0) d = -d; if (d > fbdev) fbdev = d }
      if ($8 != "NA") stray += $8
      if ($10 != "NA") { if (rf == "") rf = $10; rl = $10; if ($10 > rmax) rmax = $10 }
    }
    END {
      printf "%s\t%s\t%d\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%.3f\t%d\t%d\t%s\t%s\t%s\t%s\t%d\n",
        fault, tp, n, bmin == "" ? "NA" : bmin, bmax + 0, umax + 0,
        m ? s / m : 0, xmax + 0, nx, stray, fbdev + 0, crashes, cores,
        endleft, rf == "" ? "NA" : rf, rl == "" ? "NA" : rl,
        rmax == "" ? "NA" : rmax, errs
    }' "$cyc" >"$sum"
  exec {evfd}<&-
}

if [ "$1" = "--combo" ]; then
  shift
  combo "$@"
  exit 0
fi

# ---------------------------------------------------------------------------
BUILD=$(cd "$1" && pwd)
CYCLES=${2:-100}
FAULTS=${3:-killed,frozen,503}
TRANSPORTS=${4:-udp,tcp,tls}
export SIPLINED=${SIPLINED:-$BUILD/bin/siplined}
export SIPLINECTL=${SIPLINECTL:-$BUILD/bin/siplinectl}
for b in "$SIPLINED" "$SIPLINECTL"; do
  [ -x "$b" ] || { echo "campaign: $b is missing (build first)" >&2; exit 2; }
done
for p in kamailio kamcmd jq openssl ss; do
  command -v "$p" >/dev/null || { echo "campaign: $p is missing (bash scripts/deps.sh)" >&2; exit 2; }
done
FC_OUT=${FC_OUT:-$ROOT/bench-out/faults-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$FC_OUT"
export FC_GRANT FC_TIMER_F FC_KA FC_FALLBACK FC_RT_ALLOW FC_SD_ARGS

IFS=, read -r -a faults <<<"$FAULTS"
IFS=, read -r -a tps <<<"$TRANSPORTS"
for f in "${faults[@]}"; do
  case $f in killed | frozen | 503) ;; *) echo "campaign: fault $f? (killed,frozen,503)" >&2; exit 2 ;; esac
done
for t in "${tps[@]}"; do
  case $t in udp | tcp | tls) ;; *) echo "campaign: transport $t? (udp,tcp,tls)" >&2; exit 2 ;; esac
done
R=$(refresh_delay "$FC_GRANT" "$FC_TIMER_F")
ncombo=$((${#faults[@]} * ${#tps[@]}))
# A cycle: the random phase and the detection take about one refresh
# interval together (at most), then the fallback interval, ~2 s of round
# trips, restarts and checks.
est=$(awk -v r="$R" -v fb="$FC_FALLBACK" -v f="$FC_TIMER_F" -v c="$CYCLES" \
  'BEGIN { printf "%.0f", c * (r + fb + f + 2) }')
echo "fault campaign: $CYCLES cycles x {${FAULTS}} x {${TRANSPORTS}} = $ncombo combinations in parallel"
echo "timers: primary grant ${FC_GRANT}s (refresh every ${R}s), Timer F ${FC_TIMER_F}s, keep-alive ${FC_KA}s, Proxy Fallback Intvl ${FC_FALLBACK}s, round-trip allowance ${FC_RT_ALLOW}s"
echo "expected wall time: about $((est / 60)) min $((est % 60)) s (at most ~$(awk -v e="$est" 'BEGIN { printf "%.0f", e * 1.3 / 60 }') min); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "output: $FC_OUT"
start=$(date +%s)
pids=()
# Stopped early: each combination's own trap (lib.sh) stops its processes.
stop_all() {
  trap - INT TERM
  echo "campaign: stopping every combination" >&2
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait
  exit 130
}
trap stop_all INT TERM
for f in "${faults[@]}"; do
  for t in "${tps[@]}"; do
    bash "$0" --combo "$f" "$t" "$CYCLES" "$FC_OUT/$f-$t" \
      >"$FC_OUT/$f-$t.out" 2>&1 &
    pids+=($!)
  done
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
el=$(($(date +%s) - start))

hdr="fault\ttransport\tcycles\tbound_min_s\tbound_max_s\tunreg_max_s\tunreg_mean_s\texcess_max_s\tcycles_over\tstray\tfb_dev_max_s\tcrashes\tcores\tleft_at_end\trss_first_kb\trss_last_kb\trss_max_kb\terrors"
{
  echo -e "$hdr"
  for f in "${faults[@]}"; do
    for t in "${tps[@]}"; do
      if [ -s "$FC_OUT/$f-$t/summary.tsv" ]; then
        cat "$FC_OUT/$f-$t/summary.tsv"
      else
        echo -e "$f\t$t\t(failed to run: see $FC_OUT/$f-$t.out and $f-$t/campaign.log)"
        rc=1
      fi
    done
  done
} >"$FC_OUT/summary.tsv"
echo
echo "campaign done in $((el / 60)) min $((el % 60)) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
column -t -s $'\t' "$FC_OUT/summary.tsv"
echo
echo "bound = detection at the next refresh or keep-alive + Timer F (frozen) + ${FC_RT_ALLOW}s round trips, per cycle (min/max shown);"
echo "unreg = fault -> registered at the backup; excess = beyond the bound; stray = bindings left at the backup (or extra at the primary) after each fallback;"
echo "fb_dev = |fallback - backup registration - Proxy Fallback Intvl|; left_at_end = bindings left after siplined's SIGTERM; per-cycle rows: $FC_OUT/*/cycles.tsv"
exit "$rc"
