/*
 * daemon/pace.c: --max-pending N, a window of UDP requests in flight to
 * each destination.
 *
 * Why: the core sends what every line wants at once. One siplined with
 * 10,000 lines starts 10,000 REGISTERs in the same loop turn; over UDP that
 * burst overflows the registrar's socket buffer, the dropped REGISTERs are
 * retransmitted (Timer A/E) into the same overload, and the fleet takes
 * far longer to register than the registrar's own rate allows. A fixed
 * send rate does not cure it, since the registrar's rate is not known (a
 * Kamailio with digest on db_text took 1,400 to 4,000 registrations a
 * second on the same machine, depending on the load; bench/fleet). A
 * window does, as in TCP: at most N requests sent to a destination and not
 * yet answered with a final response; the next one leaves when an answer
 * comes, so the sending follows the registrar's pace whatever it is.
 *
 * What counts: a request sent over UDP, except ACK, keyed by its top Via
 * branch and CSeq method; a final response received with the same key
 * frees its slot. A slot also frees 32 s (64 x T1) after the request left
 * (no answer ever came: the core has given up on it by then) and at once
 * when the destination sends an ICMP error (the core fails every
 * transaction to it). Responses, ACKs and retransmissions of a request in
 * flight pass at once. A request that waits is copied into the
 * destination's FIFO, ahead of the others when it carries credentials: it
 * finishes a registration the server has already challenged (with 10,000
 * lines in one FIFO, no line got its 200 until every first REGISTER had
 * gone); if the core retransmits it while it waits (its timers
 * count from the moment it was pulled), the copy is dropped, since sending
 * it twice in a row helps nobody.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sd.h"
#include "sipline/msg.h"

#define PEND_TTL_MS 32000u

typedef struct pitem {
  struct pitem *next;
  sipline_path path;
  uint64_t key;  /* branch + method */
  uint64_t hash; /* the bytes and the destination: copies */
  size_t n;
  uint8_t data[];
} pitem;

typedef struct pdest pdest;

typedef struct pend {
  struct pend *prev, *next; /* by send time */
  uint64_t key;
  pdest *dest;
  uint64_t sent_ms;
} pend;

struct pdest {
  pdest *next;
  sipline_addr remote;
  unsigned pending;
  pitem *head, *tail;   /* waiting, in order */
  pitem *phead, *ptail; /* waiting with credentials: first */
  size_t queued;
};

/* Open addressing, linear probing, backward-shift deletion; 0 = empty. */
typedef struct hset {
  uint64_t *k;
  void **v;
  size_t cap, n;
} hset;

struct sd_pace {
  uv_timer_t timer; /* expiry of slots whose answer never came */
  unsigned window;
  pdest *dests;
  pend *oldest, *newest;
  hset pend_by_key; /* key -> pend */
  hset queued;      /* hash -> NULL: copies of waiting datagrams */
  uint64_t delayed, deduped, expired;
  size_t max_queued, total_queued;
};

static sipline_msg scratch; /* large: parsed one datagram at a time */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const uint8_t *a = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ a[i]) * 1099511628211ull;
  return h;
}

static size_t home(const hset *s, uint64_t k) {
  return (size_t)(k ^ (k >> 29)) & (s->cap - 1);
}

static size_t hfind(const hset *s, uint64_t k) {
  if (!s->cap)
    return SIZE_MAX;
  for (size_t i = home(s, k);; i = (i + 1) & (s->cap - 1)) {
    if (s->k[i] == k)
      return i;
    if (!s->k[i])
      return SIZE_MAX;
  }
}

static void hput_raw(hset *s, uint64_t k, void *v) {
  size_t i = home(s, k);
  while (s->k[i])
    i = (i + 1) & (s->cap - 1);
  s->k[i] = k;
  s->v[i] = v;
  s->n++;
}

static int hput(hset *s, uint64_t k, void *v) {
  if ((s->n + 1) * 2 > s->cap) {
    hset o = *s;
    size_t cap = o.cap ? o.cap * 2 : 256;
    s->k = calloc(cap, sizeof *s->k);
    s->v = calloc(cap, sizeof *s->v);
    if (!s->k || !s->v) {
      free(s->k);
      free(s->v);
      *s = o;
      return -1;
    }
    s->cap = cap;
    s->n = 0;
    for (size_t i = 0; i < o.cap; i++)
      if (o.k[i])
        hput_raw(s, o.k[i], o.v[i]);
    free(o.k);
    free(o.v);
  }
  hput_raw(s, k, v);
  return 0;
}

static void hdel(hset *s, uint64_t k) {
  size_t i = hfind(s, k);
  if (i == SIZE_MAX)
    return;
  size_t mask = s->cap - 1;
  s->k[i] = 0;
  s->v[i] = NULL;
  s->n--;
  for (size_t j = (i + 1) & mask; s->k[j]; j = (j + 1) & mask) {
    size_t h = home(s, s->k[j]);
    /* move it back when its home is not in (i, j], cyclically */
    if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
      s->k[i] = s->k[j];
      s->v[i] = s->v[j];
      s->k[j] = 0;
      s->v[j] = NULL;
      i = j;
    }
  }
  /* empty again after a burst (a fleet's start queues ~10,000 datagrams,
   * a table of 32,768 slots): give the table back rather than keep it at
   * its peak; the next hput starts again at 256 */
  if (s->n == 0 && s->cap > 256) {
    free(s->k);
    free(s->v);
    memset(s, 0, sizeof *s);
  }
}

static void hfree(hset *s) {
  free(s->k);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static int addr_eq(const sipline_addr *a, const sipline_addr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static pdest *dest_of(sd_pace *pc, const sipline_addr *remote, int make) {
  for (pdest *q = pc->dests; q; q = q->next)
    if (addr_eq(&q->remote, remote))
      return q;
  if (!make)
    return NULL;
  pdest *q = calloc(1, sizeof *q);
  if (!q)
    return NULL;
  q->remote = *remote;
  q->next = pc->dests;
  pc->dests = q;
  return q;
}

/*
 * What a datagram is for the window: 1 a request that takes a slot (*key
 * set), 2 a final response (*key set), 0 anything else (ACK, provisional,
 * not parsable, or not the kind `want` asks for: passes).
 */
static int classify(const uint8_t *p, size_t n, int want, uint64_t *key,
                    int *creds) {
  /* Each caller wants one kind (sending: requests; receiving: final
   * responses), and the core parses every message anyway: the start line
   * tells the other kinds apart without a second full parse (a UAS at a
   * few thousand calls/s sends mostly responses and receives requests). */
  size_t i = 0;
  while (i < n && (p[i] == '\r' || p[i] == '\n'))
    i++;
  int response = n - i > 8 && memcmp(p + i, "SIP/", 4) == 0;
  if (want == 1 ? response : !response || p[i + 8] < '2')
    return 0;
  if (sipline_msg_parse(&scratch, (const char *)p, n, SIPLINE_PARSE_DATAGRAM,
                        NULL) < 0)
    return 0;
  const sipline_msg *m = &scratch;
  if (!m->via.branch.len || !m->cseq_method_name.len)
    return 0;
  if (m->is_request && m->method == SIPLINE_METHOD_ACK)
    return 0;
  if (!m->is_request && m->status < 200)
    return 0;
  uint64_t h = fnv(1469598103934665603ull, m->via.branch.p, m->via.branch.len);
  h = fnv(h, m->cseq_method_name.p, m->cseq_method_name.len);
  *key = h ? h : 1;
  *creds = m->is_request &&
           (sipline_msg_hdr(m, SIPLINE_HDR_AUTHORIZATION, 0) ||
            sipline_msg_hdr(m, SIPLINE_HDR_PROXY_AUTHORIZATION, 0));
  return m->is_request ? 1 : 2;
}

static void pend_unlink(sd_pace *pc, pend *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    pc->oldest = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    pc->newest = e->prev;
}

static void pump(sd *d, pdest *q);

/* Frees a slot: answered, expired or its destination unreachable. */
static void pend_done(sd_pace *pc, pend *e) {
  pend_unlink(pc, e);
  hdel(&pc->pend_by_key, e->key);
  e->dest->pending--;
  free(e);
}

/* Sends p now; a request takes a slot of q. */
static void take_and_send(sd *d, pdest *q, const sipline_path *path,
                          uint64_t key, const uint8_t *p, size_t n) {
  sd_pace *pc = d->pace;
  pend *e = calloc(1, sizeof *e);
  if (e && hput(&pc->pend_by_key, key, e) == 0) {
    e->key = key;
    e->dest = q;
    e->sent_ms = uv_now(d->loop);
    e->prev = pc->newest;
    if (pc->newest)
      pc->newest->next = e;
    else
      pc->oldest = e;
    pc->newest = e;
    q->pending++;
  } else {
    free(e); /* no memory: send it unaccounted rather than hold it */
  }
  net_udp_send_now(d, path, p, n);
}

static void expire_cb(uv_timer_t *t);

static void arm(sd *d) {
  sd_pace *pc = d->pace;
  if (!pc || !pc->oldest) {
    if (pc)
      uv_timer_stop(&pc->timer);
    return;
  }
  uint64_t now = uv_now(d->loop), due = pc->oldest->sent_ms + PEND_TTL_MS;
  uv_timer_start(&pc->timer, expire_cb, due > now ? due - now : 0, 0);
}

/* Sends what waits for q while it has free slots. */
static void pump(sd *d, pdest *q) {
  sd_pace *pc = d->pace;
  while (d->pace == pc && (q->phead || q->head) &&
         q->pending < pc->window) {
    pitem **h = q->phead ? &q->phead : &q->head;
    pitem **tl = q->phead ? &q->ptail : &q->tail;
    pitem *it = *h;
    *h = it->next;
    if (!*h)
      *tl = NULL;
    q->queued--;
    pc->total_queued--;
    hdel(&pc->queued, it->hash);
    /* may call into the UA (an ICMP error), which may come back here */
    take_and_send(d, q, &it->path, it->key, it->data, it->n);
    free(it);
  }
  if (d->pace == pc)
    arm(d);
}

static void expire_cb(uv_timer_t *t) {
  sd *d = t->data;
  sd_pace *pc = d->pace;
  uint64_t now = uv_now(d->loop);
  while (pc->oldest && pc->oldest->sent_ms + PEND_TTL_MS <= now) {
    pdest *q = pc->oldest->dest;
    pend_done(pc, pc->oldest);
    pc->expired++;
    pump(d, q);
    if (d->pace != pc)
      return;
  }
  arm(d);
}

int pace_init(sd *d) {
  if (!d->o.max_pending)
    return 0;
  sd_pace *pc = calloc(1, sizeof *pc);
  if (!pc)
    return -1;
  pc->window = d->o.max_pending;
  uv_timer_init(d->loop, &pc->timer);
  pc->timer.data = d;
  uv_unref((uv_handle_t *)&pc->timer); /* never keeps the loop alive */
  d->pace = pc;
  return 0;
}

int pace_hold(sd *d, const sipline_path *path, const uint8_t *p, size_t n) {
  sd_pace *pc = d->pace;
  uint64_t key;
  int creds = 0;
  if (!pc || classify(p, n, 1, &key, &creds) != 1)
    return 0;
  if (hfind(&pc->pend_by_key, key) != SIZE_MAX)
    return 0; /* a retransmission of a request in flight */
  pdest *q = dest_of(pc, &path->remote, 1);
  if (!q)
    return 0;
  if (!q->head && !q->phead && q->pending < pc->window) {
    take_and_send(d, q, path, key, p, n);
    arm(d);
    return 1;
  }
  uint64_t h = fnv(fnv(1469598103934665603ull, &path->remote,
                       sizeof path->remote), p, n);
  h = h ? h : 1;
  if (hfind(&pc->queued, h) != SIZE_MAX) {
    pc->deduped++;
    return 1;
  }
  pitem *it = malloc(sizeof *it + n);
  if (!it || hput(&pc->queued, h, NULL) != 0) {
    free(it);
    return 0; /* no memory: send it now rather than lose it */
  }
  it->next = NULL;
  it->path = *path;
  it->key = key;
  it->hash = h;
  it->n = n;
  memcpy(it->data, p, n);
  pitem **hd = creds ? &q->phead : &q->head;
  pitem **tl = creds ? &q->ptail : &q->tail;
  if (*tl)
    (*tl)->next = it;
  else
    *hd = it;
  *tl = it;
  q->queued++;
  pc->delayed++;
  if (++pc->total_queued > pc->max_queued)
    pc->max_queued = pc->total_queued;
  return 1;
}

void pace_rx(sd *d, const uint8_t *p, size_t n) {
  sd_pace *pc = d->pace;
  uint64_t key;
  int creds;
  if (!pc || !pc->oldest || classify(p, n, 2, &key, &creds) != 2)
    return;
  size_t i = hfind(&pc->pend_by_key, key);
  if (i == SIZE_MAX)
    return;
  pend *e = pc->pend_by_key.v[i];
  pdest *q = e->dest;
  pend_done(pc, e);
  pump(d, q);
}

/* Drops q's waiting datagrams. */
static void dest_flush(sd_pace *pc, pdest *q) {
  for (int k = 0; k < 2; k++) {
    pitem **h = k ? &q->phead : &q->head;
    while (*h) {
      pitem *it = *h;
      *h = it->next;
      hdel(&pc->queued, it->hash);
      free(it);
    }
  }
  q->tail = q->ptail = NULL;
  pc->total_queued -= q->queued;
  q->queued = 0;
}

void pace_unreachable(sd *d, const sipline_addr *remote) {
  sd_pace *pc = d->pace;
  pdest *q = pc ? dest_of(pc, remote, 0) : NULL;
  if (!q)
    return;
  /* The core fails every transaction to it: nothing will answer them, and
   * what waits was sent by transactions that are over. */
  for (pend *e = pc->oldest, *nx; e; e = nx) {
    nx = e->next;
    if (e->dest == q)
      pend_done(pc, e);
  }
  dest_flush(pc, q);
  arm(d);
}

void pace_stats(const sd *d, uint64_t *delayed, uint64_t *deduped,
                size_t *queued, size_t *max_queued) {
  const sd_pace *pc = d->pace;
  *delayed = pc ? pc->delayed : 0;
  *deduped = pc ? pc->deduped : 0;
  *queued = pc ? pc->total_queued : 0;
  *max_queued = pc ? pc->max_queued : 0;
}

void pace_clear(sd *d) {
  sd_pace *pc = d->pace;
  if (!pc)
    return;
  while (pc->oldest)
    pend_done(pc, pc->oldest);
  while (pc->dests) {
    pdest *q = pc->dests;
    pc->dests = q->next;
    dest_flush(pc, q);
    free(q);
  }
  uv_timer_stop(&pc->timer);
}

static void pace_freed(uv_handle_t *h) {
  free(h->data);
}

void pace_close(sd *d) {
  sd_pace *pc = d->pace;
  if (!pc)
    return;
  pace_clear(d);
  d->pace = NULL;
  hfree(&pc->pend_by_key);
  hfree(&pc->queued);
  pc->timer.data = pc;
  uv_close((uv_handle_t *)&pc->timer, pace_freed);
}
