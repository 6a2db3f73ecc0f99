/*
 * tests/unit/test_auth_client.c: the digest client (RFC 3261 §22, RFC 2617,
 * RFC 7616, RFC 8760): choosing among several challenges, 401 vs 407, nonce
 * counting, stale=true, refused credentials, auth-int, opaque, userhash,
 * escaping, short buffers and failing allocations. Every header produced is
 * parsed back and its response recomputed independently.
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

/* A parameter of a produced header, NUL-terminated into buf ("" if none). */
static const char *param(const char *hdr, const char *name, char *buf,
                         size_t cap) {
  sipline_auth_hdr h;
  assert_int_equal(sipline_auth_hdr_parse(pl(hdr), &h), 0);
  assert_true(sipline_pl_casecmp_str(h.scheme, "Digest"));
  sipline_pl v;
  if (sipline_auth_hdr_get(&h, name, &v) != 0)
    return NULL;
  assert_true(v.len < cap);
  memcpy(buf, v.p, v.len);
  buf[v.len] = '\0';
  return buf;
}

/*
 * Recomputes the response of hdr from its own parameters and the password,
 * and checks it matches; returns the nc it carried (0 without qop).
 */
static uint32_t check_header(const char *hdr, const char *user,
                             const char *password, const char *method,
                             sipline_pl body) {
  char alg[32], qop[16], realm[600], nonce[600], uri[300], cnonce[64], nc[16],
      resp[80], un[100];
  assert_non_null(param(hdr, "algorithm", alg, sizeof(alg)));
  assert_non_null(param(hdr, "realm", realm, sizeof(realm)));
  assert_non_null(param(hdr, "nonce", nonce, sizeof(nonce)));
  assert_non_null(param(hdr, "uri", uri, sizeof(uri)));
  assert_non_null(param(hdr, "response", resp, sizeof(resp)));
  assert_non_null(param(hdr, "username", un, sizeof(un)));
  /* The hash inputs are the values without their quoted-pair escapes. */
  char ubuf[3][600];
  sipline_pl ur, un_, uu;
  assert_int_equal(sipline__unescape(pl(realm), ubuf[0], 600, &ur), 0);
  assert_int_equal(sipline__unescape(pl(nonce), ubuf[1], 600, &un_), 0);
  assert_int_equal(sipline__unescape(pl(uri), ubuf[2], 600, &uu), 0);
  sipline_digest_params p = {
      .alg = sipline_digest_alg_from(pl(alg)),
      .username = pl(user),
      .realm = ur,
      .password = pl(password),
      .method = pl(method),
      .uri = uu,
      .nonce = un_,
      .body = body,
  };
  if (param(hdr, "qop", qop, sizeof(qop))) {
    p.qop = !strcmp(qop, "auth") ? SIPLINE_QOP_AUTH : SIPLINE_QOP_AUTH_INT;
    assert_non_null(param(hdr, "cnonce", cnonce, sizeof(cnonce)));
    assert_non_null(param(hdr, "nc", nc, sizeof(nc)));
    assert_int_equal(strlen(nc), 8);
    p.cnonce = pl(cnonce);
    p.nc = (uint32_t)strtoul(nc, NULL, 16);
  } else {
    assert_null(param(hdr, "cnonce", cnonce, sizeof(cnonce)));
    assert_null(param(hdr, "nc", nc, sizeof(nc)));
  }
  char want[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_response(&p, want), 0);
  assert_string_equal(resp, want);
  /* No secret leaks into the header. */
  assert_null(strstr(hdr, password));
  return p.nc;
}

static sipline_auth_client *mk(unsigned flags) {
  sipline_auth_client *c = NULL;
  sipline_auth_client_cfg cfg = {
      .username = "alice", .password = "s3cr3t-pw", .flags = flags};
  assert_int_equal(sipline_auth_client_new(&c, &cfg, NULL), 0);
  return c;
}

static sipline_rng rng;

static sipline_auth_req req_of(const char *method, const char *uri,
                               const char *body) {
  sipline_auth_req r = {
      .method = pl(method), .uri = pl(uri), .body = pl(body), .rng = &rng};
  return r;
}

static void test_new_errors(void **state) {
  (void)state;
  sipline_auth_client *c = (void *)1;
  sipline_auth_client_cfg cfg = {.username = "a"};
  assert_int_equal(sipline_auth_client_new(&c, &cfg, NULL), SIPLINE_ERR_INVAL);
  assert_null(c);
  cfg = (sipline_auth_client_cfg){.password = "p"};
  assert_int_equal(sipline_auth_client_new(&c, &cfg, NULL), SIPLINE_ERR_INVAL);
  assert_int_equal(sipline_auth_client_new(&c, NULL, NULL), SIPLINE_ERR_INVAL);
  sipline_auth_client_del(NULL);
}

/* Several challenges for one realm: the strongest supported wins. */
static void test_strongest(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 1);
  sipline_auth_client *c = mk(0);
  sipline_pl ch[] = {
      pl("Basic realm=\"x\""),
      pl("Digest realm=\"r\", nonce=\"n1\", qop=\"auth\", algorithm=MD5"),
      pl("Digest realm=\"r\", nonce=\"n1\", qop=\"auth\", "
         "algorithm=SHA-512-256"),
      pl("Digest realm=\"r\", nonce=\"n1\", qop=\"auth\", algorithm=AKAv1-MD5"),
      pl("Digest realm=\"r\", nonce=\"n1\", qop=\"auth\", algorithm=SHA-256"),
  };
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 5),
                   0);
  assert_int_equal(sipline_auth_client_count(c), 1);
  char out[1024], b[64];
  sipline_auth_req rq = req_of("REGISTER", "sip:example.com", "");
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_string_equal(param(out, "algorithm", b, sizeof(b)), "SHA-512-256");
  assert_int_equal(check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl("")),
                   1);

  /* The order offered does not matter; SHA-256 beats MD5-sess. */
  sipline_pl ch2[] = {
      pl("Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", algorithm=MD5-sess"),
      pl("Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", algorithm=SHA-256"),
      pl("Digest realm=\"r\", nonce=\"n2\", qop=\"auth\""),
  };
  sipline_auth_client_reset(c);
  assert_int_equal(sipline_auth_client_count(c), 0);
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch2, 3),
                   0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_string_equal(param(out, "algorithm", b, sizeof(b)), "SHA-256");
  check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl(""));

  /* MD5-sess alone works (session key from nonce and cnonce). */
  sipline_auth_client_reset(c);
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch2, 1),
                   0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_string_equal(param(out, "algorithm", b, sizeof(b)), "MD5-sess");
  check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl(""));

  /* NO_MD5 skips the MD5 family; only MD5 offered → unsupported. */
  sipline_auth_client *c2 = mk(SIPLINE_AUTH_NO_MD5);
  assert_int_equal(sipline_auth_client_challenge(c2, SIPLINE_AUTH_WWW, ch, 2),
                   SIPLINE_ERR_UNSUPPORTED);
  assert_int_equal(sipline_auth_client_challenge(c2, SIPLINE_AUTH_WWW, ch, 3),
                   0);
  sipline_auth_client_del(c2);

  /* Nothing answerable, or nothing parseable. */
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   SIPLINE_ERR_UNSUPPORTED);
  sipline_pl junk[] = {pl("Digest realm"), pl("")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, junk, 2),
                   SIPLINE_ERR_MALFORMED);
  sipline_pl nononce[] = {pl("Digest realm=\"r\", qop=\"auth\"")};
  assert_int_equal(
      sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, nononce, 1),
      SIPLINE_ERR_MALFORMED);
  sipline_pl badqop[] = {pl("Digest realm=\"r\", nonce=\"x\", qop=\"foo\"")};
  assert_int_equal(
      sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, badqop, 1),
      SIPLINE_ERR_UNSUPPORTED);
  sipline_auth_client_del(c);
}

static const char *resp401 =
    "SIP/2.0 401 Unauthorized\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
    "From: <sip:alice@example.com>;tag=1\r\n"
    "To: <sip:alice@example.com>;tag=2\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"abc\", "
    "qop=\"auth\", algorithm=MD5\r\n"
    "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"abc\", "
    "qop=\"auth\", algorithm=SHA-256\r\n"
    "Content-Length: 0\r\n\r\n";

static const char *resp407 =
    "SIP/2.0 407 Proxy Authentication Required\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2\r\n"
    "From: <sip:alice@example.com>;tag=1\r\n"
    "To: <sip:bob@example.com>;tag=3\r\n"
    "Call-ID: c2\r\n"
    "CSeq: 1 INVITE\r\n"
    "Proxy-Authenticate: Digest realm=\"proxy.example.com\", nonce=\"p1\", "
    "qop=\"auth\", opaque=\"op/aq\"\r\n"
    "Content-Length: 0\r\n\r\n";

static const char *resp200 =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2\r\n"
    "From: <sip:alice@example.com>;tag=1\r\n"
    "To: <sip:bob@example.com>;tag=3\r\n"
    "Call-ID: c2\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

static void parse(sipline_msg *m, const char *s) {
  assert_true(sipline_msg_parse(m, s, strlen(s), SIPLINE_PARSE_DATAGRAM, NULL) >
              0);
}

/* 401 → Authorization, 407 → Proxy-Authorization, both cached together. */
static void test_401_407(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 2);
  sipline_auth_client *c = mk(0);
  static sipline_msg m;
  parse(&m, resp200);
  assert_int_equal(sipline_auth_client_on_response(c, &m),
                   SIPLINE_ERR_NOTFOUND);
  parse(&m, resp401);
  assert_int_equal(sipline_auth_client_on_response(c, &m), 0);
  assert_int_equal(sipline_auth_client_count(c), 1);
  assert_int_equal(sipline_auth_client_kind(c, 0), SIPLINE_AUTH_WWW);
  parse(&m, resp407);
  assert_int_equal(sipline_auth_client_on_response(c, &m), 0);
  assert_int_equal(sipline_auth_client_count(c), 2);
  assert_int_equal(sipline_auth_client_kind(c, 1), SIPLINE_AUTH_PROXY);
  assert_string_equal(sipline_auth_credentials_hdr(SIPLINE_AUTH_PROXY),
                      "Proxy-Authorization");
  assert_string_equal(sipline_auth_challenge_hdr(SIPLINE_AUTH_WWW),
                      "WWW-Authenticate");

  char out[2048], b[64];
  sipline_auth_req rq = req_of("INVITE", "sip:bob@example.com", "");
  ptrdiff_t n = sipline_auth_client_headers(c, &rq, out, sizeof(out));
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(out));
  /* Two lines, in cache order, with the right names. */
  assert_memory_equal(out, "Authorization: Digest ", 22);
  char *l2 = strstr(out, "\r\nProxy-Authorization: Digest ");
  assert_non_null(l2);
  assert_memory_equal(out + n - 2, "\r\n", 2);
  *l2 = '\0';
  check_header(out + 15, "alice", "s3cr3t-pw", "INVITE", pl(""));
  assert_string_equal(param(out + 15, "algorithm", b, sizeof(b)), "SHA-256");
  out[n - 2] = '\0';
  char *v2 = l2 + 2 + strlen("Proxy-Authorization: ");
  check_header(v2, "alice", "s3cr3t-pw", "INVITE", pl(""));
  /* opaque is echoed; an absent algorithm means MD5 (and we say so). */
  assert_string_equal(param(v2, "opaque", b, sizeof(b)), "op/aq");
  assert_string_equal(param(v2, "algorithm", b, sizeof(b)), "MD5");

  /* The internal buffer flavour gives the same shape with the next nc. */
  sipline__buf buf;
  sipline__buf_init(&buf, NULL);
  assert_int_equal(sipline__auth_client_append(c, &rq, &buf), 0);
  assert_non_null(strstr(buf.p, "nc=00000002"));
  assert_memory_equal(buf.p + buf.len - 2, "\r\n", 2);
  sipline__buf_free(&buf);
  sipline_auth_client_del(c);
}

/* nc increments per use of a nonce and resets with a new nonce. */
static void test_nc_counting(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 3);
  sipline_auth_client *c = mk(0);
  sipline_pl ch[] = {pl("Digest realm=\"r\", nonce=\"N1\", qop=\"auth\"")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   0);
  char out[1024], cn1[64], cn2[64];
  sipline_auth_req rq = req_of("REGISTER", "sip:r", "");
  for (uint32_t i = 1; i <= 3; i++) {
    assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
    assert_int_equal(
        check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl("")), i);
    param(out, "cnonce", i == 1 ? cn1 : cn2, sizeof(cn1));
  }
  /* A fresh cnonce each time. */
  assert_string_not_equal(cn1, cn2);

  /* A buffer too small does not consume a count. */
  char tiny[20];
  assert_int_equal(sipline_auth_client_header(c, 0, &rq, tiny, sizeof(tiny)),
                   SIPLINE_ERR_TOOBIG);
  assert_int_equal(sipline_auth_client_headers(c, &rq, tiny, sizeof(tiny)),
                   SIPLINE_ERR_TOOBIG);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_int_equal(check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl("")),
                   4);
  /* Bad arguments. */
  assert_int_equal(sipline_auth_client_header(c, 1, &rq, out, sizeof(out)),
                   SIPLINE_ERR_NOTFOUND);
  sipline_auth_req norng = rq;
  norng.rng = NULL;
  assert_int_equal(sipline_auth_client_header(c, 0, &norng, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  sipline_auth_req nouri = rq;
  nouri.uri = SIPLINE_PL_NULL;
  assert_int_equal(sipline_auth_client_header(c, 0, &nouri, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);

  /* The nonce was reused (pre-authentication): the server's new challenge
   * without stale is a new nonce, not a refusal, and nc starts again. */
  sipline_pl ch2[] = {pl("Digest realm=\"r\", nonce=\"N2\", qop=\"auth\"")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch2, 1),
                   0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_int_equal(check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl("")),
                   1);
  char b[64];
  assert_string_equal(param(out, "nonce", b, sizeof(b)), "N2");
  sipline_auth_client_del(c);
}

/* The client keeps HA1 per cached challenge (a refresh hashes twice, not
 * three times): it must follow the realm and the algorithm, including a
 * realm that moves to another algorithm and an -sess algorithm built on
 * the kept HA1. Every header is recomputed from the password. */
static void test_ha1_kept_per_challenge(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 7);
  sipline_auth_client *c = mk(0);
  sipline_auth_req rq = req_of("REGISTER", "sip:r", "");
  char out[1024], b[64];
  static const char *const chs[] = {
      "Digest realm=\"r\", nonce=\"N1\", qop=\"auth\"",
      "Digest realm=\"r\", nonce=\"N2\", qop=\"auth\", "
      "algorithm=SHA-256",
      "Digest realm=\"r2\", nonce=\"N3\", qop=\"auth\", "
      "algorithm=SHA-256",
      "Digest realm=\"r2\", nonce=\"N4\", qop=\"auth\", "
      "algorithm=MD5-sess, stale=true",
      "Digest realm=\"r\", nonce=\"N5\", algorithm=SHA-512-256",
  };
  static const char *const algs[] = {"MD5", "SHA-256", "SHA-256", "MD5-sess",
                                     "SHA-512-256"};
  for (size_t k = 0; k < sizeof chs / sizeof chs[0]; k++) {
    sipline_pl ch[] = {pl(chs[k])};
    /* A new realm starts over; the same realm replaces its entry (and
     * its HA1) in place. */
    if (k == 2 || k == 4)
      sipline_auth_client_reset(c);
    assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                     0);
    for (int i = 0; i < 3; i++) {
      assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
      check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl(""));
      assert_string_equal(param(out, "algorithm", b, sizeof(b)), algs[k]);
    }
  }
  sipline_auth_client_del(c);
}

/* One header of c for method/uri/body, checked from the password; returns
 * its nc. */
static uint32_t answer(sipline_auth_client *c, const char *method,
                       const char *uri, const char *body) {
  char out[2048];
  sipline_auth_req rq = req_of(method, uri, body);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  return check_header(out, "alice", "s3cr3t-pw", method, pl(body));
}

/* The client keeps HA2 = H(method:uri) per cached challenge, keyed by the
 * method and Request-URI: a refresh must still be right after a change of
 * method, of URI (longer, shorter, same length), of nonce, of realm and of
 * algorithm, for every algorithm and without qop. */
static void test_kept_ha2(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 11);
  static const char *const chs[] = {
      "Digest realm=\"r\", nonce=\"N1\", qop=\"auth\"",
      "Digest realm=\"r\", nonce=\"N1\", qop=\"auth\", algorithm=SHA-256",
      "Digest realm=\"r\", nonce=\"N1\", qop=\"auth\", algorithm=SHA-512-256",
      "Digest realm=\"r\", nonce=\"N1\", qop=\"auth\", algorithm=MD5-sess",
      "Digest realm=\"r\", nonce=\"N1\"",
      "Digest realm=\"r\", nonce=\"N1\", algorithm=SHA-256",
  };
  static const char *const seq[][2] = {
      {"REGISTER", "sip:r"},
      {"REGISTER", "sip:r"},
      {"INVITE", "sip:bob@r"},
      {"REGISTER", "sip:r"},
      {"REGISTER", "sip:r;transport=tcp"},
      {"REGISTER", "sip:s"},
      {"PUBLISH", "sip:s"},
      {"MESSAGE", "sip:s"},
      {"MESSAGE", "sip:s"},
      {"REGISTER", "sip:r"},
      {"REGISTER", "sip:r"},
  };
  for (size_t k = 0; k < sizeof chs / sizeof chs[0]; k++) {
    sipline_auth_client *c = mk(0);
    sipline_pl ch[] = {pl(chs[k])};
    assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                     0);
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
      answer(c, seq[i][0], seq[i][1], "");
    /* A new nonce, then another algorithm, then another realm: each a new
     * challenge, none answered with what was kept for the one before. */
    sipline_pl ch2[] = {pl("Digest realm=\"r\", nonce=\"N2\", qop=\"auth\", "
                           "stale=true")};
    sipline_pl ch3[] = {pl("Digest realm=\"r\", nonce=\"N3\", qop=\"auth\", "
                           "algorithm=SHA-256, stale=true")};
    sipline_pl ch4[] = {pl("Digest realm=\"q\", nonce=\"N4\", qop=\"auth\"")};
    sipline_pl *next[] = {ch2, ch3, ch4};
    for (int j = 0; j < 3; j++) {
      if (j == 2)
        sipline_auth_client_reset(c);
      assert_int_equal(
          sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, next[j], 1), 0);
      assert_int_equal(answer(c, "REGISTER", "sip:r", ""), 1);
      assert_int_equal(answer(c, "REGISTER", "sip:r", ""), 2);
    }
    sipline_auth_client_del(c);
  }
}

/* MD5 with a nonce long enough that "HA1:nonce:" fills a block: the client
 * keeps the MD5 state after it. Every length around one and two blocks
 * (HA1 is 32 bytes, so nonces of 30 and 94 end the prefix on a block), an
 * escaped nonce (the state covers the unescaped one), without qop, and a
 * new nonce of the same length (the state must not outlive its nonce). */
static void test_kept_md5_state(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 12);
  static const size_t lens[] = {28, 29, 30, 31, 32, 40, 44,  62,
                                63, 93, 94, 95, 96, 97, 160, 300};
  for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
    for (int variant = 0; variant < 3; variant++) {
      char nonce[400], hdr[600];
      for (size_t i = 0; i < lens[li]; i++)
        nonce[i] = (char)('A' + (i * 7 + (size_t)variant) % 26);
      nonce[lens[li]] = '\0';
      if (variant == 2 && lens[li] > 10)
        memcpy(nonce + 5, "\\\"", 2); /* \" : one byte shorter unescaped */
      snprintf(hdr, sizeof hdr, "Digest realm=\"r\", nonce=\"%s\"%s", nonce,
               variant == 1 ? "" : ", qop=\"auth\"");
      sipline_auth_client *c = mk(0);
      sipline_pl ch[] = {pl(hdr)};
      assert_int_equal(
          sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1), 0);
      for (int i = 0; i < 3; i++)
        answer(c, "REGISTER", "sip:r", "");
      answer(c, "INVITE", "sip:bob@r", "");
      /* Same length, other nonce. */
      nonce[0] = nonce[0] == 'z' ? 'y' : 'z';
      snprintf(hdr, sizeof hdr,
               "Digest realm=\"r\", nonce=\"%s\", stale=true%s", nonce,
               variant == 1 ? "" : ", qop=\"auth\"");
      ch[0] = pl(hdr);
      assert_int_equal(
          sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1), 0);
      for (int i = 0; i < 2; i++)
        answer(c, "REGISTER", "sip:r", "");
      sipline_auth_client_del(c);
    }
  }
}

/* auth-int's HA2 covers the body: never the kept one. Same method and URI
 * with different bodies must each verify with their own body only. */
static void test_kept_auth_int(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 13);
  sipline_auth_client *c = mk(SIPLINE_AUTH_PREFER_AUTH_INT);
  /* A long nonce too: no kept MD5 state mixes into auth-int. */
  sipline_pl ch[] = {pl("Digest realm=\"r\", nonce=\"0123456789abcdef0123456"
                        "789abcdef0123\", qop=\"auth,auth-int\"")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   0);
  static const char *const bodies[] = {"a", "b", "", "a", "v=0\r\n"};
  char out[1024], r1[80], r2[80];
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    sipline_auth_req rq = req_of("REGISTER", "sip:r", bodies[i]);
    assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
    assert_non_null(strstr(out, "qop=auth-int"));
    check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl(bodies[i]));
    param(out, "response", i == 0 ? r1 : r2, sizeof r1);
  }
  /* The same request with qop=auth after a new challenge. */
  sipline_pl ch2[] = {pl("Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", "
                         "stale=true")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch2, 1),
                   0);
  answer(c, "REGISTER", "sip:r", "a");
  answer(c, "REGISTER", "sip:r", "b");
  sipline_auth_client_del(c);
}

/* stale=true means: same credentials, new nonce. Without it after one
 * answer, the credentials were refused. */
static void test_stale_and_refused(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 4);
  sipline_auth_client *c = mk(0);
  sipline_pl ch1[] = {pl("Digest realm=\"r\", nonce=\"A\", qop=\"auth\"")};
  sipline_pl ch2[] = {
      pl("Digest realm=\"r\", nonce=\"B\", qop=\"auth\", stale=TRUE")};
  sipline_pl ch3[] = {pl("Digest realm=\"r\", nonce=\"C\", qop=\"auth\"")};
  char out[1024], b[64];
  sipline_auth_req rq = req_of("REGISTER", "sip:r", "");
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch1, 1),
                   0);
  /* A second challenge before we answered: just a new nonce. */
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch1, 1),
                   0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch2, 1),
                   0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_string_equal(param(out, "nonce", b, sizeof(b)), "B");
  assert_int_equal(check_header(out, "alice", "s3cr3t-pw", "REGISTER", pl("")),
                   1);
  /* Answered B once; a new challenge without stale: refused. */
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch3, 1),
                   SIPLINE_ERR_AUTH);
  assert_int_equal(sipline_auth_client_count(c), 0);
  /* A later request starts over (a new 401 is a first challenge). */
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch3, 1),
                   0);
  /* The same nonce challenged again after being used twice: refused too. */
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch3, 1),
                   SIPLINE_ERR_AUTH);
  /* A refusal for one realm does not hide others cached alongside. */
  sipline_pl two[] = {pl("Digest realm=\"r\", nonce=\"D\", qop=\"auth\""),
                      pl("Digest realm=\"s\", nonce=\"E\", qop=\"auth\"")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, two, 2),
                   0);
  assert_int_equal(sipline_auth_client_count(c), 2);
  assert_true(sipline_auth_client_headers(c, &rq, out, sizeof(out)) > 0);
  sipline_pl only_r[] = {pl("Digest realm=\"r\", nonce=\"F\", qop=\"auth\"")};
  assert_int_equal(
      sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, only_r, 1),
      SIPLINE_ERR_AUTH);
  assert_int_equal(sipline_auth_client_count(c), 1);
  /* Same realm under 401 and 407 are distinct entries. */
  assert_int_equal(
      sipline_auth_client_challenge(c, SIPLINE_AUTH_PROXY, only_r, 1), 0);
  assert_int_equal(sipline_auth_client_count(c), 2);
  sipline_auth_client_del(c);
}

/* qop selection and auth-int body hashing. */
static void test_auth_int(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 5);
  const char *body = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n";
  char out[1024], b[64];
  sipline_auth_req rq = req_of("INVITE", "sip:bob@example.com", body);
  sipline_pl both[] = {
      pl("Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\"")};
  sipline_pl only_int[] = {
      pl("Digest realm=\"r\", nonce=\"n\", qop=\" auth-int \"")};

  sipline_auth_client *c = mk(0);
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, both, 1),
                   0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_string_equal(param(out, "qop", b, sizeof(b)), "auth");
  check_header(out, "alice", "s3cr3t-pw", "INVITE", pl(body));
  sipline_auth_client_reset(c);
  assert_int_equal(
      sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, only_int, 1), 0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_string_equal(param(out, "qop", b, sizeof(b)), "auth-int");
  check_header(out, "alice", "s3cr3t-pw", "INVITE", pl(body));
  /* The body matters: the same header does not verify for another body. */
  char resp[80];
  param(out, "response", resp, sizeof(resp));
  sipline_auth_client_del(c);

  c = mk(SIPLINE_AUTH_PREFER_AUTH_INT);
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, both, 1),
                   0);
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_string_equal(param(out, "qop", b, sizeof(b)), "auth-int");
  check_header(out, "alice", "s3cr3t-pw", "INVITE", pl(body));
  /* Empty body: H("") goes into A2. */
  sipline_auth_req rq0 = req_of("INVITE", "sip:bob@example.com", "");
  assert_true(sipline_auth_client_header(c, 0, &rq0, out, sizeof(out)) > 0);
  check_header(out, "alice", "s3cr3t-pw", "INVITE", pl(""));
  sipline_auth_client_del(c);
}

/* RFC 2069 compatibility (no qop): no cnonce or nc. */
static void test_rfc2069(void **state) {
  (void)state;
  sipline_auth_client *c = NULL;
  sipline_auth_client_cfg cfg = {.username = "bob", .password = "zanzibar"};
  assert_int_equal(sipline_auth_client_new(&c, &cfg, NULL), 0);
  sipline_pl ch[] = {pl("Digest realm=\"biloxi.com\", "
                        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   0);
  char out[1024], b[64];
  sipline_auth_req rq = {.method = pl("INVITE"),
                         .uri = pl("sip:bob@biloxi.com")};
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  /* draft-smith §3.1 */
  assert_string_equal(param(out, "response", b, sizeof(b)),
                      "bf57e4e0d0bffc0fbaedce64d59add5e");
  check_header(out, "bob", "zanzibar", "INVITE", pl(""));
  /* The refusal rule also works without nc. */
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   SIPLINE_ERR_AUTH);
  sipline_auth_client_del(c);

  c = mk(SIPLINE_AUTH_NO_RFC2069);
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   SIPLINE_ERR_UNSUPPORTED);
  /* -sess without qop has no cnonce to key the session: skipped. */
  sipline_auth_client_del(c);
  c = mk(0);
  sipline_pl sess[] = {pl("Digest realm=\"r\", nonce=\"n\", "
                          "algorithm=MD5-sess")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, sess, 1),
                   SIPLINE_ERR_UNSUPPORTED);
  sipline_auth_client_del(c);
}

/* userhash=true (RFC 7616 §3.4.4) and escapes in quoted values. */
static void test_userhash_and_escapes(void **state) {
  (void)state;
  sipline_rng_seed(&rng, 6);
  sipline_auth_client *c = mk(0);
  sipline_pl ch[] = {pl("Digest realm=\"we \\\"quote\\\" it\", nonce=\"n\", "
                        "qop=\"auth\", algorithm=SHA-256, userhash=true")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   0);
  char out[1024], b[128];
  sipline_auth_req rq = req_of("REGISTER", "sip:r", "");
  assert_true(sipline_auth_client_header(c, 0, &rq, out, sizeof(out)) > 0);
  assert_non_null(strstr(out, "realm=\"we \\\"quote\\\" it\""));
  assert_non_null(strstr(out, "userhash=true"));
  char uh[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_userhash(SIPLINE_DIGEST_SHA256, pl("alice"),
                                           pl("we \"quote\" it"), uh),
                   0);
  assert_string_equal(param(out, "username", b, sizeof(b)), uh);
  /* The hash input is the unescaped realm. */
  char resp[80], cn[64], nc[16];
  param(out, "response", resp, sizeof(resp));
  param(out, "cnonce", cn, sizeof(cn));
  param(out, "nc", nc, sizeof(nc));
  sipline_digest_params p = {
      .alg = SIPLINE_DIGEST_SHA256,
      .qop = SIPLINE_QOP_AUTH,
      .username = pl("alice"),
      .realm = pl("we \"quote\" it"),
      .password = pl("s3cr3t-pw"),
      .method = pl("REGISTER"),
      .uri = pl("sip:r"),
      .nonce = pl("n"),
      .cnonce = pl(cn),
      .nc = 1,
  };
  char want[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_response(&p, want), 0);
  assert_string_equal(resp, want);
  sipline_auth_client_del(c);

  /* A username that needs escaping, and a URI with a CRLF, cannot break
   * out of the header. */
  sipline_auth_client_cfg cfg = {.username = "a\"b\\c", .password = "p"};
  assert_int_equal(sipline_auth_client_new(&c, &cfg, NULL), 0);
  sipline_pl ch2[] = {pl("Digest realm=\"r\", nonce=\"n\", qop=\"auth\"")};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch2, 1),
                   0);
  sipline_auth_req evil = req_of("REGISTER", "sip:r\r\nX-Evil: 1", "");
  assert_true(sipline_auth_client_header(c, 0, &evil, out, sizeof(out)) > 0);
  assert_non_null(strstr(out, "username=\"a\\\"b\\\\c\""));
  assert_null(strchr(out, '\r'));
  assert_null(strchr(out, '\n'));
  sipline_auth_client_del(c);
}

/* Long values are refused, not truncated; realms are bounded. */
static void test_limits(void **state) {
  (void)state;
  sipline_auth_client *c = mk(0);
  char big[2 * SIPLINE_AUTH_MAX_VALUE];
  int n = snprintf(big, sizeof(big), "Digest realm=\"r\", nonce=\"");
  memset(big + n, 'x', SIPLINE_AUTH_MAX_VALUE);
  strcpy(big + n + SIPLINE_AUTH_MAX_VALUE, "\", qop=\"auth\"");
  sipline_pl ch[] = {pl(big)};
  assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                   SIPLINE_ERR_TOOBIG);
  /* More realms than the cache holds: the oldest goes. */
  char v[8][80];
  sipline_pl one[1];
  for (int i = 0; i < 8; i++) {
    snprintf(v[i], sizeof(v[i]),
             "Digest realm=\"r%d\", nonce=\"n\", qop=\"auth\"", i);
    one[0] = pl(v[i]);
    assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, one, 1),
                     0);
    assert_true(sipline_auth_client_count(c) <= SIPLINE_AUTH_CLIENT_MAX_REALMS);
  }
  assert_int_equal(sipline_auth_client_count(c),
                   SIPLINE_AUTH_CLIENT_MAX_REALMS);
  sipline_auth_client_del(c);
}

/* A counting allocator that fails the n-th allocation. */
static long alloc_live, alloc_count, alloc_fail_at = -1;
static void *t_malloc(size_t n, void *u) {
  (void)u;
  if (alloc_count++ == alloc_fail_at)
    return NULL;
  alloc_live++;
  return malloc(n);
}
static void *t_calloc(size_t a, size_t b, void *u) {
  (void)u;
  if (alloc_count++ == alloc_fail_at)
    return NULL;
  alloc_live++;
  return calloc(a, b);
}
static void *t_realloc(void *p, size_t n, void *u) {
  (void)u;
  if (alloc_count++ == alloc_fail_at)
    return NULL;
  if (!p)
    alloc_live++;
  return realloc(p, n);
}
static void t_free(void *p, void *u) {
  (void)u;
  if (p)
    alloc_live--;
  free(p);
}
static const sipline_mem tmem = {NULL, t_malloc, t_free, t_calloc, t_realloc};

/* Fail the n-th allocation for every n: no crash, no leak; a failed
 * challenge leaves the cache as it was. */
static void test_alloc_sweep(void **state) {
  (void)state;
  int completed = 0;
  for (long fail = 0; fail < 100 && !completed; fail++) {
    alloc_live = alloc_count = 0;
    alloc_fail_at = fail;
    sipline_rng_seed(&rng, 7);
    sipline_auth_client *c = NULL;
    sipline_auth_client_cfg cfg = {.username = "u", .password = "p"};
    int r = sipline_auth_client_new(&c, &cfg, &tmem);
    if (r) {
      assert_int_equal(r, SIPLINE_ERR_NOMEM);
      assert_null(c);
      assert_int_equal(alloc_live, 0);
      continue;
    }
    sipline_pl ch[] = {pl("Digest realm=\"a\", nonce=\"1\", qop=\"auth\""),
                       pl("Digest realm=\"b\", nonce=\"2\", qop=\"auth\"")};
    r = sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 2);
    if (r) {
      assert_int_equal(r, SIPLINE_ERR_NOMEM);
      assert_int_equal(sipline_auth_client_count(c), 0);
    } else {
      assert_int_equal(sipline_auth_client_count(c), 2);
      sipline_auth_req rq = req_of("REGISTER", "sip:a", "");
      sipline__buf b;
      sipline__buf_init(&b, &tmem);
      r = sipline__auth_client_append(c, &rq, &b);
      if (r == 0) {
        assert_non_null(strstr(b.p, "realm=\"b\""));
        completed = 1;
      } else {
        assert_int_equal(r, SIPLINE_ERR_NOMEM);
      }
      sipline__buf_free(&b);
    }
    sipline_auth_client_del(c);
    assert_int_equal(alloc_live, 0);
  }
  assert_true(completed);
  alloc_fail_at = -1;
}

/* The kept HA2 and its key live in the entry's block, grown at the first
 * answer: a refresh with the same method and URI allocates nothing, a
 * longer URI grows the block once, a shorter one fits; when growing fails
 * the header is still right (HA2 is then hashed and not kept). */
static void test_kept_ha2_allocs(void **state) {
  (void)state;
  for (long fail = -1; fail < 12; fail++) {
    alloc_live = alloc_count = 0;
    alloc_fail_at = -1;
    sipline_rng_seed(&rng, 14);
    sipline_auth_client *c = NULL;
    sipline_auth_client_cfg cfg = {.username = "alice",
                                   .password = "s3cr3t-pw"};
    assert_int_equal(sipline_auth_client_new(&c, &cfg, &tmem), 0);
    sipline_pl ch[] = {pl("Digest realm=\"r\", nonce=\"n\", qop=\"auth\"")};
    assert_int_equal(sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, ch, 1),
                     0);
    long base = alloc_count;
    alloc_fail_at = fail < 0 ? -1 : base + fail;
    static const char *const uris[] = {"sip:r", "sip:r", "sip:r;x=1", "sip:r",
                                       "sip:r;x=1"};
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
      long before = alloc_count;
      assert_int_equal(answer(c, "REGISTER", uris[i], ""), i + 1);
      if (fail < 0)
        assert_int_equal(alloc_count - before, i == 0 || i == 2 ? 1 : 0);
    }
    alloc_fail_at = -1;
    sipline_auth_client_del(c);
    assert_int_equal(alloc_live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_errors),
      cmocka_unit_test(test_strongest),
      cmocka_unit_test(test_401_407),
      cmocka_unit_test(test_nc_counting),
      cmocka_unit_test(test_ha1_kept_per_challenge),
      cmocka_unit_test(test_kept_ha2),
      cmocka_unit_test(test_kept_md5_state),
      cmocka_unit_test(test_kept_auth_int),
      cmocka_unit_test(test_kept_ha2_allocs),
      cmocka_unit_test(test_stale_and_refused),
      cmocka_unit_test(test_auth_int),
      cmocka_unit_test(test_rfc2069),
      cmocka_unit_test(test_userhash_and_escapes),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_alloc_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
