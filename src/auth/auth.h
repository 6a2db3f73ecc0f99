/*
 * src/auth/auth.h: internals of the digest layer shared by the client and
 * the server: hashing through OpenSSL's EVP, a bounded text writer,
 * quoted-string escaping and base64url.
 */
#ifndef SIPLINE_AUTH_INTERNAL_H
#define SIPLINE_AUTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sipline/auth.h"
#include "util/util.h"

/* The hash behind an algorithm, ignoring -sess: MD5, SHA256 or SHA512_256. */
sipline_digest_alg sipline__digest_base(sipline_digest_alg a);
/* The algorithm's name (sipline_digest_alg_name) with its length. */
sipline_pl sipline__digest_alg_pl(sipline_digest_alg a);
/* 1 for the -sess variants. */
int sipline__digest_is_sess(sipline_digest_alg a);

/*
 * Hashes parts[0..n) joined by ':' with alg's hash and writes lowercase hex
 * (NUL-terminated). Returns 0, SIPLINE_ERR_INVAL or SIPLINE_ERR_CRYPTO.
 */
int sipline__digest_hex(sipline_digest_alg alg, const sipline_pl *parts,
                        size_t n, char *hex);

/*
 * What a client keeps between requests to the same realm so that a
 * pre-authenticated request hashes less; every pointer may be NULL.
 *  - ha2: H(method:uri) in hex for this request's method, Request-URI and
 *    hash, kept from an earlier request; used unless the qop is auth-int.
 *  - ha2_out: when ha2 is NULL and the qop is not auth-int, where the HA2
 *    hashed now is written (hexlen + 1 bytes), to be kept.
 *  - mid, mid_ok: MD5 (not -sess) with "HA1:nonce:" of 64 bytes or more:
 *    16 bytes for the MD5 state after its whole blocks, and 1 when they
 *    hold it for this HA1 and nonce (else they are filled and *mid_ok set).
 *    As secret as HA1 for this nonce: wipe it with HA1.
 */
typedef struct sipline__digest_keep {
  const char *ha2;
  char *ha2_out;
  unsigned char *mid;
  uint8_t *mid_ok;
} sipline__digest_keep;

/* sipline_digest_response() for a caller whose p->ha1 is lowercase hex it
 * computed itself (p->password is ignored), with what it kept in k. */
int sipline__digest_response_kept(const sipline_digest_params *p,
                                  const sipline__digest_keep *k,
                                  char out[SIPLINE_DIGEST_HEX_MAX + 1]);

/* Writes n bytes as lowercase hex (2n chars, NUL-terminated). */
void sipline__hex(const uint8_t *in, size_t n, char *out);

/*
 * A bounded writer into a caller's char buffer: appends never overflow; the
 * first one that does not fit sets err (SIPLINE_ERR_TOOBIG) and later ones
 * do nothing, so a formatter checks err once.
 */
typedef struct sipline__wr {
  char *p;
  size_t cap;
  size_t len;
  int err;
} sipline__wr;

void sipline__wr_init(sipline__wr *w, char *p, size_t cap);
/* Inline: a credentials header is some thirty short appends, most of them
 * literals of a constant length (SIPLINE__WR_LIT). */
static inline void sipline__wr_raw(sipline__wr *w, const char *s, size_t n) {
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
static inline void sipline__wr_pl(sipline__wr *w, sipline_pl s) {
  sipline__wr_raw(w, s.p, s.len);
}
#define SIPLINE__WR_LIT(w, lit) sipline__wr_raw((w), (lit), sizeof(lit) - 1)
void sipline__wr_str(sipline__wr *w, const char *s);
/* Appends s as a quoted-string body (without the quotes): '"' and '\'
 * escaped, CR/LF/NUL replaced by a space so no header can be injected. */
void sipline__wr_qesc(sipline__wr *w, sipline_pl s);
/* 1 when sipline__wr_qesc would write s otherwise than as it is. */
int sipline__qesc_needed(sipline_pl s);
/* NUL-terminates; returns the length or err. */
ptrdiff_t sipline__wr_end(sipline__wr *w);

/*
 * Removes quoted-pair escapes (RFC 3261 §25.1) from a parameter value that
 * sipline_auth_hdr_parse() returned with its escapes kept. When in holds no
 * '\', *out is in itself (no copy); otherwise the unescaped bytes go to
 * buf (cap bytes). Returns 0 or SIPLINE_ERR_TOOBIG.
 */
int sipline__unescape(sipline_pl in, char *buf, size_t cap, sipline_pl *out);

/* base64url without padding (RFC 4648 §5). enc writes 4*ceil(n/3)-pad
 * chars plus a NUL; dec returns the byte count or SIPLINE_ERR_MALFORMED. */
size_t sipline__b64url_enc(const uint8_t *in, size_t n, char *out);
ptrdiff_t sipline__b64url_dec(sipline_pl in, uint8_t *out, size_t cap);

/*
 * Appends every credentials header line of the client to b ("Authorization:
 * ...\r\n"). Returns 0 or an error as sipline_auth_client_header().
 */
/* The room sipline__auth_client_append reserves for a Request-URI of
 * uri_len bytes (a caller may reserve it beforehand). */
size_t sipline__auth_client_need(const sipline_auth_client *c, size_t uri_len);
int sipline__auth_client_append(sipline_auth_client *c,
                                const sipline_auth_req *req, sipline__buf *b);

#endif
