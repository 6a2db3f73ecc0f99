/*
 * The parser's per-line fast path (16-byte load, hashed name lookup) against
 * the reference lookup sipline_hdr_lookup(): every known name in three
 * spellings, every compact form, near misses (one byte more, one less, one
 * changed, a NUL inside, space before the colon), names at every length
 * around the 15/16-byte boundary, and header lines short enough that the
 * line end falls inside the first 16 bytes, or the buffer ends within 16
 * bytes. Each line's id, name and value must be what the general code
 * gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sipline/msg.h"

static sipline_msg m;

/* Parses "OPTIONS sip:a@b SIP/2.0\r\n" + line + rest and checks the first
 * header against the reference lookup of name (nlen bytes) and value. */
static void check_line(const char *name, size_t nlen, const char *sep,
                       const char *value, const char *rest) {
  char buf[512];
  size_t n = 0;
  const char *start = "OPTIONS sip:a@b SIP/2.0\r\n";
  memcpy(buf + n, start, strlen(start));
  n += strlen(start);
  memcpy(buf + n, name, nlen);
  n += nlen;
  memcpy(buf + n, sep, strlen(sep));
  n += strlen(sep);
  memcpy(buf + n, value, strlen(value));
  n += strlen(value);
  memcpy(buf + n, rest, strlen(rest));
  n += strlen(rest);
  sipline_msg_error err;
  /* whitespace before the colon is allowed and not part of the name */
  while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
    nlen--;
  const sipline_pl pn = {name, nlen};
  const sipline_hdr_id want = sipline_hdr_lookup(pn);
  ptrdiff_t r = sipline_msg_parse(&m, buf, n, SIPLINE_PARSE_DATAGRAM, &err);
  bool token = nlen > 0;
  for (size_t i = 0; i < nlen; i++) {
    const unsigned char c = (unsigned char)name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || strchr("-.!%*_+`'~", c) != NULL) ||
        c == 0)
      token = false;
  }
  if (!token) {
    assert_true(r < 0);
    return;
  }
  if (r < 0) {
    /* only a bad eager value may fail, never a good unknown name */
    assert_int_not_equal(want, SIPLINE_HDR_OTHER);
    return;
  }
  assert_true(m.n_hdrs >= 1);
  assert_int_equal(m.hdrs[0].id, want);
  assert_int_equal(m.hdrs[0].name.len, nlen);
  assert_memory_equal(m.hdrs[0].name.p, name, nlen);
  const char *v = value;
  while (*v == ' ' || *v == '\t')
    v++;
  size_t vl = strlen(v);
  while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
    vl--;
  assert_int_equal(m.hdrs[0].value.len, vl);
  if (vl)
    assert_memory_equal(m.hdrs[0].value.p, v, vl);
}

static const char *const rests[] = {
    /* the usual: more headers, then the body */
    "\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n",
    /* the buffer ends within 16 bytes of the line */
    "\r\n\r\n",
    /* bare LF line ends */
    "\nX: y\n\n",
};

static void check_all(const char *name, size_t nlen) {
  static const char *const seps[] = {": ", ":", " : ", ":\t"};
  static const char *const values[] = {"1", "a b ", "",
                                       "a-rather-long-value-past-16-bytes"};
  for (size_t s = 0; s < sizeof(seps) / sizeof(seps[0]); s++)
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++)
      for (size_t r = 0; r < sizeof(rests) / sizeof(rests[0]); r++)
        check_line(name, nlen, seps[s], values[v], rests[r]);
}

static void test_known_names(void **state) {
  (void)state;
  for (int id = 1; id < SIPLINE_HDR__MAX; id++) {
    const char *n = sipline_hdr_name((sipline_hdr_id)id);
    const size_t l = strlen(n);
    char alt[64];
    assert_true(l + 2 < sizeof(alt));
    check_all(n, l);
    for (size_t i = 0; i < l; i++)
      alt[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
    check_all(alt, l);
    for (size_t i = 0; i < l; i++)
      alt[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
    check_all(alt, l);
    /* near misses */
    memcpy(alt, n, l);
    alt[l] = 's';
    check_all(alt, l + 1);
    check_all(n, l - 1);
    alt[l] = '\0';
    check_all(alt, l + 1); /* a NUL after the name */
    for (size_t i = 0; i < l; i++) {
      memcpy(alt, n, l);
      alt[i] = (char)(alt[i] ^ 0x01);
      check_all(alt, l);
      alt[i] = (char)(n[i] ^ 0x20); /* '-' becomes '\r', letters fold */
      check_all(alt, l);
      alt[i] = '\0';
      check_all(alt, l);
    }
  }
  for (char c = 'a'; c <= 'z'; c++) {
    char s[2] = {c, 0};
    check_all(s, 1);
    s[0] = (char)(c - 32);
    check_all(s, 1);
  }
}

static void test_lengths(void **state) {
  (void)state;
  char name[40] = {0};
  for (size_t l = 0; l < sizeof(name); l++) {
    for (size_t i = 0; i < l; i++)
      name[i] = (char)('a' + i % 26);
    check_all(name, l);
    if (l)
      name[l - 1] = ' ';
    check_all(name, l);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_names),
      cmocka_unit_test(test_lengths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
