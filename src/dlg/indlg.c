/*
 * src/dlg/indlg.c: requests inside a call's dialog, both ways.
 *
 * Received (sess_dialog_rx, called by the engine after its dialog match
 * and CSeq check): ACK, BYE, re-INVITE, UPDATE (RFC 3311), PRACK, INFO,
 * OPTIONS. Glare (RFC 3311 §5.2, RFC 3261 §14.2): an offer while our own is
 * outstanding gets 491; an offer while we still owe an answer, or a second
 * INVITE while one is in progress, gets 500 with Retry-After 0..10 s.
 *
 * Sent: BYE, re-INVITE, UPDATE, PRACK and the ACK of a 2xx. After a 491
 * the request is sent again after the RFC 3261 §14.1 delay drawn from the
 * UA's seeded random source: 2.1..4 s when we own the Call-ID (we placed
 * the call), 0..2 s otherwise, in 10 ms steps (PJSIP leaves this to the
 * application, its issue #1169). A failed UPDATE or re-INVITE leaves the
 * session as it was (R15); 481 ends the call, 408 or no answer at all
 * ends it with a BYE (RFC 3261 §12.2.1.2). A peer that answers UPDATE
 * with 501/405 is not sent UPDATE again in that call: that offer, and
 * every later one or refresh, goes by re-INVITE (baresip 1.0.0 answers
 * UPDATE 501).
 */
#include <stdio.h>
#include <string.h>

#include "dlg/sess.h"

static void on_update(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                      int err, sipline_tstamp now);
static void on_reinvite(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                        int err, sipline_tstamp now);
static void on_bye(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now);

/* Builds and starts an in-dialog request of the session's dialog. */
static int send_req(sess *s, sipline_method method, const char *body,
                    size_t len, sipline__ctx_cb cb, sipline__ctx **out,
                    sipline_tstamp now) {
  sipline_ua *ua = s->m->ua;
  if (!s->auth_resend)
    s->challenges = 0; /* a new request: up to two challenges of its own */
  s->auth_resend = 0;
  sipline__buf b, extra;
  sipline_path path;
  sipline__buf_init(&b, ua->mem);
  sipline__buf_init(&extra, ua->mem);
  sipline__dialog_req dr = {.method = method,
                            .auth = s->auth,
                            .body = {body, body ? len : 0}};
  if (method == SIPLINE_METHOD_INVITE || method == SIPLINE_METHOD_UPDATE) {
    /* target refreshes: Contact, and what we take (UPDATE in Allow, R14) */
    dr.flags = SIPLINE__REQ_CONTACT | SIPLINE__REQ_ALLOW |
               SIPLINE__REQ_SUPPORTED;
    st_append_request(s, &extra, 0);
    dr.extra = (sipline_pl){extra.p, extra.len};
  } else if (method == SIPLINE_METHOD_BYE && s->end_headers) {
    /* why the application ends the call (sipline_ua_call_end: Reason) */
    sipline__buf_append_str(&extra, s->end_headers);
    dr.extra = (sipline_pl){extra.p, extra.len};
  }
  int r = extra.err ? extra.err : sipline__dialog_build(s->dlg, &dr, &b, &path);
  if (!r) {
    sipline__ctx_params p = {
        .path = &path, .req = b.p, .len = b.len, .cb = cb, .arg = s};
    r = sipline__ua_request(ua, &p, now, out);
  }
  sipline__buf_free(&b);
  sipline__buf_free(&extra);
  return r;
}

/* ------------------------------------------------------------------ */
/* BYE, ACK, PRACK */

int indlg_bye(sess *s, sipline_tstamp now) {
  if (s->bye)
    return 0;
  if (!s->dlg)
    return SIPLINE_ERR_STATE;
  sipline__theap *h = &s->m->ua->timers;
  sipline__timer_cancel(h, &s->t_st);
  sipline__timer_cancel(h, &s->t_retry);
  sipline__timer_cancel(h, &s->t_sdp);
  s->wait = W_NONE;
  int r = send_req(s, SIPLINE_METHOD_BYE, NULL, 0, on_bye, &s->bye, now);
  if (r == 0)
    sess_set_state(s, SIPLINE_CALL_ENDING, s->end_reason, 0);
  return r;
}

static void on_bye(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now) {
  sess *s = arg;
  (void)ctx;
  if (rsp && rsp->status < 200)
    return;
  s->bye = NULL;
  if (rsp && (rsp->status == 401 || rsp->status == 407) &&
      sess_take_challenge(s, rsp) && (s->auth_resend = 1) &&
      indlg_bye(s, now) == 0)
    return;
  const char *why = s->end_reason ? s->end_reason : "hangup";
  sess_end(s, rsp ? rsp->status : 0,
           rsp ? why
               : (err == SIPLINE_ERR_TIMEOUT ? "hangup_timeout"
                                             : "hangup_transport"),
           now);
}

void indlg_ack(sess *s, sipline__dialog *d, sipline__ctx *ctx, uint32_t cseq,
               const char *body, size_t len, sipline_tstamp now) {
  sipline_ua *ua = s->m->ua;
  sipline__buf b;
  sipline_path path;
  sipline__buf_init(&b, ua->mem);
  sipline__dialog_req dr = {.method = SIPLINE_METHOD_ACK,
                            .cseq = cseq,
                            .auth = s->auth,
                            .body = {body, body ? len : 0}};
  if (sipline__dialog_build(d, &dr, &b, &path) == 0) {
    if (ctx)
      sipline__ctx_ack_2xx(ctx, &path, b.p, b.len, now);
    else
      sipline__ua_send(ua, &path, b.p, b.len);
  }
  sipline__buf_free(&b);
}

static void on_prack(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                     int err, sipline_tstamp now) {
  (void)arg;
  (void)ctx;
  (void)rsp;
  (void)err;
  (void)now;
  /* Nothing to do: a lost PRACK is resent by its transaction, and the
   * 1xx it acknowledges is resent by the peer until then. */
}

int indlg_prack(sess *s, sipline__dialog *d, uint32_t rseq, uint32_t cseq,
                const char *body, size_t len, sipline_tstamp now) {
  sipline_ua *ua = s->m->ua;
  sipline__buf b;
  sipline_path path;
  char rack[48];
  int rl = snprintf(rack, sizeof rack, "RAck: %u %u INVITE\r\n", rseq, cseq);
  sipline__buf_init(&b, ua->mem);
  sipline__dialog_req dr = {.method = SIPLINE_METHOD_PRACK,
                            .extra = {rack, (size_t)rl},
                            .auth = s->auth,
                            .body = {body, body ? len : 0}};
  int r = sipline__dialog_build(d, &dr, &b, &path);
  if (!r) {
    sipline__ctx_params p = {
        .path = &path, .req = b.p, .len = b.len, .cb = on_prack, .arg = s};
    r = sipline__ua_request(ua, &p, now, NULL);
  }
  sipline__buf_free(&b);
  return r;
}

static void on_fork_bye(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                        int err, sipline_tstamp now) {
  (void)arg;
  (void)ctx;
  (void)rsp;
  (void)err;
  (void)now;
}

void indlg_drop_fork(sess *s, sipline__ctx *ctx, const sipline_msg *rsp,
                     sipline_tstamp now) {
  (void)ctx;
  sipline__dialog *d = sess_new_dialog(s, rsp);
  if (!d)
    return;
  d->confirmed = 1;
  d->rx = NULL; /* requests of this dialog get 481 meanwhile */
  sipline_ua *ua = s->m->ua;
  sipline__buf b;
  sipline_path path;
  sipline__buf_init(&b, ua->mem);
  sipline__dialog_req ack = {.method = SIPLINE_METHOD_ACK, .cseq = s->inv_cseq};
  if (sipline__dialog_build(d, &ack, &b, &path) == 0)
    sipline__ua_send(ua, &path, b.p, b.len);
  sipline__buf_reset(&b);
  sipline__dialog_req bye = {.method = SIPLINE_METHOD_BYE};
  if (sipline__dialog_build(d, &bye, &b, &path) == 0) {
    sipline__ctx_params p = {
        .path = &path, .req = b.p, .len = b.len, .cb = on_fork_bye, .arg = s};
    sipline__ua_request(ua, &p, now, NULL);
  }
  sipline__buf_free(&b);
  sipline__dialog_del(d);
  sipline__ua_warn(ua, s->line, "fork_dropped",
                   "call %u: a second 2xx (another fork) was ACKed and BYEd",
                   s->id);
}

/* ------------------------------------------------------------------ */
/* UPDATE and re-INVITE sent */

static int can_update(const sess *s) {
  if (!s->dlg || s->state == SIPLINE_CALL_ENDING ||
      s->state == SIPLINE_CALL_ENDED)
    return 0;
  /* RFC 3311 §5.1: in an early dialog only once the INVITE's
   * offer/answer is complete. */
  return s->dlg->confirmed || s->oa.done;
}

int indlg_update(sess *s, const char *sdp, size_t len, int refresh,
                 sipline_tstamp now) {
  if (!can_update(s) || s->upd || (sdp && s->oa.st != OA_IDLE))
    return SIPLINE_ERR_STATE;
  if (s->upd_refused && s->state == SIPLINE_CALL_CONFIRMED) {
    /* The peer already answered an UPDATE of this call 501/405 (baresip
     * 1.0.0 does, for every one): asking again would only cost a round
     * trip, so the offer, or the current SDP for a refresh, goes by
     * re-INVITE at once. Status 0: no response to this request said so. */
    int r = sdp ? indlg_reinvite(s, sdp, len, refresh, now)
                : indlg_reinvite(s, s->oa.local, s->oa.local_len, refresh,
                                 now);
    if (r == 0)
      sess_event(s, "update_unsupported_reinvite", 0);
    return r;
  }
  if (sdp) {
    int e = oa_local_offer(s, sdp, len, "update");
    if (e)
      return e;
  }
  s->upd_offer = sdp != NULL;
  s->upd_refresh = (uint8_t)refresh;
  s->upd_422 = 0;
  int r = send_req(s, SIPLINE_METHOD_UPDATE, sdp, len, on_update, &s->upd,
                   now);
  if (r && sdp)
    oa_rollback(s);
  return r;
}

static int send_reinvite(sess *s, const char *sdp, size_t len,
                         sipline_tstamp now) {
  s->rinv_offer = sdp != NULL;
  int r = send_req(s, SIPLINE_METHOD_INVITE, sdp, len, on_reinvite, &s->rinv,
                   now);
  if (!r)
    s->rinv_cseq = s->dlg->lcseq;
  return r;
}

static int reinvite_busy(const sess *s) {
  return s->rinv || s->rinv_stx || s->x2xx.headers || s->wait == W_ACK;
}

int indlg_reinvite(sess *s, const char *sdp, size_t len, int refresh,
                   sipline_tstamp now) {
  if (!s->dlg || s->state != SIPLINE_CALL_CONFIRMED || reinvite_busy(s) ||
      s->oa.st != OA_IDLE)
    return SIPLINE_ERR_STATE;
  if (sdp) {
    int e = oa_local_offer(s, sdp, len, "reinvite");
    if (e)
      return e;
  }
  s->rinv_422 = 0;
  s->rinv_refresh = (uint8_t)refresh;
  int r = send_reinvite(s, sdp, len, now);
  if (r && sdp)
    oa_rollback(s);
  return r;
}

/* §14.1: the retry after a 491. */

static void schedule_retry(sess *s, sipline_method method,
                           sipline_tstamp now) {
  sipline_ua *ua = s->m->ua;
  sipline_mem_free(ua->mem, s->retry_sdp);
  s->retry_sdp = NULL;
  s->retry_len = 0;
  if (s->oa.st == OA_LOCAL_OFFER) {
    s->retry_sdp = s->oa.offer; /* take the offer over */
    s->retry_len = s->oa.offer_len;
    s->oa.offer = NULL;
    s->oa.offer_len = 0;
    s->oa.st = OA_IDLE; /* the peer's offer may go through meanwhile */
  }
  s->retry_method = method;
  sipline_tstamp delay =
      s->uac ? 2100 + 10 * sipline__ua_random(ua, 191)  /* 2.1..4 s */
             : 10 * sipline__ua_random(ua, 201);        /* 0..2 s */
  sipline__timer_arm(&ua->timers, &s->t_retry, now + delay);
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_CALL, s->line);
  ev.id = s->id;
  ev.status = 491;
  ev.call_state = (int)s->state;
  ev.retry_in = delay;
  sipline__event_str(ev.state, sizeof ev.state, "%s",
                     sipline_call_state_name(s->state));
  sipline__event_str(ev.reason, sizeof ev.reason, "glare_%s",
                     method == SIPLINE_METHOD_UPDATE ? "update" : "reinvite");
  sipline__event_str(ev.server, sizeof ev.server, "%s", s->tgt.server);
  sipline__event_str(ev.text, sizeof ev.text, "%s", s->peer);
  sipline__ua_emit(ua, &ev);
}

void indlg_retry_cb(sipline__timer *t, void *arg, sipline_tstamp now) {
  sess *s = arg;
  (void)t;
  char *sdp = s->retry_sdp;
  size_t len = s->retry_len;
  int r = s->retry_method == SIPLINE_METHOD_UPDATE
              ? indlg_update(s, sdp, len, sdp == NULL, now)
              : indlg_reinvite(s, sdp, len, 0, now);
  if (r == SIPLINE_ERR_STATE && s->state == SIPLINE_CALL_CONFIRMED) {
    /* Still crossed (the peer's exchange is in progress): wait again. */
    sipline_ua *ua = s->m->ua;
    sipline_tstamp delay = s->uac ? 2100 + 10 * sipline__ua_random(ua, 191)
                                  : 10 * sipline__ua_random(ua, 201);
    sipline__timer_arm(&ua->timers, &s->t_retry, now + delay);
    return;
  }
  sipline_mem_free(s->m->ua->mem, sdp);
  s->retry_sdp = NULL;
  s->retry_len = 0;
  if (r == 0)
    sess_event(s, "glare_retry", 0);
}

/* What every failed in-dialog request of ours has in common. */
static int failed_ends_call(sess *s, const sipline_msg *rsp, int err,
                            sipline_tstamp now) {
  int st = rsp ? rsp->status : 0;
  if (st == 481) {
    sess_end(s, 481, "dialog_gone", now);
    return 1;
  }
  if (st == 408 || (!rsp && err)) {
    s->end_reason = "request_timeout";
    if (indlg_bye(s, now) != 0)
      sess_end(s, st, "request_timeout", now);
    return 1;
  }
  return 0;
}

static void on_update(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                      int err, sipline_tstamp now) {
  sess *s = arg;
  (void)ctx;
  if (rsp && rsp->status < 200)
    return;
  s->upd = NULL;
  int offered = s->upd_offer;
  int st = rsp ? rsp->status : 0;
  if (rsp && st < 300) {
    sipline__dialog_refresh_target(s->dlg, rsp);
    s->peer_update = 1;
    if (offered) {
      if (msg_has_sdp(rsp)) {
        oa_remote_answer(s, rsp->body.p, rsp->body.len, "update");
      } else {
        oa_rollback(s);
        sess_event(s, "update_failed", st);
        return;
      }
    }
    st_on_2xx(s, rsp, 0);
    st_arm(s, now);
    sess_event(s, s->upd_refresh ? "refreshed" : "update_ok", st);
    return;
  }
  const char *offer = s->oa.st == OA_LOCAL_OFFER ? s->oa.offer : NULL;
  size_t olen = offer ? s->oa.offer_len : 0;
  if ((st == 401 || st == 407) && sess_take_challenge(s, rsp) &&
      (s->auth_resend = 1) && send_req(s, SIPLINE_METHOD_UPDATE, offer, olen, on_update, &s->upd,
               now) == 0)
    return;
  if (st == 422 && !s->upd_422 && st_on_422(s, rsp)) {
    s->upd_422 = 1;
    if (send_req(s, SIPLINE_METHOD_UPDATE, offer, olen, on_update, &s->upd,
                 now) == 0)
      return;
  }
  if (st == 491) {
    schedule_retry(s, SIPLINE_METHOD_UPDATE, now);
    return;
  }
  if (st == 501 || st == 405) {
    /* The peer does not take UPDATE: the same offer (or the refresh) goes
     * by re-INVITE (R16: "otherwise re-INVITE"). */
    s->peer_update = 0;
    s->upd_refused = 1;
    if (!reinvite_busy(s) && s->state == SIPLINE_CALL_CONFIRMED) {
      int r;
      if (offered)
        r = send_reinvite(s, offer, olen, now);
      else if (s->oa.st == OA_IDLE) /* a refresh: the SDP as it is */
        r = indlg_reinvite(s, s->oa.local, s->oa.local_len, s->upd_refresh,
                           now);
      else
        r = SIPLINE_ERR_STATE;
      if (offered && r == 0)
        s->rinv_refresh = 0;
      if (r == 0) {
        sess_event(s, "update_unsupported_reinvite", st);
        return;
      }
    }
  }
  if (offered)
    oa_rollback(s);
  if (failed_ends_call(s, rsp, err, now))
    return;
  sess_event(s, "update_failed", st);
  if (s->upd_refresh)
    st_arm(s, now); /* R16: keep trying within the interval */
}

static void on_reinvite(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                        int err, sipline_tstamp now) {
  sess *s = arg;
  if (!rsp) {
    if (s->rinv == ctx)
      s->rinv = NULL;
    if (s->ack_ctx == ctx)
      s->ack_ctx = NULL;
    if (!err)
      return; /* the end of the Accepted state */
    if (s->oa.st == OA_LOCAL_OFFER)
      oa_rollback(s);
    failed_ends_call(s, NULL, err, now);
    return;
  }
  int st = rsp->status;
  if (st < 200)
    return;
  if (st < 300) {
    if (s->wait == W_ACK && s->ack_ctx == ctx)
      return; /* a retransmission while the application answers */
    sipline__dialog_refresh_target(s->dlg, rsp);
    st_on_2xx(s, rsp, 0);
    int has = msg_has_sdp(rsp);
    if (s->rinv_offer) {
      if (has)
        oa_remote_answer(s, rsp->body.p, rsp->body.len, "2xx");
      else
        oa_rollback(s);
    } else if (has && s->oa.st == OA_IDLE &&
               oa_remote_offer(s, rsp->body.p, rsp->body.len, "2xx") == 0) {
      s->ack_ctx = ctx;
      s->ack_cseq = s->rinv_cseq;
      s->wait = W_ACK;
      sipline__timer_arm(&s->m->ua->timers, &s->t_sdp,
                         now + SESS_SDP_WAIT_MS);
      return;
    }
    indlg_ack(s, s->dlg, ctx, s->rinv_cseq, NULL, 0, now);
    /* The transaction re-ACKs retransmissions on its own. */
    sipline__ctx_detach(ctx);
    s->rinv = NULL;
    st_arm(s, now);
    sess_event(s, s->rinv_refresh ? "refreshed" : "reinvite_ok", st);
    return;
  }
  s->rinv = NULL; /* the handle is gone after this call */
  const char *offer = s->oa.st == OA_LOCAL_OFFER ? s->oa.offer : NULL;
  size_t olen = offer ? s->oa.offer_len : 0;
  if ((st == 401 || st == 407) && sess_take_challenge(s, rsp) &&
      (s->auth_resend = 1) && send_reinvite(s, offer, olen, now) == 0)
    return;
  if (st == 422 && !s->rinv_422 && st_on_422(s, rsp)) {
    s->rinv_422 = 1;
    if (send_reinvite(s, offer, olen, now) == 0)
      return;
  }
  if (st == 491) {
    schedule_retry(s, SIPLINE_METHOD_INVITE, now);
    return;
  }
  if (s->oa.st == OA_LOCAL_OFFER)
    oa_rollback(s);
  if (failed_ends_call(s, rsp, 0, now))
    return;
  sess_event(s, "reinvite_failed", st);
}

/* ------------------------------------------------------------------ */
/* the application's answer to a remote offer */

int indlg_sdp(sess *s, const char *sdp, size_t len, sipline_tstamp now) {
  sdp_wait w = s->wait;
  if (w == W_NONE || w == W_INVITE || s->oa.st != OA_REMOTE_OFFER)
    return SIPLINE_ERR_STATE;
  sipline__timer_cancel(&s->m->ua->timers, &s->t_sdp);
  s->wait = W_NONE;
  if (sdp && !len)
    sdp = NULL;
  int r = 0;
  sipline__stx *stx = NULL;
  switch (w) {
  case W_ACK: {
    sipline__ctx *ctx = s->ack_ctx;
    s->ack_ctx = NULL;
    if (sdp)
      r = oa_local_answer(s, sdp, len, "ack");
    if (!sdp || r)
      oa_rollback(s);
    indlg_ack(s, s->dlg, ctx, s->ack_cseq, sdp && !r ? sdp : NULL,
              sdp && !r ? len : 0, now);
    if (ctx && ctx == s->rinv) {
      sipline__ctx_detach(ctx);
      s->rinv = NULL;
    }
    if (!sdp || r || s->hangup_req) {
      /* RFC 3264 §5: an offer that cannot be answered ends the call. */
      s->end_reason = sdp && !r ? "hangup" : "sdp_refused";
      if (indlg_bye(s, now) != 0)
        sess_end(s, 0, s->end_reason, now);
      return r;
    }
    st_arm(s, now);
    sess_event(s, "confirmed", 0);
    return 0;
  }
  case W_PRACK:
    if (sdp)
      r = oa_local_answer(s, sdp, len, "prack");
    if (!sdp || r) {
      oa_rollback(s);
      s->hangup_req = 1;
      if (s->inv)
        sipline__ctx_cancel(s->inv, now);
      return r;
    }
    return indlg_prack(s, s->dlg, s->ack_cseq, s->inv_cseq, sdp, len, now);
  case W_UPDATE:
    stx = s->upd_stx;
    s->upd_stx = NULL;
    break;
  case W_REINVITE:
    stx = s->rinv_stx;
    s->rinv_stx = NULL;
    break;
  case W_PRACK_REQ:
    stx = s->prack_stx;
    s->prack_stx = NULL;
    break;
  default:
    return SIPLINE_ERR_STATE;
  }
  if (!stx) {
    oa_rollback(s);
    return SIPLINE_ERR_STATE;
  }
  sipline__stx_set_handler(stx, NULL, NULL);
  if (sdp)
    r = oa_local_answer(s, sdp, len, w == W_UPDATE     ? "update"
                                     : w == W_REINVITE ? "2xx"
                                                       : "prack");
  if (!sdp || r) {
    oa_rollback(s);
    if (sipline__stx_reply(stx, 488, NULL, now) != 0)
      sipline__stx_abandon(stx, now);
    sess_event(s, "offer_refused", 488);
    return r;
  }
  if (w == W_REINVITE)
    r = uas_send_2xx(s, stx, s->rinv_rx_cseq, sdp, len, now);
  else
    r = sess_reply_2xx(s, stx, sdp, len, now);
  if (w == W_UPDATE)
    st_arm(s, now);
  return r;
}

/* ------------------------------------------------------------------ */
/* requests received */

static void hold_for_answer(sess *s, sipline__stx *stx, sdp_wait w,
                            sipline_tstamp now) {
  sipline__stx_set_handler(stx, sess_stx_cb, s);
  s->wait = w;
  sipline__timer_arm(&s->m->ua->timers, &s->t_sdp, now + SESS_SDP_WAIT_MS);
}

/*
 * What an UPDATE and a re-INVITE share once glare is ruled out: Min-SE
 * (422), the target refresh, and an offer held for the application's
 * answer (w says which). 1 when the request is answered or held, 0 when
 * it carries no offer and the caller answers it.
 */
static int take_request(sess *s, sipline__dialog *d, sipline__stx *stx,
                        const sipline_msg *req, int has, sdp_wait w,
                        sipline_tstamp now) {
  uint32_t mse;
  if (st_on_request(s, req, &mse) == 422) {
    sess_reply_422(s, stx, mse, now);
    return 1;
  }
  sipline__dialog_refresh_target(d, req);
  if (!has)
    return 0;
  const char *via = w == W_UPDATE ? "update" : "reinvite";
  int e = oa_remote_offer(s, req->body.p, req->body.len, via);
  if (e) {
    /* not SDP: RFC 3261 §21.4.26 488 (the session stays as it was) */
    if (e == SIPLINE_ERR_MALFORMED)
      sipline__stx_reply(stx, 488, "Malformed SDP", now);
    else
      sipline__stx_reply(stx, 500, NULL, now);
    return 1;
  }
  *(w == W_UPDATE ? &s->upd_stx : &s->rinv_stx) = stx;
  hold_for_answer(s, stx, w, now);
  sess_event(s, w == W_UPDATE ? "update_rx" : "reinvite_rx", 0);
  return 1;
}

static void rx_update(sess *s, sipline__dialog *d, sipline__stx *stx,
                      const sipline_msg *req, sipline_tstamp now) {
  int has = msg_has_sdp(req);
  if (has) {
    if (s->oa.st == OA_LOCAL_OFFER || !s->oa.done) {
      sess_reply_glare(s, stx, 491, now);
      sess_event(s, "glare_rx", 491);
      return;
    }
    if (s->oa.st == OA_REMOTE_OFFER) {
      sess_reply_glare(s, stx, 500, now);
      return;
    }
  }
  if (take_request(s, d, stx, req, has, W_UPDATE, now))
    return;
  sess_reply_2xx(s, stx, NULL, 0, now);
  st_arm(s, now);
  sess_event(s, "refresh_rx", 0);
}

static void rx_reinvite(sess *s, sipline__dialog *d, sipline__stx *stx,
                        const sipline_msg *req, sipline_tstamp now) {
  int has = msg_has_sdp(req);
  if (s->rinv || (has && s->oa.st == OA_LOCAL_OFFER)) {
    sess_reply_glare(s, stx, 491, now); /* §14.2: our INVITE crosses it */
    sess_event(s, "glare_rx", 491);
    return;
  }
  if (s->rinv_stx || s->inv_stx || s->x2xx.headers ||
      s->oa.st == OA_REMOTE_OFFER || s->state != SIPLINE_CALL_CONFIRMED) {
    sess_reply_glare(s, stx, 500, now);
    return;
  }
  s->rinv_rx_cseq = req->cseq;
  if (take_request(s, d, stx, req, has, W_REINVITE, now))
    return;
  /* No offer (RFC 6337 §5.2.4): ours goes in the 2xx, the session as it
   * is; the answer comes in the ACK. */
  if (s->oa.local &&
      oa_local_offer(s, s->oa.local, s->oa.local_len, "2xx") != 0) {
    sipline__stx_reply(stx, 500, NULL, now);
    return;
  }
  if (uas_send_2xx(s, stx, req->cseq, s->oa.offer, s->oa.offer_len, now) !=
      0) {
    oa_rollback(s);
    return;
  }
  sess_event(s, "reinvite_rx", 0);
}

int sess_dialog_rx(void *owner, sipline__dialog *d, sipline__stx *stx,
                   const sipline_msg *req, const sipline_path *path,
                   sipline_tstamp now) {
  sess *s = owner;
  (void)path;
  if (req->method == SIPLINE_METHOD_ACK) {
    uas_on_ack(s, req, now);
    return 1;
  }
  if (!stx)
    return 0;
  if (d != s->dlg && d->confirmed == 0)
    s->dlg = d; /* a request in one of our early dialogs: that one */
  switch (req->method) {
  case SIPLINE_METHOD_BYE:
    sipline__stx_reply(stx, 200, NULL, now);
    sess_end(s, 0, "remote_bye", now);
    return 1;
  case SIPLINE_METHOD_UPDATE:
    rx_update(s, d, stx, req, now);
    return 1;
  case SIPLINE_METHOD_INVITE:
    rx_reinvite(s, d, stx, req, now);
    return 1;
  case SIPLINE_METHOD_PRACK:
    uas_on_prack(s, stx, req, now);
    return 1;
  case SIPLINE_METHOD_INFO:
    sipline__stx_reply(stx, 200, NULL, now);
    sess_event(s, "info_rx", 0);
    return 1;
  case SIPLINE_METHOD_OPTIONS:
    sess_reply_2xx(s, stx, NULL, 0, now);
    return 1;
  default: {
    sipline__resp r = {.status = 501,
                       .headers = "Allow: " SIPLINE__ALLOW "\r\n"};
    if (sipline__stx_respond(stx, &r, now) != 0)
      sipline__stx_abandon(stx, now);
    return 1;
  }
  }
}
