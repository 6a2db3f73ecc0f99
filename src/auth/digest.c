/*
 * src/auth/digest.c: the digest computation (RFC 2617 §3.2.2, RFC 7616
 * §3.4) on top of OpenSSL's EVP, plus small text helpers the client and the
 * server share.
 */
#include <stdatomic.h>
#include <string.h>

/* What of a hash's input (and output) is secret, for the wipes after it:
 * nothing (HA2, a body hash), the first part (HA1 heading a response, whose
 * result is public), or everything (HA1 or a -sess key: the password or
 * HA1 goes in, a key comes out). */
enum { SECRET_NONE = 0, SECRET_HEAD = 1, SECRET_ALL = 2 };

/* MD5's own functions (below, hash_md5) are deprecated in OpenSSL 3 in
 * favour of EVP but not removed; a build of OpenSSL without them
 * (OPENSSL_NO_DEPRECATED_3_0) takes the EVP path for MD5 too. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/md5.h>

#include "auth/auth.h"

static const char *const alg_names[SIPLINE_DIGEST__MAX] = {
    [SIPLINE_DIGEST_MD5] = "MD5",
    [SIPLINE_DIGEST_MD5_SESS] = "MD5-sess",
    [SIPLINE_DIGEST_SHA256] = "SHA-256",
    [SIPLINE_DIGEST_SHA256_SESS] = "SHA-256-sess",
    [SIPLINE_DIGEST_SHA512_256] = "SHA-512-256",
    [SIPLINE_DIGEST_SHA512_256_SESS] = "SHA-512-256-sess",
};

const char *sipline_digest_alg_name(sipline_digest_alg a) {
  if ((unsigned)a >= SIPLINE_DIGEST__MAX)
    return NULL;
  return alg_names[a];
}

sipline_pl sipline__digest_alg_pl(sipline_digest_alg a) {
  /* Kept with alg_names: each header writes its algorithm's name. */
  static const uint8_t lens[SIPLINE_DIGEST__MAX] = {
      [SIPLINE_DIGEST_MD5] = 3,         [SIPLINE_DIGEST_MD5_SESS] = 8,
      [SIPLINE_DIGEST_SHA256] = 7,      [SIPLINE_DIGEST_SHA256_SESS] = 12,
      [SIPLINE_DIGEST_SHA512_256] = 11, [SIPLINE_DIGEST_SHA512_256_SESS] = 16,
  };
  if ((unsigned)a >= SIPLINE_DIGEST__MAX || !alg_names[a])
    return SIPLINE_PL_NULL;
  return (sipline_pl){alg_names[a], lens[a]};
}

sipline_digest_alg sipline_digest_alg_from(sipline_pl name) {
  if (name.len == 0)
    return SIPLINE_DIGEST_MD5;
  for (unsigned a = 1; a < SIPLINE_DIGEST__MAX; a++)
    if (sipline_pl_casecmp_str(name, alg_names[a]))
      return (sipline_digest_alg)a;
  return SIPLINE_DIGEST_NONE;
}

sipline_digest_alg sipline__digest_base(sipline_digest_alg a) {
  switch (a) {
  case SIPLINE_DIGEST_MD5:
  case SIPLINE_DIGEST_MD5_SESS:
    return SIPLINE_DIGEST_MD5;
  case SIPLINE_DIGEST_SHA256:
  case SIPLINE_DIGEST_SHA256_SESS:
    return SIPLINE_DIGEST_SHA256;
  case SIPLINE_DIGEST_SHA512_256:
  case SIPLINE_DIGEST_SHA512_256_SESS:
    return SIPLINE_DIGEST_SHA512_256;
  default:
    return SIPLINE_DIGEST_NONE;
  }
}

int sipline__digest_is_sess(sipline_digest_alg a) {
  return a == SIPLINE_DIGEST_MD5_SESS || a == SIPLINE_DIGEST_SHA256_SESS ||
         a == SIPLINE_DIGEST_SHA512_256_SESS;
}

size_t sipline_digest_alg_hexlen(sipline_digest_alg a) {
  switch (sipline__digest_base(a)) {
  case SIPLINE_DIGEST_MD5:
    return 32;
  case SIPLINE_DIGEST_SHA256:
  case SIPLINE_DIGEST_SHA512_256:
    return 64;
  default:
    return 0;
  }
}

/* The EVP digest for an algorithm. SHA-512/256 is the truncated SHA-512 with
 * its own initial values (FIPS 180-4 §5.3.6), not a truncated SHA-512: that
 * mix-up is what RFC 7616 erratum 4897 is about.
 *
 * OpenSSL 3 looks the implementation up again on every EVP_DigestInit_ex
 * given EVP_md5() and friends (an implicit fetch: a third of a pre-
 * authenticated REGISTER's cost), so each is fetched once and kept for the
 * life of the process; the compare-exchange keeps that safe when several
 * threads run UAs (the loser frees its copy). */
static _Atomic(EVP_MD *) md_cache[3];

static const EVP_MD *evp_md(sipline_digest_alg a) {
  size_t i;
  const char *name;
  const EVP_MD *legacy;
  switch (sipline__digest_base(a)) {
  case SIPLINE_DIGEST_MD5:
    i = 0, name = "MD5", legacy = EVP_md5();
    break;
  case SIPLINE_DIGEST_SHA256:
    i = 1, name = "SHA2-256", legacy = EVP_sha256();
    break;
  case SIPLINE_DIGEST_SHA512_256:
    i = 2, name = "SHA2-512/256", legacy = EVP_sha512_256();
    break;
  default:
    return NULL;
  }
  EVP_MD *m = atomic_load_explicit(&md_cache[i], memory_order_acquire);
  if (m)
    return m;
  EVP_MD *f = EVP_MD_fetch(NULL, name, NULL);
  if (!f)
    return legacy; /* slower, same result */
  if (!atomic_compare_exchange_strong(&md_cache[i], &m, f)) {
    EVP_MD_free(f);
    return m;
  }
  return f;
}

/* Both hex digits of each byte value, so that a byte costs one load and
 * one two-byte store (twice per REGISTER's hashes). */
#define HX_D(d) ((char)((d) < 10 ? '0' + (d) : 'a' - 10 + (d)))
#define HX_P(v) {HX_D((v) >> 4), HX_D((v)&15)}
#define HX_P4(v) HX_P(v), HX_P((v) + 1), HX_P((v) + 2), HX_P((v) + 3)
#define HX_P16(v) HX_P4(v), HX_P4((v) + 4), HX_P4((v) + 8), HX_P4((v) + 12)
#define HX_P64(v)                                                              \
  HX_P16(v), HX_P16((v) + 16), HX_P16((v) + 32), HX_P16((v) + 48)
static const char hex_pairs[256][2] = {HX_P64(0), HX_P64(64), HX_P64(128),
                                       HX_P64(192)};

void sipline__hex(const uint8_t *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    memcpy(out + 2 * i, hex_pairs[in[i]], 2);
  out[2 * n] = '\0';
}

/*
 * One hash of parts joined by ':' into lowercase hex, on a context the
 * caller owns (EVP_DigestInit_ex resets it, so a response's hashes share one
 * context instead of allocating and freeing one each). secret (SECRET_*)
 * says whether the input holds the password or HA1 (as good as the password
 * for the realm) and whether the digest is a key: then the digest's copy
 * here is wiped (EVP's context is wiped by EVP_MD_CTX_free).
 */
static int hash_evp(EVP_MD_CTX *ctx, sipline_digest_alg alg,
                    const sipline_pl *parts, size_t n, char *hex,
                    int secret) {
  const EVP_MD *md = evp_md(alg);
  if (!md)
    return SIPLINE_ERR_INVAL;
  int ok = EVP_DigestInit_ex(ctx, md, NULL);
  for (size_t i = 0; ok && i < n; i++) {
    if (i)
      ok = EVP_DigestUpdate(ctx, ":", 1);
    if (ok && parts[i].len)
      ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len);
  }
  unsigned char md_out[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (ok)
    ok = EVP_DigestFinal_ex(ctx, md_out, &md_len);
  if (!ok || md_len * 2 != sipline_digest_alg_hexlen(alg))
    return SIPLINE_ERR_CRYPTO;
  sipline__hex(md_out, md_len, hex);
  if (secret == SECRET_ALL)
    OPENSSL_cleanse(md_out, sizeof(md_out)); /* HA1 or a -sess key */
  return 0;
}

#ifndef OPENSSL_NO_DEPRECATED_3_0
/*
 * MD5, the algorithm nearly every registrar asks for, by whole blocks
 * through MD5_Transform (issue 10 item 5): EVP costs an allocation, a
 * provider dispatch per call and a wipe of the freed context; MD5_Update
 * and MD5_Final copy the input into the context, clear it block by block
 * and wipe it again at the end. Here the input is gathered into one
 * 64-byte block on the stack, the padding (RFC 1321 §3.1-§3.2) is written
 * in place and only that block is wiped when the input is secret. The
 * compression function is OpenSSL's, so the digest is the same function
 * (tests/unit/test_auth_vectors.c checks it against EVP at every length
 * around the block and padding boundaries).
 */
typedef struct md5_run {
  MD5_CTX c;    /* only A..D: MD5_Transform uses nothing else */
  uint64_t len; /* bytes taken so far, whole blocks included */
  size_t n;     /* bytes waiting in blk */
  unsigned char blk[64];
} md5_run;

static void md5_start(md5_run *m) {
  m->c.A = 0x67452301;
  m->c.B = 0xefcdab89;
  m->c.C = 0x98badcfe;
  m->c.D = 0x10325476;
  m->len = 0;
  m->n = 0;
}

static void md5_add(md5_run *m, const void *p, size_t len) {
  const unsigned char *s = p;
  m->len += len;
  if (len < 64 - m->n) {
    if (len)
      memcpy(m->blk + m->n, s, len);
    m->n += len;
    return;
  }
  if (m->n) {
    size_t k = 64 - m->n;
    memcpy(m->blk + m->n, s, k);
    MD5_Transform(&m->c, m->blk);
    s += k;
    len -= k;
  }
  for (; len >= 64; s += 64, len -= 64)
    MD5_Transform(&m->c, s);
  if (len)
    memcpy(m->blk, s, len);
  m->n = len;
}

static void md5_colon(md5_run *m) {
  if (m->n < 63) {
    m->blk[m->n++] = ':';
    m->len++;
  } else {
    md5_add(m, ":", 1);
  }
}

static void md5_hex(const MD5_CTX *c, char *hex);

/* Pads, compresses the last block(s) and writes the digest in hex. */
static void md5_end_hex(md5_run *m, char *hex) {
  uint64_t bits = m->len * 8;
  size_t n = m->n;
  m->blk[n++] = 0x80;
  if (n > 56) {
    memset(m->blk + n, 0, 64 - n);
    MD5_Transform(&m->c, m->blk);
    n = 0;
  }
  memset(m->blk + n, 0, 56 - n);
  for (int i = 0; i < 8; i++)
    m->blk[56 + i] = (unsigned char)(bits >> (8 * i));
  MD5_Transform(&m->c, m->blk);
  md5_hex(&m->c, hex);
}

/* The digest, A..D each little-endian (RFC 1321 §3.5), in hex. */
static void md5_hex(const MD5_CTX *c, char *hex) {
  const MD5_LONG w[4] = {c->A, c->B, c->C, c->D};
  for (int i = 0; i < 4; i++)
    for (int b = 0; b < 4; b++)
      memcpy(hex + 8 * i + 2 * b, hex_pairs[(w[i] >> (8 * b)) & 255], 2);
  hex[32] = '\0';
}

static int hash_md5(const sipline_pl *parts, size_t n, char *hex,
                    int secret) {
  size_t total = n ? n - 1 : 0;
  for (size_t i = 0; i < n; i++)
    total += parts[i].len;
  /* Up to three blocks (every hash of a refresh): the input is joined
   * and padded in place on the stack, then compressed block by block. */
  unsigned char buf[192];
  if (total + 9 <= sizeof buf) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      if (i)
        buf[k++] = ':';
      if (parts[i].len)
        memcpy(buf + k, parts[i].p, parts[i].len);
      k += parts[i].len;
    }
    size_t padded = (total + 9 + 63) & ~(size_t)63;
    buf[k++] = 0x80;
    memset(buf + k, 0, padded - 8 - k);
    uint64_t bits = (uint64_t)total * 8;
    for (int i = 0; i < 8; i++)
      buf[padded - 8 + i] = (unsigned char)(bits >> (8 * i));
    MD5_CTX c;
    c.A = 0x67452301;
    c.B = 0xefcdab89;
    c.C = 0x98badcfe;
    c.D = 0x10325476;
    for (size_t off = 0; off < padded; off += 64)
      MD5_Transform(&c, buf + off);
    md5_hex(&c, hex);
    if (secret == SECRET_ALL) {
      /* The password or HA1 went in, HA1 or a -sess key came out. */
      OPENSSL_cleanse(buf, padded);
      OPENSSL_cleanse(&c, sizeof c);
    } else if (secret == SECRET_HEAD) {
      /* HA1 heads a response's input; the rest of it (nonce, nc, cnonce,
       * qop, HA2) and the response itself are public. */
      OPENSSL_cleanse(buf, parts[0].len);
    }
    return 0;
  }
  md5_run m;
  md5_start(&m);
  for (size_t i = 0; i < n; i++) {
    if (i)
      md5_colon(&m);
    md5_add(&m, parts[i].p, parts[i].len);
  }
  /* blk ends up holding exactly the last block: the input from the last
   * multiple of 64 on (none when the padding took a block of its own) and
   * padding. Input before that was overwritten there, and whole blocks
   * compressed from the caller's memory were never copied. */
  size_t last = (size_t)m.len & ~(size_t)63;
  md5_end_hex(&m, hex);
  if (secret == SECRET_ALL) {
    OPENSSL_cleanse(m.blk, sizeof m.blk);
    OPENSSL_cleanse(&m.c, sizeof m.c);
  } else if (secret == SECRET_HEAD && parts[0].len > last) {
    /* HA1 heads the input: wiped if some of it is still in the last
     * block (an input shorter than a block plus the HA1). */
    OPENSSL_cleanse(m.blk, sizeof m.blk);
  }
  return 0;
}
#endif

/* The hashes of one computation: the EVP context is made only when a
 * non-MD5 hash needs it (*ctx NULL until then; the caller frees it). */
static int hash_hex(EVP_MD_CTX **ctx, sipline_digest_alg alg,
                    const sipline_pl *parts, size_t n, char *hex,
                    int secret) {
#ifndef OPENSSL_NO_DEPRECATED_3_0
  if (sipline__digest_base(alg) == SIPLINE_DIGEST_MD5)
    return hash_md5(parts, n, hex, secret);
#endif
  if (!evp_md(alg))
    return SIPLINE_ERR_INVAL;
  if (!*ctx && !(*ctx = EVP_MD_CTX_new()))
    return SIPLINE_ERR_CRYPTO;
  return hash_evp(*ctx, alg, parts, n, hex, secret);
}

int sipline__digest_hex(sipline_digest_alg alg, const sipline_pl *parts,
                        size_t n, char *hex) {
  if (!evp_md(alg))
    return SIPLINE_ERR_INVAL;
  EVP_MD_CTX *ctx = NULL;
  /* Callers hash the password (HA1) through here: treated as secret. */
  int err = hash_hex(&ctx, alg, parts, n, hex, SECRET_ALL);
  EVP_MD_CTX_free(ctx);
  return err;
}

int sipline_digest_ha1(sipline_digest_alg alg, sipline_pl username,
                       sipline_pl realm, sipline_pl password,
                       char out[SIPLINE_DIGEST_HEX_MAX + 1]) {
  sipline_pl parts[3] = {username, realm, password};
  return sipline__digest_hex(alg, parts, 3, out);
}

int sipline_digest_userhash(sipline_digest_alg alg, sipline_pl username,
                            sipline_pl realm,
                            char out[SIPLINE_DIGEST_HEX_MAX + 1]) {
  sipline_pl parts[2] = {username, realm};
  return sipline__digest_hex(alg, parts, 2, out);
}

/* The nonce count as 8 lowercase hex digits. */
static void nc_hex(uint32_t nc, char out[8]) {
  static const char hx[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++)
    out[i] = hx[(nc >> (28 - 4 * i)) & 15];
}

/*
 * The response once HA1 is known: h1 is lowercase hex of hl characters
 * (the session key of -sess is derived here, into sess). k (may be NULL)
 * supplies or takes a kept HA2 and the MD5 state after the whole blocks of
 * "HA1:nonce:"; see sipline__digest_keep.
 */
static int response_from_ha1(EVP_MD_CTX **ctx, const sipline_digest_params *p,
                             sipline_pl h1, size_t hl,
                             const sipline__digest_keep *k, char *sess,
                             char *out) {
  char ha2[SIPLINE_DIGEST_HEX_MAX + 1], bh[SIPLINE_DIGEST_HEX_MAX + 1];
  int err;
  int is_sess = sipline__digest_is_sess(p->alg);
  if (is_sess) {
    /* RFC 7616 §3.4.2: the session key, HA1 = H(H(A1):nonce:cnonce). */
    sipline_pl s[3] = {h1, p->nonce, p->cnonce};
    err = hash_hex(ctx, p->alg, s, 3, sess, SECRET_ALL);
    if (err)
      return err;
    h1.p = sess;
  }
  /* HA2 = H(method:uri) is the same on every request of a line with the
   * same method and Request-URI: a caller may keep it (not for auth-int,
   * whose HA2 hashes the body too). */
  const char *a2 = NULL;
  if (p->qop == SIPLINE_QOP_AUTH_INT) {
    err = hash_hex(ctx, p->alg, &p->body, 1, bh, SECRET_NONE);
    if (err)
      return err;
    sipline_pl a2p[3] = {p->method, p->uri, {bh, hl}};
    err = hash_hex(ctx, p->alg, a2p, 3, ha2, SECRET_NONE);
    a2 = ha2;
  } else if (k && k->ha2) {
    a2 = k->ha2;
    err = 0;
  } else {
    char *dst = k && k->ha2_out ? k->ha2_out : ha2;
    sipline_pl a2p[2] = {p->method, p->uri};
    err = hash_hex(ctx, p->alg, a2p, 2, dst, SECRET_NONE);
    a2 = dst;
  }
  if (err)
    return err;
  char nc[8];
  sipline_pl qop = SIPLINE_PL_NULL;
  if (p->qop != SIPLINE_QOP_NONE) {
    nc_hex(p->nc, nc);
    qop = p->qop == SIPLINE_QOP_AUTH ? SIPLINE_PL("auth")
                                     : SIPLINE_PL("auth-int");
  }
#ifndef OPENSSL_NO_DEPRECATED_3_0
  /* Kamailio, Asterisk and FreeSWITCH nonces are 32 to 44 characters, so
   * "HA1:nonce:" fills a whole MD5 block that does not change while the
   * nonce does not: a caller may keep the state after it and hash only
   * the rest (a third of the blocks of a response). The state is derived
   * from HA1 and is as secret as the HA1 for this nonce. */
  size_t pre = hl + 1 + p->nonce.len + 1;
  if (k && k->mid && !is_sess && hl == 32 && pre >= 64) {
    md5_run m;
    size_t whole = pre & ~(size_t)63;
    if (!*k->mid_ok) {
      md5_start(&m);
      md5_add(&m, h1.p, hl);
      md5_colon(&m);
      md5_add(&m, p->nonce.p, p->nonce.len);
      md5_colon(&m);
      /* A..D now stand for the first `whole` bytes. blk held HA1 before
       * the first block was compressed and is only partly overwritten. */
      memcpy(k->mid, &m.c.A, 4);
      memcpy(k->mid + 4, &m.c.B, 4);
      memcpy(k->mid + 8, &m.c.C, 4);
      memcpy(k->mid + 12, &m.c.D, 4);
      *k->mid_ok = 1;
      OPENSSL_cleanse(m.blk, sizeof m.blk);
    } else {
      memcpy(&m.c.A, k->mid, 4);
      memcpy(&m.c.B, k->mid + 4, 4);
      memcpy(&m.c.C, k->mid + 8, 4);
      memcpy(&m.c.D, k->mid + 12, 4);
    }
    /* From here m.c is overwritten block by block and ends as the public
     * response; blk gets only public bytes. */
    m.len = whole;
    m.n = 0;
    /* The rest of the prefix, if any, is the nonce's tail and the ':'
     * (HA1 is 32 bytes and whole is 64 or more): public, like everything
     * after it. */
    size_t rest = pre - whole;
    if (rest) {
      md5_add(&m, p->nonce.p + p->nonce.len - (rest - 1), rest - 1);
      md5_colon(&m);
    }
    if (p->qop != SIPLINE_QOP_NONE) {
      md5_add(&m, nc, 8);
      md5_colon(&m);
      md5_add(&m, p->cnonce.p, p->cnonce.len);
      md5_colon(&m);
      md5_add(&m, qop.p, qop.len);
      md5_colon(&m);
    }
    md5_add(&m, a2, hl);
    md5_end_hex(&m, out);
    return 0;
  }
#endif
  if (p->qop == SIPLINE_QOP_NONE) {
    sipline_pl r[3] = {h1, p->nonce, {a2, hl}};
    return hash_hex(ctx, p->alg, r, 3, out, SECRET_HEAD);
  }
  sipline_pl r[6] = {h1, p->nonce, {nc, 8}, p->cnonce, qop, {a2, hl}};
  return hash_hex(ctx, p->alg, r, 6, out, SECRET_HEAD);
}

int sipline_digest_response(const sipline_digest_params *p,
                            char out[SIPLINE_DIGEST_HEX_MAX + 1]) {
  if (!p || !out)
    return SIPLINE_ERR_INVAL;
  size_t hl = sipline_digest_alg_hexlen(p->alg);
  if (!hl || p->qop > SIPLINE_QOP_AUTH_INT)
    return SIPLINE_ERR_INVAL;
  char ha1[SIPLINE_DIGEST_HEX_MAX + 1], sess[SIPLINE_DIGEST_HEX_MAX + 1];
  /* HA1 as hashed: a view of p->ha1 when that is lowercase already (the
   * client's kept HA1), else the copy in ha1[]. */
  sipline_pl h1 = {ha1, hl};
  int err;
  EVP_MD_CTX *ctx = NULL;
  if (p->password.p) {
    sipline_pl a1[3] = {p->username, p->realm, p->password};
    err = hash_hex(&ctx, p->alg, a1, 3, ha1, SECRET_ALL);
    if (err)
      goto out;
  } else {
    err = SIPLINE_ERR_INVAL;
    if (p->ha1.len != hl)
      goto out;
    /* A stored HA1 may be upper-case; the hash input is lowercase hex. */
    /* One table look-up per digit: 1 lowercase hex, 2 uppercase, 0 not
     * hex. */
    static const unsigned char kind[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
        ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1,
        ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['A'] = 2, ['B'] = 2,
        ['C'] = 2, ['D'] = 2, ['E'] = 2, ['F'] = 2};
    unsigned all = 3, any = 0;
    for (size_t i = 0; i < hl; i++) {
      unsigned k = kind[(unsigned char)p->ha1.p[i]];
      all &= k ? 3u : 0u;
      any |= k;
    }
    if (!all)
      goto out;
    int upper = (any & 2) != 0;
    if (upper) {
      for (size_t i = 0; i < hl; i++) {
        char ch = p->ha1.p[i];
        ha1[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch + 32) : ch;
      }
      ha1[hl] = '\0';
    } else {
      h1.p = p->ha1.p;
    }
  }
  err = response_from_ha1(&ctx, p, h1, hl, NULL, sess, out);
out:
  /* HA1 and the -sess key are as good as the password for this realm (and
   * nonce): do not leave them on the stack. */
  if (h1.p == ha1)
    OPENSSL_cleanse(ha1, hl + 1);
  if (sipline__digest_is_sess(p->alg))
    OPENSSL_cleanse(sess, sizeof sess);
  EVP_MD_CTX_free(ctx);
  return err;
}

int sipline__digest_response_kept(const sipline_digest_params *p,
                                  const sipline__digest_keep *k,
                                  char out[SIPLINE_DIGEST_HEX_MAX + 1]) {
  size_t hl = sipline_digest_alg_hexlen(p->alg);
  if (!hl || p->qop > SIPLINE_QOP_AUTH_INT || p->ha1.len != hl)
    return SIPLINE_ERR_INVAL;
  char sess[SIPLINE_DIGEST_HEX_MAX + 1];
  EVP_MD_CTX *ctx = NULL;
  int err = response_from_ha1(&ctx, p, p->ha1, hl, k, sess, out);
  if (sipline__digest_is_sess(p->alg))
    OPENSSL_cleanse(sess, sizeof sess);
  EVP_MD_CTX_free(ctx);
  return err;
}

const char *sipline_auth_credentials_hdr(sipline_auth_kind k) {
  return k == SIPLINE_AUTH_PROXY ? "Proxy-Authorization" : "Authorization";
}

const char *sipline_auth_challenge_hdr(sipline_auth_kind k) {
  return k == SIPLINE_AUTH_PROXY ? "Proxy-Authenticate" : "WWW-Authenticate";
}

/* --- the bounded writer ------------------------------------------------ */

void sipline__wr_init(sipline__wr *w, char *p, size_t cap) {
  w->p = p;
  w->cap = p ? cap : 0;
  w->len = 0;
  w->err = 0;
}

void sipline__wr_str(sipline__wr *w, const char *s) {
  sipline__wr_raw(w, s, strlen(s));
}

/* The bytes sipline__wr_qesc does not copy as they are. */
static const unsigned char qesc_special[256] = {
    ['"'] = 1, ['\\'] = 1, ['\r'] = 1, ['\n'] = 1, [0] = 1};

int sipline__qesc_needed(sipline_pl s) {
  for (size_t i = 0; i < s.len; i++)
    if (qesc_special[(unsigned char)s.p[i]])
      return 1;
  return 0;
}

void sipline__wr_qesc(sipline__wr *w, sipline_pl s) {
  size_t start = 0;
  for (size_t i = 0; i < s.len; i++) {
    char c = s.p[i];
    if (!qesc_special[(unsigned char)c])
      continue;
    sipline__wr_raw(w, s.p + start, i - start);
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', c};
      sipline__wr_raw(w, e, 2);
    } else {
      sipline__wr_raw(w, " ", 1);
    }
    start = i + 1;
  }
  sipline__wr_raw(w, s.p + start, s.len - start);
}

ptrdiff_t sipline__wr_end(sipline__wr *w) {
  if (w->err)
    return w->err;
  w->p[w->len] = '\0';
  return (ptrdiff_t)w->len;
}

int sipline__unescape(sipline_pl in, char *buf, size_t cap, sipline_pl *out) {
  if (!memchr(in.p ? in.p : "", '\\', in.len)) {
    *out = in;
    return 0;
  }
  size_t n = 0;
  for (size_t i = 0; i < in.len; i++) {
    char c = in.p[i];
    if (c == '\\' && i + 1 < in.len)
      c = in.p[++i];
    if (n >= cap)
      return SIPLINE_ERR_TOOBIG;
    buf[n++] = c;
  }
  out->p = buf;
  out->len = n;
  return 0;
}

/* --- base64url --------------------------------------------------------- */

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t sipline__b64url_enc(const uint8_t *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64u[v >> 18];
    out[o++] = b64u[(v >> 12) & 63];
    out[o++] = b64u[(v >> 6) & 63];
    out[o++] = b64u[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = b64u[v >> 18];
    out[o++] = b64u[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = b64u[v >> 18];
    out[o++] = b64u[(v >> 12) & 63];
    out[o++] = b64u[(v >> 6) & 63];
  }
  out[o] = '\0';
  return o;
}

static int b64u_val(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

ptrdiff_t sipline__b64url_dec(sipline_pl in, uint8_t *out, size_t cap) {
  if (in.len % 4 == 1)
    return SIPLINE_ERR_MALFORMED;
  size_t need = in.len / 4 * 3 + (in.len % 4 ? in.len % 4 - 1 : 0);
  if (need > cap)
    return SIPLINE_ERR_MALFORMED;
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < in.len; i++) {
    int v = b64u_val(in.p[i]);
    if (v < 0)
      return SIPLINE_ERR_MALFORMED;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  /* Non-canonical trailing bits would let two spellings name one nonce. */
  if (acc != 0)
    return SIPLINE_ERR_MALFORMED;
  return (ptrdiff_t)o;
}
