/*
 * daemon/rxframe.c: a stream's received bytes cut into SIP messages for
 * tracing (see rxframe.h).
 */
#include "rxframe.h"

#include <stdlib.h>
#include <string.h>

#include "sipline/msg.h"

/* The core refuses a stream message longer than this (tp.h); past it the
 * held bytes are traced as they are rather than kept growing. */
#define RXFRAME_MAX (64u * 1024u)

/* Emits the whole records at the front of p; returns the bytes consumed
 * (the rest is an incomplete message). */
static size_t cut(const uint8_t *p, size_t n, sd_rxframe_cb cb, void *arg) {
  static sipline_msg m; /* large (header table); the daemon is one thread */
  size_t off = 0;
  while (off < n) {
    const char *s = (const char *)p + off;
    size_t k = sipline_stream_skip_crlf(s, n - off);
    if (k) {
      cb(arg, p + off, k);
      off += k;
      continue;
    }
    ptrdiff_t r = sipline_msg_parse(&m, s, n - off, SIPLINE_PARSE_STREAM, NULL);
    if (r == SIPLINE_ERR_INCOMPLETE && n - off <= RXFRAME_MAX)
      break;
    if (r <= 0)
      r = (ptrdiff_t)(n - off); /* unparsable: the rest as it is */
    cb(arg, p + off, (size_t)r);
    off += (size_t)r;
  }
  return off;
}

int sd_rxframe_feed(sd_rxframe *f, const uint8_t *p, size_t n, sd_rxframe_cb cb,
                    void *arg) {
  if (!f->len) { /* the usual case: frame in place, copy only a tail */
    size_t used = cut(p, n, cb, arg);
    p += used;
    n -= used;
    if (!n)
      return 0;
  }
  if (f->len + n > f->cap) {
    size_t cap = f->cap ? f->cap : 2048;
    while (cap < f->len + n)
      cap *= 2;
    uint8_t *nb = realloc(f->buf, cap);
    if (!nb) {
      if (f->len)
        cb(arg, f->buf, f->len);
      cb(arg, p, n);
      sd_rxframe_free(f);
      return -1;
    }
    f->buf = nb;
    f->cap = cap;
  }
  memcpy(f->buf + f->len, p, n);
  f->len += n;
  size_t used = cut(f->buf, f->len, cb, arg);
  memmove(f->buf, f->buf + used, f->len - used);
  f->len -= used;
  if (!f->len && f->cap > 2 * RXFRAME_MAX) /* after a huge message */
    sd_rxframe_free(f);
  return 0;
}

void sd_rxframe_free(sd_rxframe *f) {
  free(f->buf);
  f->buf = NULL;
  f->len = f->cap = 0;
}
