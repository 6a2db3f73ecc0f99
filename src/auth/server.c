/*
 * src/auth/server.c: challenging and verifying digest credentials on the
 * UAS side (SPEC R17-R18; RFC 2617 §3.2.1, §3.3; RFC 7616 §3.3, §3.5).
 *
 * Nonces are self-authenticating (an HMAC over their issue time, a salt and
 * the realm), so checking origin and age needs no state. Replay protection
 * needs state, which is kept in a fixed-size table allocated once: memory
 * does not grow with the number of challenges, and anything the table no
 * longer remembers fails safe (stale), never open.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "auth/auth.h"

#define TS_LEN 8
#define SALT_LEN 8
#define TAG_LEN 32
#define RAW_LEN (TS_LEN + SALT_LEN + TAG_LEN)
#define KEY_MAX 32
#define WINDOW 64

_Static_assert(RAW_LEN / 3 * 4 == SIPLINE_AUTH_NONCE_LEN,
               "nonce length is base64url of the raw nonce, no padding");

/* The part of a slot the hash index looks at. */
typedef struct kslot {
  uint32_t h;
  uint8_t used;
  uint8_t klen;
  uint8_t key[KEY_MAX];
} kslot;

typedef struct rslot { /* replay table: one issued nonce */
  kslot k;
  uint32_t max_nc; /* highest nc accepted, 0 before the first */
  uint64_t window; /* bit d set: nc == max_nc - d was accepted */
} rslot;

typedef struct bslot { /* rate limiter: one source's token bucket */
  kslot k;
  uint64_t milli; /* tokens x 1000 */
  sipline_tstamp last;
} bslot;

/*
 * An open-addressing (linear probing) index from a key to a slot of a fixed
 * array, with backward-shift deletion so it never fills with tombstones.
 */
typedef struct kindex {
  uint32_t *v; /* slot + 1, 0 empty */
  uint32_t mask;
  char *slots;
  size_t stride;
} kindex;

static kslot *slot_at(const kindex *x, uint32_t i) {
  return (kslot *)(void *)(x->slots + (size_t)i * x->stride);
}

static int kindex_find(const kindex *x, uint32_t h, const uint8_t *key,
                       size_t klen, uint32_t *pos) {
  for (uint32_t i = h & x->mask;; i = (i + 1) & x->mask) {
    if (!x->v[i])
      return -1;
    kslot *k = slot_at(x, x->v[i] - 1);
    if (k->h == h && k->klen == klen && memcmp(k->key, key, klen) == 0) {
      if (pos)
        *pos = i;
      return (int)(x->v[i] - 1);
    }
  }
}

static void kindex_insert(kindex *x, uint32_t slot) {
  uint32_t i = slot_at(x, slot)->h & x->mask;
  while (x->v[i])
    i = (i + 1) & x->mask;
  x->v[i] = slot + 1;
}

static void kindex_remove(kindex *x, uint32_t slot) {
  kslot *k = slot_at(x, slot);
  uint32_t i;
  if (kindex_find(x, k->h, k->key, k->klen, &i) < 0)
    return;
  for (uint32_t j = i;;) {
    j = (j + 1) & x->mask;
    if (!x->v[j])
      break;
    uint32_t home = slot_at(x, x->v[j] - 1)->h & x->mask;
    /* Move v[j] into the hole at i unless its home lies cyclically in
     * (i, j]: then it is still reachable from home without passing i. */
    int keep = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if (!keep) {
      x->v[i] = x->v[j];
      i = j;
    }
  }
  x->v[i] = 0;
}

struct sipline_auth_server {
  const sipline_mem *mem;
  uint8_t *secret;
  size_t secret_len;
  EVP_MAC *mac;
  EVP_MAC_CTX *mctx;
  uint64_t hseed; /* keys the rate limiter's hash against chosen collisions */
  uint32_t ttl;
  unsigned algs;

  rslot *rs;
  uint32_t nrs;
  uint32_t rnext; /* the oldest slot, next to be reused */
  kindex rx;

  bslot *bs;
  uint32_t nbs;
  uint32_t bnext;
  kindex bx;
  uint32_t rate, burst, grate, gburst;
  uint64_t gmilli;
  sipline_tstamp glast;
};

static uint32_t pow2_at_least(uint32_t n) {
  uint32_t p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

#define SUPPORTED_ALGS                                                         \
  (SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_MD5) |                                    \
   SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_MD5_SESS) |                               \
   SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA256) |                                 \
   SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA256_SESS) |                            \
   SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA512_256) |                             \
   SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA512_256_SESS))

int sipline_auth_server_new(sipline_auth_server **ps,
                            const sipline_auth_server_cfg *cfg,
                            const sipline_mem *mem) {
  if (!ps)
    return SIPLINE_ERR_INVAL;
  *ps = NULL;
  if (!cfg || !cfg->secret || cfg->secret_len < 16)
    return SIPLINE_ERR_INVAL;
  unsigned algs = cfg->algs ? cfg->algs
                            : SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_MD5) |
                                  SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA256);
  if (!(algs & SUPPORTED_ALGS) || (algs & ~SUPPORTED_ALGS))
    return SIPLINE_ERR_INVAL;
  uint32_t nrs = cfg->replay_slots ? cfg->replay_slots : 1024;
  uint32_t nbs = cfg->rl_slots ? cfg->rl_slots : 256;
  /* The index holds 32-bit slot numbers and needs twice the slots. */
  if (nrs > (1u << 28) || nbs > (1u << 28))
    return SIPLINE_ERR_INVAL;
  if (!mem)
    mem = sipline_mem_default();
  sipline_auth_server *s = sipline_mem_calloc(mem, 1, sizeof(*s));
  if (!s)
    return SIPLINE_ERR_NOMEM;
  s->mem = mem;
  s->algs = algs;
  s->ttl = cfg->nonce_ttl_ms ? cfg->nonce_ttl_ms : 300000;
  s->rate = cfg->rl_rate ? cfg->rl_rate : 20;
  s->burst = cfg->rl_burst ? cfg->rl_burst : 40;
  s->grate = cfg->rl_global_rate ? cfg->rl_global_rate : 200;
  s->gburst = cfg->rl_global_burst ? cfg->rl_global_burst : 400;
  s->nrs = nrs;
  s->nbs = nbs;
  uint32_t rcap = pow2_at_least(2 * nrs), bcap = pow2_at_least(2 * nbs);
  s->secret = sipline_mem_malloc(mem, cfg->secret_len);
  s->rs = sipline_mem_calloc(mem, nrs, sizeof(rslot));
  s->rx.v = sipline_mem_calloc(mem, rcap, sizeof(uint32_t));
  s->bs = sipline_mem_calloc(mem, nbs, sizeof(bslot));
  s->bx.v = sipline_mem_calloc(mem, bcap, sizeof(uint32_t));
  if (!s->secret || !s->rs || !s->rx.v || !s->bs || !s->bx.v) {
    sipline_auth_server_del(s);
    return SIPLINE_ERR_NOMEM;
  }
  memcpy(s->secret, cfg->secret, cfg->secret_len);
  s->secret_len = cfg->secret_len;
  s->rx = (kindex){s->rx.v, rcap - 1, (char *)s->rs, sizeof(rslot)};
  s->bx = (kindex){s->bx.v, bcap - 1, (char *)s->bs, sizeof(bslot)};
  s->gmilli = (uint64_t)s->gburst * 1000;
  s->glast = 0;

  OSSL_PARAM params[2] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
      OSSL_PARAM_construct_end()};
  s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  s->mctx = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
  if (!s->mctx || !EVP_MAC_CTX_set_params(s->mctx, params)) {
    sipline_auth_server_del(s);
    return SIPLINE_ERR_CRYPTO;
  }
  /* The rate limiter's hash seed, derived from the secret so the server has
   * no randomness of its own. */
  uint8_t d[32];
  unsigned int dl = 0;
  if (!EVP_Digest(s->secret, s->secret_len, d, &dl, EVP_sha256(), NULL)) {
    sipline_auth_server_del(s);
    return SIPLINE_ERR_CRYPTO;
  }
  for (int i = 0; i < 8; i++)
    s->hseed = s->hseed << 8 | d[i];
  OPENSSL_cleanse(d, sizeof(d));
  *ps = s;
  return 0;
}

void sipline_auth_server_del(sipline_auth_server *s) {
  if (!s)
    return;
  EVP_MAC_CTX_free(s->mctx);
  EVP_MAC_free(s->mac);
  if (s->secret) {
    OPENSSL_cleanse(s->secret, s->secret_len);
    sipline_mem_free(s->mem, s->secret);
  }
  sipline_mem_free(s->mem, s->rs);
  sipline_mem_free(s->mem, s->rx.v);
  sipline_mem_free(s->mem, s->bs);
  sipline_mem_free(s->mem, s->bx.v);
  sipline_mem_free(s->mem, s);
}

/* --- nonces ----------------------------------------------------------------
 */

/* tag = HMAC-SHA256(secret, ts || salt || realm). */
static int nonce_tag(sipline_auth_server *s, const uint8_t *ts_salt,
                     sipline_pl realm, uint8_t tag[TAG_LEN]) {
  size_t n = 0;
  if (!EVP_MAC_init(s->mctx, s->secret, s->secret_len, NULL) ||
      !EVP_MAC_update(s->mctx, ts_salt, TS_LEN + SALT_LEN) ||
      (realm.len &&
       !EVP_MAC_update(s->mctx, (const unsigned char *)realm.p, realm.len)) ||
      !EVP_MAC_final(s->mctx, tag, &n, TAG_LEN) || n != TAG_LEN)
    return SIPLINE_ERR_CRYPTO;
  return 0;
}

static uint32_t key_hash(const uint8_t *k, size_t n, uint64_t seed) {
  /* FNV-1a, seeded: the replay keys are HMAC output already, the rate
   * limiter's are addresses an attacker picks. */
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (size_t i = 0; i < n; i++) {
    h ^= k[i];
    h *= 0x100000001b3ull;
  }
  return (uint32_t)(h ^ (h >> 32));
}

static void replay_insert(sipline_auth_server *s, const uint8_t *key) {
  rslot *r = &s->rs[s->rnext];
  if (r->k.used)
    kindex_remove(&s->rx, s->rnext); /* evict the oldest nonce */
  memset(r, 0, sizeof(*r));
  r->k.used = 1;
  r->k.klen = 16;
  memcpy(r->k.key, key, 16);
  r->k.h = key_hash(key, 16, 0);
  kindex_insert(&s->rx, s->rnext);
  s->rnext = (s->rnext + 1) % s->nrs;
}

ptrdiff_t sipline_auth_server_challenge(sipline_auth_server *s,
                                        const sipline_auth_challenge *ch,
                                        char *out, size_t cap) {
  if (!s || !ch || !ch->rng || !ch->realm.p || !ch->realm.len ||
      ch->realm.len >= SIPLINE_AUTH_MAX_VALUE)
    return SIPLINE_ERR_INVAL;
  if (!out || !cap)
    return SIPLINE_ERR_TOOBIG;
  uint8_t raw[RAW_LEN];
  for (int i = 0; i < TS_LEN; i++)
    raw[i] = (uint8_t)(ch->now >> (56 - 8 * i));
  uint64_t salt = sipline_rng_next(ch->rng);
  for (int i = 0; i < SALT_LEN; i++)
    raw[TS_LEN + i] = (uint8_t)(salt >> (56 - 8 * i));
  int err = nonce_tag(s, raw, ch->realm, raw + TS_LEN + SALT_LEN);
  if (err)
    return err;
  char nonce[SIPLINE_AUTH_NONCE_LEN + 1];
  sipline__b64url_enc(raw, RAW_LEN, nonce);

  static const sipline_digest_alg offer[] = {
      SIPLINE_DIGEST_MD5, SIPLINE_DIGEST_SHA256, SIPLINE_DIGEST_SHA512_256};
  sipline__wr w;
  sipline__wr_init(&w, out, cap);
  int any = 0;
  for (size_t i = 0; i < SIPLINE__ARRAY_LEN(offer); i++) {
    if (!(s->algs & SIPLINE_DIGEST_BIT(offer[i])))
      continue;
    any = 1;
    sipline__wr_str(&w, sipline_auth_challenge_hdr(ch->kind));
    sipline__wr_str(&w, ": Digest realm=\"");
    sipline__wr_qesc(&w, ch->realm);
    sipline__wr_str(&w, "\", nonce=\"");
    sipline__wr_str(&w, nonce);
    sipline__wr_str(&w, "\", qop=\"auth\", algorithm=");
    sipline__wr_str(&w, sipline_digest_alg_name(offer[i]));
    if (ch->stale)
      sipline__wr_str(&w, ", stale=true");
    sipline__wr_str(&w, "\r\n");
  }
  if (!any) /* only -sess algorithms configured: nothing to offer */
    return SIPLINE_ERR_INVAL;
  ptrdiff_t r = sipline__wr_end(&w);
  if (r >= 0)
    replay_insert(s, raw + TS_LEN + SALT_LEN);
  return r;
}

/* --- the rate limiter ------------------------------------------------------
 */

static void refill(uint64_t *milli, sipline_tstamp *last, sipline_tstamp now,
                   uint32_t rate, uint32_t burst) {
  uint64_t cap = (uint64_t)burst * 1000;
  if (now > *last) {
    uint64_t el = now - *last;
    if (el > 1000000000ull)
      el = 1000000000ull; /* keeps el * rate far from overflow */
    /* rate tokens per second = rate milli-tokens per millisecond. */
    uint64_t add = el * rate;
    *milli = (*milli + add > cap) ? cap : *milli + add;
    *last = now;
  }
}

int sipline_auth_server_allow(sipline_auth_server *s, const void *src,
                              size_t len, sipline_tstamp now) {
  if (!s || (!src && len))
    return SIPLINE_ERR_INVAL;
  if (len > KEY_MAX)
    len = KEY_MAX;
  const uint8_t *key = src ? src : (const uint8_t *)"";
  uint32_t h = key_hash(key, len, s->hseed);
  int i = kindex_find(&s->bx, h, key, len, NULL);
  bslot *b;
  if (i < 0) {
    b = &s->bs[s->bnext];
    if (b->k.used)
      kindex_remove(&s->bx, s->bnext); /* forget the oldest source */
    memset(b, 0, sizeof(*b));
    b->k.used = 1;
    b->k.h = h;
    b->k.klen = (uint8_t)len;
    if (len)
      memcpy(b->k.key, key, len);
    b->milli = (uint64_t)s->burst * 1000;
    b->last = now;
    kindex_insert(&s->bx, s->bnext);
    s->bnext = (s->bnext + 1) % s->nbs;
  } else {
    b = &s->bs[i];
  }
  refill(&b->milli, &b->last, now, s->rate, s->burst);
  refill(&s->gmilli, &s->glast, now, s->grate, s->gburst);
  if (b->milli < 1000 || s->gmilli < 1000)
    return SIPLINE_ERR_AGAIN;
  b->milli -= 1000;
  s->gmilli -= 1000;
  return 0;
}

/* --- verification ----------------------------------------------------------
 */

static int uri_same(sipline_pl a, sipline_pl b) {
  if (sipline_pl_eq(a, b))
    return 1;
  sipline_uri ua, ub;
  if (sipline_uri_parse(a, &ua) != 0 || sipline_uri_parse(b, &ub) != 0)
    return 0;
  if (ua.scheme_id != ub.scheme_id || (ua.scheme_id != SIPLINE_SCHEME_SIP &&
                                       ua.scheme_id != SIPLINE_SCHEME_SIPS))
    return 0;
  return sipline_pl_eq(ua.user, ub.user) &&
         sipline_pl_caseeq(ua.host, ub.host) && ua.port == ub.port;
}

static int hex8(sipline_pl v, uint32_t *out) {
  if (v.len != 8)
    return -1;
  uint32_t x = 0;
  for (size_t i = 0; i < 8; i++) {
    char c = v.p[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else
      return -1;
    x = x << 4 | d;
  }
  *out = x;
  return 0;
}

enum {
  P_USERNAME,
  P_REALM,
  P_NONCE,
  P_URI,
  P_RESPONSE,
  P_ALGORITHM,
  P_CNONCE,
  P_QOP,
  P_NC,
  P_USERHASH,
  P__N
};
static const char *const pnames[P__N] = {
    "username",  "realm",  "nonce", "uri", "response",
    "algorithm", "cnonce", "qop",   "nc",  "userhash"};

/*
 * The credentials' parameters, each present at most once: a duplicate could
 * make two readers of one header disagree about what was proved.
 */
static int collect(const sipline_auth_hdr *h, sipline_pl v[P__N],
                   unsigned *seen) {
  *seen = 0;
  for (unsigned i = 0; i < h->n && i < SIPLINE_AUTH_MAX_PARAMS; i++) {
    for (unsigned k = 0; k < P__N; k++) {
      if (sipline_pl_casecmp_str(h->p[i].name, pnames[k])) {
        if (*seen & (1u << k))
          return -1;
        *seen |= 1u << k;
        v[k] = h->p[i].value;
      }
    }
  }
  return 0;
}

static int check_nc(rslot *r, uint32_t nc) {
  if (nc > r->max_nc) {
    uint32_t shift = nc - r->max_nc;
    r->window = shift >= WINDOW ? 0 : r->window << shift;
    r->window |= 1;
    r->max_nc = nc;
    return 0;
  }
  uint32_t d = r->max_nc - nc;
  if (d >= WINDOW || (r->window & ((uint64_t)1 << d)))
    return SIPLINE_ERR_REPLAY;
  r->window |= (uint64_t)1 << d;
  return 0;
}

int sipline_auth_server_verify(sipline_auth_server *s, sipline_pl value,
                               const sipline_auth_expect *e,
                               sipline_tstamp now) {
  if (!s || !e || !e->method.len || !e->user.len || !e->realm.p)
    return SIPLINE_ERR_INVAL;
  sipline_auth_hdr h;
  if (!value.p || sipline_auth_hdr_parse(value, &h) != 0 ||
      !sipline_pl_casecmp_str(h.scheme, "Digest"))
    return SIPLINE_ERR_AUTH;
  sipline_pl v[P__N];
  unsigned seen;
  if (collect(&h, v, &seen) != 0)
    return SIPLINE_ERR_AUTH;
  const unsigned need = 1u << P_USERNAME | 1u << P_REALM | 1u << P_NONCE |
                        1u << P_URI | 1u << P_RESPONSE | 1u << P_CNONCE |
                        1u << P_QOP | 1u << P_NC;
  if ((seen & need) != need)
    return SIPLINE_ERR_AUTH;

  sipline_digest_alg alg = sipline_digest_alg_from(
      (seen & 1u << P_ALGORITHM) ? sipline_pl_trim(v[P_ALGORITHM])
                                 : SIPLINE_PL_NULL);
  if (alg == SIPLINE_DIGEST_NONE || !(s->algs & SIPLINE_DIGEST_BIT(alg)))
    return SIPLINE_ERR_AUTH;
  sipline_digest_qop qop;
  sipline_pl q = sipline_pl_trim(v[P_QOP]);
  if (sipline_pl_casecmp_str(q, "auth"))
    qop = SIPLINE_QOP_AUTH;
  else if (sipline_pl_casecmp_str(q, "auth-int"))
    qop = SIPLINE_QOP_AUTH_INT;
  else
    return SIPLINE_ERR_AUTH;
  uint32_t nc;
  if (hex8(sipline_pl_trim(v[P_NC]), &nc) != 0 || nc == 0)
    return SIPLINE_ERR_AUTH;

  /* Whose credentials are these? Another line's (or realm's) fail here. */
  char rb[SIPLINE_AUTH_MAX_VALUE], ub[SIPLINE_AUTH_MAX_VALUE];
  char urib[1024], cb[SIPLINE_AUTH_MAX_VALUE];
  sipline_pl realm, user, uri, cnonce;
  if (sipline__unescape(v[P_REALM], rb, sizeof(rb), &realm) ||
      sipline__unescape(v[P_USERNAME], ub, sizeof(ub), &user) ||
      sipline__unescape(v[P_URI], urib, sizeof(urib), &uri) ||
      sipline__unescape(v[P_CNONCE], cb, sizeof(cb), &cnonce))
    return SIPLINE_ERR_AUTH;
  if (!sipline_pl_eq(realm, e->realm) || !uri.len || !cnonce.len)
    return SIPLINE_ERR_AUTH;
  int err;
  if ((seen & 1u << P_USERHASH) &&
      sipline_pl_casecmp_str(sipline_pl_trim(v[P_USERHASH]), "true")) {
    char uh[SIPLINE_DIGEST_HEX_MAX + 1];
    err = sipline_digest_userhash(alg, e->user, e->realm, uh);
    if (err)
      return err;
    if (!sipline_pl_caseeq(user, sipline_pl_str(uh)))
      return SIPLINE_ERR_AUTH;
  } else if (!sipline_pl_eq(user, e->user)) {
    return SIPLINE_ERR_AUTH;
  }
  if (e->request_uri.len && !uri_same(uri, e->request_uri))
    return SIPLINE_ERR_AUTH;

  /* Is the nonce ours, for this realm? */
  uint8_t raw[RAW_LEN + 3], tag[TAG_LEN];
  sipline_pl nonce = v[P_NONCE];
  if (nonce.len != SIPLINE_AUTH_NONCE_LEN ||
      sipline__b64url_dec(nonce, raw, sizeof(raw)) != RAW_LEN)
    return SIPLINE_ERR_AUTH;
  err = nonce_tag(s, raw, e->realm, tag);
  if (err)
    return err;
  if (CRYPTO_memcmp(tag, raw + TS_LEN + SALT_LEN, TAG_LEN) != 0)
    return SIPLINE_ERR_AUTH;
  sipline_tstamp ts = 0;
  for (int i = 0; i < TS_LEN; i++)
    ts = ts << 8 | raw[i];
  if (ts > now) /* not issued in this timeline */
    return SIPLINE_ERR_AUTH;

  /* Is the digest right? */
  size_t hl = sipline_digest_alg_hexlen(alg);
  sipline_pl resp = sipline_pl_trim(v[P_RESPONSE]);
  if (resp.len != hl)
    return SIPLINE_ERR_AUTH;
  sipline_digest_params p = {
      .alg = alg,
      .qop = qop,
      .username = e->user,
      .realm = e->realm,
      .password = e->password,
      .method = e->method,
      .uri = uri,
      .nonce = nonce,
      .cnonce = cnonce,
      .nc = nc,
      .body = e->body,
  };
  if (!e->password.p) {
    if (sipline__digest_base(e->ha1_alg) != sipline__digest_base(alg))
      return SIPLINE_ERR_AUTH;
    p.ha1 = e->ha1;
  }
  char want[SIPLINE_DIGEST_HEX_MAX + 1], got[SIPLINE_DIGEST_HEX_MAX + 1];
  err = sipline_digest_response(&p, want);
  if (err)
    return err == SIPLINE_ERR_INVAL ? SIPLINE_ERR_AUTH : err;
  for (size_t i = 0; i < hl; i++) {
    char c = resp.p[i];
    got[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  int bad = CRYPTO_memcmp(want, got, hl) != 0;
  OPENSSL_cleanse(want, sizeof(want));
  if (bad)
    return SIPLINE_ERR_AUTH;

  /* Right credentials: now the nonce's age and count. */
  if (now - ts > s->ttl)
    return SIPLINE_ERR_STALE;
  int i = kindex_find(&s->rx, key_hash(raw + TS_LEN + SALT_LEN, 16, 0),
                      raw + TS_LEN + SALT_LEN, 16, NULL);
  if (i < 0)
    return SIPLINE_ERR_STALE; /* evicted or never tracked: fail safe */
  return check_nc(&s->rs[i], nc);
}

int sipline_auth_server_verify_msg(sipline_auth_server *s, const sipline_msg *m,
                                   const sipline_auth_expect *e,
                                   sipline_tstamp now) {
  if (!s || !m || !e)
    return SIPLINE_ERR_INVAL;
  sipline_auth_expect x = *e;
  if (!x.method.len)
    x.method = m->method_name;
  if (!x.request_uri.len)
    x.request_uri = m->ruri_raw;
  if (!x.body.len)
    x.body = m->body;
  int first = 0;
  const sipline_hdr *h;
  for (unsigned n = 0;
       (h = sipline_msg_hdr(m, SIPLINE_HDR_AUTHORIZATION, n)) != NULL; n++) {
    sipline_auth_hdr ah;
    sipline_pl realm, ur;
    char rb[SIPLINE_AUTH_MAX_VALUE];
    if (sipline_auth_hdr_parse(h->value, &ah) != 0 ||
        sipline_auth_hdr_get(&ah, "realm", &realm) != 0 ||
        sipline__unescape(realm, rb, sizeof(rb), &ur) != 0 ||
        !sipline_pl_eq(ur, x.realm))
      continue;
    int r = sipline_auth_server_verify(s, h->value, &x, now);
    if (r == 0)
      return 0;
    if (!first)
      first = r;
  }
  return first ? first : SIPLINE_ERR_AUTH;
}
