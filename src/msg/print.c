/*
 * src/msg/print.c: the printer. Canonical header names, folded values
 * unfolded to one SP, Content-Length recomputed from the body.
 */
#include "msg/msg.h"

typedef struct out {
  char *p;
  size_t len, cap;
  bool full;
} out;

static void put(out *o, const char *s, size_t n) {
  if (o->full || n > o->cap - o->len) {
    o->full = true;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
}
static void put_pl(out *o, sipline_pl pl) {
  if (pl.len)
    put(o, pl.p, pl.len);
}
static void put_str(out *o, const char *s) {
  put(o, s, strlen(s));
}

static void put_uint(out *o, uint64_t v) {
  char tmp[24];
  size_t i = sizeof(tmp);
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(o, tmp + i, sizeof(tmp) - i);
}

/* A value with each folded line break (CRLF plus whitespace) as one SP. */
static void put_value(out *o, sipline_pl v) {
  const char *p = v.p, *e = v.p + v.len;
  while (p < e) {
    const char *c = memchr(p, '\n', (size_t)(e - p));
    if (c == NULL) {
      put(o, p, (size_t)(e - p));
      return;
    }
    const char *le = c > p && c[-1] == '\r' ? c - 1 : c;
    le = sipline__rskip_lws(p, le);
    put(o, p, (size_t)(le - p));
    put(o, " ", 1);
    p = sipline__skip_lws(c + 1, e);
  }
}

ptrdiff_t sipline_msg_print(const sipline_msg *m, char *buf, size_t cap) {
  out o = {buf, 0, cap, false};
  if (m->is_request) {
    put_pl(&o, m->method_name);
    put(&o, " ", 1);
    put_pl(&o, m->ruri_raw);
    put(&o, " ", 1);
    put_str(&o, "SIP/2.0");
  } else {
    put_str(&o, "SIP/2.0 ");
    put_uint(&o, m->status);
    put(&o, " ", 1);
    put_pl(&o, m->reason);
  }
  put(&o, "\r\n", 2);
  for (unsigned i = 0; i < m->n_hdrs; i++) {
    const sipline_hdr *h = &m->hdrs[i];
    if (h->id == SIPLINE_HDR_CONTENT_LENGTH)
      continue;
    const char *name = sipline_hdr_name(h->id);
    if (name)
      put_str(&o, name);
    else
      put_pl(&o, h->name);
    put(&o, ": ", 2);
    put_value(&o, h->value);
    put(&o, "\r\n", 2);
  }
  put_str(&o, "Content-Length: ");
  put_uint(&o, m->body.len);
  put(&o, "\r\n\r\n", 4);
  put_pl(&o, m->body);
  if (o.full)
    return SIPLINE_ERR_TOOBIG;
  return (ptrdiff_t)o.len;
}
