/*
 * tools/sipline-sim/sim_net.c: the simulated network and its endpoints.
 *
 * Every message arrives latency_ms (default 10 ms) after it was sent, in
 * send order at equal times (a heap keyed by time, then sequence number).
 * UDP carries datagrams; TCP and TLS carry byte streams over simulated
 * connections (TLS is TCP here: no handshake is simulated), which an
 * endpoint that refuses streams refuses and an endpoint going `close`
 * resets. The UA's stream bytes are framed into whole messages (and CRLF
 * keep-alives) here, so an endpoint only ever sees complete messages.
 *
 * Endpoints are the things at addresses the UA can reach, in scenario
 * order; each has an ops table (sim_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* ---- endpoints ----------------------------------------------------------- */

sim_endpoint *sim__endpoint_add(sim *s, const char *name, const sipline_addr *a,
                                const sim_endpoint_ops *ops, void *impl) {
  if (s->nep == s->capep) {
    s->capep = s->capep ? 2 * s->capep : 8;
    s->ep = sim__xrealloc(s->ep, s->capep * sizeof(sim_endpoint));
  }
  sim_endpoint *ep = &s->ep[s->nep];
  memset(ep, 0, sizeof(*ep));
  snprintf(ep->name, sizeof ep->name, "%s", name);
  ep->addr = *a;
  ep->idx = (unsigned)s->nep++;
  ep->ops = ops;
  ep->impl = impl;
  return ep;
}

sim_endpoint *sim__endpoint_by_addr(const sim *s, const sipline_addr *a) {
  for (size_t i = 0; i < s->nep; i++)
    if (sim__addr_same(&s->ep[i].addr, a))
      return &s->ep[i];
  return NULL;
}

sipline_tstamp sim__endpoints_next_due(const sim *s) {
  sipline_tstamp t = SIPLINE_TSTAMP_NONE;
  for (size_t i = 0; i < s->nep; i++) {
    sipline_tstamp e = s->ep[i].ops->next_due(&s->ep[i]);
    if (e < t)
      t = e;
  }
  return t;
}

void sim__endpoints_run_due(sim *s) {
  for (size_t i = 0; i < s->nep; i++)
    s->ep[i].ops->run_due(s, &s->ep[i]);
}

/* ---- heap ---------------------------------------------------------------- */

static int heap_less(const nitem *a, const nitem *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void net_push(sim *s, nitem it) {
  it.seq = s->seq++;
  if (s->nheap == s->capheap) {
    s->capheap = s->capheap ? 2 * s->capheap : 256;
    s->heap = sim__xrealloc(s->heap, s->capheap * sizeof(nitem));
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

/* Queues a copy of data (may be NULL with len 0) for delivery. */
static void net_send(sim *s, nkind k, const sipline_path *p, int ci, int why,
                     const char *data, size_t len) {
  nitem it = {
      .t = s->now + s->latency, .k = k, .why = why, .conn = ci, .path = *p};
  if (data) {
    it.data = sim__xmalloc(len);
    it.len = len;
    memcpy(it.data, data, len);
  }
  net_push(s, it);
}

sipline_tstamp sim__net_next(const sim *s) {
  return s->nheap ? s->heap[0].t : SIPLINE_TSTAMP_NONE;
}

/* ---- conns --------------------------------------------------------------- */

static int path_same(const sipline_path *a, const sipline_path *b) {
  return a->tp == b->tp && sim__addr_same(&a->local, &b->local) &&
         sim__addr_same(&a->remote, &b->remote);
}

static uint64_t path_hash(const sipline_path *p) {
  uint64_t h = sim__fnv(&p->tp, sizeof p->tp, SIM_FNV0);
  h = sim__fnv(p->local.ip, 16, h);
  h = sim__fnv(&p->local.port, 2, h);
  h = sim__fnv(p->remote.ip, 16, h);
  return sim__fnv(&p->remote.port, 2, h);
}

static int conn_find(sim *s, const sipline_path *p, int create) {
  if (!s->ncbuckets) {
    s->ncbuckets = 4096;
    s->cbuckets = sim__xmalloc(s->ncbuckets * sizeof(int));
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
    s->conns = sim__xrealloc(s->conns, s->capconns * sizeof(conn));
  }
  conn *c = &s->conns[s->nconns];
  memset(c, 0, sizeof(*c));
  c->path = *p;
  c->next = s->cbuckets[b];
  s->cbuckets[b] = (int)s->nconns;
  return (int)s->nconns++;
}

/* Closes a connection; the UA hears of it after the network's delay. */
static void conn_reset(sim *s, conn *c, int why) {
  c->st = C_CLOSED;
  c->pend.len = 0;
  sim__net_tperr_to_ua(s, &c->path, why);
}

void sim__net_close_conns(sim *s, const sipline_addr *a) {
  for (size_t i = 0; i < s->nconns; i++) {
    conn *c = &s->conns[i];
    if (c->st != C_CLOSED && sim__addr_same(&c->path.remote, a))
      conn_reset(s, c, SIPLINE_TPERR_CLOSED);
  }
}

/* ---- UA -> --------------------------------------------------------------- */

static void to_endpoint(sim *s, const sipline_path *p, int ci, const char *data,
                        size_t len) {
  sim__print_wire(s, "tx", p, data, len);
  if (len > 8 && memcmp(data, "REGISTER", 8) == 0)
    s->stats.registers++;
  net_send(s, N_TO_SERVER, p, ci, 0, data, len);
}

void sim__net_from_ua(sim *s, const sipline_path *p, const uint8_t *data,
                      size_t len) {
  if (p->tp == SIPLINE_TP_UDP) {
    to_endpoint(s, p, -1, (const char *)data, len);
    return;
  }
  int ci = conn_find(s, p, 1);
  conn *c = &s->conns[ci];
  if (c->st == C_CLOSED)
    c->st = C_CONNECTING;
  sim__sb_add(&c->pend, (const char *)data, len);
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
    to_endpoint(s, p, ci, c->pend.p, n);
    memmove(c->pend.p, c->pend.p + n, c->pend.len - n);
    c->pend.len -= n;
  }
}

/* ---- -> UA --------------------------------------------------------------- */

void sim__net_to_ua(sim *s, const sipline_path *p, int ci, const char *data,
                    size_t len) {
  net_send(s, N_TO_UA, p, ci, 0, data, len);
}

void sim__net_tperr_to_ua(sim *s, const sipline_path *p, int why) {
  net_send(s, N_TPERR, p, -1, why, NULL, 0);
}

/* ---- delivery ------------------------------------------------------------ */

static void deliver(sim *s, nitem *it) {
  if (it->k == N_TPERR) {
    sim__ua_tperr(s, &it->path, it->why);
    return;
  }
  if (it->k == N_TO_UA) {
    if (it->conn >= 0 && s->conns[it->conn].st != C_OPEN)
      return; /* the connection went away while this was in flight */
    sim__ua_rx(s, &it->path, it->data, it->len);
    return;
  }
  sim_endpoint *ep = sim__endpoint_by_addr(s, &it->path.remote);
  if (it->conn >= 0) {
    conn *c = &s->conns[it->conn];
    if (c->st == C_CLOSED)
      return; /* after a refusal or reset: the bytes are gone */
    if (ep && ep->ops->refuses_streams(ep)) {
      conn_reset(s, c,
                 c->st == C_CONNECTING ? SIPLINE_TPERR_REFUSED
                                       : SIPLINE_TPERR_CLOSED);
      return;
    }
    c->st = C_OPEN; /* even a frozen server's kernel accepts */
  }
  s->stats.msgs_to_servers++;
  if (ep)
    ep->ops->rx(s, ep, &it->path, it->conn, it->data, it->len);
}

void sim__net_deliver_due(sim *s) {
  while (s->nheap && s->heap[0].t <= s->now) {
    nitem it = net_pop(s);
    deliver(s, &it);
    free(it.data);
  }
}

void sim__net_free(sim *s) {
  for (size_t i = 0; i < s->nheap; i++)
    free(s->heap[i].data);
  free(s->heap);
  for (size_t i = 0; i < s->nconns; i++)
    free(s->conns[i].pend.p);
  free(s->conns);
  free(s->cbuckets);
  for (size_t i = 0; i < s->nep; i++)
    if (s->ep[i].ops->del)
      s->ep[i].ops->del(&s->ep[i]);
  free(s->ep);
}
