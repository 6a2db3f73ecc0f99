/*
 * src/dlg/call.c: the dlg module: sessions, events, the public calls, and
 * the outgoing INVITE (RFC 3261 §13.2, forking §13.2.2.4, CANCEL §9.1,
 * 100rel §4 of RFC 3262 on the UAC side). See sess.h for the other files.
 *
 * An outgoing call is one Call-ID and local tag for the whole attempt, the
 * CSeq growing with every request (a resend to another server after a
 * timeout is a new INVITE of the same call, RFC 3261 §8.1.3.1). The first
 * hop a call is set up on is copied into the call, and its dialog keeps its
 * route set and target, never looked up again (R13).
 */
#include <stdio.h>
#include <string.h>

#include "dlg/sess.h"

/* ------------------------------------------------------------------ */
/* small helpers */

const sipline_line_cfg *sess_cfg(const sess *s) {
  static const sipline_line_cfg none = {.session_expires = 0, .min_se = 90};
  const sipline_line_cfg *c = sipline__ua_line_cfg(s->m->ua, s->line);
  return c ? c : &none;
}

int msg_lists(const sipline_msg *m, sipline_hdr_id id, const char *token) {
  for (unsigned k = 0;; k++) {
    const sipline_hdr *h = sipline_msg_hdr(m, id, k);
    if (!h)
      return 0;
    sipline_pl rest = h->value, item;
    while (sipline_list_next(&rest, &item) == 1)
      if (sipline_pl_casecmp_str(sipline_pl_trim(item), token))
        return 1;
  }
}

void sess_append_caps(sess *s, sipline__buf *b) {
  sipline_transport tp = s->dlg ? s->dlg->path.tp : s->tgt.path.tp;
  sipline__buf_append_str(b, "Contact: ");
  sipline__ua_append_contact_uri(s->m->ua, b, s->line, tp);
  sipline__buf_append_str(b, "\r\nAllow: " SIPLINE__ALLOW "\r\n"
                             "Supported: " SIPLINE__SUPPORTED "\r\n");
}

int sess_take_challenge(sess *s, const sipline_msg *rsp) {
  const sipline_line_cfg *lc = sipline__ua_line_cfg(s->m->ua, s->line);
  if (s->challenges >= 2 || !lc || !lc->password || !*lc->password)
    return 0;
  if (!s->auth) {
    const char *user = lc->use_auth_id && lc->auth_id && *lc->auth_id
                           ? lc->auth_id
                           : lc->user_id;
    sipline_auth_client_cfg ac = {.username = user ? user : "",
                                  .password = lc->password};
    if (sipline_auth_client_new(&s->auth, &ac, s->m->ua->mem) != 0)
      return 0;
  }
  if (sipline_auth_client_on_response(s->auth, rsp) != 0)
    return 0;
  s->challenges++;
  return 1;
}

/* ------------------------------------------------------------------ */
/* events and the life of a session */

const char *sipline_call_state_name(sipline_call_state st) {
  switch (st) {
  case SIPLINE_CALL_CALLING:
    return "calling";
  case SIPLINE_CALL_INCOMING:
    return "incoming";
  case SIPLINE_CALL_EARLY:
    return "early";
  case SIPLINE_CALL_CONNECTING:
    return "connecting";
  case SIPLINE_CALL_CONFIRMED:
    return "confirmed";
  case SIPLINE_CALL_ENDING:
    return "ending";
  case SIPLINE_CALL_ENDED:
    return "ended";
  default:
    return "none";
  }
}

void sess_event(sess *s, const char *reason, int status) {
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_CALL, s->line);
  ev.id = s->id;
  ev.status = status;
  ev.call_state = (int)s->state;
  sipline__event_str(ev.state, sizeof ev.state, "%s",
                     sipline_call_state_name(s->state));
  sipline__event_str(ev.server, sizeof ev.server, "%s", s->tgt.server);
  sipline__event_str(ev.text, sizeof ev.text, "%s", s->peer);
  if (reason)
    sipline__event_str(ev.reason, sizeof ev.reason, "%s", reason);
  if (s->se && s->state == SIPLINE_CALL_CONFIRMED)
    ev.expires = s->se;
  sipline__ua_emit(s->m->ua, &ev);
}

void sess_set_state(sess *s, sipline_call_state st, const char *reason,
                    int status) {
  s->state = st;
  sess_event(s, reason, status);
}

static unsigned line_calls(const dlg_mod *m, unsigned line) {
  unsigned n = 0;
  for (const sess *s = m ? m->calls : NULL; s; s = s->next)
    n += s->line == line;
  return n;
}

void saved_free(sess *s, saved_rsp *r) {
  sipline__timer_cancel(&s->m->ua->timers, &r->t);
  sipline_mem_free(s->m->ua->mem, r->headers);
  sipline_mem_free(s->m->ua->mem, r->body);
  r->headers = r->body = NULL;
  r->body_len = 0;
  r->stx = NULL;
}

void sess_cancel_timers(sess *s) {
  sipline__theap *h = &s->m->ua->timers;
  sipline__timer_cancel(h, &s->t_retry);
  sipline__timer_cancel(h, &s->t_sdp);
  sipline__timer_cancel(h, &s->t_st);
  sipline__timer_cancel(h, &s->x2xx.t);
  sipline__timer_cancel(h, &s->rel.t);
}

/* Lets go of a held server transaction: a final answer if it has none. */
static void release_stx(sipline__stx **p, int status, sipline_tstamp now) {
  sipline__stx *stx = *p;
  *p = NULL;
  if (!stx)
    return;
  sipline__stx_set_handler(stx, NULL, NULL);
  if (!sipline__stx_is_final(stx) &&
      sipline__stx_reply(stx, status, NULL, now) != 0)
    sipline__stx_abandon(stx, now);
}

static void sess_free(sess *s, sipline_tstamp now) {
  const sipline_mem *mem = s->m->ua->mem;
  sess_cancel_timers(s);
  sipline__ctx **ctxs[] = {&s->inv, &s->rinv, &s->upd, &s->bye, &s->ack_ctx};
  for (size_t i = 0; i < SIPLINE__ARRAY_LEN(ctxs); i++)
    if (*ctxs[i]) {
      sipline__ctx_detach(*ctxs[i]);
      *ctxs[i] = NULL;
    }
  /* Held requests: an INVITE not answered gets 487, others 481. */
  release_stx(&s->inv_stx, 487, now);
  release_stx(&s->rinv_stx, 487, now);
  release_stx(&s->upd_stx, 481, now);
  release_stx(&s->prack_stx, 481, now);
  if (s->x2xx.stx)
    sipline__stx_set_handler(s->x2xx.stx, NULL, NULL);
  if (s->rel.stx)
    sipline__stx_set_handler(s->rel.stx, NULL, NULL);
  saved_free(s, &s->x2xx);
  saved_free(s, &s->rel);
  for (unsigned i = 0; i < s->n_early; i++)
    if (s->early[i] != s->dlg)
      sipline__dialog_del(s->early[i]);
  sipline__dialog_del(s->dlg);
  sipline_auth_client_del(s->auth);
  oa_free(s);
  sipline_mem_free(mem, s->xheaders);
  sipline_mem_free(mem, s->end_headers);
  sipline_mem_free(mem, s->inv_offer);
  sipline_mem_free(mem, s->retry_sdp);
  sipline_mem_free(mem, s);
}

void sess_end(sess *s, int status, const char *reason, sipline_tstamp now) {
  if (s->ending)
    return;
  s->ending = 1;
  dlg_mod *m = s->m;
  unsigned line = s->line;
  for (sess **pp = &m->calls; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  s->state = SIPLINE_CALL_ENDED;
  sess_event(s, reason, status);
  sess_free(s, now);
  if (!line_calls(m, line))
    sipline__ua_line_idle(m->ua, line, now);
}

static sess *find(dlg_mod *m, unsigned id) {
  for (sess *s = m ? m->calls : NULL; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static void on_sdp_wait(sipline__timer *t, void *arg, sipline_tstamp now);

void sess_timer_init(sess *s) {
  /* Every timer once, here: re-initialising an armed timer would leave a
   * stale entry in the heap. */
  sipline__timer_init(&s->t_sdp, on_sdp_wait, s);
  sipline__timer_init(&s->t_st, st_timer_cb, s);
  sipline__timer_init(&s->t_retry, indlg_retry_cb, s);
  sipline__timer_init(&s->x2xx.t, uas_x2xx_cb, s);
  sipline__timer_init(&s->rel.t, uas_rel_cb, s);
}

/* The application did not answer a remote offer in time. */
static void on_sdp_wait(sipline__timer *t, void *arg, sipline_tstamp now) {
  sess *s = arg;
  (void)t;
  sipline__ua_warn(s->m->ua, s->line, "sdp_timeout",
                   "call %u: no answer to the remote offer", s->id);
  indlg_sdp(s, NULL, 0, now);
}

sess *sess_new(dlg_mod *m, unsigned line, int uac) {
  sipline_ua *ua = m->ua;
  sess *s = sipline_mem_calloc(ua->mem, 1, sizeof *s);
  if (!s)
    return NULL;
  s->m = m;
  s->id = ++m->next_id ? m->next_id : ++m->next_id;
  s->line = line;
  s->uac = (uint8_t)uac;
  s->peer_update = -1;
  s->st_due = SIPLINE_TSTAMP_NONE;
  sess_timer_init(s);
  return s;
}

void sess_link(sess *s) {
  s->next = s->m->calls;
  s->m->calls = s;
}

/* ------------------------------------------------------------------ */
/* the outgoing INVITE */

static void on_inv(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now);

/* The initial INVITE (and its resends), with the engine's one builder. */
static int send_invite(sess *s, sipline_tstamp now) {
  sipline_ua *ua = s->m->ua;
  char branch[SIPLINE__BRANCH_LEN + 1];
  sipline__buf b, extra;
  sipline__buf_init(&b, ua->mem);
  sipline__buf_init(&extra, ua->mem);
  sipline__ua_new_branch(ua, branch);
  s->inv_cseq = ++s->cseq;
  s->inv_answered = 0;
  if (s->prack_mode == SIPLINE_100REL_REQUIRED)
    sipline__buf_append_str(&extra, "Require: 100rel\r\n");
  st_append_request(s, &extra, 1);
  if (s->xheaders)
    sipline__buf_append_str(&extra, s->xheaders);
  sipline__req_spec spec = {
      .method = SIPLINE_PL("INVITE"),
      .ruri = {.uri = sipline_pl_str(s->ruri)},
      .line = s->line,
      .tp = s->tgt.path.tp,
      .branch = branch,
      .from = {.display = sipline_pl_str(s->ldisp),
               .uri = {.uri = sipline_pl_str(s->luri)},
               .tag = sipline_pl_str(s->ltag)},
      .to = {.uri = {.uri = sipline_pl_str(s->ruri)}},
      .call_id = sipline_pl_str(s->callid),
      .cseq = s->inv_cseq,
      .flags = SIPLINE__REQ_CONTACT | SIPLINE__REQ_ALLOW |
               SIPLINE__REQ_SUPPORTED,
      .extra = {extra.p, extra.len},
      .auth = s->auth,
      .content_type = SIPLINE_PL("application/sdp"),
      .body = {s->inv_offer, s->inv_offer_len}};
  int r = extra.err ? extra.err : sipline__req_build(ua, &spec, &b);
  if (!r) {
    sipline__ctx_params p = {
        .path = &s->tgt.path, .req = b.p, .len = b.len, .cb = on_inv,
        .arg = s};
    r = sipline__ua_request(ua, &p, now, &s->inv);
  }
  sipline__buf_free(&b);
  sipline__buf_free(&extra);
  return r;
}

/* Forgets the early dialogs (all but keep). */
static void drop_early(sess *s, sipline__dialog *keep) {
  for (unsigned i = 0; i < s->n_early; i++)
    if (s->early[i] != keep)
      sipline__dialog_del(s->early[i]);
  s->n_early = 0;
  if (s->dlg != keep) {
    /* s->dlg was one of the early ones, freed above */
    s->dlg = keep;
  }
}

/*
 * After a failed INVITE: the alternate with Dual Registration (R4), else
 * wherever reg now sends the line's requests (R7: the failed request is
 * resent to the next server). 1 when resent.
 */
static int resend(sess *s, int err, sipline_tstamp now) {
  sipline_ua *ua = s->m->ua;
  sipline__target t;
  if (s->attempts + 1 >= SESS_MAX_ATTEMPTS || s->hangup_req)
    return 0;
  if (err == SIPLINE_ERR_TIMEOUT && !s->tried_alt &&
      sipline__ua_line_alt_target(ua, s->line, &t) == 0 &&
      strcmp(t.server, s->tgt.server) != 0) {
    s->tried_alt = 1;
  } else if (sipline__ua_line_target(ua, s->line, &t) != 0 ||
             strcmp(t.server, s->tgt.server) == 0) {
    return 0;
  }
  s->tgt = t;
  s->attempts++;
  s->challenges = 0;
  drop_early(s, NULL);
  if (send_invite(s, now) != 0)
    return 0;
  s->state = SIPLINE_CALL_CALLING;
  sess_event(s, "resent", 0);
  return 1;
}

/* The early dialog of a 1xx/2xx, made when its To tag is new. */
static sipline__dialog *dialog_of(sess *s, const sipline_msg *rsp) {
  for (unsigned i = 0; i < s->n_early; i++)
    if (sipline_pl_eq(rsp->to.tag, sipline_pl_str(s->early[i]->rtag)))
      return s->early[i];
  if (s->dlg && s->dlg->confirmed &&
      sipline_pl_eq(rsp->to.tag, sipline_pl_str(s->dlg->rtag)))
    return s->dlg;
  return NULL;
}

sipline__dialog *sess_new_dialog(sess *s, const sipline_msg *rsp) {
  sipline__dialog_uac_params p = {.line = s->line,
                                  .call_id = s->callid,
                                  .ltag = s->ltag,
                                  .ldisp = s->ldisp,
                                  .luri = s->luri,
                                  .ruri = s->ruri,
                                  .lcseq = s->inv_cseq,
                                  .path = &s->tgt.path,
                                  .rx = sess_dialog_rx,
                                  .owner = s};
  sipline__dialog *d = NULL;
  if (sipline__dialog_uac(s->m->ua, &p, rsp, &d) != 0)
    return NULL;
  return d;
}

/* A 1xx to the initial INVITE. */
static void on_provisional(sess *s, const sipline_msg *rsp,
                           sipline_tstamp now) {
  if (rsp->status == 100 || !rsp->to.tag.len)
    return;
  sipline__dialog *d = dialog_of(s, rsp);
  if (!d) {
    if (s->n_early == SESS_MAX_EARLY || !(d = sess_new_dialog(s, rsp)))
      return; /* too many forks: this one stays without a dialog */
    s->early[s->n_early++] = d;
  } else {
    sipline__dialog_refresh_target(d, rsp);
  }
  s->dlg = d;
  if (msg_lists(rsp, SIPLINE_HDR_ALLOW, "UPDATE"))
    s->peer_update = 1;
  int reliable = msg_lists(rsp, SIPLINE_HDR_REQUIRE, "100rel") &&
                 sipline_msg_hdr(rsp, SIPLINE_HDR_RSEQ, 0) &&
                 s->prack_mode != SIPLINE_100REL_OFF;
  int has_sdp = msg_has_sdp(rsp);
  char reason[32];
  snprintf(reason, sizeof reason, "status:%d", rsp->status);
  if (reliable) {
    uint64_t rseq = 0;
    const sipline_hdr *h = sipline_msg_hdr(rsp, SIPLINE_HDR_RSEQ, 0);
    if (sipline_pl_u64(sipline_pl_trim(h->value), 0xffffffffu, &rseq) != 0 ||
        !rseq)
      return;
    /* RFC 3262 §4: in order only; a retransmission is not PRACKed again. */
    if (s->rseq_acked && rseq != (uint64_t)s->rseq_acked + 1)
      return;
    s->rseq_acked = (uint32_t)rseq;
    sess_set_state(s, SIPLINE_CALL_EARLY, reason, rsp->status);
    if (has_sdp && s->oa.st == OA_LOCAL_OFFER) {
      oa_remote_answer(s, rsp->body.p, rsp->body.len, "1xx");
    } else if (has_sdp && s->oa.st == OA_IDLE && !s->oa.done) {
      /* An offer in a reliable 1xx to an INVITE without one: the answer
       * goes in the PRACK, once the application gives it. */
      if (oa_remote_offer(s, rsp->body.p, rsp->body.len, "1xx") == 0) {
        s->wait = W_PRACK;
        s->ack_cseq = (uint32_t)rseq;
        sipline__timer_arm(&s->m->ua->timers, &s->t_sdp,
                           now + SESS_SDP_WAIT_MS);
        return;
      }
    }
    indlg_prack(s, d, (uint32_t)rseq, s->inv_cseq, NULL, 0, now);
    return;
  }
  if (has_sdp && s->oa.st == OA_LOCAL_OFFER)
    oa_set_preview(s, rsp->body.p, rsp->body.len); /* early media */
  if (s->state != SIPLINE_CALL_EARLY || rsp->status != 100)
    sess_set_state(s, SIPLINE_CALL_EARLY, reason, rsp->status);
}

/* A 2xx to the initial INVITE (the first, a retransmission or a fork). */
static void on_2xx(sess *s, sipline__ctx *ctx, const sipline_msg *rsp,
                   sipline_tstamp now) {
  sipline__dialog *d = dialog_of(s, rsp);
  if (s->state == SIPLINE_CALL_CONFIRMED || s->state == SIPLINE_CALL_ENDING ||
      (s->dlg && s->dlg->confirmed)) {
    if (d && d == s->dlg)
      return; /* a retransmission: the transaction re-sends our ACK */
    indlg_drop_fork(s, ctx, rsp, now); /* §13.2.2.4: ACK and BYE it */
    return;
  }
  if (!rsp->to.tag.len) {
    /* No dialog can be made: ACK per the transaction, nothing else. */
    sess_end(s, rsp->status, "no_to_tag", now);
    return;
  }
  if (!d) {
    d = sess_new_dialog(s, rsp);
    if (!d) {
      sess_end(s, rsp->status, "nomem", now);
      return;
    }
  } else {
    sipline__dialog_confirm(d, rsp);
  }
  d->confirmed = 1;
  d->lcseq = s->inv_cseq > d->lcseq ? s->inv_cseq : d->lcseq;
  drop_early(s, d);
  s->dlg = d;
  if (msg_lists(rsp, SIPLINE_HDR_ALLOW, "UPDATE"))
    s->peer_update = 1;
  else if (sipline_msg_hdr(rsp, SIPLINE_HDR_ALLOW, 0))
    s->peer_update = 0;
  s->peer_timer = msg_lists(rsp, SIPLINE_HDR_SUPPORTED, "timer") ||
                  msg_lists(rsp, SIPLINE_HDR_REQUIRE, "timer");
  st_on_2xx(s, rsp, 1);
  s->state = SIPLINE_CALL_CONFIRMED;
  int has_sdp = msg_has_sdp(rsp);
  if (s->oa.st == OA_LOCAL_OFFER) {
    if (has_sdp) {
      oa_remote_answer(s, rsp->body.p, rsp->body.len, "2xx");
    } else if (s->oa.preview) {
      oa_remote_answer(s, s->oa.preview, s->oa.preview_len, "1xx");
    } else {
      /* RFC 3261 §13.2.1 wants the answer here. A peer without media (a
       * test registrar, a signalling-only gateway) still gets a call: it
       * stays up with no agreed session, and the application is told. */
      oa_rollback(s);
      sipline__ua_warn(s->m->ua, s->line, "no_sdp_answer",
                       "call %u: the 2xx carries no SDP answer", s->id);
    }
  } else if (s->oa.st == OA_IDLE && !s->oa.done) {
    if (has_sdp &&
        oa_remote_offer(s, rsp->body.p, rsp->body.len, "2xx") == 0) {
      /* The answer goes in the ACK: hold it for the application. */
      s->ack_ctx = ctx;
      s->ack_cseq = s->inv_cseq;
      s->wait = W_ACK;
      sipline__timer_arm(&s->m->ua->timers, &s->t_sdp,
                         now + SESS_SDP_WAIT_MS);
      sess_event(s, "answered", rsp->status);
      return;
    }
    sipline__ua_warn(s->m->ua, s->line, "no_sdp_offer",
                     "call %u: the 2xx to an INVITE without an offer carries "
                     "none",
                     s->id);
  }
  indlg_ack(s, d, ctx, s->inv_cseq, NULL, 0, now);
  sess_event(s, "answered", rsp->status);
  if (s->hangup_req) {
    if (indlg_bye(s, now) != 0)
      sess_end(s, 0, "hangup", now);
    return;
  }
  st_arm(s, now);
}

/* A new INVITE of the call carries the initial offer again (after a
 * challenge, a 422 or a failover): whatever an early dialog did with the
 * last one is forgotten. 0, or the error of making the offer. */
static int reoffer(sess *s) {
  oa_rollback(s);
  return s->inv_offer
             ? oa_local_offer(s, s->inv_offer, s->inv_offer_len, "invite")
             : 0;
}

static void on_inv(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now) {
  sess *s = arg;

  sipline_ua *ua = s->m->ua;
  if (!rsp) {
    s->inv = NULL; /* the handle is gone after this call */
    if (s->ack_ctx == ctx)
      s->ack_ctx = NULL;
    if (!err || s->state == SIPLINE_CALL_CONFIRMED ||
        s->state == SIPLINE_CALL_ENDING)
      return; /* the end of the Accepted state */
    if (s->hangup_req && s->inv_answered && err == SIPLINE_ERR_TIMEOUT) {
      /* The server answered, then our CANCEL went and no final response
       * came (RFC 3261 §9.1): the end the hangup asked for. */
      sess_end(s, 0, "cancelled", now);
      return;
    }
    /* R5a/R5c: no response at all (Timer B) or a transport error is a
     * server failure even when the call was hung up meanwhile; reg may
     * fail over, and resend() does not resend a hung-up call. */
    sipline__ua_request_failed(ua, s->line, &s->tgt, err, now);
    if (!s->inv_answered && resend(s, err, now))
      return;
    sess_end(s, 0, err == SIPLINE_ERR_TIMEOUT ? "timeout" : "transport", now);
    return;
  }
  s->inv_answered = 1;
  if (rsp->status < 200) {
    if (s->state == SIPLINE_CALL_CALLING || s->state == SIPLINE_CALL_EARLY)
      on_provisional(s, rsp, now);
    return;
  }
  if (rsp->status < 300) {
    on_2xx(s, ctx, rsp, now);
    return;
  }
  s->inv = NULL;
  if (s->state != SIPLINE_CALL_CALLING && s->state != SIPLINE_CALL_EARLY)
    return;
  if ((rsp->status == 401 || rsp->status == 407) && !s->hangup_req &&
      sess_take_challenge(s, rsp)) {
    drop_early(s, NULL);
    if (reoffer(s) == 0 && send_invite(s, now) == 0)
      return;
  }
  if (rsp->status == 422 && !s->hangup_req && !s->tried_422 &&
      st_on_422(s, rsp)) {
    s->tried_422 = 1;
    drop_early(s, NULL);
    if (reoffer(s) == 0 && send_invite(s, now) == 0) {
      sess_event(s, "session_interval_raised", 422);
      return;
    }
  }
  char reason[32];
  snprintf(reason, sizeof reason, "status:%d", rsp->status);
  /* R5b: reg fails over when the code is in Try Backup RSC; the INVITE
   * follows (R7). */
  sipline__ua_request_failed(ua, s->line, &s->tgt, rsp->status, now);
  if (rsp->status != 487 && rsp->status != 422 && resend(s, 0, now)) {
    reoffer(s);
    return;
  }
  sess_end(s, rsp->status, s->hangup_req ? "cancelled" : reason, now);
}

/* ------------------------------------------------------------------ */
/* the public calls */

static int prefix_caseeq(const char *p, const char *lower, size_t k) {
  for (size_t i = 0; i < k; i++) {
    char c = p[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c != lower[i])
      return 0;
  }
  return 1;
}

static int valid_headers(const char *h) {
  if (!h || !*h)
    return 1;
  size_t n = strlen(h);
  if (n > 4096 || n < 2 || h[n - 2] != '\r' || h[n - 1] != '\n')
    return 0;
  /* every line "Name: value" CRLF; no blank line (it would end the
   * headers) and none of the headers the UA writes itself */
  static const char *const own[] = {
      "via:",           "from:",           "to:",     "call-id:",
      "cseq:",          "content-length:", "contact:", "max-forwards:",
      "content-type:", "v:", "f:", "t:", "i:", "l:", "m:", "c:"};
  const char *p = h;
  while (*p) {
    const char *e = strstr(p, "\r\n");
    if (!e || e == p || *p == ' ' || *p == '\t' || !memchr(p, ':', (size_t)(e - p)))
      return 0;
    for (const char *q = p; q < e; q++)
      if (*q == '\r' || *q == '\n' || *q == 0)
        return 0;
    for (size_t i = 0; i < SIPLINE__ARRAY_LEN(own); i++) {
      size_t k = strlen(own[i]);
      if ((size_t)(e - p) >= k && prefix_caseeq(p, own[i], k))
        return 0;
    }
    p = e + 2;
  }
  return 1;
}

int sipline__dlg_call(sipline_ua *ua, const sipline_call_params *cp,
                      unsigned *call_id, sipline_tstamp now) {
  dlg_mod *m = sipline__ua_module_state(ua, "dlg");
  if (!m)
    return SIPLINE_ERR_STATE;
  sipline__ua_set_now(ua, now);
  const char *to = cp ? cp->to : NULL;
  if (!to || !*to || strlen(to) >= 128 || strpbrk(to, "\r\n<> \"") ||
      (cp->sdp_len && !cp->sdp) || cp->sdp_len > 65536 ||
      !valid_headers(cp->headers))
    return SIPLINE_ERR_INVAL;
  const sipline_line_cfg *lc = sipline__ua_line_cfg(ua, cp->line);
  if (!lc)
    return SIPLINE_ERR_NOTFOUND;
  if (ua->shutting_down)
    return SIPLINE_ERR_STATE;
  sipline__target t;
  /* R4, R1: where the line's new requests go now. */
  if (sipline__ua_line_target(ua, cp->line, &t) != 0)
    return SIPLINE_ERR_NOTFOUND;
  sess *s = sess_new(m, cp->line, 1);
  if (!s)
    return SIPLINE_ERR_NOMEM;
  s->state = SIPLINE_CALL_CALLING;
  s->tgt = t;
  s->prack_mode = cp->prack;
  snprintf(s->peer, sizeof s->peer, "%s", to);
  if (!strncmp(to, "sip:", 4) || !strncmp(to, "sips:", 5) ||
      !strncmp(to, "tel:", 4))
    snprintf(s->ruri, sizeof s->ruri, "%s", to);
  else if (strchr(to, '@'))
    snprintf(s->ruri, sizeof s->ruri, "sip:%s", to);
  else
    snprintf(s->ruri, sizeof s->ruri, "sip:%s@%s", to, t.domain);
  /* From: "Display" <sip:user@domain> (the AOR's host, R2) */
  char host[136];
  sipline__ua_aor_host(t.domain, host, sizeof host);
  int r = 0;
  int n = lc->user_id && *lc->user_id
              ? snprintf(s->luri, sizeof s->luri, "sip:%s@%s", lc->user_id,
                         host)
              : snprintf(s->luri, sizeof s->luri, "sip:%s", host);
  if (n < 0 || (size_t)n >= sizeof s->luri)
    r = SIPLINE_ERR_TOOBIG;
  if (lc->display_name)
    snprintf(s->ldisp, sizeof s->ldisp, "%s", lc->display_name);
  sipline__ua_new_callid(ua, s->callid);
  sipline__ua_new_tag(ua, s->ltag);
  if (!r && cp->headers && *cp->headers &&
      !(s->xheaders = sipline__strdup(ua->mem, cp->headers)))
    r = SIPLINE_ERR_NOMEM;
  if (!r && cp->sdp_len) {
    s->inv_offer = sipline__strndup(ua->mem, cp->sdp, cp->sdp_len);
    s->inv_offer_len = cp->sdp_len;
    if (!s->inv_offer)
      r = SIPLINE_ERR_NOMEM;
  }
  sess_link(s);
  if (call_id)
    *call_id = s->id;
  sess_event(s, NULL, 0);
  if (!r && s->inv_offer)
    r = oa_local_offer(s, s->inv_offer, s->inv_offer_len, "invite");
  if (!r)
    r = send_invite(s, now);
  if (r) {
    sess_end(s, 0, "failed", now);
    return r;
  }
  return 0;
}

static sess *get(sipline_ua *ua, unsigned id, sipline_tstamp now) {
  sipline__ua_set_now(ua, now);
  return find(sipline__ua_module_state(ua, "dlg"), id);
}

/* The call id names and an SDP argument that is coherent (a length needs
 * bytes): 0 with *out set, NOTFOUND or INVAL. */
static int get_sdp_call(sipline_ua *ua, unsigned id, const char *sdp,
                        size_t len, sipline_tstamp now, sess **out) {
  *out = get(ua, id, now);
  if (!*out)
    return SIPLINE_ERR_NOTFOUND;
  return len && !sdp ? SIPLINE_ERR_INVAL : 0;
}

int sipline__dlg_answer(sipline_ua *ua, unsigned id,
                        const sipline_call_answer *a, sipline_tstamp now) {
  sess *s = get(ua, id, now);
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  if (!a || (a->sdp_len && !a->sdp) || !valid_headers(a->headers))
    return SIPLINE_ERR_INVAL;
  return uas_answer(s, a, now);
}

int sipline__dlg_reject(sipline_ua *ua, unsigned id, int status,
                        sipline_tstamp now) {
  sess *s = get(ua, id, now);
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  return uas_reject(s, status, now);
}

int sipline__dlg_update(sipline_ua *ua, unsigned id, const char *sdp,
                        size_t len, sipline_tstamp now) {
  sess *s;
  int e = get_sdp_call(ua, id, sdp, len, now, &s);
  return e ? e : indlg_update(s, sdp, len, 0, now);
}

int sipline__dlg_reinvite(sipline_ua *ua, unsigned id, const char *sdp,
                          size_t len, sipline_tstamp now) {
  sess *s;
  int e = get_sdp_call(ua, id, sdp, len, now, &s);
  return e ? e : indlg_reinvite(s, sdp, len, 0, now);
}

int sipline__dlg_sdp(sipline_ua *ua, unsigned id, const char *sdp, size_t len,
                     sipline_tstamp now) {
  sess *s;
  int e = get_sdp_call(ua, id, sdp, len, now, &s);
  return e ? e : indlg_sdp(s, sdp, len, now);
}

int sipline__dlg_hangup(sipline_ua *ua, unsigned id, sipline_tstamp now) {
  sess *s = get(ua, id, now);
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  if (s->state == SIPLINE_CALL_ENDING || s->hangup_req)
    return 0;
  s->hangup_req = 1;
  if (!s->uac && s->inv_stx)
    return uas_reject(s, 603, now);
  if (s->state == SIPLINE_CALL_CALLING || s->state == SIPLINE_CALL_EARLY) {
    /* §9.1: CANCEL (sent once a provisional response has come). */
    if (s->inv)
      sipline__ctx_cancel(s->inv, now);
    return 0;
  }
  if (s->wait == W_ACK) {
    /* An offer in the 2xx was never answered: ACK without, then BYE. */
    indlg_sdp(s, NULL, 0, now);
    return 0;
  }
  if (indlg_bye(s, now) != 0) {
    sess_end(s, 0, "hangup", now);
    return SIPLINE_ERR_NOMEM;
  }
  return 0;
}

static int token_ok(const char *r) {
  size_t n = strlen(r);
  if (n == 0 || n > 31)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= 'A' && r[i] <= 'Z') ||
          (r[i] >= '0' && r[i] <= '9') || strchr("_-.:", r[i])))
      return 0;
  return 1;
}

int sipline__dlg_end(sipline_ua *ua, unsigned id, const sipline_call_end *e,
                     sipline_tstamp now) {
  if (!e || (e->status && (e->status < 300 || e->status > 699)) ||
      !valid_headers(e->headers) || (e->reason && !token_ok(e->reason)))
    return SIPLINE_ERR_INVAL;
  sess *s = get(ua, id, now);
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  if (s->state == SIPLINE_CALL_ENDING || s->hangup_req)
    return 0;
  if (e->reason) {
    snprintf(s->end_why, sizeof s->end_why, "%s", e->reason);
    s->end_reason = s->end_why;
  }
  if (!s->uac && s->inv_stx) {
    s->hangup_req = 1;
    return uas_refuse(s, e->status ? e->status : 603, e->headers,
                      e->reason ? s->end_why : NULL, now);
  }
  if (e->headers && *e->headers) {
    sipline_mem_free(ua->mem, s->end_headers);
    if (!(s->end_headers = sipline__strdup(ua->mem, e->headers)))
      return SIPLINE_ERR_NOMEM;
  }
  return sipline__dlg_hangup(ua, id, now);
}

int sipline__dlg_info(sipline_ua *ua, unsigned id, sipline_call_info *info) {
  sess *s = find(sipline__ua_module_state(ua, "dlg"), id);
  if (!info)
    return SIPLINE_ERR_INVAL;
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  memset(info, 0, sizeof *info);
  info->id = s->id;
  info->line = s->line;
  info->state = s->state;
  info->outgoing = s->uac;
  snprintf(info->peer, sizeof info->peer, "%s", s->peer);
  snprintf(info->server, sizeof info->server, "%s", s->tgt.server);
  /* The dialog's copy is whole; the session's own is cut to our length. */
  snprintf(info->call_id, sizeof info->call_id, "%s",
           s->dlg && s->dlg->call_id ? s->dlg->call_id : s->callid);
  info->session_expires = s->se;
  if (s->se)
    snprintf(info->refresher, sizeof info->refresher, "%s",
             s->st_local ? "local" : "remote");
  info->expires_at = s->se ? s->st_due : SIPLINE_TSTAMP_NONE;
  info->peer_allows_update = s->peer_update == 1;
  info->offer_pending = s->oa.st != OA_IDLE;
  info->local_sdp = s->oa.local ? s->oa.local : "";
  info->local_sdp_len = s->oa.local_len;
  info->remote_sdp = s->oa.remote ? s->oa.remote : "";
  info->remote_sdp_len = s->oa.remote_len;
  return 0;
}

unsigned sipline__dlg_line_calls(const sipline_ua *ua, unsigned line) {
  return line_calls(sipline__ua_module_state(ua, "dlg"), line);
}

/* ------------------------------------------------------------------ */
/* module hooks */

static int m_init(sipline_ua *ua, void **st) {
  dlg_mod *m = sipline_mem_calloc(ua->mem, 1, sizeof *m);
  if (!m)
    return SIPLINE_ERR_NOMEM;
  m->ua = ua;
  *st = m;
  return 0;
}

static void m_del(sipline_ua *ua, void *st) {
  dlg_mod *m = st;
  if (!m)
    return;
  /* No sending here: detach and free (held requests get no answer). */
  while (m->calls) {
    sess *s = m->calls;
    m->calls = s->next;
    sipline__stx **held[] = {&s->inv_stx, &s->rinv_stx, &s->upd_stx,
                             &s->prack_stx, &s->x2xx.stx, &s->rel.stx};
    for (size_t i = 0; i < SIPLINE__ARRAY_LEN(held); i++)
      if (*held[i]) {
        sipline__stx_set_handler(*held[i], NULL, NULL);
        *held[i] = NULL;
      }
    sess_free(s, 0);
  }
  sipline_mem_free(ua->mem, m);
}

static int m_shutdown(sipline_ua *ua, void *st, sipline_tstamp now) {
  dlg_mod *m = st;
  /* Hang up everything. A hangup may end (unlink and free) that call and
   * no other, so the next one is taken first. (A snapshot of ids capped
   * at 256 left the rest of a busy UA's calls up.) */
  for (sess *s = m->calls, *next; s; s = next) {
    next = s->next;
    sipline__dlg_hangup(ua, s->id, now);
  }
  return 0;
}

static int m_is_shut_down(const sipline_ua *ua, void *st) {
  const dlg_mod *m = st;
  (void)ua;
  return m->calls == NULL;
}

static int m_on_request(sipline_ua *ua, void *st, sipline__stx *stx,
                        const sipline_msg *req, const sipline_path *path,
                        sipline_tstamp now) {
  (void)ua;
  if (!stx || req->method != SIPLINE_METHOD_INVITE || req->to.tag.len)
    return 0;
  return uas_on_invite(st, stx, req, path, now);
}

static unsigned m_line_calls(const sipline_ua *ua, void *st, unsigned line) {
  (void)ua;
  return line_calls(st, line);
}

const sipline__module sipline__dlg_module = {
    .name = "dlg",
    .init = m_init,
    .del = m_del,
    .shutdown = m_shutdown,
    .is_shut_down = m_is_shut_down,
    .on_request = m_on_request,
    .line_calls = m_line_calls,
};
