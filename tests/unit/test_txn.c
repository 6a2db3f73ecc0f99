/*
 * tests/unit/test_txn.c: the transaction state machines on a virtual clock
 * (RFC 3261 §17, RFC 6026): exact retransmission schedules, every timeout,
 * every state, absorbed retransmissions, late responses, ACK for non-2xx,
 * RFC 2543 matching, transport errors, CANCEL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "txn/txn.h"

typedef struct env {
  sipline__theap heap;
  sipline_rng rng;
  sipline__tp tp;
  sipline__txl txl;
  sipline_tstamp now;
  /* what the TU saw */
  int n_cb;
  int last_status;
  int last_err;
  int n_stx_evt[8];
} env;

static env E;

static int deliver(void *arg, const sipline_path *path, const sipline_msg *m,
                   sipline_tstamp now) {
  (void)arg;
  (void)path;
  if (!m->is_request)
    sipline__txl_on_response(&E.txl, m, path, now);
  return 0;
}

static int setup(void **state) {
  (void)state;
  memset(&E, 0, sizeof(E));
  sipline__theap_init(&E.heap, sipline_mem_default());
  sipline_rng_seed(&E.rng, 1);
  sipline__tp_init(&E.tp, sipline_mem_default(), deliver, NULL, NULL);
  assert_int_equal(
      sipline__txl_init(&E.txl, sipline_mem_default(), &E.heap, &E.rng, &E.tp),
      0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  sipline__txl_free(&E.txl);
  sipline__tp_free(&E.tp);
  sipline__theap_free(&E.heap);
  return 0;
}

static sipline_path udp_path(void) {
  sipline_path p;
  memset(&p, 0, sizeof(p));
  p.tp = SIPLINE_TP_UDP;
  sipline_addr_parse("10.0.0.1:5060", 13, &p.remote);
  sipline_addr_parse("10.0.0.9:5060", 13, &p.local);
  return p;
}

static sipline_path tcp_path(void) {
  sipline_path p = udp_path();
  p.tp = SIPLINE_TP_TCP;
  return p;
}

/* Pops everything queued; returns how many; copies the last into buf. */
static int drain(char *buf, size_t cap) {
  int n = 0;
  sipline__qitem *it;
  while ((it = sipline__tp_pop(&E.tp))) {
    if (buf) {
      size_t l = it->len < cap - 1 ? it->len : cap - 1;
      memcpy(buf, sipline__tp_item_data(it), l);
      buf[l] = 0;
    }
    sipline_mem_free(E.tp.mem, it);
    n++;
  }
  return n;
}

/* Advances the clock to t, firing due timers on the way in order. */
static void run_to(sipline_tstamp t) {
  for (;;) {
    sipline_tstamp d = sipline__theap_next(&E.heap);
    if (d == SIPLINE_TSTAMP_NONE || d > t)
      break;
    E.now = d;
    sipline__theap_run(&E.heap, d);
    sipline__txl_reap(&E.txl);
  }
  E.now = t;
}

/*
 * Runs until `until`, recording the time of every transmission. Returns how
 * many, times in ms in out[].
 */
static int schedule(sipline_tstamp until, sipline_tstamp *out, int max) {
  int n = 0;
  for (;;) {
    int k = drain(NULL, 0);
    for (int i = 0; i < k && n < max; i++)
      out[n++] = E.now;
    sipline_tstamp d = sipline__theap_next(&E.heap);
    if (d == SIPLINE_TSTAMP_NONE || d > until)
      break;
    E.now = d;
    sipline__theap_run(&E.heap, d);
    sipline__txl_reap(&E.txl);
  }
  return n;
}

static void ctx_cb(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                   int err, sipline_tstamp now) {
  (void)arg;
  (void)ctx;
  (void)now;
  E.n_cb++;
  E.last_status = rsp ? rsp->status : 0;
  E.last_err = err;
}

static char REQ[2048];

static const char *mkreq(const char *method, const char *branch,
                         unsigned cseq) {
  snprintf(REQ, sizeof(REQ),
           "%s sip:bob@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=%s;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:alice@example.com>;tag=aaa\r\n"
           "To: <sip:bob@example.com>\r\n"
           "Call-ID: call-1\r\n"
           "CSeq: %u %s\r\n"
           "Content-Length: 0\r\n\r\n",
           method, branch, cseq, method);
  return REQ;
}

static char RSP[2048];

static void inject_rsp(int status, const char *branch, const char *method,
                       unsigned cseq, const char *totag) {
  snprintf(RSP, sizeof(RSP),
           "SIP/2.0 %d Whatever\r\n"
           "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=%s;rport=5060\r\n"
           "From: <sip:alice@example.com>;tag=aaa\r\n"
           "To: <sip:bob@example.com>%s%s\r\n"
           "Call-ID: call-1\r\n"
           "CSeq: %u %s\r\n"
           "Content-Length: 0\r\n\r\n",
           status, branch, totag ? ";tag=" : "", totag ? totag : "", cseq,
           method);
  sipline_path p = udp_path();
  assert_int_equal(
      sipline__tp_recv(&E.tp, &p, (const uint8_t *)RSP, strlen(RSP), E.now), 0);
  sipline__txl_reap(&E.txl);
}

static sipline__ctx *start(const char *method, const char *branch,
                           sipline_path path) {
  sipline__ctx_params p = {.path = &path,
                           .req = mkreq(method, branch, 1),
                           .len = strlen(REQ),
                           .cb = ctx_cb,
                           .arg = NULL};
  sipline__ctx *c = NULL;
  assert_int_equal(sipline__ctx_new(&E.txl, &p, E.now, &c), 0);
  assert_non_null(c);
  return c;
}

/* Timer E with the defaults: 0.5, 1, 2, 4, 4, 4 s between sends; F at 16 s. */
static void test_timer_e_schedule(void **state) {
  (void)state;
  start("OPTIONS", "z9hG4bK-e1", udp_path());
  sipline_tstamp t[32];
  int n = schedule(60000, t, 32);
  static const sipline_tstamp want[] = {0, 500, 1500, 3500, 7500, 11500, 15500};
  assert_int_equal(n, 7);
  for (int i = 0; i < n; i++)
    assert_int_equal(t[i], want[i]);
  /* Timer F: one timeout report at exactly 16 s. */
  assert_int_equal(E.n_cb, 1);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

/* Timer A doubles without a cap: 0.5, 1, 2, 4, 8; B at 16 s. */
static void test_timer_a_schedule(void **state) {
  (void)state;
  start("INVITE", "z9hG4bK-a1", udp_path());
  sipline_tstamp t[32];
  int n = schedule(60000, t, 32);
  static const sipline_tstamp want[] = {0, 500, 1500, 3500, 7500, 15500};
  assert_int_equal(n, 6);
  for (int i = 0; i < n; i++)
    assert_int_equal(t[i], want[i]);
  assert_int_equal(E.n_cb, 1);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
}

/* With Timer B = 64*T1 (32 s) the doubling goes on: ... 8, 16 s. */
static void test_timer_a_uncapped(void **state) {
  (void)state;
  E.txl.tv.b = 32000;
  start("INVITE", "z9hG4bK-a2", udp_path());
  sipline_tstamp t[32];
  int n = schedule(60000, t, 32);
  static const sipline_tstamp want[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
  assert_int_equal(n, 7);
  for (int i = 0; i < n; i++)
    assert_int_equal(t[i], want[i]);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
}

/* Profile values flow in: T1 = 100, T2 = 300, F = 2000. */
static void test_profile_timers(void **state) {
  (void)state;
  sipline_profile p;
  memset(&p, 0, sizeof(p));
  p.t1_ms = 100;
  p.t2_ms = 300;
  p.t4_ms = 1000;
  p.timer_f_ms = 2000;
  sipline__txl_set_timers(&E.txl, &p);
  assert_int_equal(E.txl.tv.b, 6400); /* 0 in the profile = 64*T1 */
  start("REGISTER", "z9hG4bK-p1", udp_path());
  sipline_tstamp t[32];
  int n = schedule(60000, t, 32);
  /* 0, 100, 300, 600, 900, 1200, 1500, 1800; F at 2000 */
  static const sipline_tstamp want[] = {0,   100,  300,  600,
                                        900, 1200, 1500, 1800};
  assert_int_equal(n, 8);
  for (int i = 0; i < n; i++)
    assert_int_equal(t[i], want[i]);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
}

/* A provisional moves E to T2 (§17.1.2.2); the final stops it; K = T4. */
static void test_nict_proceeding_completed(void **state) {
  (void)state;
  start("REGISTER", "z9hG4bK-n1", udp_path());
  drain(NULL, 0);
  run_to(600); /* one retransmission at 500 */
  assert_int_equal(drain(NULL, 0), 1);
  inject_rsp(100, "z9hG4bK-n1", "REGISTER", 1, NULL);
  assert_int_equal(E.n_cb, 1);
  assert_int_equal(E.last_status, 100);
  /* next E fires at 500+1000=1500 (armed before), then every 4 s */
  sipline_tstamp t[8];
  int n = schedule(10000, t, 8);
  assert_int_equal(n, 3);
  assert_int_equal(t[0], 1500);
  assert_int_equal(t[1], 5500);
  assert_int_equal(t[2], 9500);
  run_to(10000);
  inject_rsp(200, "z9hG4bK-n1", "REGISTER", 1, "t1");
  assert_int_equal(E.n_cb, 2);
  assert_int_equal(E.last_status, 200);
  /* no more sends; late responses absorbed during K */
  inject_rsp(200, "z9hG4bK-n1", "REGISTER", 1, "t1");
  assert_int_equal(E.n_cb, 2);
  assert_int_equal(sipline__txl_count(&E.txl), 1);
  run_to(10000 + 4999);
  assert_int_equal(sipline__txl_count(&E.txl), 1);
  run_to(10000 + 5000); /* Timer K = T4 */
  assert_int_equal(sipline__txl_count(&E.txl), 0);
  assert_int_equal(drain(NULL, 0), 0);
  /* after K: the response is stray */
  uint64_t stray = E.txl.n_stray_rsp;
  inject_rsp(200, "z9hG4bK-n1", "REGISTER", 1, "t1");
  assert_int_equal(E.txl.n_stray_rsp, stray + 1);
  assert_int_equal(E.n_cb, 2);
}

/* A response with the right branch but another CSeq method does not match. */
static void test_nict_method_must_match(void **state) {
  (void)state;
  start("OPTIONS", "z9hG4bK-m1", udp_path());
  inject_rsp(200, "z9hG4bK-m1", "INVITE", 1, "x");
  assert_int_equal(E.n_cb, 0);
  inject_rsp(200, "z9hG4bK-m1", "OPTIONS", 1, "x");
  assert_int_equal(E.n_cb, 1);
}

/* Extension methods match by name (§17.1.3 compares the CSeq method). */
static void test_nict_extension_method(void **state) {
  (void)state;
  start("FOO", "z9hG4bK-m2", udp_path());
  inject_rsp(200, "z9hG4bK-m2", "BAR", 1, "x");
  assert_int_equal(E.n_cb, 0);
  inject_rsp(200, "z9hG4bK-m2", "FOO", 1, "x");
  assert_int_equal(E.n_cb, 1);
}

/* Reliable transports: no retransmission, K = 0, F still fires. */
static void test_nict_tcp(void **state) {
  (void)state;
  start("OPTIONS", "z9hG4bK-t1", tcp_path());
  sipline_tstamp t[8];
  int n = schedule(60000, t, 8);
  assert_int_equal(n, 1);
  assert_int_equal(t[0], 0);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
  assert_int_equal(E.now, 16000);
}

/* INVITE answered 486: ACK built and sent (same branch, To with tag),
 * retransmitted 486 re-ACKed, D = 16 s then gone. */
static void test_ict_non2xx_ack(void **state) {
  (void)state;
  start("INVITE", "z9hG4bK-i1", udp_path());
  drain(NULL, 0);
  inject_rsp(180, "z9hG4bK-i1", "INVITE", 1, "bt");
  assert_int_equal(E.last_status, 180);
  run_to(5000);
  assert_int_equal(drain(NULL, 0), 0); /* Proceeding: A stopped */
  inject_rsp(486, "z9hG4bK-i1", "INVITE", 1, "bt");
  assert_int_equal(E.n_cb, 2);
  assert_int_equal(E.last_status, 486);
  char ack[2048];
  assert_int_equal(drain(ack, sizeof(ack)), 1);
  assert_non_null(strstr(ack, "ACK sip:bob@example.com SIP/2.0\r\n"));
  assert_non_null(strstr(ack, "branch=z9hG4bK-i1"));
  assert_non_null(strstr(ack, "To: <sip:bob@example.com>;tag=bt\r\n"));
  assert_non_null(strstr(ack, "CSeq: 1 ACK\r\n"));
  inject_rsp(486, "z9hG4bK-i1", "INVITE", 1, "bt");
  assert_int_equal(E.n_cb, 2);
  assert_int_equal(drain(NULL, 0), 1);
  run_to(5000 + 15999);
  assert_int_equal(sipline__txl_count(&E.txl), 1);
  run_to(5000 + 16000);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

static int ack_on_2xx;
static void ctx_cb_ack(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                       int err, sipline_tstamp now) {
  ctx_cb(arg, ctx, rsp, err, now);
  if (rsp && rsp->status == 200 && ack_on_2xx) {
    const char *ack = "ACK sip:bob@10.0.0.1 SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-ack\r\n"
                      "To: <sip:bob@example.com>;tag=ok\r\n"
                      "From: <sip:alice@example.com>;tag=aaa\r\n"
                      "Call-ID: call-1\r\nCSeq: 1 ACK\r\n"
                      "Content-Length: 0\r\n\r\n";
    sipline_path p = udp_path();
    assert_int_equal(sipline__ctx_ack_2xx(ctx, &p, ack, strlen(ack), now), 0);
  }
}

/* INVITE answered 2xx: Accepted (RFC 6026), retransmitted 2xx re-ACKed by
 * the txn once the TU gave its ACK, M = 64*T1 then the "gone" report. */
static void test_ict_2xx_accepted(void **state) {
  (void)state;
  ack_on_2xx = 1;
  sipline_path path = udp_path();
  sipline__ctx_params p = {.path = &path,
                           .req = mkreq("INVITE", "z9hG4bK-i2", 1),
                           .len = strlen(REQ),
                           .cb = ctx_cb_ack};
  assert_int_equal(sipline__ctx_new(&E.txl, &p, E.now, NULL), 0);
  drain(NULL, 0);
  run_to(100);
  inject_rsp(200, "z9hG4bK-i2", "INVITE", 1, "ok");
  assert_int_equal(E.n_cb, 1);
  assert_int_equal(drain(NULL, 0), 1); /* the TU's ACK */
  run_to(2000);
  assert_int_equal(drain(NULL, 0), 0); /* no INVITE retransmission */
  inject_rsp(200, "z9hG4bK-i2", "INVITE", 1, "ok");
  assert_int_equal(E.n_cb, 1);         /* absorbed ... */
  assert_int_equal(drain(NULL, 0), 1); /* ... and re-ACKed */
  /* a forked 2xx (other tag) goes to the TU */
  ack_on_2xx = 0;
  inject_rsp(200, "z9hG4bK-i2", "INVITE", 1, "fork");
  assert_int_equal(E.n_cb, 2);
  run_to(100 + 32000 - 1);
  assert_int_equal(E.n_cb, 2);
  run_to(100 + 32000);
  assert_int_equal(E.n_cb, 3); /* Timer M: the end */
  assert_int_equal(E.last_status, 0);
  assert_int_equal(E.last_err, 0);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

/*
 * An Accepted INVITE on TCP whose connection closes ends at once, and its
 * TU is told so (rsp NULL, err 0) exactly once, as Timer M would.
 */
static void test_ict_accepted_tcp_closed(void **state) {
  (void)state;
  sipline__ctx *c = start("INVITE", "z9hG4bK-i3", tcp_path());
  (void)c;
  drain(NULL, 0);
  inject_rsp(200, "z9hG4bK-i3", "INVITE", 1, "ok");
  assert_int_equal(E.n_cb, 1);
  assert_int_equal(E.last_status, 200);
  sipline_path tp = tcp_path();
  sipline__txl_transport_error(&E.txl, &tp, SIPLINE_TPERR_CLOSED, E.now);
  assert_int_equal(E.n_cb, 2);
  assert_int_equal(E.last_status, 0);
  assert_int_equal(E.last_err, 0);
  sipline__txl_reap(&E.txl);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
  run_to(100000);
  assert_int_equal(E.n_cb, 2); /* no second end */
}

/* A transport error fails the transactions on that flow only (R5c). */
static void test_transport_error(void **state) {
  (void)state;
  start("REGISTER", "z9hG4bK-x1", udp_path());
  sipline_path other = udp_path();
  sipline_addr_parse("10.0.0.2:5060", 13, &other.remote);
  sipline__ctx_params p = {.path = &other,
                           .req = mkreq("OPTIONS", "z9hG4bK-x2", 1),
                           .len = strlen(REQ),
                           .cb = ctx_cb};
  assert_int_equal(sipline__ctx_new(&E.txl, &p, E.now, NULL), 0);
  run_to(700);
  sipline_path err = udp_path();
  memset(&err.local, 0, sizeof(err.local)); /* wildcard local */
  assert_int_equal(sipline__txl_transport_error(
                       &E.txl, &err, SIPLINE_TPERR_UNREACHABLE, E.now),
                   1);
  assert_int_equal(E.n_cb, 1);
  assert_int_equal(E.last_err, SIPLINE_ERR_TRANSPORT);
  sipline__txl_reap(&E.txl);
  assert_int_equal(sipline__txl_count(&E.txl), 1);
}

/* CANCEL waits for a provisional (§9.1), then goes with the same branch. */
static void test_cancel(void **state) {
  (void)state;
  sipline__ctx *c = start("INVITE", "z9hG4bK-c1", udp_path());
  drain(NULL, 0);
  assert_int_equal(sipline__ctx_cancel(c, E.now), 0);
  assert_int_equal(drain(NULL, 0), 0);
  inject_rsp(180, "z9hG4bK-c1", "INVITE", 1, "bt");
  char buf[2048];
  assert_int_equal(drain(buf, sizeof(buf)), 1);
  assert_non_null(strstr(buf, "CANCEL sip:bob@example.com SIP/2.0\r\n"));
  assert_non_null(strstr(buf, "branch=z9hG4bK-c1"));
  assert_non_null(strstr(buf, "CSeq: 1 CANCEL\r\n"));
  assert_non_null(strstr(buf, "To: <sip:bob@example.com>\r\n"));
  inject_rsp(200, "z9hG4bK-c1", "CANCEL", 1, "bt");
  assert_int_equal(E.n_cb, 1); /* the CANCEL's 200 is not the INVITE's */
  inject_rsp(487, "z9hG4bK-c1", "INVITE", 1, "bt");
  assert_int_equal(E.n_cb, 2);
  assert_int_equal(E.last_status, 487);
}

/*
 * RFC 3261 §9.1: a CANCELled INVITE whose server never sends a final
 * response ends 64*T1 (32 s) after the CANCEL, reported as a timeout.
 */
static void test_cancel_no_final(void **state) {
  (void)state;
  sipline__ctx *c = start("INVITE", "z9hG4bK-c2", udp_path());
  drain(NULL, 0);
  run_to(1000);
  assert_int_equal(drain(NULL, 0), 1); /* the Timer A resend at 0.5 s */
  inject_rsp(180, "z9hG4bK-c2", "INVITE", 1, "bt");
  assert_int_equal(E.n_cb, 1);
  run_to(5000);
  assert_int_equal(sipline__ctx_cancel(c, E.now), 0);
  char buf[2048];
  assert_int_equal(drain(buf, sizeof(buf)), 1);
  assert_non_null(strstr(buf, "CANCEL sip:bob@example.com SIP/2.0\r\n"));
  inject_rsp(200, "z9hG4bK-c2", "CANCEL", 1, "bt");
  run_to(5000 + 32000 - 1);
  assert_int_equal(E.n_cb, 1); /* still waiting for the 487 */
  run_to(5000 + 32000);
  assert_int_equal(E.n_cb, 2);
  assert_int_equal(E.last_status, 0);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
}

/* A provisional after our CANCEL does not stop the §9.1 limit (found by
 * fuzz_dlg_call: the call waited for a final response forever). */
static void test_cancel_then_provisional(void **state) {
  (void)state;
  sipline__ctx *c = start("INVITE", "z9hG4bK-c3", udp_path());
  drain(NULL, 0);
  inject_rsp(100, "z9hG4bK-c3", "INVITE", 1, NULL);
  run_to(1000);
  assert_int_equal(sipline__ctx_cancel(c, E.now), 0);
  drain(NULL, 0);
  run_to(2000);
  inject_rsp(180, "z9hG4bK-c3", "INVITE", 1, "bt");
  run_to(1000 + 32000 - 1);
  assert_int_equal(E.last_err, 0); /* still waiting for the 487 */
  run_to(1000 + 32000);
  assert_int_equal(E.last_status, 0);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
}

/* ---------------------------------------------------------------- */
/* server side */

static sipline__stx *inject_req(const char *text, int *absorbed,
                                sipline_path path) {
  sipline_msg m;
  ptrdiff_t r =
      sipline_msg_parse(&m, text, strlen(text), SIPLINE_PARSE_DATAGRAM, NULL);
  assert_true(r > 0);
  sipline__stx *s = NULL;
  int a = sipline__txl_on_request(&E.txl, &m, &path, E.now, &s);
  assert_true(a >= 0);
  if (absorbed)
    *absorbed = a;
  return s;
}

static void stx_cb(void *arg, sipline__stx *stx, sipline__stx_evt what,
                   sipline_tstamp now) {
  (void)arg;
  (void)stx;
  (void)now;
  E.n_stx_evt[what]++;
}

static char SREQ[2048];
static const char *peer_req(const char *method, const char *branch,
                            const char *totag) {
  snprintf(SREQ, sizeof(SREQ),
           "%s sip:alice@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP proxy.example.com:5070;branch=%s;rport\r\n"
           "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK-second\r\n"
           "Record-Route: <sip:proxy.example.com;lr>\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:bob@example.com>;tag=bbb\r\n"
           "To: <sip:alice@example.com>%s%s\r\n"
           "Call-ID: srv-1\r\n"
           "CSeq: 7 %s\r\n"
           "Content-Length: 0\r\n\r\n",
           method, branch, totag ? ";tag=" : "", totag ? totag : "",
           method == NULL ? "" : method);
  return SREQ;
}

/* §8.2.6.2 response building with RFC 3581 and routing to rport. */
static void test_nist_response(void **state) {
  (void)state;
  sipline_path in = udp_path();
  sipline_addr_parse("192.0.2.7:40000", 15, &in.remote);
  sipline__stx *s =
      inject_req(peer_req("OPTIONS", "z9hG4bK-s1", NULL), NULL, in);
  assert_non_null(s);
  sipline__resp r = {.status = 200,
                     .headers = "Allow: INVITE\r\n",
                     .content_type = "text/plain",
                     .body = "hi",
                     .body_len = 2};
  assert_int_equal(sipline__stx_respond(s, &r, E.now), 0);
  sipline__qitem *it = sipline__tp_pop(&E.tp);
  assert_non_null(it);
  const sipline_path *out = sipline__tp_item_path(it);
  char a[64];
  sipline_addr_format(&out->remote, a, sizeof(a));
  assert_string_equal(a, "192.0.2.7:40000");
  char buf[2048];
  memcpy(buf, sipline__tp_item_data(it), it->len);
  buf[it->len] = 0;
  sipline_mem_free(E.tp.mem, it);
  assert_non_null(strstr(buf, "SIP/2.0 200 OK\r\n"));
  assert_non_null(
      strstr(buf, "Via: SIP/2.0/UDP proxy.example.com:5070;branch=z9hG4bK-s1;"
                  "rport=40000;received=192.0.2.7\r\n"
                  "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK-second\r\n"));
  assert_non_null(strstr(buf, "From: <sip:bob@example.com>;tag=bbb\r\n"));
  char to[128];
  snprintf(to, sizeof(to), "To: <sip:alice@example.com>;tag=%s\r\n",
           sipline__stx_local_tag(s));
  assert_non_null(strstr(buf, to));
  assert_non_null(strstr(buf, "Call-ID: srv-1\r\nCSeq: 7 OPTIONS\r\n"));
  assert_null(strstr(buf, "Record-Route")); /* not dialog-creating */
  assert_non_null(strstr(buf, "Allow: INVITE\r\n"));
  assert_non_null(strstr(buf, "Content-Type: text/plain\r\n"
                              "Content-Length: 2\r\n\r\nhi"));
  /* the response parses */
  sipline_msg m;
  assert_true(sipline_msg_parse(&m, buf, strlen(buf), SIPLINE_PARSE_DATAGRAM,
                                NULL) > 0);
}

/* Non-INVITE server: retransmissions absorbed (resend the final), J. */
static void test_nist_retransmissions(void **state) {
  (void)state;
  int absorbed = -1;
  sipline__stx *s =
      inject_req(peer_req("BYE", "z9hG4bK-s2", "x"), &absorbed, udp_path());
  assert_int_equal(absorbed, 0);
  /* Trying: a retransmission is absorbed silently (nothing to resend) */
  assert_null(
      inject_req(peer_req("BYE", "z9hG4bK-s2", "x"), &absorbed, udp_path()));
  assert_int_equal(absorbed, 1);
  assert_int_equal(drain(NULL, 0), 0);
  assert_int_equal(sipline__stx_reply(s, 100, NULL, E.now), 0);
  assert_int_equal(drain(NULL, 0), 1);
  inject_req(peer_req("BYE", "z9hG4bK-s2", "x"), &absorbed, udp_path());
  assert_int_equal(drain(NULL, 0), 1); /* Proceeding: resend the 100 */
  run_to(1000);
  assert_int_equal(sipline__stx_reply(s, 200, NULL, E.now), 0);
  assert_int_equal(drain(NULL, 0), 1);
  assert_int_equal(sipline__stx_reply(s, 200, NULL, E.now), SIPLINE_ERR_STATE);
  inject_req(peer_req("BYE", "z9hG4bK-s2", "x"), &absorbed, udp_path());
  assert_int_equal(absorbed, 1);
  char buf[2048];
  assert_int_equal(drain(buf, sizeof(buf)), 1);
  assert_non_null(strstr(buf, "SIP/2.0 200 OK\r\n"));
  assert_int_equal(E.txl.n_retrans_rx, 3);
  run_to(1000 + 15999);
  assert_int_equal(sipline__txl_count(&E.txl), 1);
  run_to(1000 + 16000); /* Timer J */
  assert_int_equal(sipline__txl_count(&E.txl), 0);
  /* after J, the same request is new again */
  s = inject_req(peer_req("BYE", "z9hG4bK-s2", "x"), &absorbed, udp_path());
  assert_int_equal(absorbed, 0);
  assert_non_null(s);
}

/* INVITE server: 100, 486, G = 0.5, 1, 2, 4, 4 ...; H = 16 s, NO_ACK. */
static void test_ist_timer_g_h(void **state) {
  (void)state;
  sipline__stx *s =
      inject_req(peer_req("INVITE", "z9hG4bK-s3", NULL), NULL, udp_path());
  sipline__stx_set_handler(s, stx_cb, NULL);
  assert_int_equal(sipline__stx_trying(s, E.now), 0);
  char buf[2048];
  assert_int_equal(drain(buf, sizeof(buf)), 1);
  assert_non_null(strstr(buf, "SIP/2.0 100 Trying\r\n"));
  assert_non_null(strstr(buf, "To: <sip:alice@example.com>\r\n")); /* no tag */
  assert_int_equal(sipline__stx_reply(s, 486, NULL, E.now), 0);
  sipline_tstamp t[32];
  int n = schedule(60000, t, 32);
  static const sipline_tstamp want[] = {0, 500, 1500, 3500, 7500, 11500, 15500};
  assert_int_equal(n, 7);
  for (int i = 0; i < n; i++)
    assert_int_equal(t[i], want[i]);
  assert_int_equal(E.n_stx_evt[SIPLINE__STX_NO_ACK], 1);
  assert_int_equal(E.n_stx_evt[SIPLINE__STX_GONE], 1);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

/* INVITE server: ACK moves Completed → Confirmed, Timer I = T4, absorbed. */
static void test_ist_ack_confirmed(void **state) {
  (void)state;
  sipline__stx *s =
      inject_req(peer_req("INVITE", "z9hG4bK-s4", NULL), NULL, udp_path());
  assert_int_equal(sipline__stx_reply(s, 603, NULL, E.now), 0);
  char buf[2048];
  assert_int_equal(drain(buf, sizeof(buf)), 1);
  assert_null(strstr(buf, "Record-Route")); /* only 101..299 */
  run_to(200);
  /* the ACK carries our tag */
  char ack[2048];
  snprintf(ack, sizeof(ack), "%s",
           peer_req("ACK", "z9hG4bK-s4", sipline__stx_local_tag(s)));
  int absorbed = -1;
  assert_null(inject_req(ack, &absorbed, udp_path()));
  assert_int_equal(absorbed, 1);
  run_to(200 + 4999);
  assert_int_equal(drain(NULL, 0), 0); /* G stopped */
  assert_int_equal(sipline__txl_count(&E.txl), 1);
  /* Confirmed absorbs further ACKs */
  assert_null(inject_req(ack, &absorbed, udp_path()));
  assert_int_equal(absorbed, 1);
  run_to(200 + 5000); /* Timer I = T4 */
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

/* INVITE server 2xx: Accepted absorbs INVITE retransmissions (RFC 6026),
 * passes the TU's 2xx retransmissions, ends with L = 64*T1. */
static void test_ist_2xx_accepted(void **state) {
  (void)state;
  sipline__stx *s =
      inject_req(peer_req("INVITE", "z9hG4bK-s5", NULL), NULL, udp_path());
  sipline__stx_set_handler(s, stx_cb, NULL);
  sipline__resp r = {.status = 200, .to_tag = "dlgtag"};
  assert_int_equal(sipline__stx_respond(s, &r, E.now), 0);
  char buf[2048];
  assert_int_equal(drain(buf, sizeof(buf)), 1);
  assert_non_null(strstr(buf, ";tag=dlgtag\r\n"));
  assert_non_null(strstr(buf, "Record-Route: <sip:proxy.example.com;lr>\r\n"));
  int absorbed = -1;
  inject_req(peer_req("INVITE", "z9hG4bK-s5", NULL), &absorbed, udp_path());
  assert_int_equal(absorbed, 1);
  assert_int_equal(drain(NULL, 0), 0);
  assert_int_equal(sipline__stx_respond(s, &r, E.now), 0); /* TU retransmits */
  assert_int_equal(drain(NULL, 0), 1);
  assert_int_equal(sipline__stx_reply(s, 486, NULL, E.now), SIPLINE_ERR_STATE);
  /* the 2xx ACK has its own branch: not absorbed, no transaction */
  inject_req(peer_req("ACK", "z9hG4bK-s5ack", "dlgtag"), &absorbed, udp_path());
  assert_int_equal(absorbed, 0);
  run_to(31999);
  assert_int_equal(E.n_stx_evt[SIPLINE__STX_GONE], 0);
  run_to(32000);
  assert_int_equal(E.n_stx_evt[SIPLINE__STX_GONE], 1);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

/* A CANCEL finds its INVITE (§9.2) and is its own transaction. */
static void test_find_invite(void **state) {
  (void)state;
  sipline__stx *inv =
      inject_req(peer_req("INVITE", "z9hG4bK-s6", NULL), NULL, udp_path());
  sipline_msg m;
  const char *c = peer_req("CANCEL", "z9hG4bK-s6", NULL);
  assert_true(
      sipline_msg_parse(&m, c, strlen(c), SIPLINE_PARSE_DATAGRAM, NULL) > 0);
  assert_ptr_equal(sipline__txl_find_invite(&E.txl, &m), inv);
  int absorbed = -1;
  sipline__stx *cs = inject_req(c, &absorbed, udp_path());
  assert_int_equal(absorbed, 0);
  assert_non_null(cs);
  assert_ptr_not_equal(cs, inv);
}

/* RFC 2543 peers (no magic cookie): matched by R-URI, tags, Call-ID, CSeq
 * and the top Via; the ACK by the To tag of our response. */
static void test_rfc2543_matching(void **state) {
  (void)state;
  sipline__stx *s =
      inject_req(peer_req("INVITE", "old-1", NULL), NULL, udp_path());
  assert_non_null(s);
  int absorbed = -1;
  inject_req(peer_req("INVITE", "old-1", NULL), &absorbed, udp_path());
  assert_int_equal(absorbed, 1);
  /* another Via branch value is another transaction in 2543 too */
  sipline__stx *s2 =
      inject_req(peer_req("INVITE", "old-2", NULL), &absorbed, udp_path());
  assert_int_equal(absorbed, 0);
  assert_ptr_not_equal(s2, s);
  assert_int_equal(sipline__stx_reply(s, 404, NULL, E.now), 0);
  drain(NULL, 0);
  char ack[2048];
  snprintf(ack, sizeof(ack), "%s",
           peer_req("ACK", "old-1", sipline__stx_local_tag(s)));
  inject_req(ack, &absorbed, udp_path());
  assert_int_equal(absorbed, 1);
  /* an ACK with a wrong To tag is not ours */
  inject_req(peer_req("ACK", "old-1", "nope"), &absorbed, udp_path());
  assert_int_equal(absorbed, 0);
}

/* The server's response goes back on the same TCP flow; J = 0. */
static void test_nist_tcp(void **state) {
  (void)state;
  sipline__stx *s =
      inject_req(peer_req("OPTIONS", "z9hG4bK-s7", NULL), NULL, tcp_path());
  assert_int_equal(sipline__stx_reply(s, 200, NULL, E.now), 0);
  sipline__qitem *it = sipline__tp_pop(&E.tp);
  assert_non_null(it);
  const sipline_path *p = sipline__tp_item_path(it);
  sipline_path want = tcp_path();
  assert_true(sipline__path_same_flow(p, &want));
  sipline_mem_free(E.tp.mem, it);
  sipline__txl_reap(&E.txl);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

/* A TCP error ends a pending server transaction, telling its TU. */
static void test_stx_transport_error(void **state) {
  (void)state;
  sipline__stx *s =
      inject_req(peer_req("INVITE", "z9hG4bK-s8", NULL), NULL, tcp_path());
  sipline__stx_set_handler(s, stx_cb, NULL);
  sipline_path p = tcp_path();
  assert_int_equal(
      sipline__txl_transport_error(&E.txl, &p, SIPLINE_TPERR_CLOSED, E.now), 1);
  assert_int_equal(E.n_stx_evt[SIPLINE__STX_TPERR], 1);
  assert_int_equal(E.n_stx_evt[SIPLINE__STX_GONE], 1);
}

/* Thousands of transactions: the hash grows, every response still finds
 * its transaction, and all time out together. */
/*
 * Branches match without regard to case (the bucket hash folds eight bytes
 * at a time, then the tail): every length from one character after the
 * cookie to past three words, with the case of every letter flipped, finds
 * its transaction, and a branch one character off finds none.
 */
static void test_branch_case(void **state) {
  (void)state;
  const char *tail = "AbCdEfGhIjKlMnOpQrStUvWxYz";
  char br[64], lc[64];
  int want = 0;
  for (size_t n = 1; n <= strlen(tail); n++) {
    snprintf(br, sizeof(br), "z9hG4bK%.*s", (int)n, tail);
    snprintf(lc, sizeof(lc), "%s", br);
    for (size_t i = 7; lc[i]; i++)
      if (lc[i] >= 'A' && lc[i] <= 'Z')
        lc[i] = (char)(lc[i] + 32);
      else if (lc[i] >= 'a' && lc[i] <= 'z')
        lc[i] = (char)(lc[i] - 32);
    start("OPTIONS", br, udp_path());
    drain(NULL, 0);
    {
      char off[64];
      snprintf(off, sizeof(off), "%s", lc);
      off[strlen(off) - 1] = '7';
      inject_rsp(200, off, "OPTIONS", 1, "x");
      assert_int_equal(E.n_cb, want);
    }
    inject_rsp(200, lc, "OPTIONS", 1, "x");
    assert_int_equal(E.n_cb, ++want);
  }
}

/*
 * Finished client transactions are reused for later requests: requests of
 * growing and shrinking sizes (across the 256-byte steps a block is sized
 * by, so that a spare is sometimes too small) go out byte for byte, and
 * every one is matched by its own response.
 */
static void test_ctx_reuse(void **state) {
  (void)state;
  char br[96], out[4096], sent[4096];
  int want = 0;
  for (int i = 0; i < 60; i++) {
    int n = (i * 37) % 70;
    snprintf(br, sizeof(br), "z9hG4bK-reuse-%02d-%.*s", i, n,
             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
             "klmnopqrstuvwxyz");
    start("REGISTER", br, udp_path());
    snprintf(sent, sizeof(sent), "%s", REQ);
    assert_int_equal(drain(out, sizeof(out)), 1);
    assert_string_equal(out, sent);
    inject_rsp(200, br, "REGISTER", 1, "t");
    assert_int_equal(E.n_cb, ++want);
    run_to(E.now + 5000); /* Timer K: the transaction ends, becomes a spare */
    assert_int_equal(sipline__txl_count(&E.txl), 0);
  }
  assert_true(E.txl.n_spare >= 1 && E.txl.n_spare <= SIPLINE__TXL_SPARE);
}

static void test_many(void **state) {
  (void)state;
  char br[64];
  for (int i = 0; i < 5000; i++) {
    snprintf(br, sizeof(br), "z9hG4bK-many-%d", i);
    start("REGISTER", br, udp_path());
  }
  drain(NULL, 0);
  assert_true(E.txl.n_buckets >= 1024);
  assert_int_equal(sipline__txl_count(&E.txl), 5000);
  for (int i = 0; i < 5000; i += 2) {
    snprintf(br, sizeof(br), "z9hG4bK-many-%d", i);
    inject_rsp(200, br, "REGISTER", 1, "t");
  }
  assert_int_equal(E.n_cb, 2500);
  run_to(16000);
  assert_int_equal(E.n_cb, 5000);
  assert_int_equal(E.last_err, SIPLINE_ERR_TIMEOUT);
  assert_int_equal(sipline__txl_count(&E.txl), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_timer_e_schedule, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timer_a_schedule, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timer_a_uncapped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_timers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nict_proceeding_completed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_nict_method_must_match, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_nict_extension_method, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_nict_tcp, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ict_non2xx_ack, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ict_2xx_accepted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transport_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_no_final, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_then_provisional, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ict_accepted_tcp_closed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_nist_response, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nist_retransmissions, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ist_timer_g_h, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ist_ack_confirmed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ist_2xx_accepted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_find_invite, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rfc2543_matching, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nist_tcp, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stx_transport_error, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_many, setup, teardown),
      cmocka_unit_test_setup_teardown(test_branch_case, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ctx_reuse, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
