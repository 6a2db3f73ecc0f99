/*
 * src/dlg/sess.h: the INVITE session (one call) shared by the files of the
 * dlg module:
 *
 *   call.c   the module, the public calls, events, the life of a session,
 *            the outgoing INVITE (forking, CANCEL, failover R4/R7, auth);
 *   uas.c    the incoming INVITE: answer, reject, CANCEL, the 2xx
 *            retransmitted until its ACK (§13.3.1.4), reliable 1xx (RFC 3262)
 *            and PRACK received;
 *   indlg.c  requests inside the dialog both ways: BYE, re-INVITE, UPDATE
 *            (RFC 3311), ACK, PRACK sent; glare (491 and 500 Retry-After)
 *            and the §14.1 randomised retry;
 *   oa.c     the RFC 3264 / RFC 6337 offer/answer state;
 *   timer.c  RFC 4028 session timers.
 *
 * One owner: the module owns its sessions; a session owns its dialogs
 * (ua/dialog.h, in the engine's table), its auth client, its timers and
 * every copy of SDP. Transactions are the txn layer's: a session keeps
 * handles as txn.h allows and lets go of them (detach, or a final response
 * and no handler) before it is freed.
 */
#ifndef SIPLINE_DLG_SESS_H
#define SIPLINE_DLG_SESS_H

#include "dlg/dlg.h"
#include "sipline/auth.h"

/* Forked early dialogs an outgoing call keeps (RFC 3261 §13.2.2.4). */
#define SESS_MAX_EARLY 4
/* How many servers one call attempt may try (R4, R7). */
#define SESS_MAX_ATTEMPTS 4
/* How long the UA waits for the application's answer to a remote offer. */
#define SESS_SDP_WAIT_MS 8000u

typedef struct dlg_mod dlg_mod;

/* Offer/answer (oa.c). */
typedef enum oa_state {
  OA_IDLE = 0,     /* no offer outstanding */
  OA_LOCAL_OFFER,  /* we sent an offer; its answer is due */
  OA_REMOTE_OFFER, /* we received an offer; we owe the answer */
} oa_state;

typedef struct oa {
  oa_state st;
  int done;             /* an exchange completed (the INVITE's first one) */
  char *local, *remote; /* the session as agreed (NULL: none yet) */
  size_t local_len, remote_len;
  char *offer; /* the outstanding offer (ours or theirs) */
  size_t offer_len;
  char *preview; /* an answer seen in an unreliable 1xx (§13.2.1) */
  size_t preview_len;
} oa;

/* What a remote offer waits for from the application. */
typedef enum sdp_wait {
  W_NONE = 0,
  W_ACK,        /* an offer in a 2xx: the answer goes in the ACK */
  W_PRACK,      /* an offer in a reliable 1xx: the answer in the PRACK */
  W_UPDATE,     /* an UPDATE with an offer: the answer in its 200 */
  W_REINVITE,   /* a re-INVITE with an offer: the answer in its 200 */
  W_PRACK_REQ,  /* a PRACK with an offer: the answer in its 200 */
  W_INVITE,     /* the initial INVITE's offer: sipline_ua_call_answer */
} sdp_wait;

/* A response kept to be sent again (2xx until ACK, reliable 1xx until
 * PRACK). */
typedef struct saved_rsp {
  sipline__stx *stx;
  int status;
  char *headers;
  char *body;
  size_t body_len;
  sipline__timer t;
  sipline_tstamp interval, started;
  uint32_t cseq; /* the INVITE's CSeq (its ACK or RAck must match) */
  uint32_t rseq; /* reliable 1xx */
} saved_rsp;

typedef struct sess sess;
struct sess {
  sess *next;
  dlg_mod *m;
  unsigned id;
  unsigned line;
  uint8_t uac;        /* we placed the call (and own the Call-ID, §14.1) */
  uint8_t hangup_req; /* the application hung up */
  uint8_t ending;     /* end_call has begun */
  sipline_call_state state;
  char peer[160];   /* what the application dialled, or the caller's URI */
  char ruri[256];   /* outgoing: the INVITE's Request-URI (and To) */
  char luri[256];   /* outgoing: our From URI */
  char ldisp[96];   /* outgoing: our From display name ("" for none) */
  char callid[SIPLINE__CALLID_LEN + 1];
  char ltag[SIPLINE__TAG_LEN + 1];
  sipline__target tgt; /* the first hop the call was set up on (R13) */
  sipline__dialog *dlg; /* the dialog in use (early or confirmed) */
  sipline__dialog *early[SESS_MAX_EARLY]; /* outgoing: forks, early */
  unsigned n_early;
  sipline_auth_client *auth;
  unsigned challenges;    /* answered for the request in progress */
  uint8_t auth_resend;    /* the next send answers a challenge */
  char *xheaders;        /* outgoing: the application's extra headers */
  sipline_100rel prack_mode;
  oa oa;

  /* The outgoing INVITE. */
  sipline__ctx *inv;
  uint32_t cseq;     /* before a dialog exists */
  uint32_t inv_cseq; /* the CSeq of the INVITE in progress */
  unsigned attempts;
  uint8_t tried_alt;
  uint8_t inv_answered; /* any response to the current INVITE */
  uint8_t tried_422;
  uint32_t rseq_acked; /* the last RSeq we PRACKed (0: none) */
  char *inv_offer;     /* the initial offer, for a resend */
  size_t inv_offer_len;

  /* Requests we sent inside the dialog. */
  sipline__ctx *rinv; /* re-INVITE */
  uint32_t rinv_cseq;
  uint8_t rinv_offer; /* it carried an offer */
  uint8_t rinv_422;
  uint8_t rinv_refresh; /* a session refresh (R16) */
  sipline__ctx *upd; /* UPDATE */
  uint8_t upd_offer;
  uint8_t upd_refresh; /* a session refresh */
  uint8_t upd_422;
  sipline__ctx *bye;
  sipline__ctx *ack_ctx; /* the INVITE whose 2xx waits for our ACK */
  uint32_t ack_cseq;

  /* The §14.1 retry after a 491. */
  sipline__timer t_retry;
  sipline_method retry_method; /* UPDATE or INVITE */
  char *retry_sdp;             /* NULL: without an offer */
  size_t retry_len;

  /* Incoming requests held for an answer. */
  sipline__stx *inv_stx;   /* the initial INVITE, until its final response */
  sipline__stx *rinv_stx;  /* a re-INVITE */
  sipline__stx *upd_stx;   /* an UPDATE with an offer */
  sipline__stx *prack_stx; /* a PRACK with an offer */
  uint8_t peer_100rel;     /* 0 no, 1 Supported, 2 Require */
  uint8_t peer_timer;      /* the peer listed timer in Supported */
  int peer_update;         /* the peer allows UPDATE: -1 unknown, 0, 1 */
  uint8_t upd_refused;     /* it answered an UPDATE of ours 501 or 405 */
  saved_rsp x2xx;          /* our 2xx to an INVITE, until its ACK */
  saved_rsp rel;           /* our reliable 1xx, until its PRACK */
  uint32_t rseq;           /* the last RSeq we sent */

  /* The application's answer to a remote offer. */
  sdp_wait wait;
  sipline__timer t_sdp;

  /* Session timer (timer.c). */
  uint32_t se;          /* the interval in s; 0: no session timer */
  uint8_t st_local;     /* we are the refresher */
  sipline__timer t_st;
  sipline_tstamp st_due; /* when t_st fires */
  const char *end_reason; /* why our BYE went (static string or end_why) */
  char end_why[32];       /* the application's reason (sipline_ua_call_end) */
  char *end_headers;      /* the application's headers for our BYE */
  uint32_t inv_rx_cseq;   /* incoming: the INVITE's CSeq */
  uint32_t rinv_rx_cseq;  /* a re-INVITE we hold */
};

struct dlg_mod {
  sipline_ua *ua;
  sess *calls;
  unsigned next_id;
};

/* ---- call.c ---- */
void sess_event(sess *s, const char *reason, int status);
void sess_set_state(sess *s, sipline_call_state st, const char *reason,
                    int status);
/* Ends the call (event "ended", frees it, the line may go idle). */
void sess_end(sess *s, int status, const char *reason, sipline_tstamp now);
/* Our line's config (never NULL while the session lives). */
const sipline_line_cfg *sess_cfg(const sess *s);
/* Appends Contact, Allow and Supported. */
void sess_append_caps(sess *s, sipline__buf *b);
/* Takes a 401/407 challenge (at most twice a request). 1 when taken. */
int sess_take_challenge(sess *s, const sipline_msg *rsp);
/* 1 when msg carries an SDP body. */
int msg_has_sdp(const sipline_msg *m);
/* 1 when a header (Supported, Require, Allow) of msg lists token. */
int msg_lists(const sipline_msg *m, sipline_hdr_id id, const char *token);
/* The session's dialog rx hook (indlg.c). */
int sess_dialog_rx(void *owner, sipline__dialog *d, sipline__stx *stx,
                   const sipline_msg *req, const sipline_path *path,
                   sipline_tstamp now);
void sess_timer_init(sess *s);
/* The timers' callbacks (armed by their files, set up by sess_new). */
void st_timer_cb(sipline__timer *t, void *arg, sipline_tstamp now);
void indlg_retry_cb(sipline__timer *t, void *arg, sipline_tstamp now);
void uas_x2xx_cb(sipline__timer *t, void *arg, sipline_tstamp now);
void uas_rel_cb(sipline__timer *t, void *arg, sipline_tstamp now);
void sess_cancel_timers(sess *s);
void saved_free(sess *s, saved_rsp *r);

/* A UAC dialog for a 1xx/2xx of our INVITE (NULL on failure). */
sipline__dialog *sess_new_dialog(sess *s, const sipline_msg *rsp);
sess *sess_new(dlg_mod *m, unsigned line, int uac);
void sess_link(sess *s);
/* The handler of every server transaction a session holds (uas.c). */
void sess_stx_cb(void *arg, sipline__stx *stx, sipline__stx_evt what,
                 sipline_tstamp now);
/* Sends a 2xx (Contact, Allow, Supported, session timer) to a non-INVITE
 * request, with an optional SDP body. */
int sess_reply_2xx(sess *s, sipline__stx *stx, const char *body, size_t len,
                   sipline_tstamp now);
/* Refuses a request: 491, or 500 with Retry-After 0..10 s (RFC 3311 §5.2),
 * 422 with Min-SE, or any status. */
void sess_reply_glare(sess *s, sipline__stx *stx, int status,
                      sipline_tstamp now);
void sess_reply_422(sess *s, sipline__stx *stx, uint32_t min_se,
                    sipline_tstamp now);

/* ---- uas.c ---- */
int uas_on_invite(dlg_mod *m, sipline__stx *stx, const sipline_msg *req,
                  const sipline_path *path, sipline_tstamp now);
int uas_answer(sess *s, const sipline_call_answer *a, sipline_tstamp now);
int uas_reject(sess *s, int status, sipline_tstamp now);
/* As uas_reject, with extra header lines (NULL) and the reason of the
 * "ended" event (NULL: "rejected:STATUS"). */
int uas_refuse(sess *s, int status, const char *headers, const char *why,
               sipline_tstamp now);
/* Sends a 2xx to an INVITE (initial or re-INVITE) and keeps it going until
 * its ACK. */
int uas_send_2xx(sess *s, sipline__stx *stx, uint32_t cseq, const char *body,
                 size_t len, sipline_tstamp now);
/* A PRACK arrived in the dialog. */
void uas_on_prack(sess *s, sipline__stx *stx, const sipline_msg *req,
                  sipline_tstamp now);
/* An ACK arrived in the dialog. */
void uas_on_ack(sess *s, const sipline_msg *req, sipline_tstamp now);

/* ---- indlg.c ---- */
int indlg_update(sess *s, const char *sdp, size_t len, int refresh,
                 sipline_tstamp now);
int indlg_reinvite(sess *s, const char *sdp, size_t len, int refresh,
                   sipline_tstamp now);
int indlg_bye(sess *s, sipline_tstamp now);
/* The application answered a remote offer (sdp NULL: refused). */
int indlg_sdp(sess *s, const char *sdp, size_t len, sipline_tstamp now);
/* Sends the ACK for a 2xx to one of our INVITEs (body: an answer). */
void indlg_ack(sess *s, sipline__dialog *d, sipline__ctx *ctx, uint32_t cseq,
               const char *body, size_t len, sipline_tstamp now);
/* Sends PRACK for a reliable 1xx (body: an answer, or NULL). */
int indlg_prack(sess *s, sipline__dialog *d, uint32_t rseq, uint32_t cseq,
                const char *body, size_t len, sipline_tstamp now);
/* The ACK/BYE for a 2xx from a fork we do not keep. */
void indlg_drop_fork(sess *s, sipline__ctx *ctx, const sipline_msg *rsp,
                     sipline_tstamp now);

/* ---- oa.c ---- */
int oa_local_offer(sess *s, const char *sdp, size_t len, const char *via);
int oa_remote_offer(sess *s, const char *sdp, size_t len, const char *via);
int oa_local_answer(sess *s, const char *sdp, size_t len, const char *via);
int oa_remote_answer(sess *s, const char *sdp, size_t len, const char *via);
/* Drops the outstanding offer: the session stays as it was (R15). */
void oa_rollback(sess *s);
void oa_free(sess *s);
int oa_set_preview(sess *s, const char *sdp, size_t len);

/* ---- timer.c ---- */
/* Session-Expires / Min-SE headers for a request we send. */
void st_append_request(sess *s, sipline__buf *b, int initial);
/* An incoming INVITE/UPDATE: 0, or 422 (with *min_se to send) when its
 * Session-Expires is below our Min-SE. Sets the session timer up. */
int st_on_request(sess *s, const sipline_msg *req, uint32_t *min_se);
/* Session-Expires (and Require: timer) for our 2xx. */
void st_append_response(sess *s, sipline__buf *b);
/* A 2xx to our INVITE or UPDATE (initial: the first INVITE). */
void st_on_2xx(sess *s, const sipline_msg *rsp, int initial);
/* (Re)arms the refresh or the expiry from now. */
void st_arm(sess *s, sipline_tstamp now);
/* A 422 to our request: raises the interval. 1 when a resend makes sense. */
int st_on_422(sess *s, const sipline_msg *rsp);

#endif
