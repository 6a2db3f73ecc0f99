/* daemon/trace.c: see trace.h. */
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_LEN 14
#define TCP_CHUNK 32000 /* keeps every synthesized IP packet below 64 KiB */

typedef struct flow {
  sipline_addr src, dst;
  uint32_t seq;
  uint64_t used;
} flow;

struct spcap {
  FILE *f;
  uint16_t ip_id;
  uint64_t tick;
  flow flows[64];
};

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static void le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static void le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

uint32_t strace_sum(const uint8_t *p, size_t n, uint32_t sum) {
  size_t i;
  for (i = 0; i + 1 < n; i += 2)
    sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (i < n)
    sum += (uint32_t)(p[i] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

size_t spcap_frame(uint8_t *out, size_t cap, int proto, const sipline_addr *src,
                   const sipline_addr *dst, const uint8_t *p, size_t n,
                   uint32_t tcp_seq, uint16_t ip_id) {
  if (src->family != dst->family || (src->family != 4 && src->family != 6))
    return 0;
  if (proto != STRACE_UDP && proto != STRACE_TCP)
    return 0;
  int v6 = src->family == 6;
  size_t iph = v6 ? 40 : 20;
  size_t l4h = proto == STRACE_UDP ? 8 : 20;
  size_t l4len = l4h + n;
  size_t total = ETH_LEN + iph + l4len;
  if (total > cap || iph + l4len > 65535)
    return 0;
  memset(out, 0, ETH_LEN + iph + l4h);
  /* Ethernet: locally administered MACs, one per direction of the flow. */
  static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1};
  static const uint8_t mac_b[6] = {2, 0, 0, 0, 0, 2};
  memcpy(out, mac_b, 6);
  memcpy(out + 6, mac_a, 6);
  put16(out + 12, v6 ? 0x86dd : 0x0800);
  uint8_t *ip = out + ETH_LEN;
  uint8_t *l4 = ip + iph;
  if (v6) {
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)l4len);
    ip[6] = (uint8_t)proto;
    ip[7] = 64;
    memcpy(ip + 8, src->ip, 16);
    memcpy(ip + 24, dst->ip, 16);
  } else {
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(iph + l4len));
    put16(ip + 4, ip_id);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = (uint8_t)proto;
    memcpy(ip + 12, src->ip, 4);
    memcpy(ip + 16, dst->ip, 4);
    put16(ip + 10, (uint16_t)~strace_sum(ip, 20, 0));
  }
  put16(l4, src->port);
  put16(l4 + 2, dst->port);
  if (proto == STRACE_UDP) {
    put16(l4 + 4, (uint16_t)l4len);
  } else {
    put32(l4 + 4, tcp_seq);
    put32(l4 + 8, 1); /* ACK number: nothing better is known */
    l4[12] = 5 << 4;
    l4[13] = 0x18; /* PSH, ACK */
    put16(l4 + 14, 65535);
  }
  memcpy(l4 + l4h, p, n);
  /* The pseudo-header checksum (RFC 768, RFC 793, RFC 8200 §8.1). */
  uint8_t ph[40];
  size_t phn;
  if (v6) {
    memcpy(ph, src->ip, 16);
    memcpy(ph + 16, dst->ip, 16);
    put32(ph + 32, (uint32_t)l4len);
    ph[36] = ph[37] = ph[38] = 0;
    ph[39] = (uint8_t)proto;
    phn = 40;
  } else {
    memcpy(ph, src->ip, 4);
    memcpy(ph + 4, dst->ip, 4);
    ph[8] = 0;
    ph[9] = (uint8_t)proto;
    put16(ph + 10, (uint16_t)l4len);
    phn = 12;
  }
  uint32_t s = strace_sum(ph, phn, 0);
  s = strace_sum(l4, l4len, s);
  uint16_t ck = (uint16_t)~s;
  if (proto == STRACE_UDP && ck == 0)
    ck = 0xffff; /* 0 means "no checksum" for UDP */
  put16(l4 + (proto == STRACE_UDP ? 6 : 16), ck);
  return total;
}

int spcap_open(spcap **out, const char *path) {
  spcap *pc = calloc(1, sizeof *pc);
  if (!pc)
    return -ENOMEM;
  pc->f = fopen(path, "wb");
  if (!pc->f) {
    int e = errno;
    free(pc);
    return -e;
  }
  uint8_t h[24];
  le32(h, 0xa1b2c3d4); /* microsecond time stamps */
  le16(h + 4, 2);
  le16(h + 6, 4);
  le32(h + 8, 0);
  le32(h + 12, 0);
  le32(h + 16, 262144); /* snaplen */
  le32(h + 20, 1);      /* LINKTYPE_ETHERNET */
  if (fwrite(h, 1, sizeof h, pc->f) != sizeof h || fflush(pc->f) != 0) {
    fclose(pc->f);
    free(pc);
    return -EIO;
  }
  *out = pc;
  return 0;
}

static int addr_same(const sipline_addr *a, const sipline_addr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

/* The next sequence number of the src -> dst byte stream. */
static uint32_t *flow_seq(spcap *pc, const sipline_addr *src,
                          const sipline_addr *dst) {
  flow *victim = &pc->flows[0];
  pc->tick++;
  for (size_t i = 0; i < sizeof pc->flows / sizeof pc->flows[0]; i++) {
    flow *f = &pc->flows[i];
    if (f->used && addr_same(&f->src, src) && addr_same(&f->dst, dst)) {
      f->used = pc->tick;
      return &f->seq;
    }
    if (f->used < victim->used)
      victim = f;
  }
  victim->src = *src;
  victim->dst = *dst;
  victim->seq = 1;
  victim->used = pc->tick;
  return &victim->seq;
}

int spcap_write(spcap *pc, int proto, const sipline_addr *src,
                const sipline_addr *dst, const uint8_t *p, size_t n,
                const struct timeval *tv) {
  if (!pc)
    return -EINVAL;
  struct timeval now;
  if (!tv) {
    gettimeofday(&now, NULL);
    tv = &now;
  }
  static uint8_t frame[ETH_LEN + 60 + 65536];
  size_t off = 0;
  do {
    size_t chunk = n - off;
    if (proto == STRACE_TCP && chunk > TCP_CHUNK)
      chunk = TCP_CHUNK;
    uint32_t *seq = proto == STRACE_TCP ? flow_seq(pc, src, dst) : NULL;
    size_t len = spcap_frame(frame, sizeof frame, proto, src, dst, p + off,
                             chunk, seq ? *seq : 0, pc->ip_id++);
    if (len == 0)
      return -EINVAL;
    if (seq)
      *seq += (uint32_t)chunk;
    uint8_t rh[16];
    le32(rh, (uint32_t)tv->tv_sec);
    le32(rh + 4, (uint32_t)tv->tv_usec);
    le32(rh + 8, (uint32_t)len);
    le32(rh + 12, (uint32_t)len);
    if (fwrite(rh, 1, 16, pc->f) != 16 || fwrite(frame, 1, len, pc->f) != len)
      return -EIO;
    off += chunk;
  } while (off < n);
  return fflush(pc->f) == 0 ? 0 : -EIO;
}

void spcap_close(spcap *pc) {
  if (!pc)
    return;
  fclose(pc->f);
  free(pc);
}

/* One HEP chunk: vendor 0, type, length including the 6-byte header. */
static size_t chunk(uint8_t *out, size_t off, size_t cap, uint16_t type,
                    const void *v, size_t n) {
  if (off == 0 || off + 6 + n > cap || 6 + n > 65535)
    return 0;
  put16(out + off, 0);
  put16(out + off + 2, type);
  put16(out + off + 4, (uint16_t)(6 + n));
  memcpy(out + off + 6, v, n);
  return off + 6 + n;
}

size_t shep_encode(uint8_t *out, size_t cap, int proto, const sipline_addr *src,
                   const sipline_addr *dst, const uint8_t *p, size_t n,
                   const struct timeval *tv, uint32_t agent_id) {
  if (src->family != dst->family || (src->family != 4 && src->family != 6) ||
      cap < 6)
    return 0;
  int v6 = src->family == 6;
  uint8_t b1, b2[2], b4[4];
  memcpy(out, "HEP3", 4);
  size_t off = 6;
  b1 = v6 ? 10 : 2; /* AF_INET6 / AF_INET as HEP uses them */
  off = chunk(out, off, cap, 0x0001, &b1, 1);
  b1 = (uint8_t)proto;
  off = chunk(out, off, cap, 0x0002, &b1, 1);
  off = chunk(out, off, cap, v6 ? 0x0005 : 0x0003, src->ip, v6 ? 16 : 4);
  off = chunk(out, off, cap, v6 ? 0x0006 : 0x0004, dst->ip, v6 ? 16 : 4);
  put16(b2, src->port);
  off = chunk(out, off, cap, 0x0007, b2, 2);
  put16(b2, dst->port);
  off = chunk(out, off, cap, 0x0008, b2, 2);
  put32(b4, (uint32_t)tv->tv_sec);
  off = chunk(out, off, cap, 0x0009, b4, 4);
  put32(b4, (uint32_t)tv->tv_usec);
  off = chunk(out, off, cap, 0x000a, b4, 4);
  b1 = 1; /* SIP */
  off = chunk(out, off, cap, 0x000b, &b1, 1);
  put32(b4, agent_id);
  off = chunk(out, off, cap, 0x000c, b4, 4);
  off = chunk(out, off, cap, 0x000f, p, n);
  if (off == 0 || off > 65535)
    return 0;
  put16(out + 4, (uint16_t)off);
  return off;
}
