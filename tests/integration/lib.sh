# tests/integration/lib.sh: the harness for sipline's integration tests and
# the demo. Source it from bash; it starts real peers (Kamailio, SIPp,
# siplined, python3 -m http.server) on 127.0.0.1, each in its own process
# group, records every PID under $IT_DIR, and an EXIT trap stops them all by
# PID whatever happens.
#
#   it_init [name]                 temp dir + cleanup trap (call first)
#   it_free_port                   a port free on 127.0.0.1 for UDP and TCP
#   start_kamailio NAME PORT [MAXEXP] [TCPLIFE] [TLSPORT]
#                                  a registrar (kamailio/kamailio.cfg;
#                                  IT_KAM_DB, IT_KAM_SHM, IT_KAM_PKG,
#                                  IT_KAM_CHILDREN, IT_KAM_ARGS for
#                                  benches)
#   it_tls_cert                    self-signed cert for 127.0.0.1 (openssl)
#   kam_fail503 NAME 0|1           that instance answers everything 503
#   kam_pids NAME                  every PID of that instance (main + workers)
#   stop_kamailio NAME [SIG]       signal all of them (KILL), wait until gone
#   freeze_kamailio / thaw_kamailio NAME   SIGSTOP / SIGCONT all of them
#   kam_ul_dump NAME               kamcmd ul.dump on that instance's socket
#   kam_has_binding NAME USER      0 when USER has a contact there
#   start_bg NAME CMD...           any other process (SIPp, siplined, ...)
#   stop_bg NAME [SIG]             stop it (its process group) by PID
#   wait_for SECONDS CMD...        poll CMD every 0.1 s until it succeeds
#   it_now                         wall clock, seconds with milliseconds
#
# Facts this is built on: Kamailio's workers share its sockets, so stopping
# an instance means signalling every one of its processes; SIGSTOP on
# Kamailio also blocks kamcmd on it (hence the timeouts); SIPp binds 5060
# unless given -p, so every SIPp here gets an explicit local port.

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_KAM_CFG=${IT_KAM_CFG:-$IT_LIB_DIR/kamailio/kamailio.cfg}
IT_KAM_DB=${IT_KAM_DB:-$IT_LIB_DIR/kamailio/db}
IT_SIPP_DIR=$IT_LIB_DIR/sipp
IT_DIR=${IT_DIR:-}

it_log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
it_fail() {
  it_log "FAIL: $*"
  IT_FAILED=1
  exit 1
}

it_now() { date +%s.%3N; }
# it_elapsed T0 [T1]: T1 (default now) - T0 in seconds, 3 decimals.
it_elapsed() {
  local t1=${2:-$(it_now)}
  awk -v a="$1" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# it_init [NAME]: creates $IT_DIR and installs the cleanup trap.
it_init() {
  local name=${1:-it}
  IT_FAILED=0
  IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sipline-$name.XXXXXX")
  mkdir -p "$IT_DIR/procs"
  trap 'it_cleanup' EXIT
  trap 'exit 130' INT TERM
}

# Records a process (its PID is also its process group: see start_bg).
it_track() { echo "$2" >"$IT_DIR/procs/$1"; }

# Every PID in process group $1 (the group a setsid child leads) plus the
# direct children of $1 (in case one left the group; Kamailio's workers are
# its direct children).
it_group_pids() {
  local pg=$1
  {
    pgrep -g "$pg" 2>/dev/null
    pgrep -P "$pg" 2>/dev/null
    if kill -0 "$pg" 2>/dev/null; then echo "$pg"; fi
  } | sort -un
  return 0
}

# it_signal_group PGID SIG: signals every process of the group by PID;
# IT_SIGNAL_AT is the wall-clock time the signals went (for measurements).
it_signal_group() {
  local pids
  pids=$(it_group_pids "$1")
  if [ -n "$pids" ]; then kill -s "$2" $pids 2>/dev/null || true; fi
  IT_SIGNAL_AT=$(it_now)
  return 0
}

# it_kill_group PGID [SIG] [WAIT]: signals, then waits until all are gone
# (SIGKILL after WAIT seconds, default 5).
it_kill_group() {
  local pg=$1 sig=${2:-KILL} wait=${3:-5} i
  # A stopped process does not act on SIGTERM until it runs again.
  it_signal_group "$pg" CONT
  it_signal_group "$pg" "$sig"
  for ((i = 0; i < wait * 20; i++)); do
    [ -z "$(it_group_pids "$pg")" ] && return 0
    sleep 0.05
  done
  it_signal_group "$pg" KILL
  for ((i = 0; i < 40; i++)); do
    [ -z "$(it_group_pids "$pg")" ] && return 0
    sleep 0.05
  done
  it_log "processes of group $pg survived SIGKILL: $(it_group_pids "$pg")"
  return 1
}

it_cleanup() {
  local rc=$? f pg
  trap - EXIT
  [ -n "$IT_DIR" ] && [ -d "$IT_DIR/procs" ] || return
  for f in "$IT_DIR"/procs/*; do
    [ -f "$f" ] || continue
    pg=$(cat "$f")
    # siplined first, gently, so that it can un-register.
    it_kill_group "$pg" TERM 3 || true
  done
  if [ "$rc" -ne 0 ] || [ "${IT_FAILED:-0}" -ne 0 ]; then
    it_log "failed (rc $rc); logs in $IT_DIR:"
    # IT_FAIL_LOGS: which logs to show (globs under $IT_DIR); default all.
    local shown=()
    for f in ${IT_FAIL_LOGS:-*.log */*.log}; do shown+=("$IT_DIR/$f"); done
    for f in "${shown[@]}"; do
      [ -s "$f" ] || continue
      echo "----- ${f#"$IT_DIR"/} (last ${IT_FAIL_LINES:-40} lines)" >&2
      tail -n "${IT_FAIL_LINES:-40}" "$f" >&2
    done
    [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"
  else
    [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"
  fi
  exit "$rc"
}

# it_free_port: prints a port that is free on 127.0.0.1 for both UDP and TCP,
# with the next one free too (so PORT+1 can be used for a helper), chosen at
# random in 20000-59999 so that parallel tests rarely meet.
it_free_port() {
  python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 60000)
    ok = True
    socks = []
    for port in (p, p + 1):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", port))
                socks.append(s)
            except OSError:
                ok = False
                s.close()
    for s in socks:
        s.close()
    if ok:
        print(p)
        break
else:
    raise SystemExit("no free port")
EOF
}

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or the
# time is up (1).
wait_for() {
  local secs=$1
  shift
  local end
  end=$(awk -v n="$(it_now)" -v s="$secs" 'BEGIN { printf "%.3f", n + s }')
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    awk -v n="$(it_now)" -v e="$end" 'BEGIN { exit !(n >= e) }' && return 1
    sleep 0.1
  done
}

# start_bg NAME CMD...: starts CMD in its own session and process group
# (setsid), stdout+stderr to $IT_DIR/NAME.log, and records its PID.
start_bg() {
  local name=$1
  shift
  setsid "$@" >"$IT_DIR/$name.log" 2>&1 </dev/null &
  local pid=$!
  disown "$pid" 2>/dev/null || true
  it_track "$name" "$pid"
  echo "$pid" >"$IT_DIR/$name.pid"
}

bg_pid() { cat "$IT_DIR/procs/$1" 2>/dev/null; }
bg_alive() { local p; p=$(bg_pid "$1") && kill -0 "$p" 2>/dev/null; }

# stop_bg NAME [SIG] [WAIT]
stop_bg() {
  local pg
  pg=$(bg_pid "$1") || return 0
  it_kill_group "$pg" "${2:-TERM}" "${3:-5}"
  rm -f "$IT_DIR/procs/$1"
}

# --- Kamailio ---------------------------------------------------------------

kam_dir() { echo "$IT_DIR/kam-$1"; }
kam_ctl() { echo "unix:$(kam_dir "$1")/ctl.sock"; }

# it_tls_cert: a self-signed certificate for IP 127.0.0.1 (subjectAltName,
# which siplined verifies; pass it as --ca-file) in $IT_DIR/tls/{cert,key}.pem
# (made once per $IT_DIR).
it_tls_cert() {
  local t=$IT_DIR/tls
  [ -s "$t/cert.pem" ] && return 0
  command -v openssl >/dev/null || it_fail "openssl is missing (bash scripts/deps.sh)"
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$t/key.pem" \
    -out "$t/cert.pem" >/dev/null 2>&1 || it_fail "openssl req failed"
}

# start_kamailio NAME PORT [MAXEXP] [TCPLIFE] [TLSPORT]: starts an instance
# listening on 127.0.0.1:PORT (UDP and TCP), granting registrations of at
# most MAXEXP s (default 7200) and closing TCP connections idle for TCPLIFE s
# (Kamailio's tcp_connection_lifetime; default 3605, longer than any test),
# with TLS on TLSPORT too when given (it_tls_cert's certificate; needs the
# kamailio-tls-modules package), waits until it answers kamcmd, prints its
# main PID.
start_kamailio() {
  local name=$1 port=$2 maxexp=${3:-7200} tcplife=${4:-3605} tlsport=${5:-} d
  local tls=()
  d=$(kam_dir "$name")
  mkdir -p "$d"
  rm -rf "$d/db"
  cp -r "$IT_KAM_DB" "$d/db"
  echo "$port" >"$d/port"
  if [ -n "$tlsport" ]; then
    it_tls_cert
    [ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] ||
      it_fail "Kamailio's tls module is missing (apt-get install kamailio-tls-modules)"
    tls=(-l "tls:127.0.0.1:$tlsport" -A WITH_TLS
         -A "TLSCERT=\"$IT_DIR/tls/cert.pem\"" -A "TLSKEY=\"$IT_DIR/tls/key.pem\"")
  fi
  echo "$tlsport" >"$d/tlsport"
  # IT_KAM_SHM / IT_KAM_PKG (MB) and IT_KAM_CHILDREN (UDP workers, the
  # config's children=2 when unset): benches with thousands of bindings
  # raise them (bench/fleet); the tests keep the small defaults. TLS
  # (OpenSSL) wants more shared memory than the 32 MB that do otherwise.
  # IT_KAM_ARGS: more options, split on spaces (e.g. --debug=1).
  local shm=${IT_KAM_SHM:-32} kids=()
  [ -n "$tlsport" ] && [ "$shm" -lt 64 ] && shm=64
  [ -n "${IT_KAM_CHILDREN:-}" ] && kids=(-n "$IT_KAM_CHILDREN")
  # shellcheck disable=SC2206
  [ -n "${IT_KAM_ARGS:-}" ] && kids+=($IT_KAM_ARGS)
  setsid kamailio -f "$IT_KAM_CFG" -DD -E -m "$shm" \
    -M "${IT_KAM_PKG:-8}" "${kids[@]}" -w "$d" -Y "$d" \
    -P "$d/kamailio.pid" \
    -l "udp:127.0.0.1:$port" -l "tcp:127.0.0.1:$port" "${tls[@]}" \
    -A "CTLSOCK=\"unix:$d/ctl.sock\"" -A "RPCFIFO=\"$d/rpc.fifo\"" \
    -A "DBURL=\"text://$d/db\"" -A "MAXEXP=$maxexp" \
    -A "TCPLIFE=$tcplife" \
    >"$d/kamailio.log" 2>&1 </dev/null &
  local pid=$!
  disown "$pid" 2>/dev/null || true
  it_track "kam-$name" "$pid"
  echo "$pid" >"$d/main.pid"
  local i
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      it_log "kamailio $name exited at start (port $port):"
      tail -n 20 "$d/kamailio.log" >&2
      return 1
    fi
    # The ctl socket answers, and both SIP sockets are bound.
    timeout 2 kamcmd -s "unix:$d/ctl.sock" core.version >/dev/null 2>&1 &&
      kam_listening "$port" &&
      { [ -z "$tlsport" ] || ss -Hlnt "sport = :$tlsport" | grep -q 127.0.0.1; } &&
      break
    sleep 0.1
  done
  if [ "$i" -ge 100 ]; then
    it_log "kamailio $name did not come up on port $port in 10 s"
    return 1
  fi
  echo "$pid"
}

kam_listening() {
  ss -Hlnu "sport = :$1" | grep -q 127.0.0.1 &&
    ss -Hlnt "sport = :$1" | grep -q 127.0.0.1
}

kam_pid() { cat "$(kam_dir "$1")/main.pid"; }
kam_port() { cat "$(kam_dir "$1")/port"; }
kam_pids() { it_group_pids "$(kam_pid "$1")"; }

# stop_kamailio NAME [SIG]: every process of the instance, by PID. SIGKILL by
# default (a crash: registrations are lost, sockets close).
stop_kamailio() {
  local pg
  pg=$(kam_pid "$1")
  it_kill_group "$pg" "${2:-KILL}" 5
  rm -f "$IT_DIR/procs/kam-$1"
}

freeze_kamailio() { it_signal_group "$(kam_pid "$1")" STOP; }
# kam_fail503 NAME 0|1: the instance answers every request with 503 while 1
# (the shared variable fail503 of kamailio.cfg); IT_SIGNAL_AT is when.
# (taken just before kamcmd: the switch happens during the call).
kam_fail503() {
  IT_SIGNAL_AT=$(it_now)
  timeout 3 kamcmd -s "$(kam_ctl "$1")" pv.shvSet fail503 int "$2" >/dev/null ||
    { it_log "kamcmd pv.shvSet on $1 failed"; return 1; }
}
thaw_kamailio() { it_signal_group "$(kam_pid "$1")" CONT; }

# kam_ul_dump NAME: the instance's usrloc (kamcmd output; times out after
# 3 s since a frozen instance never answers).
kam_ul_dump() {
  timeout 3 kamcmd -s "$(kam_ctl "$1")" ul.dump
}

# kam_contacts NAME USER: the Contact addresses bound to USER, one a line.
kam_contacts() {
  kam_ul_dump "$1" | awk -v u="$2" '
    /AoR:/ { a = $2; sub(/@.*/, "", a); sub(/^sips?:/, "", a); on = (a == u) }
    on && /Address:/ { print $2 }'
}

kam_has_binding() { [ -n "$(kam_contacts "$1" "$2")" ]; }
kam_no_binding() { [ -z "$(kam_contacts "$1" "$2")" ]; }

# --- SIPp -------------------------------------------------------------------

# start_sipp NAME LOCALPORT ARGS...: SIPp in the background (no screen,
# error log and trace in $IT_DIR), always with an explicit local port.
start_sipp() {
  local name=$1 lport=$2
  shift 2
  start_bg "$name" sipp -nostdin -i 127.0.0.1 -p "$lport" \
    -trace_err -error_file "$IT_DIR/$name.errors.log" "$@"
}

# run_sipp NAME LOCALPORT ARGS...: SIPp in the foreground; returns its status.
run_sipp() {
  local name=$1 lport=$2
  shift 2
  sipp -nostdin -i 127.0.0.1 -p "$lport" -trace_err \
    -error_file "$IT_DIR/$name.errors.log" "$@" \
    >"$IT_DIR/$name.log" 2>&1 </dev/null
}

# --- siplined -----------------------------------------------------------------
# The binaries: $SIPLINED / $SIPLINECTL (ctest sets them), else build/bin.
it_need_daemon() {
  local b=${SIPLINE_BUILD_DIR:-$IT_LIB_DIR/../../build}
  SIPLINED=${SIPLINED:-$b/bin/siplined}
  SIPLINECTL=${SIPLINECTL:-$b/bin/siplinectl}
  [ -x "$SIPLINED" ] || it_fail "siplined not built: $SIPLINED is missing"
  [ -x "$SIPLINECTL" ] || it_fail "siplinectl not built: $SIPLINECTL is missing"
  command -v jq >/dev/null || it_fail "jq is missing (bash scripts/deps.sh)"
}

sd_sock() { echo "$IT_DIR/$1.sock"; }
sd_events_file() { echo "$IT_DIR/$1-events.log"; }
# sd_ctl NAME ARGS...: siplinectl against that daemon.
sd_ctl() {
  local n=$1
  shift
  timeout 5 "$SIPLINECTL" -s "$(sd_sock "$n")" "$@"
}

# start_siplined NAME PROFILE PORT [ARGS...]: siplined with its lines on
# 127.0.0.1:PORT (UDP and TCP listeners), its control socket in $IT_DIR,
# debug log in NAME.log, a pcap trace in NAME.pcap; waits until it answers
# `siplinectl status`; then follows its events, tx/rx included, as JSON lines
# into NAME-events.log (see sd_wait_event). IT_SD_LOG=level, IT_SD_TRACE=0
# (no pcap) and IT_SD_MESSAGES=0 (no tx/rx events) lighten it for benches.
start_siplined() {
  local name=$1 profile=$2 port=$3
  shift 3
  local trace=(-t "$IT_DIR/$name.pcap") msgs=--messages
  [ "${IT_SD_TRACE:-1}" = 0 ] && trace=()
  [ "${IT_SD_MESSAGES:-1}" = 0 ] && msgs=
  start_bg "$name" "$SIPLINED" -c "$profile" -s "$(sd_sock "$name")" \
    -p "$port" -l "${IT_SD_LOG:-debug}" "${trace[@]}" \
    --pid-file "$IT_DIR/$name.daemon.pid" "$@"
  local i
  for ((i = 0; i < 50; i++)); do
    bg_alive "$name" || {
      it_log "siplined exited at start:"
      tail -n 20 "$IT_DIR/$name.log" >&2
      return 1
    }
    [ -S "$(sd_sock "$name")" ] && sd_ctl "$name" status >/dev/null 2>&1 &&
      break
    sleep 0.1
  done
  [ "$i" -lt 50 ] || { it_log "siplined $name did not answer in 5 s"; return 1; }
  start_bg "$name-events" "$SIPLINECTL" -s "$(sd_sock "$name")" --json \
    events --follow $msgs
}

# stop_siplined NAME: SIGTERM (it un-registers, exits within 2 s), then the
# event follower.
stop_siplined() {
  stop_bg "$1" TERM 3
  stop_bg "$1-events" TERM 1
}

# sd_events NAME [JQ-CONDITION]: the events so far (JSON lines) matching.
sd_events() {
  local f
  f=$(sd_events_file "$1")
  [ -f "$f" ] || return 0
  jq -c "select(.event != null) | select(${2:-true})" "$f" 2>/dev/null
}
# sd_count NAME JQ-CONDITION: how many events match.
sd_count() { sd_events "$1" "$2" | grep -c . || true; }

# sd_wait_event NAME SECONDS JQ-CONDITION: waits until an event matches,
# prints the first match (1 on timeout, after logging what came).
sd_wait_event() {
  local name=$1 secs=$2 cond=$3 end line
  end=$(awk -v n="$(it_now)" -v s="$secs" 'BEGIN { printf "%.3f", n + s }')
  while :; do
    line=$(sd_events "$name" "$cond" | head -n 1)
    [ -n "$line" ] && { echo "$line"; return 0; }
    if awk -v n="$(it_now)" -v e="$end" 'BEGIN { exit !(n >= e) }'; then
      it_log "no event matching [$cond] from $name within $secs s; events:"
      sd_events "$name" '.event != "tx" and .event != "rx"' | tail -n 30 >&2
      return 1
    fi
    sleep 0.1
  done
}

# ev_time JSON: the event's wall-clock time as Unix seconds (3 decimals).
ev_time() {
  jq -r '(.time[0:19] + "Z" | fromdate) as $s
         | ($s + ((.time[20:23] | tonumber) / 1000)) | tostring' <<<"$1" |
    awk '{ printf "%.3f", $1 }'
}
# ev_get JSON KEY: one field.
ev_get() { jq -r ".$2 // empty" <<<"$1"; }

# sd_status NAME: `siplinectl --json status` (one JSON object).
sd_status() { sd_ctl "$1" --json status; }

# it_profile FILE TAG=VALUE...: writes a flat-profile XML.
it_profile() {
  local f=$1 kv
  shift
  {
    echo "<flat-profile>"
    for kv in "$@"; do
      printf '  <%s>%s</%s>\n' "${kv%%=*}" "${kv#*=}" "${kv%%=*}"
    done
    echo "</flat-profile>"
  } >"$f"
}

# it_transport udp|tcp -> the profile's SIP_Transport value and SIPp's -t.
it_tp_profile() { case $1 in udp) echo UDP ;; tcp) echo TCP ;; tls) echo TLS ;; *) it_fail "transport $1?" ;; esac; }
it_tp_sipp() { case $1 in udp) echo u1 ;; tcp) echo t1 ;; *) it_fail "transport $1?" ;; esac; }

# it_agree NAME USER KAMNAME...: `siplinectl status` and `kamcmd ul.dump`
# agree: for each Kamailio, the line is registered there in the status iff
# USER has a binding there (SPEC issue 4, f).
it_agree() {
  local name=$1 user=$2 k st addr kam sd
  shift 2
  st=$(sd_status "$name") || it_fail "siplinectl status failed"
  for k in "$@"; do
    addr="127.0.0.1:$(kam_port "$k")"
    kam=no
    kam_has_binding "$k" "$user" && kam=yes
    sd=$(jq -r --arg a "$addr" '[.lines[0].servers[]? | select(.addr == $a)
         | .registered][0] // false | if . then "yes" else "no" end' <<<"$st")
    [ "$kam" = "$sd" ] ||
      it_fail "status and kamcmd disagree at $k ($addr): kamcmd $kam, status $sd: $st"
    it_log "agree at $k ($addr): registered=$kam"
  done
}
