#!/usr/bin/env bash
# Proves the harness against real peers, without siplined: the test registrar
# (kamailio/kamailio.cfg) challenges and authenticates a SIPp client over UDP
# and TCP, kamcmd ul.dump shows the bindings, a wrong password is refused,
# and freeze / thaw / stop reach every Kamailio process by PID.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init kamreg

port=$(it_free_port)
start_kamailio primary "$port" >/dev/null
it_log "kamailio on 127.0.0.1:$port, processes: $(kam_pids primary | wc -l)"

reg() { # reg NAME USER PASS TRANSPORT(u1|t1)
  local lp
  lp=$(it_free_port)
  run_sipp "$1" "$lp" -sf "$IT_SIPP_DIR/uac_register.xml" -m 1 -t "$4" \
    -timeout 10s -timeout_error -s "$2" -au "$2" -ap "$3" \
    -auth_uri "127.0.0.1:$port" "127.0.0.1:$port"
}

reg reg-udp 1001 secret1001 u1 || it_fail "UDP REGISTER with digest failed"
wait_for 3 kam_has_binding primary 1001 || it_fail "no binding for 1001"
kam_contacts primary 1001 | grep -q 'transport=UDP' ||
  it_fail "1001's contact is not the UDP one: $(kam_contacts primary 1001)"
it_log "UDP: 401 -> digest -> 200, bound: $(kam_contacts primary 1001)"

reg reg-tcp 1002 secret1002 t1 || it_fail "TCP REGISTER with digest failed"
wait_for 3 kam_has_binding primary 1002 || it_fail "no binding for 1002"
kam_contacts primary 1002 | grep -q 'transport=TCP' ||
  it_fail "1002's contact is not the TCP one: $(kam_contacts primary 1002)"
it_log "TCP: 401 -> digest -> 200, bound: $(kam_contacts primary 1002)"

if reg reg-bad 1003 wrong-password u1; then
  it_fail "a wrong password was accepted"
fi
kam_no_binding primary 1003 || it_fail "1003 bound with a wrong password"
grep -q "401" "$IT_DIR/reg-bad.errors.log" ||
  it_fail "the wrong password did not get 401 again"
it_log "wrong password: refused with 401, no binding"

# Freeze: every process stopped, kamcmd does not answer.
freeze_kamailio primary
for p in $(kam_pids primary); do
  st=$(ps -o stat= -p "$p" | cut -c1)
  [ "$st" = T ] || it_fail "process $p of the frozen instance is in state $st"
done
if kam_ul_dump primary >/dev/null 2>&1; then
  it_fail "a frozen kamailio answered kamcmd"
fi
thaw_kamailio primary
wait_for 5 kam_has_binding primary 1001 || it_fail "no answer after thaw"
it_log "freeze/thaw: all $(kam_pids primary | wc -l) processes stopped, then answered"

# Stop by PID: nothing of it is left and its ports are free again.
stop_kamailio primary KILL
[ -z "$(kam_pids primary)" ] || it_fail "processes left: $(kam_pids primary)"
wait_for 3 bash -c "! ss -Hlnu 'sport = :$port' | grep -q . &&
                    ! ss -Hlnt 'sport = :$port' | grep -q ." ||
  it_fail "port $port still bound after the stop"
# A restarted instance binds the same port and has no registrations.
start_kamailio primary "$port" >/dev/null
kam_no_binding primary 1001 || it_fail "a restarted kamailio kept a binding"
it_log "stop by PID: all gone, port free, restart has no bindings"
echo "PASS kamailio_registrar_sipp"
