/*
 * src/auth/digest.c: the digest computation (RFC 2617 §3.2.2, RFC 7616
 * §3.4) on top of OpenSSL's EVP, plus small text helpers the client and the
 * server share.
 */
#include <stdatomic.h>
#include <string.h>

#include <openssl/evp.h>

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

void sipline__hex(const uint8_t *in, size_t n, char *out) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[in[i] >> 4];
    out[2 * i + 1] = hx[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* One hash of parts joined by ':' into lowercase hex, on a context the
 * caller owns (EVP_DigestInit_ex resets it, so a response's three hashes
 * share one context instead of allocating and freeing three). */
static int hash_hex(EVP_MD_CTX *ctx, sipline_digest_alg alg,
                    const sipline_pl *parts, size_t n, char *hex) {
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
  OPENSSL_cleanse(md_out, sizeof(md_out));
  return 0;
}

int sipline__digest_hex(sipline_digest_alg alg, const sipline_pl *parts,
                        size_t n, char *hex) {
  if (!evp_md(alg))
    return SIPLINE_ERR_INVAL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx)
    return SIPLINE_ERR_CRYPTO;
  int err = hash_hex(ctx, alg, parts, n, hex);
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

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

int sipline_digest_response(const sipline_digest_params *p,
                            char out[SIPLINE_DIGEST_HEX_MAX + 1]) {
  if (!p || !out)
    return SIPLINE_ERR_INVAL;
  size_t hl = sipline_digest_alg_hexlen(p->alg);
  if (!hl || p->qop > SIPLINE_QOP_AUTH_INT)
    return SIPLINE_ERR_INVAL;
  char ha1[SIPLINE_DIGEST_HEX_MAX + 1], ha2[SIPLINE_DIGEST_HEX_MAX + 1];
  char bh[SIPLINE_DIGEST_HEX_MAX + 1];
  int err;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx)
    return SIPLINE_ERR_CRYPTO;
  if (p->password.p) {
    sipline_pl a1[3] = {p->username, p->realm, p->password};
    err = hash_hex(ctx, p->alg, a1, 3, ha1);
    if (err)
      goto out;
  } else {
    err = SIPLINE_ERR_INVAL;
    if (p->ha1.len != hl)
      goto out;
    /* A stored HA1 may be upper-case; the hash input is lowercase hex. */
    for (size_t i = 0; i < hl; i++) {
      char ch = p->ha1.p[i];
      if (!is_hex(ch))
        goto out;
      ha1[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch + 32) : ch;
    }
    ha1[hl] = '\0';
  }
  if (sipline__digest_is_sess(p->alg)) {
    /* RFC 7616 §3.4.2: the session key, HA1 = H(H(A1):nonce:cnonce). */
    sipline_pl s[3] = {{ha1, hl}, p->nonce, p->cnonce};
    err = hash_hex(ctx, p->alg, s, 3, ha1);
    if (err)
      goto out;
  }
  if (p->qop == SIPLINE_QOP_AUTH_INT) {
    err = hash_hex(ctx, p->alg, &p->body, 1, bh);
    if (err)
      goto out;
    sipline_pl a2[3] = {p->method, p->uri, {bh, hl}};
    err = hash_hex(ctx, p->alg, a2, 3, ha2);
  } else {
    sipline_pl a2[2] = {p->method, p->uri};
    err = hash_hex(ctx, p->alg, a2, 2, ha2);
  }
  if (err)
    goto out;
  if (p->qop == SIPLINE_QOP_NONE) {
    sipline_pl r[3] = {{ha1, hl}, p->nonce, {ha2, hl}};
    err = hash_hex(ctx, p->alg, r, 3, out);
  } else {
    char nc[9];
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++)
      nc[i] = hx[(p->nc >> (28 - 4 * i)) & 15];
    nc[8] = '\0';
    sipline_pl qop = p->qop == SIPLINE_QOP_AUTH ? SIPLINE_PL("auth")
                                                : SIPLINE_PL("auth-int");
    sipline_pl r[6] = {{ha1, hl}, p->nonce, {nc, 8}, p->cnonce, qop, {ha2, hl}};
    err = hash_hex(ctx, p->alg, r, 6, out);
  }
out:
  /* HA1 is as good as the password for this realm: do not leave it on the
   * stack. */
  OPENSSL_cleanse(ha1, sizeof(ha1));
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

static void wr_raw(sipline__wr *w, const char *s, size_t n) {
  if (w->err)
    return;
  /* Keep one byte for the final NUL. */
  if (w->cap == 0 || n > w->cap - 1 - w->len) {
    w->err = SIPLINE_ERR_TOOBIG;
    return;
  }
  if (n)
    memcpy(w->p + w->len, s, n);
  w->len += n;
}

void sipline__wr_pl(sipline__wr *w, sipline_pl s) {
  wr_raw(w, s.p, s.len);
}

void sipline__wr_str(sipline__wr *w, const char *s) {
  wr_raw(w, s, strlen(s));
}

void sipline__wr_qesc(sipline__wr *w, sipline_pl s) {
  size_t start = 0;
  for (size_t i = 0; i < s.len; i++) {
    char c = s.p[i];
    if (c == '"' || c == '\\' || c == '\r' || c == '\n' || c == '\0') {
      wr_raw(w, s.p + start, i - start);
      if (c == '"' || c == '\\') {
        char e[2] = {'\\', c};
        wr_raw(w, e, 2);
      } else {
        wr_raw(w, " ", 1);
      }
      start = i + 1;
    }
  }
  wr_raw(w, s.p + start, s.len - start);
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
