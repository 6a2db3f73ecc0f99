/*
 * src/dlg/call.c: the minimal INVITE session behind sipline_ua_call and
 * sipline_ua_hangup (see dlg.h for what it does and does not do yet).
 *
 * A call is a UAC INVITE dialog (RFC 3261 §13, §12.1.2): one Call-ID and
 * local tag for the whole attempt, CSeq growing with every request (a
 * resend to another server after a timeout is a new INVITE of the same
 * call, as RFC 3261 §8.1.3.1 allows after a failure). The route a call is
 * set up on is copied into the call and never looked up again (R13), so a
 * failover or fallback of the line does not move it.
 */
#include <stdio.h>
#include <string.h>

#include "dlg/dlg.h"
#include "reg/reg.h"
#include "sipline/auth.h"

/* How many servers one call attempt may try (R4, R7). */
#define DLG_MAX_ATTEMPTS 4

enum { C_CALLING = 1, C_CONFIRMED, C_ENDING };

typedef struct call {
  struct call *next;
  struct dlg_mod *m;
  unsigned id;
  unsigned line;
  int state;
  char to_text[128];   /* what the application asked for */
  char ruri[256];      /* the INVITE's Request-URI and To */
  sipline__target tgt; /* the route the call holds (R13) */
  char callid[SIPLINE__CALLID_LEN + 1];
  char ltag[SIPLINE__TAG_LEN + 1];
  char rtag[96];
  uint32_t cseq;
  uint32_t inv_cseq;
  char target[256];    /* remote target (the 2xx Contact) */
  char *route_set;     /* "Route: <...>\r\n" lines (reversed Record-Route) */
  sipline__ctx *inv;   /* valid until its last callback */
  sipline__ctx *bye;
  sipline_auth_client *auth; /* made on the first 401/407 */
  unsigned attempts;
  unsigned challenges;
  int tried_alt;
  int hangup_req;
  int inv_answered; /* the current INVITE got a response (1xx included) */
} call;

typedef struct dlg_mod {
  sipline_ua *ua;
  call *calls;
  unsigned next_id;
} dlg_mod;

/* ------------------------------------------------------------------ */

static void ev_call(call *c, const char *state, int status,
                    const char *reason) {
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_CALL, c->line);
  ev.id = c->id;
  ev.status = status;
  sipline__event_str(ev.state, sizeof ev.state, "%s", state);
  sipline__event_str(ev.server, sizeof ev.server, "%s", c->tgt.server);
  sipline__event_str(ev.text, sizeof ev.text, "%s", c->to_text);
  if (reason)
    sipline__event_str(ev.reason, sizeof ev.reason, "%s", reason);
  sipline__ua_emit(c->m->ua, &ev);
}

static unsigned line_calls(const dlg_mod *m, unsigned line) {
  unsigned n = 0;
  for (const call *c = m ? m->calls : NULL; c; c = c->next)
    n += c->line == line;
  return n;
}

static void call_free(call *c) {
  const sipline_mem *mem = c->m->ua->mem;
  if (c->inv)
    sipline__ctx_detach(c->inv);
  if (c->bye)
    sipline__ctx_detach(c->bye);
  sipline_auth_client_del(c->auth);
  sipline_mem_free(mem, c->route_set);
  sipline_mem_free(mem, c);
}

/* Ends a call: the event, then the line may become idle (R13). */
static void end_call(call *c, int status, const char *reason,
                     sipline_tstamp now) {
  dlg_mod *m = c->m;
  unsigned line = c->line;
  for (call **pp = &m->calls; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  ev_call(c, "ended", status, reason);
  call_free(c);
  if (!line_calls(m, line))
    sipline__ua_line_idle(m->ua, line, now);
}

static void append_from(call *c, sipline__buf *b) {
  const sipline_line_cfg *lc = sipline__ua_line_cfg(c->m->ua, c->line);
  char host[136];
  sipline__ua_aor_host(c->tgt.domain, host, sizeof host);
  sipline__buf_append_str(b, "From: ");
  if (lc && lc->display_name && *lc->display_name) {
    sipline__buf_append_str(b, "\"");
    for (const char *p = lc->display_name; *p; p++)
      if (*p != '"' && *p != '\\' && *p != '\r' && *p != '\n')
        sipline__buf_append(b, p, 1);
    sipline__buf_append_str(b, "\" ");
  }
  if (lc && lc->user_id && *lc->user_id)
    sipline__buf_printf(b, "<sip:%s@%s>", lc->user_id, host);
  else
    sipline__buf_printf(b, "<sip:%s>", host);
  sipline__buf_printf(b, ";tag=%s\r\n", c->ltag);
}

static void append_to(call *c, sipline__buf *b) {
  sipline__buf_printf(b, "To: <%s>", c->ruri);
  if (c->rtag[0])
    sipline__buf_printf(b, ";tag=%s", c->rtag);
  sipline__buf_append_str(b, "\r\n");
}

/* Credentials for a request, when a challenge was answered before. */
static void append_auth(call *c, sipline__buf *b, const char *method,
                        const char *uri) {
  if (!c->auth || !sipline_auth_client_count(c->auth))
    return;
  char out[2048];
  sipline_auth_req ar = {.method = sipline_pl_str(method),
                         .uri = sipline_pl_str(uri),
                         .body = SIPLINE_PL_NULL,
                         .rng = &c->m->ua->rng};
  ptrdiff_t n = sipline_auth_client_headers(c->auth, &ar, out, sizeof out);
  if (n > 0)
    sipline__buf_append(b, out, (size_t)n);
}

static void append_sdp(call *c, sipline__buf *b) {
  sipline_ua *ua = c->m->ua;
  const char *h = ua->local_host;
  const char *fam = strchr(h, ':') ? "IP6" : "IP4";
  sipline__buf sdp;
  sipline__buf_init(&sdp, ua->mem);
  sipline__buf_printf(&sdp,
                      "v=0\r\no=sipline %u 1 IN %s %s\r\ns=-\r\n"
                      "c=IN %s %s\r\nt=0 0\r\n"
                      "m=audio %u RTP/AVP 0 8\r\n"
                      "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                      "a=sendrecv\r\n",
                      c->id, fam, h, fam, h, 16384u + 2u * (c->id % 8000u));
  sipline__buf_printf(b,
                      "Content-Type: application/sdp\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      sdp.len);
  sipline__buf_append(b, sdp.p, sdp.len);
  if (sdp.err)
    b->err = sdp.err;
  sipline__buf_free(&sdp);
}

static void on_inv(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now);
static void on_bye(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now);

static int send_invite(call *c, sipline_tstamp now) {
  sipline_ua *ua = c->m->ua;
  char branch[SIPLINE__BRANCH_LEN + 1];
  sipline__buf b;
  sipline__buf_init(&b, ua->mem);
  sipline__ua_new_branch(ua, branch);
  c->inv_cseq = ++c->cseq;
  c->inv_answered = 0;
  sipline__buf_printf(&b, "INVITE %s SIP/2.0\r\n", c->ruri);
  sipline__ua_append_via(ua, &b, c->line, c->tgt.path.tp, branch);
  sipline__ua_append_common(ua, &b);
  append_from(c, &b);
  append_to(c, &b);
  sipline__buf_printf(&b, "Call-ID: %s\r\nCSeq: %u INVITE\r\n", c->callid,
                      c->inv_cseq);
  sipline__buf_append_str(&b, "Contact: ");
  sipline__ua_append_contact_uri(ua, &b, c->line, c->tgt.path.tp);
  sipline__buf_append_str(&b, "\r\nAllow: " SIPLINE__ALLOW "\r\n"
                              "Supported: " SIPLINE__SUPPORTED "\r\n");
  append_auth(c, &b, "INVITE", c->ruri);
  append_sdp(c, &b);
  if (b.err) {
    sipline__buf_free(&b);
    return SIPLINE_ERR_NOMEM;
  }
  sipline__ctx_params p = {.path = &c->tgt.path,
                           .req = b.p,
                           .len = b.len,
                           .cb = on_inv,
                           .arg = c};
  int r = sipline__ua_request(ua, &p, now, &c->inv);
  sipline__buf_free(&b);
  return r;
}

/* An in-dialog request line and the headers every one of them has. */
static void dialog_request(call *c, sipline__buf *b, const char *method,
                           uint32_t cseq) {
  sipline_ua *ua = c->m->ua;
  char branch[SIPLINE__BRANCH_LEN + 1];
  sipline__ua_new_branch(ua, branch);
  sipline__buf_printf(b, "%s %s SIP/2.0\r\n", method,
                      c->target[0] ? c->target : c->ruri);
  sipline__ua_append_via(ua, b, c->line, c->tgt.path.tp, branch);
  if (c->route_set)
    sipline__buf_append_str(b, c->route_set);
  sipline__ua_append_common(ua, b);
  append_from(c, b);
  append_to(c, b);
  sipline__buf_printf(b, "Call-ID: %s\r\nCSeq: %u %s\r\n", c->callid, cseq,
                      method);
}

static int send_bye(call *c, sipline_tstamp now) {
  sipline_ua *ua = c->m->ua;
  sipline__buf b;
  sipline__buf_init(&b, ua->mem);
  dialog_request(c, &b, "BYE", ++c->cseq);
  append_auth(c, &b, "BYE", c->target[0] ? c->target : c->ruri);
  sipline__buf_append_str(&b, "Content-Length: 0\r\n\r\n");
  if (b.err) {
    sipline__buf_free(&b);
    return SIPLINE_ERR_NOMEM;
  }
  /* R13: on the path the call was set up on, whatever the line does. */
  sipline__ctx_params p = {.path = &c->tgt.path,
                           .req = b.p,
                           .len = b.len,
                           .cb = on_bye,
                           .arg = c};
  int r = sipline__ua_request(ua, &p, now, &c->bye);
  sipline__buf_free(&b);
  if (r == 0)
    c->state = C_ENDING;
  return r;
}

/* Record-Route (reversed) and Contact of a 2xx (RFC 3261 §12.1.2). */
static void take_dialog(call *c, const sipline_msg *rsp) {
  sipline_ua *ua = c->m->ua;
  snprintf(c->rtag, sizeof c->rtag, "%.*s", (int)rsp->to.tag.len,
           rsp->to.tag.p ? rsp->to.tag.p : "");
  const sipline_hdr *h = sipline_msg_hdr(rsp, SIPLINE_HDR_CONTACT, 0);
  if (h) {
    sipline_pl rest = h->value, item;
    sipline_nameaddr na;
    if (sipline_list_next(&rest, &item) == 1 &&
        sipline_nameaddr_parse(item, &na) == 0 && na.uri_raw.len &&
        na.uri_raw.len < sizeof c->target)
      snprintf(c->target, sizeof c->target, "%.*s", (int)na.uri_raw.len,
               na.uri_raw.p);
  }
  /* Collect the Record-Route values in order, then write them reversed. */
  sipline_pl rr[16];
  unsigned n = 0;
  for (unsigned k = 0; n < 16; k++) {
    const sipline_hdr *r = sipline_msg_hdr(rsp, SIPLINE_HDR_RECORD_ROUTE, k);
    if (!r)
      break;
    sipline_pl rest = r->value, item;
    while (n < 16 && sipline_list_next(&rest, &item) == 1)
      rr[n++] = item;
  }
  if (!n)
    return;
  sipline__buf b;
  sipline__buf_init(&b, ua->mem);
  while (n--) {
    sipline__buf_append_str(&b, "Route: ");
    sipline__buf_append_pl(&b, rr[n]);
    sipline__buf_append_str(&b, "\r\n");
  }
  sipline__buf_append(&b, "", 1);
  if (!b.err) {
    size_t len;
    c->route_set = sipline__buf_steal(&b, &len);
  }
  sipline__buf_free(&b);
}

static void send_ack(call *c, sipline__ctx *ctx, sipline_tstamp now) {
  sipline_ua *ua = c->m->ua;
  sipline__buf b;
  sipline__buf_init(&b, ua->mem);
  dialog_request(c, &b, "ACK", c->inv_cseq);
  sipline__buf_append_str(&b, "Content-Length: 0\r\n\r\n");
  if (!b.err)
    sipline__ctx_ack_2xx(ctx, &c->tgt.path, b.p, b.len, now);
  sipline__buf_free(&b);
}

/*
 * After a failed INVITE: the alternate with Dual Registration (R4), else
 * wherever reg now sends the line's requests (R7: the failed request is
 * resent to the next server). 1 when resent.
 */
static int resend(call *c, int err, sipline_tstamp now) {
  sipline_ua *ua = c->m->ua;
  sipline__target t;
  const sipline__reg_api *api = sipline__reg_api_of(ua);
  if (c->attempts + 1 >= DLG_MAX_ATTEMPTS || c->hangup_req)
    return 0;
  if (err == SIPLINE_ERR_TIMEOUT && !c->tried_alt && api &&
      api->alt_target && api->alt_target(ua, c->line, &t) == 0 &&
      strcmp(t.server, c->tgt.server) != 0) {
    c->tried_alt = 1;
  } else if (sipline__ua_line_target(ua, c->line, &t) != 0 ||
             strcmp(t.server, c->tgt.server) == 0) {
    return 0;
  }
  c->tgt = t;
  c->attempts++;
  c->challenges = 0;
  if (send_invite(c, now) != 0)
    return 0;
  ev_call(c, "calling", 0, "resent");
  return 1;
}

/* Answers a 401/407 once per request (RFC 3261 §22.2). */
static int take_challenge(call *c, const sipline_msg *rsp) {
  const sipline_line_cfg *lc = sipline__ua_line_cfg(c->m->ua, c->line);
  if (c->challenges >= 2 || !lc || !lc->password || !*lc->password)
    return 0;
  if (!c->auth) {
    const char *user = lc->use_auth_id && lc->auth_id && *lc->auth_id
                           ? lc->auth_id
                           : lc->user_id;
    sipline_auth_client_cfg ac = {.username = user ? user : "",
                                  .password = lc->password};
    if (sipline_auth_client_new(&c->auth, &ac, c->m->ua->mem) != 0)
      return 0;
  }
  if (sipline_auth_client_on_response(c->auth, rsp) != 0)
    return 0;
  c->challenges++;
  return 1;
}

static void on_inv(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now) {
  call *c = arg;
  sipline_ua *ua = c->m->ua;
  if (!rsp) {
    c->inv = NULL; /* the handle is gone after this call */
    if (!err || c->state != C_CALLING)
      return; /* the end of the Accepted state */
    if (c->hangup_req && c->inv_answered && err == SIPLINE_ERR_TIMEOUT) {
      /* The server answered, then our CANCEL went and no final response
       * came (RFC 3261 §9.1): that is the end the hangup asked for, not a
       * server that gives no response. */
      end_call(c, 0, "cancelled", now);
      return;
    }
    /* R5a/R5c: no response at all (Timer B) or a transport error is a
     * server failure even when the call was hung up meanwhile (no CANCEL
     * went: §9.1 waits for a provisional response); reg may fail over.
     * resend() does not resend a hung-up call. */
    sipline__ua_request_failed(ua, c->line, &c->tgt, err, now); /* R5 */
    if (resend(c, err, now))
      return;
    end_call(c, 0, err == SIPLINE_ERR_TIMEOUT ? "timeout" : "transport",
             now);
    return;
  }
  if (c->state == C_CALLING)
    c->inv_answered = 1;
  if (rsp->status < 200)
    return;
  if (rsp->status < 300) {
    if (c->state != C_CALLING)
      return; /* a retransmission: the transaction re-sends our ACK */
    c->state = C_CONFIRMED;
    take_dialog(c, rsp);
    send_ack(c, ctx, now);
    /* The transaction answers retransmissions of this 2xx with our ACK on
     * its own; we let go of it now rather than hold the handle through the
     * Accepted state (a TCP close there ends it without a report). */
    sipline__ctx_detach(ctx);
    c->inv = NULL;
    ev_call(c, "confirmed", rsp->status, NULL);
    if (c->hangup_req && send_bye(c, now) != 0)
      end_call(c, 0, "hangup", now);
    return;
  }
  c->inv = NULL;
  if (c->state != C_CALLING)
    return;
  if ((rsp->status == 401 || rsp->status == 407) && !c->hangup_req &&
      take_challenge(c, rsp) && send_invite(c, now) == 0)
    return;
  char reason[32];
  snprintf(reason, sizeof reason, "status:%d", rsp->status);
  /* R5b: reg fails over when the code is in Try Backup RSC; then the
   * INVITE follows (R7). */
  sipline__ua_request_failed(ua, c->line, &c->tgt, rsp->status, now);
  if (rsp->status != 487 && resend(c, 0, now))
    return;
  end_call(c, rsp->status, c->hangup_req ? "cancelled" : reason, now);
}

static void on_bye(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now) {
  call *c = arg;
  (void)ctx;
  if (rsp && rsp->status < 200)
    return;
  c->bye = NULL;
  if (rsp && (rsp->status == 401 || rsp->status == 407) &&
      take_challenge(c, rsp) && send_bye(c, now) == 0)
    return;
  end_call(c, rsp ? rsp->status : 0,
           rsp ? "hangup"
               : (err == SIPLINE_ERR_TIMEOUT ? "hangup_timeout"
                                             : "hangup_transport"),
           now);
}

/* ------------------------------------------------------------------ */
/* module hooks                                                         */

static call *find(dlg_mod *m, unsigned id) {
  for (call *c = m ? m->calls : NULL; c; c = c->next)
    if (c->id == id)
      return c;
  return NULL;
}

static int m_call(sipline_ua *ua, void *st, unsigned line, const char *to,
                  unsigned *call_id, sipline_tstamp now) {
  dlg_mod *m = st;
  sipline__target t;
  if (!to || !*to || strlen(to) >= 128 || strpbrk(to, "\r\n<> \""))
    return SIPLINE_ERR_INVAL;
  if (!sipline__ua_line_cfg(ua, line))
    return SIPLINE_ERR_NOTFOUND;
  if (ua->shutting_down)
    return SIPLINE_ERR_STATE;
  /* R4, R1: where the line's new requests go now. */
  if (sipline__ua_line_target(ua, line, &t) != 0)
    return SIPLINE_ERR_NOTFOUND;
  call *c = sipline_mem_calloc(ua->mem, 1, sizeof *c);
  if (!c)
    return SIPLINE_ERR_NOMEM;
  c->m = m;
  c->id = ++m->next_id ? m->next_id : ++m->next_id;
  c->line = line;
  c->state = C_CALLING;
  c->tgt = t;
  snprintf(c->to_text, sizeof c->to_text, "%s", to);
  if (!strncmp(to, "sip:", 4) || !strncmp(to, "sips:", 5) ||
      !strncmp(to, "tel:", 4))
    snprintf(c->ruri, sizeof c->ruri, "%s", to);
  else if (strchr(to, '@'))
    snprintf(c->ruri, sizeof c->ruri, "sip:%s", to);
  else
    snprintf(c->ruri, sizeof c->ruri, "sip:%s@%s", to, t.domain);
  sipline__ua_new_callid(ua, c->callid);
  sipline__ua_new_tag(ua, c->ltag);
  int r = send_invite(c, now);
  if (r != 0) {
    call_free(c);
    return r;
  }
  c->next = m->calls;
  m->calls = c;
  if (call_id)
    *call_id = c->id;
  ev_call(c, "calling", 0, NULL);
  return 0;
}

static int m_hangup(sipline_ua *ua, void *st, unsigned id,
                    sipline_tstamp now) {
  call *c = find(st, id);
  (void)ua;
  if (!c)
    return SIPLINE_ERR_NOTFOUND;
  if (c->state == C_ENDING || c->hangup_req)
    return 0;
  c->hangup_req = 1;
  if (c->state == C_CALLING) {
    /* §9.1: CANCEL (sent once a provisional response has come). */
    if (c->inv)
      sipline__ctx_cancel(c->inv, now);
    return 0;
  }
  if (send_bye(c, now) != 0) {
    end_call(c, 0, "hangup", now);
    return SIPLINE_ERR_NOMEM;
  }
  return 0;
}

int sipline__dlg_call(sipline_ua *ua, unsigned line, const char *to,
                      unsigned *call_id, sipline_tstamp now) {
  void *st = sipline__ua_module_state(ua, "dlg");
  return st ? m_call(ua, st, line, to, call_id, now) : SIPLINE_ERR_STATE;
}

int sipline__dlg_hangup(sipline_ua *ua, unsigned call_id,
                        sipline_tstamp now) {
  void *st = sipline__ua_module_state(ua, "dlg");
  return st ? m_hangup(ua, st, call_id, now) : SIPLINE_ERR_STATE;
}

unsigned sipline__dlg_line_calls(const sipline_ua *ua, unsigned line) {
  return line_calls(sipline__ua_module_state(ua, "dlg"), line);
}

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
  while (m->calls) {
    call *c = m->calls;
    m->calls = c->next;
    call_free(c);
  }
  sipline_mem_free(ua->mem, m);
}

static int m_shutdown(sipline_ua *ua, void *st, sipline_tstamp now) {
  dlg_mod *m = st;
  /* Hang up everything; end_call unlinks, so walk a snapshot of ids. */
  unsigned ids[64], n = 0;
  for (call *c = m->calls; c && n < 64; c = c->next)
    ids[n++] = c->id;
  for (unsigned i = 0; i < n; i++)
    m_hangup(ua, st, ids[i], now);
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
  dlg_mod *m = st;
  (void)path;
  if (!stx)
    return 0;
  if (req->method == SIPLINE_METHOD_INVITE && !req->to.tag.len) {
    /* No incoming calls yet (a later dialog layer answers them). */
    sipline__stx_reply(stx, 486, NULL, now);
    return 1;
  }
  if (req->method != SIPLINE_METHOD_BYE)
    return 0;
  for (call *c = m->calls; c; c = c->next) {
    if (sipline_pl_casecmp_str(req->call_id, c->callid) &&
        sipline_pl_eq(req->to.tag, sipline_pl_str(c->ltag)) &&
        (!c->rtag[0] ||
         sipline_pl_eq(req->from.tag, sipline_pl_str(c->rtag)))) {
      sipline__stx_reply(stx, 200, NULL, now);
      end_call(c, 0, "remote_bye", now);
      (void)ua;
      return 1;
    }
  }
  return 0;
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
    .call = m_call,
    .hangup = m_hangup,
};
