/*
 * baresip libre through its public API: sip_msg_decode() on an mbuf filled
 * once per input (zero-copy; the read position is reset per parse), then
 * sip_via_decode() on every Via value and sip_addr_decode() on every Contact
 * value (libre decodes only the first Via itself), mem_deref().
 */
#include <stdio.h>
#include <stdlib.h>

#include <re.h>

#include "bench.h"

/* One filled mbuf per input buffer, so the mixed loop reuses them too. */
static struct {
  const char *src;
  struct mbuf *mb;
} cache[16];

static int init(void) {
  return libre_init();
}

typedef struct walk {
  bench_fields *f;
  int n;
  int err;
} walk;

static bool via_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
                  void *arg) {
  walk *w = arg;
  struct sip_via v;
  (void)msg;
  if (sip_via_decode(&v, &hdr->val)) {
    w->err = 1;
    return true;
  }
  if (w->n == 0) {
    /* sentby is host[:port]: the host is up to the last ':' (IPv4) */
    size_t n = v.sentby.l;
    for (size_t i = v.sentby.l; i > 0; i--)
      if (v.sentby.p[i - 1] == ':') {
        n = i - 1;
        break;
      }
    BSTR(w->f, via0_host, v.sentby.p, n);
    BNUM(w->f, via0_port, sa_port(&v.addr));
    BSTR(w->f, via0_branch, v.branch.p, v.branch.l);
  } else {
    bench_sink += (uintptr_t)v.sentby.p + sa_port(&v.addr) +
                  (uintptr_t)v.branch.p + v.branch.l;
  }
  w->n++;
  return false;
}

static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
                      void *arg) {
  walk *w = arg;
  struct sip_addr a;
  (void)msg;
  if (sip_addr_decode(&a, &hdr->val)) {
    w->err = 1;
    return true;
  }
  if (w->n == 0)
    BSTR(w->f, contact_host, a.uri.host.p, a.uri.host.l);
  else
    bench_sink += (uintptr_t)a.uri.host.p + a.uri.host.l;
  w->n++;
  return false;
}

static int read_fields(const struct sip_msg *msg, bench_fields *f) {
  if (msg->req) {
    BSTR(f, start, msg->met.p, msg->met.l);
    BSTR(f, ruri_host, msg->uri.host.p, msg->uri.host.l);
  } else if (f) {
    snprintf(f->start, sizeof(f->start), "%u", msg->scode);
  } else {
    bench_sink += msg->scode;
  }
  walk w = {f, 0, 0};
  sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, via_h, &w);
  if (w.err)
    return -1;
  BNUM(f, nvia, w.n);
  BSTR(f, from_host, msg->from.uri.host.p, msg->from.uri.host.l);
  BSTR(f, from_tag, msg->from.tag.p, msg->from.tag.l);
  BSTR(f, to_host, msg->to.uri.host.p, msg->to.uri.host.l);
  BSTR(f, to_tag, msg->to.tag.p, msg->to.tag.l);
  BSTR(f, callid, msg->callid.p, msg->callid.l);
  BNUM(f, cseq, msg->cseq.num);
  BSTR(f, cseq_method, msg->cseq.met.p, msg->cseq.met.l);
  walk c = {f, 0, 0};
  sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, &c);
  if (c.err)
    return -1;
  BNUM(f, ncontact, c.n);
  BNUM(f, clen, pl_isset(&msg->clen) ? (long)pl_u32(&msg->clen) : -1L);
  const uint8_t *body = mbuf_buf(msg->mb);
  size_t blen = mbuf_get_left(msg->mb);
  BNUM(f, body_len, blen);
  if (blen) {
    BNUM(f, body_first, body[0]);
    BNUM(f, body_last, body[blen - 1]);
  }
  return 0;
}

static int parse(char *buf, size_t len, bench_fields *f) {
  struct mbuf *mb = NULL;
  size_t i;
  for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && cache[i].src; i++)
    if (cache[i].src == buf) {
      mb = cache[i].mb;
      break;
    }
  if (mb == NULL) {
    if (i == sizeof(cache) / sizeof(cache[0]))
      i = 0;
    mem_deref(cache[i].mb);
    mb = mbuf_alloc(len);
    if (mb == NULL || mbuf_write_mem(mb, (const uint8_t *)buf, len))
      return -1;
    cache[i].src = buf;
    cache[i].mb = mb;
  }
  mb->pos = 0;
  struct sip_msg *msg = NULL;
  if (sip_msg_decode(&msg, mb))
    return -1;
  int rc = read_fields(msg, f);
  mem_deref(msg);
  return rc;
}

const bench_stack bench_libre = {"libre", init, parse};
