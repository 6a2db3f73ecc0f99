/*
 * RTP, RFC 4733, RTCP and receive statistics: pure functions on bytes
 * (see rtp.h). Every length is checked before it is read: these parse
 * whatever arrives on an open UDP port.
 */
#include "rtp.h"

#include <ctype.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

int sm_rtp_unpack(const uint8_t *p, size_t n, sm_rtp *r) {
  if (n < SM_RTP_HDR || p[0] >> 6 != 2)
    return SIPLINE_ERR_MALFORMED;
  memset(r, 0, sizeof *r);
  r->cc = p[0] & 0x0f;
  r->marker = p[1] >> 7;
  r->pt = p[1] & 0x7f;
  r->seq = rd16(p + 2);
  r->ts = rd32(p + 4);
  r->ssrc = rd32(p + 8);
  size_t off = SM_RTP_HDR + 4u * r->cc;
  if (off > n)
    return SIPLINE_ERR_MALFORMED;
  if (p[0] & 0x10) {
    if (n - off < 4)
      return SIPLINE_ERR_MALFORMED;
    r->has_ext = true;
    r->ext_profile = rd16(p + off);
    r->ext_len = 4u * rd16(p + off + 2);
    off += 4;
    if (r->ext_len > n - off)
      return SIPLINE_ERR_MALFORMED;
    off += r->ext_len;
  }
  size_t end = n;
  if (p[0] & 0x20) {
    /* The last octet counts the padding, itself included. */
    uint8_t pad = p[n - 1];
    if (pad == 0 || pad > n - off)
      return SIPLINE_ERR_MALFORMED;
    end -= pad;
  }
  r->payload = p + off;
  r->plen = end - off;
  return 0;
}

int sm_rtp_pack(uint8_t *out, size_t cap, const sm_rtp *r) {
  if (cap < SM_RTP_HDR)
    return SIPLINE_ERR_TOOBIG;
  out[0] = 0x80;
  out[1] = (uint8_t)((r->marker ? 0x80 : 0) | (r->pt & 0x7f));
  wr16(out + 2, r->seq);
  wr32(out + 4, r->ts);
  wr32(out + 8, r->ssrc);
  return SM_RTP_HDR;
}

bool sm_is_rtcp(const uint8_t *p, size_t n) {
  return n >= 2 && p[1] >= 192 && p[1] <= 223;
}

/* ---- RFC 4733 ----------------------------------------------------------- */

int sm_tev_unpack(const uint8_t *p, size_t n, sm_tev *e) {
  if (n < SM_TEV_LEN)
    return SIPLINE_ERR_MALFORMED;
  e->event = p[0];
  e->end = p[1] >> 7;
  e->volume = p[1] & 0x3f;
  e->duration = rd16(p + 2);
  return 0;
}

void sm_tev_pack(uint8_t out[SM_TEV_LEN], const sm_tev *e) {
  out[0] = e->event;
  out[1] = (uint8_t)((e->end ? 0x80 : 0) | (e->volume & 0x3f));
  wr16(out + 2, e->duration);
}

static const char tev_digits[] = "0123456789*#ABCD";

int sm_tev_from_digit(char c) {
  if (c == 0)
    return -1;
  const char *q = strchr(tev_digits, toupper((unsigned char)c));
  return q ? (int)(q - tev_digits) : -1;
}

char sm_tev_digit(uint8_t event) {
  return event < 16 ? tev_digits[event] : 0;
}

/* ---- receive statistics: RFC 3550 A.1 ----------------------------------- */

#define SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define MIN_SEQUENTIAL 2

static void init_seq(sm_rxstat *s, uint16_t seq) {
  s->base_seq = seq;
  s->max_seq = seq;
  s->bad_seq = SEQ_MOD + 1; /* so seq == bad_seq is false */
  s->cycles = 0;
  s->received = 0;
  s->received_prior = 0;
  s->expected_prior = 0;
}

static int update_seq(sm_rxstat *s, uint16_t seq) {
  uint16_t udelta = (uint16_t)(seq - s->max_seq);
  if (s->probation) {
    /* A source is valid once MIN_SEQUENTIAL packets came in sequence. */
    if (seq == (uint16_t)(s->max_seq + 1)) {
      s->probation--;
      s->max_seq = seq;
      if (s->probation == 0) {
        init_seq(s, seq);
        s->received++;
        return 0;
      }
    } else {
      s->probation = MIN_SEQUENTIAL - 1;
      s->max_seq = seq;
    }
    return SIPLINE_ERR_AGAIN;
  }
  if (udelta < MAX_DROPOUT) {
    if (seq < s->max_seq)
      s->cycles += SEQ_MOD; /* wrapped */
    s->max_seq = seq;
  } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
    /* A very large jump: the sender restarted, if the next one follows. */
    if (seq == s->bad_seq) {
      init_seq(s, seq);
    } else {
      s->bad_seq = (seq + 1) & (SEQ_MOD - 1);
      return SIPLINE_ERR_AGAIN;
    }
  } /* else a duplicate or a reordered packet: counted */
  s->received++;
  return 0;
}

int sm_rxstat_update(sm_rxstat *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
                     uint32_t arrival) {
  if (!s->init || s->ssrc != ssrc) {
    memset(s, 0, sizeof *s);
    s->init = true;
    s->ssrc = ssrc;
    init_seq(s, seq);
    s->max_seq = (uint16_t)(seq - 1);
    s->probation = MIN_SEQUENTIAL;
  }
  int rc = update_seq(s, seq);
  if (rc != 0)
    return rc;
  /* A.8: jitter from the relative transit time, in timestamp units. */
  uint32_t transit = arrival - ts;
  if (s->have_transit) {
    int32_t d = (int32_t)(transit - s->transit);
    if (d < 0)
      d = -d;
    s->jitter += (uint32_t)d - ((s->jitter + 8) >> 4);
  }
  s->transit = transit;
  s->have_transit = true;
  return 0;
}

uint32_t sm_rxstat_ext_max(const sm_rxstat *s) {
  return s->cycles + s->max_seq;
}

int32_t sm_rxstat_lost(const sm_rxstat *s) {
  if (!s->init || s->probation)
    return 0;
  int64_t expected = (int64_t)sm_rxstat_ext_max(s) - s->base_seq + 1;
  int64_t lost = expected - s->received;
  /* Clamped to the 24-bit signed field of a report block. */
  if (lost > 0x7fffff)
    lost = 0x7fffff;
  if (lost < -0x800000)
    lost = -0x800000;
  return (int32_t)lost;
}

uint8_t sm_rxstat_fraction(sm_rxstat *s) {
  if (!s->init || s->probation)
    return 0;
  uint32_t expected = sm_rxstat_ext_max(s) - s->base_seq + 1;
  uint32_t exp_int = expected - s->expected_prior;
  uint32_t rec_int = s->received - s->received_prior;
  s->expected_prior = expected;
  s->received_prior = s->received;
  if (exp_int == 0 || rec_int >= exp_int)
    return 0;
  return (uint8_t)(((uint64_t)(exp_int - rec_int) << 8) / exp_int);
}

/* ---- RTCP --------------------------------------------------------------- */

enum { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202, RTCP_BYE = 203 };

static void put_rb(uint8_t *p, const sm_rtcp_rb *b) {
  wr32(p, b->ssrc);
  wr32(p + 4, (uint32_t)b->fraction << 24 | ((uint32_t)b->lost & 0xffffff));
  wr32(p + 8, b->ext_max);
  wr32(p + 12, b->jitter);
  wr32(p + 16, b->lsr);
  wr32(p + 20, b->dlsr);
}

static void get_rb(const uint8_t *p, sm_rtcp_rb *b) {
  b->ssrc = rd32(p);
  b->fraction = p[4];
  uint32_t l = rd32(p + 4) & 0xffffff;
  b->lost = (l & 0x800000) ? (int32_t)l - 0x1000000 : (int32_t)l;
  b->ext_max = rd32(p + 8);
  b->jitter = rd32(p + 12);
  b->lsr = rd32(p + 16);
  b->dlsr = rd32(p + 20);
}

static void put_hdr(uint8_t *p, unsigned count, unsigned pt, size_t len) {
  p[0] = (uint8_t)(0x80 | count);
  p[1] = (uint8_t)pt;
  wr16(p + 2, (uint16_t)(len / 4 - 1));
}

int sm_rtcp_build(uint8_t *out, size_t cap, const sm_rtcp_out *o) {
  size_t cn = o->cname ? strlen(o->cname) : 0;
  if (o->nrb > 31 || cn > 255)
    return SIPLINE_ERR_INVAL;
  size_t rep = 8 + (o->sr ? 20 : 0) + 24u * o->nrb;
  /* SDES: header, SSRC, CNAME item, at least one null octet, 32-bit aligned */
  size_t sdes = (8 + 2 + cn + 1 + 3) & ~(size_t)3;
  size_t bye = o->bye ? 8 : 0;
  if (rep + sdes + bye > cap)
    return SIPLINE_ERR_TOOBIG;
  uint8_t *p = out;
  put_hdr(p, o->nrb, o->sr ? RTCP_SR : RTCP_RR, rep);
  wr32(p + 4, o->ssrc);
  size_t off = 8;
  if (o->sr) {
    wr32(p + 8, (uint32_t)(o->ntp >> 32));
    wr32(p + 12, (uint32_t)o->ntp);
    wr32(p + 16, o->rtp_ts);
    wr32(p + 20, o->pkts);
    wr32(p + 24, o->octets);
    off = 28;
  }
  for (unsigned i = 0; i < o->nrb; i++, off += 24)
    put_rb(p + off, &o->rb[i]);
  p += rep;
  memset(p, 0, sdes);
  put_hdr(p, 1, RTCP_SDES, sdes);
  wr32(p + 4, o->ssrc);
  p[8] = 1; /* CNAME */
  p[9] = (uint8_t)cn;
  if (cn)
    memcpy(p + 10, o->cname, cn);
  p += sdes;
  if (o->bye) {
    put_hdr(p, 1, RTCP_BYE, 8);
    wr32(p + 4, o->ssrc);
  }
  return (int)(rep + sdes + bye);
}

static void parse_sdes(const uint8_t *p, size_t len, unsigned sc,
                       sm_rtcp_info *info) {
  size_t off = 4;
  for (unsigned c = 0; c < sc && off + 4 <= len; c++) {
    uint32_t ssrc = rd32(p + off);
    off += 4;
    while (off < len && p[off] != 0) {
      if (off + 2 > len || off + 2 + p[off + 1] > len)
        return;
      if (p[off] == 1 && ssrc == info->ssrc && !info->cname) {
        info->cname = p + off + 2;
        info->cname_len = p[off + 1];
      }
      off += 2u + p[off + 1];
    }
    off = (off + 4) & ~(size_t)3; /* the null item(s) up to the boundary */
  }
}

int sm_rtcp_parse(const uint8_t *p, size_t n, sm_rtcp_info *info) {
  memset(info, 0, sizeof *info);
  if (n < 8 || (p[0] & 0xe0) != 0x80 || (p[1] != RTCP_SR && p[1] != RTCP_RR))
    return SIPLINE_ERR_MALFORMED; /* A.2: version 2, no padding, SR/RR */
  info->ssrc = rd32(p + 4);
  size_t off = 0;
  bool first = true;
  while (off < n) {
    if (n - off < 4 || p[off] >> 6 != 2)
      return SIPLINE_ERR_MALFORMED;
    size_t len = 4u * ((size_t)rd16(p + off + 2) + 1);
    if (len > n - off)
      return SIPLINE_ERR_MALFORMED;
    const uint8_t *q = p + off;
    size_t body = len;
    if (q[0] & 0x20) {
      /* Only the last packet of a compound may be padded. */
      if (off + len != n || q[len - 1] == 0 || q[len - 1] > len - 4)
        return SIPLINE_ERR_MALFORMED;
      body -= q[len - 1];
    }
    unsigned count = q[0] & 0x1f;
    if (first) {
      size_t need = 8 + (q[1] == RTCP_SR ? 20 : 0) + 24u * count;
      if (body < need)
        return SIPLINE_ERR_MALFORMED;
      size_t rbo = 8;
      if (q[1] == RTCP_SR) {
        info->sr = true;
        info->ntp = (uint64_t)rd32(q + 8) << 32 | rd32(q + 12);
        info->rtp_ts = rd32(q + 16);
        info->pkts = rd32(q + 20);
        info->octets = rd32(q + 24);
        rbo = 28;
      }
      for (unsigned i = 0; i < count && i < 4; i++)
        get_rb(q + rbo + 24u * i, &info->rb[i]);
      info->nrb = count < 4 ? count : 4;
    } else if (q[1] == RTCP_SDES) {
      parse_sdes(q, body, count, info);
    } else if (q[1] == RTCP_BYE) {
      for (unsigned i = 0; i < count && 4 + 4u * (i + 1) <= body; i++)
        if (rd32(q + 4 + 4u * i) == info->ssrc)
          info->bye = true;
    }
    first = false;
    off += len;
  }
  return 0;
}

uint64_t sm_rtcp_interval_ms(bool initial, double rnd) {
  /* For one sender and one receiver at 64 kbit/s, 5 % of the bandwidth
   * gives far less than the 5 s minimum, so the minimum is the interval. */
  double t = initial ? 2500.0 : 5000.0;
  if (rnd < 0 || rnd >= 1)
    rnd = 0.5;
  t = t * (rnd + 0.5) / (2.71828182845904523536 - 1.5);
  return (uint64_t)t;
}
