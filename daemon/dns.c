/*
 * daemon/dns.c: answers the UA's SIPLINE_EV_DNS_QUERY events with c-ares
 * (SRV and NAPTR with ares_query, A and AAAA with ares_getaddrinfo so that
 * /etc/hosts applies), its sockets watched with uv_poll and its timeouts
 * with one uv_timer.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sd.h"

typedef struct dpoll {
  uv_poll_t h;
  struct sd_dns *dns;
  ares_socket_t fd;
  struct dpoll *next;
} dpoll;

struct sd_dns {
  sd *d;
  ares_channel ch;
  uv_timer_t timer;
  dpoll *polls;
};

typedef struct dq {
  sd *d;
  unsigned gen, id;
  int qtype;
  char name[256];
} dq;

static void dns_rearm(struct sd_dns *s);

/* A "dns_answer" line for the stream (with the tx/rx lines, as in
 * sipline-sim): the records in the order the core gets them. */
static void answer_event(sd *d, const dq *q, const sipline_dns_rr *rr,
                         size_t n) {
  cJSON *ev = sj_event_new("dns_answer", sd_now(d), 0, &d->ck);
  if (!ev)
    return;
  cJSON_AddNumberToObject(ev, "id", q->id);
  cJSON_AddStringToObject(ev, "name", q->name);
  cJSON *arr = cJSON_AddArrayToObject(ev, "records");
  for (size_t i = 0; i < n; i++) {
    char b[400];
    if (rr[i].type == SIPLINE_DNS_SRV)
      snprintf(b, sizeof b, "SRV %u %u %u %s", rr[i].priority, rr[i].weight,
               rr[i].port, rr[i].target);
    else if (rr[i].type == SIPLINE_DNS_NAPTR)
      snprintf(b, sizeof b, "NAPTR %u %u %s %s", rr[i].priority, rr[i].weight,
               rr[i].service, rr[i].target);
    else {
      char a[80];
      sipline_addr ip = rr[i].addr;
      ip.port = 0; /* no port: "1.2.3.4" / "[::1]"; the brackets go */
      sj_addr(&ip, a, sizeof a);
      size_t al = strlen(a);
      if (al > 2 && a[0] == '[') {
        a[al - 1] = '\0';
        memmove(a, a + 1, al - 1);
      }
      snprintf(b, sizeof b, "%s %s", rr[i].type == SIPLINE_DNS_A ? "A" : "AAAA",
               a);
    }
    size_t bl = strlen(b);
    if (rr[i].ttl != UINT32_MAX)
      snprintf(b + bl, sizeof b - bl, " ttl=%u", rr[i].ttl);
    cJSON_AddItemToArray(arr, cJSON_CreateString(b));
  }
  sd_push_message(d, ev);
}

static void answer(dq *q, const sipline_dns_rr *rr, size_t n) {
  sd *d = q->d;
  if (d->ua && q->gen == d->ua_gen) {
    slog(SLOG_DEBUG, "DNS %s type %d: %zu record(s)", q->name, q->qtype, n);
    answer_event(d, q, rr, n);
    sipline_ua_dns_answer(d->ua, q->id, rr, n, sd_now(d));
    sd_drive(d);
  }
  free(q);
}

/*
 * The least TTL of the answer records of type rtype in a DNS reply (RFC
 * 1035 §4.1): c-ares' SRV and NAPTR parsers drop TTLs, and the core makes
 * the server list expire by them. UINT32_MAX when there is none (nothing
 * to expire by).
 */
static uint32_t answer_ttl(const unsigned char *buf, int len, int rtype) {
  uint32_t best = UINT32_MAX;
  if (!buf || len < 12)
    return best;
  unsigned qd = (unsigned)buf[4] << 8 | buf[5];
  unsigned an = (unsigned)buf[6] << 8 | buf[7];
  const unsigned char *p = buf + 12, *end = buf + len;
  for (unsigned i = 0; i < qd; i++) {
    char *name = NULL;
    long enc = 0;
    if (ares_expand_name(p, buf, len, &name, &enc) != ARES_SUCCESS)
      return best;
    ares_free_string(name);
    p += enc + 4; /* QTYPE, QCLASS */
    if (p > end)
      return best;
  }
  for (unsigned i = 0; i < an; i++) {
    char *name = NULL;
    long enc = 0;
    if (ares_expand_name(p, buf, len, &name, &enc) != ARES_SUCCESS)
      return best;
    ares_free_string(name);
    p += enc;
    if (end - p < 10)
      return best;
    int type = p[0] << 8 | p[1];
    uint32_t ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
                   (uint32_t)p[6] << 8 | p[7];
    unsigned rdlen = (unsigned)p[8] << 8 | p[9];
    p += 10;
    if ((size_t)(end - p) < rdlen)
      return best;
    /* RFC 2181 §8: a TTL with the top bit set counts as 0. */
    if (ttl > 0x7fffffffu)
      ttl = 0;
    if (type == rtype && ttl < best)
      best = ttl;
    p += rdlen;
  }
  return best;
}

static void query_cb(void *arg, int status, int timeouts, unsigned char *buf,
                     int len) {
  dq *q = arg;
  (void)timeouts;
  if (status == ARES_EDESTRUCTION) {
    free(q);
    return;
  }
  sipline_dns_rr rr[32];
  size_t n = 0;
  memset(rr, 0, sizeof rr);
  if (status == ARES_SUCCESS && q->qtype == SIPLINE_DNS_SRV) {
    struct ares_srv_reply *srv = NULL;
    if (ares_parse_srv_reply(buf, len, &srv) == ARES_SUCCESS) {
      for (struct ares_srv_reply *r = srv; r && n < 32; r = r->next, n++) {
        rr[n].type = SIPLINE_DNS_SRV;
        rr[n].priority = r->priority;
        rr[n].weight = r->weight;
        rr[n].port = r->port;
        snprintf(rr[n].target, sizeof rr[n].target, "%s", r->host);
      }
      ares_free_data(srv);
    }
  } else if (status == ARES_SUCCESS && q->qtype == SIPLINE_DNS_NAPTR) {
    struct ares_naptr_reply *na = NULL;
    if (ares_parse_naptr_reply(buf, len, &na) == ARES_SUCCESS) {
      for (struct ares_naptr_reply *r = na; r && n < 32; r = r->next, n++) {
        rr[n].type = SIPLINE_DNS_NAPTR;
        rr[n].priority = r->order;
        rr[n].weight = r->preference;
        snprintf(rr[n].target, sizeof rr[n].target, "%s", r->replacement);
        snprintf(rr[n].service, sizeof rr[n].service, "%s",
                 (const char *)r->service);
      }
      ares_free_data(na);
    }
  }
  if (status == ARES_SUCCESS && n) {
    uint32_t ttl = answer_ttl(buf, len,
                              q->qtype == SIPLINE_DNS_SRV ? ns_t_srv
                                                          : ns_t_naptr);
    for (size_t i = 0; i < n; i++)
      rr[i].ttl = ttl;
  }
  if (status != ARES_SUCCESS)
    slog(SLOG_INFO, "DNS %s: %s", q->name, ares_strerror(status));
  answer(q, rr, n);
}

static void addr_cb(void *arg, int status, int timeouts,
                    struct ares_addrinfo *res) {
  dq *q = arg;
  (void)timeouts;
  if (status == ARES_EDESTRUCTION) {
    ares_freeaddrinfo(res);
    free(q);
    return;
  }
  sipline_dns_rr rr[32];
  size_t n = 0;
  memset(rr, 0, sizeof rr);
  if (status == ARES_SUCCESS && res) {
    for (struct ares_addrinfo_node *a = res->nodes; a && n < 32;
         a = a->ai_next) {
      sipline_addr x;
      if (sd_addr_from_sa(a->ai_addr, &x) != 0)
        continue;
      if ((q->qtype == SIPLINE_DNS_A) != (x.family == 4))
        continue;
      x.port = 0;
      int dup = 0;
      for (size_t i = 0; i < n; i++)
        dup |= memcmp(rr[i].addr.ip, x.ip, 16) == 0;
      if (dup)
        continue;
      rr[n].type = q->qtype;
      rr[n].addr = x;
      /* The address's TTL, bounded by the CNAMEs that led to it. c-ares
       * gives 0 for an /etc/hosts answer, which has no TTL at all: taken as
       * "use once" it would have every line look the name up again after
       * each REGISTER, so 0 here counts as the floor (an A record really
       * served with TTL 0 is then asked again within 30 s, close enough). */
      rr[n].ttl = a->ai_ttl > 0 ? (uint32_t)a->ai_ttl : SIPLINE_DNS_TTL_MIN;
      for (struct ares_addrinfo_cname *c = res->cnames; c; c = c->next)
        if (c->ttl >= 0 && (uint32_t)c->ttl < rr[n].ttl)
          rr[n].ttl = (uint32_t)c->ttl;
      n++;
    }
  } else {
    slog(SLOG_INFO, "DNS %s: %s", q->name, ares_strerror(status));
  }
  ares_freeaddrinfo(res);
  answer(q, rr, n);
}

static void poll_cb(uv_poll_t *h, int status, int events) {
  dpoll *p = h->data;
  struct sd_dns *s = p->dns;
  ares_socket_t fd = p->fd;
  if (status < 0)
    events = UV_READABLE | UV_WRITABLE; /* let c-ares see the error */
  ares_process_fd(s->ch, (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
                  (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
  dns_rearm(s);
}

static void free_cb(uv_handle_t *h) {
  free(h->data);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable,
                          int writable) {
  struct sd_dns *s = data;
  dpoll **pp = &s->polls;
  while (*pp && (*pp)->fd != fd)
    pp = &(*pp)->next;
  if (!readable && !writable) {
    if (*pp) {
      dpoll *p = *pp;
      *pp = p->next;
      uv_close((uv_handle_t *)&p->h, free_cb);
    }
    return;
  }
  dpoll *p = *pp;
  if (!p) {
    p = calloc(1, sizeof *p);
    if (!p)
      return;
    p->dns = s;
    p->fd = fd;
    if (uv_poll_init_socket(s->d->loop, &p->h, fd) != 0) {
      free(p);
      return;
    }
    p->h.data = p;
    p->next = s->polls;
    s->polls = p;
  }
  uv_poll_start(&p->h,
                (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                poll_cb);
}

static void timer_cb(uv_timer_t *t) {
  struct sd_dns *s = t->data;
  ares_process_fd(s->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  dns_rearm(s);
}

static void dns_rearm(struct sd_dns *s) {
  struct timeval tv, *tvp = ares_timeout(s->ch, NULL, &tv);
  if (!tvp) {
    uv_timer_stop(&s->timer);
    return;
  }
  uint64_t ms = (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000;
  uv_timer_start(&s->timer, timer_cb, ms ? ms : 1, 0);
}

int dns_init(sd *d) {
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
    return -1;
  struct sd_dns *s = calloc(1, sizeof *s);
  if (!s)
    return -1;
  s->d = d;
  struct ares_options op;
  memset(&op, 0, sizeof op);
  op.sock_state_cb = sock_state_cb;
  op.sock_state_cb_data = s;
  op.timeout = 2000; /* ms with ARES_OPT_TIMEOUTMS */
  op.tries = 2;
  int rc = ares_init_options(&s->ch, &op,
                             ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
                                 ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    slog(SLOG_ERROR, "c-ares: %s", ares_strerror(rc));
    free(s);
    return -1;
  }
  if (d->o.dns_servers) {
    rc = ares_set_servers_ports_csv(s->ch, d->o.dns_servers);
    if (rc != ARES_SUCCESS) {
      slog(SLOG_ERROR, "--dns-server %s: %s", d->o.dns_servers,
           ares_strerror(rc));
      ares_destroy(s->ch);
      free(s);
      return -1;
    }
  }
  uv_timer_init(d->loop, &s->timer);
  s->timer.data = s;
  d->dns = s;
  return 0;
}

void dns_query(sd *d, unsigned id, int qtype, const char *name) {
  struct sd_dns *s = d->dns;
  dq *q = calloc(1, sizeof *q);
  if (!q)
    return;
  q->d = d;
  q->gen = d->ua_gen;
  q->id = id;
  q->qtype = qtype;
  snprintf(q->name, sizeof q->name, "%s", name);
  if (!s) {
    answer(q, NULL, 0);
    return;
  }
  if (qtype == SIPLINE_DNS_A || qtype == SIPLINE_DNS_AAAA) {
    struct ares_addrinfo_hints h;
    memset(&h, 0, sizeof h);
    h.ai_family = qtype == SIPLINE_DNS_A ? AF_INET : AF_INET6;
    h.ai_socktype = SOCK_DGRAM;
    ares_getaddrinfo(s->ch, q->name, NULL, &h, addr_cb, q);
  } else if (qtype == SIPLINE_DNS_SRV || qtype == SIPLINE_DNS_NAPTR) {
    ares_query(s->ch, q->name, ns_c_in,
               qtype == SIPLINE_DNS_SRV ? ns_t_srv : ns_t_naptr, query_cb, q);
  } else {
    slog(SLOG_WARN, "DNS query type %d is not supported", qtype);
    answer(q, NULL, 0);
    return;
  }
  dns_rearm(s);
}

void dns_close(sd *d) {
  struct sd_dns *s = d->dns;
  if (!s)
    return;
  d->dns = NULL;
  ares_destroy(s->ch); /* calls back every pending query (EDESTRUCTION) */
  while (s->polls) {
    dpoll *p = s->polls;
    s->polls = p->next;
    uv_close((uv_handle_t *)&p->h, free_cb);
  }
  s->timer.data = s;
  uv_close((uv_handle_t *)&s->timer, free_cb);
  ares_library_cleanup();
}
