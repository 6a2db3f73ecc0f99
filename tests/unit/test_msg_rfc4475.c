/*
 * RFC 4475 torture tests: every message in testdata/rfc4475/INDEX.tsv gets
 * the verdict the index expects.
 *
 * Verdicts, made precise:
 *  - valid: sipline_msg_parse (datagram) and sipline_msg_validate succeed;
 *    sipline_msg_uas_check gives the status in the table below (0 for most;
 *    501 where the RFC says an endpoint answers 501 to an unknown method).
 *  - invalid: parse or validate fails with err.status = the suggested
 *    response (0 = drop, for responses).
 *  - valid-reject: parse and validate succeed (the parser accepts); the
 *    rejection belongs to the UA layer, which sipline_msg_uas_check models:
 *    it returns 1 with the status given (0 = drop). regaut01 is the one the
 *    message layer cannot decide: the registrar (auth layer) ignores or
 *    challenges the unknown scheme, so uas_check accepts it.
 * Each message is also fed to the stream parser one byte at a time and
 * printed and re-parsed.
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
  int status; /* invalid: error status; valid/valid-reject: uas_check status */
  int uas;    /* valid/valid-reject: uas_check return (0 go on, 1 reject) */
} expect;

static const expect table[] = {
    {"wsinv.dat", "valid", 0, 0},
    {"intmeth.dat", "valid", 501, 1},
    {"esc01.dat", "valid", 0, 0},
    {"escnull.dat", "valid", 0, 0},
    {"esc02.dat", "valid", 501, 1},
    {"lwsdisp.dat", "valid", 0, 0},
    {"longreq.dat", "valid", 0, 0},
    {"dblreq.dat", "valid", 0, 0},
    {"semiuri.dat", "valid", 0, 0},
    {"transports.dat", "valid", 0, 0},
    {"mpart01.dat", "valid", 0, 0},
    {"unreason.dat", "valid", 0, 0},
    {"noreason.dat", "valid", 0, 0},
    {"badinv01.dat", "invalid", 400, 0},
    {"clerr.dat", "invalid", 400, 0},
    {"ncl.dat", "invalid", 400, 0},
    {"scalar02.dat", "invalid", 400, 0},
    {"scalarlg.dat", "invalid", 0, 0},
    {"quotbal.dat", "invalid", 400, 0},
    {"ltgtruri.dat", "invalid", 400, 0},
    {"lwsruri.dat", "invalid", 400, 0},
    {"lwsstart.dat", "invalid", 400, 0},
    {"trws.dat", "invalid", 400, 0},
    {"escruri.dat", "invalid", 400, 0},
    {"baddate.dat", "invalid", 400, 0},
    {"regbadct.dat", "invalid", 400, 0},
    {"badaspec.dat", "invalid", 400, 0},
    {"baddn.dat", "invalid", 400, 0},
    {"badvers.dat", "invalid", 505, 0},
    {"mismatch01.dat", "invalid", 400, 0},
    {"mismatch02.dat", "invalid", 400, 0}, /* 501 also acceptable */
    {"bigcode.dat", "invalid", 0, 0},
    {"badbranch.dat", "valid-reject", 400, 1},
    {"insuf.dat", "valid-reject", 400, 1},
    {"unkscm.dat", "valid-reject", 416, 1},
    {"novelsc.dat", "valid-reject", 416, 1},
    {"unksm2.dat", "valid", 0, 0},
    {"bext01.dat", "valid-reject", 420, 1},
    {"invut.dat", "valid-reject", 415, 1},
    {"regaut01.dat", "valid-reject", 0, 0},
    {"multi01.dat", "valid-reject", 400, 1},
    {"mcl01.dat", "valid-reject", 400, 1},
    {"bcast.dat", "valid-reject", 0, 1},
    {"zeromf.dat", "valid", 0, 0},
    {"cparam01.dat", "valid", 0, 0},
    {"cparam02.dat", "valid", 0, 0},
    {"regescrt.dat", "valid", 0, 0},
    {"sdp01.dat", "valid-reject", 406, 1},
    {"inv2543.dat", "valid", 0, 0},
};

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static const expect *find(const char *name) {
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (strcmp(table[i].name, name) == 0)
      return &table[i];
  return NULL;
}

static sipline_msg m, m2;

/* Print, re-parse, compare the essentials. */
static void roundtrip(const sipline_msg *a) {
  size_t cap = a->len * 2 + 256;
  char *out = malloc(cap);
  assert_non_null(out);
  ptrdiff_t n = sipline_msg_print(a, out, cap);
  assert_true(n > 0);
  sipline_msg_error e;
  ptrdiff_t r =
      sipline_msg_parse(&m2, out, (size_t)n, SIPLINE_PARSE_STREAM, &e);
  assert_int_equal(r, n);
  assert_int_equal(m2.n_hdrs,
                   a->n_hdrs + (a->count[SIPLINE_HDR_CONTENT_LENGTH] ? 0 : 1) -
                       (a->count[SIPLINE_HDR_CONTENT_LENGTH] > 1
                            ? a->count[SIPLINE_HDR_CONTENT_LENGTH] - 1
                            : 0));
  assert_true(sipline_pl_eq(m2.call_id, a->call_id));
  assert_int_equal(m2.cseq, a->cseq);
  assert_int_equal(m2.body.len, a->body.len);
  assert_memory_equal(m2.body.p, a->body.p, a->body.len);
  assert_int_equal(m2.content_length, (int64_t)a->body.len);
  free(out);
}

/* One byte at a time on a stream: INCOMPLETE until the last byte. */
static void stream_feed(const char *buf, size_t whole) {
  sipline_msg_error e;
  for (size_t k = 0; k < whole; k++) {
    ptrdiff_t r = sipline_msg_parse(&m2, buf, k, SIPLINE_PARSE_STREAM, &e);
    if (r != SIPLINE_ERR_INCOMPLETE)
      fail_msg("prefix %zu of %zu gave %td", k, whole, r);
  }
  assert_int_equal(sipline_msg_parse(&m2, buf, whole, SIPLINE_PARSE_STREAM, &e),
                   (ptrdiff_t)whole);
}

static void test_index(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof(path), "%s/rfc4475/INDEX.tsv", SIPLINE_TESTDATA);
  size_t ilen;
  char *index = read_file(path, &ilen);
  assert_non_null(index);
  index[ilen] = '\0';
  int rows = 0, ok_valid = 0, ok_invalid = 0, ok_reject = 0;
  char *save = NULL;
  for (char *line = strtok_r(index, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char name[128], verdict[32];
    char *t1 = strchr(line, '\t');
    if (t1 == NULL || strncmp(line, "name\t", 5) == 0)
      continue;
    *t1 = '\0';
    snprintf(name, sizeof(name), "%s", line);
    char *t2 = strchr(t1 + 1, '\t');
    assert_non_null(t2);
    char *t3 = strchr(t2 + 1, '\t');
    assert_non_null(t3);
    *t3 = '\0';
    snprintf(verdict, sizeof(verdict), "%s", t2 + 1);
    if (strcmp(verdict, "unreferenced") == 0)
      continue;
    rows++;
    const expect *x = find(name);
    if (x == NULL)
      fail_msg("%s: not in the test's table", name);
    assert_string_equal(x->verdict, verdict);
    snprintf(path, sizeof(path), "%s/rfc4475/%s", SIPLINE_TESTDATA, name);
    size_t len;
    char *buf = read_file(path, &len);
    if (buf == NULL)
      fail_msg("%s: missing", path);
    sipline_msg_error e = {0};
    ptrdiff_t r = sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e);
    int v = r >= 0 ? sipline_msg_validate(&m, &e) : (int)r;
    if (strcmp(verdict, "invalid") == 0) {
      if (v == 0)
        fail_msg("%s: accepted, expected invalid", name);
      if (e.status != x->status)
        fail_msg("%s: status %d (%s), expected %d", name, e.status, e.reason,
                 x->status);
      assert_non_null(e.reason);
      ok_invalid++;
    } else {
      if (v != 0)
        fail_msg("%s: rejected (%s, %d), expected %s", name, e.reason, e.status,
                 verdict);
      sipline_msg_error ue = {0};
      int u = sipline_msg_uas_check(&m, NULL, &ue);
      if (u != x->uas || (u && ue.status != x->status))
        fail_msg("%s: uas_check %d status %d (%s), expected %d/%d", name, u,
                 ue.status, ue.reason ? ue.reason : "-", x->uas, x->status);
      roundtrip(&m);
      if (m.content_length >= 0 && m.count[SIPLINE_HDR_CONTENT_LENGTH] == 1)
        stream_feed(buf, (size_t)r);
      if (strcmp(verdict, "valid") == 0)
        ok_valid++;
      else
        ok_reject++;
    }
    free(buf);
  }
  free(index);
  printf("rfc4475: %d messages: %d valid, %d invalid, %d valid-reject as "
         "expected\n",
         rows, ok_valid, ok_invalid, ok_reject);
  assert_int_equal(rows, 49);
  assert_int_equal(ok_valid + ok_invalid + ok_reject, 49);
}

/* Spot checks of what the parser extracted from a few of them. */
static void test_details(void **state) {
  (void)state;
  char path[1024];
  size_t len;
  sipline_msg_error e;

  snprintf(path, sizeof(path), "%s/rfc4475/wsinv.dat", SIPLINE_TESTDATA);
  char *buf = read_file(path, &len);
  assert_non_null(buf);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_int_equal(m.method, SIPLINE_METHOD_INVITE);
  assert_int_equal(m.max_forwards, 68);
  assert_int_equal(m.cseq, 9);
  assert_int_equal(m.n_via, 3);
  assert_true(
      sipline_pl_eq(m.from.display, SIPLINE_PL("J Rosenberg \\\\\\\"")));
  assert_true(sipline_pl_eq(m.from.tag, SIPLINE_PL("98asjd8")));
  assert_true(sipline_pl_eq(m.to.tag, SIPLINE_PL("1918181833n")));
  assert_true(sipline_pl_eq(m.via.transport, SIPLINE_PL("UDP")));
  assert_true(sipline_pl_eq(m.via.host, SIPLINE_PL("192.0.2.2")));
  assert_true(sipline_pl_eq(m.via.branch, SIPLINE_PL("390skdjuw")));
  const sipline_hdr *subj = sipline_msg_hdr(&m, SIPLINE_HDR_SUBJECT, 0);
  assert_non_null(subj);
  assert_int_equal(subj->value.len, 0);
  free(buf);

  /* dblreq: the octets after Content-Length: 0 are ignored (§18.3). */
  snprintf(path, sizeof(path), "%s/rfc4475/dblreq.dat", SIPLINE_TESTDATA);
  buf = read_file(path, &len);
  assert_non_null(buf);
  ptrdiff_t r = sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e);
  assert_true(r > 0 && (size_t)r < len);
  assert_int_equal(m.method, SIPLINE_METHOD_REGISTER);
  assert_int_equal(m.body.len, 0);
  free(buf);

  /* semiuri: the user part is "user;par=u%40example.net". */
  snprintf(path, sizeof(path), "%s/rfc4475/semiuri.dat", SIPLINE_TESTDATA);
  buf = read_file(path, &len);
  assert_non_null(buf);
  assert_true(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_true(
      sipline_pl_eq(m.ruri.user, SIPLINE_PL("user;par=u%40example.net")));
  assert_true(sipline_pl_eq(m.ruri.host, SIPLINE_PL("example.com")));
  free(buf);

  /* clerr on a stream: wait for more bytes, not an error (§3.1.2.2). */
  snprintf(path, sizeof(path), "%s/rfc4475/clerr.dat", SIPLINE_TESTDATA);
  buf = read_file(path, &len);
  assert_non_null(buf);
  assert_int_equal(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_STREAM, &e),
                   SIPLINE_ERR_INCOMPLETE);
  free(buf);

  /* mcl01 on a stream: conflicting framing is fatal there. */
  snprintf(path, sizeof(path), "%s/rfc4475/mcl01.dat", SIPLINE_TESTDATA);
  buf = read_file(path, &len);
  assert_non_null(buf);
  assert_int_equal(sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_STREAM, &e),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(e.status, 400);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index),
      cmocka_unit_test(test_details),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
