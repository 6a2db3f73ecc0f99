/*
 * src/txn/txn.h: SIP transactions (RFC 3261 §17, RFC 6026).
 *
 * Four state machines: INVITE client (timers A, B, D; RFC 6026 Accepted
 * state with timer M), non-INVITE client (E, F, K), INVITE server (100
 * Trying, G, H, I; Accepted with L) and non-INVITE server (J). Timers come
 * from the profile (T1, T2, T4 and the SPEC §1 Timer B/F/H/D/J, 16 s each
 * by default). Retransmissions happen only on UDP; on TCP/TLS timers D, I,
 * J, K are 0 and A, E, G are never armed.
 *
 * A transaction user (TU: the reg, dlg and event modules, or the UA core)
 * builds the request bytes itself (util buffers), including a top Via with
 * a fresh branch (sipline__ua_new_branch), and hands them to a client
 * transaction; server transactions are created by the UA for incoming
 * requests and handed to modules through on_request.
 *
 * Ownership: the transaction layer (struct sipline__txl, embedded in the
 * UA) owns every transaction. Handles given to a TU are valid as described
 * at sipline__ctx_new and sipline__stx_set_handler. Nothing is freed while a
 * callback runs: finished transactions are reaped by sipline__txl_reap(),
 * which the UA calls at the end of each public entry point.
 */
#ifndef SIPLINE_TXN_H
#define SIPLINE_TXN_H

#include "sipline/msg.h"
#include "sipline/profile.h"
#include "tp/tp.h"
#include "util/util.h"

typedef struct sipline__ctx sipline__ctx;
typedef struct sipline__stx sipline__stx;
typedef struct sipline__txn sipline__txn;

/* Client transactions kept for reuse (see sipline__txl.spare). */
#define SIPLINE__TXL_SPARE 8u

/* Default cap on live server transactions (about 450 MiB at most). */
#define SIPLINE__TXL_MAX_STX 262144u

/* Transaction timer values in ms (from the profile; see sipline__txl_init). */
typedef struct sipline__txn_timers {
  uint32_t t1, t2, t4;    /* 500, 4000, 5000 */
  uint32_t b, f, h, d, j; /* 16000 each (SPEC §1); 64*T1 when 0 */
} sipline__txn_timers;

/*
 * The transaction layer. Embedded in the UA (ua->txl); a test may embed one
 * in anything that has a timer heap, a random source and a tp.
 */
typedef struct sipline__txl {
  const sipline_mem *mem;
  sipline__theap *timers;
  sipline_rng *rng;
  sipline__tp *tp;
  sipline__txn_timers tv;
  sipline__txn *all;   /* every transaction, newest first */
  sipline__txn *dead;  /* the terminated ones, waiting for reap */
  sipline__txn **hash; /* buckets by branch (or Call-ID for RFC 2543) */
  uint64_t hseed;       /* the bucket hash's seed (see txn.c, hash_pl) */
  size_t n_buckets;
  size_t n_live;
  size_t n_dead;      /* terminated, waiting for sipline__txl_reap */
  const char *server; /* Server header value for responses; NULL: none */
  /* Live server transactions, and their cap: a flood of new requests
   * (each kept for Timer J, about 1.7 KiB) cannot grow memory past it;
   * 0 = no cap. */
  size_t n_stx;
  size_t max_stx; /* SIPLINE__TXL_MAX_STX */
  /* Finished client transactions kept for the next request, newest first
   * (at most SIPLINE__TXL_SPARE, each with its request buffer): a line's
   * refresh then reuses a warm object instead of a calloc, a buffer malloc
   * and two frees (issue 10 item 5). */
  sipline__txn *spare;
  size_t n_spare;
  /* counters for tests and status */
  uint64_t n_retrans_rx; /* request retransmissions absorbed */
  uint64_t n_stray_rsp;  /* responses matching no client transaction */
} sipline__txl;

/*
 * Sets up the layer; tv NULL means the RFC 3261 / SPEC §1 defaults.
 * Returns 0 or SIPLINE_ERR_NOMEM.
 */
int sipline__txl_init(sipline__txl *txl, const sipline_mem *mem,
                      sipline__theap *timers, sipline_rng *rng,
                      sipline__tp *tp);
/* Frees every transaction without calling any callback or sending. */
void sipline__txl_free(sipline__txl *txl);
/* Takes T1/T2/T4 and B/F/H/D/J from a profile. */
void sipline__txl_set_timers(sipline__txl *txl, const sipline_profile *p);
/* Frees transactions that have terminated. Never call from a callback. */
void sipline__txl_reap(sipline__txl *txl);

/* ---------------------------------------------------------------------
 * Client transactions (§17.1).
 */

/*
 * What a client transaction reports to its TU:
 *  - rsp != NULL, err == 0: a response (1xx, or final). rsp and its views
 *    are valid only during the call.
 *  - rsp == NULL, err == SIPLINE_ERR_TIMEOUT: Timer B or F fired.
 *  - rsp == NULL, err == SIPLINE_ERR_TRANSPORT: the flow failed
 *    (sipline_ua_transport_error, SPEC R5c); sipline__ctx_tperr() gives
 *    the sipline_tperr.
 *  - rsp == NULL, err == 0: (INVITE after a 2xx only) the Accepted state
 *    ended (Timer M); the handle is gone.
 * The callback may create, cancel or detach any transaction.
 */
typedef void (*sipline__ctx_cb)(void *arg, sipline__ctx *ctx,
                                const sipline_msg *rsp, int err,
                                sipline_tstamp now);

typedef struct sipline__ctx_params {
  /* Where to send; copied. For TCP/TLS the application opens the
   * connection on the first pull of this path. */
  const sipline_path *path;
  /* The whole request as it goes on the wire, with a top Via carrying a
   * fresh RFC 3261 branch (z9hG4bK...). Copied; the caller keeps its own. */
  const char *req;
  size_t len;
  sipline__ctx_cb cb;
  void *arg;
  /* Optional, from a builder that knows them (sipline__req_build): where
   * the top Via's branch is in req, the method and the CSeq number. With
   * branch_len 0 the layer parses req to find them (and to check it). */
  size_t branch_off, branch_len;
  sipline_method method;
  uint32_t cseq;
} sipline__ctx_params;

/*
 * Starts a client transaction: parses the request (SIPLINE_ERR_INVAL when it
 * does not parse, has no branch or is an ACK), queues it for sending, arms
 * timers A/B (INVITE) or E/F (others). ACK for a non-2xx final response is
 * built and sent by the INVITE transaction itself (§17.1.1.3); the TU
 * builds the ACK for a 2xx (it is a new transaction-less request: send it
 * with sipline__tp_send or sipline__ctx_ack_2xx).
 *
 * An INVITE that got a provisional response runs no timer until its final
 * response (§17.1.1.2: Timer B stops in Proceeding); a TU that wants a
 * limit (a ring timeout, Timer C) arms its own and calls
 * sipline__ctx_cancel.
 *
 * Handle lifetime (*out may be NULL when the TU does not need one): valid
 * until the callback that reports a non-2xx final response, a timeout or a
 * transport error has returned; for a non-INVITE, also a 2xx; for an INVITE
 * answered 2xx, until the rsp == NULL, err == 0 call at the end of the
 * Accepted state (every further 2xx, retransmitted or forked, is reported
 * before that). sipline__ctx_detach ends it early (no more callbacks).
 *
 * Returns 0, SIPLINE_ERR_INVAL or SIPLINE_ERR_NOMEM (nothing sent then).
 */
int sipline__ctx_new(sipline__txl *txl, const sipline__ctx_params *p,
                     sipline_tstamp now, sipline__ctx **out);

/* No more callbacks; the layer finishes the transaction on its own. */
void sipline__ctx_detach(sipline__ctx *ctx);

/*
 * CANCEL for an INVITE client transaction (§9.1): built from the INVITE
 * (same Request-URI, Call-ID, From, To, CSeq number, Route, top Via), sent
 * as its own non-INVITE transaction whose outcome is ignored. If no
 * provisional response has arrived yet, it is sent when the first one does
 * (and not at all if a final response comes first). The INVITE's own
 * outcome (typically 487) still arrives through its callback.
 * Returns 0, SIPLINE_ERR_STATE (not an INVITE, or already final),
 * SIPLINE_ERR_NOMEM.
 */
int sipline__ctx_cancel(sipline__ctx *ctx, sipline_tstamp now);

/*
 * Sends the TU's ACK for a 2xx (bytes copied) on path, and remembers it so
 * that each retransmission of that 2xx (same To tag) during the Accepted
 * state is answered with the same ACK without bothering the TU.
 */
int sipline__ctx_ack_2xx(sipline__ctx *ctx, const sipline_path *path,
                         const char *ack, size_t len, sipline_tstamp now);

/* The path the request was sent on (the path given to sipline__ctx_new). */
const sipline_path *sipline__ctx_path(const sipline__ctx *ctx);
/* The sipline_tperr given with the last SIPLINE_ERR_TRANSPORT report. */
int sipline__ctx_tperr(const sipline__ctx *ctx);
/* The request's method, CSeq number and branch. */
sipline_method sipline__ctx_method(const sipline__ctx *ctx);

/* ---------------------------------------------------------------------
 * Server transactions (§17.2).
 */

/* What a server transaction tells its TU (see sipline__stx_set_handler). */
typedef enum sipline__stx_evt {
  /* A CANCEL matched this INVITE transaction before its final response.
   * The UA already answered the CANCEL 200; the TU should answer 487. */
  SIPLINE__STX_CANCELLED = 1,
  /* Timer H fired: no ACK came for a non-2xx final response. */
  SIPLINE__STX_NO_ACK,
  /* The flow failed before a final response could be delivered. */
  SIPLINE__STX_TPERR,
  /* The transaction is finished and the handle is gone after this call. */
  SIPLINE__STX_GONE,
} sipline__stx_evt;

typedef void (*sipline__stx_cb)(void *arg, sipline__stx *stx,
                                sipline__stx_evt what, sipline_tstamp now);

/* What a TU wants in a response (§8.2.6). Designated initializers please. */
typedef struct sipline__resp {
  int status;         /* 100..699 */
  const char *reason; /* NULL: the standard phrase for status */
  /* The To tag for responses other than 100 when the request's To had none.
   * NULL: the transaction's own tag (random, the same for all its
   * responses). A dialog-creating TU passes its dialog's local tag. */
  const char *to_tag;
  /* Extra header lines, each ending in CRLF ("Contact: <sip:a@b>\r\n",
   * "WWW-Authenticate: Digest ...\r\n"); NULL for none. Via, From, To,
   * Call-ID, CSeq, Content-Length (and Server, Content-Type from below) are
   * written by the transaction and must not be in here. */
  const char *headers;
  const char *content_type; /* with a body; NULL: no Content-Type */
  const char *body;         /* NULL: no body */
  size_t body_len;
} sipline__resp;

/*
 * Sends a response (§8.2.6.2): copies every Via (the top one with
 * received/rport filled per RFC 3581), From, Call-ID, CSeq and To (adding a
 * tag except for 100), then Record-Route for 101..299 to dialog-creating
 * requests (§12.1.1), Server, the TU's headers and the body, and sends it
 * where §18.2.2 says. Provisional responses may be repeated; the first
 * final response moves the transaction on (an INVITE 2xx into Accepted,
 * RFC 6026, where further 2xx from the TU are passed on unchanged: that is
 * how the TU retransmits its 2xx). A 100 to a non-INVITE is allowed.
 * Returns 0, SIPLINE_ERR_INVAL (status out of range), SIPLINE_ERR_STATE
 * (already final and not an INVITE 2xx retransmission), SIPLINE_ERR_NOMEM.
 */
int sipline__stx_respond(sipline__stx *stx, const sipline__resp *r,
                         sipline_tstamp now);
/* Shorthand: no headers, no body. */
int sipline__stx_reply(sipline__stx *stx, int status, const char *reason,
                       sipline_tstamp now);

/*
 * Handle lifetime: without a handler, the stx pointer is valid until the TU
 * has sent a final response (or returned from on_request, if it sent none
 * and set no handler: the UA then answers it 500). With a handler, it is
 * valid until the handler gets SIPLINE__STX_GONE. arg must stay valid as
 * long as the handler is set; cb NULL removes it. Note that GONE may come
 * from inside sipline__stx_respond (on TCP/TLS a non-INVITE transaction
 * ends as soon as its final response is sent).
 */
void sipline__stx_set_handler(sipline__stx *stx, sipline__stx_cb cb, void *arg);

/* 1 once a final response has been sent. */
int sipline__stx_is_final(const sipline__stx *stx);
/* The last status sent (0 when none). */
int sipline__stx_status(const sipline__stx *stx);
sipline_method sipline__stx_method(const sipline__stx *stx);
/* The path the request came on (responses may go elsewhere, §18.2.2). */
const sipline_path *sipline__stx_path(const sipline__stx *stx);
/* The To tag this transaction puts in its responses (NUL-terminated). */
const char *sipline__stx_local_tag(const sipline__stx *stx);

/* ---------------------------------------------------------------------
 * Input from the UA.
 */

/*
 * A response arrived: matched per §17.1.3 (top Via branch and CSeq method)
 * and handed to its client transaction. Returns 1 when matched, 0 when
 * stray (the caller drops it).
 */
int sipline__txl_on_response(sipline__txl *txl, const sipline_msg *rsp,
                             const sipline_path *path, sipline_tstamp now);

/*
 * A request arrived. Matches it per §17.2.3 (branch with the magic cookie,
 * sent-by and method, ACK matching INVITE; the RFC 2543 rules otherwise).
 * Returns:
 *   1: a retransmission or an ACK for a non-2xx, absorbed (the last
 *      response was resent when the state says so);
 *   0: new: *out is a new server transaction (NULL for an ACK, which has
 *      none: an ACK for a 2xx goes to the TU without a transaction);
 *   SIPLINE_ERR_TOOBIG: new, but max_stx transactions are live (the UA
 *      answers 503 statelessly);
 *   SIPLINE_ERR_NOMEM.
 * A CANCEL never matches the INVITE it cancels here: the UA finds that one
 * with sipline__txl_find_invite().
 */
int sipline__txl_on_request(sipline__txl *txl, const sipline_msg *req,
                            const sipline_path *path, sipline_tstamp now,
                            sipline__stx **out);

/*
 * The INVITE server transaction a CANCEL targets (§9.2: same match as a
 * request of that INVITE, method aside), or NULL.
 */
sipline__stx *sipline__txl_find_invite(sipline__txl *txl,
                                       const sipline_msg *cancel);

/*
 * Sends 100 Trying for an INVITE server transaction that has sent nothing
 * yet (§17.2.1); the UA calls it once the TUs have seen the request.
 */
int sipline__stx_trying(sipline__stx *stx, sipline_tstamp now);

/*
 * Ends a server transaction without answering (a request the UA decided to
 * drop). The handler, if any, gets SIPLINE__STX_GONE.
 */
void sipline__stx_abandon(sipline__stx *stx, sipline_tstamp now);
/* 1 when a TU set a handler (it keeps the transaction to answer later). */
int sipline__stx_has_handler(const sipline__stx *stx);

/* Tells the TU of a CANCEL (SIPLINE__STX_CANCELLED); 0 if no handler. */
int sipline__stx_notify_cancel(sipline__stx *stx, sipline_tstamp now);

/*
 * A flow failed (SPEC R5c): every client transaction that sent on it and
 * has not completed reports SIPLINE_ERR_TRANSPORT; server transactions on
 * it end (TPERR to their handler). Returns how many were failed.
 */
size_t sipline__txl_transport_error(sipline__txl *txl, const sipline_path *path,
                                    int why, sipline_tstamp now);

/* Live (not yet terminated) transactions, for tests and shutdown. */
size_t sipline__txl_count(const sipline__txl *txl);

/* The standard reason phrase for a status ("Not Found"); never NULL. */
const char *sipline__reason_phrase(int status);

#endif
