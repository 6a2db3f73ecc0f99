/*
 * tests/unit/test_ua_rfc4475.c: every RFC 4475 torture message (and the
 * RFC 5118 IPv6 ones) through sipline_ua_recv as a UDP datagram, checking
 * the answer a UA with no modules gives: 400 with the parser's or the
 * validator's reason for every malformed request that names its Via, From,
 * To, Call-ID and CSeq (statelessly when the parser refused it), 505 for
 * badvers, 416 for
 * unknown schemes, 420 for bext01, 415 for invut, 406 for sdp01, nothing
 * for responses and for messages too broken to address, and ordinary
 * answers (200 OPTIONS, 405, 480, 481, 501) for the valid ones. Run under
 * ASan/UBSan in the sanitizer build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ua/ua.h"

static const struct {
  const char *name;
  int status; /* the status line the UA sends back; 0 = nothing */
} want[] = {
    {"badaspec", 400},   {"badbranch", 400},  {"baddate", 400},
    {"baddn", 400},      {"badinv01", 400},   {"badvers", 505},
    {"bcast", 0},        {"bext01", 420},     {"bigcode", 0},
    {"clerr", 400},      {"cparam01", 405},   {"cparam02", 405},
    {"dblreq", 405},     {"esc01", 480},      {"esc02", 501},
    {"escnull", 405},    {"escruri", 400},    {"insuf", 0},
    {"intmeth", 501},    {"inv2543", 480},    {"invut", 415},
    {"longreq", 480},    {"ltgtruri", 400},   {"lwsdisp", 200},
    {"lwsruri", 400},    {"lwsstart", 400},   {"mcl01", 400},
    {"mismatch01", 400}, {"mismatch02", 400}, {"mpart01", 405},
    {"multi01", 400},    {"ncl", 400},        {"noreason", 0},
    {"novelsc", 416},    {"quotbal", 400},    {"regaut01", 405},
    {"regbadct", 400},   {"regescrt", 405},   {"scalar02", 400},
    {"scalarlg", 0},     {"sdp01", 406},      {"semiuri", 200},
    {"test", 0},         {"transports", 200}, {"trws", 400},
    {"unkscm", 416},     {"unksm2", 405},     {"unreason", 0},
    {"wsinv", 481},      {"zeromf", 200},
};

static int run_one(sipline_ua *ua, const char *path, sipline_tstamp now,
                   char *line, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  static char buf[70000];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  sipline_path p;
  memset(&p, 0, sizeof(p));
  sipline_addr_parse("192.0.2.1:5060", 14, &p.remote);
  sipline_ua_recv(ua, &p, (const uint8_t *)buf, n, now);
  const uint8_t *b;
  sipline_path op;
  ptrdiff_t l;
  int status = 0, count = 0;
  line[0] = 0;
  while ((l = sipline_ua_pull_tx(ua, &op, &b, now)) >= 0) {
    count++;
    if (l > 12 && memcmp(b, "SIP/2.0 ", 8) == 0)
      status = atoi((const char *)b + 8);
    const char *e = memchr(b, '\r', (size_t)l);
    snprintf(line, cap, "%.*s", e ? (int)(e - (const char *)b) : 0, b);
  }
  assert_true(count <= 1);
  return status;
}

/*
 * What sipline-msg says the engine answers to a valid request (the same
 * calls: sipline_msg_uas_check, then sipline_msg_uas_answer, whose fallback
 * is what a UA with no modules and no dialogs sends); -1 for anything else.
 * The wire must agree, so the tool cannot drift from the engine.
 */
static int predicted(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  static char buf[70000];
  static sipline_msg m;
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  sipline_msg_error e = {0};
  if (sipline_msg_parse(&m, buf, n, SIPLINE_PARSE_DATAGRAM, &e) < 0 ||
      sipline_msg_validate(&m, &e) != 0 || !m.is_request)
    return -1;
  if (!sipline_msg_uas_answerable(&m))
    return 0;
  if (sipline_msg_uas_check(&m, NULL, &e) == 1)
    return e.status;
  sipline_msg_uas_answer(&m, &e);
  return e.status;
}

static void test_rfc4475(void **state) {
  (void)state;
  sipline_profile *prof;
  assert_int_equal(sipline_profile_new(&prof, NULL), 0);
  sipline_settings st = {.profile = prof, .seed = 1};
  sipline_ua *ua;
  assert_int_equal(sipline__ua_create(&ua, &st, NULL, NULL, NULL, 0), 0);
  int n = 0;
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    char path[512], line[256];
    snprintf(path, sizeof(path), "%s/rfc4475/%s.dat", SIPLINE_TESTDATA,
             want[i].name);
    int got = run_one(ua, path, (sipline_tstamp)i, line, sizeof(line));
    if (got < 0)
      skip();
    if (got != want[i].status) {
      print_error("%s: want %d, got %d (%s)\n", want[i].name, want[i].status,
                  got, line);
      fail();
    }
    int said = predicted(path);
    if (said != -1 && said != got) {
      print_error("%s: sipline-msg's decision %d, the wire %d\n", want[i].name,
                  said, got);
      fail();
    }
    n++;
  }
  assert_int_equal(n, 50);
  sipline_ua_del(ua);
  sipline_profile_del(prof);
}

/* RFC 5118: none of the IPv6 messages crashes; the valid requests get an
 * ordinary answer routed to the source. */
static void test_rfc5118(void **state) {
  (void)state;
  static const char *names[] = {"ipv6-good",
                                "ipv6-bad",
                                "port-ambiguous",
                                "port-unambiguous",
                                "ipv6-in-sdp",
                                "ipv6-bug-abnf-3-colons",
                                "ipv6-correct-abnf-2-colons",
                                "ipv4-mapped-ipv6",
                                "mult-ip-in-header",
                                "mult-ip-in-sdp",
                                "via-received-param-no-delim",
                                "via-received-param-with-delim"};
  sipline_profile *prof;
  assert_int_equal(sipline_profile_new(&prof, NULL), 0);
  sipline_settings st = {.profile = prof, .seed = 1};
  sipline_ua *ua;
  assert_int_equal(sipline__ua_create(&ua, &st, NULL, NULL, NULL, 0), 0);
  int answered = 0;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char path[512], line[256];
    snprintf(path, sizeof(path), "%s/rfc5118/wire/%s.dat", SIPLINE_TESTDATA,
             names[i]);
    int got = run_one(ua, path, (sipline_tstamp)i, line, sizeof(line));
    assert_true(got >= 0);
    if (got > 0)
      answered++;
    if (!strcmp(names[i], "ipv6-bad"))
      assert_true(got == 0 || got == 400);
  }
  print_message("RFC 5118: %d of 12 answered\n", answered);
  assert_true(answered >= 6);
  sipline_ua_del(ua);
  sipline_profile_del(prof);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc4475),
      cmocka_unit_test(test_rfc5118),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
