/*
 * src/dlg/dlg.h: the dlg module: calls (INVITE sessions) on top of the
 * engine's dialogs (ua/dialog.h). What it does, file by file, is in
 * sess.h; the public contract is sipline/call.h.
 *
 * Calls and the line (SPEC): a new outgoing INVITE goes where reg sends
 * the line's requests (R1, R2; the alternate while the primary
 * registration fails, R4); a timeout or transport error is reported to
 * reg (R5) and the INVITE is resent at the alternate with Dual
 * Registration (R4) or at the server reg names next (R7). Once set up, a
 * call keeps its route set, remote target and first hop whatever the line
 * does (R13), and calls in progress per line hold fallback back (R13).
 */
#ifndef SIPLINE_DLG_H
#define SIPLINE_DLG_H

#include "ua/ua.h"

/* The module (registered in src/top). */
extern const sipline__module sipline__dlg_module;

/* The public calls of sipline/call.h, for the top layer. */
int sipline__dlg_call(sipline_ua *ua, const sipline_call_params *p,
                      unsigned *call_id, sipline_tstamp now);
int sipline__dlg_answer(sipline_ua *ua, unsigned id,
                        const sipline_call_answer *a, sipline_tstamp now);
int sipline__dlg_reject(sipline_ua *ua, unsigned id, int status,
                        sipline_tstamp now);
int sipline__dlg_update(sipline_ua *ua, unsigned id, const char *sdp,
                        size_t len, sipline_tstamp now);
int sipline__dlg_reinvite(sipline_ua *ua, unsigned id, const char *sdp,
                          size_t len, sipline_tstamp now);
int sipline__dlg_sdp(sipline_ua *ua, unsigned id, const char *sdp, size_t len,
                     sipline_tstamp now);
int sipline__dlg_hangup(sipline_ua *ua, unsigned call_id, sipline_tstamp now);
int sipline__dlg_end(sipline_ua *ua, unsigned call_id,
                     const sipline_call_end *e, sipline_tstamp now);
int sipline__dlg_info(sipline_ua *ua, unsigned id, sipline_call_info *info);
/* Calls in progress (not ended) on a line. */
unsigned sipline__dlg_line_calls(const sipline_ua *ua, unsigned line);

#endif
