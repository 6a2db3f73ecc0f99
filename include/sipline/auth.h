/*
 * sipline/auth.h: HTTP Digest authentication for SIP (RFC 2617, RFC 7616,
 * RFC 8760, RFC 3261 §22), client side and server side.
 *
 * Hashes (MD5, SHA-256, SHA-512/256) and the nonce HMAC (HMAC-SHA256) come
 * from OpenSSL's libcrypto; nothing cryptographic is hand-written here. Like
 * the rest of the core, this layer never reads a clock or a random source:
 * time is a sipline_tstamp parameter and randomness (cnonces, nonce salts)
 * comes from a sipline_rng the caller lends for the duration of one call.
 *
 * Secrets: a password is only ever fed to the hash; no function here formats
 * a password, an HA1 or the server secret into any output, and no function
 * logs.
 *
 * Threading: objects are not thread-safe; use one per thread or lock.
 */
#ifndef SIPLINE_AUTH_H
#define SIPLINE_AUTH_H

#include "sipline/base.h"
#include "sipline/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Algorithms and the digest computation itself                              */
/* ------------------------------------------------------------------------ */

/*
 * Digest algorithms (RFC 7616 §6.1, RFC 8760). The numeric order is the
 * strength order the client uses when several challenges are offered.
 */
typedef enum sipline_digest_alg {
  SIPLINE_DIGEST_NONE = 0, /* unknown or unsupported */
  SIPLINE_DIGEST_MD5,
  SIPLINE_DIGEST_MD5_SESS,
  SIPLINE_DIGEST_SHA256,
  SIPLINE_DIGEST_SHA256_SESS,
  SIPLINE_DIGEST_SHA512_256,
  SIPLINE_DIGEST_SHA512_256_SESS,
  SIPLINE_DIGEST__MAX
} sipline_digest_alg;

/* A bit for an algorithm in the "algs" masks below. */
#define SIPLINE_DIGEST_BIT(a) (1u << (unsigned)(a))

/* Longest hex digest (SHA-256 and SHA-512/256: 64; MD5: 32). */
#define SIPLINE_DIGEST_HEX_MAX 64

/* The token ("SHA-256-sess"), or NULL for NONE or out of range. */
const char *sipline_digest_alg_name(sipline_digest_alg a);
/*
 * Maps an algorithm token, ignoring case. An empty view gives MD5 (the
 * RFC 2617 default when the parameter is absent); an unknown token NONE.
 */
sipline_digest_alg sipline_digest_alg_from(sipline_pl name);
/* Hex length of the algorithm's hash (32 or 64); 0 for NONE. */
size_t sipline_digest_alg_hexlen(sipline_digest_alg a);

typedef enum sipline_digest_qop {
  SIPLINE_QOP_NONE = 0, /* RFC 2069 compatibility: no qop, nc, cnonce */
  SIPLINE_QOP_AUTH,
  SIPLINE_QOP_AUTH_INT, /* the body is hashed into A2 */
} sipline_digest_qop;

/*
 * Everything the response computation needs (RFC 7616 §3.4.1-§3.4.3). All
 * views are borrowed for the call and hold the unquoted, unescaped values.
 *
 * Exactly one of password and ha1 is used: when password.p is not NULL it
 * is the password; otherwise ha1 is H(username:realm:password) in hex for
 * the algorithm's hash (an MD5 HA1 cannot serve a SHA-256 request). For the
 * -sess algorithms the session key H(HA1:nonce:cnonce) is derived here.
 * username is the real user name even when userhash is in use (A1 never
 * uses the hashed form).
 */
typedef struct sipline_digest_params {
  sipline_digest_alg alg;
  sipline_digest_qop qop;
  sipline_pl username;
  sipline_pl realm;
  sipline_pl password;
  sipline_pl ha1;
  sipline_pl method; /* "REGISTER" */
  sipline_pl uri;    /* the digest-uri, as sent */
  sipline_pl nonce;
  sipline_pl cnonce; /* ignored for QOP_NONE unless the alg is -sess */
  uint32_t nc;       /* nonce count, ignored for QOP_NONE */
  sipline_pl body;   /* the message body, for QOP_AUTH_INT only */
} sipline_digest_params;

/*
 * Computes the request-digest ("response") as lowercase hex into out (NUL
 * terminated, sipline_digest_alg_hexlen() characters). Returns 0,
 * SIPLINE_ERR_INVAL (alg NONE, no password and a ha1 of the wrong length or
 * not hex) or SIPLINE_ERR_CRYPTO.
 */
int sipline_digest_response(const sipline_digest_params *p,
                            char out[SIPLINE_DIGEST_HEX_MAX + 1]);

/*
 * HA1 = H(username:realm:password) for alg's hash (the -sess flag is
 * ignored), in lowercase hex, e.g. for a server that stores HA1 instead of
 * passwords. Returns 0, SIPLINE_ERR_INVAL or SIPLINE_ERR_CRYPTO.
 */
int sipline_digest_ha1(sipline_digest_alg alg, sipline_pl username,
                       sipline_pl realm, sipline_pl password,
                       char out[SIPLINE_DIGEST_HEX_MAX + 1]);

/* userhash = H(username:realm) (RFC 7616 §3.4.4). Same returns. */
int sipline_digest_userhash(sipline_digest_alg alg, sipline_pl username,
                            sipline_pl realm,
                            char out[SIPLINE_DIGEST_HEX_MAX + 1]);

/* Which header carries a challenge or the matching credentials. */
typedef enum sipline_auth_kind {
  SIPLINE_AUTH_WWW = 0,   /* 401: WWW-Authenticate / Authorization */
  SIPLINE_AUTH_PROXY = 1, /* 407: Proxy-Authenticate / Proxy-Authorization */
} sipline_auth_kind;

/* "Authorization" or "Proxy-Authorization". */
const char *sipline_auth_credentials_hdr(sipline_auth_kind k);
/* "WWW-Authenticate" or "Proxy-Authenticate". */
const char *sipline_auth_challenge_hdr(sipline_auth_kind k);

/* ------------------------------------------------------------------------ */
/* Client: answering 401/407 challenges                                      */
/* ------------------------------------------------------------------------ */

/*
 * A credential cache, one per line (SIP account). It holds the password and,
 * per (kind, realm), the last challenge answered: nonce, opaque, algorithm,
 * qop, userhash and the nonce count, and what it hashed from them: HA1,
 * the HA2 of the last method and Request-URI, and for MD5 with a long nonce
 * the hash state after "HA1:nonce:" (HA1 and that state are wiped when
 * dropped). A REGISTER refresh (or any later request to the same server)
 * can pre-authenticate from the cache with the next nc, so a server that
 * accepts it answers without a new 401.
 *
 * Flow: send a request; on 401/407 call sipline_auth_client_challenge()
 * (or _on_response()); if it returns 0, resend the request with the headers
 * from sipline_auth_client_header() (or _headers()); on a later request,
 * call the same header functions again to pre-authenticate.
 */
typedef struct sipline_auth_client sipline_auth_client;

enum {
  /* When a challenge offers qop="auth,auth-int", use auth-int (the default
   * is auth: it needs no body hash and every server accepts it). */
  SIPLINE_AUTH_PREFER_AUTH_INT = 1u << 0,
  /* Refuse to answer challenges with MD5 / MD5-sess. */
  SIPLINE_AUTH_NO_MD5 = 1u << 1,
  /* Refuse challenges without qop (RFC 2069 mode, no replay protection). */
  SIPLINE_AUTH_NO_RFC2069 = 1u << 2,
};

/* Longest realm, nonce or opaque the client stores; longer challenges are
 * refused with SIPLINE_ERR_TOOBIG. */
#define SIPLINE_AUTH_MAX_VALUE 512
/* Realms cached per client (per kind and realm; oldest dropped first). */
#define SIPLINE_AUTH_CLIENT_MAX_REALMS 4

typedef struct sipline_auth_client_cfg {
  const char *username; /* Auth ID (or User ID); copied; required */
  const char *password; /* copied; required; wiped on _del */
  unsigned flags;       /* SIPLINE_AUTH_*; default 0 */
} sipline_auth_client_cfg;

/*
 * Creates a client. The strings in cfg are copied; mem (NULL for the C
 * library's allocator) must outlive the client. Returns 0,
 * SIPLINE_ERR_INVAL (missing username or password) or SIPLINE_ERR_NOMEM.
 */
int sipline_auth_client_new(sipline_auth_client **pc,
                            const sipline_auth_client_cfg *cfg,
                            const sipline_mem *mem);
/* Wipes the password and frees the client; NULL is fine. */
void sipline_auth_client_del(sipline_auth_client *c);

/*
 * Takes the challenge header values of one 401 (kind WWW) or 407 (kind
 * PROXY) response: values[0..n) are the WWW-Authenticate or
 * Proxy-Authenticate values, one challenge each (views borrowed for the
 * call). Per realm, the strongest supported algorithm wins
 * (SHA-512-256 > SHA-256 > MD5, a -sess variant ranking with its hash; on a
 * tie the first offered), as RFC 8760 §2.4 allows as local policy; other
 * schemes (Basic, ...) and unknown algorithms are skipped.
 *
 * A realm seen for the first time, or with stale=true, or whose cached
 * nonce had already been reused (pre-authentication), is (re)cached with the
 * new nonce and nc reset to 0. A new challenge for a realm whose freshly
 * obtained nonce was answered once, without stale=true, means the server
 * refused our credentials (RFC 3261 §22.2): that realm is forgotten and
 * SIPLINE_ERR_AUTH returned, so a UA never loops on a wrong password.
 *
 * Returns 0 (credentials ready: resend the request), SIPLINE_ERR_AUTH
 * (credentials refused; do not resend), SIPLINE_ERR_UNSUPPORTED (no
 * challenge we can answer), SIPLINE_ERR_MALFORMED (no value parses),
 * SIPLINE_ERR_TOOBIG (a realm/nonce/opaque longer than
 * SIPLINE_AUTH_MAX_VALUE) or SIPLINE_ERR_NOMEM (the cache is unchanged).
 */
int sipline_auth_client_challenge(sipline_auth_client *c,
                                  sipline_auth_kind kind,
                                  const sipline_pl *values, size_t n);

/*
 * The same for a parsed 401 or 407 response: takes every WWW-Authenticate
 * and every Proxy-Authenticate header of m. Returns as above, plus
 * SIPLINE_ERR_NOTFOUND when m has no challenge header.
 */
int sipline_auth_client_on_response(sipline_auth_client *c,
                                    const sipline_msg *m);

/* Forgets every cached challenge (e.g. after the line's server changed). */
void sipline_auth_client_reset(sipline_auth_client *c);

/* How many credentials headers a request gets now (cached realms). */
size_t sipline_auth_client_count(const sipline_auth_client *c);
/* The kind of the i-th cached realm (which header name to use). */
sipline_auth_kind sipline_auth_client_kind(const sipline_auth_client *c,
                                           size_t i);

/* The request being authorised; views borrowed for the call. */
typedef struct sipline_auth_req {
  sipline_pl method; /* "REGISTER" */
  sipline_pl uri;    /* the Request-URI, used as digest-uri */
  sipline_pl body;   /* the body (for auth-int; may be empty) */
  sipline_rng *rng;  /* source of the cnonce; required when qop is used */
} sipline_auth_req;

/*
 * Writes the value of the i-th credentials header (without the header name,
 * NUL-terminated) into out, cap bytes, and counts one use of that nonce:
 * nc goes 1, 2, 3, ... and a fresh cnonce is drawn every call. Example:
 *   Digest username="alice", realm="example.com", nonce="...",
 *   uri="sip:example.com", response="...", algorithm=SHA-256,
 *   cnonce="...", qop=auth, nc=00000001
 * plus opaque="..." echoed when the challenge had one and userhash=true
 * (username then holds H(username:realm)) when the challenge asked for it.
 * Returns the length written, SIPLINE_ERR_NOTFOUND (i out of range),
 * SIPLINE_ERR_INVAL (missing rng or method/uri), SIPLINE_ERR_TOOBIG (cap
 * too small; nc is not consumed then) or SIPLINE_ERR_CRYPTO.
 */
ptrdiff_t sipline_auth_client_header(sipline_auth_client *c, size_t i,
                                     const sipline_auth_req *req, char *out,
                                     size_t cap);

/*
 * Writes every credentials header as full lines ("Authorization: ...\r\n",
 * "Proxy-Authorization: ...\r\n"), ready to paste into a request. Returns
 * the total length (0 when nothing is cached) or an error as above.
 */
ptrdiff_t sipline_auth_client_headers(sipline_auth_client *c,
                                      const sipline_auth_req *req, char *out,
                                      size_t cap);

/* ------------------------------------------------------------------------ */
/* Server: challenging and verifying incoming requests (SPEC R17-R18)        */
/* ------------------------------------------------------------------------ */

/*
 * A stateless-nonce digest server with bounded replay tracking.
 *
 * Nonce: base64url(ts || salt || HMAC-SHA256(secret, ts || salt || realm))
 * where ts is the issue time (8 bytes, big-endian milliseconds) and salt 8
 * bytes from the caller's rng. Origin, realm and age are checked from the
 * nonce alone; the replay table only adds nonce-count tracking.
 *
 * Replay table: a fixed number of slots (cfg.replay_slots), one per issued
 * nonce, each with the highest nc seen and a 64-bit window bitmap of the nc
 * values below it; nc values may arrive out of order within the window. When
 * full, the oldest nonce is evicted. A nonce that authenticates but is not in
 * the table (evicted, or issued before a restart) fails safe as
 * SIPLINE_ERR_STALE: the client gets a new nonce; a replay is never
 * accepted. Memory is allocated once, in _new.
 *
 * Rate limiter: token buckets keyed by source address bytes in a bounded
 * table (the oldest entry evicted first), plus one global bucket, so a
 * spoofed flood cannot turn the phone into a 401 amplifier.
 */
typedef struct sipline_auth_server sipline_auth_server;

/* Nonce length in characters: base64url of 8 + 8 + 32 bytes. */
#define SIPLINE_AUTH_NONCE_LEN 64

typedef struct sipline_auth_server_cfg {
  /* The per-process secret (the daemon draws it from OpenSSL's RAND_bytes
   * at start). At least 16 bytes; copied and wiped on _del. Required. */
  const uint8_t *secret;
  size_t secret_len;
  /* Nonce lifetime in ms; 0 means 300000 (5 min). */
  uint32_t nonce_ttl_ms;
  /* Algorithms offered (in challenge order MD5 first, then SHA-256, then
   * SHA-512-256, as SPEC R17 wants MD5 first) and accepted. A mask of
   * SIPLINE_DIGEST_BIT(); 0 means MD5 | SHA-256. -sess algorithms are
   * accepted when set, but never offered. */
  unsigned algs;
  /* Replay table slots (nonces tracked); 0 means 1024. */
  uint32_t replay_slots;
  /* Per-source challenge rate, per second, and burst; 0 means 20 and 40. */
  uint32_t rl_rate;
  uint32_t rl_burst;
  /* All sources together, per second, and burst; 0 means 200 and 400. */
  uint32_t rl_global_rate;
  uint32_t rl_global_burst;
  /* Sources tracked by the rate limiter; 0 means 256. */
  uint32_t rl_slots;
} sipline_auth_server_cfg;

/*
 * Creates a server. Returns 0, SIPLINE_ERR_INVAL (no secret, or shorter than
 * 16 bytes, or algs has no supported algorithm) or SIPLINE_ERR_NOMEM /
 * SIPLINE_ERR_CRYPTO. mem (NULL: the C library's) must outlive the server.
 */
int sipline_auth_server_new(sipline_auth_server **ps,
                            const sipline_auth_server_cfg *cfg,
                            const sipline_mem *mem);
/* Wipes the secret and frees everything; NULL is fine. */
void sipline_auth_server_del(sipline_auth_server *s);

/*
 * The rate limiter: asks whether a challenge may be sent to the source whose
 * address bytes are src[0..len) (e.g. the sipline_addr's family, ip and
 * port, or just the ip; at most 32 bytes are used). Consumes one token from
 * the source's bucket and from the global bucket on success. Returns 0 (send
 * the 401) or SIPLINE_ERR_AGAIN (over the limit: drop the request without
 * answering).
 */
int sipline_auth_server_allow(sipline_auth_server *s, const void *src,
                              size_t len, sipline_tstamp now);

/* What a challenge says. Views borrowed for the call. */
typedef struct sipline_auth_challenge {
  sipline_pl realm;       /* required, e.g. the line's domain */
  int stale;              /* add stale=true (the request's nonce expired) */
  sipline_auth_kind kind; /* WWW-Authenticate (401) or Proxy- (407) */
  sipline_rng *rng;       /* draws the nonce salt; required */
  sipline_tstamp now;     /* issue time */
} sipline_auth_challenge;

/*
 * Issues one fresh nonce (entering it in the replay table, which may evict
 * the oldest) and writes one full header line per offered algorithm, all with
 * that nonce, e.g.:
 *   WWW-Authenticate: Digest realm="line1", nonce="...", qop="auth",
 *   algorithm=MD5\r\n
 *   WWW-Authenticate: Digest realm="line1", nonce="...", qop="auth",
 *   algorithm=SHA-256\r\n
 * (each on one line), with ", stale=true" when asked. It does not consult
 * the rate limiter (call sipline_auth_server_allow() first). Returns the
 * length written (NUL-terminated), SIPLINE_ERR_INVAL (no realm or rng, a
 * realm longer than SIPLINE_AUTH_MAX_VALUE, or cfg.algs holds only -sess
 * algorithms), SIPLINE_ERR_TOOBIG (cap too
 * small; the nonce is not entered then) or SIPLINE_ERR_CRYPTO.
 */
ptrdiff_t sipline_auth_server_challenge(sipline_auth_server *s,
                                        const sipline_auth_challenge *ch,
                                        char *out, size_t cap);

/*
 * What a request must prove. Views borrowed for the call.
 *
 * user and realm are what this line expects: the credentials' username
 * (or, with userhash=true, H(user:realm)) and realm must equal them, so
 * another line's credentials fail. When request_uri is set, the digest-uri
 * must name the same resource (byte-equal, or for sip/sips URIs the same
 * scheme, user, host and port), so credentials computed for one line's URI
 * cannot be replayed against another's. Exactly one of password (when
 * password.p is not NULL) and ha1 (+ ha1_alg: the hash it was made with) is
 * used; with an HA1 only requests using that hash can succeed.
 */
typedef struct sipline_auth_expect {
  sipline_pl method;      /* the request method, e.g. "NOTIFY" */
  sipline_pl request_uri; /* the Request-URI text; empty: not checked */
  sipline_pl user;        /* Auth ID (or User ID) of the line */
  sipline_pl realm;
  sipline_pl password;
  sipline_pl ha1;
  sipline_digest_alg ha1_alg;
  sipline_pl body; /* the request body (used for qop=auth-int) */
} sipline_auth_expect;

/*
 * Verifies one Authorization (or Proxy-Authorization) header value in
 * constant time (CRYPTO_memcmp on the digests). In order: the header must
 * parse as Digest with username, realm, nonce, uri, response, qop (auth or
 * auth-int: RFC 2069 responses without nc are refused, they cannot be
 * replay-checked), nc (8 hex digits, not 0) and cnonce; the algorithm must be
 * one cfg.algs allows; user/realm/uri must match; the nonce must carry our
 * HMAC for this realm; the digest must be right. Only then: an expired nonce
 * gives STALE, then the nc is checked and recorded.
 *
 * Returns 0 (authenticated; the nc is now used), SIPLINE_ERR_AUTH (missing,
 * malformed, wrong user/realm/uri, forged nonce, wrong password: answer 401
 * with a fresh challenge), SIPLINE_ERR_STALE (right password, nonce expired
 * or no longer tracked: answer 401 with stale=true), SIPLINE_ERR_REPLAY (nc
 * already used or older than the window: answer 403, SPEC R18),
 * SIPLINE_ERR_CRYPTO. Never allocates.
 */
int sipline_auth_server_verify(sipline_auth_server *s, sipline_pl value,
                               const sipline_auth_expect *e,
                               sipline_tstamp now);

/*
 * The same for a parsed request: tries each Authorization header of m whose
 * realm is e->realm (Proxy-Authorization is not looked at). method,
 * request_uri and body default to m's when empty in e. Returns 0 as soon as
 * one verifies, SIPLINE_ERR_AUTH when there is none, else the error of the
 * first one for the realm.
 */
int sipline_auth_server_verify_msg(sipline_auth_server *s, const sipline_msg *m,
                                   const sipline_auth_expect *e,
                                   sipline_tstamp now);

#ifdef __cplusplus
}
#endif
#endif
