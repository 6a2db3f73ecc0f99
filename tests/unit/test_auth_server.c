/*
 * tests/unit/test_auth_server.c: the digest server (SPEC R17-R18): challenge
 * format, right/wrong password, wrong user, another realm or line, expired
 * nonce (stale), forged nonces, replayed and out-of-order nc, table eviction
 * never letting a replay through, the rate limiter, a fixed memory bound
 * over 1e5 nonces, and an allocation-failure sweep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"

static sipline_pl pl(const char *s) {
  return sipline_pl_str(s);
}

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
static sipline_rng rng;

static sipline_auth_server *mk(const sipline_auth_server_cfg *over) {
  sipline_auth_server_cfg cfg = {.secret = secret,
                                 .secret_len = sizeof(secret)};
  if (over) {
    cfg = *over;
    cfg.secret = secret;
    cfg.secret_len = sizeof(secret);
  }
  sipline_auth_server *s = NULL;
  assert_int_equal(sipline_auth_server_new(&s, &cfg, NULL), 0);
  return s;
}

/* Issues a challenge for realm at now and returns its nonce in buf. */
static char *issue(sipline_auth_server *s, const char *realm,
                   sipline_tstamp now, char *buf) {
  char out[1024];
  sipline_auth_challenge ch = {.realm = pl(realm), .rng = &rng, .now = now};
  assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
  char *p = strstr(out, "nonce=\"");
  assert_non_null(p);
  p += 7;
  char *q = strchr(p, '"');
  assert_int_equal(q - p, SIPLINE_AUTH_NONCE_LEN);
  memcpy(buf, p, (size_t)(q - p));
  buf[q - p] = '\0';
  return buf;
}

typedef struct cred {
  const char *user, *realm, *password, *nonce, *uri, *method, *cnonce;
  const char *alg, *qop, *body;
  uint32_t nc;
  int userhash;
} cred;

/* Builds an Authorization value the way a correct client would. */
static const char *authz(const cred *c, char *out, size_t cap) {
  sipline_digest_params p = {
      .alg = sipline_digest_alg_from(pl(c->alg ? c->alg : "MD5")),
      .qop = (c->qop && !strcmp(c->qop, "auth-int")) ? SIPLINE_QOP_AUTH_INT
                                                     : SIPLINE_QOP_AUTH,
      .username = pl(c->user),
      .realm = pl(c->realm),
      .password = pl(c->password),
      .method = pl(c->method ? c->method : "NOTIFY"),
      .uri = pl(c->uri ? c->uri : "sip:line1@10.0.0.2"),
      .nonce = pl(c->nonce),
      .cnonce = pl(c->cnonce ? c->cnonce : "c0ffee"),
      .nc = c->nc ? c->nc : 1,
      .body = pl(c->body),
  };
  char resp[SIPLINE_DIGEST_HEX_MAX + 1], uh[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_response(&p, resp), 0);
  const char *user = c->user;
  if (c->userhash) {
    assert_int_equal(sipline_digest_userhash(p.alg, p.username, p.realm, uh),
                     0);
    user = uh;
  }
  snprintf(out, cap,
           "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%.*s\", "
           "response=\"%s\", algorithm=%s, cnonce=\"%.*s\", qop=%s, "
           "nc=%08x%s",
           user, c->realm, c->nonce, (int)p.uri.len, p.uri.p, resp,
           sipline_digest_alg_name(p.alg), (int)p.cnonce.len, p.cnonce.p,
           c->qop ? c->qop : "auth", p.nc,
           c->userhash ? ", userhash=true" : "");
  return out;
}

/* Line 1's expectations. */
static sipline_auth_expect line1(void) {
  sipline_auth_expect e = {.method = pl("NOTIFY"),
                           .request_uri = pl("sip:line1@10.0.0.2"),
                           .user = pl("line1"),
                           .realm = pl("phone"),
                           .password = pl("pw-one")};
  return e;
}

static int verify(sipline_auth_server *s, const cred *c,
                  const sipline_auth_expect *e, sipline_tstamp now) {
  char v[1024];
  return sipline_auth_server_verify(s, pl(authz(c, v, sizeof(v))), e, now);
}

static void test_new_errors(void **state) {
  (void)state;
  sipline_auth_server *s = (void *)1;
  sipline_auth_server_cfg cfg = {.secret = secret, .secret_len = 15};
  assert_int_equal(sipline_auth_server_new(&s, &cfg, NULL), SIPLINE_ERR_INVAL);
  assert_null(s);
  cfg.secret_len = 16;
  cfg.algs = 1u << 20;
  assert_int_equal(sipline_auth_server_new(&s, &cfg, NULL), SIPLINE_ERR_INVAL);
  assert_int_equal(sipline_auth_server_new(&s, NULL, NULL), SIPLINE_ERR_INVAL);
  sipline_auth_server_del(NULL);
}

/* SPEC R17: the exact challenge lines. */
static void test_challenge_format(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 1);
  sipline_auth_server *s = mk(NULL);
  char out[1024], want[1024], nonce[80];
  sipline_auth_challenge ch = {.realm = pl("phone"), .rng = &rng, .now = 5};
  ptrdiff_t n = sipline_auth_server_challenge(s, &ch, out, sizeof(out));
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(out));
  memcpy(nonce, strstr(out, "nonce=\"") + 7, SIPLINE_AUTH_NONCE_LEN);
  nonce[SIPLINE_AUTH_NONCE_LEN] = '\0';
  snprintf(want, sizeof(want),
           "WWW-Authenticate: Digest realm=\"phone\", nonce=\"%s\", "
           "qop=\"auth\", algorithm=MD5\r\n"
           "WWW-Authenticate: Digest realm=\"phone\", nonce=\"%s\", "
           "qop=\"auth\", algorithm=SHA-256\r\n",
           nonce, nonce);
  assert_string_equal(out, want);
  /* base64url only. */
  assert_int_equal(strspn(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                 "qrstuvwxyz0123456789-_"),
                   SIPLINE_AUTH_NONCE_LEN);
  /* Each challenge has a fresh nonce, even at the same instant. */
  char n2[80];
  assert_string_not_equal(issue(s, "phone", 5, n2), nonce);

  ch.stale = 1;
  ch.kind = SIPLINE_AUTH_PROXY;
  assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
  assert_memory_equal(out, "Proxy-Authenticate: Digest realm=\"phone\"", 40);
  assert_non_null(strstr(out, "algorithm=MD5, stale=true\r\n"));
  assert_non_null(strstr(out, "algorithm=SHA-256, stale=true\r\n"));

  /* Errors. */
  char tiny[50];
  assert_int_equal(sipline_auth_server_challenge(s, &ch, tiny, sizeof(tiny)),
                   SIPLINE_ERR_TOOBIG);
  ch.rng = NULL;
  assert_int_equal(sipline_auth_server_challenge(s, &ch, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  ch.rng = &rng;
  ch.realm = pl("");
  assert_int_equal(sipline_auth_server_challenge(s, &ch, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  sipline_auth_server_del(s);

  /* Only SHA-256 configured: one line. */
  sipline_auth_server_cfg cfg = {.algs =
                                     SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA256)};
  s = mk(&cfg);
  ch = (sipline_auth_challenge){.realm = pl("a\"b"), .rng = &rng, .now = 1};
  assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
  assert_null(strstr(out, "MD5"));
  assert_non_null(strstr(out, "realm=\"a\\\"b\""));
  assert_int_equal(strstr(out, "\r\n") - out + 2, (ptrdiff_t)strlen(out));
  sipline_auth_server_del(s);
}

static void test_right_and_wrong(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 2);
  sipline_auth_server *s = mk(NULL);
  sipline_auth_expect e = line1();
  char nonce[80];
  issue(s, "phone", 1000, nonce);
  cred c = {
      .user = "line1", .realm = "phone", .password = "pw-one", .nonce = nonce};
  /* right → ok, MD5 and SHA-256 */
  assert_int_equal(verify(s, &c, &e, 2000), 0);
  c.alg = "SHA-256";
  c.nc = 2;
  assert_int_equal(verify(s, &c, &e, 2000), 0);
  /* wrong password */
  c.nc = 3;
  c.password = "pw-two";
  assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  /* a wrong guess did not burn nc 3 */
  c.password = "pw-one";
  assert_int_equal(verify(s, &c, &e, 2000), 0);
  /* wrong user: line 2's own correct credentials, against line 1 */
  c.nc = 4;
  c.user = "line2";
  c.password = "pw-two";
  assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  /* the right user with another line's URI */
  c.user = "line1";
  c.password = "pw-one";
  c.uri = "sip:line2@10.0.0.2";
  assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  /* an equivalent SIP URI (host case, scheme case) is the same resource */
  c.uri = "SIP:line1@10.0.0.2";
  assert_int_equal(verify(s, &c, &e, 2000), 0);
  c.nc = 5;
  c.uri = "sip:line1@10.0.0.2:5070";
  assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  c.uri = NULL;
  /* an algorithm not enabled */
  c.alg = "SHA-512-256";
  assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  c.alg = "MD5-sess";
  assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  c.alg = NULL;
  /* userhash works */
  c.userhash = 1;
  assert_int_equal(verify(s, &c, &e, 2000), 0);
  c.userhash = 0;
  /* the method is part of the digest */
  c.nc = 6;
  c.method = "INVITE";
  assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  sipline_auth_server_del(s);
}

static void test_other_realm(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 3);
  sipline_auth_server *s = mk(NULL);
  sipline_auth_expect e = line1();
  char nb[80], na[80];
  issue(s, "other", 0, nb);
  issue(s, "phone", 0, na);
  /* Credentials for another realm, with that realm's nonce. */
  cred c = {
      .user = "line1", .realm = "other", .password = "pw-one", .nonce = nb};
  assert_int_equal(verify(s, &c, &e, 10), SIPLINE_ERR_AUTH);
  /* Another realm's nonce relabelled as ours: the HMAC covers the realm. */
  c.realm = "phone";
  assert_int_equal(verify(s, &c, &e, 10), SIPLINE_ERR_AUTH);
  c.nonce = na;
  assert_int_equal(verify(s, &c, &e, 10), 0);
  /* The same secret in another server instance accepts the nonce's origin
   * but, not having tracked it, says stale: fail safe. */
  sipline_auth_server *s2 = mk(NULL);
  c.nc = 2;
  assert_int_equal(verify(s2, &c, &e, 10), SIPLINE_ERR_STALE);
  sipline_auth_server_del(s2);
  /* A server with another secret: forged. */
  static const uint8_t other[16] = "fedcba9876543210";
  sipline_auth_server_cfg cfg = {.secret = other, .secret_len = 16};
  sipline_auth_server *s3 = NULL;
  assert_int_equal(sipline_auth_server_new(&s3, &cfg, NULL), 0);
  assert_int_equal(verify(s3, &c, &e, 10), SIPLINE_ERR_AUTH);
  sipline_auth_server_del(s3);
  sipline_auth_server_del(s);
}

static void test_expired(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 4);
  sipline_auth_server_cfg cfg = {.nonce_ttl_ms = 30000};
  sipline_auth_server *s = mk(&cfg);
  sipline_auth_expect e = line1();
  char nonce[80];
  issue(s, "phone", 100000, nonce);
  cred c = {
      .user = "line1", .realm = "phone", .password = "pw-one", .nonce = nonce};
  assert_int_equal(verify(s, &c, &e, 130000), 0); /* exactly at the TTL */
  c.nc = 2;
  assert_int_equal(verify(s, &c, &e, 130001), SIPLINE_ERR_STALE);
  /* expired and wrong: AUTH, not STALE (stale only with a valid digest) */
  c.password = "nope";
  assert_int_equal(verify(s, &c, &e, 130001), SIPLINE_ERR_AUTH);
  /* a nonce from the future is not ours */
  c.password = "pw-one";
  assert_int_equal(verify(s, &c, &e, 99999), SIPLINE_ERR_AUTH);
  sipline_auth_server_del(s);

  /* Default TTL is 300 s. */
  s = mk(NULL);
  issue(s, "phone", 0, nonce);
  c.nc = 1;
  assert_int_equal(verify(s, &c, &e, 300000), 0);
  c.nc = 2;
  assert_int_equal(verify(s, &c, &e, 300001), SIPLINE_ERR_STALE);
  sipline_auth_server_del(s);
}

static void test_forged(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 5);
  sipline_auth_server *s = mk(NULL);
  sipline_auth_expect e = line1();
  char nonce[80], f[80];
  issue(s, "phone", 1000, nonce);
  cred c = {
      .user = "line1", .realm = "phone", .password = "pw-one", .nonce = f};
  /* Every single-character change of the nonce is caught (the digest is
   * recomputed over the forged nonce, as an attacker who knew the password
   * but not the secret could). */
  for (int i = 0; i < SIPLINE_AUTH_NONCE_LEN; i++) {
    strcpy(f, nonce);
    f[i] = f[i] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  }
  /* Extending the life: a newer timestamp with the old tag. */
  uint8_t raw[60];
  assert_int_equal(sipline__b64url_dec(pl(nonce), raw, sizeof(raw)), 48);
  raw[7] ^= 0x10;
  sipline__b64url_enc(raw, 48, f);
  assert_int_equal(verify(s, &c, &e, 1000000), SIPLINE_ERR_AUTH);
  /* Wrong lengths, non-base64, empty. */
  const char *bad[] = {
      "", "abc", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      ("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
       "!!!!!!!!")};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    c.nonce = bad[i];
    assert_int_equal(verify(s, &c, &e, 2000), SIPLINE_ERR_AUTH);
  }
  c.nonce = nonce;
  assert_int_equal(verify(s, &c, &e, 2000), 0);
  sipline_auth_server_del(s);
}

static void test_replay(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 6);
  sipline_auth_server *s = mk(NULL);
  sipline_auth_expect e = line1();
  char nonce[80], v[1024];
  issue(s, "phone", 0, nonce);
  cred c = {
      .user = "line1", .realm = "phone", .password = "pw-one", .nonce = nonce};
  /* The very same header twice. */
  authz(&c, v, sizeof(v));
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 1), 0);
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 2),
                   SIPLINE_ERR_REPLAY);
  /* Same nc, another cnonce: still a replay of the count. */
  c.cnonce = "other";
  assert_int_equal(verify(s, &c, &e, 3), SIPLINE_ERR_REPLAY);
  /* Out of order inside the window is fine, once each. */
  const uint32_t order[] = {5, 3, 4, 2, 70, 10, 69, 7};
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
    c.nc = order[i];
    assert_int_equal(verify(s, &c, &e, 4), 0);
  }
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
    c.nc = order[i];
    assert_int_equal(verify(s, &c, &e, 5), SIPLINE_ERR_REPLAY);
  }
  /* Below the 64-wide window (max 70): refused, even if never seen. */
  c.nc = 6;
  assert_int_equal(verify(s, &c, &e, 6), SIPLINE_ERR_REPLAY);
  c.nc = 8; /* 70 - 8 = 62: inside */
  assert_int_equal(verify(s, &c, &e, 6), 0);
  /* A big jump clears the window; the old maximum is now too old. */
  c.nc = 0x10000;
  assert_int_equal(verify(s, &c, &e, 7), 0);
  c.nc = 70;
  assert_int_equal(verify(s, &c, &e, 7), SIPLINE_ERR_REPLAY);
  c.nc = 0xffffffff;
  assert_int_equal(verify(s, &c, &e, 7), 0);
  assert_int_equal(verify(s, &c, &e, 7), SIPLINE_ERR_REPLAY);
  /* Malformed nc: zero, short, long, non-hex (on a fresh nonce). */
  char nonce2[80];
  issue(s, "phone", 8, nonce2);
  c.nonce = nonce2;
  sipline_auth_expect ee = e;
  const char *bad_nc[] = {"00000000", "0000001", "000000001", "0000000g"};
  for (size_t i = 0; i < 4; i++) {
    c.nc = 0x100;
    authz(&c, v, sizeof(v));
    char *p = strstr(v, "nc=");
    char w[1100];
    snprintf(w, sizeof(w), "%.*snc=%s", (int)(p - v), v, bad_nc[i]);
    assert_int_equal(sipline_auth_server_verify(s, pl(w), &ee, 8),
                     SIPLINE_ERR_AUTH);
  }
  c.nc = 0x100;
  assert_int_equal(verify(s, &c, &e, 8), 0);
  sipline_auth_server_del(s);
}

/* Headers a correct client would never send. */
static void test_malformed_credentials(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 7);
  sipline_auth_server *s = mk(NULL);
  sipline_auth_expect e = line1();
  char nonce[80], v[1024], w[1200];
  issue(s, "phone", 0, nonce);
  cred c = {
      .user = "line1", .realm = "phone", .password = "pw-one", .nonce = nonce};
  authz(&c, v, sizeof(v));
  /* Duplicate parameters. */
  snprintf(w, sizeof(w), "%s, response=\"00000000000000000000000000000000\"",
           v);
  assert_int_equal(sipline_auth_server_verify(s, pl(w), &e, 1),
                   SIPLINE_ERR_AUTH);
  snprintf(w, sizeof(w), "%s, realm=\"phone\"", v);
  assert_int_equal(sipline_auth_server_verify(s, pl(w), &e, 1),
                   SIPLINE_ERR_AUTH);
  /* Another scheme, empty, garbage. */
  assert_int_equal(
      sipline_auth_server_verify(s, pl("Basic bGluZTE6cHctb25l"), &e, 1),
      SIPLINE_ERR_AUTH);
  assert_int_equal(sipline_auth_server_verify(s, pl(""), &e, 1),
                   SIPLINE_ERR_AUTH);
  assert_int_equal(sipline_auth_server_verify(s, SIPLINE_PL_NULL, &e, 1),
                   SIPLINE_ERR_AUTH);
  /* RFC 2069 (no qop/nc/cnonce): refused, it cannot be replay-checked. */
  sipline_digest_params p = {.alg = SIPLINE_DIGEST_MD5,
                             .username = pl("line1"),
                             .realm = pl("phone"),
                             .password = pl("pw-one"),
                             .method = pl("NOTIFY"),
                             .uri = pl("sip:line1@10.0.0.2"),
                             .nonce = pl(nonce)};
  char resp[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_response(&p, resp), 0);
  snprintf(w, sizeof(w),
           "Digest username=\"line1\", realm=\"phone\", nonce=\"%s\", "
           "uri=\"sip:line1@10.0.0.2\", response=\"%s\"",
           nonce, resp);
  assert_int_equal(sipline_auth_server_verify(s, pl(w), &e, 1),
                   SIPLINE_ERR_AUTH);
  /* Unknown qop or algorithm. */
  c.qop = "auth-conf";
  assert_int_equal(verify(s, &c, &e, 1), SIPLINE_ERR_AUTH);
  c.qop = NULL;
  /* Upper-case hex in response is accepted (lenient), truncated is not. */
  authz(&c, v, sizeof(v));
  char *r = strstr(v, "response=\"") + 10;
  for (int i = 0; i < 32; i++)
    if (r[i] >= 'a' && r[i] <= 'f')
      r[i] = (char)(r[i] - 32);
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 1), 0);
  c.nc = 2;
  authz(&c, v, sizeof(v));
  r = strstr(v, "response=\"") + 10;
  memmove(r + 31, r + 32, strlen(r + 32) + 1);
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 1),
                   SIPLINE_ERR_AUTH);
  /* Missing expectations are the caller's bug. */
  sipline_auth_expect bad = e;
  bad.user = SIPLINE_PL_NULL;
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &bad, 1),
                   SIPLINE_ERR_INVAL);
  sipline_auth_server_del(s);
}

static void test_auth_int_and_ha1(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 8);
  sipline_auth_server *s = mk(NULL);
  sipline_auth_expect e = line1();
  e.body = pl("<CiscoIPPhoneExecute/>");
  char nonce[80];
  issue(s, "phone", 0, nonce);
  cred c = {.user = "line1",
            .realm = "phone",
            .password = "pw-one",
            .nonce = nonce,
            .qop = "auth-int",
            .body = "<CiscoIPPhoneExecute/>"};
  assert_int_equal(verify(s, &c, &e, 1), 0);
  c.nc = 2;
  c.body =
      "<CiscoIPPhoneExecute><ExecuteItem URL=\"x\"/></CiscoIPPhoneExecute>";
  assert_int_equal(verify(s, &c, &e, 1), SIPLINE_ERR_AUTH);

  /* A stored MD5 HA1 instead of the password. */
  char ha1[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_ha1(SIPLINE_DIGEST_MD5, pl("line1"),
                                      pl("phone"), pl("pw-one"), ha1),
                   0);
  sipline_auth_expect h = line1();
  h.password = SIPLINE_PL_NULL;
  h.ha1 = pl(ha1);
  h.ha1_alg = SIPLINE_DIGEST_MD5;
  c.qop = NULL;
  c.body = NULL;
  c.nc = 3;
  assert_int_equal(verify(s, &c, &h, 1), 0);
  /* ...cannot serve a SHA-256 request. */
  c.nc = 4;
  c.alg = "SHA-256";
  assert_int_equal(verify(s, &c, &h, 1), SIPLINE_ERR_AUTH);
  sipline_auth_server_del(s);
}

/* The replay table forgets the oldest nonce when full: its holder gets
 * STALE, never a second acceptance. */
static void test_eviction(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 9);
  sipline_auth_server_cfg cfg = {.replay_slots = 4};
  sipline_auth_server *s = mk(&cfg);
  sipline_auth_expect e = line1();
  char first[80], v[1024], more[80];
  issue(s, "phone", 0, first);
  cred c = {
      .user = "line1", .realm = "phone", .password = "pw-one", .nonce = first};
  authz(&c, v, sizeof(v));
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 1), 0);
  for (int i = 0; i < 4; i++)
    issue(s, "phone", 2, more);
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 3),
                   SIPLINE_ERR_STALE);
  c.nc = 2;
  assert_int_equal(verify(s, &c, &e, 3), SIPLINE_ERR_STALE);
  sipline_auth_server_del(s);

  /* A randomised run: 8 slots, 200 nonces, 5000 attempts with random
   * (nonce, nc) from a small space; every pair is accepted at most once and
   * the outcome is one of the four expected codes. */
  cfg.replay_slots = 8;
  s = mk(&cfg);
  enum { NN = 200, NCMAX = 12 };
  static char nonces[NN][80];
  static uint8_t accepted[NN][NCMAX + 1];
  memset(accepted, 0, sizeof(accepted));
  int issued = 0, oks = 0, stales = 0, replays = 0;
  sipline_rng r2;
  sipline_rng_seed(&r2, 99);
  for (int step = 0; step < 5000; step++) {
    if (issued < NN && (issued == 0 || sipline_rng_below(&r2, 20) == 0)) {
      issue(s, "phone", (sipline_tstamp)step, nonces[issued]);
      issued++;
    }
    int k = (int)sipline_rng_below(&r2, (uint64_t)issued);
    /* Mostly recent nonces, sometimes any. */
    if (sipline_rng_below(&r2, 4) && issued > 10)
      k = issued - 1 - (int)sipline_rng_below(&r2, 10);
    uint32_t nc = 1 + (uint32_t)sipline_rng_below(&r2, NCMAX);
    c.nonce = nonces[k];
    c.nc = nc;
    int res = verify(s, &c, &e, (sipline_tstamp)step);
    /* An exact model: the table holds the last 8 nonces issued, and with
     * nc <= 12 the 64-wide window never forgets an accepted count. */
    int want = k < issued - 8    ? SIPLINE_ERR_STALE
               : accepted[k][nc] ? SIPLINE_ERR_REPLAY
                                 : 0;
    assert_int_equal(res, want);
    if (res == 0) {
      accepted[k][nc] = 1;
      oks++;
    } else if (res == SIPLINE_ERR_STALE) {
      stales++;
    } else {
      replays++;
    }
  }
  /* All three outcomes really happened. */
  assert_true(oks > 100);
  assert_true(stales > 100);
  assert_true(replays > 100);
  sipline_auth_server_del(s);
}

static void test_rate_limiter(void **state) {
  (void)state;
  sipline_auth_server_cfg cfg = {.rl_rate = 1,
                                 .rl_burst = 3,
                                 .rl_global_rate = 10,
                                 .rl_global_burst = 8,
                                 .rl_slots = 4};
  sipline_auth_server *s = mk(&cfg);
  const uint8_t a[6] = {10, 0, 0, 1, 0x13, 0xc4};
  const uint8_t b[6] = {10, 0, 0, 2, 0x13, 0xc4};
  sipline_tstamp t = 1000;
  for (int i = 0; i < 3; i++)
    assert_int_equal(sipline_auth_server_allow(s, a, 6, t), 0);
  assert_int_equal(sipline_auth_server_allow(s, a, 6, t), SIPLINE_ERR_AGAIN);
  assert_int_equal(sipline_auth_server_allow(s, a, 6, t + 999),
                   SIPLINE_ERR_AGAIN);
  /* Another source has its own bucket. */
  assert_int_equal(sipline_auth_server_allow(s, b, 6, t), 0);
  /* One token per second comes back. */
  assert_int_equal(sipline_auth_server_allow(s, a, 6, t + 1000), 0);
  assert_int_equal(sipline_auth_server_allow(s, a, 6, t + 1000),
                   SIPLINE_ERR_AGAIN);
  /* The global bucket (8, 5 used) stops a spoofed spread of sources. */
  int ok = 0;
  for (uint8_t i = 0; i < 50; i++) {
    uint8_t x[4] = {192, 168, 0, i};
    if (sipline_auth_server_allow(s, x, 4, t + 1000) == 0)
      ok++;
  }
  /* The global bucket was refilled to its burst of 8 at t+999, then b and
   * a took one each: 6 tokens for 50 fresh sources (each with its own
   * full bucket of 3). */
  assert_int_equal(ok, 6);
  /* After a long quiet period, the bucket is full again, not overfull. */
  int n = 0;
  while (sipline_auth_server_allow(s, a, 6, t + 1000000) == 0)
    n++;
  assert_int_equal(n, 3);
  /* Time going backwards refills nothing. */
  assert_int_equal(sipline_auth_server_allow(s, a, 6, t), SIPLINE_ERR_AGAIN);
  /* Keys longer than 32 bytes use their first 32. */
  uint8_t l1[40] = {1}, l2[40] = {1};
  l2[39] = 7;
  for (int i = 0; i < 3; i++)
    sipline_auth_server_allow(s, l1, 40, t + 3000000);
  assert_int_equal(sipline_auth_server_allow(s, l2, 40, t + 3000000),
                   SIPLINE_ERR_AGAIN);
  assert_int_equal(sipline_auth_server_allow(s, NULL, 3, t), SIPLINE_ERR_INVAL);
  sipline_auth_server_del(s);
}

/* A counting allocator (bytes and calls) that can fail the n-th call. */
static long m_live, m_calls, m_fail_at = -1;
static size_t m_bytes;
typedef union hdr {
  size_t n;
  max_align_t a;
} hdr;
static void *c_malloc(size_t n, void *u) {
  (void)u;
  if (m_calls++ == m_fail_at)
    return NULL;
  hdr *h = malloc(sizeof(hdr) + n);
  if (!h)
    return NULL;
  h->n = n;
  m_live++;
  m_bytes += n;
  return h + 1;
}
static void *c_calloc(size_t a, size_t b, void *u) {
  void *p = c_malloc(a * b, u);
  if (p)
    memset(p, 0, a * b);
  return p;
}
static void c_free(void *p, void *u) {
  (void)u;
  if (!p)
    return;
  hdr *h = (hdr *)p - 1;
  m_live--;
  m_bytes -= h->n;
  free(h);
}
static void *c_realloc(void *p, size_t n, void *u) {
  void *q = c_malloc(n, u);
  if (q && p) {
    hdr *h = (hdr *)p - 1;
    memcpy(q, p, h->n < n ? h->n : n);
    c_free(p, u);
  }
  return q;
}
static const sipline_mem cmem = {NULL, c_malloc, c_free, c_calloc, c_realloc};

/* 1e5 nonces issued and used: not one allocation after _new. */
static void test_memory_bound(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 10);
  m_live = m_calls = 0;
  m_bytes = 0;
  m_fail_at = -1;
  sipline_auth_server_cfg cfg = {.secret = secret,
                                 .secret_len = sizeof(secret)};
  sipline_auth_server *s = NULL;
  assert_int_equal(sipline_auth_server_new(&s, &cfg, &cmem), 0);
  long calls0 = m_calls;
  size_t bytes0 = m_bytes;
  assert_true(bytes0 > 0);
  sipline_auth_expect e = line1();
  char nonce[80], out[512];
  static char ring[1025][80];
  for (int i = 0; i < 100000; i++) {
    sipline_auth_challenge ch = {
        .realm = pl("phone"), .rng = &rng, .now = (sipline_tstamp)i};
    assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
    uint8_t src[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
                      (uint8_t)i};
    sipline_auth_server_allow(s, src, 4, (sipline_tstamp)i);
    memcpy(ring[i % 1025], strstr(out, "nonce=\"") + 7, SIPLINE_AUTH_NONCE_LEN);
    ring[i % 1025][SIPLINE_AUTH_NONCE_LEN] = '\0';
    if (i % 1000 == 0) {
      memcpy(nonce, ring[i % 1025], sizeof(nonce));
      cred c = {.user = "line1",
                .realm = "phone",
                .password = "pw-one",
                .nonce = nonce};
      assert_int_equal(verify(s, &c, &e, (sipline_tstamp)i), 0);
    }
  }
  /* After 1e5 insertions and evictions the index still finds exactly the
   * last 1024 nonces (the default table size); the one before is gone. */
  for (int i = 100000 - 1025; i < 100000; i++) {
    cred c = {.user = "line1",
              .realm = "phone",
              .password = "pw-one",
              .nonce = ring[i % 1025],
              .nc = 7};
    assert_int_equal(verify(s, &c, &e, 100000),
                     i == 100000 - 1025 ? SIPLINE_ERR_STALE : 0);
  }
  assert_int_equal(m_calls, calls0);
  assert_int_equal(m_bytes, bytes0);
  print_message("auth server memory: %zu bytes in %ld allocations, fixed "
                "over 1e5 nonces\n",
                bytes0, m_live);
  /* The default table: well under a megabyte. */
  assert_true(bytes0 < 1024 * 1024);
  sipline_auth_server_del(s);
  assert_int_equal(m_live, 0);
}

/* Fail the n-th allocation for every n over a server scenario. */
static void test_alloc_sweep(void **state) {
  (void)state;
  int completed = 0;
  for (long fail = 0; fail < 50 && !completed; fail++) {
    m_live = m_calls = 0;
    m_bytes = 0;
    m_fail_at = fail;
    sipline_rng_seed(&rng, 11);
    sipline_auth_server_cfg cfg = {.secret = secret,
                                   .secret_len = sizeof(secret)};
    sipline_auth_server *s = NULL;
    int r = sipline_auth_server_new(&s, &cfg, &cmem);
    if (r) {
      assert_int_equal(r, SIPLINE_ERR_NOMEM);
      assert_null(s);
      assert_int_equal(m_live, 0);
      continue;
    }
    /* A whole exchange: challenge, client answer, verify, replay. */
    char out[1024];
    sipline_auth_challenge ch = {.realm = pl("phone"), .rng = &rng, .now = 1};
    assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
    sipline_auth_client *cl = NULL;
    sipline_auth_client_cfg ccfg = {.username = "line1", .password = "pw-one"};
    r = sipline_auth_client_new(&cl, &ccfg, &cmem);
    if (r == 0) {
      /* Split the two lines into values. */
      sipline_pl vals[2];
      char *l1 = out + strlen("WWW-Authenticate: ");
      char *e1 = strstr(l1, "\r\n");
      vals[0] = (sipline_pl){l1, (size_t)(e1 - l1)};
      char *l2 = e1 + 2 + strlen("WWW-Authenticate: ");
      vals[1] = (sipline_pl){l2, (size_t)(strstr(l2, "\r\n") - l2)};
      r = sipline_auth_client_challenge(cl, SIPLINE_AUTH_WWW, vals, 2);
      if (r == 0) {
        char v[1024];
        sipline_auth_req rq = {.method = pl("NOTIFY"),
                               .uri = pl("sip:line1@10.0.0.2"),
                               .rng = &rng};
        assert_true(sipline_auth_client_header(cl, 0, &rq, v, sizeof(v)) > 0);
        sipline_auth_expect e = line1();
        assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 2), 0);
        assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 2),
                         SIPLINE_ERR_REPLAY);
        completed = 1;
      } else {
        assert_int_equal(r, SIPLINE_ERR_NOMEM);
      }
    } else {
      assert_int_equal(r, SIPLINE_ERR_NOMEM);
    }
    sipline_auth_client_del(cl);
    sipline_auth_server_del(s);
    assert_int_equal(m_live, 0);
  }
  assert_true(completed);
  m_fail_at = -1;
}

/* The message flavour: picks the Authorization for our realm. */
static void test_verify_msg(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 12);
  sipline_auth_server *s = mk(NULL);
  char nonce[80], v[1024], other[1024], msgbuf[4096];
  issue(s, "phone", 0, nonce);
  cred c = {.user = "line1",
            .realm = "phone",
            .password = "pw-one",
            .nonce = nonce,
            .uri = "sip:line1@10.0.0.2"};
  authz(&c, v, sizeof(v));
  cred o = c;
  o.realm = "elsewhere";
  authz(&o, other, sizeof(other));
  const char *body = "http://10.0.0.9/x.xml";
  snprintf(msgbuf, sizeof(msgbuf),
           "NOTIFY sip:line1@10.0.0.2 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKx\r\n"
           "From: <sip:srv@10.0.0.9>;tag=1\r\n"
           "To: <sip:line1@10.0.0.2>\r\n"
           "Call-ID: n1\r\n"
           "CSeq: 2 NOTIFY\r\n"
           "Event: xml-service\r\n"
           "Authorization: %s\r\n"
           "Authorization: %s\r\n"
           "Content-Type: text/plain\r\n"
           "Content-Length: %zu\r\n\r\n%s",
           other, v, strlen(body), body);
  static sipline_msg m;
  assert_true(sipline_msg_parse(&m, msgbuf, strlen(msgbuf),
                                SIPLINE_PARSE_DATAGRAM, NULL) > 0);
  sipline_auth_expect e = {
      .user = pl("line1"), .realm = pl("phone"), .password = pl("pw-one")};
  assert_int_equal(sipline_auth_server_verify_msg(s, &m, &e, 1), 0);
  assert_int_equal(sipline_auth_server_verify_msg(s, &m, &e, 1),
                   SIPLINE_ERR_REPLAY);
  e.realm = pl("nowhere");
  assert_int_equal(sipline_auth_server_verify_msg(s, &m, &e, 1),
                   SIPLINE_ERR_AUTH);
  sipline_auth_server_del(s);
}

/* Splits challenge lines ("WWW-Authenticate: v\r\n"...) into values. */
static size_t split_lines(char *out, sipline_pl *vals, size_t max) {
  size_t n = 0;
  for (char *l = out; *l && n < max;) {
    char *colon = strstr(l, ": ");
    char *end = strstr(l, "\r\n");
    assert_non_null(colon);
    assert_non_null(end);
    vals[n++] = (sipline_pl){colon + 2, (size_t)(end - colon - 2)};
    l = end + 2;
  }
  return n;
}

/* Our client against our server over a whole life: first challenge, a
 * pre-authenticated refresh with nc+1, expiry → stale=true → the client
 * takes the new nonce without calling it a refusal; and a wrong password
 * stops after one retry. */
static void test_roundtrip(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 13);
  sipline_auth_server_cfg cfg = {.nonce_ttl_ms = 60000};
  sipline_auth_server *s = mk(&cfg);
  sipline_auth_expect e = line1();
  sipline_auth_client *good = NULL, *bad = NULL;
  sipline_auth_client_cfg gc = {.username = "line1", .password = "pw-one"};
  sipline_auth_client_cfg bc = {.username = "line1", .password = "guess"};
  assert_int_equal(sipline_auth_client_new(&good, &gc, NULL), 0);
  assert_int_equal(sipline_auth_client_new(&bad, &bc, NULL), 0);
  sipline_auth_req rq = {
      .method = pl("NOTIFY"), .uri = pl("sip:line1@10.0.0.2"), .rng = &rng};
  char out[1024], v[1024];
  sipline_pl vals[4];
  sipline_auth_challenge ch = {.realm = pl("phone"), .rng = &rng, .now = 0};

  assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
  size_t n = split_lines(out, vals, 4);
  assert_int_equal(n, 2);
  assert_int_equal(
      sipline_auth_client_challenge(good, SIPLINE_AUTH_WWW, vals, n), 0);
  /* Our client takes SHA-256 over MD5; the server accepts both. */
  assert_true(sipline_auth_client_header(good, 0, &rq, v, sizeof(v)) > 0);
  assert_non_null(strstr(v, "algorithm=SHA-256"));
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 10), 0);
  /* Pre-authenticated follow-ups: nc 2, 3 with no new challenge. */
  for (int i = 0; i < 2; i++) {
    assert_true(sipline_auth_client_header(good, 0, &rq, v, sizeof(v)) > 0);
    assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 20000), 0);
  }
  assert_non_null(strstr(v, "nc=00000003"));
  /* Past the TTL: stale, and the client follows the stale challenge. */
  assert_true(sipline_auth_client_header(good, 0, &rq, v, sizeof(v)) > 0);
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 70000),
                   SIPLINE_ERR_STALE);
  ch.stale = 1;
  ch.now = 70000;
  assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
  n = split_lines(out, vals, 4);
  assert_int_equal(
      sipline_auth_client_challenge(good, SIPLINE_AUTH_WWW, vals, n), 0);
  assert_true(sipline_auth_client_header(good, 0, &rq, v, sizeof(v)) > 0);
  assert_non_null(strstr(v, "nc=00000001"));
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 70001), 0);

  /* The wrong password: one answer, refused, then the client gives up. */
  ch.stale = 0;
  assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
  n = split_lines(out, vals, 4);
  assert_int_equal(
      sipline_auth_client_challenge(bad, SIPLINE_AUTH_WWW, vals, n), 0);
  assert_true(sipline_auth_client_header(bad, 0, &rq, v, sizeof(v)) > 0);
  assert_int_equal(sipline_auth_server_verify(s, pl(v), &e, 70002),
                   SIPLINE_ERR_AUTH);
  assert_true(sipline_auth_server_challenge(s, &ch, out, sizeof(out)) > 0);
  n = split_lines(out, vals, 4);
  assert_int_equal(
      sipline_auth_client_challenge(bad, SIPLINE_AUTH_WWW, vals, n),
      SIPLINE_ERR_AUTH);
  sipline_auth_client_del(good);
  sipline_auth_client_del(bad);
  sipline_auth_server_del(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_errors),
      cmocka_unit_test(test_challenge_format),
      cmocka_unit_test(test_right_and_wrong),
      cmocka_unit_test(test_other_realm),
      cmocka_unit_test(test_expired),
      cmocka_unit_test(test_forged),
      cmocka_unit_test(test_replay),
      cmocka_unit_test(test_malformed_credentials),
      cmocka_unit_test(test_auth_int_and_ha1),
      cmocka_unit_test(test_eviction),
      cmocka_unit_test(test_rate_limiter),
      cmocka_unit_test(test_memory_bound),
      cmocka_unit_test(test_alloc_sweep),
      cmocka_unit_test(test_verify_msg),
      cmocka_unit_test(test_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
