/*
 * src/event/notify.c: the event module: out-of-dialog NOTIFY with Event
 * xml-service, resync, check-sync, reboot and restart (SPEC R17-R21).
 *
 * Order of checks, and why:
 *   1. Block_Nonproxy_SIP: a request from a source that is not one of the
 *      line's proxies is refused before anything else is looked at.
 *   2. the line, by Request-URI user (404 when none);
 *   3. the event package (489 for an unknown one, or resync when Resync
 *      From SIP = No): cheap, and tells a legitimate sender what is wrong;
 *   4. digest (R17-R18) when Auth Resync-Reboot = Yes, through the auth
 *      layer's server (stateless HMAC nonces, nc replay window, constant
 *      time): 401 challenge, 401 stale=true, 403 for a replay;
 *   5. only then the body (400 / 415) and the execution events.
 * Every answer to a request that has not authenticated goes through the
 * per-source and global challenge limiter first, so the phone cannot be
 * used to reflect traffic at a spoofed address: over the limit the request
 * is dropped without an answer and one auth_failed event per window says so.
 *
 * Nothing here ever puts a password, a digest response or a nonce into an
 * event.
 */
#include <stdio.h>
#include <string.h>

#include "event/event.h"
#include "sipline/auth.h"
#include "sipline/event.h"
#include "ua/ua.h"

/* Priority-1 items waiting for their line to be idle (all lines). */
#define QUEUE_MAX 32
#define QUEUE_MAX_PER_LINE 8
/* One auth_failed event per window for dropped (rate-limited) requests. */
#define DROP_WINDOW_MS 10000

typedef struct qitem {
  struct qitem *next;
  unsigned line;
  unsigned id;
  char from[80];
  char url[SIPLINE_EXEC_MAX_URL + 1];
} qitem;

typedef struct ev_state {
  sipline_auth_server *auth;
  uint8_t secret[64]; /* kept to rebuild the server with new limits */
  size_t secret_len;
  sipline_notify_limits lim;
  sipline_rng rng; /* nonce salts; private, so the UA's sequence (and every
                      simulation timeline) does not depend on NOTIFYs */
  qitem *qhead;
  unsigned nq;
  unsigned next_id;
  sipline_tstamp drop_window; /* start of the current window */
  int drop_reported;
  /* counters (tests, status) */
  uint64_t n_accepted, n_challenged, n_refused, n_dropped;
} ev_state;

static const sipline_mem *st_mem(sipline_ua *ua) {
  return ua->mem;
}

/* ---- the authenticator ---- */

/*
 * Replay-table slots for a global challenge rate: a nonce must stay in the
 * table until its client answers it, and each challenge takes a slot, so
 * the table must cover what is issued in about two seconds. The default
 * 1024 suits the default 200/s; raised limits (siplined
 * --challenge-limit-global) get more, up to 65536 (~4 MiB): past it a
 * nonce answered too late comes back stale (a new challenge, never an
 * accepted replay). bench/notify at 6,700 challenges/s: 20 of 74,000
 * authenticated NOTIFYs got a stale 401 with 1024 slots.
 */
static uint32_t replay_slots(uint32_t global_rate) {
  uint64_t n = 2 * (uint64_t)global_rate;
  return n < 1024 ? 1024 : n > 65536 ? 65536 : (uint32_t)n;
}

static int make_auth(sipline_ua *ua, ev_state *s) {
  sipline_auth_server_cfg cfg = {
      .replay_slots = replay_slots(s->lim.global_rate),
      .secret = s->secret,
      .secret_len = s->secret_len,
      .algs = SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_MD5) |
              SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA256),
      .rl_rate = s->lim.rate,
      .rl_burst = s->lim.burst,
      .rl_global_rate = s->lim.global_rate,
      .rl_global_burst = s->lim.global_burst,
  };
  sipline_auth_server *a = NULL;
  int rc = sipline_auth_server_new(&a, &cfg, st_mem(ua));
  if (rc)
    return rc;
  sipline_auth_server_del(s->auth);
  s->auth = a;
  return 0;
}

int sipline_ua_set_notify_secret(sipline_ua *ua, const uint8_t *secret,
                                 size_t len) {
  if (!ua || !secret || len < 16 || len > 64)
    return SIPLINE_ERR_INVAL;
  ev_state *s = sipline__ua_module_state(ua, "event");
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  uint8_t old[64];
  size_t old_len = s->secret_len;
  memcpy(old, s->secret, sizeof(old));
  memcpy(s->secret, secret, len);
  s->secret_len = len;
  int rc = make_auth(ua, s);
  if (rc) {
    memcpy(s->secret, old, sizeof(old));
    s->secret_len = old_len;
  }
  memset(old, 0, sizeof(old));
  return rc;
}

int sipline_ua_set_notify_limits(sipline_ua *ua,
                                 const sipline_notify_limits *lim) {
  if (!ua || !lim)
    return SIPLINE_ERR_INVAL;
  ev_state *s = sipline__ua_module_state(ua, "event");
  if (!s)
    return SIPLINE_ERR_NOTFOUND;
  sipline_notify_limits old = s->lim;
  s->lim = *lim;
  int rc = make_auth(ua, s);
  if (rc)
    s->lim = old;
  return rc;
}

static int ev_init(sipline_ua *ua, void **pst) {
  ev_state *s = sipline_mem_calloc(ua->mem, 1, sizeof(*s));
  if (!s)
    return SIPLINE_ERR_NOMEM;
  /*
   * A private generator derived from the UA's state without advancing it:
   * the default secret and the nonce salts. Deterministic for a seeded
   * simulation; the daemon replaces the secret with
   * sipline_ua_set_notify_secret().
   */
  uint64_t mix = 0x6e6f746966797365ull; /* "notifyse" */
  for (int i = 0; i < 4; i++)
    mix = mix * 0x9e3779b97f4a7c15ull ^ ua->rng.s[i];
  sipline_rng_seed(&s->rng, mix);
  for (int i = 0; i < 4; i++) {
    uint64_t v = sipline_rng_next(&s->rng);
    memcpy(s->secret + 8 * i, &v, 8);
  }
  s->secret_len = 32;
  int rc = make_auth(ua, s);
  if (rc) {
    memset(s->secret, 0, sizeof(s->secret));
    sipline_mem_free(ua->mem, s);
    return rc;
  }
  *pst = s;
  return 0;
}

static void ev_del(sipline_ua *ua, void *st) {
  ev_state *s = st;
  if (!s)
    return;
  while (s->qhead) {
    qitem *q = s->qhead;
    s->qhead = q->next;
    sipline_mem_free(ua->mem, q);
  }
  sipline_auth_server_del(s->auth);
  volatile uint8_t *v = s->secret;
  for (size_t i = 0; i < sizeof(s->secret); i++)
    v[i] = 0;
  sipline_mem_free(ua->mem, s);
}

/* ---- helpers ---- */

/* Copies a view into an event field, control characters shown as '?'. */
static void put(char *dst, size_t cap, sipline_pl v) {
  size_t n = SIPLINE__MIN(v.len, cap - 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v.p[i];
    dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  dst[n] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
    return (c | 0x20) - 'a' + 10;
  return -1;
}

/* The Request-URI user (%-escapes decoded) equals s exactly. */
static int user_eq(sipline_pl u, const char *s) {
  size_t k = 0, n = strlen(s);
  for (size_t i = 0; i < u.len; i++, k++) {
    char c = u.p[i];
    if (c == '%' && i + 2 < u.len && hexval(u.p[i + 1]) >= 0 &&
        hexval(u.p[i + 2]) >= 0) {
      c = (char)(hexval(u.p[i + 1]) * 16 + hexval(u.p[i + 2]));
      i += 2;
    }
    if (k >= n || s[k] != c)
      return 0;
  }
  return k == n;
}

static unsigned find_line(const sipline_ua *ua, const sipline_msg *req) {
  sipline_pl user = req->ruri.user;
  if (!user.len || !ua->profile)
    return 0;
  for (unsigned n = 1; n <= ua->profile->n_lines; n++) {
    const sipline_line_cfg *l = sipline__ua_line_cfg(ua, n);
    if (l && l->user_id && user_eq(user, l->user_id))
      return n;
  }
  return 0;
}

/* The host of a "host[:port]..." server string ("[v6]" kept whole). */
static sipline_pl server_host(const char *s) {
  sipline_pl h = {s, 0};
  if (!s)
    return h;
  if (s[0] == '[') {
    const char *e = strchr(s, ']');
    h.len = e ? (size_t)(e - s) + 1 : strlen(s);
    return h;
  }
  while (s[h.len] && s[h.len] != ':' && s[h.len] != '|')
    h.len++;
  return h;
}

static int ip_eq(const sipline_addr *a, const sipline_addr *b) {
  if (!a->family || a->family != b->family)
    return 0;
  return memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

/* Does src match an IP literal (or an A=ip,ip list) in a server string? */
static int cfg_has_ip(const char *cfg, const sipline_addr *src) {
  if (!cfg)
    return 0;
  const char *p = cfg;
  while (*p) {
    const char *bar = strchr(p, '|');
    size_t elen = bar ? (size_t)(bar - p) : strlen(p);
    char ent[256];
    if (elen < sizeof(ent)) {
      memcpy(ent, p, elen);
      ent[elen] = '\0';
      sipline_pl h = server_host(ent);
      sipline_addr a;
      if (sipline_addr_parse(h.p, h.len, &a) == 0 && ip_eq(&a, src))
        return 1;
      /* the static SRV form's ":A=ip,ip" */
      const char *A = strstr(ent, ":A=");
      if (A) {
        const char *q = A + 3;
        while (*q) {
          size_t n = strcspn(q, ",:");
          if (sipline_addr_parse(q, n, &a) == 0 && ip_eq(&a, src))
            return 1;
          if (q[n] != ',')
            break;
          q += n + 1;
        }
      }
    }
    if (!bar)
      break;
    p = bar + 1;
  }
  return 0;
}

/*
 * Block_Nonproxy_SIP: is src one of the line's proxies? The configured IP
 * literals, and whatever addresses the registration module reports for the
 * line's servers (names it resolved).
 */
static int from_proxy(const sipline_ua *ua, unsigned line,
                      const sipline_addr *src) {
  const sipline_line_cfg *l = sipline__ua_line_cfg(ua, line);
  if (!l)
    return 0;
  if (cfg_has_ip(l->proxy, src) || cfg_has_ip(l->outbound_proxy, src) ||
      cfg_has_ip(l->alt_proxy, src) || cfg_has_ip(l->alt_outbound_proxy, src))
    return 1;
  sipline_line_status st;
  if (sipline_ua_line_status(ua, line, &st) == 0) {
    for (unsigned i = 0; i < st.n_servers && i < SIPLINE_MAX_SERVERS; i++) {
      sipline_addr a;
      if (sipline_addr_parse(st.servers[i].addr, strlen(st.servers[i].addr),
                             &a) == 0 &&
          ip_eq(&a, src))
        return 1;
    }
  }
  sipline__target t;
  if (sipline__ua_line_target((sipline_ua *)ua, line, &t) == 0 &&
      ip_eq(&t.path.remote, src))
    return 1;
  return 0;
}

/* The realm we challenge with: the line's proxy domain, else "sipline". */
static sipline_pl line_realm(const sipline_line_cfg *l, char *buf, size_t cap) {
  sipline_pl h = server_host(l->proxy);
  if (!h.len || h.len >= cap)
    return SIPLINE_PL("sipline");
  memcpy(buf, h.p, h.len);
  buf[h.len] = '\0';
  return (sipline_pl){buf, h.len};
}

typedef enum pkg {
  PKG_NONE = 0,
  PKG_XML_SERVICE,
  PKG_RESYNC,
  PKG_CHECK_SYNC,
  PKG_REBOOT,
  PKG_RESTART,
} pkg;

static pkg classify(sipline_pl ev) {
  if (sipline_pl_casecmp_str(ev, "xml-service"))
    return PKG_XML_SERVICE;
  if (sipline_pl_casecmp_str(ev, "resync"))
    return PKG_RESYNC;
  if (sipline_pl_casecmp_str(ev, "check-sync"))
    return PKG_CHECK_SYNC;
  if (sipline_pl_casecmp_str(ev, "reboot"))
    return PKG_REBOOT;
  if (sipline_pl_casecmp_str(ev, "restart"))
    return PKG_RESTART;
  return PKG_NONE;
}

#define ALLOW_EVENTS                                                           \
  "Allow-Events: xml-service, resync, check-sync, reboot, restart\r\n"

/* What one request is, for events. */
typedef struct req_ctx {
  sipline_ua *ua;
  ev_state *s;
  sipline__stx *stx;
  const sipline_msg *req;
  const sipline_path *path;
  sipline_tstamp now;
  unsigned line;
  char src[80];  /* the source address */
  char from[80]; /* the From URI (sanitised) */
  char package[32];
} req_ctx;

static void emit_notify(req_ctx *c, int status, const char *reason) {
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_NOTIFY, c->line);
  ev.status = status;
  sipline__event_str(ev.text, sizeof(ev.text), "%s", c->package);
  sipline__event_str(ev.from, sizeof(ev.from), "%s", c->from);
  sipline__event_str(ev.server, sizeof(ev.server), "%s", c->src);
  if (reason)
    sipline__event_str(ev.reason, sizeof(ev.reason), "%s", reason);
  sipline__ua_emit(c->ua, &ev);
}

static void emit_auth_failed(req_ctx *c, int status, const char *reason) {
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_AUTH_FAILED, c->line);
  ev.status = status;
  sipline__event_str(ev.from, sizeof(ev.from), "%s", c->src);
  sipline__event_str(ev.reason, sizeof(ev.reason), "%s", reason);
  sipline__event_str(ev.text, sizeof(ev.text), "%s %s", c->package, c->from);
  sipline__ua_emit(c->ua, &ev);
}

/*
 * May we answer an unauthenticated request? Consults the limiter keyed by
 * the source IP (not the port: a flood from one host with many ports is
 * one source). When not, the request is dropped silently and reported once
 * per window.
 */
static int may_answer(req_ctx *c) {
  const sipline_addr *a = &c->path->remote;
  uint8_t key[17];
  key[0] = a->family;
  size_t n = a->family == 6 ? 16 : 4;
  memcpy(key + 1, a->ip, n);
  if (sipline_auth_server_allow(c->s->auth, key, n + 1, c->now) == 0)
    return 1;
  c->s->n_dropped++;
  if (!c->s->drop_reported || c->now >= c->s->drop_window + DROP_WINDOW_MS) {
    c->s->drop_window = c->now;
    c->s->drop_reported = 1;
    emit_auth_failed(c, 0, "rate limited: dropping unanswered");
  }
  sipline__stx_abandon(c->stx, c->now);
  return 0;
}

static void respond(req_ctx *c, int status, const char *reason,
                    const char *headers) {
  sipline__resp r = {.status = status, .reason = reason, .headers = headers};
  if (sipline__stx_respond(c->stx, &r, c->now) != 0)
    sipline__stx_abandon(c->stx, c->now);
}

/* A refusal before authentication: limited, and reported as asked. */
static void refuse(req_ctx *c, int status, const char *reason,
                   const char *headers, int auth_event) {
  if (!may_answer(c))
    return;
  c->s->n_refused++;
  respond(c, status, reason, headers);
  if (auth_event)
    emit_auth_failed(c, status, reason);
  else
    emit_notify(c, status, reason);
}

/* 401 with a fresh nonce (MD5 first, then SHA-256: R17). */
static void challenge(req_ctx *c, sipline_pl realm, int stale,
                      const char *why) {
  if (!may_answer(c))
    return;
  char hdrs[1024];
  sipline_auth_challenge ch = {.realm = realm,
                               .stale = stale,
                               .kind = SIPLINE_AUTH_WWW,
                               .rng = &c->s->rng,
                               .now = c->now};
  ptrdiff_t n =
      sipline_auth_server_challenge(c->s->auth, &ch, hdrs, sizeof(hdrs));
  if (n < 0) {
    respond(c, 500, NULL, NULL);
    return;
  }
  c->s->n_challenged++;
  respond(c, 401, NULL, hdrs);
  if (why)
    emit_auth_failed(c, 401, why);
}

/* ---- execution ---- */

static void emit_exec(req_ctx *c, unsigned line, unsigned id,
                      const sipline_exec_item *it, const char *state,
                      const char *reason) {
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_EXECUTE, line);
  ev.id = id;
  ev.priority = (int)it->priority;
  sipline__event_str(ev.text, sizeof(ev.text), "%s", it->url);
  sipline__event_str(ev.state, sizeof(ev.state), "%s", state);
  sipline__event_str(ev.from, sizeof(ev.from), "%s", c->from);
  if (reason)
    sipline__event_str(ev.reason, sizeof(ev.reason), "%s", reason);
  sipline__ua_emit(c->ua, &ev);
}

static unsigned queued_for(const ev_state *s, unsigned line) {
  unsigned n = 0;
  for (const qitem *q = s->qhead; q; q = q->next)
    n += q->line == line;
  return n;
}

static void execute(req_ctx *c, const sipline_exec *x) {
  int idle = sipline__ua_line_calls(c->ua, c->line) == 0;
  for (unsigned i = 0; i < x->n; i++) {
    const sipline_exec_item *it = &x->items[i];
    unsigned id = ++c->s->next_id;
    if (it->internal || it->priority == SIPLINE_EXEC_NOW || idle) {
      emit_exec(c, c->line, id, it, "now", NULL);
      continue;
    }
    if (it->priority == SIPLINE_EXEC_IF_IDLE) {
      emit_exec(c, c->line, id, it, "dropped", "line busy");
      continue;
    }
    /* WHEN_IDLE on a busy line: keep it, bounded. */
    qitem *q = NULL;
    if (c->s->nq < QUEUE_MAX && queued_for(c->s, c->line) < QUEUE_MAX_PER_LINE)
      q = sipline_mem_calloc(c->ua->mem, 1, sizeof(*q));
    if (!q) {
      emit_exec(c, c->line, id, it, "dropped", "queue full");
      continue;
    }
    q->line = c->line;
    q->id = id;
    memcpy(q->from, c->from, sizeof(q->from));
    memcpy(q->url, it->url, sizeof(q->url));
    qitem **tail = &c->s->qhead;
    while (*tail)
      tail = &(*tail)->next;
    *tail = q;
    c->s->nq++;
    emit_exec(c, c->line, id, it, "queued", "line busy");
  }
}

void sipline__event_line_idle(sipline_ua *ua, unsigned line,
                              sipline_tstamp now) {
  ev_state *s = sipline__ua_module_state(ua, "event");
  (void)now;
  if (!s)
    return;
  /* The line may have become busy again in between (a callback placed a
   * call): only run when it really is idle. */
  if (sipline__ua_line_calls(ua, line) != 0)
    return;
  qitem **pp = &s->qhead;
  while (*pp) {
    qitem *q = *pp;
    if (q->line != line) {
      pp = &q->next;
      continue;
    }
    *pp = q->next;
    s->nq--;
    sipline_event ev;
    sipline__event_init(&ev, SIPLINE_EV_EXECUTE, line);
    ev.id = q->id;
    ev.priority = SIPLINE_EXEC_WHEN_IDLE;
    sipline__event_str(ev.text, sizeof(ev.text), "%s", q->url);
    sipline__event_str(ev.state, sizeof(ev.state), "run");
    sipline__event_str(ev.from, sizeof(ev.from), "%s", q->from);
    sipline__ua_emit(ua, &ev);
    sipline_mem_free(ua->mem, q);
  }
}

static void ev_on_line_idle(sipline_ua *ua, void *st, unsigned line,
                            sipline_tstamp now) {
  (void)st;
  sipline__event_line_idle(ua, line, now);
}

/* ---- the request ---- */

static void accepted(req_ctx *c, pkg k) {
  c->s->n_accepted++;
  if (k != PKG_XML_SERVICE) {
    /* resync / check-sync / reboot / restart: the application runs the
     * profile's command (R21); the library only says so. */
    respond(c, 200, NULL, NULL);
    emit_notify(c, 200, NULL);
    return;
  }
  sipline_exec x;
  sipline_exec_error err;
  int rc = sipline_exec_parse(c->req->content_type, c->req->body, &x, &err,
                              c->ua->mem);
  if (rc == SIPLINE_ERR_NOMEM) {
    respond(c, 500, NULL, NULL);
    emit_notify(c, 500, "out of memory");
    return;
  }
  if (rc) {
    /* 415 lists what we take (RFC 3261 §21.4.13). */
    const char *h = err.status == 415
                        ? "Accept: application/x-cisco-remotecc-request+xml, "
                          "text/xml, application/xml, text/plain, "
                          "text/html\r\n"
                        : NULL;
    respond(c, err.status, err.reason, h);
    emit_notify(c, err.status, err.reason);
    return;
  }
  respond(c, 200, NULL, NULL);
  emit_notify(c, 200, NULL);
  execute(c, &x);
}

static int ev_on_request(sipline_ua *ua, void *st, sipline__stx *stx,
                         const sipline_msg *req, const sipline_path *path,
                         sipline_tstamp now) {
  ev_state *s = st;
  /* In-dialog NOTIFYs (a To tag) belong to the dialog's subscription. */
  if (!stx || req->method != SIPLINE_METHOD_NOTIFY || req->to.tag.len)
    return 0;
  req_ctx c = {
      .ua = ua, .s = s, .stx = stx, .req = req, .path = path, .now = now};
  sipline_addr_format(&path->remote, c.src, sizeof(c.src));
  put(c.from, sizeof(c.from), req->from.uri_raw);
  const sipline_hdr *eh = sipline_msg_hdr(req, SIPLINE_HDR_EVENT, 0);
  sipline_pl evtype = SIPLINE_PL_NULL;
  if (eh) {
    const char *semi = memchr(eh->value.p, ';', eh->value.len);
    evtype = sipline_pl_trim((sipline_pl){
        eh->value.p, semi ? (size_t)(semi - eh->value.p) : eh->value.len});
  }
  put(c.package, sizeof(c.package), evtype);

  c.line = find_line(ua, req);
  /* 1. Block_Nonproxy_SIP (with no line, no proxy to come from). */
  if (ua->profile && ua->profile->block_nonproxy_sip &&
      (!c.line || !from_proxy(ua, c.line, &path->remote))) {
    refuse(&c, 403, "not from a configured proxy", NULL, 1);
    return 1;
  }
  /* 2. The line. */
  if (!c.line) {
    refuse(&c, 404, "no line for this user", NULL, 0);
    return 1;
  }
  const sipline_line_cfg *l = sipline__ua_line_cfg(ua, c.line);
  /* 3. The package. */
  if (!eh) {
    refuse(&c, 400, "missing Event header", NULL, 0);
    return 1;
  }
  pkg k = classify(evtype);
  if (k == PKG_NONE) {
    refuse(&c, 489, NULL, ALLOW_EVENTS, 0);
    return 1;
  }
  if ((k == PKG_RESYNC || k == PKG_CHECK_SYNC) && ua->profile &&
      !ua->profile->resync_from_sip) {
    refuse(&c, 489, "resync from SIP disabled", ALLOW_EVENTS, 0);
    return 1;
  }
  /* 4. Digest (R17-R18). */
  if (l->auth_resync_reboot) {
    const char *user = l->use_auth_id && l->auth_id ? l->auth_id : l->user_id;
    if (!l->password || !user) {
      /* Nothing to check against: never accept unauthenticated. */
      refuse(&c, 403, "no password configured for the line", NULL, 1);
      return 1;
    }
    char rb[128];
    sipline_pl realm = line_realm(l, rb, sizeof(rb));
    if (!sipline_msg_hdr(req, SIPLINE_HDR_AUTHORIZATION, 0)) {
      challenge(&c, realm, 0, NULL);
      return 1;
    }
    sipline_auth_expect e = {.user = sipline_pl_str(user),
                             .realm = realm,
                             .password = sipline_pl_str(l->password)};
    int rc = sipline_auth_server_verify_msg(s->auth, req, &e, now);
    switch (rc) {
    case 0:
      break;
    case SIPLINE_ERR_STALE:
      challenge(&c, realm, 1, NULL);
      return 1;
    case SIPLINE_ERR_REPLAY:
      refuse(&c, 403, "replayed nonce count", NULL, 1);
      return 1;
    case SIPLINE_ERR_AUTH:
      challenge(&c, realm, 0, "wrong credentials");
      return 1;
    default:
      return rc; /* the engine answers 500 */
    }
  }
  /* 5. Accepted. */
  accepted(&c, k);
  return 1;
}

static unsigned ev_line_queued(const sipline_ua *ua, void *st, unsigned line) {
  (void)ua;
  return queued_for(st, line);
}

const sipline__module sipline__event_module = {
    .name = "event",
    .init = ev_init,
    .del = ev_del,
    .on_request = ev_on_request,
    .on_line_idle = ev_on_line_idle,
};

unsigned sipline__event_queued(const sipline_ua *ua, unsigned line) {
  ev_state *s = sipline__ua_module_state(ua, "event");
  return s ? ev_line_queued(ua, s, line) : 0;
}
