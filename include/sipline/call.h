/*
 * sipline/call.h: calls: INVITE sessions with offer/answer (RFC 3264, 6337),
 * UPDATE (RFC 3311), reliable provisional responses (RFC 3262) and session
 * timers (RFC 4028). Included by sipline/ua.h.
 *
 * The core stays media-free: the SDP is the application's. It gives an
 * offer or an answer as bytes with each call below and gets the peer's as
 * SIPLINE_EV_CALL_SDP events (state "offer" or "answer", from "remote";
 * what the UA sent shows as from "local"). A remote offer must be answered
 * with sipline_ua_call_sdp() (or refused with sdp NULL): the UA holds the
 * request (or the ACK of a 2xx that carried the offer) until then, up to
 * 8 s, after which it refuses the offer (488) or, for an offer in a 2xx,
 * ACKs and hangs up as RFC 3264 §5 asks.
 *
 * Call states change with SIPLINE_EV_CALL events: id, line, call_state (and
 * its name in state), status (the response that caused it, when one did),
 * reason (why: "remote_bye", "cancelled", "status:486", "update_rx",
 * "glare_retry", "session_expired", ...) and text (the peer).
 */
#ifndef SIPLINE_CALL_H
#define SIPLINE_CALL_H

#include "sipline/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sipline_ua sipline_ua;

typedef enum sipline_call_state {
  SIPLINE_CALL_NONE = 0,
  SIPLINE_CALL_CALLING,    /* outgoing: INVITE sent, no dialog yet */
  SIPLINE_CALL_INCOMING,   /* incoming: INVITE received, not answered */
  SIPLINE_CALL_EARLY,      /* an early dialog (a 1xx with a To tag) */
  SIPLINE_CALL_CONNECTING, /* incoming: 2xx sent, its ACK not yet here */
  SIPLINE_CALL_CONFIRMED,  /* established */
  SIPLINE_CALL_ENDING,     /* BYE or CANCEL sent */
  SIPLINE_CALL_ENDED,      /* gone: the id is no longer valid */
} sipline_call_state;

/* "calling", "incoming", "early", "connecting", "confirmed", "ending",
 * "ended" ("none" otherwise). */
const char *sipline_call_state_name(sipline_call_state s);

/* RFC 3262 on an outgoing call. */
typedef enum sipline_100rel {
  SIPLINE_100REL_SUPPORTED = 0, /* Supported: 100rel (the default) */
  SIPLINE_100REL_OFF,           /* not offered */
  SIPLINE_100REL_REQUIRED,      /* Require: 100rel */
} sipline_100rel;

typedef struct sipline_call_params {
  unsigned line; /* 1-based */
  /* A user ("1002"), user@host, or a sip:/sips:/tel: URI. */
  const char *to;
  /* The SDP offer; NULL for an INVITE without one (the peer offers in its
   * 2xx or reliable 1xx, and the answer goes in the ACK or PRACK). */
  const char *sdp;
  size_t sdp_len;
  /* Extra header lines, each ending in CRLF; NULL for none. */
  const char *headers;
  sipline_100rel prack;
} sipline_call_params;

/*
 * Places a call. *call_id gets the handle used below and in events.
 * Errors: SIPLINE_ERR_INVAL (bad target or headers), SIPLINE_ERR_NOTFOUND
 * (no such line, or no server to send to now), SIPLINE_ERR_STATE (shutting
 * down), SIPLINE_ERR_NOMEM.
 */
int sipline_ua_call(sipline_ua *ua, const sipline_call_params *p,
                    unsigned *call_id, sipline_tstamp now);

typedef struct sipline_call_answer {
  /* 180 or 183 (provisional), or 200 (the default when 0). */
  int status;
  /* The answer to the INVITE's offer; or, when the INVITE had none, the
   * offer (then the answer comes in the ACK or PRACK). NULL: no body. A
   * 200 to an INVITE with an offer needs one, unless a reliable 1xx
   * carried it. */
  const char *sdp;
  size_t sdp_len;
  /* A provisional response sent reliably (RFC 3262) when the caller
   * supports 100rel; always when the caller requires it. */
  int reliable;
  const char *headers; /* extra header lines, CRLF each; NULL */
} sipline_call_answer;

/*
 * Answers an incoming call (SIPLINE_CALL_INCOMING or EARLY), once with a
 * final 200, any number of times with a 1xx. Errors: SIPLINE_ERR_NOTFOUND
 * (no such call), SIPLINE_ERR_STATE (not an incoming call waiting, or a
 * reliable 1xx with an offer not yet acknowledged), SIPLINE_ERR_INVAL
 * (status, or a 200 without the answer it needs), SIPLINE_ERR_NOMEM.
 */
int sipline_ua_call_answer(sipline_ua *ua, unsigned call_id,
                           const sipline_call_answer *a, sipline_tstamp now);

/* Refuses an incoming call with a final status 300..699 (486 when 0). */
int sipline_ua_call_reject(sipline_ua *ua, unsigned call_id, int status,
                           sipline_tstamp now);

/*
 * Sends UPDATE (RFC 3311) in a confirmed dialog, or in an early one once
 * the INVITE's offer/answer is complete. sdp NULL: no offer (a session
 * refresh or a target refresh); otherwise an offer whose answer comes as an
 * event. A 491 is retried automatically after the RFC 3261 §14.1 delay; a
 * failure leaves the session as it was. A peer that answers UPDATE 501 or
 * 405 (baresip 1.0.0) gets the same offer, or the current SDP when there
 * is none, by re-INVITE (event reason "update_unsupported_reinvite" with
 * that status), and in a confirmed dialog every later call of this
 * function for that call goes by re-INVITE at once (the same reason,
 * status 0); the answer then comes as for sipline_ua_call_reinvite.
 * Errors: NOTFOUND, STATE (no dialog yet, an offer outstanding, or
 * another UPDATE or re-INVITE in progress), NOMEM.
 */
int sipline_ua_call_update(sipline_ua *ua, unsigned call_id, const char *sdp,
                           size_t sdp_len, sipline_tstamp now);

/*
 * Sends a re-INVITE in a confirmed dialog; sdp NULL asks the peer for an
 * offer (its 2xx carries one, answered in the ACK via sipline_ua_call_sdp).
 * Errors as for update (STATE also while any INVITE is in progress).
 */
int sipline_ua_call_reinvite(sipline_ua *ua, unsigned call_id,
                             const char *sdp, size_t sdp_len,
                             sipline_tstamp now);

/*
 * The application's answer to the remote offer it got as an event; sdp
 * NULL refuses it (488 to an UPDATE or re-INVITE; for an offer in a 2xx,
 * the ACK goes and the call is hung up). Errors: NOTFOUND, STATE (no
 * remote offer waiting), NOMEM.
 */
int sipline_ua_call_sdp(sipline_ua *ua, unsigned call_id, const char *sdp,
                        size_t sdp_len, sipline_tstamp now);

/* Ends a call: CANCEL, BYE, or 603 for an incoming call not answered. */
int sipline_ua_hangup(sipline_ua *ua, unsigned call_id, sipline_tstamp now);

/* How sipline_ua_call_end ends a call, and what the peer and the
 * application are told why. */
typedef struct sipline_call_end {
  /* An incoming call not yet answered is refused with this final status,
   * 300..699 (603 when 0); otherwise unused. */
  int status;
  /* Extra header lines, CRLF each, for that final response or for our BYE
   * (e.g. "Warning: 303 host \"...\"\r\n", RFC 3261 §20.43, or
   * "Reason: SIP;cause=488;text=\"...\"\r\n", RFC 3326); NULL for none.
   * Not sent with a CANCEL. Copied. */
  const char *headers;
  /* The reason of our "ended" event: a token of at most 31 characters
   * ("srtp_required"); NULL for the usual "hangup" / "rejected:STATUS". */
  const char *reason;
} sipline_call_end;

/*
 * Ends a call as sipline_ua_hangup does, with the status, headers and
 * reason of *e. Errors: SIPLINE_ERR_NOTFOUND, SIPLINE_ERR_INVAL (a status
 * out of range, headers as for sipline_call_params, a reason that is not
 * a token of 1..31 characters), SIPLINE_ERR_NOMEM.
 */
int sipline_ua_call_end(sipline_ua *ua, unsigned call_id,
                        const sipline_call_end *e, sipline_tstamp now);

/* What sipline_ua_call_info tells. Strings are copies, NUL-terminated. */
typedef struct sipline_call_info {
  unsigned id;
  unsigned line;
  sipline_call_state state;
  int outgoing;
  char peer[160];   /* the remote URI */
  char server[80];  /* the first hop the call was set up on (R13) */
  /* The call's Call-ID (cut to fit), e.g. to name a recording. */
  char call_id[128];
  /* Session timer (RFC 4028): 0 when off. refresher is "local" or
   * "remote". */
  uint32_t session_expires;
  char refresher[8];
  sipline_tstamp expires_at; /* NONE when off */
  int peer_allows_update;
  /* Offer/answer: 1 while an offer is outstanding. */
  int offer_pending;
  /* Views of the current local and remote SDP (empty when none); valid
   * until the next call into the UA. */
  const char *local_sdp;
  size_t local_sdp_len;
  const char *remote_sdp;
  size_t remote_sdp_len;
} sipline_call_info;

/* Fills *info. Errors: SIPLINE_ERR_INVAL, SIPLINE_ERR_NOTFOUND. */
int sipline_ua_call_info(sipline_ua *ua, unsigned call_id,
                         sipline_call_info *info);

#ifdef __cplusplus
}
#endif
#endif
