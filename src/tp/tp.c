/*
 * src/tp/tp.c: flows, framing, the outgoing queue and response routing
 * (RFC 3261 §18, RFC 3581, RFC 5626 §4.4.1 keep-alives).
 */
#include <string.h>

#include "tp.h"

#define FLOW_BUCKETS 1024u

void sipline__tp_init(sipline__tp *tp, const sipline_mem *mem,
                      sipline__tp_deliver deliver, sipline__tp_reject reject,
                      void *arg) {
  memset(tp, 0, sizeof(*tp));
  tp->mem = mem;
  sipline__queue_init(&tp->txq, mem, sizeof(sipline_path));
  tp->max_msg = SIPLINE__TP_MAX_MSG;
  tp->max_flows = 65536;
  tp->deliver = deliver;
  tp->reject = reject;
  tp->arg = arg;
}

static void flow_free(sipline__tp *tp, sipline__flow *f) {
  sipline__buf_free(&f->rx);
  sipline_mem_free(tp->mem, f);
}

void sipline__tp_free(sipline__tp *tp) {
  sipline__queue_free(&tp->txq);
  for (size_t i = 0; tp->flows && i < tp->n_buckets; i++) {
    sipline__flow *f = tp->flows[i];
    while (f) {
      sipline__flow *next = f->next;
      flow_free(tp, f);
      f = next;
    }
  }
  sipline_mem_free(tp->mem, tp->flows);
  tp->flows = NULL;
  tp->n_buckets = 0;
  tp->n_flows = 0;
}

static int addr_match(const sipline_addr *a, const sipline_addr *b) {
  /* An unset side (family 0) is a wildcard; so is port 0. */
  if (!a->family || !b->family)
    return 1;
  if (!sipline__addr_ip_eq(a, b))
    return 0;
  return !a->port || !b->port || a->port == b->port;
}

int sipline__path_same_flow(const sipline_path *a, const sipline_path *b) {
  if (a->tp != b->tp)
    return 0;
  if (!sipline_addr_eq(&a->remote, &b->remote))
    return 0;
  return addr_match(&a->local, &b->local);
}

/* The bucket of a path: (transport, remote) only, so that a path with a
 * wildcard local address finds its flow. */
static size_t flow_bucket(const sipline__tp *tp, const sipline_path *p) {
  uint32_t h = 2166136261u;
  const sipline_addr *r = &p->remote;
  size_t n = r->family == 6 ? 16 : 4;
  h = (h ^ (uint32_t)p->tp) * 16777619u;
  h = (h ^ r->family) * 16777619u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ r->ip[i]) * 16777619u;
  h = (h ^ (r->port & 0xff)) * 16777619u;
  h = (h ^ (r->port >> 8)) * 16777619u;
  return h & (tp->n_buckets - 1);
}

sipline__flow *sipline__tp_flow(sipline__tp *tp, const sipline_path *path) {
  if (!tp->flows)
    return NULL;
  for (sipline__flow *f = tp->flows[flow_bucket(tp, path)]; f; f = f->next)
    if (sipline__path_same_flow(&f->path, path))
      return f;
  return NULL;
}

static sipline__flow *flow_get(sipline__tp *tp, const sipline_path *path,
                               int *err) {
  sipline__flow *f = sipline__tp_flow(tp, path);
  if (f) {
    /* learn the bound local address once the application tells us */
    if (!f->path.local.family && path->local.family)
      f->path.local = path->local;
    return f;
  }
  if (tp->n_flows >= tp->max_flows) {
    *err = SIPLINE_ERR_TOOBIG;
    return NULL;
  }
  if (!tp->flows) {
    tp->flows = sipline_mem_calloc(tp->mem, FLOW_BUCKETS, sizeof(*tp->flows));
    if (!tp->flows) {
      *err = SIPLINE_ERR_NOMEM;
      return NULL;
    }
    tp->n_buckets = FLOW_BUCKETS;
  }
  f = sipline_mem_calloc(tp->mem, 1, sizeof(*f));
  if (!f) {
    *err = SIPLINE_ERR_NOMEM;
    return NULL;
  }
  f->path = *path;
  sipline__buf_init(&f->rx, tp->mem);
  size_t bk = flow_bucket(tp, path);
  f->next = tp->flows[bk];
  tp->flows[bk] = f;
  tp->n_flows++;
  return f;
}

void sipline__tp_flow_close(sipline__tp *tp, const sipline_path *path) {
  if (!tp->flows)
    return;
  sipline__flow **pp = &tp->flows[flow_bucket(tp, path)];
  while (*pp) {
    sipline__flow *f = *pp;
    if (sipline__path_same_flow(&f->path, path)) {
      *pp = f->next;
      tp->n_flows--;
      flow_free(tp, f);
      continue;
    }
    pp = &f->next;
  }
}

int sipline__tp_send(sipline__tp *tp, const sipline_path *path, const void *p,
                     size_t n, sipline_tstamp now) {
  if (sipline__tp_reliable(path->tp)) {
    int err = 0;
    sipline__flow *f = flow_get(tp, path, &err);
    if (f) {
      f->last_tx = now;
      if (n == 4 && memcmp(p, "\r\n\r\n", 4) == 0)
        f->pong_due = 1; /* our RFC 5626 ping: its pong is one CRLF */
    }
    /* A full flow table only costs the reassembly of responses on the new
     * connection (they are framed when they arrive, see tp_recv), so the
     * send itself still goes out. */
    if (!f && err == SIPLINE_ERR_NOMEM)
      return err;
  }
  int r = sipline__queue_push(&tp->txq, path, p, n);
  if (!r)
    tp->n_tx++;
  return r;
}

sipline__qitem *sipline__tp_pop(sipline__tp *tp) {
  return sipline__queue_pop(&tp->txq);
}

void sipline__tp_recycle(sipline__tp *tp, sipline__qitem *it) {
  sipline__queue_recycle(&tp->txq, it);
}

/* Reject with whatever was decoded; m may be half filled. */
static void reject(sipline__tp *tp, const sipline_path *path, const char *p,
                   size_t n, const sipline_msg_error *e, sipline_tstamp now) {
  tp->n_rx_bad++;
  if (tp->reject)
    tp->reject(tp->arg, path, (sipline_pl){p, n}, e, now);
}

static int recv_datagram(sipline__tp *tp, const sipline_path *path,
                         const char *p, size_t n, sipline_tstamp now) {
  size_t skip = sipline_stream_skip_crlf(p, n);
  if (skip == n)
    return 0; /* a keep-alive (RFC 5626 §4.4.1 over UDP is CRLF too) */
  /* sipline_msg is large; one per call is fine (no recursion here). */
  sipline_msg m;
  sipline_msg_error e = {0};
  ptrdiff_t r =
      sipline_msg_parse(&m, p + skip, n - skip, SIPLINE_PARSE_DATAGRAM, &e);
  if (r < 0) {
    if (!e.reason)
      e.reason = "Bad Request";
    reject(tp, path, p + skip, n - skip, &e, now);
    return r == SIPLINE_ERR_TOOBIG ? SIPLINE_ERR_TOOBIG : SIPLINE_ERR_MALFORMED;
  }
  tp->n_rx_msgs++;
  return tp->deliver ? tp->deliver(tp->arg, path, &m, now) : 0;
}

/* 1 when buf holds the end of a header section (CRLFCRLF or LFLF). */
static int has_header_end(const char *p, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (p[i] == '\n' &&
        (p[i - 1] == '\n' || (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n')))
      return 1;
  return 0;
}

/*
 * The length of a stream message the parser refused, from the raw header
 * lines: the end of the header section plus the one Content-Length (every
 * "Content-Length"/"l" line must carry the same plain decimal number).
 * 0 when that cannot be told for sure, or when it is larger than max.
 */
static size_t frame_len(const char *p, size_t n, size_t max) {
  const char *end = p + n;
  const char *q = memchr(p, '\n', n);
  if (!q)
    return 0;
  q++;
  int found = 0;
  uint64_t cl = 0;
  while (q < end) {
    const char *le = memchr(q, '\n', (size_t)(end - q));
    if (!le)
      return 0;
    sipline_pl line = {q, (size_t)(le - q)};
    q = le + 1;
    if (line.len && line.p[line.len - 1] == '\r')
      line.len--;
    if (!line.len) {
      if (!found)
        return 0;
      size_t head = (size_t)(q - p);
      if (cl > max || head + cl > max)
        return 0;
      return head + (size_t)cl;
    }
    if (line.p[0] == ' ' || line.p[0] == '\t')
      continue; /* a folded line: not a Content-Length in our sense */
    const char *colon = memchr(line.p, ':', line.len);
    if (!colon)
      continue;
    sipline_pl name =
        sipline_pl_trim((sipline_pl){line.p, (size_t)(colon - line.p)});
    if (!sipline_pl_casecmp_str(name, "Content-Length") &&
        !sipline_pl_casecmp_str(name, "l"))
      continue;
    sipline_pl val = sipline_pl_trim(
        (sipline_pl){colon + 1, (size_t)(line.p + line.len - colon - 1)});
    uint64_t v;
    if (sipline_pl_u64(val, UINT32_MAX, &v) != 0)
      return 0;
    if (found && v != cl)
      return 0;
    found = 1;
    cl = v;
  }
  return 0;
}

static int recv_stream(sipline__tp *tp, const sipline_path *path, const char *p,
                       size_t n, sipline_tstamp now) {
  int err = 0;
  sipline__flow *f = flow_get(tp, path, &err);
  if (!f)
    return err;
  f->last_rx = now;
  sipline__buf_append(&f->rx, p, n);
  if (f->rx.err) {
    sipline__tp_flow_close(tp, path);
    return SIPLINE_ERR_NOMEM;
  }
  /*
   * Frame everything we can. The messages are delivered from the flow's
   * buffer, which nothing else touches during deliver (sends go to the
   * queue; a flow is only closed by the application's transport_error,
   * which cannot run while we are in recv).
   */
  size_t off = 0;
  if (f->skip) {
    /* the rest of the body of a message we refused (see frame_len) */
    size_t k = f->skip < f->rx.len ? f->skip : f->rx.len;
    off = k;
    f->skip -= k;
  }
  for (;;) {
    size_t skip = sipline_stream_skip_crlf(f->rx.p + off, f->rx.len - off);
    /* RFC 5626 §4.4.1: a double-CRLF ping is answered with one CRLF
     * (counted across reads: it may come one byte at a time). A lone CRLF
     * is a pong to our own ping and needs no answer. */
    f->crlf += (unsigned)skip;
    /* With a ping of ours out, the first CRLF is its pong: pongs arriving
     * one per read must not add up to a "ping" that gets a CRLF back. */
    if (f->pong_due && f->crlf >= 2) {
      f->crlf -= 2;
      f->pong_due = 0;
    }
    while (f->crlf >= 4) {
      f->crlf -= 4;
      f->n_pings++;
      sipline__queue_push(&tp->txq, &f->path, "\r\n", 2);
    }
    off += skip;
    if (off < f->rx.len)
      f->crlf = 0;
    if (off == f->rx.len)
      break;
    const char *mp = f->rx.p + off;
    size_t ml = f->rx.len - off;
    if (!has_header_end(mp, ml)) {
      if (ml > tp->max_msg) {
        sipline_msg_error e = {.reason = "Message Too Large", .status = 0};
        reject(tp, path, mp, ml, &e, now);
        sipline__tp_flow_close(tp, path);
        return SIPLINE_ERR_TOOBIG;
      }
      break;
    }
    sipline_msg m;
    sipline_msg_error e = {0};
    ptrdiff_t r = sipline_msg_parse(&m, mp, ml, SIPLINE_PARSE_STREAM, &e);
    if (r == SIPLINE_ERR_INCOMPLETE) {
      if (ml > tp->max_msg) {
        sipline_msg_error e2 = {.reason = "Message Too Large", .status = 0};
        reject(tp, path, mp, ml, &e2, now);
        sipline__tp_flow_close(tp, path);
        return SIPLINE_ERR_TOOBIG;
      }
      break;
    }
    if (r <= 0) {
      if (!e.reason)
        e.reason = "Bad Request";
      /* A message the parser refuses can still be stepped over when its
       * header section ends and one clean Content-Length says where its
       * body ends: answer it (reject) and go on with the next one. */
      size_t total = frame_len(mp, ml, tp->max_msg);
      if (total) {
        reject(tp, path, mp, total < ml ? total : ml, &e, now);
        if (total > ml) {
          f->skip = total - ml;
          off = f->rx.len;
          break;
        }
        off += total;
        continue;
      }
      /* Otherwise the stream cannot be framed any more: we do not know
       * where the next message starts. Drop the buffer; the application
       * closes the connection. */
      reject(tp, path, mp, ml, &e, now);
      sipline__tp_flow_close(tp, path);
      return SIPLINE_ERR_MALFORMED;
    }
    tp->n_rx_msgs++;
    /* What the UA made of the message (a request refused with 400, ...)
     * says nothing about the stream, which stays framed: only framing
     * errors are returned for a stream, since they mean "close it". */
    if (tp->deliver)
      tp->deliver(tp->arg, path, &m, now);
    off += (size_t)r;
  }
  if (off) {
    memmove(f->rx.p, f->rx.p + off, f->rx.len - off);
    f->rx.len -= off;
  }
  return 0;
}

int sipline__tp_recv(sipline__tp *tp, const sipline_path *path,
                     const uint8_t *p, size_t n, sipline_tstamp now) {
  if (!path || (!p && n))
    return SIPLINE_ERR_INVAL;
  if (sipline__tp_reliable(path->tp))
    return recv_stream(tp, path, (const char *)p, n, now);
  if (n == 0)
    return 0;
  return recv_datagram(tp, path, (const char *)p, n, now);
}

void sipline__tp_response_path(const sipline_path *in, const sipline_via *via,
                               sipline_path *out) {
  *out = *in;
  out->host[0] = 0;
  if (sipline__tp_reliable(in->tp))
    return; /* same connection (§18.2.2, first bullet) */
  /* RFC 3581 §4: to the source IP, at the source port when rport was
   * asked for, else at the sent-by port (5060 when absent, §18.2.2). */
  out->remote = in->remote;
  if (via && !via->has_rport)
    out->remote.port = via->has_port && via->port ? via->port : 5060;
}

/* Appends one ;param run of the top Via, rewriting rport and received. */
void sipline__tp_via_echo(sipline__buf *b, const sipline_pl via_value,
                          const sipline_via *via, const sipline_path *in) {
  char ip[48];
  if (sipline__addr_format_ip(&in->remote, ip, sizeof(ip)) < 0)
    ip[0] = 0;
  const char *params = via->params.p;
  if (!params || params < via_value.p || params > via_value.p + via_value.len) {
    /* no parameters known: echo as is, with received when we can */
    sipline__buf_append_pl(b, via_value);
    params = NULL;
  } else {
    sipline__buf_append(b, via_value.p, (size_t)(params - via_value.p));
    const char *end = via_value.p + via_value.len;
    const char *q = params;
    while (q < end) {
      if (*q != ';') {
        /* something the parser kept after the params: copy it */
        sipline__buf_append(b, q, (size_t)(end - q));
        break;
      }
      const char *s = q + 1;
      const char *e = s;
      int quoted = 0;
      while (e < end && (quoted || *e != ';')) {
        if (*e == '"')
          quoted = !quoted;
        else if (*e == '\\' && quoted && e + 1 < end)
          e++;
        e++;
      }
      sipline_pl whole = {s, (size_t)(e - s)};
      const char *eq = memchr(s, '=', (size_t)(e - s));
      sipline_pl name = sipline_pl_trim(
          (sipline_pl){s, eq ? (size_t)(eq - s) : (size_t)(e - s)});
      if (sipline_pl_casecmp_str(name, "rport")) {
        if (in->remote.port)
          sipline__buf_printf(b, ";rport=%u", in->remote.port);
        else
          sipline__buf_append_pl(b, SIPLINE_PL(";rport"));
      } else if (sipline_pl_casecmp_str(name, "received") && ip[0]) {
        /* replaced by ours below */
      } else {
        sipline__buf_append(b, ";", 1);
        sipline__buf_append_pl(b, whole);
      }
      q = e;
    }
  }
  if (!ip[0])
    return;
  /* §18.2.1: received when sent-by is not the source address (always
   * when rport is present, RFC 3581 §4). */
  sipline_addr host;
  int same = sipline__addr_from_host(via->host, &host) == 0 &&
             sipline__addr_ip_eq(&host, &in->remote);
  if (!same || via->has_rport || (via->received.len && params))
    sipline__buf_printf(b, ";received=%s", ip);
}

const char *sipline__tp_via_name(sipline_transport tp) {
  switch (tp) {
  case SIPLINE_TP_TCP:
    return "TCP";
  case SIPLINE_TP_TLS:
    return "TLS";
  default:
    return "UDP";
  }
}

int sipline__tp_from_via(sipline_pl name) {
  if (sipline_pl_casecmp_str(name, "UDP"))
    return SIPLINE_TP_UDP;
  if (sipline_pl_casecmp_str(name, "TCP"))
    return SIPLINE_TP_TCP;
  if (sipline_pl_casecmp_str(name, "TLS"))
    return SIPLINE_TP_TLS;
  return -1;
}
