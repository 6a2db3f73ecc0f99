/*
 * tests/unit/test_tp.c: the transport layer without sockets: address
 * literals, stream framing one byte at a time, several messages in one read,
 * keep-alives, malformed and oversized streams, flows keyed by (transport,
 * local, remote), datagram trailing octets, response routing by Via with
 * rport/received (RFC 3581).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tp/tp.h"

/* ---------------------------------------------------------------- */
/* addresses */

static void addr_roundtrip(const char *in, const char *want) {
  sipline_addr a;
  assert_int_equal(sipline_addr_parse(in, strlen(in), &a), 0);
  char out[64];
  assert_true(sipline_addr_format(&a, out, sizeof(out)) > 0);
  assert_string_equal(out, want);
}

static void test_addr(void **state) {
  (void)state;
  addr_roundtrip("1.2.3.4", "1.2.3.4");
  addr_roundtrip("1.2.3.4:5060", "1.2.3.4:5060");
  addr_roundtrip("255.255.255.255:65535", "255.255.255.255:65535");
  addr_roundtrip("::1", "[::1]");
  addr_roundtrip("[::1]:5060", "[::1]:5060");
  addr_roundtrip("[2001:DB8:0:0:0:0:0:1]:5061", "[2001:db8::1]:5061");
  addr_roundtrip("2001:db8:0:1:0:0:0:0", "[2001:db8:0:1::]");
  addr_roundtrip("::ffff:192.0.2.128", "[::ffff:c000:280]");
  addr_roundtrip("1:0:0:2:0:0:0:3", "[1:0:0:2::3]");
  addr_roundtrip("::", "[::]");
  static const char *bad[] = {"",
                              "1.2.3",
                              "1.2.3.4.5",
                              "256.1.1.1",
                              "1.2.3.4:",
                              "1.2.3.4:65536",
                              "1.2.3.4:x",
                              "example.com",
                              "[::1",
                              "[::1]5060",
                              ":::",
                              "1::2::3",
                              "1:2:3:4:5:6:7:8:9",
                              "01234::",
                              "1.2.3.04444"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    sipline_addr a;
    assert_int_equal(sipline_addr_parse(bad[i], strlen(bad[i]), &a),
                     SIPLINE_ERR_MALFORMED);
  }
  sipline_addr a, b;
  sipline_addr_parse("10.0.0.1:5060", 13, &a);
  sipline_addr_parse("10.0.0.1:5061", 13, &b);
  assert_false(sipline_addr_eq(&a, &b));
  b.port = 5060;
  assert_true(sipline_addr_eq(&a, &b));
  char small[4];
  assert_int_equal(sipline_addr_format(&a, small, sizeof(small)),
                   SIPLINE_ERR_TOOBIG);
}

/* ---------------------------------------------------------------- */
/* framing */

typedef struct rx {
  int n;
  int n_rej;
  char last[4096];
  size_t lens[64];
} rx;
static rx R;
static sipline__tp TP;

static int on_msg(void *arg, const sipline_path *path, const sipline_msg *m,
                  sipline_tstamp now) {
  (void)arg;
  (void)path;
  (void)now;
  if (R.n < 64)
    R.lens[R.n] = m->len;
  R.n++;
  size_t l = m->len < sizeof(R.last) - 1 ? m->len : sizeof(R.last) - 1;
  memcpy(R.last, m->buf, l);
  R.last[l] = 0;
  return 0;
}

static void on_rej(void *arg, const sipline_path *path, sipline_pl raw,
                   const sipline_msg_error *e, sipline_tstamp now) {
  (void)arg;
  (void)path;
  assert_non_null(raw.p);
  (void)now;
  assert_non_null(e->reason);
  R.n_rej++;
}

static int setup(void **state) {
  (void)state;
  memset(&R, 0, sizeof(R));
  sipline__tp_init(&TP, sipline_mem_default(), on_msg, on_rej, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  sipline__tp_free(&TP);
  return 0;
}

static sipline_path mkpath(sipline_transport t, const char *remote) {
  sipline_path p;
  memset(&p, 0, sizeof(p));
  p.tp = t;
  sipline_addr_parse(remote, strlen(remote), &p.remote);
  sipline_addr_parse("10.0.0.9:5060", 13, &p.local);
  return p;
}

static const char MSG1[] = "OPTIONS sip:a@b SIP/2.0\r\n"
                           "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1\r\n"
                           "From: <sip:x@y>;tag=1\r\n"
                           "To: <sip:a@b>\r\n"
                           "Call-ID: c1\r\n"
                           "CSeq: 1 OPTIONS\r\n"
                           "Content-Length: 5\r\n\r\n"
                           "hello";
static const char MSG2[] = "SIP/2.0 200 OK\r\n"
                           "Via: SIP/2.0/TCP 10.0.0.9;branch=z9hG4bK2\r\n"
                           "From: <sip:x@y>;tag=1\r\n"
                           "To: <sip:a@b>;tag=2\r\n"
                           "Call-ID: c2\r\n"
                           "CSeq: 2 OPTIONS\r\n"
                           "Content-Length: 0\r\n\r\n";

/* The stream "CRLFCRLF MSG1 CRLF MSG2 MSG1" fed one byte at a time. */
static void test_stream_one_byte(void **state) {
  (void)state;
  char s[4096];
  int n = snprintf(s, sizeof(s), "\r\n\r\n%s\r\n%s%s", MSG1, MSG2, MSG1);
  sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:40000");
  for (int i = 0; i < n; i++)
    assert_int_equal(sipline__tp_recv(&TP, &p, (const uint8_t *)s + i, 1, i),
                     0);
  assert_int_equal(R.n, 3);
  assert_int_equal(R.lens[0], strlen(MSG1));
  assert_int_equal(R.lens[1], strlen(MSG2));
  assert_int_equal(R.lens[2], strlen(MSG1));
  assert_string_equal(R.last, MSG1);
  assert_int_equal(TP.n_flows, 1);
  /* the leading double CRLF was a ping: one CRLF pong (RFC 5626) */
  sipline__qitem *it = sipline__tp_pop(&TP);
  assert_non_null(it);
  assert_int_equal(it->len, 2);
  assert_memory_equal(sipline__tp_item_data(it), "\r\n", 2);
  sipline_mem_free(TP.mem, it);
  assert_null(sipline__tp_pop(&TP));
}

/* RFC 5626 pongs to our own pings, each in its own read, are pongs: two
 * of them in a row are not a double-CRLF ping from the server (which would
 * get a needless CRLF back); a ping from the server still gets its pong. */
static void test_pongs_not_a_ping(void **state) {
  (void)state;
  sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:40000");
  for (int k = 0; k < 3; k++) {
    assert_int_equal(sipline__tp_send(&TP, &p, "\r\n\r\n", 4, k), 0);
    sipline__qitem *it = sipline__tp_pop(&TP);
    assert_non_null(it);
    sipline_mem_free(TP.mem, it);
    assert_int_equal(
        sipline__tp_recv(&TP, &p, (const uint8_t *)"\r\n", 2, k), 0);
  }
  assert_null(sipline__tp_pop(&TP));
  /* no ping of ours out: a CRLFCRLF from the server is its ping */
  assert_int_equal(
      sipline__tp_recv(&TP, &p, (const uint8_t *)"\r\n\r\n", 4, 9), 0);
  sipline__qitem *it = sipline__tp_pop(&TP);
  assert_non_null(it);
  assert_int_equal(it->len, 2);
  sipline_mem_free(TP.mem, it);
  assert_null(sipline__tp_pop(&TP));
}

/* Every split point of two messages gives the same two messages. */
static void test_stream_every_split(void **state) {
  (void)state;
  char s[4096];
  int n = snprintf(s, sizeof(s), "%s%s", MSG1, MSG2);
  for (int cut = 0; cut <= n; cut++) {
    memset(&R, 0, sizeof(R));
    sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:40000");
    p.remote.port = (uint16_t)(1000 + cut); /* a new flow each time */
    assert_int_equal(
        sipline__tp_recv(&TP, &p, (const uint8_t *)s, (size_t)cut, 0), 0);
    assert_int_equal(sipline__tp_recv(&TP, &p, (const uint8_t *)s + cut,
                                      (size_t)(n - cut), 0),
                     0);
    assert_int_equal(R.n, 2);
    sipline__tp_flow_close(&TP, &p);
  }
  assert_int_equal(TP.n_flows, 0);
}

/* Two flows interleaved keep separate buffers (keyed by remote). */
static void test_flows_separate(void **state) {
  (void)state;
  sipline_path a = mkpath(SIPLINE_TP_TCP, "10.0.0.1:1111");
  sipline_path b = mkpath(SIPLINE_TP_TCP, "10.0.0.1:2222");
  sipline_path c = mkpath(SIPLINE_TP_TLS, "10.0.0.1:1111");
  size_t h = strlen(MSG1) / 2;
  sipline__tp_recv(&TP, &a, (const uint8_t *)MSG1, h, 0);
  sipline__tp_recv(&TP, &b, (const uint8_t *)MSG2, 10, 0);
  sipline__tp_recv(&TP, &c, (const uint8_t *)MSG2, 10, 0);
  assert_int_equal(TP.n_flows, 3);
  sipline__tp_recv(&TP, &a, (const uint8_t *)MSG1 + h, strlen(MSG1) - h, 0);
  assert_int_equal(R.n, 1);
  assert_string_equal(R.last, MSG1);
  sipline__tp_recv(&TP, &b, (const uint8_t *)MSG2 + 10, strlen(MSG2) - 10, 0);
  assert_int_equal(R.n, 2);
  assert_string_equal(R.last, MSG2);
  /* a wildcard local address finds the flow */
  sipline_path w = a;
  memset(&w.local, 0, sizeof(w.local));
  assert_non_null(sipline__tp_flow(&TP, &w));
  sipline__tp_flow_close(&TP, &w);
  assert_int_equal(TP.n_flows, 2);
  assert_null(sipline__tp_flow(&TP, &a));
}

/* A stream that breaks framing: MALFORMED, buffer dropped. */
static void test_stream_malformed(void **state) {
  (void)state;
  sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:40000");
  const char *bad = "garbage that is not SIP\r\n\r\n";
  assert_int_equal(
      sipline__tp_recv(&TP, &p, (const uint8_t *)bad, strlen(bad), 0),
      SIPLINE_ERR_MALFORMED);
  assert_int_equal(R.n_rej, 1);
  assert_int_equal(TP.n_flows, 0);
  /* no Content-Length on a stream cannot be framed either */
  const char *nocl = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
  assert_int_equal(
      sipline__tp_recv(&TP, &p, (const uint8_t *)nocl, strlen(nocl), 0),
      SIPLINE_ERR_MALFORMED);
}

/* A message the parser refuses but whose framing is clear is stepped
 * over (and rejected, so the UA can answer it); the stream goes on. Fed
 * whole and one byte at a time. */
static void test_stream_resync(void **state) {
  (void)state;
  static const char bad[] = "OPTIONS sip:a@b SIP/2.0\r\n"
                            "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKb\r\n"
                            "To: \"unbalanced <sip:a@b>\r\n"
                            "l: 7\r\n\r\n"
                            "body..!";
  char s[4096];
  int n = snprintf(s, sizeof(s), "%s%s%s", bad, MSG1, bad);
  for (int pass = 0; pass < 2; pass++) {
    memset(&R, 0, sizeof(R));
    sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:40000");
    p.remote.port = (uint16_t)(40000 + pass);
    if (pass == 0) {
      assert_int_equal(
          sipline__tp_recv(&TP, &p, (const uint8_t *)s, (size_t)n, 0), 0);
    } else {
      for (int i = 0; i < n; i++)
        assert_int_equal(
            sipline__tp_recv(&TP, &p, (const uint8_t *)s + i, 1, 0), 0);
    }
    assert_int_equal(R.n, 1);
    assert_string_equal(R.last, MSG1);
    assert_int_equal(R.n_rej, 2);
    assert_non_null(sipline__tp_flow(&TP, &p));
    const char *tail = MSG2;
    assert_int_equal(
        sipline__tp_recv(&TP, &p, (const uint8_t *)tail, strlen(tail), 0), 0);
    assert_int_equal(R.n, 2);
  }
  /* conflicting lengths cannot be stepped over: the stream is closed */
  static const char two[] = "OPTIONS sip:a@b SIP/2.0\r\n"
                            "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKc\r\n"
                            "Content-Length: 3\r\nl: 4\r\n\r\nabcd";
  sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:40009");
  assert_int_equal(
      sipline__tp_recv(&TP, &p, (const uint8_t *)two, strlen(two), 0),
      SIPLINE_ERR_MALFORMED);
  assert_null(sipline__tp_flow(&TP, &p));
}

/* A header section or body past the limit: TOOBIG, flow dropped. */
static void test_stream_too_big(void **state) {
  (void)state;
  TP.max_msg = 1000;
  sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:40000");
  char big[1200];
  memset(big, 'a', sizeof(big));
  memcpy(big, "OPTIONS sip:a@b SIP/2.0\r\nX: ", 28);
  assert_int_equal(sipline__tp_recv(&TP, &p, (const uint8_t *)big, 900, 0), 0);
  assert_int_equal(
      sipline__tp_recv(&TP, &p, (const uint8_t *)big + 900, 300, 0),
      SIPLINE_ERR_TOOBIG);
  assert_int_equal(TP.n_flows, 0);
  /* a Content-Length that promises too much */
  const char *cl = "OPTIONS sip:a@b SIP/2.0\r\n"
                   "Via: SIP/2.0/TCP h;branch=z9hG4bKx\r\n"
                   "Content-Length: 100000\r\n\r\n";
  assert_int_equal(
      sipline__tp_recv(&TP, &p, (const uint8_t *)cl, strlen(cl), 0), 0);
  assert_int_equal(sipline__tp_recv(&TP, &p, (const uint8_t *)big, 1000, 0),
                   SIPLINE_ERR_TOOBIG);
}

/* UDP: one datagram, one message; octets past Content-Length ignored. */
static void test_datagram(void **state) {
  (void)state;
  sipline_path p = mkpath(SIPLINE_TP_UDP, "10.0.0.1:5060");
  char s[4096];
  int n = snprintf(s, sizeof(s), "%sTRAILING JUNK", MSG1);
  assert_int_equal(sipline__tp_recv(&TP, &p, (const uint8_t *)s, (size_t)n, 0),
                   0);
  assert_int_equal(R.n, 1);
  assert_string_equal(R.last, MSG1);
  /* a keep-alive datagram is ignored */
  assert_int_equal(sipline__tp_recv(&TP, &p, (const uint8_t *)"\r\n\r\n", 4, 0),
                   0);
  assert_int_equal(R.n, 1);
  assert_int_equal(R.n_rej, 0);
  /* half a message is malformed on UDP, and makes no flow */
  assert_int_equal(sipline__tp_recv(&TP, &p, (const uint8_t *)MSG1, 20, 0),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(R.n_rej, 1);
  assert_int_equal(TP.n_flows, 0);
}

/* Sending on TCP creates the flow that will frame the answers. */
static void test_send_creates_flow(void **state) {
  (void)state;
  sipline_path p = mkpath(SIPLINE_TP_TCP, "10.0.0.1:5060");
  memset(&p.local, 0, sizeof(p.local)); /* not bound yet */
  assert_int_equal(sipline__tp_send(&TP, &p, "x", 1, 0), 0);
  assert_int_equal(TP.n_flows, 1);
  sipline_path in = mkpath(SIPLINE_TP_TCP, "10.0.0.1:5060");
  sipline__tp_recv(&TP, &in, (const uint8_t *)MSG2, strlen(MSG2), 0);
  assert_int_equal(TP.n_flows, 1); /* the same flow, local learned */
  assert_int_equal(R.n, 1);
  sipline_path udp = mkpath(SIPLINE_TP_UDP, "10.0.0.1:5060");
  assert_int_equal(sipline__tp_send(&TP, &udp, "y", 1, 0), 0);
  assert_int_equal(TP.n_flows, 1);
}

/* ---------------------------------------------------------------- */
/* Via routing */

static void route(const char *via_text, sipline_transport t, const char *src,
                  const char *want_dst, const char *want_via) {
  sipline_via v;
  sipline_pl vp = sipline_pl_str(via_text);
  assert_int_equal(sipline_via_parse(vp, &v), 0);
  sipline_path in = mkpath(t, src), out;
  sipline__tp_response_path(&in, &v, &out);
  char a[64];
  sipline_addr_format(&out.remote, a, sizeof(a));
  assert_string_equal(a, want_dst);
  sipline__buf b;
  sipline__buf_init(&b, sipline_mem_default());
  sipline__tp_via_echo(&b, vp, &v, &in);
  sipline__buf_append(&b, "", 1);
  assert_string_equal(b.p, want_via);
  sipline__buf_free(&b);
}

static void test_via_routing(void **state) {
  (void)state;
  /* RFC 3581 §4: rport → source ip:port, received + rport filled */
  route("SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKa;rport", SIPLINE_TP_UDP,
        "192.0.2.1:33333", "192.0.2.1:33333",
        "SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKa;rport=33333;"
        "received=192.0.2.1");
  /* no rport, host differs: received added, port from Via */
  route("SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKb", SIPLINE_TP_UDP,
        "192.0.2.1:33333", "192.0.2.1:5070",
        "SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKb;received=192.0.2.1");
  /* sent-by matches the source: no received; port defaults to 5060 */
  route("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc", SIPLINE_TP_UDP,
        "192.0.2.1:40000", "192.0.2.1:5060",
        "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc");
  /* a host name always gets received */
  route("SIP/2.0/UDP pc.example.com;branch=z9hG4bKd;rport", SIPLINE_TP_UDP,
        "192.0.2.1:40000", "192.0.2.1:40000",
        "SIP/2.0/UDP pc.example.com;branch=z9hG4bKd;rport=40000;"
        "received=192.0.2.1");
  /* TCP: same connection whatever the Via says */
  route("SIP/2.0/TCP 10.1.1.1:5070;branch=z9hG4bKe", SIPLINE_TP_TCP,
        "192.0.2.1:33333", "192.0.2.1:33333",
        "SIP/2.0/TCP 10.1.1.1:5070;branch=z9hG4bKe;received=192.0.2.1");
  /* IPv6 */
  route("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKf;rport", SIPLINE_TP_UDP,
        "[2001:db8::1]:5062", "[2001:db8::1]:5062",
        "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKf;rport=5062;"
        "received=2001:db8::1");
  /* an old received is replaced, other params kept */
  route("SIP/2.0/UDP 10.1.1.1;received=1.1.1.1;branch=z9hG4bKg;ttl=3",
        SIPLINE_TP_UDP, "192.0.2.1:5060", "192.0.2.1:5060",
        "SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKg;ttl=3;received=192.0.2.1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_addr),
      cmocka_unit_test_setup_teardown(test_stream_one_byte, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_every_split, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pongs_not_a_ping, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flows_separate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_malformed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_resync, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_too_big, setup, teardown),
      cmocka_unit_test_setup_teardown(test_datagram, setup, teardown),
      cmocka_unit_test_setup_teardown(test_send_creates_flow, setup, teardown),
      cmocka_unit_test(test_via_routing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
