/*
 * Unit tests of daemon/rxframe.c: a stream's received bytes cut into one
 * record per SIP message for the tracers, whatever the reads hold: two
 * messages at once (baresip's "100 Trying" + "200 OK" in one TCP segment),
 * a message in pieces, one byte at a time, keep-alives, garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rxframe.h"

#define TRYING                                                                 \
  "SIP/2.0 100 Trying\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n"  \
  "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\n"                  \
  "CSeq: 4 INVITE\r\nContent-Length: 0\r\n\r\n"
#define OK                                                                     \
  "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n"      \
  "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c1\r\n"            \
  "CSeq: 4 INVITE\r\nContent-Type: application/sdp\r\n"                        \
  "Content-Length: 10\r\n\r\nv=0\r\ns=-\r\n"

typedef struct rec {
  unsigned n;
  char got[8][1024];
  size_t len[8];
} rec;

static void on_rec(void *arg, const uint8_t *p, size_t n) {
  rec *r = arg;
  assert_true(r->n < 8 && n < sizeof r->got[0]);
  memcpy(r->got[r->n], p, n);
  r->got[r->n][n] = '\0';
  r->len[r->n++] = n;
}

static void feed(sd_rxframe *f, rec *r, const char *s, size_t n) {
  assert_int_equal(sd_rxframe_feed(f, (const uint8_t *)s, n, on_rec, r), 0);
}

/* Two messages in one read: two records, in order. */
static void test_two_in_one(void **state) {
  (void)state;
  sd_rxframe f = {0};
  rec r = {0};
  feed(&f, &r, TRYING OK, strlen(TRYING OK));
  assert_int_equal(r.n, 2);
  assert_string_equal(r.got[0], TRYING);
  assert_string_equal(r.got[1], OK);
  assert_int_equal(f.len, 0);
  sd_rxframe_free(&f);
}

/* Every split point of the two messages, and one byte at a time: the same
 * two records, each once whole. */
static void test_splits(void **state) {
  (void)state;
  const char *all = TRYING OK;
  size_t n = strlen(all);
  for (size_t cut = 1; cut < n; cut++) {
    sd_rxframe f = {0};
    rec r = {0};
    feed(&f, &r, all, cut);
    feed(&f, &r, all + cut, n - cut);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.got[0], TRYING);
    assert_string_equal(r.got[1], OK);
    assert_int_equal(f.len, 0);
    sd_rxframe_free(&f);
  }
  sd_rxframe f = {0};
  rec r = {0};
  for (size_t i = 0; i < n; i++)
    feed(&f, &r, all + i, 1);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.got[1], OK);
  sd_rxframe_free(&f);
}

/* Keep-alives (RFC 5626 §4.4.1) are records of their own; a body not yet
 * all there is held back. */
static void test_keepalive_and_tail(void **state) {
  (void)state;
  sd_rxframe f = {0};
  rec r = {0};
  feed(&f, &r, "\r\n\r\n" OK, strlen("\r\n\r\n" OK) - 3);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.got[0], "\r\n\r\n");
  assert_int_equal(f.len, strlen(OK) - 3);
  feed(&f, &r, "-\r\n\r\n", 5);
  assert_int_equal(r.n, 3);
  assert_string_equal(r.got[1], OK);
  assert_string_equal(r.got[2], "\r\n");
  sd_rxframe_free(&f);
}

/* Bytes that are no SIP message: traced as they are, nothing held. */
static void test_garbage(void **state) {
  (void)state;
  sd_rxframe f = {0};
  rec r = {0};
  const char *g = "HELLO THERE\r\n\r\n";
  feed(&f, &r, g, strlen(g));
  assert_int_equal(r.n, 1);
  assert_string_equal(r.got[0], g);
  assert_int_equal(f.len, 0);
  sd_rxframe_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_in_one),
      cmocka_unit_test(test_splits),
      cmocka_unit_test(test_keepalive_and_tail),
      cmocka_unit_test(test_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
