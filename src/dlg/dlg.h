/*
 * src/dlg/dlg.h: the dialog module (so far a minimal INVITE session: INVITE,
 * ACK, BYE, CANCEL), a module of the UA engine (ua/ua.h).
 *
 * What it does now (full dialogs, UPDATE and session timers come later):
 *   - sipline_ua_call: an INVITE with a small SDP offer to the line's current
 *     target (reg's line_target: the primary, or the alternate while the
 *     primary registration fails, R4); events SIPLINE_EV_CALL with state
 *     "calling", "confirmed", "ended" (status, reason);
 *   - a timeout or transport error is reported to reg (R5) and the INVITE
 *     is resent: at the alternate with Dual Registration (R4), else at the
 *     server reg now names (R7: "the failed request is resent");
 *   - 2xx: ACK; the call then keeps the route it was set up on, whatever the
 *     line does later (R13): in-dialog requests go to the same first hop,
 *     with the Record-Route set;
 *   - sipline_ua_hangup: BYE (CANCEL before the answer); an incoming BYE of
 *     the dialog is answered 200;
 *   - an incoming out-of-dialog INVITE is answered 486 Busy Here (no
 *     incoming calls yet); re-INVITE/UPDATE in a dialog are left to the
 *     engine's defaults.
 * Calls in progress per line feed R13 (reg's fallback waits for 0).
 */
#ifndef SIPLINE_DLG_H
#define SIPLINE_DLG_H

#include "ua/ua.h"

/* The module (registered in src/top). */
extern const sipline__module sipline__dlg_module;

/* The same as sipline_ua_call / sipline_ua_hangup, for the top layer. */
int sipline__dlg_call(sipline_ua *ua, unsigned line, const char *to,
                      unsigned *call_id, sipline_tstamp now);
int sipline__dlg_hangup(sipline_ua *ua, unsigned call_id, sipline_tstamp now);
/* Calls in progress (not ended) on a line. */
unsigned sipline__dlg_line_calls(const sipline_ua *ua, unsigned line);

#endif
