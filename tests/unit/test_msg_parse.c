/*
 * The message layer piece by piece: header names (full and compact), URIs
 * (sip, sips, tel, IPv6, escapes, params, headers), name-addr, Via, lists,
 * parameters, auth headers, the eager fields, stream framing (one byte at a
 * time, several messages per read, keep-alive CRLFs, a split anywhere),
 * datagram framing, the printer and error reporting.
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

#define PL(s) SIPLINE_PL(s)
#define EQ(pl, s) assert_true(sipline_pl_eq((pl), SIPLINE_PL(s)))

static sipline_msg m;

static const char INVITE[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9"
    ";rport;received=192.0.2.101\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n"
    "Content-Type: application/sdp\r\n"
    "Expires: 120\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

static void test_names(void **state) {
  (void)state;
  for (int id = 1; id < SIPLINE_HDR__MAX; id++) {
    const char *n = sipline_hdr_name((sipline_hdr_id)id);
    assert_non_null(n);
    assert_int_equal(sipline_hdr_lookup(sipline_pl_str(n)), id);
    /* case-insensitive */
    char low[64];
    size_t l = strlen(n);
    for (size_t i = 0; i <= l; i++)
      low[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
    assert_int_equal(sipline_hdr_lookup(sipline_pl_str(low)), id);
  }
  static const struct {
    const char *c;
    sipline_hdr_id id;
  } compact[] = {
      {"i", SIPLINE_HDR_CALL_ID},
      {"m", SIPLINE_HDR_CONTACT},
      {"e", SIPLINE_HDR_CONTENT_ENCODING},
      {"l", SIPLINE_HDR_CONTENT_LENGTH},
      {"c", SIPLINE_HDR_CONTENT_TYPE},
      {"f", SIPLINE_HDR_FROM},
      {"s", SIPLINE_HDR_SUBJECT},
      {"k", SIPLINE_HDR_SUPPORTED},
      {"t", SIPLINE_HDR_TO},
      {"v", SIPLINE_HDR_VIA},
      {"o", SIPLINE_HDR_EVENT},
      {"u", SIPLINE_HDR_ALLOW_EVENTS},
      {"r", SIPLINE_HDR_REFER_TO},
      {"x", SIPLINE_HDR_SESSION_EXPIRES},
      {"V", SIPLINE_HDR_VIA},
      {"L", SIPLINE_HDR_CONTENT_LENGTH},
  };
  for (size_t i = 0; i < sizeof(compact) / sizeof(compact[0]); i++)
    assert_int_equal(sipline_hdr_lookup(sipline_pl_str(compact[i].c)),
                     compact[i].id);
  assert_int_equal(sipline_hdr_lookup(PL("X-Foo")), SIPLINE_HDR_OTHER);
  assert_int_equal(sipline_hdr_lookup(PL("Vias")), SIPLINE_HDR_OTHER);
  assert_int_equal(sipline_hdr_lookup(PL("q")), SIPLINE_HDR_OTHER);
  assert_int_equal(sipline_hdr_lookup(PL("Contacts")), SIPLINE_HDR_OTHER);
  assert_int_equal(sipline_hdr_lookup(SIPLINE_PL_NULL), SIPLINE_HDR_OTHER);
  assert_null(sipline_hdr_name(SIPLINE_HDR_OTHER));

  for (int i = 1; i < SIPLINE_METHOD__MAX; i++)
    assert_int_equal(sipline_method_from(sipline_pl_str(
                         sipline_method_name((sipline_method)i))),
                     i);
  assert_int_equal(sipline_method_from(PL("invite")), SIPLINE_METHOD_UNKNOWN);
  assert_int_equal(sipline_method_from(PL("INVITEX")), SIPLINE_METHOD_UNKNOWN);
  assert_int_equal(sipline_method_from(PL("FOO")), SIPLINE_METHOD_UNKNOWN);
  assert_null(sipline_method_name(SIPLINE_METHOD_UNKNOWN));
}

static void test_uri(void **state) {
  (void)state;
  sipline_uri u;
  assert_int_equal(
      sipline_uri_parse(PL("sip:alice:secret@atlanta.com:5061;transport=tcp;lr"
                           "?subject=project%20x&priority=urgent"),
                        &u),
      0);
  assert_int_equal(u.scheme_id, SIPLINE_SCHEME_SIP);
  EQ(u.user, "alice");
  EQ(u.password, "secret");
  EQ(u.host, "atlanta.com");
  assert_int_equal(u.port, 5061);
  assert_int_equal(u.has_port, 1);
  EQ(u.params, ";transport=tcp;lr");
  EQ(u.headers, "subject=project%20x&priority=urgent");
  sipline_pl v;
  assert_int_equal(sipline_param_get(u.params, "TRANSPORT", &v), 0);
  EQ(v, "tcp");
  assert_int_equal(sipline_param_get(u.params, "lr", &v), 0);
  assert_int_equal(v.len, 0);
  assert_int_equal(sipline_param_get(u.params, "maddr", &v),
                   SIPLINE_ERR_NOTFOUND);

  assert_int_equal(sipline_uri_parse(PL("sips:[2001:db8::10]:5071"), &u), 0);
  assert_int_equal(u.scheme_id, SIPLINE_SCHEME_SIPS);
  EQ(u.host, "[2001:db8::10]");
  assert_int_equal(u.host_is_ipv6, 1);
  assert_int_equal(u.port, 5071);
  assert_int_equal(u.user.len, 0);

  assert_int_equal(sipline_uri_parse(PL("sip:%61lice@host"), &u), 0);
  EQ(u.user, "%61lice");
  assert_int_equal(sipline_uri_parse(PL("SIP:host"), &u), 0);
  assert_int_equal(u.scheme_id, SIPLINE_SCHEME_SIP);
  assert_int_equal(u.has_port, 0);

  assert_int_equal(sipline_uri_parse(
                       PL("tel:+1-201-555-0123;phone-context=example.com"), &u),
                   0);
  assert_int_equal(u.scheme_id, SIPLINE_SCHEME_TEL);
  EQ(u.user, "+1-201-555-0123");
  EQ(u.params, ";phone-context=example.com");

  assert_int_equal(sipline_uri_parse(PL("mailto:a@b.example"), &u), 0);
  assert_int_equal(u.scheme_id, SIPLINE_SCHEME_OTHER);
  EQ(u.scheme, "mailto");
  EQ(u.opaque, "a@b.example");

  /* malformed */
  static const char *const bad[] = {
      "sip:",          "sip:alice@", "sip:a@h:port",
      "sip:a@h:70000", "sip:a b@h",  "sip:2001:db8::10",
      "sip:[2001:db8", "sip:h;;x",   "sip:h%4",
      "sip:h?x",       "<sip:h>",    "1sip:h",
      "sip:h;=v",      "tel:",       "x:",
      "sip:[zz::1]",   "sip:a@h>",   "sip:a\"b@h",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (sipline_uri_parse(sipline_pl_str(bad[i]), &u) == 0)
      fail_msg("accepted bad URI %s", bad[i]);
}

static void test_nameaddr(void **state) {
  (void)state;
  sipline_nameaddr na;
  assert_int_equal(sipline_nameaddr_parse(
                       PL("\"A. G. \\\"Bell\\\"\" <sip:agb@bell-telephone.com>"
                          " ;tag=a48s;x=\"y;z\""),
                       &na),
                   0);
  EQ(na.display, "A. G. \\\"Bell\\\"");
  EQ(na.uri_raw, "sip:agb@bell-telephone.com");
  EQ(na.uri.host, "bell-telephone.com");
  EQ(na.tag, "a48s");
  sipline_pl v;
  assert_int_equal(sipline_param_get(na.params, "x", &v), 0);
  EQ(v, "\"y;z\"");

  /* addr-spec: the parameters are header parameters, not URI ones. */
  assert_int_equal(
      sipline_nameaddr_parse(
          PL("sip:+12125551212@server.phone2net.com;tag=887s"), &na),
      0);
  assert_int_equal(na.display.len, 0);
  EQ(na.uri_raw, "sip:+12125551212@server.phone2net.com");
  EQ(na.tag, "887s");
  assert_int_equal(na.uri.params.len, 0);

  assert_int_equal(
      sipline_nameaddr_parse(PL("Mr. Watson <sip:w@h;lr>;expires=60"), &na), 0);
  EQ(na.display, "Mr. Watson");
  EQ(na.uri.params, ";lr");
  assert_int_equal(sipline_param_get(na.params, "expires", &v), 0);
  EQ(v, "60");

  assert_int_equal(sipline_nameaddr_parse(PL("<sip:x@[::1]:5060>"), &na), 0);
  EQ(na.uri.host, "[::1]");
  assert_int_equal(na.uri.port, 5060);

  /* "*" after a full parse into the same struct: nothing stale is left
   * (found by fuzz_msg_parse: views into a freed buffer). */
  assert_int_equal(sipline_nameaddr_parse(PL(" * "), &na), 0);
  assert_int_equal(na.star, 1);
  assert_null(na.uri.params.p);
  assert_null(na.uri.host.p);
  assert_null(na.params.p);

  static const char *const bad[] = {
      "\"unterminated <sip:a@b>",
      "Bell, Alexander <sip:a@b>",
      "< sip:a@b >",
      "<sip:a@b",
      "sip:a@b?x=y",
      "<sip:a@b>;",
      "<sip:a@b>;;tag=1",
      "<sip:a@b> junk",
      "",
      "\"x\" sip:a@b",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (sipline_nameaddr_parse(sipline_pl_str(bad[i]), &na) == 0)
      fail_msg("accepted bad name-addr %s", bad[i]);
}

static void test_via(void **state) {
  (void)state;
  sipline_via v;
  assert_int_equal(
      sipline_via_parse(
          PL("SIP / 2.0 / UDP  [2001:db8::9]:5070 ; branch=z9hG4bKx"
             ";received=[2001:db8::9:255];rport=5071;maddr=224.2.0.1"
             ";ttl=16;x-ext"),
          &v),
      0);
  EQ(v.transport, "UDP");
  EQ(v.host, "[2001:db8::9]");
  assert_int_equal(v.port, 5070);
  EQ(v.branch, "z9hG4bKx");
  EQ(v.received, "[2001:db8::9:255]");
  assert_int_equal(v.has_rport, 1);
  assert_int_equal(v.rport, 5071);
  EQ(v.maddr, "224.2.0.1");
  sipline_pl t;
  assert_int_equal(sipline_param_get(v.params, "ttl", &t), 0);
  EQ(t, "16");
  assert_int_equal(sipline_param_get(v.params, "x-ext", &t), 0);

  assert_int_equal(sipline_via_parse(PL("SIP/2.0/TLS h.example;rport"), &v), 0);
  assert_int_equal(v.has_rport, 1);
  assert_int_equal(v.rport, 0);
  assert_int_equal(v.has_port, 0);
  assert_int_equal(v.branch.len, 0);

  static const char *const bad[] = {
      "SIP/2.0/UDP",           "SIP/2.0 h",
      "SIP/2.0/UDP h;;",       "SIP/2.0/UDP h:x",
      "SIP/2.0/UDP h;branch",  "SIP/2.0/UDP h, x",
      "SIP/2.0/UDP h;rport=x", "SIP/2.0/UDPh",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (sipline_via_parse(sipline_pl_str(bad[i]), &v) == 0)
      fail_msg("accepted bad Via %s", bad[i]);
}

static void test_list(void **state) {
  (void)state;
  sipline_pl rest = PL(" <sip:a@b>;q=0.5 , \"x, y\" <sip:c@d,e> ,sip:f@g "), it;
  assert_int_equal(sipline_list_next(&rest, &it), 1);
  EQ(it, "<sip:a@b>;q=0.5");
  assert_int_equal(sipline_list_next(&rest, &it), 1);
  EQ(it, "\"x, y\" <sip:c@d,e>");
  assert_int_equal(sipline_list_next(&rest, &it), 1);
  EQ(it, "sip:f@g");
  assert_int_equal(sipline_list_next(&rest, &it), 0);
  assert_int_equal(sipline_list_next(&rest, &it), 0);

  static const char *const bad[] = {"a,,b", "a,", "\"a", "<a", "a, ,b"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    sipline_pl r = sipline_pl_str(bad[i]);
    int x;
    while ((x = sipline_list_next(&r, &it)) == 1)
      ;
    if (x != SIPLINE_ERR_MALFORMED)
      fail_msg("list %s not malformed", bad[i]);
  }
  rest = PL("   ");
  assert_int_equal(sipline_list_next(&rest, &it), 0);
}

static void test_next(void **state) {
  (void)state;
  sipline_pl rest = PL("SIP/2.0/UDP a;branch=z9hG4bK1 , SIP/2.0/TCP [::1]:5061"
                       ";received=\"x,y\",SIP/2.0/TLS c");
  sipline_via v;
  assert_int_equal(sipline_via_next(&rest, &v), 1);
  EQ(v.host, "a");
  EQ(v.branch, "z9hG4bK1");
  assert_int_equal(sipline_via_next(&rest, &v), 1);
  EQ(v.host, "[::1]");
  assert_int_equal(v.port, 5061);
  EQ(v.received, "\"x,y\"");
  assert_int_equal(sipline_via_next(&rest, &v), 1);
  EQ(v.transport, "TLS");
  assert_int_equal(sipline_via_next(&rest, &v), 0);
  rest = PL("SIP/2.0/UDP a,,SIP/2.0/UDP b");
  assert_int_equal(sipline_via_next(&rest, &v), 1);
  assert_int_equal(sipline_via_next(&rest, &v), SIPLINE_ERR_MALFORMED);
  rest = PL("SIP/2.0/UDP a junk");
  assert_int_equal(sipline_via_next(&rest, &v), SIPLINE_ERR_MALFORMED);

  sipline_nameaddr na;
  rest = PL("\"a, b\" <sip:x,1@h>;q=0.5, sip:y@h;expires=5 ,<sip:z@h>,*");
  assert_int_equal(sipline_nameaddr_next(&rest, &na), 1);
  EQ(na.display, "a, b");
  EQ(na.uri_raw, "sip:x,1@h");
  EQ(na.params, ";q=0.5");
  assert_int_equal(sipline_nameaddr_next(&rest, &na), 1);
  EQ(na.uri_raw, "sip:y@h");
  EQ(na.params, ";expires=5");
  assert_int_equal(sipline_nameaddr_next(&rest, &na), 1);
  EQ(na.uri.user, "z");
  assert_int_equal(sipline_nameaddr_next(&rest, &na), 1);
  assert_int_equal(na.star, 1);
  assert_int_equal(sipline_nameaddr_next(&rest, &na), 0);
  rest = PL("<sip:a@h>, ");
  assert_int_equal(sipline_nameaddr_next(&rest, &na), 1);
  assert_int_equal(sipline_nameaddr_next(&rest, &na), SIPLINE_ERR_MALFORMED);
  rest = PL("<sip:a@h> x");
  assert_int_equal(sipline_nameaddr_next(&rest, &na), SIPLINE_ERR_MALFORMED);
}

static void test_auth(void **state) {
  (void)state;
  sipline_auth_hdr a;
  assert_int_equal(sipline_auth_hdr_parse(
                       PL("Digest username=\"bob\", realm=\"biloxi.com\",\r\n "
                          "nonce=\"dc\\\"d9\","
                          " uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001,"
                          " cnonce=\"0a4f113b\", algorithm=SHA-256,"
                          " response=\"6629fae49393a05397450978507c4ef1\""),
                       &a),
                   0);
  EQ(a.scheme, "Digest");
  assert_int_equal(a.n, 9);
  sipline_pl v;
  assert_int_equal(sipline_auth_hdr_get(&a, "REALM", &v), 0);
  EQ(v, "biloxi.com");
  assert_int_equal(sipline_auth_hdr_get(&a, "nonce", &v), 0);
  EQ(v, "dc\\\"d9");
  assert_int_equal(sipline_auth_hdr_get(&a, "qop", &v), 0);
  EQ(v, "auth");
  assert_int_equal(sipline_auth_hdr_get(&a, "opaque", &v),
                   SIPLINE_ERR_NOTFOUND);
  assert_int_equal(sipline_auth_hdr_parse(PL("Digest realm=\"x"), &a),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(sipline_auth_hdr_parse(PL("Digest realm"), &a),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(sipline_auth_hdr_parse(PL("Digest a=b,,c=d"), &a),
                   SIPLINE_ERR_MALFORMED);
  char big[2048];
  int n = snprintf(big, sizeof(big), "Digest ");
  for (int i = 0; i < SIPLINE_AUTH_MAX_PARAMS + 1; i++)
    n += snprintf(big + n, sizeof(big) - (size_t)n, "%sp%d=v", i ? "," : "", i);
  assert_int_equal(sipline_auth_hdr_parse(sipline_pl_str(big), &a),
                   SIPLINE_ERR_TOOBIG);
}

static void test_eager(void **state) {
  (void)state;
  sipline_msg_error e;
  ptrdiff_t r = sipline_msg_parse(&m, INVITE, sizeof(INVITE) - 1,
                                  SIPLINE_PARSE_STREAM, &e);
  assert_int_equal(r, (ptrdiff_t)sizeof(INVITE) - 1);
  assert_int_equal(m.is_request, 1);
  assert_int_equal(m.method, SIPLINE_METHOD_INVITE);
  EQ(m.method_name, "INVITE");
  EQ(m.ruri_raw, "sip:bob@biloxi.example.com");
  EQ(m.ruri.user, "bob");
  EQ(m.version, "SIP/2.0");
  assert_int_equal(m.n_hdrs, 10);
  EQ(m.via.transport, "TCP");
  EQ(m.via.host, "client.atlanta.example.com");
  assert_int_equal(m.via.port, 5060);
  EQ(m.via.branch, "z9hG4bK74bf9");
  EQ(m.via.received, "192.0.2.101");
  assert_int_equal(m.via.has_rport, 1);
  assert_int_equal(m.n_via, 1);
  EQ(m.from.display, "Alice");
  EQ(m.from.tag, "9fxced76sl");
  EQ(m.to.uri.host, "biloxi.example.com");
  assert_int_equal(m.to.tag.len, 0);
  EQ(m.call_id, "3848276298220188511@atlanta.example.com");
  assert_int_equal(m.cseq, 1);
  assert_int_equal(m.cseq_method, SIPLINE_METHOD_INVITE);
  assert_int_equal(m.max_forwards, 70);
  assert_int_equal(m.has_max_forwards, 1);
  assert_int_equal(m.has_expires, 1);
  assert_int_equal(m.expires, 120);
  assert_int_equal(m.content_length, 4);
  EQ(m.content_type, "application/sdp");
  EQ(m.body, "v=0\n");
  assert_int_equal(sipline_msg_validate(&m, &e), 0);
  assert_int_equal(sipline_msg_uas_check(&m, NULL, &e), 0);

  const sipline_hdr *h = sipline_msg_hdr(&m, SIPLINE_HDR_CONTACT, 0);
  assert_non_null(h);
  EQ(h->name, "Contact");
  assert_null(sipline_msg_hdr(&m, SIPLINE_HDR_CONTACT, 1));
  assert_null(sipline_msg_hdr(&m, SIPLINE_HDR_ROUTE, 0));
  assert_ptr_equal(sipline_msg_hdr_by_name(&m, "call-id"),
                   sipline_msg_hdr(&m, SIPLINE_HDR_CALL_ID, 0));
  assert_null(sipline_msg_hdr_by_name(&m, "X-None"));

  /* A response, compact names, folding, an unknown header kept. */
  static const char resp[] =
      "SIP/2.0 180 Ringing\r\n"
      "v: SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"
      "v: SIP/2.0/UDP h3;branch=z9hG4bK3\r\n"
      "f: <sip:a@x>;tag=1\r\n"
      "t: <sip:b@y>\r\n"
      "  ;tag=2\r\n"
      "i: abc\r\n"
      "CSeq: 7 INVITE\r\n"
      "X-Custom:  hello  world \r\n"
      "l: 0\r\n"
      "\r\n";
  r = sipline_msg_parse(&m, resp, sizeof(resp) - 1, SIPLINE_PARSE_STREAM, &e);
  assert_int_equal(r, (ptrdiff_t)sizeof(resp) - 1);
  assert_int_equal(m.is_request, 0);
  assert_int_equal(m.status, 180);
  EQ(m.reason, "Ringing");
  assert_int_equal(m.n_via, 3);
  EQ(m.via.host, "h1");
  EQ(m.to.tag, "2");
  EQ(m.call_id, "abc");
  h = sipline_msg_hdr_by_name(&m, "x-custom");
  assert_non_null(h);
  assert_int_equal(h->id, SIPLINE_HDR_OTHER);
  EQ(h->value, "hello  world");
  assert_int_equal(m.count[SIPLINE_HDR_VIA], 2);
  assert_int_equal(sipline_msg_validate(&m, &e), 0);
  /* a UAC drops a response with several Via values (§8.1.3.3) */
  assert_int_equal(sipline_msg_uas_check(&m, NULL, &e), 1);
  assert_int_equal(e.status, 0);
}

static void test_headers_validate(void **state) {
  (void)state;
  /* Each line is added to a minimal request; good ones validate, bad ones
   * fail with 400 naming the header. */
  static const struct {
    const char *line;
    bool ok;
  } cases[] = {
      {"Contact: *", true},
      {"Contact: <sip:a@b>;expires=60;q=0.7, sip:c@d;q=1", true},
      {"Contact: <sip:a@b>;q=1.5", false},
      {"Contact: <sip:a@b>;expires=x", false},
      {"Contact: sip:user@example.com?Route=%3Csip:x%3E", false},
      {"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>", true},
      {"Route: sip:p1.example.com", false},
      {"Record-Route: <sip:p1;lr>", true},
      {"Date: Sat, 13 Nov 2010 23:29:00 GMT", true},
      {"Date: Sat, 13 Nov 2010 23:29:00 EST", false},
      {"Retry-After: 18000;duration=3600", true},
      {"Retry-After: 120 (I'm in a meeting)", true},
      {"Retry-After: 99999999999", false},
      {"Warning: 307 isi.edu \"Session parameter 'foo' not understood\"", true},
      {"Warning: 1812 overture \"In Progress\"", false},
      {"Expires: 5", true},
      {"Expires: 4294967296", false},
      {"Min-Expires: 60", true},
      {"Session-Expires: 1800;refresher=uac", true},
      {"x: 90", true},
      {"Min-SE: 90", true},
      {"Min-SE: x", false},
      {"RSeq: 988789", true},
      {"RAck: 776656 1 INVITE", true},
      {"RAck: 776656 INVITE", false},
      {"Event: presence;id=1", true},
      {"o: dialog", true},
      {"Event: ;id=1", false},
      {"Subscription-State: active;expires=60", true},
      {"Allow: INVITE, ACK, OPTIONS, CANCEL, BYE", true},
      {"Allow:", true},
      {"Supported: 100rel, timer", true},
      {"k:", true},
      {"Require: 100rel", true},
      {"Require: ", false},
      {"Accept: application/sdp;level=1, application/*, */*", true},
      {"Accept: application", false},
      {"Content-Type: multipart/mixed; boundary=\"x y\"", true},
      {"Content-Type: sdp", false},
      {"Content-Disposition: session;handling=optional", true},
      {"Content-Encoding: gzip", true},
      {"Timestamp: 54.3 0.2", true},
      {"Timestamp: x", false},
      {"MIME-Version: 1.0", true},
      {"MIME-Version: 1", false},
      {"Priority: emergency", true},
      {"Call-Info: <http://wwww.example.com/alice/photo.jpg> ;purpose=icon",
       true},
      {"Call-Info: http://x", true}, /* deliberately lenient */
      {"Alert-Info: Bellcore-dr2", true},
      {"Warning: 399 host some unquoted text", true},
      {"Warning: 399", false},
      {"WWW-Authenticate: Digest realm=\"a\", nonce=\"1\", algorithm=SHA-256,"
       " Digest realm=\"a\", nonce=\"2\"",
       true},
      {"WWW-Authenticate: Digest realm=\"a", false},
      {"Authorization: Digest username=\"a\", realm=\"r\", nonce=\"n\", "
       "uri=\"sip:b\", response=\"x\"",
       true},
      {"Authorization: Digest username=\"a", false},
      {"Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"",
       true},
      {"Authentication-Info: nextnonce=\"47364c23432d2e131a5fb210812c\"", true},
      {"Reply-To: Bob <sip:bob@biloxi.com>", true},
      {"Refer-To: <sip:c@d?Replaces=abc%40x>", true},
      {"r: sip:c@d", true},
      {"In-Reply-To: 70710@saturn.bell-tel.com, 17320@saturn.bell-tel.com",
       true},
      {"Via: SIP/2.0/UDP h2;branch=z9hG4bK2", true},
      {"Via: SIP/2.0/UDP h2;;", false},
      {"Organization: Boxes by Bob", true},
      {"Subject: ", true},
      {"Alert-Info: <http://www.example.com/sounds/moo.wav>", true},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "OPTIONS sip:b@example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                     "From: <sip:a@example.com>;tag=1\r\n"
                     "To: <sip:b@example.com>\r\n"
                     "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
                     "%s\r\nContent-Length: 0\r\n\r\n",
                     cases[i].line);
    sipline_msg_error e = {0};
    ptrdiff_t r =
        sipline_msg_parse(&m, buf, (size_t)n, SIPLINE_PARSE_STREAM, &e);
    int v = r >= 0 ? sipline_msg_validate(&m, &e) : (int)r;
    if ((v == 0) != cases[i].ok)
      fail_msg("%s: got %d (%s), expected %s", cases[i].line, v,
               v ? e.reason : "ok", cases[i].ok ? "ok" : "malformed");
    if (!cases[i].ok) {
      assert_int_equal(e.status, 400);
      assert_true(e.offset > 0 && e.offset < (size_t)n);
    }
  }
}

static void test_errors(void **state) {
  (void)state;
  static const struct {
    const char *msg;
    int status;
  } cases[] = {
      {"INVITE sip:a@b SIP/3.0\r\nl: 0\r\n\r\n", 505},
      {"INVITE sip:a@b SIP/2.0 \r\nl: 0\r\n\r\n", 400},
      {"INVITE  sip:a@b SIP/2.0\r\nl: 0\r\n\r\n", 400},
      {"INVITE <sip:a@b> SIP/2.0\r\nl: 0\r\n\r\n", 400},
      {"INVITE sip:a@b HTTP/1.1\r\nl: 0\r\n\r\n", 400},
      {"INV@TE sip:a@b SIP/2.0\r\nl: 0\r\n\r\n", 400},
      {"SIP/2.0 20 OK\r\nl: 0\r\n\r\n", 0},
      {"SIP/2.0 2000 OK\r\nl: 0\r\n\r\n", 0},
      {"SIP/2.0 099 OK\r\nl: 0\r\n\r\n", 0},
      {"SIP/2.0 200 OK\r\nCSeq: 99999999999 INVITE\r\nl: 0\r\n\r\n", 0},
      {"INVITE sip:a@b SIP/2.0\r\nl: -1\r\n\r\n", 400},
      {"INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\nl: 0\r\n\r\n", 400},
      {"INVITE sip:a@b SIP/2.0\r\nNoColon\r\nl: 0\r\n\r\n", 400},
      {"INVITE sip:a@b SIP/2.0\r\n folded-first: x\r\nl: 0\r\n\r\n", 400},
      {"INVITE sip:a@b SIP/2.0\r\nMax-Forwards: 256\r\nl: 0\r\n\r\n", 400},
      {"INVITE sip:a@b SIP/2.0\r\nl: 10\r\n\r\nshort", 400},
      {"INVITE sip:a@b SIP/2.0\r\nl: 0\r\n", 400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    sipline_msg_error e = {0};
    ptrdiff_t r = sipline_msg_parse(&m, cases[i].msg, strlen(cases[i].msg),
                                    SIPLINE_PARSE_DATAGRAM, &e);
    if (r != SIPLINE_ERR_MALFORMED || e.status != cases[i].status)
      fail_msg("case %zu: r=%td status=%d (%s), expected status %d", i, r,
               e.status, e.reason ? e.reason : "-", cases[i].status);
    assert_non_null(e.reason);
  }
  /* More than SIPLINE_MSG_MAX_HDRS headers. */
  size_t cap = 64 + (SIPLINE_MSG_MAX_HDRS + 2) * 16;
  char *big = malloc(cap);
  assert_non_null(big);
  size_t n = (size_t)snprintf(big, cap, "OPTIONS sip:a@b SIP/2.0\r\n");
  for (int i = 0; i < SIPLINE_MSG_MAX_HDRS + 1; i++)
    n += (size_t)snprintf(big + n, cap - n, "X-H%d: v\r\n", i);
  n += (size_t)snprintf(big + n, cap - n, "\r\n");
  sipline_msg_error e;
  assert_int_equal(sipline_msg_parse(&m, big, n, SIPLINE_PARSE_DATAGRAM, &e),
                   SIPLINE_ERR_TOOBIG);
  assert_int_equal(e.status, 400);
  free(big);
}

static void test_stream(void **state) {
  (void)state;
  const size_t len = sizeof(INVITE) - 1;
  sipline_msg_error e;
  /* One byte at a time. */
  for (size_t k = 0; k < len; k++)
    assert_int_equal(sipline_msg_parse(&m, INVITE, k, SIPLINE_PARSE_STREAM, &e),
                     SIPLINE_ERR_INCOMPLETE);
  /* Keep-alives, two messages and a third's prefix in one read, split at
   * every position: the parser always frames the same messages. */
  static const char RESP[] = "SIP/2.0 100 Trying\r\n"
                             "Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
                             "Content-Length: 0\r\n\r\n";
  char wire[4096];
  size_t w = 0;
  memcpy(wire + w, "\r\n\r\n", 4);
  w += 4;
  memcpy(wire + w, INVITE, len);
  w += len;
  memcpy(wire + w, "\r\n", 2);
  w += 2;
  memcpy(wire + w, RESP, sizeof(RESP) - 1);
  w += sizeof(RESP) - 1;
  memcpy(wire + w, INVITE, 20);
  w += 20;
  for (size_t split = 0; split <= w; split++) {
    /* The receiver holds a buffer; bytes arrive in two reads. */
    size_t have = split, pos = 0;
    int got = 0;
    for (int round = 0; round < 10; round++) {
      pos += sipline_stream_skip_crlf(wire + pos, have - pos);
      ptrdiff_t r = sipline_msg_parse(&m, wire + pos, have - pos,
                                      SIPLINE_PARSE_STREAM, &e);
      if (r == SIPLINE_ERR_INCOMPLETE) {
        if (have == w)
          break;
        have = w; /* the second read */
        continue;
      }
      assert_true(r > 0);
      if (got == 0) {
        assert_int_equal(m.method, SIPLINE_METHOD_INVITE);
        EQ(m.body, "v=0\n");
      } else {
        assert_int_equal(m.status, 100);
      }
      got++;
      pos += (size_t)r;
    }
    assert_int_equal(got, 2);
    assert_int_equal(w - pos, 20);
  }
  assert_int_equal(sipline_stream_skip_crlf("\r\n\r\nX", 5), 4);
  assert_int_equal(sipline_stream_skip_crlf("X", 1), 0);
  /* No Content-Length on a stream is malformed once the headers are in. */
  static const char NOCL[] =
      "OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
  assert_int_equal(
      sipline_msg_parse(&m, NOCL, sizeof(NOCL) - 1, SIPLINE_PARSE_STREAM, &e),
      SIPLINE_ERR_MALFORMED);
  /* ... and means "to the end" in a datagram. */
  assert_int_equal(
      sipline_msg_parse(&m, NOCL, sizeof(NOCL) - 1, SIPLINE_PARSE_DATAGRAM, &e),
      (ptrdiff_t)sizeof(NOCL) - 1);
  assert_int_equal(m.content_length, -1);
  /* Datagram: trailing octets past Content-Length are ignored. */
  char dg[1024];
  memcpy(dg, INVITE, len);
  memcpy(dg + len, "garbage", 7);
  assert_int_equal(
      sipline_msg_parse(&m, dg, len + 7, SIPLINE_PARSE_DATAGRAM, &e),
      (ptrdiff_t)len);
  /* Datagram shorter than Content-Length: 400. */
  assert_int_equal(
      sipline_msg_parse(&m, INVITE, len - 1, SIPLINE_PARSE_DATAGRAM, &e),
      SIPLINE_ERR_MALFORMED);
  assert_int_equal(e.status, 400);
  /* Bare LF line ends are tolerated. */
  static const char LF[] =
      "OPTIONS sip:a@b SIP/2.0\nCSeq: 1 OPTIONS\nl: 2\n\nab";
  assert_int_equal(
      sipline_msg_parse(&m, LF, sizeof(LF) - 1, SIPLINE_PARSE_STREAM, &e),
      (ptrdiff_t)sizeof(LF) - 1);
  EQ(m.body, "ab");
}

static void test_print(void **state) {
  (void)state;
  static const char in[] = "MESSAGE sip:b@h SIP/2.0\r\n"
                           "v:  SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                           "f: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\n"
                           "i: x\r\nCSeq: 2 MESSAGE\r\n"
                           "Subject: one\r\n two\r\n"
                           "X-Thing: keep\r\n"
                           "l: 5\r\nc: text/plain\r\n\r\nhello";
  static const char want[] =
      "MESSAGE sip:b@h SIP/2.0\r\n"
      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n"
      "Call-ID: x\r\nCSeq: 2 MESSAGE\r\n"
      "Subject: one two\r\n"
      "X-Thing: keep\r\n"
      "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  sipline_msg_error e;
  assert_true(
      sipline_msg_parse(&m, in, sizeof(in) - 1, SIPLINE_PARSE_STREAM, &e) > 0);
  char out[1024];
  ptrdiff_t n = sipline_msg_print(&m, out, sizeof(out));
  assert_int_equal(n, (ptrdiff_t)sizeof(want) - 1);
  assert_memory_equal(out, want, sizeof(want) - 1);
  /* Every capacity below the size fails cleanly. */
  for (size_t cap = 0; cap < sizeof(want) - 1; cap++)
    assert_int_equal(sipline_msg_print(&m, out, cap), SIPLINE_ERR_TOOBIG);
  /* A response. */
  static const char r[] = "SIP/2.0 486 Busy Here\r\nl: 0\r\n\r\n";
  assert_true(
      sipline_msg_parse(&m, r, sizeof(r) - 1, SIPLINE_PARSE_STREAM, &e) > 0);
  n = sipline_msg_print(&m, out, sizeof(out));
  static const char rw[] = "SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n";
  assert_int_equal(n, (ptrdiff_t)sizeof(rw) - 1);
  assert_memory_equal(out, rw, sizeof(rw) - 1);
}

static void test_uas_check(void **state) {
  (void)state;
  static const char base[] = "INVITE sip:b@example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                             "From: <sip:a@example.com>;tag=1\r\n"
                             "To: <sip:b@example.com>\r\n"
                             "Call-ID: c1\r\nCSeq: 1 INVITE\r\n";
  static const struct {
    const char *extra;
    int status; /* -1: accepted */
  } cases[] = {
      {"Require: 100rel\r\nl: 0\r\n\r\n", -1},
      {"Require: foo\r\nl: 0\r\n\r\n", 420},
      {"Content-Type: text/html\r\nl: 2\r\n\r\nhi", 415},
      {"Content-Type: application/sdp\r\nContent-Encoding: gzip\r\nl: "
       "2\r\n\r\nhi",
       415},
      {"Accept: text/plain\r\nl: 0\r\n\r\n", 406},
      {"Accept: application/*\r\nl: 0\r\n\r\n", -1},
      {"Max-Forwards: 1\r\nMax-Forwards: 2\r\nl: 0\r\n\r\n", 400},
      {"l: 0\r\nl: 1\r\n\r\n", 400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s%s", base, cases[i].extra);
    sipline_msg_error e = {0};
    assert_true(
        sipline_msg_parse(&m, buf, (size_t)n, SIPLINE_PARSE_DATAGRAM, &e) > 0);
    assert_int_equal(sipline_msg_validate(&m, &e), 0);
    int u = sipline_msg_uas_check(&m, NULL, &e);
    if (cases[i].status < 0)
      assert_int_equal(u, 0);
    else if (u != 1 || e.status != cases[i].status)
      fail_msg("case %zu: %d/%d, expected %d", i, u, e.status, cases[i].status);
  }
  /* Options replace the defaults. */
  static const char *const sup[] = {"foo", NULL};
  sipline_msg_uas_opts o = {sup, NULL};
  char buf[1024];
  int n = snprintf(buf, sizeof(buf), "%sRequire: foo\r\nl: 0\r\n\r\n", base);
  sipline_msg_error e;
  assert_true(
      sipline_msg_parse(&m, buf, (size_t)n, SIPLINE_PARSE_DATAGRAM, &e) > 0);
  assert_int_equal(sipline_msg_uas_check(&m, &o, &e), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_uri),
      cmocka_unit_test(test_nameaddr),
      cmocka_unit_test(test_via),
      cmocka_unit_test(test_list),
      cmocka_unit_test(test_next),
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_eager),
      cmocka_unit_test(test_headers_validate),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_stream),
      cmocka_unit_test(test_print),
      cmocka_unit_test(test_uas_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
