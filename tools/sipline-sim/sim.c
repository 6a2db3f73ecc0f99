/*
 * tools/sipline-sim/sim.c: the simulator's engine (SIM.md).
 *
 * One virtual clock drives everything. Each step jumps to the earliest of:
 * the UA's deadline, the next scripted server change, the next delivery on
 * the simulated network, the next call action, and the end. Same-time work is
 * done in a fixed order (server changes, deliveries in send order, calls,
 * the UA's timers), so a scenario and seed give one timeline.
 *
 * The network delivers every message after latency_ms (default 10 ms) one
 * way. UDP carries datagrams; TCP and TLS carry byte streams over simulated
 * connections (TLS is TCP here: no handshake is simulated), which a server
 * in `refuse` refuses and a server going `close` resets.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "sip.h"

/* ---------------------------------------------------------------- basics */

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "sipline-sim: out of memory\n");
    exit(3);
  }
  return p;
}
static void *xcalloc(size_t n, size_t s) {
  void *p = calloc(n ? n : 1, s ? s : 1);
  if (!p) {
    fprintf(stderr, "sipline-sim: out of memory\n");
    exit(3);
  }
  return p;
}
static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) {
    fprintf(stderr, "sipline-sim: out of memory\n");
    exit(3);
  }
  return p;
}
static char *xstrdup(const char *s) {
  size_t n = strlen(s);
  char *d = xmalloc(n + 1);
  memcpy(d, s, n + 1);
  return d;
}

typedef struct sb {
  char *p;
  size_t len, cap;
} sb;

static void sb_add(sb *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 256;
    while (c < b->len + n + 1)
      c *= 2;
    b->p = xrealloc(b->p, c);
    b->cap = c;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void sb_str(sb *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_printf(sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof tmp) {
    sb_add(b, tmp, (size_t)n);
    return;
  }
  char *big = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_add(b, big, (size_t)n);
  free(big);
}

static void sb_json_str(sb *b, const char *s, size_t n) {
  sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_add(b, e, 2);
    } else if (c < 0x20) {
      sb_printf(b, "\\u%04x", c);
    } else {
      sb_add(b, (const char *)&c, 1);
    }
  }
  sb_add(b, "\"", 1);
}
static void jstr(sb *b, const char *k, const char *v) {
  sb_printf(b, ",\"%s\":", k);
  sb_json_str(b, v, strlen(v));
}
static void jstrn(sb *b, const char *k, const char *v, size_t n) {
  sb_printf(b, ",\"%s\":", k);
  sb_json_str(b, v, n);
}
static void jint(sb *b, const char *k, long long v) {
  sb_printf(b, ",\"%s\":%lld", k, v);
}
static void jsecs(sb *b, const char *k, sipline_tstamp ms) {
  sb_printf(b, ",\"%s\":%llu.%03u", k, (unsigned long long)(ms / 1000),
            (unsigned)(ms % 1000));
}

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ull;
  }
  return h;
}
#define FNV0 1469598103934665603ull

/* ---------------------------------------------------------------- model */

typedef enum bdo {
  B_SILENT = 0, /* before a server's first entry, too */
  B_OK,
  B_OK_EXPIRES,
  B_REFUSE,
  B_CLOSE,
  B_REPLY,
  B_REJECT_AUTH,
} bdo;

typedef struct behav {
  sipline_tstamp at;
  bdo what;
  int code;
  uint32_t max_expires;
  int has_retry_after;
  uint32_t retry_after;
  int has_min_expires;
  uint32_t min_expires;
} behav;

typedef struct server {
  char name[96]; /* the key as written: host:port */
  sipline_addr addr;
  behav *b;
  size_t nb;
  size_t next; /* index of the next change to apply */
  bdo cur_what;
  const behav *cur;
  unsigned nonce_seq;
} server;

typedef struct dnsname {
  char *name;
  sipline_dns_rr *rr;
  size_t n;
} dnsname;

typedef struct call {
  sipline_tstamp at;
  sipline_tstamp hangup_at; /* NONE: never */
  unsigned line;
  char to[128];
  unsigned id;
  int placed, hung;
} call;

typedef enum nkind { N_TO_SERVER, N_TO_UA, N_TPERR } nkind;

typedef struct nitem {
  sipline_tstamp t;
  uint64_t seq;
  nkind k;
  int why;
  int conn; /* index into conns, -1 for UDP */
  sipline_path path;
  char *data;
  size_t len;
} nitem;

typedef enum cstate { C_CLOSED = 0, C_CONNECTING, C_OPEN } cstate;

typedef struct conn {
  sipline_path path; /* UA's view: local = UA, remote = server */
  cstate st;
  sb pend; /* UA->server bytes not yet framed into messages */
  int next; /* hash chain */
} conn;

typedef struct cred {
  char *key;
  const char *password; /* NULL: the line is not challenged */
  unsigned line;
  int next;
} cred;

struct sim {
  char *path;
  char *dir;
  sim_opts o;
  cJSON *root;
  sipline_profile *profile;
  sipline_ua *ua;

  server *srv;
  size_t nsrv;
  dnsname *dns;
  size_t ndns;
  call *calls;
  size_t ncalls;
  size_t next_call;
  sipline_tstamp until;
  uint64_t seed;
  sipline_tstamp latency;
  const cJSON *expect;

  /* network */
  nitem *heap;
  size_t nheap, capheap;
  uint64_t seq;
  conn *conns;
  size_t nconns, capconns;
  int *cbuckets;
  size_t ncbuckets;

  cred *creds;
  size_t ncreds, capcreds;
  int *credb;
  size_t ncredb;

  sipline_tstamp now;
  int started;
  sb line;
  char **tl;
  size_t ntl, captl;
  sim_stats stats;
};

static unsigned line_of(const sim *s, const ssip_msg *m);

/* ---------------------------------------------------------------- errors */

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return 2;
}

/* ---------------------------------------------------------------- addrs */

/* host:port, [v6]:port, or a bare IP (port 0). */
static int addr_parse(const char *s, sipline_addr *a) {
  char host[80];
  const char *port = NULL;
  memset(a, 0, sizeof(*a));
  if (*s == '[') {
    const char *e = strchr(s, ']');
    if (!e || (size_t)(e - s - 1) >= sizeof host)
      return -1;
    memcpy(host, s + 1, (size_t)(e - s - 1));
    host[e - s - 1] = 0;
    if (e[1] == ':')
      port = e + 2;
    else if (e[1])
      return -1;
  } else {
    const char *c = strchr(s, ':');
    if (c && strchr(c + 1, ':')) { /* bare IPv6 */
      if (strlen(s) >= sizeof host)
        return -1;
      strcpy(host, s);
    } else {
      size_t n = c ? (size_t)(c - s) : strlen(s);
      if (n >= sizeof host)
        return -1;
      memcpy(host, s, n);
      host[n] = 0;
      if (c)
        port = c + 1;
    }
  }
  if (inet_pton(AF_INET, host, a->ip) == 1)
    a->family = 4;
  else if (inet_pton(AF_INET6, host, a->ip) == 1)
    a->family = 6;
  else
    return -2; /* not an IP literal: maybe a name */
  if (port) {
    char *end;
    unsigned long v = strtoul(port, &end, 10);
    if (*end || v == 0 || v > 65535)
      return -1;
    a->port = (uint16_t)v;
  }
  return 0;
}

static void addr_fmt(const sipline_addr *a, char *out, size_t cap) {
  char ip[64] = "?";
  if (a->family == 4)
    inet_ntop(AF_INET, a->ip, ip, sizeof ip);
  else if (a->family == 6)
    inet_ntop(AF_INET6, a->ip, ip, sizeof ip);
  if (a->family == 6)
    snprintf(out, cap, "[%s]:%u", ip, a->port);
  else
    snprintf(out, cap, "%s:%u", ip, a->port);
}

static int addr_same(const sipline_addr *a, const sipline_addr *b) {
  if (a->family != b->family || a->port != b->port)
    return 0;
  return memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static int path_same(const sipline_path *a, const sipline_path *b) {
  return a->tp == b->tp && addr_same(&a->local, &b->local) &&
         addr_same(&a->remote, &b->remote);
}

static uint64_t path_hash(const sipline_path *p) {
  uint64_t h = fnv(&p->tp, sizeof p->tp, FNV0);
  h = fnv(p->local.ip, 16, h);
  h = fnv(&p->local.port, 2, h);
  h = fnv(p->remote.ip, 16, h);
  return fnv(&p->remote.port, 2, h);
}

static server *server_by_addr(sim *s, const sipline_addr *a) {
  for (size_t i = 0; i < s->nsrv; i++)
    if (addr_same(&s->srv[i].addr, a))
      return &s->srv[i];
  return NULL;
}

static void peer_name(sim *s, const sipline_addr *a, char *out, size_t cap) {
  server *v = server_by_addr(s, a);
  if (v)
    snprintf(out, cap, "%s", v->name);
  else
    addr_fmt(a, out, cap);
}

static const char *tp_name(sipline_transport tp) {
  switch (tp) {
  case SIPLINE_TP_UDP: return "UDP";
  case SIPLINE_TP_TCP: return "TCP";
  case SIPLINE_TP_TLS: return "TLS";
  default: return "Auto";
  }
}

/* ---------------------------------------------------------------- output */

static void line_begin(sim *s, const char *event, unsigned line) {
  s->line.len = 0;
  sb_add(&s->line, "", 0);
  sb_printf(&s->line, "{\"t\":%llu.%03u", (unsigned long long)(s->now / 1000),
            (unsigned)(s->now % 1000));
  if (line)
    jint(&s->line, "line", line);
  jstr(&s->line, "event", event);
}

static void line_end(sim *s) {
  sb_add(&s->line, "}\n", 2);
  if (s->o.out)
    fwrite(s->line.p, 1, s->line.len, s->o.out);
  if (s->o.keep_timeline) {
    if (s->ntl == s->captl) {
      s->captl = s->captl ? 2 * s->captl : 1024;
      s->tl = xrealloc(s->tl, s->captl * sizeof(char *));
    }
    s->tl[s->ntl++] = xstrdup(s->line.p);
  }
}

static int printing(const sim *s) { return s->o.out || s->o.keep_timeline; }

/* tx/rx lines: one per SIP message (or keep-alive) on the wire. */
static void print_wire(sim *s, const char *ev, const sipline_path *p,
                       const char *data, size_t len, const char *extra) {
  if (s->o.events_only || !printing(s))
    return;
  char peer[96];
  peer_name(s, &p->remote, peer, sizeof peer);
  ssip_msg m;
  int parsed = len > 4 && ssip_parse(&m, data, len) == 0;
  line_begin(s, ev, parsed ? line_of(s, &m) : 0);
  if (len == 0 || (len <= 4 && (data[0] == '\r' || data[0] == '\n'))) {
    jstr(&s->line, "keepalive", len >= 4 ? "ping" : "pong");
  } else if (parsed) {
    if (m.is_req)
      jstrn(&s->line, "method", m.method.p, m.method.len);
    else
      jint(&s->line, "status", m.status);
  } else {
    jstr(&s->line, "malformed", "yes");
  }
  jstr(&s->line, *ev == 't' ? "to" : "from", peer);
  jstr(&s->line, "transport", tp_name(p->tp));
  if (parsed && m.cseq.p) {
    jint(&s->line, "cseq", m.cseq_n);
    const char *sp = memchr(m.cseq.p, ' ', m.cseq.len);
    spl cm = {NULL, 0};
    if (sp)
      cm = (spl){sp + 1, (size_t)(m.cseq.p + m.cseq.len - sp - 1)};
    if (!m.is_req && cm.p)
      jstrn(&s->line, "method", cm.p, cm.len);
    if (m.is_req)
      jstrn(&s->line, "uri", m.ruri.p, m.ruri.len);
    /* The expiry a REGISTER asks for or a 2xx grants (R11, R12). */
    uint32_t ex;
    if (cm.len == 8 && memcmp(cm.p, "REGISTER", 8) == 0 &&
        (m.is_req || m.status / 100 == 2)) {
      if (ssip_contact_expires(&m, &ex) || (m.has_expires && (ex = m.expires,
                                                              1)))
        jint(&s->line, "expires", ex);
    }
  }
  if (extra)
    sb_str(&s->line, extra);
  line_end(s);
}

/* ---------------------------------------------------------------- network */

static int heap_less(const nitem *a, const nitem *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void net_push(sim *s, nitem it) {
  it.seq = s->seq++;
  if (s->nheap == s->capheap) {
    s->capheap = s->capheap ? 2 * s->capheap : 256;
    s->heap = xrealloc(s->heap, s->capheap * sizeof(nitem));
  }
  size_t i = s->nheap++;
  while (i > 0) {
    size_t par = (i - 1) / 2;
    if (!heap_less(&it, &s->heap[par]))
      break;
    s->heap[i] = s->heap[par];
    i = par;
  }
  s->heap[i] = it;
}

static nitem net_pop(sim *s) {
  nitem top = s->heap[0];
  nitem last = s->heap[--s->nheap];
  size_t n = s->nheap, i = 0;
  if (n == 0)
    return top;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m;
    if (l >= n)
      break;
    m = l;
    if (r < n && heap_less(&s->heap[r], &s->heap[l]))
      m = r;
    if (!heap_less(&s->heap[m], &last))
      break;
    s->heap[i] = s->heap[m];
    i = m;
  }
  s->heap[i] = last;
  return top;
}

static int conn_find(sim *s, const sipline_path *p, int create) {
  if (!s->ncbuckets) {
    s->ncbuckets = 4096;
    s->cbuckets = xmalloc(s->ncbuckets * sizeof(int));
    for (size_t i = 0; i < s->ncbuckets; i++)
      s->cbuckets[i] = -1;
  }
  size_t b = path_hash(p) % s->ncbuckets;
  for (int i = s->cbuckets[b]; i >= 0; i = s->conns[i].next)
    if (path_same(&s->conns[i].path, p))
      return i;
  if (!create)
    return -1;
  if (s->nconns == s->capconns) {
    s->capconns = s->capconns ? 2 * s->capconns : 64;
    s->conns = xrealloc(s->conns, s->capconns * sizeof(conn));
  }
  conn *c = &s->conns[s->nconns];
  memset(c, 0, sizeof(*c));
  c->path = *p;
  c->next = s->cbuckets[b];
  s->cbuckets[b] = (int)s->nconns;
  return (int)s->nconns++;
}

static void send_to_ua(sim *s, const sipline_path *p, int ci, const char *data,
                       size_t len) {
  nitem it = {.t = s->now + s->latency, .k = N_TO_UA, .conn = ci,
              .path = *p, .data = xmalloc(len), .len = len};
  memcpy(it.data, data, len);
  net_push(s, it);
}

static void tperr_to_ua(sim *s, const sipline_path *p, int why) {
  nitem it = {.t = s->now + s->latency, .k = N_TPERR, .why = why,
              .conn = -1, .path = *p};
  net_push(s, it);
}

/* ---------------------------------------------------------------- proxies */

static int cred_find(const sim *s, const char *k, size_t n) {
  if (!s->ncredb)
    return -1;
  size_t b = fnv(k, n, FNV0) % s->ncredb;
  for (int i = s->credb[b]; i >= 0; i = s->creds[i].next)
    if (strlen(s->creds[i].key) == n && memcmp(s->creds[i].key, k, n) == 0)
      return i;
  return -1;
}

static void cred_add(sim *s, const char *k, const char *pw, unsigned line) {
  if (!k || !*k || cred_find(s, k, strlen(k)) >= 0)
    return;
  if (s->ncreds == s->capcreds) {
    s->capcreds = s->capcreds ? 2 * s->capcreds : 64;
    s->creds = xrealloc(s->creds, s->capcreds * sizeof(cred));
  }
  size_t b = fnv(k, strlen(k), FNV0) % s->ncredb;
  s->creds[s->ncreds] = (cred){xstrdup(k), pw, line, s->credb[b]};
  s->credb[b] = (int)s->ncreds++;
}

static void build_creds(sim *s) {
  unsigned n = s->profile->n_lines;
  s->ncredb = 2u * n + 17;
  s->credb = xmalloc(s->ncredb * sizeof(int));
  for (size_t i = 0; i < s->ncredb; i++)
    s->credb[i] = -1;
  for (unsigned i = 1; i <= n; i++) {
    const sipline_line_cfg *c = sipline_profile_line(s->profile, i);
    if (!c)
      continue;
    const char *pw = c->password && *c->password ? c->password : NULL;
    /* By AOR user (is this line challenged? which line is it?) and by
       digest username. */
    cred_add(s, c->user_id, pw, i);
    if (c->auth_id && *c->auth_id)
      cred_add(s, c->auth_id, pw, i);
  }
}

/* The line a message belongs to, from its From user (0: unknown). */
static unsigned line_of(const sim *s, const ssip_msg *m) {
  spl u = ssip_uri_user(m->from);
  if (!u.p)
    return 0;
  int i = cred_find(s, u.p, u.len);
  return i < 0 ? 0 : s->creds[i].line;
}

static const char *password_for(const sim *s, spl user) {
  if (!user.p)
    return NULL;
  int i = cred_find(s, user.p, user.len);
  return i < 0 ? NULL : s->creds[i].password;
}

/* A response copying the request's Via, From, To, Call-ID and CSeq. */
static void response(sim *s, server *v, const sipline_path *p, int ci,
                     const ssip_msg *m, int code, const char *extra,
                     const char *body) {
  sb r = {0};
  sb_printf(&r, "SIP/2.0 %d %s\r\n", code, ssip_reason(code));
  for (unsigned i = 0; i < m->n_via; i++)
    sb_printf(&r, "Via: %.*s\r\n", (int)m->via[i].len, m->via[i].p);
  sb_printf(&r, "From: %.*s\r\n", (int)m->from.len, m->from.p);
  sb_printf(&r, "To: %.*s", (int)m->to.len, m->to.p);
  if (m->to.p && !ssip_has_tag(m->to) && code > 100)
    sb_printf(&r, ";tag=sim%x",
              (unsigned)(fnv(m->call_id.p, m->call_id.len,
                             fnv(v->name, strlen(v->name), FNV0)) &
                         0xffffffu));
  sb_str(&r, "\r\n");
  sb_printf(&r, "Call-ID: %.*s\r\n", (int)m->call_id.len, m->call_id.p);
  sb_printf(&r, "CSeq: %.*s\r\n", (int)m->cseq.len, m->cseq.p);
  if (extra)
    sb_str(&r, extra);
  sb_str(&r, "Server: sipline-sim\r\n");
  size_t bl = body ? strlen(body) : 0;
  if (bl)
    sb_str(&r, "Content-Type: application/sdp\r\n");
  sb_printf(&r, "Content-Length: %zu\r\n\r\n", bl);
  if (bl)
    sb_add(&r, body, bl);
  send_to_ua(s, p, ci, r.p, r.len);
  free(r.p);
}

static int is_method(const ssip_msg *m, const char *name) {
  return m->method.len == strlen(name) &&
         memcmp(m->method.p, name, m->method.len) == 0;
}

static void challenge(sim *s, server *v, const sipline_path *p, int ci,
                      const ssip_msg *m) {
  char h[256];
  snprintf(h, sizeof h,
           "WWW-Authenticate: Digest realm=\"sipline.sim\", "
           "nonce=\"%u.%u.simnonce\", qop=\"auth\", algorithm=MD5\r\n",
           (unsigned)(v - s->srv), ++v->nonce_seq);
  response(s, v, p, ci, m, 401, h, NULL);
}

/* 1 when the nonce is one this server issued. */
static int nonce_ok(const sim *s, const server *v, spl auth) {
  spl nonce;
  if (!ssip_auth_param(auth, "nonce", &nonce))
    return 0;
  char buf[64];
  if (nonce.len >= sizeof buf)
    return 0;
  memcpy(buf, nonce.p, nonce.len);
  buf[nonce.len] = 0;
  unsigned a, b;
  char tail[16];
  if (sscanf(buf, "%u.%u.%15s", &a, &b, tail) != 3)
    return 0;
  return a == (unsigned)(v - s->srv) && b >= 1 && b <= v->nonce_seq &&
         strcmp(tail, "simnonce") == 0;
}

static void answer_register(sim *s, server *v, const sipline_path *p, int ci,
                            const ssip_msg *m, const behav *bh, int code) {
  uint32_t want = 3600;
  if (!ssip_contact_expires(m, &want) && m->has_expires)
    want = m->expires;
  char extra[512];
  if (code / 100 != 2) {
    response(s, v, p, ci, m, code, NULL, NULL);
    return;
  }
  uint32_t grant = want;
  if (bh && bh->what == B_OK_EXPIRES && grant > bh->max_expires)
    grant = bh->max_expires;
  spl uri = ssip_contact_uri(m);
  if (grant == 0 || !uri.p || (uri.len == 1 && *uri.p == '*'))
    snprintf(extra, sizeof extra, "Expires: 0\r\n");
  else
    snprintf(extra, sizeof extra, "Contact: %.*s;expires=%u\r\nExpires: %u\r\n",
             (int)uri.len, uri.p, grant, grant);
  response(s, v, p, ci, m, code, extra, NULL);
}

static void answer_ok(sim *s, server *v, const sipline_path *p, int ci,
                      const ssip_msg *m, const behav *bh) {
  if (is_method(m, "REGISTER")) {
    spl aor = ssip_uri_user(m->to);
    const char *pw = password_for(s, aor);
    if (pw) {
      if (!m->auth.p) {
        challenge(s, v, p, ci, m);
        return;
      }
      spl user;
      const char *upw = NULL;
      if (ssip_auth_param(m->auth, "username", &user))
        upw = password_for(s, user);
      if (!upw || !nonce_ok(s, v, m->auth)) {
        /* An unknown nonce gets a fresh challenge, as a registrar
           restarting with new nonces would. */
        challenge(s, v, p, ci, m);
        return;
      }
      if (!ssip_digest_ok(m->auth, m->method, upw)) {
        response(s, v, p, ci, m, 403, NULL, NULL);
        return;
      }
      if (bh->what == B_REJECT_AUTH) {
        response(s, v, p, ci, m, 403, NULL, NULL);
        return;
      }
    }
    answer_register(s, v, p, ci, m, bh, 200);
    return;
  }
  if (bh->what == B_REJECT_AUTH && m->auth.p) {
    response(s, v, p, ci, m, 403, NULL, NULL);
    return;
  }
  if (is_method(m, "INVITE")) {
    char ip[64] = "0.0.0.0", contact[160], body[400];
    if (v->addr.family == 4)
      inet_ntop(AF_INET, v->addr.ip, ip, sizeof ip);
    snprintf(contact, sizeof contact, "Contact: <sip:far@%s>\r\n", v->name);
    snprintf(body, sizeof body,
             "v=0\r\no=sim 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\n"
             "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
             ip, ip);
    response(s, v, p, ci, m, 200, contact, body);
    return;
  }
  response(s, v, p, ci, m, 200, NULL, NULL);
}

/* A server received one complete message (or a keep-alive ping). */
static void server_rx(sim *s, server *v, const sipline_path *p, int ci,
                      const char *data, size_t len) {
  s->stats.msgs_to_servers++;
  if (!v || v->cur_what == B_SILENT)
    return;
  if (len <= 4) { /* RFC 5626 CRLF ping: answer with a CRLF pong */
    if (len == 4)
      send_to_ua(s, p, ci, "\r\n", 2);
    return;
  }
  ssip_msg m;
  if (ssip_parse(&m, data, len) != 0 || !m.is_req || is_method(&m, "ACK"))
    return;
  const behav *bh = v->cur;
  switch (v->cur_what) {
  case B_REFUSE:
  case B_CLOSE:
    /* Streams were handled by the connection; UDP gets ICMP. */
    if (p->tp == SIPLINE_TP_UDP)
      tperr_to_ua(s, p, SIPLINE_TPERR_UNREACHABLE);
    return;
  case B_REPLY: {
    char extra[128] = "";
    size_t o = 0;
    if (bh->has_retry_after)
      o += (size_t)snprintf(extra + o, sizeof extra - o,
                            "Retry-After: %u\r\n", bh->retry_after);
    if (bh->has_min_expires)
      snprintf(extra + o, sizeof extra - o, "Min-Expires: %u\r\n",
               bh->min_expires);
    if (is_method(&m, "REGISTER") && bh->code / 100 == 2)
      answer_register(s, v, p, ci, &m, bh, bh->code);
    else
      response(s, v, p, ci, &m, bh->code, extra[0] ? extra : NULL, NULL);
    return;
  }
  default:
    answer_ok(s, v, p, ci, &m, bh);
  }
}

/* A server's script reaches its next entry. */
static void server_change(sim *s, server *v) {
  const behav *bh = &v->b[v->next++];
  v->cur = bh;
  v->cur_what = bh->what;
  if (bh->what != B_CLOSE)
    return;
  for (size_t i = 0; i < s->nconns; i++) {
    conn *c = &s->conns[i];
    if (c->st != C_CLOSED && addr_same(&c->path.remote, &v->addr)) {
      c->st = C_CLOSED;
      c->pend.len = 0;
      tperr_to_ua(s, &c->path, SIPLINE_TPERR_CLOSED);
    }
  }
}

/* ---------------------------------------------------------------- UA side */

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define UA_CALL(s, expr)                                                      \
  do {                                                                        \
    double t0_ = cpu_now();                                                   \
    (void)(expr);                                                             \
    (s)->stats.ua_cpu_s += cpu_now() - t0_;                                   \
    (s)->stats.ua_calls++;                                                    \
  } while (0)

static void ua_tx(sim *s, const sipline_path *p, const uint8_t *data,
                  size_t len) {
  server *v = server_by_addr(s, &p->remote);
  if (p->tp == SIPLINE_TP_UDP) {
    print_wire(s, "tx", p, (const char *)data, len, NULL);
    if (len > 8 && memcmp(data, "REGISTER", 8) == 0)
      s->stats.registers++;
    nitem it = {.t = s->now + s->latency, .k = N_TO_SERVER, .conn = -1,
                .path = *p, .data = xmalloc(len), .len = len};
    memcpy(it.data, data, len);
    net_push(s, it);
    return;
  }
  (void)v;
  int ci = conn_find(s, p, 1);
  conn *c = &s->conns[ci];
  if (c->st == C_CLOSED)
    c->st = C_CONNECTING;
  sb_add(&c->pend, (const char *)data, len);
  /* Frame the stream: keep-alive pings, then whole messages. */
  for (;;) {
    size_t n = 0;
    if (c->pend.len >= 2 && c->pend.p[0] == '\r' && c->pend.p[1] == '\n') {
      n = c->pend.len >= 4 && memcmp(c->pend.p, "\r\n\r\n", 4) == 0 ? 4 : 0;
      if (!n && c->pend.len >= 4)
        n = 2; /* a lone CRLF: skip it */
      if (!n)
        break;
    } else {
      n = ssip_frame(c->pend.p, c->pend.len);
      if (!n)
        break;
    }
    print_wire(s, "tx", p, c->pend.p, n, NULL);
    if (n > 8 && memcmp(c->pend.p, "REGISTER", 8) == 0)
      s->stats.registers++;
    nitem it = {.t = s->now + s->latency, .k = N_TO_SERVER, .conn = ci,
                .path = *p, .data = xmalloc(n), .len = n};
    memcpy(it.data, c->pend.p, n);
    net_push(s, it);
    memmove(c->pend.p, c->pend.p + n, c->pend.len - n);
    c->pend.len -= n;
  }
}

static const char *qtype_name(int q) {
  switch (q) {
  case SIPLINE_DNS_A: return "A";
  case SIPLINE_DNS_AAAA: return "AAAA";
  case SIPLINE_DNS_SRV: return "SRV";
  case SIPLINE_DNS_NAPTR: return "NAPTR";
  default: return "?";
  }
}

static void answer_dns(sim *s, const sipline_event *ev) {
  sipline_dns_rr out[32];
  size_t n = 0;
  for (size_t i = 0; i < s->ndns; i++) {
    if (strcasecmp(s->dns[i].name, ev->text) != 0)
      continue;
    for (size_t j = 0; j < s->dns[i].n && n < 32; j++)
      if ((int)s->dns[i].rr[j].type == ev->qtype)
        out[n++] = s->dns[i].rr[j];
  }
  if (printing(s) && !s->o.events_only) {
    line_begin(s, "dns_answer", ev->line);
    jint(&s->line, "id", ev->id);
    jstr(&s->line, "name", ev->text);
    jstr(&s->line, "qtype", qtype_name(ev->qtype));
    jint(&s->line, "answers", (long long)n);
    line_end(s);
  }
  UA_CALL(s, sipline_ua_dns_answer(s->ua, ev->id, out, n, s->now));
}

static void print_event(sim *s, const sipline_event *ev) {
  const char *name = sipline_event_name(ev->type);
  line_begin(s, name ? name : "unknown", ev->line);
  sb *b = &s->line;
  switch (ev->type) {
  case SIPLINE_EV_REGISTERED:
    jstr(b, "server", ev->server);
    jint(b, "expires", ev->expires);
    break;
  case SIPLINE_EV_UNREGISTERED:
  case SIPLINE_EV_SERVER_DOWN:
  case SIPLINE_EV_SERVER_UP:
    jstr(b, "server", ev->server);
    jstr(b, "reason", ev->reason);
    break;
  case SIPLINE_EV_REG_FAILED:
    jstr(b, "server", ev->server);
    jstr(b, "reason", ev->reason);
    if (ev->retry_in == SIPLINE_TSTAMP_NONE)
      sb_str(b, ",\"retry_in\":null");
    else
      jsecs(b, "retry_in", ev->retry_in);
    if (ev->status)
      jint(b, "status", ev->status);
    break;
  case SIPLINE_EV_FAILOVER:
  case SIPLINE_EV_FALLBACK:
    jstr(b, "from", ev->from);
    jstr(b, "to", ev->to);
    jstr(b, "reason", ev->reason);
    break;
  case SIPLINE_EV_CALL:
    jint(b, "id", ev->id);
    jstr(b, "state", ev->state);
    jstr(b, "server", ev->server);
    if (ev->text[0])
      jstr(b, "to", ev->text);
    if (ev->status)
      jint(b, "status", ev->status);
    if (ev->reason[0])
      jstr(b, "reason", ev->reason);
    if (ev->retry_in != SIPLINE_TSTAMP_NONE)
      jsecs(b, "retry_in", ev->retry_in);
    break;
  case SIPLINE_EV_CALL_SDP:
    jint(b, "id", ev->id);
    jstr(b, "sdp", ev->state);
    jstr(b, "side", ev->from);
    jstr(b, "in", ev->reason);
    jint(b, "bytes", (long long)ev->body_len);
    break;
  case SIPLINE_EV_DNS_QUERY:
    jint(b, "id", ev->id);
    jstr(b, "name", ev->text);
    jstr(b, "qtype", qtype_name(ev->qtype));
    break;
  case SIPLINE_EV_KEEPALIVE:
    jstr(b, "server", ev->server);
    jstr(b, "state", ev->state);
    break;
  default:
    /* Events outside SIM.md's table: every field that is set. */
    if (ev->server[0])
      jstr(b, "server", ev->server);
    if (ev->from[0])
      jstr(b, "from", ev->from);
    if (ev->to[0])
      jstr(b, "to", ev->to);
    if (ev->reason[0])
      jstr(b, "reason", ev->reason);
    if (ev->state[0])
      jstr(b, "state", ev->state);
    if (ev->status)
      jint(b, "status", ev->status);
    if (ev->priority)
      jint(b, "priority", ev->priority);
    if (ev->text[0])
      jstr(b, "text", ev->text);
  }
  line_end(s);
}

/*
 * After every call into the UA: all events first (they say why), then all
 * output; again until neither yields (a DNS answer is a call into the UA).
 */
static void drain(sim *s) {
  for (;;) {
    int progress = 0;
    sipline_event ev;
    for (;;) {
      int got;
      double t0 = cpu_now();
      got = sipline_ua_poll_event(s->ua, &ev);
      s->stats.ua_cpu_s += cpu_now() - t0;
      s->stats.ua_calls++;
      if (got <= 0)
        break;
      progress = 1;
      s->stats.events++;
      if (printing(s))
        print_event(s, &ev);
      if (ev.type == SIPLINE_EV_DNS_QUERY)
        answer_dns(s, &ev);
    }
    for (;;) {
      sipline_path p;
      const uint8_t *d = NULL;
      ptrdiff_t n;
      double t0 = cpu_now();
      n = sipline_ua_pull_tx(s->ua, &p, &d, s->now);
      s->stats.ua_cpu_s += cpu_now() - t0;
      s->stats.ua_calls++;
      if (n < 0)
        break;
      progress = 1;
      ua_tx(s, &p, d, (size_t)n);
    }
    if (!progress)
      break;
  }
}

static void deliver(sim *s, nitem *it) {
  if (it->k == N_TPERR) {
    if (printing(s) && !s->o.events_only) {
      static const char *names[] = {"", "unreachable", "refused",
                                    "connect_timeout", "closed", "tls"};
      char peer[96];
      peer_name(s, &it->path.remote, peer, sizeof peer);
      line_begin(s, "tperr", 0);
      jstr(&s->line, "why",
           it->why > 0 && it->why <= 5 ? names[it->why] : "?");
      jstr(&s->line, "from", peer);
      jstr(&s->line, "transport", tp_name(it->path.tp));
      line_end(s);
    }
    UA_CALL(s, sipline_ua_transport_error(s->ua, &it->path, it->why, s->now));
    drain(s);
    return;
  }
  if (it->k == N_TO_UA) {
    if (it->conn >= 0 && s->conns[it->conn].st != C_OPEN)
      return; /* the connection went away while this was in flight */
    s->stats.msgs_to_ua++;
    print_wire(s, "rx", &it->path, it->data, it->len, NULL);
    UA_CALL(s, sipline_ua_recv(s->ua, &it->path, (const uint8_t *)it->data,
                               it->len, s->now));
    drain(s);
    return;
  }
  server *v = server_by_addr(s, &it->path.remote);
  if (it->conn >= 0) {
    conn *c = &s->conns[it->conn];
    int refusing = v && (v->cur_what == B_REFUSE || v->cur_what == B_CLOSE);
    if (c->st == C_CLOSED)
      return; /* after a refusal or reset: the bytes are gone */
    if (refusing) {
      int why = c->st == C_CONNECTING ? SIPLINE_TPERR_REFUSED
                                      : SIPLINE_TPERR_CLOSED;
      c->st = C_CLOSED;
      c->pend.len = 0;
      tperr_to_ua(s, &c->path, why);
      return;
    }
    c->st = C_OPEN; /* even a frozen server's kernel accepts */
  }
  server_rx(s, v, &it->path, it->conn, it->data, it->len);
}

/* ---------------------------------------------------------------- loading */

static int json_num(const cJSON *j, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(j))
    return 0;
  double v = j->valuedouble;
  if (!(v >= lo && v <= hi))
    return 0;
  *out = v;
  return 1;
}

static sipline_tstamp secs_to_ms(double v) {
  return (sipline_tstamp)llround(v * 1000.0);
}

static int parse_do(const char *d, behav *b) {
  char *end;
  if (strcmp(d, "ok") == 0)
    b->what = B_OK;
  else if (strcmp(d, "silent") == 0)
    b->what = B_SILENT;
  else if (strcmp(d, "refuse") == 0)
    b->what = B_REFUSE;
  else if (strcmp(d, "close") == 0)
    b->what = B_CLOSE;
  else if (strcmp(d, "reject-auth") == 0)
    b->what = B_REJECT_AUTH;
  else if (strncmp(d, "ok-expires:", 11) == 0) {
    b->what = B_OK_EXPIRES;
    unsigned long v = strtoul(d + 11, &end, 10);
    if (end == d + 11 || *end || v > 100000000ul)
      return 0;
    b->max_expires = (uint32_t)v;
  } else if (strncmp(d, "reply:", 6) == 0) {
    b->what = B_REPLY;
    long v = strtol(d + 6, &end, 10);
    if (end != d + 9 || v < 200 || v > 699)
      return 0;
    b->code = (int)v;
    const char *q = end;
    while (*q) {
      if (*q != ':')
        return 0;
      q++;
      uint32_t *dst;
      if (strncmp(q, "retry-after=", 12) == 0) {
        q += 12;
        b->has_retry_after = 1;
        dst = &b->retry_after;
      } else if (strncmp(q, "min-expires=", 12) == 0) {
        q += 12;
        b->has_min_expires = 1;
        dst = &b->min_expires;
      } else {
        return 0;
      }
      unsigned long n = strtoul(q, &end, 10);
      if (end == q || n > 100000000ul)
        return 0;
      *dst = (uint32_t)n;
      q = end;
    }
  } else {
    return 0;
  }
  return 1;
}

static int find_a(sim *s, const char *name, sipline_addr *out) {
  for (size_t i = 0; i < s->ndns; i++) {
    if (strcasecmp(s->dns[i].name, name) != 0)
      continue;
    for (size_t j = 0; j < s->dns[i].n; j++)
      if (s->dns[i].rr[j].type == SIPLINE_DNS_A ||
          s->dns[i].rr[j].type == SIPLINE_DNS_AAAA) {
        *out = s->dns[i].rr[j].addr;
        return 1;
      }
  }
  return 0;
}

/* "prio weight port target" */
static int parse_srv(const char *t, sipline_dns_rr *rr) {
  unsigned pr, w, port;
  char target[256];
  int used = 0;
  if (sscanf(t, "%u %u %u %255s%n", &pr, &w, &port, target, &used) != 4 ||
      t[used] != 0 || pr > 65535 || w > 65535 || port > 65535)
    return 0;
  rr->type = SIPLINE_DNS_SRV;
  rr->priority = (uint16_t)pr;
  rr->weight = (uint16_t)w;
  rr->port = (uint16_t)port;
  snprintf(rr->target, sizeof rr->target, "%s", target);
  return 1;
}

/* Reads one NAPTR token, quoted or not. */
static const char *naptr_tok(const char *p, char *out, size_t cap) {
  while (*p == ' ')
    p++;
  if (!*p)
    return NULL;
  size_t n = 0;
  if (*p == '"') {
    p++;
    while (*p && *p != '"') {
      if (n + 1 < cap)
        out[n++] = *p;
      p++;
    }
    if (*p != '"')
      return NULL;
    p++;
  } else {
    while (*p && *p != ' ') {
      if (n + 1 < cap)
        out[n++] = *p;
      p++;
    }
  }
  out[n] = 0;
  return p;
}

/* 'order pref "flags" "service" "regexp" replacement' (zone-file order). */
static int parse_naptr(const char *t, sipline_dns_rr *rr) {
  char tok[6][256];
  const char *p = t;
  for (int i = 0; i < 6; i++) {
    p = naptr_tok(p, tok[i], sizeof tok[i]);
    if (!p)
      return 0;
  }
  while (*p == ' ')
    p++;
  if (*p)
    return 0;
  char *end;
  unsigned long o = strtoul(tok[0], &end, 10);
  if (*end || o > 65535)
    return 0;
  unsigned long pref = strtoul(tok[1], &end, 10);
  if (*end || pref > 65535)
    return 0;
  rr->type = SIPLINE_DNS_NAPTR;
  rr->priority = (uint16_t)o;
  rr->weight = (uint16_t)pref;
  if (strlen(tok[3]) >= sizeof rr->service ||
      strlen(tok[5]) >= sizeof rr->target)
    return 0;
  memcpy(rr->service, tok[3], strlen(tok[3]) + 1);
  memcpy(rr->target, tok[5], strlen(tok[5]) + 1);
  return 1;
}

static int load_dns(sim *s, const cJSON *dns, char *err, size_t cap) {
  if (!cJSON_IsObject(dns))
    return fail(err, cap, "%s: dns: must be an object of names", s->path);
  size_t n = (size_t)cJSON_GetArraySize(dns);
  s->dns = xcalloc(n, sizeof(dnsname));
  const cJSON *e;
  cJSON_ArrayForEach(e, dns) {
    dnsname *d = &s->dns[s->ndns++];
    d->name = xstrdup(e->string);
    if (!cJSON_IsObject(e))
      return fail(err, cap, "%s: dns.%s: must be an object (srv, naptr, a, "
                  "aaaa)", s->path, e->string);
    const cJSON *l;
    size_t total = 0;
    cJSON_ArrayForEach(l, e) total += (size_t)cJSON_GetArraySize(l);
    d->rr = xcalloc(total, sizeof(sipline_dns_rr));
    cJSON_ArrayForEach(l, e) {
      int kind;
      if (strcmp(l->string, "srv") == 0)
        kind = SIPLINE_DNS_SRV;
      else if (strcmp(l->string, "naptr") == 0)
        kind = SIPLINE_DNS_NAPTR;
      else if (strcmp(l->string, "a") == 0)
        kind = SIPLINE_DNS_A;
      else if (strcmp(l->string, "aaaa") == 0)
        kind = SIPLINE_DNS_AAAA;
      else if (strcmp(l->string, "comment") == 0)
        continue;
      else
        return fail(err, cap, "%s: dns.%s.%s: unknown record type (srv, "
                    "naptr, a, aaaa)", s->path, e->string, l->string);
      if (!cJSON_IsArray(l))
        return fail(err, cap, "%s: dns.%s.%s: must be a list of strings",
                    s->path, e->string, l->string);
      const cJSON *r;
      int i = 0;
      cJSON_ArrayForEach(r, l) {
        sipline_dns_rr *rr = &d->rr[d->n];
        if (!cJSON_IsString(r))
          return fail(err, cap, "%s: dns.%s.%s[%d]: must be a string",
                      s->path, e->string, l->string, i);
        int ok = 0;
        if (kind == SIPLINE_DNS_SRV)
          ok = parse_srv(r->valuestring, rr);
        else if (kind == SIPLINE_DNS_NAPTR)
          ok = parse_naptr(r->valuestring, rr);
        else {
          ok = addr_parse(r->valuestring, &rr->addr) == 0 &&
               rr->addr.port == 0 &&
               (rr->addr.family == 4) == (kind == SIPLINE_DNS_A);
          rr->type = (sipline_dns_qtype)kind;
        }
        if (!ok)
          return fail(err, cap, "%s: dns.%s.%s[%d]: \"%s\" is not %s",
                      s->path, e->string, l->string, i, r->valuestring,
                      kind == SIPLINE_DNS_SRV ? "\"priority weight port "
                                                "target\""
                      : kind == SIPLINE_DNS_NAPTR
                          ? "'order pref \"flags\" \"service\" \"regexp\" "
                            "replacement'"
                      : kind == SIPLINE_DNS_A ? "an IPv4 address"
                                              : "an IPv6 address");
        d->n++;
        i++;
      }
    }
  }
  return 0;
}

static int load_servers(sim *s, const cJSON *servers, char *err, size_t cap) {
  if (!cJSON_IsObject(servers))
    return fail(err, cap, "%s: servers: must be an object of host:port keys",
                s->path);
  size_t n = (size_t)cJSON_GetArraySize(servers);
  s->srv = xcalloc(n, sizeof(server));
  const cJSON *e;
  cJSON_ArrayForEach(e, servers) {
    server *v = &s->srv[s->nsrv++];
    snprintf(v->name, sizeof v->name, "%s", e->string);
    int r = addr_parse(e->string, &v->addr);
    if (r == -2) {
      /* A name: host:port with an `a` record in dns. */
      char host[96];
      const char *c = strrchr(e->string, ':');
      size_t hl = c ? (size_t)(c - e->string) : strlen(e->string);
      if (hl >= sizeof host)
        hl = sizeof host - 1;
      memcpy(host, e->string, hl);
      host[hl] = 0;
      if (!find_a(s, host, &v->addr))
        return fail(err, cap, "%s: servers.%s: %s is neither an IP address "
                    "nor a name with an a/aaaa record in dns", s->path,
                    e->string, host);
      v->addr.port = c ? (uint16_t)atoi(c + 1) : 0;
      r = 0;
    }
    if (r != 0)
      return fail(err, cap, "%s: servers.%s: not a host:port", s->path,
                  e->string);
    if (!v->addr.port)
      v->addr.port = 5060;
    for (size_t i = 0; i + 1 < s->nsrv; i++)
      if (addr_same(&s->srv[i].addr, &v->addr))
        return fail(err, cap, "%s: servers.%s: the same address as %s",
                    s->path, e->string, s->srv[i].name);
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) == 0)
      return fail(err, cap, "%s: servers.%s: must be a non-empty list of "
                  "{\"at\": seconds, \"do\": behaviour}", s->path, e->string);
    v->b = xcalloc((size_t)cJSON_GetArraySize(e), sizeof(behav));
    const cJSON *it;
    int i = 0;
    sipline_tstamp last = 0;
    cJSON_ArrayForEach(it, e) {
      behav *b = &v->b[v->nb++];
      const cJSON *at = cJSON_GetObjectItemCaseSensitive(it, "at");
      const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "do");
      double t;
      if (!cJSON_IsObject(it))
        return fail(err, cap, "%s: servers.%s[%d]: must be an object",
                    s->path, e->string, i);
      const cJSON *k;
      cJSON_ArrayForEach(k, it) if (strcmp(k->string, "at") &&
                                    strcmp(k->string, "do") &&
                                    strcmp(k->string, "comment")) return fail(
          err, cap, "%s: servers.%s[%d].%s: unknown key (at, do, comment)",
          s->path, e->string, i, k->string);
      if (!json_num(at, 0, 1e9, &t))
        return fail(err, cap, "%s: servers.%s[%d].at: must be a number of "
                    "seconds >= 0", s->path, e->string, i);
      b->at = secs_to_ms(t);
      if (b->at < last)
        return fail(err, cap, "%s: servers.%s[%d].at: %g is before the "
                    "previous entry", s->path, e->string, i, t);
      last = b->at;
      if (!cJSON_IsString(d) || !parse_do(d->valuestring, b))
        return fail(err, cap, "%s: servers.%s[%d].do: %s%s%s is not a "
                    "behaviour (ok, ok-expires:N, silent, refuse, close, "
                    "reply:CODE[:retry-after=S][:min-expires=N], "
                    "reject-auth)", s->path, e->string, i,
                    cJSON_IsString(d) ? "\"" : "",
                    cJSON_IsString(d) ? d->valuestring : "(missing)",
                    cJSON_IsString(d) ? "\"" : "");
      i++;
    }
  }
  return 0;
}

static int load_calls(sim *s, const cJSON *calls, char *err, size_t cap) {
  if (!cJSON_IsArray(calls))
    return fail(err, cap, "%s: calls: must be a list", s->path);
  s->calls = xcalloc((size_t)cJSON_GetArraySize(calls), sizeof(call));
  const cJSON *c;
  int i = 0;
  sipline_tstamp last = 0;
  cJSON_ArrayForEach(c, calls) {
    call *k = &s->calls[s->ncalls++];
    double v;
    if (!cJSON_IsObject(c))
      return fail(err, cap, "%s: calls[%d]: must be an object", s->path, i);
    const cJSON *x;
    cJSON_ArrayForEach(x, c) if (strcmp(x->string, "at") &&
                                 strcmp(x->string, "line") &&
                                 strcmp(x->string, "to") &&
                                 strcmp(x->string, "hangup_after") &&
                                 strcmp(x->string, "comment")) return fail(
        err, cap, "%s: calls[%d].%s: unknown key (at, line, to, "
        "hangup_after, comment)", s->path, i, x->string);
    if (!json_num(cJSON_GetObjectItemCaseSensitive(c, "at"), 0, 1e9, &v))
      return fail(err, cap, "%s: calls[%d].at: must be a number of seconds "
                  ">= 0", s->path, i);
    k->at = secs_to_ms(v);
    if (k->at < last)
      return fail(err, cap, "%s: calls[%d].at: calls must be in time order",
                  s->path, i);
    last = k->at;
    if (!json_num(cJSON_GetObjectItemCaseSensitive(c, "line"), 1,
                  s->profile->n_lines, &v) || v != floor(v))
      return fail(err, cap, "%s: calls[%d].line: must be a line number "
                  "1..%u", s->path, i, s->profile->n_lines);
    k->line = (unsigned)v;
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(c, "to");
    if (!cJSON_IsString(to) || !*to->valuestring ||
        strlen(to->valuestring) >= sizeof k->to)
      return fail(err, cap, "%s: calls[%d].to: must be a user or URI",
                  s->path, i);
    snprintf(k->to, sizeof k->to, "%s", to->valuestring);
    k->hangup_at = SIPLINE_TSTAMP_NONE;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "hangup_after");
    if (h) {
      if (!json_num(h, 0, 1e9, &v))
        return fail(err, cap, "%s: calls[%d].hangup_after: must be a "
                    "number of seconds >= 0", s->path, i);
      k->hangup_at = k->at + secs_to_ms(v);
    }
    i++;
  }
  return 0;
}

static int value_string(const cJSON *v, char *out, size_t cap) {
  if (cJSON_IsString(v))
    snprintf(out, cap, "%s", v->valuestring);
  else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble))
    snprintf(out, cap, "%.0f", v->valuedouble);
  else if (cJSON_IsNumber(v))
    snprintf(out, cap, "%g", v->valuedouble);
  else if (cJSON_IsBool(v))
    snprintf(out, cap, "%s", cJSON_IsTrue(v) ? "Yes" : "No");
  else
    return 0;
  return 1;
}

/* The profile's sentence without a leading "TAG: " (we name the tag). */
static const char *what_of(const sipline_profile_error *pe, const char *tag) {
  size_t n = strlen(tag);
  if (tag[0] && strncmp(pe->what, tag, n) == 0 && pe->what[n] == ':' &&
      pe->what[n + 1] == ' ')
    return pe->what + n + 2;
  return pe->what;
}

static int apply_key(sim *s, const char *where, const char *tag,
                     const char *val, char *err, size_t cap) {
  sipline_profile_error pe;
  memset(&pe, 0, sizeof pe);
  int r = sipline_profile_set(s->profile, tag, val, &pe);
  if (r == SIPLINE_ERR_NOMEM)
    return fail(err, cap, "%s: %s.%s: out of memory", s->path, where, tag);
  if (r < 0)
    return fail(err, cap, "%s: %s.%s: %s", s->path, where, tag,
                pe.what[0] ? what_of(&pe, tag) : sipline_strerror(r));
  return 0;
}

/* Replaces every "{n}" in src by the line number. */
static void subst_n(const char *src, unsigned n, char *out, size_t cap) {
  size_t o = 0;
  for (const char *p = src; *p && o + 1 < cap;) {
    if (strncmp(p, "{n}", 3) == 0) {
      int w = snprintf(out + o, cap - o, "%u", n);
      if (w < 0)
        break;
      o += (size_t)w;
      if (o >= cap)
        o = cap - 1;
      p += 3;
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = 0;
}

static int load_profile(sim *s, char *err, size_t cap) {
  const cJSON *pf = cJSON_GetObjectItemCaseSensitive(s->root, "profile");
  if (pf) {
    if (!cJSON_IsString(pf) || !*pf->valuestring)
      return fail(err, cap, "%s: profile: must be a file name", s->path);
    char file[4096];
    if (pf->valuestring[0] == '/')
      snprintf(file, sizeof file, "%s", pf->valuestring);
    else
      snprintf(file, sizeof file, "%s/%s", s->dir, pf->valuestring);
    FILE *f = fopen(file, "rb");
    if (!f)
      return fail(err, cap, "%s: profile: cannot read %s: %s", s->path, file,
                  strerror(errno));
    sb x = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      sb_add(&x, buf, n);
    fclose(f);
    sipline_profile_error pe;
    memset(&pe, 0, sizeof pe);
    int r = sipline_profile_parse(&s->profile, x.p ? x.p : "", x.len, NULL,
                                  &pe);
    free(x.p);
    if (r < 0) {
      s->profile = NULL;
      if (pe.file_line)
        return fail(err, cap, "%s:%u: %s: %s (profile of %s)", file,
                    pe.file_line, pe.tag[0] ? pe.tag : "(xml)",
                    pe.what[0] ? what_of(&pe, pe.tag) : sipline_strerror(r),
                    s->path);
      return fail(err, cap, "%s: %s: %s (profile of %s)", file,
                  pe.tag[0] ? pe.tag : "(xml)",
                  pe.what[0] ? what_of(&pe, pe.tag) : sipline_strerror(r),
                  s->path);
    }
    if (!s->o.quiet_warnings)
      for (unsigned i = 0; i < s->profile->n_extra; i++)
        fprintf(stderr, "sipline-sim: %s:%u: unknown tag %s kept (ignored)\n",
                file, s->profile->extra[i].file_line,
                s->profile->extra[i].tag);
  } else {
    if (sipline_profile_new(&s->profile, NULL) < 0)
      return fail(err, cap, "%s: profile: out of memory", s->path);
  }
  const cJSON *lt = cJSON_GetObjectItemCaseSensitive(s->root, "line_template");
  if (lt) {
    double cnt;
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(lt, "keys");
    if (!cJSON_IsObject(lt) ||
        !json_num(cJSON_GetObjectItemCaseSensitive(lt, "count"), 1, 1000000,
                  &cnt) || cnt != floor(cnt))
      return fail(err, cap, "%s: line_template.count: must be 1..1000000",
                  s->path);
    if (!cJSON_IsObject(keys))
      return fail(err, cap, "%s: line_template.keys: must be an object of "
                  "tag -> value with {n} for the line number", s->path);
    for (unsigned n = 1; n <= (unsigned)cnt; n++) {
      const cJSON *k;
      cJSON_ArrayForEach(k, keys) {
        char tag[128], val[1024], raw[1024];
        if (!value_string(k, raw, sizeof raw))
          return fail(err, cap, "%s: line_template.keys.%s: must be a string "
                      "or number", s->path, k->string);
        subst_n(k->string, n, tag, sizeof tag);
        subst_n(raw, n, val, sizeof val);
        int r = apply_key(s, "line_template.keys", tag, val, err, cap);
        if (r)
          return r;
      }
    }
  }
  const cJSON *pk = cJSON_GetObjectItemCaseSensitive(s->root, "profile_keys");
  if (pk) {
    if (!cJSON_IsObject(pk))
      return fail(err, cap, "%s: profile_keys: must be an object of tag -> "
                  "value", s->path);
    const cJSON *k;
    cJSON_ArrayForEach(k, pk) {
      char val[1024];
      if (strcmp(k->string, "comment") == 0)
        continue;
      if (!value_string(k, val, sizeof val))
        return fail(err, cap, "%s: profile_keys.%s: must be a string or "
                    "number", s->path, k->string);
      int r = apply_key(s, "profile_keys", k->string, val, err, cap);
      if (r)
        return r;
    }
  }
  return 0;
}

static int check_expect(sim *s, const cJSON *ex, char *err, size_t cap) {
  if (!cJSON_IsArray(ex))
    return fail(err, cap, "%s: expect: must be a list", s->path);
  int i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, ex) {
    if (!cJSON_IsObject(e) ||
        !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "match")))
      return fail(err, cap, "%s: expect[%d].match: must be an object",
                  s->path, i);
    const cJSON *k;
    cJSON_ArrayForEach(k, e) {
      static const char *known[] = {"match", "nth", "t", "after",
                                    "after_nth", "delta", "delta_min",
                                    "delta_max", "absent", "count",
                                    "within", "comment", NULL};
      int ok = 0;
      for (int j = 0; known[j]; j++)
        ok |= strcmp(k->string, known[j]) == 0;
      if (!ok)
        return fail(err, cap, "%s: expect[%d].%s: unknown key", s->path, i,
                    k->string);
    }
    i++;
  }
  return 0;
}

int sim_load_text(sim **out, const char *path, const char *json,
                  const sim_opts *o, char *err, size_t cap) {
  *out = NULL;
  sim *s = xcalloc(1, sizeof(sim));
  s->path = xstrdup(path);
  s->dir = xstrdup(path);
  char *slash = strrchr(s->dir, '/');
  if (slash)
    *slash = 0;
  else
    strcpy(s->dir, ".");
  if (o)
    s->o = *o;
  int r = 0;
  s->root = cJSON_Parse(json);
  if (!s->root) {
    const char *ep = cJSON_GetErrorPtr();
    unsigned ln = 1;
    for (const char *p = json; ep && p < ep && *p; p++)
      ln += *p == '\n';
    r = fail(err, cap, "%s:%u: (json): syntax error", path, ln);
    goto out;
  }
  if (!cJSON_IsObject(s->root)) {
    r = fail(err, cap, "%s: (root): must be a JSON object", path);
    goto out;
  }
  const cJSON *k;
  cJSON_ArrayForEach(k, s->root) {
    static const char *known[] = {"comment", "profile", "profile_keys",
                                  "line_template", "servers", "dns", "calls",
                                  "until", "seed", "latency_ms", "expect",
                                  NULL};
    int ok = 0;
    for (int j = 0; known[j]; j++)
      ok |= strcmp(k->string, known[j]) == 0;
    if (!ok) {
      r = fail(err, cap, "%s: %s: unknown key (comment, profile, "
               "profile_keys, line_template, servers, dns, calls, until, "
               "seed, latency_ms, expect)", path, k->string);
      goto out;
    }
  }
  const cJSON *dns = cJSON_GetObjectItemCaseSensitive(s->root, "dns");
  if (dns && (r = load_dns(s, dns, err, cap)))
    goto out;
  const cJSON *sv = cJSON_GetObjectItemCaseSensitive(s->root, "servers");
  if (!sv) {
    r = fail(err, cap, "%s: servers: missing (at least one host:port)", path);
    goto out;
  }
  if ((r = load_servers(s, sv, err, cap)))
    goto out;
  if ((r = load_profile(s, err, cap)))
    goto out;
  const cJSON *calls = cJSON_GetObjectItemCaseSensitive(s->root, "calls");
  if (calls && (r = load_calls(s, calls, err, cap)))
    goto out;
  double v;
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(s->root, "until");
  s->until = SIPLINE_SEC(3600);
  if (u) {
    if (!json_num(u, 0.001, 1e8, &v)) {
      r = fail(err, cap, "%s: until: must be a number of seconds > 0", path);
      goto out;
    }
    s->until = secs_to_ms(v);
  }
  const cJSON *sd = cJSON_GetObjectItemCaseSensitive(s->root, "seed");
  s->seed = 1;
  if (sd) {
    if (!json_num(sd, 0, 9007199254740991.0, &v) || v != floor(v)) {
      r = fail(err, cap, "%s: seed: must be an integer >= 0", path);
      goto out;
    }
    s->seed = (uint64_t)v;
  }
  const cJSON *lat = cJSON_GetObjectItemCaseSensitive(s->root, "latency_ms");
  s->latency = 10;
  if (lat) {
    if (!json_num(lat, 0, 10000, &v) || v != floor(v)) {
      r = fail(err, cap, "%s: latency_ms: must be an integer 0..10000",
               path);
      goto out;
    }
    s->latency = (sipline_tstamp)v;
  }
  s->expect = cJSON_GetObjectItemCaseSensitive(s->root, "expect");
  if (s->expect && (r = check_expect(s, s->expect, err, cap)))
    goto out;
  if (s->o.have_seed)
    s->seed = s->o.seed;
  if (s->o.have_until)
    s->until = s->o.until_ms;
  build_creds(s);
  unsigned maxev = s->o.max_events;
  if (!maxev) {
    uint64_t m = 8ull * s->profile->n_lines;
    maxev = m < 4096 ? 4096 : m > (1u << 20) ? (1u << 20) : (unsigned)m;
  }
  sipline_settings st = {.profile = s->profile,
                         .seed = s->seed,
                         .local_host = "192.0.2.10",
                         .user_agent = "sipline-sim",
                         .max_events = maxev};
  int e = sipline_ua_new(&s->ua, &st, s->o.ua_mem, s);
  if (e < 0) {
    r = fail(err, cap, "%s: profile: the core refused the configuration: %s",
             path, sipline_strerror(e));
    goto out;
  }
out:
  if (r) {
    sim_del(s);
    return r;
  }
  *out = s;
  return 0;
}

int sim_load(sim **out, const char *path, const sim_opts *o, char *err,
             size_t cap) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(err, cap, "%s: (file): cannot read: %s", path,
                strerror(errno));
  sb x = {0};
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    sb_add(&x, buf, n);
  fclose(f);
  int r = sim_load_text(out, path, x.p ? x.p : "", o, err, cap);
  free(x.p);
  return r;
}

/* ---------------------------------------------------------------- running */

static sipline_tstamp tmin(sipline_tstamp a, sipline_tstamp b) {
  return a < b ? a : b;
}

int sim_run_until(sim *s, sipline_tstamp until, char *err, size_t cap) {
  sipline_tstamp limit = tmin(until, s->until);
  if (!s->started) {
    s->started = 1;
    s->now = 0;
    /* Scripted entries at 0 apply before the UA starts. */
    for (size_t i = 0; i < s->nsrv; i++)
      while (s->srv[i].next < s->srv[i].nb && s->srv[i].b[s->srv[i].next].at == 0)
        server_change(s, &s->srv[i]);
    /* Values the profile read but partly ignored (R8: an invalid RSC token
       is reported once). */
    for (unsigned i = 0; printing(s) && i < s->profile->n_warnings; i++) {
      line_begin(s, "profile_warning", 0);
      jstr(&s->line, "tag", s->profile->warnings[i].tag);
      jstr(&s->line, "text", s->profile->warnings[i].value);
      line_end(s);
    }
    int r;
    double t0 = cpu_now();
    r = sipline_ua_start(s->ua, 0);
    s->stats.ua_cpu_s += cpu_now() - t0;
    s->stats.ua_calls++;
    if (r < 0) {
      snprintf(err, cap, "sipline_ua_start: %s", sipline_strerror(r));
      return 1;
    }
    drain(s);
  }
  unsigned spins = 0;
  sipline_tstamp last = s->now;
  for (;;) {
    sipline_tstamp t = sipline_ua_next_deadline(s->ua);
    for (size_t i = 0; i < s->nsrv; i++)
      if (s->srv[i].next < s->srv[i].nb)
        t = tmin(t, s->srv[i].b[s->srv[i].next].at);
    if (s->nheap)
      t = tmin(t, s->heap[0].t);
    if (s->next_call < s->ncalls)
      t = tmin(t, s->calls[s->next_call].at);
    for (size_t i = 0; i < s->ncalls; i++)
      if (s->calls[i].placed && !s->calls[i].hung)
        t = tmin(t, s->calls[i].hangup_at);
    if (t == SIPLINE_TSTAMP_NONE || t > limit)
      break;
    if (t < s->now)
      t = s->now; /* a deadline in the past: due now */
    s->now = t;
    if (t == last) {
      if (++spins > 1000000) {
        snprintf(err, cap, "the core's deadline stays at %llu ms without "
                 "progress", (unsigned long long)t);
        return 1;
      }
    } else {
      spins = 0;
      last = t;
    }
    for (size_t i = 0; i < s->nsrv; i++)
      while (s->srv[i].next < s->srv[i].nb &&
             s->srv[i].b[s->srv[i].next].at <= s->now)
        server_change(s, &s->srv[i]);
    while (s->nheap && s->heap[0].t <= s->now) {
      nitem it = net_pop(s);
      deliver(s, &it);
      free(it.data);
    }
    while (s->next_call < s->ncalls && s->calls[s->next_call].at <= s->now) {
      call *c = &s->calls[s->next_call++];
      int r;
      double t0 = cpu_now();
      /* An audio offer, as a phone would make; the scripted far end
       * answers it in its 200. */
      static const char offer[] =
          "v=0\r\no=sipline 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
          "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
          "a=rtpmap:0 PCMU/8000\r\n";
      sipline_call_params cp = {.line = c->line,
                                .to = c->to,
                                .sdp = offer,
                                .sdp_len = sizeof offer - 1};
      r = sipline_ua_call(s->ua, &cp, &c->id, s->now);
      s->stats.ua_cpu_s += cpu_now() - t0;
      s->stats.ua_calls++;
      c->placed = 1;
      if (r < 0) {
        c->hung = 1;
        if (printing(s)) {
          line_begin(s, "call_error", c->line);
          jstr(&s->line, "to", c->to);
          jstr(&s->line, "error", sipline_strerror(r));
          line_end(s);
        }
      }
      drain(s);
    }
    for (size_t i = 0; i < s->ncalls; i++) {
      call *c = &s->calls[i];
      if (c->placed && !c->hung && c->hangup_at <= s->now) {
        c->hung = 1;
        UA_CALL(s, sipline_ua_hangup(s->ua, c->id, s->now));
        drain(s);
      }
    }
    if (sipline_ua_next_deadline(s->ua) <= s->now) {
      UA_CALL(s, sipline_ua_handle_timeout(s->ua, s->now));
      drain(s);
    }
  }
  if (limit > s->now)
    s->now = limit;
  return 0;
}

int sim_run(sim *s, char *err, size_t cap) {
  return sim_run_until(s, SIPLINE_TSTAMP_NONE, err, cap);
}

/* ---------------------------------------------------------------- checks */

static int json_eq(const cJSON *a, const cJSON *b) {
  if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
    return fabs(a->valuedouble - b->valuedouble) < 0.0005;
  if (cJSON_IsString(a) && cJSON_IsString(b))
    return strcmp(a->valuestring, b->valuestring) == 0;
  if (cJSON_IsBool(a) && cJSON_IsBool(b))
    return cJSON_IsTrue(a) == cJSON_IsTrue(b);
  if (cJSON_IsNull(a) && cJSON_IsNull(b))
    return 1;
  return 0;
}

static int matches(const cJSON *ev, const cJSON *pat) {
  const cJSON *k;
  cJSON_ArrayForEach(k, pat) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, k->string);
    if (!v || !json_eq(v, k))
      return 0;
  }
  return 1;
}

static double tof(const cJSON *ev) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "t");
  return cJSON_IsNumber(t) ? t->valuedouble : -1;
}

static int nth_of(const cJSON *e, const char *key) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, key);
  return cJSON_IsNumber(n) && n->valuedouble >= 1 ? (int)n->valuedouble : 1;
}

int sim_check(sim *s, FILE *rep) {
  if (!s->expect)
    return 0;
  cJSON **ev = xcalloc(s->ntl, sizeof(cJSON *));
  for (size_t i = 0; i < s->ntl; i++)
    ev[i] = cJSON_Parse(s->tl[i]);
  int failures = 0, idx = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, s->expect) {
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(e, "match");
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(e, "after");
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(e, "comment");
    char *ptxt = cJSON_PrintUnformatted(pat);
    char what[1200];
    snprintf(what, sizeof what, "expect[%d]%s%s%s %s", idx,
             cJSON_IsString(cm) ? " (" : "",
             cJSON_IsString(cm) ? cm->valuestring : "",
             cJSON_IsString(cm) ? ")" : "", ptxt);
    free(ptxt);
    idx++;
    size_t from = 0;
    double ref_t = 0;
    if (after) {
      int want = nth_of(e, "after_nth"), seen = 0;
      size_t i;
      for (i = 0; i < s->ntl; i++)
        if (ev[i] && matches(ev[i], after) && ++seen == want)
          break;
      if (i == s->ntl) {
        char *a = cJSON_PrintUnformatted(after);
        fprintf(rep, "FAIL %s: the reference event %s (#%d) never happens\n",
                what, a, want);
        free(a);
        failures++;
        continue;
      }
      ref_t = tof(ev[i]);
      from = i + 1;
    }
    const cJSON *within = cJSON_GetObjectItemCaseSensitive(e, "within");
    double hi = cJSON_IsNumber(within) ? ref_t + within->valuedouble : 1e300;
    size_t *hits = xcalloc(s->ntl + 1, sizeof(size_t));
    size_t nh = 0;
    for (size_t i = from; i < s->ntl; i++)
      if (ev[i] && matches(ev[i], pat) && tof(ev[i]) < hi - 0.0000001)
        hits[nh++] = i;
    const cJSON *absent = cJSON_GetObjectItemCaseSensitive(e, "absent");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(e, "count");
    if (cJSON_IsTrue(absent)) {
      if (nh) {
        fprintf(rep, "FAIL %s: expected none, got one at t=%.3f\n", what,
                tof(ev[hits[0]]));
        failures++;
      }
    } else if (cJSON_IsNumber(count)) {
      if ((double)nh != count->valuedouble) {
        fprintf(rep, "FAIL %s: expected %g, got %zu\n", what,
                count->valuedouble, nh);
        failures++;
      }
    } else {
      int n = nth_of(e, "nth");
      if ((size_t)n > nh) {
        fprintf(rep, "FAIL %s: match #%d never happens (%zu seen)\n", what,
                n, nh);
        failures++;
      } else {
        double t = tof(ev[hits[n - 1]]);
        const cJSON *et = cJSON_GetObjectItemCaseSensitive(e, "t");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "delta");
        const cJSON *dmin = cJSON_GetObjectItemCaseSensitive(e, "delta_min");
        const cJSON *dmax = cJSON_GetObjectItemCaseSensitive(e, "delta_max");
        if (cJSON_IsNumber(et) && fabs(t - et->valuedouble) > 0.0005) {
          fprintf(rep, "FAIL %s: expected at t=%.3f, got t=%.3f\n", what,
                  et->valuedouble, t);
          failures++;
        }
        if (cJSON_IsNumber(d) &&
            fabs(t - (ref_t + d->valuedouble)) > 0.0005) {
          fprintf(rep, "FAIL %s: expected at reference %.3f + %.3f = %.3f, "
                  "got t=%.3f\n", what, ref_t, d->valuedouble,
                  ref_t + d->valuedouble, t);
          failures++;
        }
        if (cJSON_IsNumber(dmin) && t < ref_t + dmin->valuedouble - 0.0005) {
          fprintf(rep, "FAIL %s: expected no earlier than %.3f + %.3f, got "
                  "t=%.3f\n", what, ref_t, dmin->valuedouble, t);
          failures++;
        }
        if (cJSON_IsNumber(dmax) && t > ref_t + dmax->valuedouble + 0.0005) {
          fprintf(rep, "FAIL %s: expected no later than %.3f + %.3f, got "
                  "t=%.3f\n", what, ref_t, dmax->valuedouble, t);
          failures++;
        }
      }
    }
    free(hits);
  }
  for (size_t i = 0; i < s->ntl; i++)
    cJSON_Delete(ev[i]);
  free(ev);
  return failures;
}

/* ---------------------------------------------------------------- misc */

sipline_ua *sim_ua(sim *s) { return s->ua; }
const sipline_profile *sim_profile(const sim *s) { return s->profile; }
const sim_stats *sim_get_stats(const sim *s) { return &s->stats; }
sipline_tstamp sim_now(const sim *s) { return s->now; }

void sim_del(sim *s) {
  if (!s)
    return;
  sipline_ua_del(s->ua);
  sipline_profile_del(s->profile);
  for (size_t i = 0; i < s->nsrv; i++)
    free(s->srv[i].b);
  free(s->srv);
  for (size_t i = 0; i < s->ndns; i++) {
    free(s->dns[i].name);
    free(s->dns[i].rr);
  }
  free(s->dns);
  free(s->calls);
  for (size_t i = 0; i < s->nheap; i++)
    free(s->heap[i].data);
  free(s->heap);
  for (size_t i = 0; i < s->nconns; i++)
    free(s->conns[i].pend.p);
  free(s->conns);
  free(s->cbuckets);
  for (size_t i = 0; i < s->ncreds; i++)
    free(s->creds[i].key);
  free(s->creds);
  free(s->credb);
  for (size_t i = 0; i < s->ntl; i++)
    free(s->tl[i]);
  free(s->tl);
  free(s->line.p);
  cJSON_Delete(s->root);
  free(s->path);
  free(s->dir);
  free(s);
}
