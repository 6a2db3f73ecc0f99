#!/usr/bin/env bash
# Issue 5 (integration), SPEC R17-R21, over udp or tcp ($1): siplined is
# registered (Kamailio), a local `python3 -m http.server` serves a
# CiscoIPPhoneText document, and a SIPp UAC sends the phone an out-of-dialog
# NOTIFY Event: xml-service whose CiscoIPPhoneExecute points at it.
#   Right digest (the line's user and password, MD5, qop=auth): 401 then 200,
#     and `siplinectl events` shows the document fetched (status 200, object
#     CiscoIPPhoneText); the HTTP server logged the GET.
#   Wrong password: refused (401/403), nothing fetched, no GET.
#   Another line's credentials (1002's, valid at the registrar): refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tp=${1:-udp}
it_init "notify-$tp"
it_need_daemon

kp=$(it_free_port)
lp=$(it_free_port)
hp=$(it_free_port)
start_kamailio registrar "$kp" >/dev/null
mkdir -p "$IT_DIR/www"
cat >"$IT_DIR/www/doc.xml" <<'XML'
<CiscoIPPhoneText><Title>sipline</Title><Text>fetched by siplined</Text></CiscoIPPhoneText>
XML
start_bg http python3 -m http.server "$hp" --bind 127.0.0.1 -d "$IT_DIR/www"
wait_for 5 bash -c "ss -Hlnt 'sport = :$hp' | grep -q ." || it_fail "http.server did not start"
URL="http://127.0.0.1:$hp/doc.xml"

it_profile "$IT_DIR/profile.xml" \
  "Proxy_1_=127.0.0.1:$kp" "User_ID_1_=1001" "Password_1_=secret1001" \
  "Register_Expires_1_=60" "SIP_Transport_1_=$(it_tp_profile "$tp")" \
  "SIP_Timer_F=4" "Auth_Resync-Reboot_1_=Yes"
start_siplined sd "$IT_DIR/profile.xml" "$lp"
sd_wait_event sd 10 '.event == "registered"' >/dev/null ||
  it_fail "siplined did not register"

notify() { # notify NAME SCENARIO AUTHUSER PASSWORD
  local sp
  sp=$(it_free_port)
  run_sipp "$1" "$sp" -sf "$IT_SIPP_DIR/$2" -m 1 -t "$(it_tp_sipp "$tp")" \
    -timeout 10s -timeout_error -s 1001 -au "$3" -ap "$4" \
    -auth_uri "1001@127.0.0.1:$lp" -key url "$URL" "127.0.0.1:$lp"
}
gets() { grep -c 'GET /doc.xml' "$IT_DIR/http.log" || true; }

t0=$(it_now)
notify good uac_notify_xml_service.xml 1001 secret1001 ||
  it_fail "NOTIFY with the right digest was not answered 401 then 200 (see good.errors.log)"
fe=$(sd_wait_event sd 10 ".event == \"fetch\" and .url == \"$URL\"") ||
  it_fail "the document was not fetched"
[ "$(ev_get "$fe" result)" = ok ] && [ "$(ev_get "$fe" status)" = 200 ] ||
  it_fail "the fetch failed: $fe"
[ "$(ev_get "$fe" object)" = CiscoIPPhoneText ] ||
  it_fail "the fetched object is not CiscoIPPhoneText: $fe"
[ "$(gets)" -eq 1 ] || it_fail "http.server saw $(gets) GETs, not 1"
sd_events sd '.event == "notify"' | grep -q . ||
  it_log "note: no notify event in the stream"
it_log "right digest: 200, fetched: $fe"
echo "MEASURE notify_$tp: NOTIFY to fetch done in $(it_elapsed "$t0" "$(ev_time "$fe")")s"

nf=$(sd_count sd '.event == "fetch"')
notify bad uac_notify_refused.xml 1001 wrong-password ||
  it_fail "NOTIFY with a wrong password was not refused (see bad.errors.log)"
notify other uac_notify_refused.xml 1002 secret1002 ||
  it_fail "NOTIFY with another line's credentials was not refused"
sleep 2
[ "$(sd_count sd '.event == "fetch"')" -eq "$nf" ] ||
  it_fail "a refused NOTIFY was executed: $(sd_events sd '.event == "fetch"' | tail -n 1)"
[ "$(gets)" -eq 1 ] || it_fail "http.server saw a GET after a refused NOTIFY"
[ "$(sd_count sd '.event == "auth_failed"')" -ge 2 ] ||
  it_log "note: fewer than 2 auth_failed events for the 2 refused NOTIFYs"
it_log "wrong password and another line's credentials: refused, nothing fetched"
# Passwords never reach the logs or the event stream (R18, issue 4 item 4).
for f in "$IT_DIR/sd.log" "$(sd_events_file sd)"; do
  ! grep -q 'secret1001\|wrong-password\|secret1002' "$f" ||
    it_fail "a password appears in $(basename "$f")"
done
stop_siplined sd
echo "PASS notify_xml_service_$tp"
