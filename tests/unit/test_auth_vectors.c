/*
 * tests/unit/test_auth_vectors.c: every row of the shared digest vectors
 * (testdata/digest/vectors.tsv, RFC 2617, RFC 7616 with erratum 4897,
 * draft-smith-sipping-auth-examples, JsSIP) computed by our code; the file
 * must be there. Also the intermediate HA1 values and the userhash of
 * NOTES.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth/auth.h"

#define DIGEST_DIR SIPLINE_TESTDATA "/digest/"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  fclose(f);
  if (p) {
    p[n] = '\0';
    *len = (size_t)n;
  }
  return p;
}

/* Splits a line at tabs into at most max fields, in place. */
static int split_tabs(char *line, char **f, int max) {
  int n = 0;
  f[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == '\t') {
      *p = '\0';
      f[n++] = p + 1;
    }
  return n;
}

/* The body a row's auth-int digest covers (NOTES.md). */
static char *body_for(const char *source, size_t *len) {
  if (strstr(source, "draft-smith") &&
      (strstr(source, "-3.5") || strstr(source, "-3.6")))
    return slurp(DIGEST_DIR "draft-smith-auth-int-body.sdp", len);
  if (strstr(source, "auth-int-body"))
    return slurp(DIGEST_DIR "jssip-auth-int-body.txt", len);
  if (strstr(source, "auth-int-emptybody")) {
    *len = 0;
    return calloc(1, 1);
  }
  return NULL;
}

static sipline_pl pl(const char *s) {
  return sipline_pl_str(s);
}

static void test_vectors_tsv(void **state) {
  (void)state;
  size_t len;
  char *tsv = slurp(DIGEST_DIR "vectors.tsv", &len);
  if (!tsv)
    fail_msg("missing %s", DIGEST_DIR "vectors.tsv");
  int rows = 0, header = 1, auth_int = 0;
  char *save = NULL;
  for (char *line = strtok_r(tsv, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    if (header) {
      header = 0;
      assert_non_null(strstr(line, "expected_response"));
      continue;
    }
    char *f[12];
    assert_int_equal(split_tabs(line, f, 12), 12);
    const char *source = f[0], *alg = f[1], *qop = f[2], *nc = f[9];
    sipline_digest_params p = {
        .alg = sipline_digest_alg_from(pl(alg)),
        .username = pl(f[3]),
        .realm = pl(f[4]),
        .password = pl(f[5]),
        .method = pl(f[6]),
        .uri = pl(f[7]),
        .nonce = pl(f[8]),
        .cnonce = pl(f[10]),
    };
    assert_int_not_equal(p.alg, SIPLINE_DIGEST_NONE);
    if (!*qop)
      p.qop = SIPLINE_QOP_NONE;
    else if (!strcmp(qop, "auth"))
      p.qop = SIPLINE_QOP_AUTH;
    else if (!strcmp(qop, "auth-int"))
      p.qop = SIPLINE_QOP_AUTH_INT;
    else
      fail_msg("%s: unknown qop %s", source, qop);
    if (*nc)
      p.nc = (uint32_t)strtoul(nc, NULL, 16);
    char *body = NULL;
    if (p.qop == SIPLINE_QOP_AUTH_INT) {
      size_t blen = 0;
      body = body_for(source, &blen);
      if (!body)
        fail_msg("%s: no body file for this auth-int row", source);
      p.body = (sipline_pl){body, blen};
      auth_int++;
    }
    char out[SIPLINE_DIGEST_HEX_MAX + 1];
    assert_int_equal(sipline_digest_response(&p, out), 0);
    if (strcmp(out, f[11]) != 0)
      fail_msg("%s (%s): got %s want %s", source, alg, out, f[11]);

    /* The same from a stored HA1 instead of the password. */
    char ha1[SIPLINE_DIGEST_HEX_MAX + 1], out2[SIPLINE_DIGEST_HEX_MAX + 1];
    assert_int_equal(
        sipline_digest_ha1(p.alg, p.username, p.realm, p.password, ha1), 0);
    p.password = SIPLINE_PL_NULL;
    p.ha1 = pl(ha1);
    assert_int_equal(sipline_digest_response(&p, out2), 0);
    assert_string_equal(out2, f[11]);
    free(body);
    rows++;
  }
  free(tsv);
  /* 13 rows as NOTES.md says, four of them auth-int. */
  assert_int_equal(rows, 13);
  assert_int_equal(auth_int, 4);
}

static void check_ha1(sipline_digest_alg a, const char *u, const char *r,
                      const char *pw, const char *want) {
  char out[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_ha1(a, pl(u), pl(r), pl(pw), out), 0);
  assert_string_equal(out, want);
}

/* NOTES.md's intermediate values. */
static void test_intermediates(void **state) {
  (void)state;
  check_ha1(SIPLINE_DIGEST_MD5, "Mufasa", "testrealm@host.com",
            "Circle Of Life", "939e7578ed9e3c518a452acee763bce9");
  check_ha1(SIPLINE_DIGEST_MD5, "Mufasa", "http-auth@example.org",
            "Circle of Life", "3d78807defe7de2157e2b0b6573a855f");
  check_ha1(SIPLINE_DIGEST_SHA256, "Mufasa", "http-auth@example.org",
            "Circle of Life",
            "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
  check_ha1(SIPLINE_DIGEST_SHA512_256, "J\xc3\xa4s\xc3\xb8n Doe",
            "api@example.org", "Secret, or not?",
            "2d3d9f12c9f3d30011259dc5fecee005ae24de40e3e1f61806d03e65f1e6024f");
  check_ha1(SIPLINE_DIGEST_MD5, "bob", "biloxi.com", "zanzibar",
            "12af60467a33e8518da5c68bbff12b11");
  /* draft-smith MD5-sess session key: H(HA1:nonce:cnonce). */
  char key[SIPLINE_DIGEST_HEX_MAX + 1];
  sipline_pl parts[3] = {pl("12af60467a33e8518da5c68bbff12b11"),
                         pl("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
                         pl("0a4f113b")};
  assert_int_equal(sipline__digest_hex(SIPLINE_DIGEST_MD5, parts, 3, key), 0);
  assert_string_equal(key, "4f36886771c77832be5c5a8de5a7ec82");
  /* The draft's Digest-Body-Digest of its SDP body. */
  size_t blen;
  char *body = slurp(DIGEST_DIR "draft-smith-auth-int-body.sdp", &blen);
  assert_non_null(body);
  assert_int_equal(blen, 243);
  sipline_pl b = {body, blen};
  assert_int_equal(sipline__digest_hex(SIPLINE_DIGEST_MD5, &b, 1, key), 0);
  assert_string_equal(key, "c1ed018b8ec4a3b170c0921f5b564e48");
  free(body);
}

/* RFC 7616 §3.9.2 with erratum 4897: SHA-512/256 is not truncated SHA-512. */
static void test_rfc7616_erratum(void **state) {
  (void)state;
  char uh[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_userhash(SIPLINE_DIGEST_SHA512_256,
                                           pl("J\xc3\xa4s\xc3\xb8n Doe"),
                                           pl("api@example.org"), uh),
                   0);
  assert_string_equal(
      uh, "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
  assert_string_not_equal(
      uh, "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec");
  sipline_digest_params p = {
      .alg = SIPLINE_DIGEST_SHA512_256,
      .qop = SIPLINE_QOP_AUTH,
      .username = pl("J\xc3\xa4s\xc3\xb8n Doe"),
      .realm = pl("api@example.org"),
      .password = pl("Secret, or not?"),
      .method = pl("GET"),
      .uri = pl("/doe.json"),
      .nonce = pl("5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"),
      .cnonce = pl("NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"),
      .nc = 1,
  };
  char out[SIPLINE_DIGEST_HEX_MAX + 1];
  assert_int_equal(sipline_digest_response(&p, out), 0);
  assert_string_equal(
      out, "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
  assert_string_not_equal(
      out, "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd");
}

/*
 * The MD5 path hashes by whole blocks and pads by itself (digest.c,
 * hash_md5): checked against EVP at every input length from 0 to 300, so
 * every padding case (the 0x80 and the length in the same block or in a
 * block of their own, 55/56/63/64 bytes past a multiple of 64) and every
 * way parts straddle a block (one part, ':'-joined parts split at every
 * place) is covered, with secret and public inputs alike (sipline_digest_ha1
 * and sipline_digest_userhash take the same hash with different wipes).
 */
static void test_md5_lengths(void **state) {
  (void)state;
  unsigned char msg[301];
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (unsigned char)(i * 37 + 11) == ':' ? 'x'
                                                 : (unsigned char)(i * 37 + 11);
  for (size_t len = 0; len <= 300; len++) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    assert_int_equal(EVP_Digest(msg, len, md, &mdlen, EVP_md5(), NULL), 1);
    char want[33], got[SIPLINE_DIGEST_HEX_MAX + 1];
    sipline__hex(md, mdlen, want);
    sipline_pl one = {(const char *)msg, len};
    assert_int_equal(sipline__digest_hex(SIPLINE_DIGEST_MD5, &one, 1, got), 0);
    assert_string_equal(got, want);
    /* Three parts joined by ':' where msg has them: the digest of the whole
     * input, whatever the split. */
    if (len < 3)
      continue;
    for (size_t a = 0; a + 2 < len; a += 1 + len / 16) {
      size_t b = a + 1 + (len - a - 2) / 2;
      unsigned char joined[301];
      memcpy(joined, msg, len);
      joined[a] = ':';
      joined[b] = ':';
      assert_int_equal(EVP_Digest(joined, len, md, &mdlen, EVP_md5(), NULL), 1);
      sipline__hex(md, mdlen, want);
      sipline_pl parts[3] = {{(const char *)joined, a},
                             {(const char *)joined + a + 1, b - a - 1},
                             {(const char *)joined + b + 1, len - b - 1}};
      assert_int_equal(sipline__digest_hex(SIPLINE_DIGEST_MD5, parts, 3, got),
                       0);
      assert_string_equal(got, want);
      assert_int_equal(
          sipline_digest_userhash(SIPLINE_DIGEST_MD5, parts[0], parts[1], got),
          0);
      assert_int_equal(EVP_Digest(joined, b, md, &mdlen, EVP_md5(), NULL), 1);
      sipline__hex(md, mdlen, want);
      assert_string_equal(got, want);
    }
  }
}

/*
 * A response whose nonce makes "HA1:nonce:" 62 to 200 bytes long, through
 * the public function: a kept MD5 state (client.c) must give what this
 * gives, and this must give the RFC 2617 formula recomputed with EVP.
 */
static void test_md5_response_nonce_lengths(void **state) {
  (void)state;
  char nonce[200];
  for (size_t i = 0; i < sizeof nonce; i++)
    nonce[i] = (char)('a' + i % 26);
  for (size_t nl = 1; nl < sizeof nonce; nl++) {
    for (int qop = SIPLINE_QOP_NONE; qop <= SIPLINE_QOP_AUTH; qop++) {
      sipline_digest_params p = {
          .alg = SIPLINE_DIGEST_MD5,
          .qop = (sipline_digest_qop)qop,
          .ha1 = pl("939e7578ed9e3c518a452acee763bce9"),
          .method = pl("REGISTER"),
          .uri = pl("sip:example.com"),
          .nonce = {nonce, nl},
          .cnonce = pl("0a4f113b"),
          .nc = 7,
      };
      char got[SIPLINE_DIGEST_HEX_MAX + 1], ha2[33], want[33];
      assert_int_equal(sipline_digest_response(&p, got), 0);
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int mdlen = 0;
      const char *a2 = "REGISTER:sip:example.com";
      assert_int_equal(EVP_Digest(a2, strlen(a2), md, &mdlen, EVP_md5(), NULL),
                       1);
      sipline__hex(md, mdlen, ha2);
      char in[400];
      int n = qop == SIPLINE_QOP_NONE
                  ? snprintf(in, sizeof in, "%s:%.*s:%s",
                             "939e7578ed9e3c518a452acee763bce9", (int)nl, nonce,
                             ha2)
                  : snprintf(in, sizeof in, "%s:%.*s:00000007:0a4f113b:auth:%s",
                             "939e7578ed9e3c518a452acee763bce9", (int)nl, nonce,
                             ha2);
      assert_true(n > 0 && (size_t)n < sizeof in);
      assert_int_equal(EVP_Digest(in, (size_t)n, md, &mdlen, EVP_md5(), NULL),
                       1);
      sipline__hex(md, mdlen, want);
      assert_string_equal(got, want);
    }
  }
}

static void test_bad_inputs(void **state) {
  (void)state;
  char out[SIPLINE_DIGEST_HEX_MAX + 1];
  sipline_digest_params p = {.alg = SIPLINE_DIGEST_NONE, .password = pl("x")};
  assert_int_equal(sipline_digest_response(&p, out), SIPLINE_ERR_INVAL);
  p.alg = SIPLINE_DIGEST_SHA256;
  p.password = SIPLINE_PL_NULL;
  p.ha1 = pl("939e7578ed9e3c518a452acee763bce9"); /* an MD5 HA1 */
  assert_int_equal(sipline_digest_response(&p, out), SIPLINE_ERR_INVAL);
  p.alg = SIPLINE_DIGEST_MD5;
  p.ha1 = pl("939e7578ed9e3c518a452acee763bcez");
  assert_int_equal(sipline_digest_response(&p, out), SIPLINE_ERR_INVAL);
  /* An upper-case stored HA1 works like the lower-case one. */
  p.ha1 = pl("939E7578ED9E3C518A452ACEE763BCE9");
  p.qop = SIPLINE_QOP_AUTH;
  p.method = pl("GET");
  p.uri = pl("/dir/index.html");
  p.nonce = pl("dcd98b7102dd2f0e8b11d0f600bfb0c093");
  p.cnonce = pl("0a4f113b");
  p.nc = 1;
  assert_int_equal(sipline_digest_response(&p, out), 0);
  assert_string_equal(out, "6629fae49393a05397450978507c4ef1");
}

static void test_alg_names(void **state) {
  (void)state;
  for (int a = 1; a < SIPLINE_DIGEST__MAX; a++) {
    const char *n = sipline_digest_alg_name((sipline_digest_alg)a);
    assert_non_null(n);
    assert_int_equal(sipline_digest_alg_from(pl(n)), a);
    /* The length kept beside each name. */
    sipline_pl np = sipline__digest_alg_pl((sipline_digest_alg)a);
    assert_ptr_equal(np.p, n);
    assert_int_equal(np.len, strlen(n));
  }
  assert_null(sipline__digest_alg_pl(SIPLINE_DIGEST_NONE).p);
  assert_null(sipline__digest_alg_pl(SIPLINE_DIGEST__MAX).p);
  assert_int_equal(sipline_digest_alg_from(pl("sha-256")),
                   SIPLINE_DIGEST_SHA256);
  assert_int_equal(sipline_digest_alg_from(pl("")), SIPLINE_DIGEST_MD5);
  assert_int_equal(sipline_digest_alg_from(pl("AKAv1-MD5")),
                   SIPLINE_DIGEST_NONE);
  assert_int_equal(sipline_digest_alg_from(pl("SHA-512")), SIPLINE_DIGEST_NONE);
  assert_null(sipline_digest_alg_name(SIPLINE_DIGEST_NONE));
  assert_null(sipline_digest_alg_name(SIPLINE_DIGEST__MAX));
}

static void test_b64url(void **state) {
  (void)state;
  uint8_t in[48], back[60];
  for (int i = 0; i < 48; i++)
    in[i] = (uint8_t)(i * 37 + 5);
  for (size_t n = 0; n <= 48; n++) {
    char enc[80];
    size_t el = sipline__b64url_enc(in, n, enc);
    assert_int_equal(strlen(enc), el);
    assert_int_equal(
        sipline__b64url_dec((sipline_pl){enc, el}, back, sizeof(back)),
        (ptrdiff_t)n);
    assert_memory_equal(back, in, n);
  }
  /* Non-canonical trailing bits and bad characters are refused. */
  assert_int_equal(sipline__b64url_dec(pl("AB"), back, sizeof(back)),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(sipline__b64url_dec(pl("AA=="), back, sizeof(back)),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(sipline__b64url_dec(pl("A+/A"), back, sizeof(back)),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(sipline__b64url_dec(pl("A"), back, sizeof(back)),
                   SIPLINE_ERR_MALFORMED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors_tsv),
      cmocka_unit_test(test_md5_lengths),
      cmocka_unit_test(test_md5_response_nonce_lengths),
      cmocka_unit_test(test_intermediates),
      cmocka_unit_test(test_rfc7616_erratum),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_alg_names),
      cmocka_unit_test(test_b64url),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
