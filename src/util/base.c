/* src/util/base.c: errors, string views, the allocator and the PRNG. */
#include <stdlib.h>
#include <string.h>

#include "sipline/base.h"
#include "util.h"

const char *sipline_strerror(int err) {
  switch (err) {
  case SIPLINE_OK: return "success";
  case SIPLINE_ERR_NOMEM: return "out of memory";
  case SIPLINE_ERR_INVAL: return "invalid argument";
  case SIPLINE_ERR_INCOMPLETE: return "incomplete input, need more bytes";
  case SIPLINE_ERR_MALFORMED: return "malformed input";
  case SIPLINE_ERR_NOTFOUND: return "not found";
  case SIPLINE_ERR_RANGE: return "value out of range";
  case SIPLINE_ERR_STATE: return "not allowed in this state";
  case SIPLINE_ERR_UNSUPPORTED: return "not supported";
  case SIPLINE_ERR_TOOBIG: return "exceeds a limit";
  case SIPLINE_ERR_AUTH: return "authentication failed";
  case SIPLINE_ERR_STALE: return "nonce expired";
  case SIPLINE_ERR_REPLAY: return "nonce count replayed";
  case SIPLINE_ERR_CRYPTO: return "crypto library failure";
  case SIPLINE_ERR_AGAIN: return "nothing available now";
  case SIPLINE_ERR_EXISTS: return "already exists";
  case SIPLINE_ERR_CONFIG: return "invalid configuration";
  case SIPLINE_ERR_IO: return "input/output error";
  case SIPLINE_ERR_TIMEOUT: return "timed out";
  case SIPLINE_ERR_TRANSPORT: return "transport failure";
  default: return "unknown error";
  }
}

sipline_pl sipline_pl_str(const char *s) {
  sipline_pl r = {s ? s : "", s ? strlen(s) : 0};
  return r;
}

int sipline_pl_eq(sipline_pl a, sipline_pl b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int sipline_pl_caseeq(sipline_pl a, sipline_pl b) {
  if (a.len != b.len)
    return 0;
  /* Mostly the same bytes (a branch, a tag, a header name as we wrote
   * it): one memcmp decides those. */
  if (a.len == 0 || memcmp(a.p, b.p, a.len) == 0)
    return 1;
  for (size_t i = 0; i < a.len; i++)
    if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
      return 0;
  return 1;
}

int sipline_pl_casecmp_str(sipline_pl a, const char *s) {
  return sipline_pl_caseeq(a, sipline_pl_str(s));
}

static inline int is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

sipline_pl sipline_pl_trim(sipline_pl a) {
  while (a.len && is_ws(a.p[0])) {
    a.p++;
    a.len--;
  }
  while (a.len && is_ws(a.p[a.len - 1]))
    a.len--;
  return a;
}

int sipline_pl_u64(sipline_pl a, uint64_t max, uint64_t *out) {
  if (a.len == 0 || a.len > 19)
    return a.len == 0 ? SIPLINE_ERR_MALFORMED : SIPLINE_ERR_RANGE;
  uint64_t v = 0;
  for (size_t i = 0; i < a.len; i++) {
    if (a.p[i] < '0' || a.p[i] > '9')
      return SIPLINE_ERR_MALFORMED;
    v = v * 10 + (uint64_t)(a.p[i] - '0');
  }
  if (v > max)
    return SIPLINE_ERR_RANGE;
  *out = v;
  return 0;
}

/* The C library allocator, adapted to the callback signatures. */
static void *d_malloc(size_t n, void *u) {
  (void)u;
  return malloc(n);
}
static void d_free(void *p, void *u) {
  (void)u;
  free(p);
}
static void *d_calloc(size_t n, size_t s, void *u) {
  (void)u;
  return calloc(n, s);
}
static void *d_realloc(void *p, size_t n, void *u) {
  (void)u;
  return realloc(p, n);
}
static const sipline_mem default_mem = {NULL, d_malloc, d_free, d_calloc,
                                        d_realloc};

const sipline_mem *sipline_mem_default(void) { return &default_mem; }

void *sipline_mem_malloc(const sipline_mem *m, size_t n) {
  if (!m)
    m = &default_mem;
  return m->malloc ? m->malloc(n, m->user) : malloc(n);
}

void *sipline_mem_calloc(const sipline_mem *m, size_t n, size_t s) {
  if (!m)
    m = &default_mem;
  if (m->calloc)
    return m->calloc(n, s, m->user);
  if (s && n > SIZE_MAX / s)
    return NULL;
  void *p = sipline_mem_malloc(m, n * s);
  if (p)
    memset(p, 0, n * s);
  return p;
}

void *sipline_mem_realloc(const sipline_mem *m, void *p, size_t n) {
  if (!m)
    m = &default_mem;
  return m->realloc ? m->realloc(p, n, m->user) : realloc(p, n);
}

void sipline_mem_free(const sipline_mem *m, void *p) {
  if (!p)
    return;
  if (!m)
    m = &default_mem;
  if (m->free)
    m->free(p, m->user);
  else
    free(p);
}

/* splitmix64 spreads one seed over the four words of xoshiro256**. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void sipline_rng_seed(sipline_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t sipline_rng_next(sipline_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t sipline_rng_below(sipline_rng *r, uint64_t bound) {
  if (bound == 0)
    return 0;
  /* Rejection sampling: no modulo bias, so jitter is truly uniform. */
  uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  uint64_t v;
  do
    v = sipline_rng_next(r);
  while (v >= limit);
  return v % bound;
}

void sipline_rng_token(sipline_rng *r, char *out, size_t n) {
  static const char al[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  /* sipline_rng_below(r, 62) with the bound a constant: the same draws and
   * the same characters, without two 64-bit divisions per character (a
   * REGISTER draws 36: its branch and its cnonce). */
  enum { N = sizeof(al) - 1 };
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % N);
  /* sipline_rng_next written out on a copy of the state, so the four words
   * stay in registers across the token instead of a call and four loads
   * and stores per character. */
  uint64_t s0 = r->s[0], s1 = r->s[1], s2 = r->s[2], s3 = r->s[3];
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    do {
      v = rotl(s1 * 5, 7) * 9;
      uint64_t t = s1 << 17;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 45);
    } while (v >= limit);
    out[i] = al[v % N];
  }
  r->s[0] = s0;
  r->s[1] = s1;
  r->s[2] = s2;
  r->s[3] = s3;
}

int sipline__ct_eq(const void *a, const void *b, size_t n) {
  const volatile unsigned char *x = a, *y = b;
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++)
    d |= (unsigned char)(x[i] ^ y[i]);
  return d == 0;
}
