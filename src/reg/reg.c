/*
 * src/reg/reg.c: the registration client, one per line, as a module of the
 * UA engine (RFC 3261 §10, SPEC R1-R13).
 *
 * The decisions (which server, when, why) are the policy's (policy.c, a
 * pure state machine); this file turns them into SIP:
 *   - REGISTER (RFC 3261 §10.2): Request-URI = the proxy's domain (R2), To
 *     and From = the AOR (User ID at the proxy's domain), one Call-ID per
 *     line for its whole life and a CSeq that grows by one with every
 *     REGISTER, retransmissions aside (§10.2.4), Via with rport (RFC 3581),
 *     Route via the outbound proxy (R2), Contact with +sip.instance (RFC
 *     5626 §4.1) and ;expires plus an Expires header, Allow, Supported,
 *     User-Agent; digest on 401 and 407 through the line's credential cache
 *     (auth.h), pre-authenticating refreshes from it;
 *   - the response: granted expiry from our Contact's expires (else the
 *     Expires header), Min-Expires of a 423, Retry-After of a 503;
 *   - keep-alive (beyond the seed): OPTIONS on UDP, RFC 5626 §4.4.1 CRLFCRLF
 *     on TCP/TLS with a 10 s pong wait;
 *   - the engine's hooks: where a line's requests go (line_target), a
 *     failed request elsewhere (on_request_failed, R5), transport errors
 *     (R5c), DNS answers, a line going idle (R13), status.
 *
 * Ownership: the module owns one reg_line per profile line; each owns its
 * policy, its credential cache and its request slots. Transactions belong
 * to the engine; a slot keeps a handle until its final callback.
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "msg/param.h"
#include "reg/policy.h"
#include "sipline/auth.h"
#include "ua/ua.h"

#define NONE SIPLINE_TSTAMP_NONE
/* Requests in flight per line: refresh, new registration, alternate, two
 * removals, keep-alive. */
#define REG_MAX_RQ 6
#define REG_MAX_DNS 4
/* RFC 5626 §4.4.1: a pong should come within 10 s of the ping. */
#define REG_PONG_WAIT_MS 10000u

struct reg_line;

/* A request in flight for the policy (REGISTER or keep-alive). */
typedef struct reg_rq {
  struct reg_line *ln;
  uint32_t token;          /* the policy's token; 0 = free slot */
  int slot;                /* enum sipline__pol_slot */
  sipline__ctx *ctx;       /* the transaction (NULL for a CRLF ping) */
  const sipline__srv *srv; /* owned by the policy, stable while it lives */
  const char *domain;      /* idem */
  uint32_t expires;
  unsigned challenges;     /* 401/407 rounds answered */
  sipline_tstamp sent_at;  /* CRLF ping: when it went out */
} reg_rq;

typedef struct reg_line {
  struct reg_mod *m;
  unsigned line;
  const sipline_line_cfg *lc;
  sipline__pol *pol;
  /* Credentials, one cache per server (issue 10): each registrar keeps its
   * own nonce, so a move back to a server answers its last challenge again
   * instead of costing a 401 round. auth_srv[i] is the main list's server
   * i's, made at its first challenge (a line keeps no cache before one:
   * an empty cache cost 400 bytes per line, issue 10); auth the one last
   * challenged (NULL before any), which pre-authenticates a server with
   * none of its own: the same realm may take it. auth_any answers for a
   * server that has no slot in auth_srv[], made at its challenge too. */
  sipline_auth_client *auth;     /* not owned: auth_srv[] or auth_any */
  sipline_auth_client *auth_any; /* owned */
  sipline_auth_client *auth_srv[SIPLINE_MAX_SERVERS];
  sipline_auth_client *auth_alt; /* the alternate's (Dual Registration):
                                    two registrars, two nonces */
  char callid[SIPLINE__CALLID_LEN + 1];
  char tag[SIPLINE__TAG_LEN + 1];
  uint8_t creds; /* a password and a user name: challenges are answered */
  uint32_t cseq;
  sipline__timer timer;    /* the policy's next deadline */
  sipline__timer pong;     /* CRLF keep-alive pong wait */
  reg_rq rq[REG_MAX_RQ];
  struct {
    unsigned ua_id, qid;
  } dns[REG_MAX_DNS];
  int config_error;
} reg_line;

typedef struct reg_mod {
  sipline_ua *ua;
  unsigned n;
  reg_line *l;
} reg_mod;

/* ------------------------------------------------------------------ */
/* helpers                                                              */

static void rearm(reg_line *ln) {
  sipline_ua *ua = ln->m->ua;
  sipline_tstamp t = sipline__pol_next(ln->pol);
  if (t == NONE)
    sipline__timer_cancel(&ua->timers, &ln->timer);
  else if (!sipline__timer_armed(&ln->timer) || ln->timer.when != t)
    sipline__timer_arm(&ua->timers, &ln->timer, t);
}

static reg_rq *rq_alloc(reg_line *ln) {
  reg_rq *q = NULL;
  for (unsigned i = 0; i < REG_MAX_RQ && !q; i++)
    if (!ln->rq[i].token)
      q = &ln->rq[i];
  /* None free: take back a keep-alive the policy no longer waits for. Each
   * new registration starts the keep-alive afresh (policy.c ka_arm), which
   * orphans a ping still in flight; it tells nobody anything, while a
   * REGISTER refused here for want of a slot would hold the line at a
   * dead server (found by bench/faults/campaign.sh: a failover plus a
   * fallback every few seconds with CRLF pings held 10 s each). */
  for (unsigned i = 0; i < REG_MAX_RQ && !q; i++)
    if (ln->rq[i].slot == SIPLINE__POL_KA &&
        !sipline__pol_wants(ln->pol, ln->rq[i].token)) {
      q = &ln->rq[i];
      if (q->ctx)
        sipline__ctx_detach(q->ctx);
    }
  if (q) {
    memset(q, 0, sizeof *q);
    q->ln = ln;
  }
  return q;
}

/* The pong wait runs to the earliest deadline of the CRLF pings in flight
 * (one timer for them all: arming it for a new ping must not push an
 * earlier ping's deadline back, or pings every few seconds would keep it
 * from ever firing and their slots would never be freed). */
static void pong_rearm(reg_line *ln) {
  sipline_ua *ua = ln->m->ua;
  sipline_tstamp t = SIPLINE_TSTAMP_NONE;
  for (unsigned i = 0; i < REG_MAX_RQ; i++) {
    const reg_rq *q = &ln->rq[i];
    if (q->token && q->slot == SIPLINE__POL_KA && !q->ctx &&
        q->sent_at + REG_PONG_WAIT_MS < t)
      t = q->sent_at + REG_PONG_WAIT_MS;
  }
  if (t == SIPLINE_TSTAMP_NONE)
    sipline__timer_cancel(&ua->timers, &ln->pong);
  else if (!sipline__timer_armed(&ln->pong) || ln->pong.when != t)
    sipline__timer_arm(&ua->timers, &ln->pong, t);
}

static void rq_free(reg_rq *q) {
  q->token = 0;
  q->ctx = NULL;
}

static void path_of(const sipline__srv *s, sipline_path *p) {
  memset(p, 0, sizeof *p);
  p->tp = s->tp;
  p->remote = s->addr;
  if (s->host)
    snprintf(p->host, sizeof p->host, "%s", s->host);
}

static int has_outbound(const reg_line *ln) {
  return ln->lc->outbound_proxy && *ln->lc->outbound_proxy;
}

/* Route: the outbound proxy as a loose router (R2, RFC 3261 §8.1.2). */
static sipline_pl route_of(const reg_line *ln, const sipline__srv *s) {
  if (!has_outbound(ln) && !(ln->lc->alt_outbound_proxy &&
                             *ln->lc->alt_outbound_proxy &&
                             sipline__pol_is_alt(ln->pol, s)))
    return SIPLINE_PL_NULL;
  return sipline_pl_str(s->name);
}

static int auth_new(const reg_line *ln, sipline_auth_client **out) {
  const sipline_line_cfg *lc = ln->lc;
  const char *user = lc->use_auth_id && lc->auth_id && *lc->auth_id
                         ? lc->auth_id
                         : lc->user_id;
  sipline_auth_client_cfg ac = {.username = user ? user : "",
                                .password = lc->password};
  return sipline_auth_client_new(out, &ac, ln->m->ua->mem);
}

/* q's server's slot in auth_srv[], NULL for the alternate. */
static sipline_auth_client **auth_slot(reg_line *ln, const reg_rq *q) {
  unsigned n = sipline__pol_n_servers(ln->pol);
  for (unsigned i = 0; i < n && i < SIPLINE_MAX_SERVERS; i++)
    if (sipline__pol_server(ln->pol, i) == q->srv)
      return &ln->auth_srv[i];
  return NULL;
}

/* The cache that pre-authenticates q: its server's own when it has one. */
static sipline_auth_client *auth_of(reg_line *ln, const reg_rq *q) {
  if (ln->auth_alt && sipline__pol_is_alt(ln->pol, q->srv))
    return ln->auth_alt;
  sipline_auth_client **own = ln->creds ? auth_slot(ln, q) : NULL;
  if (own && *own && sipline_auth_client_count(*own))
    return *own;
  return ln->auth;
}

/* The cache that takes q's challenge: its server's own (made now). */
static sipline_auth_client *auth_for_challenge(reg_line *ln, const reg_rq *q) {
  if (ln->auth_alt && sipline__pol_is_alt(ln->pol, q->srv))
    return ln->auth_alt;
  if (!ln->creds)
    return NULL;
  sipline_auth_client **own = auth_slot(ln, q);
  if (!own)
    own = &ln->auth_any;
  if (!*own && auth_new(ln, own) != 0)
    return ln->auth; /* no memory: the last one, if any */
  ln->auth = *own;
  return *own;
}

/* The AOR host: the domain without its port (see sipline__ua_aor_host). */
static sipline_pl aor_host(const char *domain) {
  size_t n = strlen(domain);
  const char *c;
  if (domain[0] == '[') {
    const char *rb = memchr(domain, ']', n);
    if (rb)
      n = (size_t)(rb - domain) + 1;
  } else if ((c = memchr(domain, ':', n)) != NULL) {
    n = (size_t)(c - domain);
  }
  return (sipline_pl){domain, n < 135 ? n : 135};
}

/* What REGISTER and OPTIONS share: From is the AOR (R2). */
static sipline__req_spec spec_of(reg_line *ln, const reg_rq *q,
                                 const char *branch) {
  sipline_pl host = aor_host(q->domain);
  const char *user = ln->lc->user_id ? ln->lc->user_id : "";
  return (sipline__req_spec){
      .ruri = {.host = sipline_pl_str(q->domain)},
      .line = ln->line,
      .tp = q->srv->tp,
      .branch = branch,
      .proxy = route_of(ln, q->srv),
      .from = {.display = sipline_pl_str(ln->lc->display_name),
               .uri = {.user = sipline_pl_str(user), .host = host}},
  };
}

/* Builds the REGISTER of q into b (a fresh branch and the next CSeq);
 * fills what the transaction layer would otherwise parse out of it. */
static void build_register(reg_line *ln, const reg_rq *q, sipline__buf *b,
                           sipline__ctx_params *p) {
  char branch[SIPLINE__BRANCH_LEN + 1];
  sipline__ua_new_branch(ln->m->ua, branch);
  sipline__req_spec s = spec_of(ln, q, branch);
  s.branch_at = &p->branch_off;
  p->branch_len = SIPLINE__BRANCH_LEN;
  p->method = SIPLINE_METHOD_REGISTER;
  p->cseq = ln->cseq + 1;
  s.method = SIPLINE_PL("REGISTER");
  s.from.tag = (sipline_pl){ln->tag, SIPLINE__TAG_LEN};
  s.to = s.from;
  s.to.tag = SIPLINE_PL_NULL;
  s.call_id = (sipline_pl){ln->callid, SIPLINE__CALLID_LEN};
  s.cseq = ++ln->cseq;
  s.flags = SIPLINE__REQ_CONTACT | SIPLINE__REQ_INSTANCE |
            SIPLINE__REQ_CEXPIRES | SIPLINE__REQ_EXPIRES |
            SIPLINE__REQ_ALLOW | SIPLINE__REQ_SUPPORTED | SIPLINE__REQ_PATH;
  s.expires = q->expires;
  s.auth = auth_of(ln, q);
  sipline__req_build(ln->m->ua, &s, b);
}

static void build_options(reg_line *ln, const reg_rq *q, sipline__buf *b) {
  sipline_ua *ua = ln->m->ua;
  char branch[SIPLINE__BRANCH_LEN + 1];
  char tag[SIPLINE__TAG_LEN + 1], cid[SIPLINE__CALLID_LEN + 1];
  sipline__ua_new_branch(ua, branch);
  sipline__ua_new_tag(ua, tag);
  sipline__ua_new_callid(ua, cid);
  sipline__req_spec s = spec_of(ln, q, branch);
  s.method = SIPLINE_PL("OPTIONS");
  s.from.tag = (sipline_pl){tag, SIPLINE__TAG_LEN};
  s.to = (sipline__req_party){.uri = {.host = sipline_pl_str(q->domain)}};
  s.call_id = (sipline_pl){cid, SIPLINE__CALLID_LEN};
  s.cseq = 1;
  s.extra = SIPLINE_PL("Accept: application/sdp\r\n");
  sipline__req_build(ua, &s, b);
}

static void on_ctx(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now);

/* Builds and starts the transaction of q. 0 or an error. */
static int rq_start(reg_line *ln, reg_rq *q, sipline_tstamp now) {
  sipline_ua *ua = ln->m->ua;
  /* Built in the UA's scratch buffer: the transaction keeps its own copy. */
  sipline__buf *b = &ua->scratch;
  sipline_path path;
  sipline__ctx_params p = {.path = &path, .cb = on_ctx, .arg = q};
  sipline__buf_reset(b);
  if (q->slot == SIPLINE__POL_KA)
    build_options(ln, q, b);
  else
    build_register(ln, q, b, &p);
  if (b->err) {
    sipline__buf_free(b);
    return SIPLINE_ERR_NOMEM;
  }
  path_of(q->srv, &path);
  p.req = b->p;
  p.len = b->len;
  int r = sipline__ua_request(ua, &p, now, &q->ctx);
  sipline__buf_reset(b);
  return r;
}

/* Leading decimal digits of a header value ("45 (lunch);duration=60"). */
static int hdr_uint(const sipline_msg *m, sipline_hdr_id id, uint32_t *out) {
  const sipline_hdr *h = sipline_msg_hdr(m, id, 0);
  uint64_t v = 0;
  size_t i = 0;
  if (!h)
    return 0;
  sipline_pl s = sipline_pl_trim(h->value);
  while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9' && v <= UINT32_MAX)
    v = v * 10 + (uint64_t)(s.p[i++] - '0');
  if (!i)
    return 0;
  *out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
  return 1;
}

/*
 * The expiry the registrar granted us (RFC 3261 §10.2.4): the expires
 * parameter of the Contact that is ours (by +sip.instance, else by URI
 * user, host and port), else the Expires header; 0 when neither.
 */
static uint32_t granted_expires(reg_line *ln, const sipline_msg *m) {
  sipline_ua *ua = ln->m->ua;
  for (unsigned k = 0;; k++) {
    const sipline_hdr *h = sipline_msg_hdr(m, SIPLINE_HDR_CONTACT, k);
    if (!h)
      break;
    sipline_pl rest = h->value, item;
    while (sipline_list_next(&rest, &item) == 1) {
      sipline_nameaddr na;
      if (sipline_nameaddr_parse(item, &na) != 0 || na.star)
        continue;
      /* One walk over the parameters for both that matter. */
      sipline_pl prest = na.params, pn, pv, inst = SIPLINE_PL_NULL;
      sipline_pl exp = SIPLINE_PL_NULL;
      int has_inst = 0, has_exp = 0;
      while (sipline__param_next(&prest, &pn, &pv) == 1) {
        if (!has_inst && sipline_pl_caseeq(pn, SIPLINE_PL("+sip.instance"))) {
          inst = pv;
          has_inst = 1;
        } else if (!has_exp && sipline_pl_caseeq(pn, SIPLINE_PL("expires"))) {
          exp = pv;
          has_exp = 1;
        }
      }
      if (!has_exp)
        continue; /* ours or not, it says nothing of the expiry */
      int ours = 0;
      if (has_inst) {
        const char *id = ua->instance_id;
        size_t il = strlen(id);
        for (size_t i = 0; i + il <= inst.len && !ours; i++)
          ours = inst.p[i] == id[0] && memcmp(inst.p + i, id, il) == 0;
      } else {
        const char *user = ln->lc->user_id ? ln->lc->user_id : "";
        ours = sipline_pl_casecmp_str(na.uri.user, user) &&
               sipline_pl_casecmp_str(na.uri.host, ua->local_host) &&
               na.uri.port == sipline__ua_local_port(ua, ln->line);
      }
      uint64_t e;
      if (ours && sipline_pl_u64(exp, UINT32_MAX, &e) == 0)
        return e ? (uint32_t)e : 0;
    }
  }
  return m->has_expires ? m->expires : 0;
}

static void deliver(reg_line *ln, reg_rq *q, const sipline__pol_res *r,
                    sipline_tstamp now) {
  uint32_t tok = q->token;
  const sipline__srv *srv = q->srv;
  int stray = r->outcome == SIPLINE__POL_OK && q->expires &&
              q->slot != SIPLINE__POL_KA &&
              !sipline__pol_wants(ln->pol, tok);
  rq_free(q);
  if (stray)
    sipline__pol_stray(ln->pol, srv, now); /* a binding nobody wants */
  else
    sipline__pol_result(ln->pol, tok, r, now);
  rearm(ln);
  for (unsigned i = 0; i < REG_MAX_RQ; i++)
    if (ln->rq[i].token)
      return;
  /* Nothing in flight points into a server list DNS replaced any more. */
  sipline__pol_release(ln->pol);
}

/*
 * Takes a 401/407 into the cache. The cache says "refused" when a nonce it
 * had just answered is challenged again (RFC 3261 §22.2); when this request
 * has not answered any challenge itself, the answer was another request's
 * to another server of the same realm (a fallback attempt beside a backup
 * refresh), so the cache starts over instead of giving up.
 */
static int answer_challenge(sipline_auth_client *auth, const reg_rq *q,
                            const sipline_msg *rsp) {
  int e = sipline_auth_client_on_response(auth, rsp);
  if (e == SIPLINE_ERR_AUTH && q->challenges == 0) {
    sipline_auth_client_reset(auth);
    e = sipline_auth_client_on_response(auth, rsp);
  }
  return e;
}

static void on_ctx(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now) {
  reg_rq *q = arg;
  reg_line *ln = q->ln;
  sipline__pol_res r;
  (void)ctx;
  if (!q->token)
    return;
  if (rsp && rsp->status < 200)
    return;
  memset(&r, 0, sizeof r);
  if (!rsp) {
    r.outcome = err == SIPLINE_ERR_TRANSPORT ? SIPLINE__POL_TRANSPORT
                                             : SIPLINE__POL_TIMEOUT;
    deliver(ln, q, &r, now);
    return;
  }
  if (q->slot == SIPLINE__POL_KA) {
    r.outcome = SIPLINE__POL_OK; /* any answer: the server is alive */
    deliver(ln, q, &r, now);
    return;
  }
  sipline_auth_client *auth = rsp->status == 401 || rsp->status == 407
                                  ? auth_for_challenge(ln, q)
                                  : NULL;
  /* A REGISTER the policy no longer waits for (its server went DOWN and
   * the line moved on) is not pursued: answering its challenge would
   * register the line where it no longer tracks a binding. */
  if ((rsp->status == 401 || rsp->status == 407) && auth &&
      q->challenges < 2 && sipline__pol_wants(ln->pol, q->token) &&
      answer_challenge(auth, q, rsp) == 0) {
    /* RFC 3261 §22.2: the same request with credentials, next CSeq. */
    q->challenges++;
    q->ctx = NULL;
    if (rq_start(ln, q, now) == 0)
      return;
    r.outcome = SIPLINE__POL_TRANSPORT;
    deliver(ln, q, &r, now);
    return;
  }
  if (rsp->status < 300) {
    r.outcome = SIPLINE__POL_OK;
    r.expires = q->expires ? granted_expires(ln, rsp) : 0;
  } else {
    r.outcome = SIPLINE__POL_STATUS;
    r.status = rsp->status;
    if (rsp->status == 423)
      hdr_uint(rsp, SIPLINE_HDR_MIN_EXPIRES, &r.min_expires);
    if (hdr_uint(rsp, SIPLINE_HDR_RETRY_AFTER, &r.retry_after))
      r.has_retry_after = 1;
  }
  deliver(ln, q, &r, now);
}

/* ------------------------------------------------------------------ */
/* policy callbacks                                                     */

static int op_send(void *arg, const sipline__pol_req *req,
                   sipline_tstamp now) {
  reg_line *ln = arg;
  reg_rq *q = rq_alloc(ln);
  if (!q)
    return SIPLINE_ERR_NOMEM;
  q->token = req->token;
  q->slot = req->slot;
  q->srv = req->srv;
  q->domain = req->domain;
  q->expires = req->expires;
  int r = rq_start(ln, q, now);
  if (r < 0)
    rq_free(q);
  return r;
}

static void on_pong(sipline__timer *t, void *arg, sipline_tstamp now) {
  reg_line *ln = arg;
  sipline_ua *ua = ln->m->ua;
  (void)t;
  for (unsigned i = 0; i < REG_MAX_RQ; i++) {
    reg_rq *q = &ln->rq[i];
    if (!q->token || q->slot != SIPLINE__POL_KA || q->ctx ||
        now < q->sent_at + REG_PONG_WAIT_MS)
      continue;
    sipline_path path;
    path_of(q->srv, &path);
    sipline__flow *f = sipline__tp_flow(&ua->tp, &path);
    sipline__pol_res r;
    memset(&r, 0, sizeof r);
    if (!f)
      r.outcome = SIPLINE__POL_TRANSPORT;
    else if (f->last_rx >= q->sent_at && f->last_rx != 0)
      r.outcome = SIPLINE__POL_OK;
    else
      r.outcome = SIPLINE__POL_TIMEOUT;
    deliver(ln, q, &r, now);
  }
  pong_rearm(ln);
}

static int op_keepalive(void *arg, const sipline__pol_req *req,
                        sipline_tstamp now) {
  reg_line *ln = arg;
  sipline_ua *ua = ln->m->ua;
  reg_rq *q = rq_alloc(ln);
  if (!q)
    return SIPLINE_ERR_NOMEM;
  q->token = req->token;
  q->slot = SIPLINE__POL_KA;
  q->srv = req->srv;
  q->domain = req->domain;
  int r;
  if (sipline__tp_reliable(req->srv->tp)) {
    /* RFC 5626 §4.4.1: a CRLFCRLF ping; the pong is any bytes back. */
    sipline_path path;
    path_of(req->srv, &path);
    q->sent_at = now;
    r = sipline__ua_send(ua, &path, "\r\n\r\n", 4);
  } else {
    r = rq_start(ln, q, now);
  }
  if (r < 0)
    rq_free(q);
  pong_rearm(ln);
  return r;
}

static int op_dns(void *arg, unsigned qid, sipline_dns_qtype qt,
                  const char *name, sipline_tstamp now) {
  reg_line *ln = arg;
  unsigned id, k;
  (void)now;
  for (k = 0; k < REG_MAX_DNS; k++)
    if (!ln->dns[k].ua_id)
      break;
  if (k == REG_MAX_DNS)
    return SIPLINE_ERR_NOMEM;
  int r = sipline__ua_dns_query(ln->m->ua, ln->line, name, qt, &id);
  if (r < 0)
    return r;
  ln->dns[k].ua_id = id;
  ln->dns[k].qid = qid;
  return 0;
}

static void op_event(void *arg, const sipline_event *ev) {
  reg_line *ln = arg;
  sipline_event e = *ev;
  if (e.type != SIPLINE_EV_REG_FAILED && !e.retry_in)
    e.retry_in = NONE; /* the engine's "unused" value */
  sipline__ua_emit(ln->m->ua, &e);
}

/* The list was re-resolved (DNS TTL): each server's credential cache
 * follows its address; the cache of a server that is gone is dropped,
 * unless it is the last challenged one (the same realm may take it: it
 * becomes auth_any). */
static void op_servers_changed(void *arg, const int *map, unsigned n_old) {
  reg_line *ln = arg;
  sipline_auth_client *nw[SIPLINE_MAX_SERVERS] = {0};
  for (unsigned i = 0; i < n_old && i < SIPLINE_MAX_SERVERS; i++) {
    sipline_auth_client *c = ln->auth_srv[i];
    if (!c)
      continue;
    if (map[i] >= 0 && map[i] < SIPLINE_MAX_SERVERS) {
      nw[map[i]] = c;
    } else if (c == ln->auth) {
      sipline_auth_client_del(ln->auth_any);
      ln->auth_any = c;
    } else {
      sipline_auth_client_del(c);
    }
  }
  memcpy(ln->auth_srv, nw, sizeof nw);
}

static const sipline__pol_ops pol_ops = {
    .send = op_send,
    .keepalive = op_keepalive,
    .dns = op_dns,
    .event = op_event,
    .servers_changed = op_servers_changed,
};

static void on_timer(sipline__timer *t, void *arg, sipline_tstamp now) {
  reg_line *ln = arg;
  (void)t;
  sipline__pol_set_calls(ln->pol, sipline__ua_line_calls(ln->m->ua, ln->line),
                         now);
  sipline__pol_tick(ln->pol, now);
  rearm(ln);
}

/* ------------------------------------------------------------------ */
/* module hooks                                                         */

static reg_line *line_of(reg_mod *m, unsigned line) {
  if (!m || line == 0 || line > m->n || !m->l[line - 1].pol)
    return NULL;
  return &m->l[line - 1];
}

static void fill_target(reg_line *ln, const sipline__srv *s,
                        const char *domain, sipline__target *t) {
  memset(t, 0, sizeof *t);
  path_of(s, &t->path);
  snprintf(t->domain, sizeof t->domain, "%s", domain);
  snprintf(t->server, sizeof t->server, "%s", s->name);
  (void)ln;
}

static int m_line_alt_target(sipline_ua *ua, void *st, unsigned line,
                             sipline__target *t) {
  reg_mod *m = st;
  reg_line *ln = line_of(m, line);
  (void)ua;
  const char *d;
  const sipline__srv *s = ln ? sipline__pol_route_alt(ln->pol, &d) : NULL;
  if (!s || !t)
    return SIPLINE_ERR_NOTFOUND;
  fill_target(ln, s, d, t);
  return 0;
}

static int m_init(sipline_ua *ua, void **st) {
  const sipline_profile *p = ua->profile;
  reg_mod *m = sipline_mem_calloc(ua->mem, 1, sizeof *m);
  if (!m)
    return SIPLINE_ERR_NOMEM;
  m->ua = ua;
  m->n = p->n_lines;
  m->l = sipline_mem_calloc(ua->mem, m->n ? m->n : 1, sizeof *m->l);
  if (!m->l) {
    sipline_mem_free(ua->mem, m);
    return SIPLINE_ERR_NOMEM;
  }
  *st = m;
  for (unsigned i = 0; i < m->n; i++) {
    reg_line *ln = &m->l[i];
    ln->m = m;
    ln->line = i + 1;
    ln->lc = &p->lines[i];
    sipline__timer_init(&ln->timer, on_timer, ln);
    sipline__timer_init(&ln->pong, on_pong, ln);
    sipline__ua_new_callid(ua, ln->callid);
    sipline__ua_new_tag(ua, ln->tag);
    const sipline_line_cfg *lc = ln->lc;
    if (!(lc->proxy && *lc->proxy) &&
        !(lc->outbound_proxy && *lc->outbound_proxy))
      continue; /* an unused line */
    int e = sipline__pol_new(&ln->pol, p, lc, &ua->rng, ua->mem, &pol_ops, ln);
    if (e == SIPLINE_ERR_NOMEM)
      return e;
    if (e) {
      ln->config_error = 1; /* reported at start */
      continue;
    }
    const char *user = lc->use_auth_id && lc->auth_id && *lc->auth_id
                           ? lc->auth_id
                           : lc->user_id;
    /* What sipline_auth_client_new accepts: with either missing no
     * challenge is answered. */
    ln->creds = lc->password && *lc->password && user && *user;
    if (ln->creds && lc->dual_registration &&
        lc->transport == SIPLINE_TP_UDP) {
      e = auth_new(ln, &ln->auth_alt);
      if (e == SIPLINE_ERR_NOMEM)
        return e;
    }
  }
  return 0;
}

static void m_del(sipline_ua *ua, void *st) {
  reg_mod *m = st;
  if (!m)
    return;
  for (unsigned i = 0; i < m->n; i++) {
    reg_line *ln = &m->l[i];
    sipline__timer_cancel(&ua->timers, &ln->timer);
    sipline__timer_cancel(&ua->timers, &ln->pong);
    for (unsigned k = 0; k < REG_MAX_RQ; k++)
      if (ln->rq[k].token && ln->rq[k].ctx)
        sipline__ctx_detach(ln->rq[k].ctx);
    sipline__pol_del(ln->pol);
    sipline_auth_client_del(ln->auth_any);
    for (unsigned k = 0; k < SIPLINE_MAX_SERVERS; k++)
      sipline_auth_client_del(ln->auth_srv[k]);
    sipline_auth_client_del(ln->auth_alt);
  }
  sipline_mem_free(ua->mem, m->l);
  sipline_mem_free(ua->mem, m);
}

static int m_start(sipline_ua *ua, void *st, sipline_tstamp now) {
  reg_mod *m = st;
  int rc = 0;
  for (unsigned i = 0; i < m->n; i++) {
    reg_line *ln = &m->l[i];
    if (ln->config_error) {
      sipline__ua_warn(ua, ln->line, "config",
                       "line %u: Proxy/Outbound Proxy does not parse; the "
                       "line is not used",
                       ln->line);
      continue;
    }
    if (!ln->pol)
      continue;
    int e = sipline__pol_start(ln->pol, now);
    if (e < 0 && !rc && e != SIPLINE_ERR_STATE)
      rc = e;
    rearm(ln);
  }
  return rc;
}

static int m_shutdown(sipline_ua *ua, void *st, sipline_tstamp now) {
  reg_mod *m = st;
  (void)ua;
  for (unsigned i = 0; i < m->n; i++) {
    reg_line *ln = &m->l[i];
    if (!ln->pol)
      continue;
    sipline__pol_shutdown(ln->pol, now);
    sipline__timer_cancel(&ua->timers, &ln->pong);
    rearm(ln);
  }
  return 0;
}

static int m_is_shut_down(const sipline_ua *ua, void *st) {
  reg_mod *m = st;
  (void)ua;
  for (unsigned i = 0; i < m->n; i++)
    if (m->l[i].pol && !sipline__pol_is_shut_down(m->l[i].pol))
      return 0;
  return 1;
}

static int m_on_dns(sipline_ua *ua, void *st, unsigned id,
                    const sipline_dns_rr *rr, size_t n, sipline_tstamp now) {
  reg_mod *m = st;
  (void)ua;
  for (unsigned i = 0; i < m->n; i++) {
    reg_line *ln = &m->l[i];
    for (unsigned k = 0; k < REG_MAX_DNS; k++)
      if (ln->dns[k].ua_id == id && id) {
        unsigned qid = ln->dns[k].qid;
        ln->dns[k].ua_id = 0;
        sipline__pol_dns_answer(ln->pol, qid, rr, n, now);
        rearm(ln);
        return 1;
      }
  }
  return 0;
}

/* The pong (RFC 5626 §4.4.1: any bytes back on the flow) ends the wait
 * of the pings on that flow at once, so the next keep-alive comes Keep
 * Alive Intvl after it, not after the 10 s pong wait (which made the
 * interval on TCP/TLS Keep Alive Intvl + 10 s). */
static void m_on_flow_rx(sipline_ua *ua, void *st, const sipline_path *path,
                         sipline_tstamp now) {
  reg_mod *m = st;
  (void)ua;
  for (unsigned i = 0; i < m->n; i++) {
    reg_line *ln = &m->l[i];
    int any = 0;
    if (!ln->pol)
      continue;
    for (unsigned k = 0; k < REG_MAX_RQ; k++) {
      reg_rq *q = &ln->rq[k];
      if (q->token && q->slot == SIPLINE__POL_KA && !q->ctx &&
          q->sent_at <= now && q->srv->tp == path->tp &&
          sipline_addr_eq(&q->srv->addr, &path->remote)) {
        sipline__pol_res r = {.outcome = SIPLINE__POL_OK};
        deliver(ln, q, &r, now);
        any = 1;
      }
    }
    if (any)
      pong_rearm(ln);
  }
}

static void m_on_transport_error(sipline_ua *ua, void *st,
                                 const sipline_path *path, int why,
                                 sipline_tstamp now) {
  reg_mod *m = st;
  (void)ua;
  for (unsigned i = 0; i < m->n; i++) {
    reg_line *ln = &m->l[i];
    if (!ln->pol)
      continue;
    /* A CRLF keep-alive on that flow fails now. */
    for (unsigned k = 0; k < REG_MAX_RQ; k++) {
      reg_rq *q = &ln->rq[k];
      if (q->token && q->slot == SIPLINE__POL_KA && !q->ctx &&
          q->srv->tp == path->tp &&
          sipline_addr_eq(&q->srv->addr, &path->remote)) {
        sipline__pol_res r = {.outcome = SIPLINE__POL_TRANSPORT};
        deliver(ln, q, &r, now);
      }
    }
    /* R5c: ICMP unreachable, a refused or dropped connection. The
     * transactions on it have already reported (the engine fails them
     * before telling the modules), so a close that finds the server still
     * UP had nothing of the line's in flight: an idle close, which proxies
     * do on their own (Kamailio: tcp_connection_lifetime). That one is
     * probed with a re-REGISTER over a new connection instead of failing
     * over (sipline__pol_conn_closed); every other transport error fails
     * over at once. */
    int r = why == SIPLINE_TPERR_CLOSED
                ? sipline__pol_conn_closed(ln->pol, &path->remote, path->tp,
                                           now)
                : sipline__pol_server_failed(ln->pol, &path->remote,
                                             path->tp, "transport", now);
    if (r)
      rearm(ln);
  }
}

static int m_line_status(const sipline_ua *ua, void *st, unsigned line,
                         sipline_line_status *ls) {
  reg_mod *m = st;
  reg_line *ln = line_of(m, line);
  if (!ln) {
    if (m && line && line <= m->n && m->l[line - 1].config_error)
      sipline__event_str(ls->state, sizeof ls->state, "config_error");
    return 0;
  }
  char host[136];
  sipline__ua_aor_host(sipline__pol_domain(ln->pol), host, sizeof host);
  sipline__event_str(ls->aor, sizeof ls->aor, "%s@%s",
                     ln->lc->user_id ? ln->lc->user_id : "", host);
  sipline__pol_status(ln->pol, ls);
  ls->calls = sipline__ua_line_calls(ua, line);
  if (!ln->lc->reg)
    sipline__event_str(ls->state, sizeof ls->state, "disabled");
  return 0;
}

static int m_line_target(sipline_ua *ua, void *st, unsigned line,
                         sipline__target *t) {
  reg_mod *m = st;
  reg_line *ln = line_of(m, line);
  const char *d;
  (void)ua;
  const sipline__srv *s = ln ? sipline__pol_route(ln->pol, &d) : NULL;
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  fill_target(ln, s, d, t);
  return 0;
}

static void m_on_request_failed(sipline_ua *ua, void *st, unsigned line,
                                const sipline__target *t, int err_or_status,
                                sipline_tstamp now) {
  reg_mod *m = st;
  reg_line *ln = line_of(m, line);
  char reason[32];
  if (!ln || !t)
    return;
  if (err_or_status == SIPLINE_ERR_TIMEOUT)
    snprintf(reason, sizeof reason, "timeout");
  else if (err_or_status == SIPLINE_ERR_TRANSPORT)
    snprintf(reason, sizeof reason, "transport");
  else if (err_or_status > 0 &&
           sipline_rsc_match(&ua->profile->try_backup_rsc, err_or_status))
    snprintf(reason, sizeof reason, "status:%d", err_or_status);
  else
    return; /* R9: a code Try Backup RSC does not list moves nothing */
  if (sipline__pol_server_failed(ln->pol, &t->path.remote, t->path.tp,
                                 reason, now))
    rearm(ln);
}

static void m_on_line_idle(sipline_ua *ua, void *st, unsigned line,
                           sipline_tstamp now) {
  reg_mod *m = st;
  reg_line *ln = line_of(m, line);
  (void)ua;
  if (!ln)
    return;
  sipline__pol_set_calls(ln->pol, 0, now); /* R13: a due fallback runs */
  rearm(ln);
}

const sipline__module sipline__reg_module = {
    .name = "reg",
    .init = m_init,
    .del = m_del,
    .start = m_start,
    .shutdown = m_shutdown,
    .is_shut_down = m_is_shut_down,
    .on_dns = m_on_dns,
    .on_transport_error = m_on_transport_error,
    .on_flow_rx = m_on_flow_rx,
    .line_status = m_line_status,
    .line_target = m_line_target,
    .line_alt_target = m_line_alt_target,
    .on_request_failed = m_on_request_failed,
    .on_line_idle = m_on_line_idle,
};
