/*
 * RFC 5118 IPv6 torture tests, in their CRLF wire form
 * (testdata/rfc5118/wire/). valid and valid-tolerate: parse + validate
 * succeed and the UAS check accepts; invalid (ipv6-bad): parse or validate
 * fails with 400.
 *
 * Content-Length: the archive's ipv6-in-sdp says 268 for a 251-octet body,
 * so as a datagram it is rejected by the RFC 3261 §18.3 rule ("larger than
 * the datagram: 400"), exactly like RFC 4475 clerr. The test expects that,
 * then checks that the same message with the Content-Length corrected is
 * valid. mult-ip-in-sdp says 181 for 189 octets: the trailing 8 octets are
 * ignored, as §18.3 says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sipline/msg.h"

typedef struct expect {
  const char *name;
  const char *verdict;
  int status;
} expect;

static const expect table[] = {
    {"ipv6-good.dat", "valid", 0},
    {"ipv6-bad.dat", "invalid", 400},
    {"port-ambiguous.dat", "valid", 0},
    {"port-unambiguous.dat", "valid", 0},
    {"via-received-param-with-delim.dat", "valid", 0},
    {"via-received-param-no-delim.dat", "valid", 0},
    /* see the comment above: a Content-Length mismatch from the RFC */
    {"ipv6-in-sdp.dat", "valid", 400},
    {"mult-ip-in-header.dat", "valid", 0},
    {"mult-ip-in-sdp.dat", "valid", 0},
    {"ipv4-mapped-ipv6.dat", "valid", 0},
    {"ipv6-bug-abnf-3-colons.dat", "valid-tolerate", 0},
    {"ipv6-correct-abnf-2-colons.dat", "valid", 0},
};

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 64);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static char *load(const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/rfc5118/wire/%s", SIPLINE_TESTDATA, name);
  char *b = read_file(path, len);
  if (b == NULL)
    fail_msg("%s: missing", path);
  return b;
}

static sipline_msg m;

/* Rewrites Content-Length to the real body length (into a new buffer). */
static char *fix_cl(const char *buf, size_t len, size_t *outlen) {
  const char *hdr = strstr(buf, "Content-Length: ");
  const char *eol = hdr ? strstr(hdr, "\r\n") : NULL;
  const char *body = strstr(buf, "\r\n\r\n");
  assert_non_null(eol);
  assert_non_null(body);
  body += 4;
  size_t blen = len - (size_t)(body - buf);
  char *out = malloc(len + 32);
  assert_non_null(out);
  int n =
      snprintf(out, len + 32, "%.*sContent-Length: %zu%.*s", (int)(hdr - buf),
               buf, blen, (int)(len - (size_t)(eol - buf)), eol);
  *outlen = (size_t)n;
  return out;
}

static void test_index(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof(path), "%s/rfc5118/INDEX.tsv", SIPLINE_TESTDATA);
  size_t ilen;
  char *index = read_file(path, &ilen);
  assert_non_null(index);
  index[ilen] = '\0';
  int rows = 0, passed = 0;
  char *save = NULL;
  for (char *line = strtok_r(index, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "name\t", 5) == 0)
      continue;
    char *t1 = strchr(line, '\t');
    assert_non_null(t1);
    *t1 = '\0';
    char *t2 = strchr(t1 + 1, '\t');
    assert_non_null(t2);
    char *t3 = strchr(t2 + 1, '\t');
    assert_non_null(t3);
    *t3 = '\0';
    const char *verdict = t2 + 1;
    rows++;
    const expect *x = NULL;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
      if (strcmp(table[i].name, line) == 0)
        x = &table[i];
    if (x == NULL)
      fail_msg("%s: not in the test's table", line);
    assert_string_equal(x->verdict, verdict);
    size_t len;
    char *buf = load(line, &len);
    sipline_msg_error e = {0};
    ptrdiff_t r = sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e);
    int v = r >= 0 ? sipline_msg_validate(&m, &e) : (int)r;
    if (x->status != 0) {
      if (v == 0)
        fail_msg("%s: accepted, expected %d", line, x->status);
      assert_int_equal(e.status, x->status);
    }
    if (strcmp(verdict, "invalid") != 0) {
      char *fixed = NULL;
      if (x->status != 0) {
        size_t flen;
        fixed = fix_cl(buf, len, &flen);
        r = sipline_msg_parse(&m, fixed, flen, SIPLINE_PARSE_DATAGRAM, &e);
        v = r >= 0 ? sipline_msg_validate(&m, &e) : (int)r;
      }
      if (v != 0)
        fail_msg("%s: rejected: %s", line, e.reason);
      assert_int_equal(sipline_msg_uas_check(&m, NULL, &e), 0);
      free(fixed);
    }
    passed++;
    free(buf);
  }
  free(index);
  printf("rfc5118: %d messages, %d as expected\n", rows, passed);
  assert_int_equal(rows, 12);
  assert_int_equal(passed, 12);
}

static void test_details(void **state) {
  (void)state;
  size_t len;
  sipline_msg_error e;
  char *buf = load("port-ambiguous.dat", &len);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_true(sipline_pl_eq(m.ruri.host, SIPLINE_PL("[2001:db8::10:5070]")));
  assert_int_equal(m.ruri.host_is_ipv6, 1);
  assert_int_equal(m.ruri.has_port, 0);
  free(buf);

  buf = load("port-unambiguous.dat", &len);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_true(sipline_pl_eq(m.ruri.host, SIPLINE_PL("[2001:db8::10]")));
  assert_int_equal(m.ruri.port, 5070);
  free(buf);

  buf = load("via-received-param-no-delim.dat", &len);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_true(sipline_pl_eq(m.via.received, SIPLINE_PL("2001:db8::9:255")));
  free(buf);

  buf = load("via-received-param-with-delim.dat", &len);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_true(sipline_pl_eq(m.via.received, SIPLINE_PL("[2001:db8::9:255]")));
  free(buf);

  buf = load("mult-ip-in-header.dat", &len);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_int_equal(m.n_via, 3);
  free(buf);

  buf = load("ipv6-bug-abnf-3-colons.dat", &len);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_true(sipline_pl_eq(m.ruri.host, SIPLINE_PL("[2001:db8:::192.0.2.1]")));
  free(buf);

  /* The Via host of ipv4-mapped-ipv6 keeps its brackets. */
  buf = load("ipv4-mapped-ipv6.dat", &len);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_int_equal(m.via.host.p[0], '[');
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index),
      cmocka_unit_test(test_details),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
