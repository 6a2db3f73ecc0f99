/*
 * src/txn/txn.c: the four transaction state machines of RFC 3261 §17 with
 * the RFC 6026 Accepted states, and transaction matching (§17.1.3,
 * §17.2.3 including the RFC 2543 rules).
 *
 * Every transaction sits in one list (txl->all) and one hash bucket (by
 * branch, or by Call-ID for an RFC 2543 request without the magic cookie).
 * A transaction that ends is marked TERMINATED and unhooked from the hash
 * but stays in the list until sipline__txl_reap(), so callbacks never see a
 * freed object and list walks survive any callback.
 */
#include <stdio.h>
#include <string.h>

#include "txn.h"

enum kind { K_ICT, K_NICT, K_IST, K_NIST };

enum state {
  S_CALLING,    /* ICT */
  S_TRYING,     /* NICT, NIST */
  S_PROCEEDING, /* all */
  S_COMPLETED,  /* all */
  S_CONFIRMED,  /* IST */
  S_ACCEPTED,   /* ICT, IST (RFC 6026) */
  S_TERMINATED,
};

struct sipline__txn {
  sipline__txn *next, *prev; /* txl->all */
  sipline__txn *hnext;       /* hash chain; */
  sipline__txn *dnext;       /* txl->dead: terminated, to be reaped */
  int hashed;
  uint32_t hval; /* full hash of the key, kept for rehashing */
  size_t bucket;
  sipline__txl *txl;
  uint8_t kind, state, reliable;
  sipline_method method;  /* the request's (ACK matches INVITE) */
  sipline_pl method_name; /* ctx: for extension methods (view into out) */
  uint32_t cseq;
  sipline_path path;     /* ctx: where sent; stx: where the request came */
  sipline__timer t_retx; /* A, E, G */
  sipline__timer t_end;  /* B, F, D, K, H, I, J, L, M */
  uint32_t ivl;          /* the current retransmission interval */
  sipline_pl branch; /* RFC 3261 branch (with cookie), or empty for 2543 */
  /* What to resend: the stx's last response, or the ctx's request (then a
   * view of the bytes kept after the ctx, never grown nor freed alone). */
  sipline__buf out;
  /* where what we send goes: path with this remote (a server
   * transaction answers where §18.2.2 says, not always the source) */
  sipline_addr out_remote;
};

struct sipline__ctx {
  sipline__txn t;
  sipline__ctx_cb cb;
  void *arg;
  int detached;
  int got_provisional;
  int cancel_sent; /* our CANCEL went: t_end is the §9.1 limit */
  int cancel_pending;
  int tperr;
  sipline__buf ack;    /* ACK for a non-2xx, built once */
  sipline__buf ack2xx; /* the TU's ACK for a 2xx (sipline__ctx_ack_2xx) */
  sipline_path *ack2xx_path; /* made with the first; owned */
  sipline__buf ack2xx_tag;
  /* The request, in the same block: a REGISTER costs one allocation, and
   * its transaction and bytes sit together (issue 10 item 5). room is what
   * the block holds (with the NUL), so that a spare is reused when it fits. */
  size_t room;
  char req[];
};

struct sipline__stx {
  sipline__txn t;
  sipline__stx_cb cb;
  void *arg;
  int status;
  int sent_any;
  char local_tag[24];
  sipline__buf skel; /* Via lines, From, Call-ID, CSeq as they go back */
  sipline__buf to;   /* the request's To value */
  sipline__buf rr;   /* Record-Route lines for dialog-creating responses */
  int to_has_tag;
  int dialog_creating;
  /* matching keys, views into keys.p (only a server transaction is matched
   * by them; a client one by its branch alone) */
  sipline__buf keys;
  sipline_pl sent_by_host;
  uint16_t sent_by_port;
  /* RFC 2543 keys (without the magic cookie) */
  sipline_pl ruri, from_tag, to_tag, call_id, top_via;
};

/* ------------------------------------------------------------------ */

/* Eight bytes with their ASCII capitals lower-cased (other bytes as they
 * are), all at once: a byte is a capital when its low seven bits are at
 * least 'A' and at most 'Z' and its top bit is clear. */
static uint64_t fold8(uint64_t w) {
  const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
  uint64_t low7 = w & ~high;
  uint64_t ge_a = low7 + ones * (0x80 - 'A');
  uint64_t gt_z = low7 + ones * (0x7f - 'Z');
  return w | ((ge_a & ~gt_z & ~w & high) >> 2);
}

static uint64_t mix64(uint64_t h) {
  h *= 0xff51afd7ed558ccdu;
  return h ^ (h >> 33);
}

/*
 * The bucket hash of a key (a branch, or a Call-ID): case-insensitive, as
 * matching is, taken eight bytes at a time (a byte-wise FNV-1a was ~270
 * instructions per branch, twice per REGISTER), and seeded per UA so that
 * the branches a peer picks for its requests cannot be chosen to fall into
 * one bucket without knowing the seed.
 */
static uint32_t hash_pl(uint64_t seed, sipline_pl s) {
  uint64_t h = seed ^ (s.len * 0x9e3779b97f4a7c15u);
  size_t i = 0;
  for (; i + 8 <= s.len; i += 8) {
    uint64_t w;
    memcpy(&w, s.p + i, 8);
    h = mix64(h ^ fold8(w));
  }
  if (i < s.len) {
    uint64_t w = 0;
    memcpy(&w, s.p + i, s.len - i);
    h = mix64(h ^ fold8(w));
  }
  h = mix64(h);
  return (uint32_t)(h ^ (h >> 32));
}

static int has_cookie(sipline_pl branch) {
  return branch.len > 7 && memcmp(branch.p, "z9hG4bK", 7) == 0;
}

/* Gives back the slack of a finished buffer (buffers grow by doubling):
 * thousands of transactions may sit in Completed for Timer J. */
static void shrink(sipline__buf *b) {
  if (!b->p || b->err || b->cap <= b->len + 1)
    return;
  char *n = sipline_mem_realloc(b->mem, b->p, b->len + 1);
  if (n) {
    b->p = n;
    b->cap = b->len + 1;
  }
}

static void defaults(sipline__txn_timers *tv) {
  tv->t1 = 500;
  tv->t2 = 4000;
  tv->t4 = 5000;
  tv->b = tv->f = tv->h = tv->d = tv->j = 16000;
}

int sipline__txl_init(sipline__txl *txl, const sipline_mem *mem,
                      sipline__theap *timers, sipline_rng *rng,
                      sipline__tp *tp) {
  memset(txl, 0, sizeof(*txl));
  txl->mem = mem;
  txl->timers = timers;
  txl->rng = rng;
  txl->tp = tp;
  /* The hash seed is read from the random state, not drawn from it: the
   * draws (tags, branches, random delays) stay the ones the seed gave. */
  txl->hseed = rng ? mix64(rng->s[0] ^ rng->s[3]) : 0;
  defaults(&txl->tv);
  txl->max_stx = SIPLINE__TXL_MAX_STX;
  txl->n_buckets = 256;
  txl->hash = sipline_mem_calloc(mem, txl->n_buckets, sizeof(*txl->hash));
  if (!txl->hash)
    return SIPLINE_ERR_NOMEM;
  return 0;
}

void sipline__txl_set_timers(sipline__txl *txl, const sipline_profile *p) {
  sipline__txn_timers *tv = &txl->tv;
  defaults(tv);
  if (!p)
    return;
  if (p->t1_ms)
    tv->t1 = p->t1_ms;
  if (p->t2_ms)
    tv->t2 = p->t2_ms;
  if (p->t4_ms)
    tv->t4 = p->t4_ms;
  /* A zero timeout in the profile means the RFC's 64*T1. */
  uint32_t t64 = 64u * tv->t1;
  tv->b = p->timer_b_ms ? p->timer_b_ms : t64;
  tv->f = p->timer_f_ms ? p->timer_f_ms : t64;
  tv->h = p->timer_h_ms ? p->timer_h_ms : t64;
  tv->d = p->timer_d_ms ? p->timer_d_ms : 32000;
  tv->j = p->timer_j_ms ? p->timer_j_ms : t64;
}

static void txn_free(sipline__txl *txl, sipline__txn *t) {
  sipline__timer_cancel(txl->timers, &t->t_retx);
  sipline__timer_cancel(txl->timers, &t->t_end);
  if (t->kind == K_ICT || t->kind == K_NICT) {
    sipline__ctx *c = (sipline__ctx *)t;
    sipline__buf_free(&c->ack);
    sipline__buf_free(&c->ack2xx);
    sipline__buf_free(&c->ack2xx_tag);
    sipline_mem_free(txl->mem, c->ack2xx_path);
    c->ack2xx_path = NULL;
    /* Kept for the next request unless it held a large one (an INVITE
     * with a big SDP): the spares stay a few KiB at most. */
    if (txl->n_spare < SIPLINE__TXL_SPARE && c->room <= 2048) {
      t->next = txl->spare;
      txl->spare = t;
      txl->n_spare++;
      return;
    }
  } else {
    sipline__stx *s = (sipline__stx *)t;
    sipline__buf_free(&s->keys);
    sipline__buf_free(&s->skel);
    sipline__buf_free(&s->to);
    sipline__buf_free(&s->rr);
    sipline__buf_free(&t->out);
  }
  sipline_mem_free(txl->mem, t);
}

/*
 * A zeroed client transaction with room for a request of len bytes: the
 * newest spare when it fits, else a new block (rounded up, so that the next
 * request, a few bytes longer, fits it as a spare). NULL when out of
 * memory or when len cannot be held.
 */
static sipline__ctx *ctx_alloc(sipline__txl *txl, size_t len) {
  if (len > SIZE_MAX - sizeof(sipline__ctx) - 256)
    return NULL;
  size_t room = len + 1;
  sipline__ctx *c = (sipline__ctx *)txl->spare;
  if (c && c->room >= room) {
    txl->spare = c->t.next;
    txl->n_spare--;
    room = c->room;
  } else {
    room = (room + 255) & ~(size_t)255;
    c = sipline_mem_malloc(txl->mem, sizeof(*c) + room);
    if (!c)
      return NULL;
  }
  memset(c, 0, sizeof(*c));
  c->room = room;
  return c;
}

void sipline__txl_free(sipline__txl *txl) {
  sipline__txn *t = txl->all;
  while (t) {
    sipline__txn *next = t->next;
    txn_free(txl, t);
    t = next;
  }
  txl->all = NULL;
  txl->dead = NULL;
  while (txl->spare) {
    sipline__txn *next = txl->spare->next;
    sipline_mem_free(txl->mem, txl->spare);
    txl->spare = next;
  }
  txl->n_spare = 0;
  sipline_mem_free(txl->mem, txl->hash);
  txl->hash = NULL;
  txl->n_live = txl->n_dead = txl->n_stx = 0;
}

static void unhash(sipline__txl *txl, sipline__txn *t) {
  if (!t->hashed)
    return;
  sipline__txn **pp = &txl->hash[t->bucket];
  while (*pp && *pp != t)
    pp = &(*pp)->hnext;
  if (*pp)
    *pp = t->hnext;
  t->hnext = NULL;
  t->hashed = 0;
}

/* Doubles the buckets when chains get long (thousands of lines failing
 * over at once); on allocation failure the table simply stays as it is. */
static void maybe_grow(sipline__txl *txl) {
  if (txl->n_live < txl->n_buckets || txl->n_buckets >= (1u << 20))
    return;
  size_t nb = txl->n_buckets * 2;
  sipline__txn **h = sipline_mem_calloc(txl->mem, nb, sizeof(*h));
  if (!h)
    return;
  for (sipline__txn *t = txl->all; t; t = t->next) {
    if (!t->hashed)
      continue;
    t->bucket = t->hval & (nb - 1);
    t->hnext = h[t->bucket];
    h[t->bucket] = t;
  }
  sipline_mem_free(txl->mem, txl->hash);
  txl->hash = h;
  txl->n_buckets = nb;
}

static void link_txn(sipline__txl *txl, sipline__txn *t, sipline_pl key) {
  t->hval = hash_pl(txl->hseed, key);
  t->bucket = t->hval & (txl->n_buckets - 1);
  t->hnext = txl->hash[t->bucket];
  txl->hash[t->bucket] = t;
  t->hashed = 1;
  t->next = txl->all;
  t->prev = NULL;
  if (txl->all)
    txl->all->prev = t;
  txl->all = t;
  txl->n_live++;
  if (t->kind == K_IST || t->kind == K_NIST)
    txl->n_stx++;
  maybe_grow(txl);
}

void sipline__txl_reap(sipline__txl *txl) {
  /* Only the terminated ones are visited: O(dead), not O(all). */
  while (txl->dead) {
    sipline__txn *t = txl->dead;
    txl->dead = t->dnext;
    if (t->prev)
      t->prev->next = t->next;
    else
      txl->all = t->next;
    if (t->next)
      t->next->prev = t->prev;
    txn_free(txl, t);
    txl->n_dead--;
  }
}

size_t sipline__txl_count(const sipline__txl *txl) {
  return txl->n_live;
}

static void stx_gone(sipline__stx *s, sipline_tstamp now);

/* Moves t to TERMINATED: timers off, out of the hash, reaped later. */
static void terminate(sipline__txn *t, sipline_tstamp now) {
  if (t->state == S_TERMINATED)
    return;
  sipline__txl *txl = t->txl;
  t->state = S_TERMINATED;
  sipline__timer_cancel(txl->timers, &t->t_retx);
  sipline__timer_cancel(txl->timers, &t->t_end);
  unhash(txl, t);
  txl->n_live--;
  if (t->kind == K_IST || t->kind == K_NIST)
    txl->n_stx--;
  txl->n_dead++;
  t->dnext = txl->dead;
  txl->dead = t;
  if (t->kind == K_IST || t->kind == K_NIST)
    stx_gone((sipline__stx *)t, now);
}

static int arm(sipline__txn *t, sipline__timer *tm, sipline_tstamp when) {
  return sipline__timer_arm(t->txl->timers, tm, when);
}

/* The path retransmissions and responses go on. */
static void out_path(const sipline__txn *t, sipline_path *p) {
  *p = t->path;
  p->remote = t->out_remote;
  if (t->kind == K_IST || t->kind == K_NIST)
    p->host[0] = 0;
}

static void send_out(sipline__txn *t, sipline_tstamp now) {
  if (!t->out.len)
    return;
  sipline_path op;
  out_path(t, &op);
  sipline__tp_send(t->txl->tp, &op, t->out.p, t->out.len, now);
}

/* ------------------------------------------------------------------ */
/* client transactions */

static void ctx_report(sipline__ctx *c, const sipline_msg *rsp, int err,
                       sipline_tstamp now) {
  if (c->detached || !c->cb)
    return;
  c->cb(c->arg, c, rsp, err, now);
}

/* Last report: the TU's handle ends with this callback. */
static void ctx_report_last(sipline__ctx *c, const sipline_msg *rsp, int err,
                            sipline_tstamp now) {
  ctx_report(c, rsp, err, now);
  c->detached = 1;
}

static void ctx_on_retx(sipline__timer *tm, void *arg, sipline_tstamp now) {
  (void)tm;
  sipline__ctx *c = arg;
  sipline__txn *t = &c->t;
  const sipline__txn_timers *tv = &t->txl->tv;
  if (t->kind == K_ICT) {
    if (t->state != S_CALLING)
      return;
    /* Timer A doubles without a cap (§17.1.1.2). */
    send_out(t, now);
    t->ivl = t->ivl > UINT32_MAX / 2 ? UINT32_MAX : t->ivl * 2;
    arm(t, &t->t_retx, now + t->ivl);
    return;
  }
  if (t->state == S_TRYING) {
    /* Timer E: min(2E, T2) (§17.1.2.2). */
    send_out(t, now);
    t->ivl = SIPLINE__MIN(t->ivl * 2, tv->t2);
    arm(t, &t->t_retx, now + t->ivl);
  } else if (t->state == S_PROCEEDING) {
    send_out(t, now);
    t->ivl = tv->t2;
    arm(t, &t->t_retx, now + t->ivl);
  }
}

static void ctx_on_end(sipline__timer *tm, void *arg, sipline_tstamp now) {
  (void)tm;
  sipline__ctx *c = arg;
  sipline__txn *t = &c->t;
  switch (t->state) {
  case S_CALLING:
  case S_TRYING:
  case S_PROCEEDING:
    /* Timer B or F. */
    terminate(t, now);
    ctx_report_last(c, NULL, SIPLINE_ERR_TIMEOUT, now);
    break;
  case S_ACCEPTED:
    /* Timer M: the end of the Accepted state. */
    terminate(t, now);
    ctx_report_last(c, NULL, 0, now);
    break;
  default:
    /* Timer D or K. */
    terminate(t, now);
    break;
  }
}

/* Copies the value of every header with id from m into b as lines. */
static void copy_hdrs(sipline__buf *b, const sipline_msg *m, sipline_hdr_id id,
                      const char *name) {
  for (unsigned i = 0; i < m->n_hdrs; i++)
    if (m->hdrs[i].id == id) {
      sipline__buf_printf(b, "%s: ", name);
      sipline__buf_append_pl(b, m->hdrs[i].value);
      sipline__buf_append(b, "\r\n", 2);
    }
}

/* The first Via value of the first Via line (a line may hold several). */
static sipline_pl top_via_value(const sipline_msg *m) {
  const sipline_hdr *h = sipline_msg_hdr(m, SIPLINE_HDR_VIA, 0);
  if (!h)
    return SIPLINE_PL_NULL;
  sipline_pl rest = h->value, item = SIPLINE_PL_NULL;
  if (sipline_list_next(&rest, &item) != 1)
    return h->value;
  return item;
}

/*
 * ACK or CANCEL from the original request (§17.1.1.3, §9.1): Request-URI,
 * top Via, From, Call-ID, Route as in the request; CSeq number with the new
 * method; To from the response (ACK) or the request (CANCEL).
 */
static int build_from_req(sipline__ctx *c, sipline__buf *b, const char *method,
                          const sipline_msg *rsp) {
  sipline_msg m;
  ptrdiff_t r = sipline_msg_parse(&m, c->t.out.p, c->t.out.len,
                                  SIPLINE_PARSE_DATAGRAM, NULL);
  if (r < 0)
    return SIPLINE_ERR_INVAL;
  sipline__buf_printf(b, "%s ", method);
  sipline__buf_append_pl(b, m.ruri_raw);
  sipline__buf_append_str(b, " SIP/2.0\r\nVia: ");
  sipline__buf_append_pl(b, top_via_value(&m));
  sipline__buf_append(b, "\r\n", 2);
  copy_hdrs(b, &m, SIPLINE_HDR_ROUTE, "Route");
  const sipline_hdr *h = sipline_msg_hdr(&m, SIPLINE_HDR_FROM, 0);
  if (h) {
    sipline__buf_append_str(b, "From: ");
    sipline__buf_append_pl(b, h->value);
    sipline__buf_append(b, "\r\n", 2);
  }
  const sipline_hdr *to = rsp ? sipline_msg_hdr(rsp, SIPLINE_HDR_TO, 0)
                              : sipline_msg_hdr(&m, SIPLINE_HDR_TO, 0);
  if (to) {
    sipline__buf_append_str(b, "To: ");
    sipline__buf_append_pl(b, to->value);
    sipline__buf_append(b, "\r\n", 2);
  }
  sipline__buf_append_str(b, "Call-ID: ");
  sipline__buf_append_pl(b, m.call_id);
  sipline__buf_printf(b, "\r\nCSeq: %u %s\r\n", (unsigned)m.cseq, method);
  sipline__buf_append_str(b, "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
  return b->err;
}

static void ctx_send_cancel(sipline__ctx *c, sipline_tstamp now) {
  c->cancel_pending = 0;
  c->cancel_sent = 1;
  /*
   * RFC 3261 §9.1: a UAC that gets no final response within 64*T1 of its
   * CANCEL considers the INVITE cancelled. Timer B stopped at the
   * provisional, so without this a peer that never answers would keep the
   * call (and the line's "busy" state that R13 fallback waits for) forever.
   */
  if (!sipline__timer_armed(&c->t.t_end))
    arm(&c->t, &c->t.t_end, now + 64u * (uint64_t)c->t.txl->tv.t1);
  sipline__buf b;
  sipline__buf_init(&b, c->t.txl->mem);
  if (build_from_req(c, &b, "CANCEL", NULL) == 0) {
    sipline__ctx_params p = {
        .path = &c->t.path, .req = b.p, .len = b.len, .cb = NULL, .arg = NULL};
    sipline__ctx_new(c->t.txl, &p, now, NULL);
  }
  sipline__buf_free(&b);
}

int sipline__ctx_new(sipline__txl *txl, const sipline__ctx_params *p,
                     sipline_tstamp now, sipline__ctx **out) {
  if (out)
    *out = NULL;
  if (!txl || !p || !p->path || !p->req || !p->len)
    return SIPLINE_ERR_INVAL;
  sipline__ctx *c = ctx_alloc(txl, p->len);
  if (!c)
    return SIPLINE_ERR_NOMEM;
  sipline__txn *t = &c->t;
  t->txl = txl;
  t->kind = K_NICT; /* a client one, for txn_free, until the method is known */
  sipline__buf_init(&c->ack, txl->mem);
  sipline__buf_init(&c->ack2xx, txl->mem);
  sipline__buf_init(&c->ack2xx_tag, txl->mem);
  sipline__timer_init(&t->t_retx, ctx_on_retx, c);
  sipline__timer_init(&t->t_end, ctx_on_end, c);
  memcpy(c->req, p->req, p->len);
  c->req[p->len] = '\0';
  t->out = (sipline__buf){.p = c->req, .len = p->len, .cap = c->room};
  if (p->branch_len) {
    /* The builder said where things are: no second parse of what it has
     * just written (the views point into our own copy, so are stable). */
    const char *sp = memchr(t->out.p, ' ', t->out.len);
    sipline_pl br = {t->out.p + p->branch_off, p->branch_len};
    if (!sp || p->branch_off > t->out.len ||
        p->branch_len > t->out.len - p->branch_off || !has_cookie(br) ||
        p->method == SIPLINE_METHOD_ACK) {
      txn_free(txl, t);
      return SIPLINE_ERR_INVAL;
    }
    t->branch = br;
    t->method = p->method;
    t->method_name = (sipline_pl){t->out.p, (size_t)(sp - t->out.p)};
    t->cseq = p->cseq;
  } else {
    sipline_msg m;
    ptrdiff_t r = sipline_msg_parse(&m, t->out.p, t->out.len,
                                    SIPLINE_PARSE_DATAGRAM, NULL);
    if (r < 0 || !m.is_request || m.method == SIPLINE_METHOD_ACK ||
        !has_cookie(m.via.branch) || !m.n_via) {
      txn_free(txl, t);
      return SIPLINE_ERR_INVAL;
    }
    /* The branch is a view into our own copy of the request: stable. */
    t->branch = m.via.branch;
    t->method = m.method;
    t->method_name = m.method_name;
    t->cseq = m.cseq;
  }
  t->kind = t->method == SIPLINE_METHOD_INVITE ? K_ICT : K_NICT;
  t->state = t->kind == K_ICT ? S_CALLING : S_TRYING;
  t->path = *p->path;
  t->out_remote = p->path->remote;
  t->reliable = (uint8_t)sipline__tp_reliable(p->path->tp);
  c->cb = p->cb;
  c->arg = p->arg;
  c->detached = p->cb == NULL;

  /* Arm first so that a failure leaves nothing queued. */
  const sipline__txn_timers *tv = &txl->tv;
  t->ivl = tv->t1;
  int e = 0;
  if (!t->reliable)
    e = arm(t, &t->t_retx, now + t->ivl);
  if (!e)
    e = arm(t, &t->t_end, now + (t->kind == K_ICT ? tv->b : tv->f));
  if (!e)
    e = sipline__tp_send(txl->tp, p->path, t->out.p, t->out.len, now);
  if (e) {
    txn_free(txl, t);
    return e;
  }
  link_txn(txl, t, t->branch);
  if (out)
    *out = c;
  return 0;
}

void sipline__ctx_detach(sipline__ctx *ctx) {
  if (ctx)
    ctx->detached = 1;
}

int sipline__ctx_cancel(sipline__ctx *ctx, sipline_tstamp now) {
  if (!ctx || ctx->t.kind != K_ICT)
    return SIPLINE_ERR_STATE;
  if (ctx->t.state == S_CALLING && !ctx->got_provisional) {
    ctx->cancel_pending = 1; /* §9.1: wait for a provisional response */
    return 0;
  }
  if (ctx->t.state != S_PROCEEDING && ctx->t.state != S_CALLING)
    return SIPLINE_ERR_STATE;
  ctx_send_cancel(ctx, now);
  return 0;
}

int sipline__ctx_ack_2xx(sipline__ctx *ctx, const sipline_path *path,
                         const char *ack, size_t len, sipline_tstamp now) {
  if (!ctx || !path || !ack)
    return SIPLINE_ERR_INVAL;
  int r = sipline__tp_send(ctx->t.txl->tp, path, ack, len, now);
  if (r)
    return r;
  if (ctx->t.state != S_ACCEPTED)
    return 0;
  /* Remember it for retransmitted 2xx with the same To tag. */
  sipline_msg m;
  sipline__buf_reset(&ctx->ack2xx);
  sipline__buf_append(&ctx->ack2xx, ack, len);
  if (ctx->ack2xx.err)
    return 0; /* the ACK went out; retransmissions go to the TU then */
  if (!ctx->ack2xx_path) {
    ctx->ack2xx_path = sipline_mem_malloc(ctx->t.txl->mem, sizeof(*path));
    if (!ctx->ack2xx_path)
      return 0; /* as above */
  }
  *ctx->ack2xx_path = *path;
  if (sipline_msg_parse(&m, ctx->ack2xx.p, ctx->ack2xx.len,
                        SIPLINE_PARSE_DATAGRAM, NULL) > 0) {
    sipline__buf_reset(&ctx->ack2xx_tag);
    sipline__buf_append_pl(&ctx->ack2xx_tag, m.to.tag);
  }
  return 0;
}

const sipline_path *sipline__ctx_path(const sipline__ctx *ctx) {
  return &ctx->t.path;
}
int sipline__ctx_tperr(const sipline__ctx *ctx) {
  return ctx->tperr;
}
sipline_method sipline__ctx_method(const sipline__ctx *ctx) {
  return ctx->t.method;
}

static void ict_response(sipline__ctx *c, const sipline_msg *rsp,
                         sipline_tstamp now) {
  sipline__txn *t = &c->t;
  const sipline__txn_timers *tv = &t->txl->tv;
  int st = rsp->status;
  switch (t->state) {
  case S_CALLING:
  case S_PROCEEDING:
    if (st < 200) {
      t->state = S_PROCEEDING;
      c->got_provisional = 1;
      sipline__timer_cancel(t->txl->timers, &t->t_retx);
      /* Timer B only runs in Calling (§17.1.1.2); the 64*T1 limit after
       * our CANCEL (§9.1) keeps running through later provisionals (found
       * by fuzz_dlg_call: a 1xx after the CANCEL left the call waiting for
       * a final response forever). */
      if (!c->cancel_sent)
        sipline__timer_cancel(t->txl->timers, &t->t_end);
      if (c->cancel_pending)
        ctx_send_cancel(c, now);
      ctx_report(c, rsp, 0, now);
    } else if (st < 300) {
      /* RFC 6026: Accepted, Timer M = 64*T1; 2xx go to the TU. */
      t->state = S_ACCEPTED;
      c->cancel_pending = 0;
      sipline__timer_cancel(t->txl->timers, &t->t_retx);
      arm(t, &t->t_end, now + 64u * (uint64_t)tv->t1);
      ctx_report(c, rsp, 0, now);
    } else {
      t->state = S_COMPLETED;
      c->cancel_pending = 0;
      sipline__timer_cancel(t->txl->timers, &t->t_retx);
      sipline__buf_reset(&c->ack);
      if (build_from_req(c, &c->ack, "ACK", rsp) == 0) {
        sipline__tp_send(t->txl->tp, &t->path, c->ack.p, c->ack.len, now);
      }
      /* Timer D: 0 on reliable transports (§17.1.1.2). */
      if (t->reliable)
        terminate(t, now);
      else
        arm(t, &t->t_end, now + tv->d);
      ctx_report_last(c, rsp, 0, now);
    }
    break;
  case S_ACCEPTED:
    if (st >= 200 && st < 300) {
      if (c->ack2xx.len && !c->ack2xx.err && c->ack2xx_path &&
          sipline_pl_eq(rsp->to.tag,
                        (sipline_pl){c->ack2xx_tag.p, c->ack2xx_tag.len})) {
        sipline__tp_send(t->txl->tp, c->ack2xx_path, c->ack2xx.p,
                         c->ack2xx.len, now);
      } else {
        ctx_report(c, rsp, 0, now);
      }
    }
    break;
  case S_COMPLETED:
    /* A retransmitted final response: ACK again (§17.1.1.2). */
    if (st >= 300 && c->ack.len && !c->ack.err)
      sipline__tp_send(t->txl->tp, &t->path, c->ack.p, c->ack.len, now);
    break;
  default:
    break;
  }
}

static void nict_response(sipline__ctx *c, const sipline_msg *rsp,
                          sipline_tstamp now) {
  sipline__txn *t = &c->t;
  const sipline__txn_timers *tv = &t->txl->tv;
  if (t->state != S_TRYING && t->state != S_PROCEEDING)
    return; /* Completed absorbs retransmissions (§17.1.2.2) */
  if (rsp->status < 200) {
    t->state = S_PROCEEDING;
    ctx_report(c, rsp, 0, now);
    return;
  }
  t->state = S_COMPLETED;
  sipline__timer_cancel(t->txl->timers, &t->t_retx);
  /* Timer K: T4 on UDP, 0 on reliable transports. */
  if (t->reliable)
    terminate(t, now);
  else
    arm(t, &t->t_end, now + tv->t4);
  ctx_report_last(c, rsp, 0, now);
}

int sipline__txl_on_response(sipline__txl *txl, const sipline_msg *rsp,
                             const sipline_path *path, sipline_tstamp now) {
  (void)path;
  if (!rsp || rsp->is_request || !rsp->n_via)
    return 0;
  sipline_pl br = rsp->via.branch;
  if (!has_cookie(br) || rsp->status < 100 || rsp->status > 699) {
    txl->n_stray_rsp++;
    return 0;
  }
  uint32_t hv = hash_pl(txl->hseed, br);
  size_t bk = hv & (txl->n_buckets - 1);
  for (sipline__txn *t = txl->hash[bk]; t; t = t->hnext) {
    if (t->hval != hv || (t->kind != K_ICT && t->kind != K_NICT))
      continue;
    /* §17.1.3: the branch and the CSeq method. */
    if (!sipline_pl_caseeq(t->branch, br))
      continue;
    if (rsp->cseq_method != t->method ||
        (t->method == SIPLINE_METHOD_UNKNOWN &&
         !sipline_pl_eq(rsp->cseq_method_name, t->method_name)))
      continue;
    sipline__ctx *c = (sipline__ctx *)t;
    if (t->kind == K_ICT)
      ict_response(c, rsp, now);
    else
      nict_response(c, rsp, now);
    return 1;
  }
  txl->n_stray_rsp++;
  return 0;
}

/* ------------------------------------------------------------------ */
/* server transactions */

static void stx_gone(sipline__stx *s, sipline_tstamp now) {
  sipline__stx_cb cb = s->cb;
  s->cb = NULL;
  if (cb)
    cb(s->arg, s, SIPLINE__STX_GONE, now);
}

static void stx_tell(sipline__stx *s, sipline__stx_evt what,
                     sipline_tstamp now) {
  if (s->cb)
    s->cb(s->arg, s, what, now);
}

static void stx_on_retx(sipline__timer *tm, void *arg, sipline_tstamp now) {
  (void)tm;
  sipline__stx *s = arg;
  sipline__txn *t = &s->t;
  if (t->kind != K_IST || t->state != S_COMPLETED)
    return;
  /* Timer G: min(2G, T2) (§17.2.1). */
  send_out(t, now);
  t->ivl = SIPLINE__MIN(t->ivl * 2, t->txl->tv.t2);
  arm(t, &t->t_retx, now + t->ivl);
}

static void stx_on_end(sipline__timer *tm, void *arg, sipline_tstamp now) {
  (void)tm;
  sipline__stx *s = arg;
  sipline__txn *t = &s->t;
  if (t->kind == K_IST && t->state == S_COMPLETED)
    stx_tell(s, SIPLINE__STX_NO_ACK, now); /* Timer H */
  /* H, I, J, L: the end. */
  terminate(t, now);
}

/* Sizes b to exactly n bytes (+ NUL) so that appends never move it. */
static int keys_alloc(sipline__buf *b, size_t n) {
  b->p = sipline_mem_malloc(b->mem, n + 1);
  if (!b->p)
    return b->err = SIPLINE_ERR_NOMEM;
  b->cap = n + 1;
  return 0;
}

/* Copies v into b (sized by keys_alloc) and returns the copy's view. */
static sipline_pl keep(sipline__buf *b, sipline_pl v) {
  size_t off = b->len;
  sipline__buf_append_pl(b, v);
  return b->err ? SIPLINE_PL_NULL : (sipline_pl){b->p + off, v.len};
}

static int stx_matches(const sipline__stx *s, const sipline_msg *req,
                       sipline_method want, int is_ack) {
  const sipline__txn *t = &s->t;
  if (has_cookie(req->via.branch)) {
    /* §17.2.3: branch, sent-by, and method (ACK matches INVITE). */
    if (!t->branch.len || !sipline_pl_caseeq(t->branch, req->via.branch))
      return 0;
    if (!sipline_pl_caseeq(s->sent_by_host, req->via.host) ||
        s->sent_by_port != req->via.port)
      return 0;
    return t->method == want;
  }
  /* RFC 2543 (§17.2.3 last paragraphs). */
  if (t->branch.len || t->method != want)
    return 0;
  if (!sipline_pl_eq(s->ruri, req->ruri_raw) ||
      !sipline_pl_eq(s->from_tag, req->from.tag) ||
      !sipline_pl_eq(s->call_id, req->call_id) || t->cseq != req->cseq ||
      !sipline_pl_eq(s->top_via, top_via_value(req)))
    return 0;
  if (is_ack) {
    /* The ACK's To tag is the one we put in our response. */
    if (s->to_tag.len)
      return sipline_pl_eq(s->to_tag, req->to.tag);
    return sipline_pl_eq(sipline_pl_str(s->local_tag), req->to.tag);
  }
  return sipline_pl_eq(s->to_tag, req->to.tag);
}

static sipline__stx *stx_find(sipline__txl *txl, const sipline_msg *req,
                              sipline_method want, int is_ack) {
  sipline_pl key = has_cookie(req->via.branch) ? req->via.branch : req->call_id;
  uint32_t hv = hash_pl(txl->hseed, key);
  size_t bk = hv & (txl->n_buckets - 1);
  for (sipline__txn *t = txl->hash[bk]; t; t = t->hnext) {
    /* the full hash first: most of a chain differs there */
    if (t->hval != hv || (t->kind != K_IST && t->kind != K_NIST))
      continue;
    if (stx_matches((const sipline__stx *)t, req, want, is_ack))
      return (sipline__stx *)t;
  }
  return NULL;
}

sipline__stx *sipline__txl_find_invite(sipline__txl *txl,
                                       const sipline_msg *cancel) {
  if (!txl || !cancel || !cancel->n_via)
    return NULL;
  sipline__stx *s = stx_find(txl, cancel, SIPLINE_METHOD_INVITE, 0);
  return s && s->t.state != S_TERMINATED ? s : NULL;
}

static int dialog_creating(sipline_method m) {
  return m == SIPLINE_METHOD_INVITE || m == SIPLINE_METHOD_SUBSCRIBE ||
         m == SIPLINE_METHOD_REFER || m == SIPLINE_METHOD_NOTIFY;
}

/* Builds the response skeleton from the request (§8.2.6.2). */
static int stx_build_skel(sipline__stx *s, const sipline_msg *req,
                          const sipline_path *path) {
  sipline__buf *b = &s->skel;
  int top = 1;
  for (unsigned i = 0; i < req->n_hdrs; i++) {
    const sipline_hdr *h = &req->hdrs[i];
    if (h->id != SIPLINE_HDR_VIA)
      continue;
    sipline_pl rest = h->value, item;
    while (sipline_list_next(&rest, &item) == 1) {
      sipline__buf_append_str(b, "Via: ");
      if (top) {
        sipline_via v;
        if (sipline_via_parse(item, &v) == 0)
          sipline__tp_via_echo(b, item, &v, path);
        else
          sipline__buf_append_pl(b, item);
        top = 0;
      } else {
        sipline__buf_append_pl(b, item);
      }
      sipline__buf_append(b, "\r\n", 2);
    }
  }
  if (top)
    return SIPLINE_ERR_INVAL; /* no Via at all */
  const sipline_hdr *h = sipline_msg_hdr(req, SIPLINE_HDR_FROM, 0);
  if (!h)
    return SIPLINE_ERR_INVAL;
  sipline__buf_append_str(b, "From: ");
  sipline__buf_append_pl(b, h->value);
  sipline__buf_append_str(b, "\r\nCall-ID: ");
  sipline__buf_append_pl(b, req->call_id);
  h = sipline_msg_hdr(req, SIPLINE_HDR_CSEQ, 0);
  if (!h || !req->call_id.len)
    return SIPLINE_ERR_INVAL;
  sipline__buf_append_str(b, "\r\nCSeq: ");
  sipline__buf_append_pl(b, h->value);
  sipline__buf_append(b, "\r\n", 2);
  /* §8.2.6.1: Timestamp is echoed. */
  h = sipline_msg_hdr(req, SIPLINE_HDR_TIMESTAMP, 0);
  if (h) {
    sipline__buf_append_str(b, "Timestamp: ");
    sipline__buf_append_pl(b, h->value);
    sipline__buf_append(b, "\r\n", 2);
  }
  h = sipline_msg_hdr(req, SIPLINE_HDR_TO, 0);
  if (!h)
    return SIPLINE_ERR_INVAL;
  sipline__buf_append_pl(&s->to, h->value);
  s->to_has_tag = req->to.tag.len != 0;
  s->dialog_creating = dialog_creating(req->method) && !s->to_has_tag;
  if (s->dialog_creating)
    copy_hdrs(&s->rr, req, SIPLINE_HDR_RECORD_ROUTE, "Record-Route");
  if (b->err || s->to.err || s->rr.err)
    return SIPLINE_ERR_NOMEM;
  shrink(b);
  shrink(&s->to);
  shrink(&s->rr);
  return 0;
}

static sipline__stx *stx_new(sipline__txl *txl, const sipline_msg *req,
                             const sipline_path *path, int *err) {
  sipline__stx *s = sipline_mem_calloc(txl->mem, 1, sizeof(*s));
  if (!s) {
    *err = SIPLINE_ERR_NOMEM;
    return NULL;
  }
  sipline__txn *t = &s->t;
  t->txl = txl;
  sipline__buf_init(&s->keys, txl->mem);
  sipline__buf_init(&t->out, txl->mem);
  sipline__buf_init(&s->skel, txl->mem);
  sipline__buf_init(&s->to, txl->mem);
  sipline__buf_init(&s->rr, txl->mem);
  sipline__timer_init(&t->t_retx, stx_on_retx, s);
  sipline__timer_init(&t->t_end, stx_on_end, s);
  t->kind = req->method == SIPLINE_METHOD_INVITE ? K_IST : K_NIST;
  t->state = t->kind == K_IST ? S_PROCEEDING : S_TRYING;
  t->method = req->method;
  t->cseq = req->cseq;
  t->path = *path;
  t->reliable = (uint8_t)sipline__tp_reliable(path->tp);
  /* responses go where §18.2.2 says */
  sipline_path rp;
  sipline__tp_response_path(path, &req->via, &rp);
  t->out_remote = rp.remote;
  sipline_rng_token(txl->rng, s->local_tag, 16);
  s->local_tag[16] = 0;

  sipline__buf *k = &s->keys;
  sipline_pl key;
  if (has_cookie(req->via.branch)) {
    if (!keys_alloc(k, req->via.branch.len + req->via.host.len)) {
      t->branch = keep(k, req->via.branch);
      s->sent_by_host = keep(k, req->via.host);
    }
    s->sent_by_port = req->via.port;
    key = t->branch;
  } else {
    sipline_pl tv = top_via_value(req);
    if (!keys_alloc(k, req->ruri_raw.len + req->from.tag.len + req->to.tag.len +
                           req->call_id.len + tv.len)) {
      s->ruri = keep(k, req->ruri_raw);
      s->from_tag = keep(k, req->from.tag);
      s->to_tag = keep(k, req->to.tag);
      s->call_id = keep(k, req->call_id);
      s->top_via = keep(k, tv);
    }
    key = s->call_id;
  }
  int e = k->err ? SIPLINE_ERR_NOMEM : stx_build_skel(s, req, path);
  if (e) {
    txn_free(txl, t);
    *err = e;
    return NULL;
  }
  link_txn(txl, t, key);
  return s;
}

int sipline__txl_on_request(sipline__txl *txl, const sipline_msg *req,
                            const sipline_path *path, sipline_tstamp now,
                            sipline__stx **out) {
  *out = NULL;
  if (!req || !req->is_request || !req->n_via)
    return SIPLINE_ERR_INVAL;
  int is_ack = req->method == SIPLINE_METHOD_ACK;
  sipline_method want = is_ack ? SIPLINE_METHOD_INVITE : req->method;
  sipline__stx *s = stx_find(txl, req, want, is_ack);
  if (s) {
    sipline__txn *t = &s->t;
    txl->n_retrans_rx++;
    if (is_ack) {
      /* ACK for our non-2xx final: Completed → Confirmed, Timer I. */
      if (t->kind == K_IST && t->state == S_COMPLETED) {
        t->state = S_CONFIRMED;
        sipline__timer_cancel(txl->timers, &t->t_retx);
        if (t->reliable)
          terminate(t, now);
        else
          arm(t, &t->t_end, now + txl->tv.t4);
        return 1;
      }
      if (t->kind == K_IST && t->state == S_ACCEPTED)
        return 0; /* a 2xx ACK that reused the branch: the TU's (RFC
                     2543-style clients); no transaction */
      return 1;
    }
    /* A retransmitted request: resend the last response when there is
     * one to resend (§17.2.1, §17.2.2); Accepted absorbs (RFC 6026). */
    if (t->state == S_PROCEEDING || t->state == S_COMPLETED)
      send_out(t, now);
    return 1;
  }
  if (is_ack)
    return 0; /* an ACK for a 2xx: no transaction, to the TU */
  if (txl->max_stx && txl->n_stx >= txl->max_stx)
    return SIPLINE_ERR_TOOBIG; /* a flood: the caller answers statelessly */
  int err = 0;
  s = stx_new(txl, req, path, &err);
  if (!s)
    return err;
  *out = s;
  return 0;
}

const char *sipline__reason_phrase(int status) {
  switch (status) {
  case 100:
    return "Trying";
  case 180:
    return "Ringing";
  case 181:
    return "Call Is Being Forwarded";
  case 182:
    return "Queued";
  case 183:
    return "Session Progress";
  case 200:
    return "OK";
  case 202:
    return "Accepted";
  case 300:
    return "Multiple Choices";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Moved Temporarily";
  case 305:
    return "Use Proxy";
  case 380:
    return "Alternative Service";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 402:
    return "Payment Required";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 407:
    return "Proxy Authentication Required";
  case 408:
    return "Request Timeout";
  case 410:
    return "Gone";
  case 413:
    return "Request Entity Too Large";
  case 414:
    return "Request-URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 416:
    return "Unsupported URI Scheme";
  case 420:
    return "Bad Extension";
  case 421:
    return "Extension Required";
  case 422:
    return "Session Interval Too Small";
  case 423:
    return "Interval Too Brief";
  case 480:
    return "Temporarily Unavailable";
  case 481:
    return "Call/Transaction Does Not Exist";
  case 482:
    return "Loop Detected";
  case 483:
    return "Too Many Hops";
  case 484:
    return "Address Incomplete";
  case 485:
    return "Ambiguous";
  case 486:
    return "Busy Here";
  case 487:
    return "Request Terminated";
  case 488:
    return "Not Acceptable Here";
  case 489:
    return "Bad Event";
  case 491:
    return "Request Pending";
  case 493:
    return "Undecipherable";
  case 500:
    return "Server Internal Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Server Time-out";
  case 505:
    return "Version Not Supported";
  case 513:
    return "Message Too Large";
  case 600:
    return "Busy Everywhere";
  case 603:
    return "Decline";
  case 604:
    return "Does Not Exist Anywhere";
  case 606:
    return "Not Acceptable";
  default:
    break;
  }
  if (status < 200)
    return "Trying";
  if (status < 300)
    return "OK";
  if (status < 400)
    return "Redirected";
  if (status < 500)
    return "Request Failed";
  if (status < 600)
    return "Server Error";
  return "Global Failure";
}

/* A reason phrase may not carry CR or LF; anything else goes. */
static void append_reason(sipline__buf *b, const char *r) {
  for (; *r; r++)
    if (*r != '\r' && *r != '\n')
      sipline__buf_append(b, r, 1);
}

/*
 * In Completed a server transaction only resends t->out (no new response
 * can be built), so what builds responses goes at once: under a NOTIFY
 * flood every answered transaction waits Timer J (16 s) there, and the
 * skeleton is a quarter of what each one holds.
 */
static void drop_skel(sipline__stx *s) {
  sipline__buf_free(&s->skel);
  sipline__buf_free(&s->to);
  sipline__buf_free(&s->rr);
}

int sipline__stx_respond(sipline__stx *s, const sipline__resp *r,
                         sipline_tstamp now) {
  if (!s || !r || r->status < 100 || r->status > 699)
    return SIPLINE_ERR_INVAL;
  sipline__txn *t = &s->t;
  int st = r->status;
  if (t->state == S_TERMINATED)
    return SIPLINE_ERR_STATE;
  if (t->state == S_ACCEPTED) {
    if (st < 200 || st >= 300)
      return SIPLINE_ERR_STATE; /* only 2xx retransmissions (RFC 6026) */
  } else if (t->state != S_TRYING && t->state != S_PROCEEDING) {
    return SIPLINE_ERR_STATE;
  }
  sipline__buf b;
  sipline__buf_init(&b, t->txl->mem);
  sipline__buf_printf(&b, "SIP/2.0 %d ", st);
  append_reason(&b, r->reason ? r->reason : sipline__reason_phrase(st));
  sipline__buf_append(&b, "\r\n", 2);
  sipline__buf_append(&b, s->skel.p, s->skel.len);
  sipline__buf_append_str(&b, "To: ");
  sipline__buf_append(&b, s->to.p, s->to.len);
  if (!s->to_has_tag && st != 100) {
    sipline__buf_append_str(&b, ";tag=");
    const char *tag = r->to_tag && *r->to_tag ? r->to_tag : s->local_tag;
    if (tag != s->local_tag) {
      /* the TU's tag becomes ours (2543 ACK matching uses it) */
      size_t tl = strlen(tag);
      if (tl >= sizeof(s->local_tag))
        tl = sizeof(s->local_tag) - 1;
      memcpy(s->local_tag, tag, tl);
      s->local_tag[tl] = 0;
    }
    sipline__buf_append_str(&b, s->local_tag);
  }
  sipline__buf_append(&b, "\r\n", 2);
  if (s->dialog_creating && st > 100 && st < 300)
    sipline__buf_append(&b, s->rr.p, s->rr.len);
  if (t->txl->server && *t->txl->server)
    sipline__buf_printf(&b, "Server: %s\r\n", t->txl->server);
  if (r->headers)
    sipline__buf_append_str(&b, r->headers);
  size_t blen = r->body ? r->body_len : 0;
  if (blen && r->content_type)
    sipline__buf_printf(&b, "Content-Type: %s\r\n", r->content_type);
  sipline__buf_printf(&b, "Content-Length: %zu\r\n\r\n", blen);
  if (blen)
    sipline__buf_append(&b, r->body, blen);
  if (b.err) {
    sipline__buf_free(&b);
    return SIPLINE_ERR_NOMEM;
  }
  sipline_path op;
  out_path(t, &op);
  int e = sipline__tp_send(t->txl->tp, &op, b.p, b.len, now);
  if (e) {
    sipline__buf_free(&b);
    return e;
  }
  /* Keep it for retransmitted requests (and Timer G). */
  shrink(&b);
  sipline__buf_free(&t->out);
  t->out = b;
  s->status = st;
  s->sent_any = 1;
  const sipline__txn_timers *tv = &t->txl->tv;
  if (st < 200) {
    if (t->kind == K_NIST)
      t->state = S_PROCEEDING;
    return 0;
  }
  if (t->state == S_ACCEPTED)
    return 0;
  if (t->kind == K_IST) {
    if (st < 300) {
      /* RFC 6026: Accepted, Timer L = 64*T1. */
      t->state = S_ACCEPTED;
      arm(t, &t->t_end, now + 64u * (uint64_t)tv->t1);
    } else {
      t->state = S_COMPLETED;
      drop_skel(s);
      t->ivl = tv->t1;
      if (!t->reliable)
        arm(t, &t->t_retx, now + t->ivl);
      arm(t, &t->t_end, now + tv->h);
    }
  } else {
    t->state = S_COMPLETED;
    drop_skel(s);
    /* Timer J: 0 on reliable transports. */
    if (t->reliable)
      terminate(t, now);
    else
      arm(t, &t->t_end, now + tv->j);
  }
  return 0;
}

int sipline__stx_reply(sipline__stx *stx, int status, const char *reason,
                       sipline_tstamp now) {
  sipline__resp r = {.status = status, .reason = reason};
  return sipline__stx_respond(stx, &r, now);
}

int sipline__stx_trying(sipline__stx *stx, sipline_tstamp now) {
  if (!stx || stx->t.kind != K_IST || stx->sent_any ||
      stx->t.state != S_PROCEEDING)
    return 0;
  return sipline__stx_reply(stx, 100, NULL, now);
}

void sipline__stx_set_handler(sipline__stx *stx, sipline__stx_cb cb,
                              void *arg) {
  if (!stx)
    return;
  stx->cb = cb;
  stx->arg = arg;
}

int sipline__stx_notify_cancel(sipline__stx *stx, sipline_tstamp now) {
  if (!stx || !stx->cb)
    return 0;
  stx_tell(stx, SIPLINE__STX_CANCELLED, now);
  return 1;
}

void sipline__stx_abandon(sipline__stx *stx, sipline_tstamp now) {
  if (stx)
    terminate(&stx->t, now);
}

int sipline__stx_is_final(const sipline__stx *stx) {
  return stx->status >= 200 || stx->t.state == S_TERMINATED;
}
int sipline__stx_status(const sipline__stx *stx) {
  return stx->status;
}
sipline_method sipline__stx_method(const sipline__stx *stx) {
  return stx->t.method;
}
const sipline_path *sipline__stx_path(const sipline__stx *stx) {
  return &stx->t.path;
}
const char *sipline__stx_local_tag(const sipline__stx *stx) {
  return stx->local_tag;
}
int sipline__stx_has_handler(const sipline__stx *stx) {
  return stx->cb != NULL;
}

/* ------------------------------------------------------------------ */

size_t sipline__txl_transport_error(sipline__txl *txl, const sipline_path *path,
                                    int why, sipline_tstamp now) {
  size_t n = 0;
  /* Walk safely: nothing is freed before reap, and new transactions are
   * added at the head, behind us. */
  for (sipline__txn *t = txl->all; t; t = t->next) {
    if (t->state == S_TERMINATED)
      continue;
    if (t->kind == K_ICT || t->kind == K_NICT) {
      sipline__ctx *c = (sipline__ctx *)t;
      if (!sipline__path_same_flow(&t->path, path))
        continue;
      if (t->state == S_CALLING || t->state == S_TRYING ||
          t->state == S_PROCEEDING) {
        c->tperr = why;
        terminate(t, now);
        ctx_report_last(c, NULL, SIPLINE_ERR_TRANSPORT, now);
        n++;
      } else if (t->reliable) {
        int was_accepted = t->kind == K_ICT && t->state == S_ACCEPTED;
        terminate(t, now); /* nothing more can arrive on it */
        /* txn.h promises an Accepted INVITE's TU one last report (rsp
         * NULL, err 0) when the handle goes, as Timer M gives it. */
        if (was_accepted)
          ctx_report_last(c, NULL, 0, now);
      }
    } else {
      sipline__stx *s = (sipline__stx *)t;
      sipline_path op;
      out_path(t, &op);
      if (!sipline__path_same_flow(&op, path) &&
          !sipline__path_same_flow(&t->path, path))
        continue;
      /* §17.2.4: the TU is told; the transaction ends. For UDP an ICMP
       * error only matters for the address responses go to. */
      if (!t->reliable && !sipline__path_same_flow(&op, path))
        continue;
      if (s->status < 200)
        stx_tell(s, SIPLINE__STX_TPERR, now);
      terminate(t, now);
      n++;
    }
  }
  return n;
}
