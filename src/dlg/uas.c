/*
 * src/dlg/uas.c: the incoming INVITE (RFC 3261 §13.3): an incoming call
 * event, the application's 1xx/2xx or refusal, CANCEL (487), the 2xx sent
 * again at T1, 2·T1, ... T2 until its ACK, and a BYE after 64·T1 without
 * one (§13.3.1.4); reliable provisional responses (RFC 3262 §3) sent again
 * until their PRACK, the PRACK itself, and the ACK.
 */
#include <stdio.h>
#include <string.h>

#include "dlg/sess.h"

/* ------------------------------------------------------------------ */
/* responses kept and sent again */

static int resend_saved(saved_rsp *r, const char *to_tag, sipline_tstamp now) {
  if (!r->stx)
    return SIPLINE_ERR_STATE;
  sipline__resp rsp = {.status = r->status,
                       .to_tag = to_tag,
                       .headers = r->headers,
                       .content_type = r->body ? "application/sdp" : NULL,
                       .body = r->body,
                       .body_len = r->body_len};
  return sipline__stx_respond(r->stx, &rsp, now);
}

/* Keeps a copy of what was sent; 0 or NOMEM. */
static int save(sess *s, saved_rsp *r, sipline__stx *stx, int status,
                const sipline__buf *hdrs, const char *body, size_t len) {
  saved_free(s, r);
  const sipline_mem *mem = s->m->ua->mem;
  r->headers = sipline__strndup(mem, hdrs->p ? hdrs->p : "", hdrs->len);
  r->body = len ? sipline__strndup(mem, body, len) : NULL;
  if (!r->headers || (len && !r->body)) {
    saved_free(s, r);
    return SIPLINE_ERR_NOMEM;
  }
  r->body_len = len;
  r->stx = stx;
  r->status = status;
  return 0;
}

static sipline_tstamp t1(const sess *s) { return s->m->ua->txl.tv.t1; }
static sipline_tstamp t2(const sess *s) { return s->m->ua->txl.tv.t2; }

/* The next resend, or the give-up at 64*T1 when that comes first. */
static sipline_tstamp next_at(const sess *s, const saved_rsp *r,
                              sipline_tstamp now) {
  sipline_tstamp end = r->started + 64 * t1(s);
  return now + r->interval < end ? now + r->interval : end;
}

void uas_x2xx_cb(sipline__timer *t, void *arg, sipline_tstamp now) {
  sess *s = arg;
  saved_rsp *r = &s->x2xx;
  if (now - r->started >= 64 * t1(s)) {
    /* §13.3.1.4: no ACK: the dialog ends with a BYE. */
    saved_free(s, r);
    if (s->oa.st == OA_LOCAL_OFFER)
      oa_rollback(s);
    s->end_reason = "no_ack";
    if (indlg_bye(s, now) != 0)
      sess_end(s, 0, "no_ack", now);
    return;
  }
  resend_saved(r, s->ltag, now);
  r->interval = r->interval * 2 < t2(s) ? r->interval * 2 : t2(s);
  sipline__timer_arm(&s->m->ua->timers, t, next_at(s, r, now));
}

void uas_rel_cb(sipline__timer *t, void *arg, sipline_tstamp now) {
  sess *s = arg;
  saved_rsp *r = &s->rel;
  if (now - r->started >= 64 * t1(s)) {
    /* RFC 3262 §3: no PRACK: the INVITE is refused with a 5xx. */
    saved_free(s, r);
    uas_reject(s, 504, now);
    return;
  }
  resend_saved(r, s->ltag, now);
  r->interval *= 2; /* §3: the interval doubles, with no T2 cap */
  sipline__timer_arm(&s->m->ua->timers, t, next_at(s, r, now));
}

/* The handler of every server transaction a session holds. */
void sess_stx_cb(void *arg, sipline__stx *stx, sipline__stx_evt what,
                 sipline_tstamp now) {
  sess *s = arg;
  if (what == SIPLINE__STX_GONE || what == SIPLINE__STX_TPERR) {
    int initial = stx == s->inv_stx;
    sipline__stx **held[] = {&s->inv_stx, &s->rinv_stx, &s->upd_stx,
                             &s->prack_stx, &s->x2xx.stx, &s->rel.stx};
    for (size_t i = 0; i < SIPLINE__ARRAY_LEN(held); i++)
      if (*held[i] == stx)
        *held[i] = NULL;
    /* After TPERR the transaction still says GONE: not to us, who may be
     * freed below (found by fuzz_top_recv: a use-after-free). */
    if (what == SIPLINE__STX_TPERR)
      sipline__stx_set_handler(stx, NULL, NULL);
    if (initial)
      sess_end(s, 0, what == SIPLINE__STX_TPERR ? "transport" : "gone", now);
    return;
  }
  if (what != SIPLINE__STX_CANCELLED)
    return;
  if (stx == s->inv_stx) {
    s->inv_stx = NULL;
    s->rel.stx = NULL;
    sipline__stx_set_handler(stx, NULL, NULL);
    if (sipline__stx_reply(stx, 487, NULL, now) != 0)
      sipline__stx_abandon(stx, now);
    sess_end(s, 487, "cancelled", now);
  } else if (stx == s->rinv_stx) {
    /* A re-INVITE cancelled: the session stays as it was (§14.2). */
    s->rinv_stx = NULL;
    sipline__stx_set_handler(stx, NULL, NULL);
    if (sipline__stx_reply(stx, 487, NULL, now) != 0)
      sipline__stx_abandon(stx, now);
    if (s->wait == W_REINVITE) {
      s->wait = W_NONE;
      sipline__timer_cancel(&s->m->ua->timers, &s->t_sdp);
      oa_rollback(s);
    }
    sess_event(s, "reinvite_cancelled", 487);
  }
}

/* ------------------------------------------------------------------ */
/* replies shared with indlg.c */

int sess_reply_2xx(sess *s, sipline__stx *stx, const char *body, size_t len,
                   sipline_tstamp now) {
  sipline__buf h;
  sipline__buf_init(&h, s->m->ua->mem);
  sess_append_caps(s, &h);
  st_append_response(s, &h);
  int r = h.err;
  if (!r) {
    sipline__resp rsp = {.status = 200,
                         .to_tag = s->ltag,
                         .headers = h.p,
                         .content_type = len ? "application/sdp" : NULL,
                         .body = len ? body : NULL,
                         .body_len = len};
    r = sipline__stx_respond(stx, &rsp, now);
  }
  sipline__buf_free(&h);
  if (r)
    sipline__stx_abandon(stx, now);
  return r;
}

void sess_reply_glare(sess *s, sipline__stx *stx, int status,
                      sipline_tstamp now) {
  char hdr[48] = "";
  if (status == 500) /* RFC 3311 §5.2, RFC 3261 §14.2: 0..10 s */
    snprintf(hdr, sizeof hdr, "Retry-After: %u\r\n",
             (unsigned)sipline__ua_random(s->m->ua, 11));
  sipline__resp rsp = {.status = status,
                       .to_tag = s->ltag,
                       .headers = hdr[0] ? hdr : NULL};
  if (sipline__stx_respond(stx, &rsp, now) != 0)
    sipline__stx_abandon(stx, now);
}

void sess_reply_422(sess *s, sipline__stx *stx, uint32_t min_se,
                    sipline_tstamp now) {
  char hdr[32];
  snprintf(hdr, sizeof hdr, "Min-SE: %u\r\n", min_se);
  sipline__resp rsp = {.status = 422, .to_tag = s->ltag, .headers = hdr};
  if (sipline__stx_respond(stx, &rsp, now) != 0)
    sipline__stx_abandon(stx, now);
}

int uas_send_2xx(sess *s, sipline__stx *stx, uint32_t cseq, const char *body,
                 size_t len, sipline_tstamp now) {
  sipline__buf h;
  sipline__buf_init(&h, s->m->ua->mem);
  sess_append_caps(s, &h);
  st_append_response(s, &h);
  int r = h.err;
  if (!r)
    r = save(s, &s->x2xx, stx, 200, &h, body, len);
  sipline__buf_free(&h);
  if (!r)
    r = resend_saved(&s->x2xx, s->ltag, now);
  if (r) {
    saved_free(s, &s->x2xx);
    return r;
  }
  s->x2xx.cseq = cseq;
  s->x2xx.started = now;
  s->x2xx.interval = t1(s);
  sipline__stx_set_handler(stx, sess_stx_cb, s);
  /* Over TCP/TLS too: the 2xx is the TU's to repeat (§13.3.1.4), but only
   * an unreliable transport loses it. */
  if (!sipline__tp_reliable(sipline__stx_path(stx)->tp))
    sipline__timer_arm(&s->m->ua->timers, &s->x2xx.t, now + s->x2xx.interval);
  else
    sipline__timer_arm(&s->m->ua->timers, &s->x2xx.t, now + 64 * t1(s));
  return 0;
}

/* ------------------------------------------------------------------ */
/* the incoming INVITE */

/* The line whose user the Request-URI names; 0 when none (or a single
 * line, which takes everything). */
static unsigned line_of(sipline_ua *ua, const sipline_msg *req) {
  unsigned n = sipline_ua_line_count(ua);
  for (unsigned i = 1; i <= n; i++) {
    const sipline_line_cfg *c = sipline__ua_line_cfg(ua, i);
    if (c && c->user_id && *c->user_id &&
        sipline_pl_eq(req->ruri.user, sipline_pl_str(c->user_id)))
      return i;
  }
  return n == 1 ? 1 : 0;
}

int uas_on_invite(dlg_mod *m, sipline__stx *stx, const sipline_msg *req,
                  const sipline_path *path, sipline_tstamp now) {
  sipline_ua *ua = m->ua;
  if (ua->shutting_down) {
    sipline__stx_reply(stx, 503, NULL, now);
    return 1;
  }
  unsigned line = line_of(ua, req);
  if (!line) {
    sipline__stx_reply(stx, 404, NULL, now);
    return 1;
  }
  sess *s = sess_new(m, line, 0);
  if (!s)
    return SIPLINE_ERR_NOMEM;
  s->state = SIPLINE_CALL_INCOMING;
  s->inv_rx_cseq = req->cseq;
  snprintf(s->peer, sizeof s->peer, "%.*s", (int)req->from.uri_raw.len,
           req->from.uri_raw.p ? req->from.uri_raw.p : "");
  s->tgt.path = *path;
  sipline_addr_format(&path->remote, s->tgt.server, sizeof s->tgt.server);
  sipline__ua_new_tag(ua, s->ltag);
  snprintf(s->callid, sizeof s->callid, "%.*s",
           (int)(req->call_id.len < SIPLINE__CALLID_LEN ? req->call_id.len
                                                         : SIPLINE__CALLID_LEN),
           req->call_id.p);
  s->peer_100rel = msg_lists(req, SIPLINE_HDR_REQUIRE, "100rel")     ? 2
                   : msg_lists(req, SIPLINE_HDR_SUPPORTED, "100rel") ? 1
                                                                     : 0;
  if (msg_lists(req, SIPLINE_HDR_ALLOW, "UPDATE"))
    s->peer_update = 1;
  else if (sipline_msg_hdr(req, SIPLINE_HDR_ALLOW, 0))
    s->peer_update = 0;
  uint32_t mse = 0;
  if (st_on_request(s, req, &mse) == 422) {
    sess_reply_422(s, stx, mse, now);
    sess_link(s);
    sess_end(s, 422, "session_interval_too_small", now);
    return 1;
  }
  int e = sipline__dialog_uas(ua, line, req, sipline__stx_path(stx), s->ltag,
                              &s->dlg);
  if (e) {
    sess_link(s);
    sipline__stx_reply(stx, e == SIPLINE_ERR_NOMEM ? 500 : 400, NULL, now);
    sess_end(s, 0, "bad_request", now);
    return 1;
  }
  sipline__dialog_set_rx(s->dlg, sess_dialog_rx, s);
  s->inv_stx = stx;
  sipline__stx_set_handler(stx, sess_stx_cb, s);
  sess_link(s);
  sess_event(s, "incoming", 0);
  if (msg_has_sdp(req)) {
    int oe = oa_remote_offer(s, req->body.p, req->body.len, "invite");
    if (oe == SIPLINE_ERR_MALFORMED) {
      uas_reject(s, 488, now);
      return 1;
    }
    if (oe == 0)
      s->wait = W_INVITE;
  }
  return 1;
}

int uas_answer(sess *s, const sipline_call_answer *a, sipline_tstamp now) {
  if (s->uac || !s->inv_stx || sipline__stx_is_final(s->inv_stx))
    return SIPLINE_ERR_STATE;
  int status = a->status ? a->status : 200;
  if (status <= 100 || status >= 300)
    return SIPLINE_ERR_INVAL;
  const char *sdp = a->sdp_len ? a->sdp : NULL;
  size_t len = sdp ? a->sdp_len : 0;
  sipline__buf h;
  int r;
  if (status < 200) {
    int reliable = s->peer_100rel == 2 || (a->reliable && s->peer_100rel);
    if (reliable && s->rel.stx)
      return SIPLINE_ERR_STATE; /* §3: one unacknowledged at a time */
    const char *via = "1xx";
    if (sdp) {
      if (s->oa.st == OA_REMOTE_OFFER) {
        if (reliable)
          r = oa_local_answer(s, sdp, len, via);
        else
          r = oa_set_preview(s, sdp, len); /* early media, §13.3.1.1 */
      } else if (s->oa.st == OA_IDLE && !s->oa.done && reliable) {
        r = oa_local_offer(s, sdp, len, via);
      } else {
        return SIPLINE_ERR_INVAL;
      }
      if (r)
        return r;
      if (s->wait == W_INVITE && s->oa.st != OA_REMOTE_OFFER)
        s->wait = W_NONE;
    }
    sipline__buf_init(&h, s->m->ua->mem);
    sess_append_caps(s, &h);
    if (reliable)
      sipline__buf_printf(&h, "Require: 100rel\r\nRSeq: %u\r\n", ++s->rseq);
    if (a->headers)
      sipline__buf_append_str(&h, a->headers);
    r = h.err;
    if (!r && reliable) {
      r = save(s, &s->rel, s->inv_stx, status, &h, sdp, len);
      if (!r) {
        s->rel.rseq = s->rseq;
        s->rel.cseq = s->inv_rx_cseq;
        s->rel.started = now;
        s->rel.interval = t1(s);
        r = resend_saved(&s->rel, s->ltag, now);
        if (!r && !sipline__tp_reliable(sipline__stx_path(s->inv_stx)->tp))
          sipline__timer_arm(&s->m->ua->timers, &s->rel.t,
                             now + s->rel.interval);
        else if (!r)
          sipline__timer_arm(&s->m->ua->timers, &s->rel.t, now + 64 * t1(s));
      }
    } else if (!r) {
      sipline__resp rsp = {.status = status,
                           .to_tag = s->ltag,
                           .headers = h.p,
                           .content_type = sdp ? "application/sdp" : NULL,
                           .body = sdp,
                           .body_len = len};
      r = sipline__stx_respond(s->inv_stx, &rsp, now);
    }
    sipline__buf_free(&h);
    if (r)
      return r;
    char reason[32];
    snprintf(reason, sizeof reason, "status:%d", status);
    sess_set_state(s, SIPLINE_CALL_EARLY, reason, status);
    return 0;
  }
  /* 2xx */
  if (s->oa.st == OA_LOCAL_OFFER)
    return SIPLINE_ERR_STATE; /* RFC 3262 §3: wait for the PRACK's answer */
  if (s->oa.st == OA_REMOTE_OFFER) {
    if (!sdp && s->oa.preview) {
      sdp = s->oa.preview; /* §13.3.1.1: the 2xx repeats the early answer */
      len = s->oa.preview_len;
    }
    if (!sdp)
      return SIPLINE_ERR_INVAL;
    r = oa_local_answer(s, sdp, len, "2xx");
  } else if (!s->oa.done) {
    if (!sdp)
      return SIPLINE_ERR_INVAL; /* the 2xx must carry the offer */
    r = oa_local_offer(s, sdp, len, "2xx");
  } else {
    /* the exchange completed in a reliable 1xx/PRACK: repeat our SDP */
    sdp = s->oa.local;
    len = s->oa.local_len;
    r = 0;
  }
  if (r)
    return r;
  /* sdp may point into the preview; the copy in x2xx is made first */
  sipline__stx *stx = s->inv_stx;
  r = uas_send_2xx(s, stx, s->inv_rx_cseq, sdp, len, now);
  if (r)
    return r;
  s->wait = W_NONE;
  s->inv_stx = NULL;
  if (s->rel.stx) {
    s->rel.stx = NULL;
    saved_free(s, &s->rel);
  }
  s->dlg->confirmed = 1;
  sess_set_state(s, SIPLINE_CALL_CONNECTING, "answered", 200);
  return 0;
}

int uas_reject(sess *s, int status, sipline_tstamp now) {
  return uas_refuse(s, status, NULL, NULL, now);
}

int uas_refuse(sess *s, int status, const char *headers, const char *why,
               sipline_tstamp now) {
  if (s->uac || !s->inv_stx || sipline__stx_is_final(s->inv_stx))
    return SIPLINE_ERR_STATE;
  if (!status)
    status = 486;
  if (status < 300 || status > 699)
    return SIPLINE_ERR_INVAL;
  sipline__stx *stx = s->inv_stx;
  s->inv_stx = NULL;
  s->rel.stx = NULL;
  sipline__stx_set_handler(stx, NULL, NULL);
  sipline__resp rsp = {.status = status,
                       .to_tag = s->ltag,
                       .headers = headers && *headers ? headers : NULL};
  if (sipline__stx_respond(stx, &rsp, now) != 0)
    sipline__stx_abandon(stx, now);
  char reason[32];
  snprintf(reason, sizeof reason, "rejected:%d", status);
  sess_end(s, status, why ? why : reason, now);
  return 0;
}

/* ------------------------------------------------------------------ */
/* PRACK and ACK received */

/* RAck: response-num CSeq-num Method (RFC 3262 §7.2). */
static int parse_rack(const sipline_msg *req, uint32_t *rseq, uint32_t *cseq) {
  const sipline_hdr *h = sipline_msg_hdr(req, SIPLINE_HDR_RACK, 0);
  if (!h)
    return SIPLINE_ERR_NOTFOUND;
  sipline_pl v = sipline_pl_trim(h->value);
  uint64_t x[2];
  for (int i = 0; i < 2; i++) {
    size_t n = 0;
    while (n < v.len && v.p[n] >= '0' && v.p[n] <= '9')
      n++;
    if (sipline_pl_u64((sipline_pl){v.p, n}, 0xffffffffu, &x[i]) != 0)
      return SIPLINE_ERR_MALFORMED;
    v = sipline_pl_trim((sipline_pl){v.p + n, v.len - n});
  }
  if (!sipline_pl_casecmp_str(v, "INVITE"))
    return SIPLINE_ERR_MALFORMED;
  *rseq = (uint32_t)x[0];
  *cseq = (uint32_t)x[1];
  return 0;
}

void uas_on_prack(sess *s, sipline__stx *stx, const sipline_msg *req,
                  sipline_tstamp now) {
  uint32_t rseq, cseq;
  if (parse_rack(req, &rseq, &cseq) != 0 || !s->rel.status ||
      rseq != s->rel.rseq || cseq != s->rel.cseq) {
    sipline__stx_reply(stx, 481, NULL, now); /* §3: no match */
    return;
  }
  s->rel.stx = NULL;
  saved_free(s, &s->rel);
  s->rel.status = 0;
  int has = msg_has_sdp(req);
  if (has && s->oa.st == OA_LOCAL_OFFER) {
    oa_remote_answer(s, req->body.p, req->body.len, "prack");
  } else if (has && s->oa.st == OA_IDLE && s->oa.done) {
    /* A new offer in the PRACK (RFC 3262 §5): answered in its 200. */
    int e = oa_remote_offer(s, req->body.p, req->body.len, "prack");
    if (e == SIPLINE_ERR_MALFORMED) {
      sipline__stx_reply(stx, 488, "Malformed SDP", now);
      return;
    }
    if (e == 0) {
      s->prack_stx = stx;
      sipline__stx_set_handler(stx, sess_stx_cb, s);
      s->wait = W_PRACK_REQ;
      sipline__timer_arm(&s->m->ua->timers, &s->t_sdp, now + SESS_SDP_WAIT_MS);
      sess_event(s, "prack_rx", 0);
      return;
    }
  } else if (has) {
    sess_reply_glare(s, stx, s->oa.st == OA_LOCAL_OFFER ? 491 : 500, now);
    return;
  }
  sess_reply_2xx(s, stx, NULL, 0, now);
  sess_event(s, "prack_rx", 0);
}

void uas_on_ack(sess *s, const sipline_msg *req, sipline_tstamp now) {
  if (!s->x2xx.headers || req->cseq != s->x2xx.cseq)
    return; /* a late or duplicate ACK */
  if (s->x2xx.stx)
    sipline__stx_set_handler(s->x2xx.stx, NULL, NULL);
  s->x2xx.stx = NULL;
  saved_free(s, &s->x2xx);
  if (s->oa.st == OA_LOCAL_OFFER) {
    /* our offer went in the 2xx: the ACK must answer it (RFC 3264 §5) */
    if (msg_has_sdp(req)) {
      oa_remote_answer(s, req->body.p, req->body.len, "ack");
    } else {
      oa_rollback(s);
      if (s->state == SIPLINE_CALL_CONNECTING)
        s->state = SIPLINE_CALL_CONFIRMED;
      s->end_reason = "no_sdp_answer";
      if (indlg_bye(s, now) != 0)
        sess_end(s, 0, "no_sdp_answer", now);
      return;
    }
  }
  if (s->state == SIPLINE_CALL_CONNECTING) {
    sess_set_state(s, SIPLINE_CALL_CONFIRMED, "ack", 0);
    if (s->hangup_req && indlg_bye(s, now) != 0)
      sess_end(s, 0, "hangup", now);
  }
  if (s->state == SIPLINE_CALL_CONFIRMED)
    st_arm(s, now);
}
