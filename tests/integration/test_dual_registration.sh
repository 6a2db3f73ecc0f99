#!/usr/bin/env bash
# Issue 4 (e) and (f), SPEC R3/R4, over udp or tcp ($1):
#   udp: Dual Registration = Yes with Proxy and Alternate Proxy: both
#        Kamailios hold the binding (kamcmd ul.dump), both stay refreshed.
#   tcp: R4 ignores the alternate for TCP (with a warning): only the proxy
#        holds it.
#   Either way `siplinectl status --json` agrees with ul.dump on each one,
#   and Dual Registration = No ignores the alternate (R3).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "dual-$tp"
it_need_daemon

pp=$(it_free_port)
ap=$(it_free_port)
lp=$(it_free_port)
P="127.0.0.1:$pp"
A="127.0.0.1:$ap"
start_kamailio primary "$pp" 10 >/dev/null
start_kamailio alternate "$ap" 10 >/dev/null
it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=$P" "Alternate_Proxy_1_=$A" "Dual_Registration_1_=Yes" \
  "User_ID_1_=1001" "Password_1_=secret1001" "Register_Expires_1_=60" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "SIP_Timer_F=4" "SIP_Timer_B=4"
start_siplined sd "$IT_DIR/profile.xml" "$lp"

sd_wait_event sd 10 ".event == \"registered\" and .server == \"$P\"" >/dev/null ||
  it_fail "not registered at the proxy $P"
wait_for 3 kam_has_binding primary 1001 || it_fail "no binding at the proxy"
if [ "$tp" = udp ]; then
  sd_wait_event sd 10 ".event == \"registered\" and .server == \"$A\"" >/dev/null ||
    it_fail "dual registration: not registered at the alternate $A"
  wait_for 3 kam_has_binding alternate 1001 || it_fail "no binding at the alternate"
  it_log "dual registration: bound at both"
  it_agree sd 1001 primary alternate
  # Both refreshed: the grant is 10 s, so after 12 s each got a refresh.
  sleep 12
  for s in "$P" "$A"; do
    n=$(sd_count sd ".event == \"registered\" and .server == \"$s\"")
    [ "$n" -ge 2 ] || it_fail "the binding at $s was not refreshed ($n registrations in 12 s)"
  done
  kam_has_binding primary 1001 && kam_has_binding alternate 1001 ||
    it_fail "a binding expired: the refresh did not reach both"
  it_agree sd 1001 primary alternate
  echo "MEASURE dual_registration_$tp: both bound, both refreshed every ~$(( 10 * 78 / 100 ))s"
else
  sleep 3
  [ "$(sd_count sd ".event == \"tx\" and .to == \"$A\"")" -eq 0 ] ||
    it_fail "R4: sent to the alternate over TCP"
  kam_no_binding alternate 1001 || it_fail "R4: bound at the alternate over TCP"
  [ "$(sd_count sd '.event == "warning"')" -ge 1 ] ||
    it_log "note: no warning event about the ignored alternate (R4 asks for a log line)"
  it_agree sd 1001 primary alternate
  echo "MEASURE dual_registration_$tp: alternate ignored over TCP (R4)"
fi
stop_siplined sd
# siplined un-registers on SIGTERM: every binding it made is gone.
wait_for 3 kam_no_binding primary 1001 || it_fail "SIGTERM did not un-register at the proxy"
kam_no_binding alternate 1001 || it_fail "SIGTERM did not un-register at the alternate"

# R3: Dual Registration = No ignores the alternate.
it_profile "$IT_DIR/single.xml" \
  "Proxy_1_=$P" "Alternate_Proxy_1_=$A" "Dual_Registration_1_=No" \
  "User_ID_1_=1001" "Password_1_=secret1001" "Register_Expires_1_=60" \
  "SIP_Transport_1_=$(it_tp_profile "$tp")" "SIP_Timer_F=4"
start_siplined single "$IT_DIR/single.xml" "$(it_free_port)"
sd_wait_event single 10 ".event == \"registered\" and .server == \"$P\"" >/dev/null ||
  it_fail "not registered at the proxy with Dual Registration = No"
sleep 1
kam_no_binding alternate 1001 || it_fail "R3: bound at the alternate with Dual Registration = No"
it_agree single 1001 primary alternate
stop_siplined single
echo "PASS dual_registration_$tp"
