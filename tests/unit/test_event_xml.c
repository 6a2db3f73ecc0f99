/*
 * tests/unit/test_event_xml.c: the CiscoIPPhoneExecute reader (SPEC
 * R19-R20): valid documents, priorities, internal URIs, the bare-URL form,
 * Content-Type whitelist (415), and hostile bodies (4 items, entity bombs,
 * external entities, a huge attribute, deep nesting, truncation, wrong
 * root), each refused with 400 and a reason that says what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event/event.h"
#include "sipline/event.h"

#define XCT "application/x-cisco-remotecc-request+xml"

static int parse(const char *ct, const char *body, sipline_exec *x,
                 sipline_exec_error *e) {
  return sipline_exec_parse(sipline_pl_str(ct), sipline_pl_str(body), x, e,
                            NULL);
}

static void expect_400(const char *ct, const char *body, const char *reason) {
  sipline_exec x;
  sipline_exec_error e;
  int rc = parse(ct, body, &x, &e);
  if (rc != SIPLINE_ERR_MALFORMED)
    fail_msg("rc %d for %.60s", rc, body);
  assert_int_equal(e.status, 400);
  if (!strstr(e.reason, reason))
    fail_msg("reason '%s' lacks '%s'", e.reason, reason);
  for (const char *c = e.reason; *c; c++)
    assert_true((unsigned char)*c >= 0x20);
}

static void test_valid(void **state) {
  (void)state;
  sipline_exec x;
  sipline_exec_error e;
  const char *doc =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<CiscoIPPhoneExecute>\n"
      "  <ExecuteItem Priority=\"0\" URL=\"http://10.0.0.5/a.xml\"/>\n"
      "  <ExecuteItem Priority=\"1\" URL=\" https://h.example/b?x=1&amp;y=2 "
      "\"/>\n"
      "  <ExecuteItem URL=\"Dial:1002\" Priority=\"2\"></ExecuteItem>\n"
      "</CiscoIPPhoneExecute>\n";
  assert_int_equal(parse(XCT, doc, &x, &e), 0);
  assert_int_equal(x.n, 3);
  assert_int_equal(x.bare_url, 0);
  assert_string_equal(x.items[0].url, "http://10.0.0.5/a.xml");
  assert_int_equal(x.items[0].priority, SIPLINE_EXEC_NOW);
  assert_int_equal(x.items[0].internal, 0);
  assert_string_equal(x.items[1].url, "https://h.example/b?x=1&y=2");
  assert_int_equal(x.items[1].priority, SIPLINE_EXEC_WHEN_IDLE);
  assert_string_equal(x.items[2].url, "Dial:1002");
  assert_int_equal(x.items[2].priority, SIPLINE_EXEC_IF_IDLE);
  assert_int_equal(x.items[2].internal, 1);
  /* Every whitelisted type reads the document; parameters are fine. */
  const char *types[] = {"text/xml",
                         "application/xml",
                         "Application/X-Cisco-RemoteCC-Request+XML",
                         "text/xml; charset=utf-8",
                         "text/plain",
                         "text/html"};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    assert_int_equal(parse(types[i], doc, &x, &e), 0);
    assert_int_equal(x.n, 3);
  }
}

static void test_priorities(void **state) {
  (void)state;
  static const struct {
    const char *attr;
    sipline_exec_prio p;
  } c[] = {{"", SIPLINE_EXEC_NOW},
           {"Priority=\"0\"", SIPLINE_EXEC_NOW},
           {"Priority=\"1\"", SIPLINE_EXEC_WHEN_IDLE},
           {"Priority=\" 2 \"", SIPLINE_EXEC_IF_IDLE},
           {"Priority=\"3\"", SIPLINE_EXEC_NOW},
           {"Priority=\"-1\"", SIPLINE_EXEC_NOW},
           {"Priority=\"11\"", SIPLINE_EXEC_NOW},
           {"Priority=\"high\"", SIPLINE_EXEC_NOW},
           {"Priority=\"\"", SIPLINE_EXEC_NOW}};
  for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    char doc[256];
    snprintf(doc, sizeof(doc),
             "<CiscoIPPhoneExecute><ExecuteItem %s URL=\"http://a/\"/>"
             "</CiscoIPPhoneExecute>",
             c[i].attr);
    sipline_exec x;
    sipline_exec_error e;
    assert_int_equal(parse("text/xml", doc, &x, &e), 0);
    assert_int_equal(x.items[0].priority, c[i].p);
  }
}

static void test_internal_uris(void **state) {
  (void)state;
  const char *ok[] = {"Dial:1234",        "EditDial:555",  "Key:Services",
                      "Init:CallHistory", "Play:ring.raw", "dial:99"};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    char doc[256];
    snprintf(doc, sizeof(doc),
             "<CiscoIPPhoneExecute><ExecuteItem URL=\"%s\" Priority=\"1\"/>"
             "</CiscoIPPhoneExecute>",
             ok[i]);
    sipline_exec x;
    sipline_exec_error e;
    assert_int_equal(parse("text/xml", doc, &x, &e), 0);
    assert_int_equal(x.items[0].internal, 1);
  }
  const char *bad[] = {"Dial:",
                       "file:///etc/passwd",
                       "javascript:alert(1)",
                       "ftp://h/x",
                       "http://",
                       "https:///path",
                       "http:/x",
                       "http://a b/",
                       "RTPRx:1.2.3.4:20480",
                       "",
                       "http://a/&#10;x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char doc[256];
    snprintf(doc, sizeof(doc),
             "<CiscoIPPhoneExecute><ExecuteItem URL=\"%s\"/>"
             "</CiscoIPPhoneExecute>",
             bad[i]);
    expect_400("text/xml", doc, "bad URL in ExecuteItem 1");
  }
}

static void test_four_items(void **state) {
  (void)state;
  expect_400(XCT,
             "<CiscoIPPhoneExecute>"
             "<ExecuteItem URL=\"http://a/1\"/>"
             "<ExecuteItem URL=\"http://a/2\"/>"
             "<ExecuteItem URL=\"http://a/3\"/>"
             "<ExecuteItem URL=\"http://a/4\"/>"
             "</CiscoIPPhoneExecute>",
             "too many ExecuteItem elements");
}

static void test_structure(void **state) {
  (void)state;
  expect_400(XCT, "<CiscoIPPhoneText><Text>hi</Text></CiscoIPPhoneText>",
             "root element CiscoIPPhoneText is not CiscoIPPhoneExecute");
  expect_400(XCT, "<CiscoIPPhoneExecute/>", "no ExecuteItem element");
  expect_400(XCT,
             "<CiscoIPPhoneExecute><ExecuteItem Priority=\"0\"/>"
             "</CiscoIPPhoneExecute>",
             "ExecuteItem without URL");
  expect_400(XCT,
             "<CiscoIPPhoneExecute><Foo URL=\"http://a/\"/>"
             "</CiscoIPPhoneExecute>",
             "unexpected element Foo");
  expect_400(XCT,
             "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://a/\">"
             "<ExecuteItem URL=\"http://b/\"/></ExecuteItem>"
             "</CiscoIPPhoneExecute>",
             "unexpected element ExecuteItem");
  expect_400(XCT,
             "<CiscoIPPhoneExecute>hello<ExecuteItem URL=\"http://a/\"/>"
             "</CiscoIPPhoneExecute>",
             "unexpected text");
  /* Names are case-sensitive, as in the vendor's schema. */
  expect_400(XCT,
             "<ciscoipphoneexecute><ExecuteItem URL=\"http://a/\"/>"
             "</ciscoipphoneexecute>",
             "not CiscoIPPhoneExecute");
}

static void test_truncated(void **state) {
  (void)state;
  const char *doc = "<CiscoIPPhoneExecute><ExecuteItem Priority=\"0\" "
                    "URL=\"http://10.0.0.5/a.xml\"/></CiscoIPPhoneExecute>";
  size_t n = strlen(doc);
  for (size_t cut = 1; cut < n; cut++) {
    sipline_exec x;
    sipline_exec_error e;
    int rc = sipline_exec_parse(SIPLINE_PL("text/xml"), (sipline_pl){doc, cut},
                                &x, &e, NULL);
    assert_int_equal(rc, SIPLINE_ERR_MALFORMED);
    assert_int_equal(e.status, 400);
    assert_true(e.reason[0] != '\0');
  }
  expect_400(XCT, "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://a/\"/>",
             "bad XML at line 1");
  expect_400(XCT,
             "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://a/\"/>"
             "</CiscoIPPhoneExecute><x/>",
             "bad XML");
}

static void test_entity_bombs(void **state) {
  (void)state;
  /* Billion laughs: refused at the DOCTYPE, before any expansion. */
  char bomb[4096];
  int n = snprintf(bomb, sizeof(bomb),
                   "<?xml version=\"1.0\"?>\n<!DOCTYPE CiscoIPPhoneExecute [\n"
                   "<!ENTITY a0 \"ha\">\n");
  for (int i = 1; i < 12; i++) {
    n += snprintf(bomb + n, sizeof(bomb) - (size_t)n, "<!ENTITY a%d \"", i);
    for (int k = 0; k < 10; k++)
      n += snprintf(bomb + n, sizeof(bomb) - (size_t)n, "&a%d;", i - 1);
    n += snprintf(bomb + n, sizeof(bomb) - (size_t)n, "\">\n");
  }
  snprintf(bomb + n, sizeof(bomb) - (size_t)n,
           "]>\n<CiscoIPPhoneExecute><ExecuteItem URL=\"http://x/&a11;\"/>"
           "</CiscoIPPhoneExecute>");
  expect_400(XCT, bomb, "DOCTYPE not allowed");
  /* Quadratic blowup: one big entity used many times; same refusal. */
  expect_400(XCT,
             "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">]>"
             "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://x/&a;&a;&a;\"/>"
             "</CiscoIPPhoneExecute>",
             "DOCTYPE not allowed");
  /* An undeclared entity without a DTD. */
  expect_400(XCT,
             "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://x/&a;\"/>"
             "</CiscoIPPhoneExecute>",
             "undefined entity");
}

static void test_external_entities(void **state) {
  (void)state;
  expect_400(XCT,
             "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "
             "\"file:///etc/passwd\">]>\n<CiscoIPPhoneExecute><ExecuteItem "
             "URL=\"http://x/&xxe;\"/></CiscoIPPhoneExecute>",
             "DOCTYPE not allowed");
  expect_400(XCT,
             "<!DOCTYPE CiscoIPPhoneExecute SYSTEM \"http://evil/x.dtd\">"
             "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://x/\"/>"
             "</CiscoIPPhoneExecute>",
             "DOCTYPE not allowed");
  expect_400(XCT,
             "<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://evil/p\"> %p;]>"
             "<CiscoIPPhoneExecute/>",
             "DOCTYPE not allowed");
}

static void test_huge_attribute(void **state) {
  (void)state;
  /* Just over the attribute cap: a precise reason. */
  char *doc = malloc(20000);
  int n =
      snprintf(doc, 20000, "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://a/");
  memset(doc + n, 'x', 600);
  strcpy(doc + n + 600, "\"/></CiscoIPPhoneExecute>");
  expect_400(XCT, doc, "attribute URL longer than 511 bytes");
  /* Any attribute, not only URL. */
  n = snprintf(doc, 20000, "<CiscoIPPhoneExecute junk=\"");
  memset(doc + n, 'j', 5000);
  strcpy(doc + n + 5000,
         "\"><ExecuteItem URL=\"http://a/\"/></CiscoIPPhoneExecute>");
  expect_400(XCT, doc, "attribute junk longer than 511 bytes");
  /* Exactly at the cap is accepted. */
  n = snprintf(doc, 20000, "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://a/");
  memset(doc + n, 'x', SIPLINE_EXEC_MAX_URL - 9);
  strcpy(doc + n + SIPLINE_EXEC_MAX_URL - 9, "\"/></CiscoIPPhoneExecute>");
  sipline_exec x;
  sipline_exec_error e;
  assert_int_equal(parse(XCT, doc, &x, &e), 0);
  assert_int_equal(strlen(x.items[0].url), SIPLINE_EXEC_MAX_URL);
  free(doc);
  /* A body over the size cap is refused before parsing. */
  char *big = malloc(SIPLINE_EXEC_MAX_BODY + 100);
  memset(big, ' ', SIPLINE_EXEC_MAX_BODY + 99);
  memcpy(big, "<CiscoIPPhoneExecute>", 21);
  big[SIPLINE_EXEC_MAX_BODY + 99] = 0;
  expect_400(XCT, big, "body larger than 16384 bytes");
  free(big);
}

static void test_depth(void **state) {
  (void)state;
  char doc[8192] = "<CiscoIPPhoneExecute>";
  for (int i = 0; i < 1000; i++)
    strcat(doc, "<a>");
  expect_400(XCT, doc, "unexpected element a");
}

static void test_bare_url(void **state) {
  (void)state;
  sipline_exec x;
  sipline_exec_error e;
  assert_int_equal(parse("text/plain", "  http://10.0.0.5/svc.xml\r\n", &x, &e),
                   0);
  assert_int_equal(x.n, 1);
  assert_int_equal(x.bare_url, 1);
  assert_string_equal(x.items[0].url, "http://10.0.0.5/svc.xml");
  assert_int_equal(x.items[0].priority, SIPLINE_EXEC_NOW);
  assert_int_equal(parse("text/html", "HTTPS://h.example:8443/x", &x, &e), 0);
  assert_int_equal(parse(XCT, "https://h/", &x, &e), 0);
  expect_400("text/plain", "ftp://h/x",
             "body is neither CiscoIPPhoneExecute nor an http(s) URL");
  expect_400("text/plain", "Dial:1234",
             "body is neither CiscoIPPhoneExecute nor an http(s) URL");
  expect_400("text/plain", "http://a/ http://b/", "bad URL");
  expect_400("text/plain", "http://a/\nhttp://b/", "bad URL");
  expect_400("text/plain", "http://", "bad URL");
  expect_400("text/plain", "   \r\n", "empty body");
  expect_400("text/plain", "", "empty body");
  char longurl[700] = "http://a/";
  memset(longurl + 9, 'x', 600);
  longurl[609] = 0;
  expect_400("text/plain", longurl, "URL longer than 511 bytes");
}

static void test_content_type(void **state) {
  (void)state;
  const char *bad[] = {"application/sdp",
                       "text/xmlx",
                       "application/json",
                       "multipart/mixed; boundary=x",
                       "xml",
                       ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    sipline_exec x;
    sipline_exec_error e;
    assert_int_equal(parse(bad[i], "http://a/", &x, &e),
                     SIPLINE_ERR_UNSUPPORTED);
    assert_int_equal(e.status, 415);
  }
  sipline_exec x;
  sipline_exec_error e;
  assert_int_equal(sipline_exec_parse(SIPLINE_PL_NULL, SIPLINE_PL("http://a/"),
                                      &x, &e, NULL),
                   SIPLINE_ERR_UNSUPPORTED);
  assert_string_equal(e.reason, "missing Content-Type");
  assert_int_equal(sipline_exec_parse(SIPLINE_PL("text/xml"), SIPLINE_PL_NULL,
                                      NULL, &e, NULL),
                   SIPLINE_ERR_INVAL);
}

static void test_encodings(void **state) {
  (void)state;
  sipline_exec x;
  sipline_exec_error e;
  /* A UTF-8 BOM, an ISO-8859-1 declaration and CDATA-free layout work. */
  assert_int_equal(parse(XCT,
                         "\xEF\xBB\xBF<CiscoIPPhoneExecute><ExecuteItem "
                         "URL=\"http://a/\"/></CiscoIPPhoneExecute>",
                         &x, &e),
                   0);
  assert_int_equal(parse(XCT,
                         "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                         "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://a/"
                         "\xe9\"/></CiscoIPPhoneExecute>",
                         &x, &e),
                   0);
  expect_400(XCT,
             "<?xml version=\"1.0\" encoding=\"EBCDIC-FOO\"?>"
             "<CiscoIPPhoneExecute/>",
             "bad XML");
  expect_400(XCT, "<CiscoIPPhoneExecute>\xff\xfe</CiscoIPPhoneExecute>",
             "bad XML");
}

/* ---- allocation failures ---- */

static long countdown;
static long live;
static void *f_malloc(size_t n, void *u) {
  (void)u;
  if (countdown == 0)
    return NULL;
  countdown--;
  void *p = malloc(n);
  live += p != NULL;
  return p;
}
static void f_free(void *p, void *u) {
  (void)u;
  live -= p != NULL;
  free(p);
}
static void *f_realloc(void *p, size_t n, void *u) {
  (void)u;
  if (countdown == 0)
    return NULL;
  countdown--;
  void *q = realloc(p, n);
  if (q && !p)
    live++;
  return q;
}

static void test_alloc_sweep(void **state) {
  (void)state;
  const char *doc = "<CiscoIPPhoneExecute>"
                    "<ExecuteItem Priority=\"1\" URL=\"http://a/1\"/>"
                    "<ExecuteItem URL=\"Key:Services\"/>"
                    "</CiscoIPPhoneExecute>";
  sipline_mem m = {NULL, f_malloc, f_free, NULL, f_realloc};
  int ok = 0;
  for (long k = 0; k < 1000 && !ok; k++) {
    countdown = k;
    live = 0;
    sipline_exec x;
    sipline_exec_error e;
    int rc = sipline_exec_parse(SIPLINE_PL("text/xml"), sipline_pl_str(doc), &x,
                                &e, &m);
    if (rc == 0) {
      ok = 1;
      assert_int_equal(x.n, 2);
    } else {
      assert_int_equal(rc, SIPLINE_ERR_NOMEM);
    }
    assert_int_equal(live, 0);
  }
  assert_true(ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_priorities),
      cmocka_unit_test(test_internal_uris),
      cmocka_unit_test(test_four_items),
      cmocka_unit_test(test_structure),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_entity_bombs),
      cmocka_unit_test(test_external_entities),
      cmocka_unit_test(test_huge_attribute),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_bare_url),
      cmocka_unit_test(test_content_type),
      cmocka_unit_test(test_encodings),
      cmocka_unit_test(test_alloc_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
