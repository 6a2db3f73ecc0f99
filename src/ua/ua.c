/*
 * src/ua/ua.c: the engine: creation, the public driving calls (recv,
 * transport_error, pull_tx, deadlines, events, DNS answers, start and
 * shutdown, status) and the dispatch of incoming requests to modules.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ua.h"

static int dup_str(const sipline_mem *mem, char **dst, const char *src) {
  *dst = NULL;
  if (!src)
    return 0;
  *dst = sipline__strdup(mem, src);
  return *dst ? 0 : SIPLINE_ERR_NOMEM;
}

/* ------------------------------------------------------------------ */
/* events */

void sipline__event_init(sipline_event *ev, sipline_event_type type,
                         unsigned line) {
  memset(ev, 0, sizeof(*ev));
  ev->type = type;
  ev->line = line;
  ev->retry_in = SIPLINE_TSTAMP_NONE;
}

void sipline__event_str(char *dst, size_t cap, const char *fmt, ...) {
  if (!cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(dst, cap, fmt, ap);
  va_end(ap);
  if (n < 0)
    dst[0] = 0;
}

/* Doubles the ring (up to ev_max), unwrapping it. 0 or NOMEM. */
static int ev_grow(sipline_ua *ua) {
  unsigned cap = ua->ev_cap ? ua->ev_cap * 2 : 16;
  if (cap > ua->ev_max)
    cap = ua->ev_max;
  if (cap <= ua->ev_cap)
    return SIPLINE_ERR_TOOBIG;
  sipline_event *v = sipline_mem_malloc(ua->mem, (size_t)cap * sizeof(*v));
  if (!v)
    return SIPLINE_ERR_NOMEM;
  for (unsigned i = 0; i < ua->ev_count; i++)
    v[i] = ua->ev[(ua->ev_head + i) % ua->ev_cap];
  sipline_mem_free(ua->mem, ua->ev);
  ua->ev = v;
  ua->ev_cap = cap;
  ua->ev_head = 0;
  return 0;
}

void sipline__ua_emit(sipline_ua *ua, const sipline_event *ev) {
  if (ua->ev_count == ua->ev_cap && ev_grow(ua) != 0) {
    if (!ua->ev_cap) {
      ua->ev_dropped++; /* nothing to drop but this one */
      return;
    }
    /* Full: drop the oldest so the newest (the current state) survives. */
    sipline_mem_free(ua->mem, (char *)ua->ev[ua->ev_head].body);
    ua->ev_head = (ua->ev_head + 1) % ua->ev_cap;
    ua->ev_count--;
    ua->ev_dropped++;
  }
  unsigned i = (ua->ev_head + ua->ev_count) % ua->ev_cap;
  ua->ev[i] = *ev;
  ua->ev[i].t = ua->now;
  ua->ev[i].body = NULL;
  ua->ev[i].body_len = 0;
  ua->ev_count++;
}

void sipline__ua_emit_body(sipline_ua *ua, const sipline_event *ev,
                           const char *body, size_t len) {
  char *copy = len ? sipline__strndup(ua->mem, body, len) : NULL;
  sipline_event e = *ev;
  if (len && !copy)
    sipline__event_str(e.reason, sizeof e.reason, "%s", "body_dropped");
  uint64_t dropped = ua->ev_dropped;
  unsigned before = ua->ev_count;
  sipline__ua_emit(ua, &e);
  if (!copy)
    return;
  if (ua->ev_count == before && ua->ev_dropped == dropped) {
    sipline_mem_free(ua->mem, copy); /* not queued at all */
    return;
  }
  unsigned last = (ua->ev_head + ua->ev_count - 1) % ua->ev_cap;
  ua->ev[last].body = copy;
  ua->ev[last].body_len = len;
}

void sipline__ua_warn(sipline_ua *ua, unsigned line, const char *reason,
                      const char *fmt, ...) {
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_WARNING, line);
  sipline__event_str(ev.reason, sizeof(ev.reason), "%s", reason);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(ev.text, sizeof(ev.text), fmt, ap);
  va_end(ap);
  if (n < 0)
    ev.text[0] = 0;
  sipline__ua_emit(ua, &ev);
}

int sipline_ua_poll_event(sipline_ua *ua, sipline_event *ev) {
  if (!ua || !ev || !ua->ev_count)
    return 0;
  *ev = ua->ev[ua->ev_head];
  /* The body now belongs to the caller's view until the next poll. */
  sipline_mem_free(ua->mem, ua->ev_body_cur);
  ua->ev_body_cur = (char *)ev->body;
  ua->ev[ua->ev_head].body = NULL;
  ua->ev_head = (ua->ev_head + 1) % ua->ev_cap;
  ua->ev_count--;
  /* A burst (one ICMP error failing every line of a fleet at once) grows
   * the ring far past what a quiet UA needs; once drained it is given back
   * rather than kept for good (each entry is ~900 bytes). */
  if (!ua->ev_count && ua->ev_cap > SIPLINE__EV_KEEP) {
    sipline_mem_free(ua->mem, ua->ev);
    ua->ev = NULL;
    ua->ev_cap = 0;
    ua->ev_head = 0;
  }
  return 1;
}

uint64_t sipline_ua_events_dropped(const sipline_ua *ua) {
  return ua ? ua->ev_dropped : 0;
}

const char *sipline_event_name(sipline_event_type t) {
  switch (t) {
  case SIPLINE_EV_REGISTERED:
    return "registered";
  case SIPLINE_EV_UNREGISTERED:
    return "unregistered";
  case SIPLINE_EV_REG_FAILED:
    return "reg_failed";
  case SIPLINE_EV_SERVER_DOWN:
    return "server_down";
  case SIPLINE_EV_SERVER_UP:
    return "server_up";
  case SIPLINE_EV_FAILOVER:
    return "failover";
  case SIPLINE_EV_FALLBACK:
    return "fallback";
  case SIPLINE_EV_CALL:
    return "call";
  case SIPLINE_EV_DNS_QUERY:
    return "dns_query";
  case SIPLINE_EV_EXECUTE:
    return "execute";
  case SIPLINE_EV_NOTIFY:
    return "notify";
  case SIPLINE_EV_AUTH_FAILED:
    return "auth_failed";
  case SIPLINE_EV_KEEPALIVE:
    return "keepalive";
  case SIPLINE_EV_WARNING:
    return "warning";
  case SIPLINE_EV_CALL_SDP:
    return "call_sdp";
  default:
    return "none";
  }
}

const char *sipline_dns_qtype_name(sipline_dns_qtype q) {
  switch (q) {
  case SIPLINE_DNS_A:
    return "A";
  case SIPLINE_DNS_AAAA:
    return "AAAA";
  case SIPLINE_DNS_SRV:
    return "SRV";
  case SIPLINE_DNS_NAPTR:
    return "NAPTR";
  default:
    return "?";
  }
}

/* ------------------------------------------------------------------ */
/* services */

void sipline__ua_new_tag(sipline_ua *ua, char out[SIPLINE__TAG_LEN + 1]) {
  sipline_rng_token(&ua->rng, out, SIPLINE__TAG_LEN);
  out[SIPLINE__TAG_LEN] = 0;
}

void sipline__ua_new_branch(sipline_ua *ua, char out[SIPLINE__BRANCH_LEN + 1]) {
  memcpy(out, "z9hG4bK", 7);
  sipline_rng_token(&ua->rng, out + 7, SIPLINE__BRANCH_LEN - 7);
  out[SIPLINE__BRANCH_LEN] = 0;
}

void sipline__ua_new_callid(sipline_ua *ua, char out[SIPLINE__CALLID_LEN + 1]) {
  sipline_rng_token(&ua->rng, out, SIPLINE__CALLID_LEN);
  out[SIPLINE__CALLID_LEN] = 0;
}

uint64_t sipline__ua_random(sipline_ua *ua, uint64_t bound) {
  return sipline_rng_below(&ua->rng, bound);
}

void sipline__ua_aor_host(const char *domain, char *out, size_t cap) {
  size_t n = strlen(domain);
  const char *c;
  if (domain[0] == '[') {
    const char *rb = strchr(domain, ']');
    if (rb)
      n = (size_t)(rb - domain) + 1;
  } else if ((c = strchr(domain, ':')) != NULL) {
    n = (size_t)(c - domain);
  }
  if (n >= cap)
    n = cap - 1;
  memcpy(out, domain, n);
  out[n] = 0;
}

const sipline_line_cfg *sipline__ua_line_cfg(const sipline_ua *ua,
                                             unsigned line) {
  if (!ua || !ua->profile || line == 0 || line > ua->profile->n_lines)
    return NULL;
  return &ua->profile->lines[line - 1];
}

uint16_t sipline__ua_local_port(const sipline_ua *ua, unsigned line) {
  const sipline_line_cfg *l = sipline__ua_line_cfg(ua, line);
  if (l && l->sip_port)
    return l->sip_port;
  return (uint16_t)(5060 + (line ? line - 1 : 0));
}

int sipline__ua_send(sipline_ua *ua, const sipline_path *path, const void *p,
                     size_t n) {
  return sipline__tp_send(&ua->tp, path, p, n, ua->now);
}

int sipline__ua_request(sipline_ua *ua, const sipline__ctx_params *p,
                        sipline_tstamp now, sipline__ctx **out) {
  return sipline__ctx_new(&ua->txl, p, now, out);
}

int sipline__ua_dns_query(sipline_ua *ua, unsigned line, const char *name,
                          sipline_dns_qtype qtype, unsigned *id) {
  if (!ua || !name)
    return SIPLINE_ERR_INVAL;
  unsigned qid = ++ua->dns_next_id;
  if (!qid)
    qid = ++ua->dns_next_id; /* 0 is never an id */
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_DNS_QUERY, line);
  ev.id = qid;
  ev.qtype = (int)qtype;
  sipline__event_str(ev.text, sizeof(ev.text), "%s", name);
  sipline__ua_emit(ua, &ev);
  if (id)
    *id = qid;
  return 0;
}

int sipline__ua_line_target(sipline_ua *ua, unsigned line, sipline__target *t) {
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->line_target) {
      int r = ua->mods[i].m->line_target(ua, ua->mods[i].st, line, t);
      if (r != SIPLINE_ERR_NOTFOUND)
        return r;
    }
  return SIPLINE_ERR_NOTFOUND;
}

int sipline__ua_line_alt_target(sipline_ua *ua, unsigned line,
                                sipline__target *t) {
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->line_alt_target) {
      int r = ua->mods[i].m->line_alt_target(ua, ua->mods[i].st, line, t);
      if (r != SIPLINE_ERR_NOTFOUND)
        return r;
    }
  return SIPLINE_ERR_NOTFOUND;
}

void sipline__ua_request_failed(sipline_ua *ua, unsigned line,
                                const sipline__target *t, int err_or_status,
                                sipline_tstamp now) {
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->on_request_failed)
      ua->mods[i].m->on_request_failed(ua, ua->mods[i].st, line, t,
                                       err_or_status, now);
}

unsigned sipline__ua_line_calls(const sipline_ua *ua, unsigned line) {
  unsigned n = 0;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->line_calls)
      n += ua->mods[i].m->line_calls(ua, ua->mods[i].st, line);
  return n;
}

void sipline__ua_line_idle(sipline_ua *ua, unsigned line, sipline_tstamp now) {
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->on_line_idle)
      ua->mods[i].m->on_line_idle(ua, ua->mods[i].st, line, now);
}

void *sipline__ua_module_state(const sipline_ua *ua, const char *name) {
  for (unsigned i = 0; ua && i < ua->n_mods; i++)
    if (strcmp(ua->mods[i].m->name, name) == 0)
      return ua->mods[i].st;
  return NULL;
}

/* ------------------------------------------------------------------ */
/* incoming requests */

/* The UAS checks the TU would otherwise trip on (§8.2.2, §8.2.3). */
static int unsupported_require(const sipline_msg *m, sipline__buf *unsup) {
  for (unsigned i = 0; i < m->n_hdrs; i++) {
    if (m->hdrs[i].id != SIPLINE_HDR_REQUIRE)
      continue;
    sipline_pl rest = m->hdrs[i].value, item;
    while (sipline_list_next(&rest, &item) == 1) {
      int known = 0;
      sipline_pl sup = SIPLINE_PL(SIPLINE__SUPPORTED), s;
      while (sipline_list_next(&sup, &s) == 1)
        if (sipline_pl_caseeq(s, item))
          known = 1;
      if (!known) {
        if (unsup->len)
          sipline__buf_append_str(unsup, ", ");
        sipline__buf_append_pl(unsup, item);
      }
    }
  }
  return unsup->len != 0;
}

/* Answers, or ends the transaction when even that fails (no memory). */
static void reply(sipline__stx *stx, const sipline__resp *r,
                  sipline_tstamp now) {
  if (sipline__stx_respond(stx, r, now) != 0)
    sipline__stx_abandon(stx, now);
}

static void reply_status(sipline__stx *stx, int status, sipline_tstamp now) {
  sipline__resp r = {.status = status};
  reply(stx, &r, now);
}

/* A request no dialog and no module took: what the engine answers is
 * decided with sipline-msg in sipline_msg_uas_answer(). */
static void answer_unhandled(sipline_ua *ua, sipline__stx *stx,
                             const sipline_msg *req, sipline_tstamp now) {
  ua->n_rx_unhandled++;
  sipline_msg_error e = {0};
  sipline_msg_uas_answer(req, &e);
  sipline__resp r = {.status = e.status};
  if (e.status == 200) /* OPTIONS */
    r.headers = "Allow: " SIPLINE__ALLOW "\r\n"
                "Accept: " SIPLINE__ACCEPT "\r\n"
                "Accept-Encoding: identity\r\n"
                "Accept-Language: en\r\n"
                "Supported: " SIPLINE__SUPPORTED "\r\n";
  else if (e.status == 405 || e.status == 501)
    r.headers = "Allow: " SIPLINE__ALLOW "\r\n";
  reply(stx, &r, now);
}

static void handle_cancel(sipline_ua *ua, sipline__stx *stx,
                          const sipline_msg *req, sipline_tstamp now) {
  sipline__stx *inv = sipline__txl_find_invite(&ua->txl, req);
  if (!inv) {
    reply_status(stx, 481, now); /* §9.2 */
    return;
  }
  reply_status(stx, 200, now);
  if (sipline__stx_is_final(inv))
    return; /* too late: no effect */
  if (!sipline__stx_notify_cancel(inv, now))
    reply_status(inv, 487, now);
}

static void answer_stateless(sipline_ua *ua, const sipline_path *path,
                             sipline_pl raw, const sipline_msg_error *e,
                             sipline_tstamp now);

/* What the engine does once a TU has seen a request it took (h != 0). */
static void after_tu(sipline__stx *stx, int h, sipline_tstamp now) {
  if (stx && !sipline__stx_is_final(stx)) {
    if (h < 0 || !sipline__stx_has_handler(stx))
      reply_status(stx, 500, now);
    else
      sipline__stx_trying(stx, now); /* §17.2.1: 100 for INVITE */
  }
}

/*
 * A request with a To tag (§12.2.2): its dialog's owner takes it after the
 * CSeq check; without a dialog it is 481 (an ACK is dropped: a late ACK of
 * a dialog that ended is harmless).
 */
static int in_dialog(sipline_ua *ua, sipline__stx *stx, const sipline_msg *req,
                     const sipline_path *path, sipline_tstamp now) {
  sipline__dialog *d = sipline__dialog_find(ua, req);
  if (!d || !d->rx) {
    if (stx) {
      ua->n_rx_unhandled++;
      reply_status(stx, 481, now);
    }
    return 0;
  }
  if (stx) {
    if (d->rcseq_set && req->cseq < d->rcseq) {
      sipline__resp r = {.status = 500, .reason = "CSeq Out of Order"};
      reply(stx, &r, now);
      return 0;
    }
    d->rcseq = req->cseq;
    d->rcseq_set = 1;
  }
  after_tu(stx, d->rx(d->owner, d, stx, req, path, now), now);
  return 0;
}

static int on_request(sipline_ua *ua, const sipline_path *path,
                      const sipline_msg *req, sipline_tstamp now) {
  /* Without these a response cannot even be addressed: drop. */
  if (!sipline_msg_uas_answerable(req)) {
    ua->n_rx_bad++;
    return SIPLINE_ERR_MALFORMED;
  }
  sipline__stx *stx = NULL;
  int r = sipline__txl_on_request(&ua->txl, req, path, now, &stx);
  if (r == 1)
    return 0; /* absorbed retransmission or ACK */
  if (r == SIPLINE_ERR_TOOBIG) {
    /* Too many live transactions: shed load without keeping state. */
    sipline_msg_error e = {.reason = "Service Unavailable", .status = 503};
    answer_stateless(ua, path, (sipline_pl){req->buf, req->len}, &e, now);
    return r;
  }
  if (r < 0)
    return r;
  int is_ack = req->method == SIPLINE_METHOD_ACK;

  sipline_msg_error e = {0};
  static const char *const supported[] = {"100rel", "timer", NULL};
  static const sipline_msg_uas_opts opts = {.supported = supported};
  if (sipline_msg_validate(req, &e) != 0 ||
      sipline_msg_uas_check(req, &opts, &e) != 0) {
    ua->n_rx_bad++;
    if (!stx)
      return SIPLINE_ERR_MALFORMED; /* a bad ACK is dropped */
    if (e.status < 300 || e.status > 699) {
      sipline__stx_abandon(stx, now);
      return SIPLINE_ERR_MALFORMED;
    }
    sipline__resp rsp = {.status = e.status, .reason = e.reason};
    sipline__buf h;
    sipline__buf_init(&h, ua->mem);
    if (e.status == 501 || e.status == 405)
      sipline__buf_append_str(&h, "Allow: " SIPLINE__ALLOW "\r\n");
    if (e.status == 415 || e.status == 406)
      sipline__buf_append_str(&h, "Accept: " SIPLINE__ACCEPT "\r\n");
    if (e.status == 420) {
      /* §8.2.2.3: list what we do not support. */
      sipline__buf unsup;
      sipline__buf_init(&unsup, ua->mem);
      if (unsupported_require(req, &unsup)) {
        sipline__buf_append_str(&h, "Unsupported: ");
        sipline__buf_append(&h, unsup.p, unsup.len);
        sipline__buf_append_str(&h, "\r\n");
      }
      sipline__buf_free(&unsup);
    }
    if (h.len && !h.err)
      rsp.headers = h.p;
    if (sipline__stx_respond(stx, &rsp, now) != 0)
      sipline__stx_abandon(stx, now);
    sipline__buf_free(&h);
    return e.status == 400 || e.status == 505 ? SIPLINE_ERR_MALFORMED : 0;
  }
  if (req->method == SIPLINE_METHOD_CANCEL) {
    handle_cancel(ua, stx, req, now);
    return 0;
  }
  if (req->to.tag.len)
    return in_dialog(ua, stx, req, path, now);
  /* The modules, in table order. */
  for (unsigned i = 0; i < ua->n_mods; i++) {
    const sipline__module *m = ua->mods[i].m;
    if (!m->on_request)
      continue;
    int h = m->on_request(ua, ua->mods[i].st, stx, req, path, now);
    if (h == 0)
      continue;
    after_tu(stx, h, now);
    return 0;
  }
  if (is_ack)
    return 0; /* an ACK nobody wanted: dropped */
  answer_unhandled(ua, stx, req, now);
  return 0;
}

static int deliver(void *arg, const sipline_path *path, const sipline_msg *m,
                   sipline_tstamp now) {
  sipline_ua *ua = arg;
  if (!m->is_request) {
    /* §18.1.2: the top Via must be ours; the branch match checks that.
     * §8.1.3.3: a response with more than one Via value is discarded. */
    if (m->n_via != 1) {
      ua->txl.n_stray_rsp++;
      return 0;
    }
    sipline__txl_on_response(&ua->txl, m, path, now);
    return 0;
  }
  return on_request(ua, path, m, now);
}

/*
 * A request whose only fault is its SIP version (RFC 3261 §21.5.6; RFC 4475
 * "badvers"): the parser refuses the start line, so nothing else
 * is decoded. We parse a copy with the version replaced, and when that
 * parses, answer 505 through a server transaction built from it (so that a
 * retransmission gets the same answer).
 */
static void answer_505(sipline_ua *ua, const sipline_path *path, sipline_pl raw,
                       sipline_tstamp now) {
  const char *nl = memchr(raw.p, '\n', raw.len);
  if (!nl)
    return;
  const char *le = nl > raw.p && nl[-1] == '\r' ? nl - 1 : nl;
  const char *sp = le;
  while (sp > raw.p && sp[-1] != ' ')
    sp--;
  if (sp == raw.p || le - sp < 4 || memcmp(sp, "SIP/", 4) != 0)
    return;
  sipline__buf b;
  sipline__buf_init(&b, ua->mem);
  sipline__buf_append(&b, raw.p, (size_t)(sp - raw.p));
  sipline__buf_append_str(&b, "SIP/2.0");
  sipline__buf_append(&b, le, raw.len - (size_t)(le - raw.p));
  sipline_msg m;
  if (!b.err &&
      sipline_msg_parse(&m, b.p, b.len, SIPLINE_PARSE_DATAGRAM, NULL) > 0 &&
      m.is_request && m.method != SIPLINE_METHOD_ACK && m.n_via &&
      m.first[SIPLINE_HDR_FROM] && m.first[SIPLINE_HDR_TO] && m.call_id.len &&
      m.first[SIPLINE_HDR_CSEQ]) {
    sipline__stx *stx = NULL;
    if (sipline__txl_on_request(&ua->txl, &m, path, now, &stx) == 0 && stx)
      reply_status(stx, 505, now);
  }
  sipline__buf_free(&b);
}

/* Appends v with every control character (folding CRLFs included) made a
 * space, so that nothing from a broken message can break our framing. */
static void append_clean(sipline__buf *b, sipline_pl v) {
  for (size_t i = 0; i < v.len; i++) {
    unsigned char c = (unsigned char)v.p[i];
    char o = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    sipline__buf_append(b, &o, 1);
  }
}

static int hdr_is(sipline_pl name, const char *full, const char *compact) {
  return sipline_pl_casecmp_str(name, full) ||
         (compact && sipline_pl_casecmp_str(name, compact));
}

/*
 * A stateless error response to a request the parser refused (RFC 3261
 * §8.2: 400 with the reason; RFC 4475 badinv01, quotbal, clerr, ...): the
 * header lines are scanned without the parser, and the response is sent
 * only when Via, From, To, Call-ID and CSeq are all there. It goes where
 * the top Via says when that Via parses, else back to the packet's source.
 * No transaction: a retransmission gets the same answer again.
 */
static void answer_stateless(sipline_ua *ua, const sipline_path *path,
                             sipline_pl raw, const sipline_msg_error *e,
                             sipline_tstamp now) {
  const char *p = raw.p, *end = raw.p + raw.len;
  const char *nl = memchr(p, '\n', raw.len);
  if (!nl)
    return;
  /* a request line: "METHOD SP ..." and not a response, not an ACK */
  const char *sp = memchr(p, ' ', (size_t)(nl - p));
  if (!sp || sp == p || (nl - p >= 4 && memcmp(p, "SIP/", 4) == 0) ||
      (sp - p == 3 && memcmp(p, "ACK", 3) == 0))
    return;
  sipline_pl vias[16];
  unsigned n_via = 0;
  sipline_pl from = SIPLINE_PL_NULL, to = SIPLINE_PL_NULL;
  sipline_pl callid = SIPLINE_PL_NULL, cseq = SIPLINE_PL_NULL;
  sipline_pl *cur = NULL;
  for (const char *q = nl + 1; q < end;) {
    const char *le = memchr(q, '\n', (size_t)(end - q));
    if (!le)
      le = end;
    sipline_pl line = {q, (size_t)(le - q)};
    if (line.len && line.p[line.len - 1] == '\r')
      line.len--;
    q = le + 1;
    if (!line.len)
      break; /* the end of the headers */
    if (line.p[0] == ' ' || line.p[0] == '\t') {
      if (cur) /* folding: extend the value to the end of this line */
        cur->len = (size_t)(line.p + line.len - cur->p);
      continue;
    }
    cur = NULL;
    const char *colon = memchr(line.p, ':', line.len);
    if (!colon)
      continue;
    sipline_pl name =
        sipline_pl_trim((sipline_pl){line.p, (size_t)(colon - line.p)});
    sipline_pl val = {colon + 1, (size_t)(line.p + line.len - colon - 1)};
    if (hdr_is(name, "Via", "v")) {
      if (n_via == SIPLINE__ARRAY_LEN(vias))
        return;
      vias[n_via] = val;
      cur = &vias[n_via++];
    } else if (hdr_is(name, "From", "f") && !from.p) {
      from = val;
      cur = &from;
    } else if (hdr_is(name, "To", "t") && !to.p) {
      to = val;
      cur = &to;
    } else if (hdr_is(name, "Call-ID", "i") && !callid.p) {
      callid = val;
      cur = &callid;
    } else if (hdr_is(name, "CSeq", NULL) && !cseq.p) {
      cseq = val;
      cur = &cseq;
    }
  }
  if (!n_via || !from.p || !to.p || !callid.p || !cseq.p)
    return;
  for (unsigned i = 0; i < n_via; i++)
    vias[i] = sipline_pl_trim(vias[i]);
  from = sipline_pl_trim(from);
  to = sipline_pl_trim(to);
  callid = sipline_pl_trim(callid);
  cseq = sipline_pl_trim(cseq);
  if (!from.len || !to.len || !callid.len || !cseq.len)
    return;

  sipline_path out = *path;
  out.host[0] = 0;
  sipline__buf b;
  sipline__buf_init(&b, ua->mem);
  sipline__buf_printf(&b, "SIP/2.0 %d ", e->status);
  append_clean(&b,
               sipline_pl_str(e->reason ? e->reason
                                        : sipline__reason_phrase(e->status)));
  sipline__buf_append_str(&b, "\r\n");
  sipline_pl rest = vias[0], top;
  sipline_via v;
  if (sipline_list_next(&rest, &top) == 1 && sipline_via_parse(top, &v) == 0) {
    sipline__tp_response_path(path, &v, &out);
    sipline__buf_append_str(&b, "Via: ");
    sipline__tp_via_echo(&b, top, &v, path);
    if (rest.len) {
      sipline__buf_append_str(&b, ", ");
      append_clean(&b, rest);
    }
    sipline__buf_append_str(&b, "\r\n");
  } else {
    /* back to the source: the Via cannot tell us better */
    sipline__buf_append_str(&b, "Via: ");
    append_clean(&b, vias[0]);
    sipline__buf_append_str(&b, "\r\n");
  }
  for (unsigned i = 1; i < n_via; i++) {
    sipline__buf_append_str(&b, "Via: ");
    append_clean(&b, vias[i]);
    sipline__buf_append_str(&b, "\r\n");
  }
  sipline__buf_append_str(&b, "From: ");
  append_clean(&b, from);
  sipline__buf_append_str(&b, "\r\nTo: ");
  append_clean(&b, to);
  /* a tag of ours unless the To has one (a crude but safe search) */
  int has_tag = 0;
  for (size_t i = 0; i + 4 <= to.len; i++)
    if (to.p[i] == ';' &&
        sipline_pl_casecmp_str((sipline_pl){to.p + i + 1, 3}, "tag"))
      has_tag = 1;
  if (!has_tag) {
    char tag[SIPLINE__TAG_LEN + 1];
    sipline__ua_new_tag(ua, tag);
    sipline__buf_printf(&b, ";tag=%s", tag);
  }
  sipline__buf_append_str(&b, "\r\nCall-ID: ");
  append_clean(&b, callid);
  sipline__buf_append_str(&b, "\r\nCSeq: ");
  append_clean(&b, cseq);
  sipline__buf_append_str(&b, "\r\n");
  if (ua->user_agent && *ua->user_agent)
    sipline__buf_printf(&b, "Server: %s\r\n", ua->user_agent);
  sipline__buf_append_str(&b, "Content-Length: 0\r\n\r\n");
  if (!b.err)
    sipline__tp_send(&ua->tp, &out, b.p, b.len, now);
  sipline__buf_free(&b);
}

static void reject(void *arg, const sipline_path *path, sipline_pl raw,
                   const sipline_msg_error *e, sipline_tstamp now) {
  /* A message the parser refused: a version we do not speak gets 505
   * through a transaction; any other request that still names its Via,
   * From, To, Call-ID and CSeq gets the parser's status statelessly; the
   * rest (responses, ACKs, garbage) is counted and dropped. */
  sipline_ua *ua = arg;
  ua->n_rx_bad++;
  if (!e || !raw.p || !raw.len)
    return;
  if (e->status == 505)
    answer_505(ua, path, raw, now);
  else if (e->status >= 400 && e->status <= 699)
    answer_stateless(ua, path, raw, e, now);
}

/* ------------------------------------------------------------------ */
/* the public calls */

static void finish(sipline_ua *ua) {
  sipline__txl_reap(&ua->txl);
}

static void set_now(sipline_ua *ua, sipline_tstamp now) {
  /* Time never goes back, even if the application's does. */
  if (now > ua->now)
    ua->now = now;
}

void sipline__ua_set_now(sipline_ua *ua, sipline_tstamp now) {
  set_now(ua, now);
}

int sipline__ua_create(sipline_ua **pua, const sipline_settings *st,
                       const sipline_mem *mem, void *user_data,
                       const sipline__module *const *mods, unsigned n_mods) {
  if (!pua)
    return SIPLINE_ERR_INVAL;
  *pua = NULL;
  if (!st || !st->profile || n_mods > SIPLINE__MAX_MODULES)
    return SIPLINE_ERR_INVAL;
  if (!st->profile->n_lines || !st->profile->lines)
    return SIPLINE_ERR_CONFIG;
  if (!mem)
    mem = sipline_mem_default();
  sipline_ua *ua = sipline_mem_calloc(mem, 1, sizeof(*ua));
  if (!ua)
    return SIPLINE_ERR_NOMEM;
  ua->mem_store = *mem;
  ua->mem = &ua->mem_store;
  mem = ua->mem;
  ua->user_data = user_data;
  sipline_rng_seed(&ua->rng, st->seed);
  sipline__theap_init(&ua->timers, mem);
  sipline__buf_init(&ua->scratch, mem);
  sipline__tp_init(&ua->tp, mem, deliver, reject, ua);
  int e = sipline__txl_init(&ua->txl, mem, &ua->timers, &ua->rng, &ua->tp);
  if (!e)
    e = sipline_profile_copy(&ua->profile, st->profile, mem);
  if (!e)
    e = dup_str(mem, &ua->local_host,
                st->local_host && *st->local_host ? st->local_host
                                                  : "127.0.0.1");
  if (!e)
    e = dup_str(mem, &ua->user_agent,
                st->user_agent ? st->user_agent : "sipline/" SIPLINE_VERSION);
  if (!e) {
    if (st->instance_id) {
      e = dup_str(mem, &ua->instance_id, st->instance_id);
    } else {
      /* A version-4 UUID from the seed, without touching ua->rng (so the
       * UA's random stream does not depend on whether one was given). */
      sipline_rng r;
      sipline_rng_seed(&r, st->seed ^ 0x5157u);
      uint64_t a = sipline_rng_next(&r), b = sipline_rng_next(&r);
      char u[64];
      snprintf(u, sizeof(u), "urn:uuid:%08x-%04x-4%03x-%04x-%012llx",
               (unsigned)(a >> 32), (unsigned)(a >> 16 & 0xffff),
               (unsigned)(a & 0xfff), (unsigned)(0x8000 | (b >> 48 & 0x3fff)),
               (unsigned long long)(b & 0xffffffffffffULL));
      e = dup_str(mem, &ua->instance_id, u);
    }
  }
  if (!e) {
    /* The ring grows on demand: a UA that nobody polls costs little. The
     * default cap grows with the lines, since one input can make a few
     * events for every line (a transport error to the server they all
     * use: reg_failed, server_down, failover): with a fixed 4096, a fleet
     * of 10,000 lines lost most of its failover events (bench/fleet). */
    if (st->max_events) {
      ua->ev_max = st->max_events;
    } else {
      uint64_t m = 4096u + (uint64_t)SIPLINE__EV_PER_LINE * ua->profile->n_lines;
      ua->ev_max = m > UINT32_MAX / 2 ? UINT32_MAX / 2 : (unsigned)m;
    }
  }
  if (!e) {
    sipline__txl_set_timers(&ua->txl, ua->profile);
    ua->txl.server = ua->user_agent;
  }
  for (unsigned i = 0; !e && i < n_mods; i++) {
    if (!mods[i])
      continue;
    void *mst = NULL;
    if (mods[i]->init)
      e = mods[i]->init(ua, &mst);
    if (e && mst && mods[i]->del)
      mods[i]->del(ua, mst); /* a half-built state is still the module's */
    if (!e) {
      ua->mods[ua->n_mods].m = mods[i];
      ua->mods[ua->n_mods].st = mst;
      ua->n_mods++;
    }
  }
  if (e) {
    sipline_ua_del(ua);
    return e;
  }
  *pua = ua;
  return 0;
}

void sipline_ua_del(sipline_ua *ua) {
  if (!ua)
    return;
  const sipline_mem *mem = ua->mem;
  /* Modules first (they cancel their timers), newest first. */
  for (unsigned i = ua->n_mods; i-- > 0;)
    if (ua->mods[i].m->del)
      ua->mods[i].m->del(ua, ua->mods[i].st);
  ua->n_mods = 0;
  sipline__dtab_free(&ua->dialogs, mem);
  sipline__txl_free(&ua->txl);
  sipline__tp_free(&ua->tp);
  sipline_mem_free(mem, ua->tx_cur);
  sipline__buf_free(&ua->scratch);
  sipline__theap_free(&ua->timers);
  sipline_profile_del(ua->profile);
  sipline_mem_free(mem, ua->local_host);
  sipline_mem_free(mem, ua->user_agent);
  sipline_mem_free(mem, ua->instance_id);
  for (unsigned i = 0; i < ua->ev_count; i++)
    sipline_mem_free(mem, (char *)ua->ev[(ua->ev_head + i) % ua->ev_cap].body);
  sipline_mem_free(mem, ua->ev_body_cur);
  sipline_mem_free(mem, ua->ev);
  /* ua->mem points into ua: copy the allocator out before freeing ua. */
  sipline_mem m = ua->mem_store;
  sipline_mem_free(&m, ua);
}

void *sipline_ua_user_data(const sipline_ua *ua) {
  return ua ? ua->user_data : NULL;
}

int sipline_ua_recv(sipline_ua *ua, const sipline_path *path, const uint8_t *p,
                    size_t n, sipline_tstamp now) {
  if (!ua || !path || (!p && n))
    return SIPLINE_ERR_INVAL;
  set_now(ua, now);
  int r = sipline__tp_recv(&ua->tp, path, p, n, ua->now);
  if (n && sipline__tp_reliable(path->tp))
    for (unsigned i = 0; i < ua->n_mods; i++)
      if (ua->mods[i].m->on_flow_rx)
        ua->mods[i].m->on_flow_rx(ua, ua->mods[i].st, path, ua->now);
  finish(ua);
  return r;
}

int sipline_ua_transport_error(sipline_ua *ua, const sipline_path *path,
                               int why, sipline_tstamp now) {
  if (!ua || !path)
    return SIPLINE_ERR_INVAL;
  set_now(ua, now);
  sipline__txl_transport_error(&ua->txl, path, why, ua->now);
  if (sipline__tp_reliable(path->tp))
    sipline__tp_flow_close(&ua->tp, path);
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->on_transport_error)
      ua->mods[i].m->on_transport_error(ua, ua->mods[i].st, path, why, ua->now);
  finish(ua);
  return 0;
}

ptrdiff_t sipline_ua_pull_tx(sipline_ua *ua, sipline_path *path,
                             const uint8_t **p, sipline_tstamp now) {
  if (!ua || !path || !p)
    return SIPLINE_ERR_INVAL;
  set_now(ua, now);
  sipline__tp_recycle(&ua->tp, ua->tx_cur);
  ua->tx_cur = sipline__tp_pop(&ua->tp);
  if (!ua->tx_cur)
    return SIPLINE_ERR_AGAIN;
  *path = *sipline__tp_item_path(ua->tx_cur);
  *p = sipline__tp_item_data(ua->tx_cur);
  return (ptrdiff_t)ua->tx_cur->len;
}

sipline_tstamp sipline_ua_next_deadline(const sipline_ua *ua) {
  if (!ua)
    return SIPLINE_TSTAMP_NONE;
  return sipline__theap_next(&ua->timers);
}

int sipline_ua_handle_timeout(sipline_ua *ua, sipline_tstamp now) {
  if (!ua)
    return SIPLINE_ERR_INVAL;
  set_now(ua, now);
  sipline__theap_run(&ua->timers, ua->now);
  finish(ua);
  return 0;
}

int sipline_ua_dns_answer(sipline_ua *ua, unsigned id, const sipline_dns_rr *rr,
                          size_t n, sipline_tstamp now) {
  if (!ua || (!rr && n))
    return SIPLINE_ERR_INVAL;
  set_now(ua, now);
  int r = SIPLINE_ERR_NOTFOUND;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->on_dns &&
        ua->mods[i].m->on_dns(ua, ua->mods[i].st, id, rr, n, ua->now) == 1) {
      r = 0;
      break;
    }
  finish(ua);
  return r;
}

int sipline_ua_start(sipline_ua *ua, sipline_tstamp now) {
  if (!ua)
    return SIPLINE_ERR_INVAL;
  set_now(ua, now);
  int r = 0;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->start) {
      int e = ua->mods[i].m->start(ua, ua->mods[i].st, ua->now);
      if (e && !r)
        r = e;
    }
  finish(ua);
  return r;
}

int sipline_ua_shutdown(sipline_ua *ua, sipline_tstamp now) {
  if (!ua)
    return SIPLINE_ERR_INVAL;
  set_now(ua, now);
  ua->shutting_down = 1;
  int r = 0;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->shutdown) {
      int e = ua->mods[i].m->shutdown(ua, ua->mods[i].st, ua->now);
      if (e && !r)
        r = e;
    }
  finish(ua);
  return r;
}

int sipline_ua_is_shut_down(const sipline_ua *ua) {
  if (!ua)
    return 1;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->is_shut_down &&
        !ua->mods[i].m->is_shut_down(ua, ua->mods[i].st))
      return 0;
  return 1;
}

const sipline_profile *sipline_ua_profile(const sipline_ua *ua) {
  return ua ? ua->profile : NULL;
}

unsigned sipline_ua_line_count(const sipline_ua *ua) {
  return ua && ua->profile ? ua->profile->n_lines : 0;
}

int sipline_ua_line_status(const sipline_ua *ua, unsigned line,
                           sipline_line_status *st) {
  if (!ua || !st)
    return SIPLINE_ERR_INVAL;
  const sipline_line_cfg *l = sipline__ua_line_cfg(ua, line);
  if (!l)
    return SIPLINE_ERR_NOTFOUND;
  memset(st, 0, sizeof(*st));
  st->line = line;
  st->next_refresh = SIPLINE_TSTAMP_NONE;
  st->fallback_at = SIPLINE_TSTAMP_NONE;
  sipline__event_str(st->aor, sizeof(st->aor), "%s@%s",
                     l->user_id ? l->user_id : "", l->proxy ? l->proxy : "");
  sipline__event_str(st->state, sizeof(st->state), "%s",
                     l->reg ? "unregistered" : "disabled");
  int r = 0;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->line_status) {
      int e = ua->mods[i].m->line_status(ua, ua->mods[i].st, line, st);
      if (e && !r)
        r = e;
    }
  return r;
}
