/*
 * tests/unit/test_ua.c: the engine through the public sipline_ua API with a
 * scripted peer on a virtual clock: OPTIONS answered, 501/405/481, malformed
 * requests refused with the reason, 416, 420 with Unsupported, CANCEL,
 * modules (dispatch order, handlers, DNS answers, transport errors), the
 * bounded event queue, client transactions through recv/pull_tx/deadlines.
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

static sipline_profile *PROF;
static sipline_ua *UA;
static sipline_tstamp NOW;

/* ---------------------------------------------------------------- */
/* a test module */

typedef struct tmod {
  int n_init, n_req, n_dns, n_tperr, n_cancelled, n_gone;
  int take;        /* on_request: 1 = take every request */
  int keep_invite; /* keep INVITE stx with a handler, answer later */
  sipline__stx *kept;
  unsigned last_dns;
  int last_why;
} tmod;
static tmod TM;

static int tm_init(sipline_ua *ua, void **st) {
  (void)ua;
  TM.n_init++;
  *st = &TM;
  return 0;
}

static void tm_stx(void *arg, sipline__stx *stx, sipline__stx_evt what,
                   sipline_tstamp now) {
  (void)arg;
  (void)now;
  if (what == SIPLINE__STX_CANCELLED) {
    TM.n_cancelled++;
    sipline__stx_reply(stx, 487, NULL, now);
  }
  if (what == SIPLINE__STX_GONE) {
    TM.n_gone++;
    TM.kept = NULL;
  }
}

static int tm_req(sipline_ua *ua, void *st, sipline__stx *stx,
                  const sipline_msg *req, const sipline_path *path,
                  sipline_tstamp now) {
  (void)ua;
  (void)path;
  tmod *t = st;
  t->n_req++;
  if (t->keep_invite && req->method == SIPLINE_METHOD_INVITE) {
    sipline__stx_set_handler(stx, tm_stx, t);
    t->kept = stx;
    return 1;
  }
  if (t->take == 2)
    return 1; /* claims it, answers nothing, keeps nothing */
  if (t->take == 3)
    return SIPLINE_ERR_NOMEM;
  if (t->take && stx) {
    sipline__resp r = {.status = 202, .headers = "X-Test: yes\r\n"};
    sipline__stx_respond(stx, &r, now);
    return 1;
  }
  return 0;
}

static int tm_dns(sipline_ua *ua, void *st, unsigned id,
                  const sipline_dns_rr *rr, size_t n, sipline_tstamp now) {
  (void)ua;
  (void)rr;
  (void)n;
  (void)now;
  tmod *t = st;
  if (id != t->last_dns)
    return 0;
  t->n_dns++;
  return 1;
}

static void tm_tperr(sipline_ua *ua, void *st, const sipline_path *path,
                     int why, sipline_tstamp now) {
  (void)ua;
  (void)path;
  (void)now;
  tmod *t = st;
  t->n_tperr++;
  t->last_why = why;
}

static const sipline__module TEST_MOD = {
    .name = "test",
    .init = tm_init,
    .on_request = tm_req,
    .on_dns = tm_dns,
    .on_transport_error = tm_tperr,
};

/* ---------------------------------------------------------------- */

static int setup_with(unsigned max_events, int with_mod) {
  memset(&TM, 0, sizeof(TM));
  NOW = 1000;
  assert_int_equal(sipline_profile_new(&PROF, NULL), 0);
  sipline_settings st = {.profile = PROF,
                         .seed = 42,
                         .local_host = "10.0.0.9",
                         .max_events = max_events};
  const sipline__module *mods[] = {&TEST_MOD};
  assert_int_equal(
      sipline__ua_create(&UA, &st, NULL, NULL, mods, with_mod ? 1 : 0), 0);
  return 0;
}

static int setup(void **state) {
  (void)state;
  return setup_with(0, 0);
}
static int setup_mod(void **state) {
  (void)state;
  return setup_with(0, 1);
}

static int teardown(void **state) {
  (void)state;
  sipline_ua_del(UA);
  sipline_profile_del(PROF);
  UA = NULL;
  return 0;
}

static sipline_path peer(void) {
  sipline_path p;
  memset(&p, 0, sizeof(p));
  p.tp = SIPLINE_TP_UDP;
  sipline_addr_parse("192.0.2.5:40000", 15, &p.remote);
  sipline_addr_parse("10.0.0.9:5060", 13, &p.local);
  return p;
}

static int send_text(const char *s) {
  sipline_path p = peer();
  return sipline_ua_recv(UA, &p, (const uint8_t *)s, strlen(s), NOW);
}

/* Pulls everything; returns how many; the last one into OUT. */
static char OUT[8192];
static sipline_path OUT_PATH;
static int pull(void) {
  int n = 0;
  sipline_path p;
  const uint8_t *b;
  ptrdiff_t l;
  while ((l = sipline_ua_pull_tx(UA, &p, &b, NOW)) >= 0) {
    size_t c = (size_t)l < sizeof(OUT) - 1 ? (size_t)l : sizeof(OUT) - 1;
    memcpy(OUT, b, c);
    OUT[c] = 0;
    OUT_PATH = p;
    n++;
  }
  assert_int_equal(l, SIPLINE_ERR_AGAIN);
  return n;
}

static char REQ[4096];
static const char *req(const char *method, const char *branch,
                       const char *extra) {
  snprintf(REQ, sizeof(REQ),
           "%s sip:1001@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 192.0.2.5:5060;branch=%s;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:peer@example.com>;tag=p1\r\n"
           "To: <sip:1001@10.0.0.9>\r\n"
           "Call-ID: ua-test-1\r\n"
           "CSeq: 3 %s\r\n"
           "%s"
           "Content-Length: 0\r\n\r\n",
           method, branch, method, extra ? extra : "");
  return REQ;
}

static void test_options(void **state) {
  (void)state;
  assert_int_equal(send_text(req("OPTIONS", "z9hG4bK-o1", NULL)), 0);
  assert_int_equal(pull(), 1);
  assert_non_null(strstr(OUT, "SIP/2.0 200 OK\r\n"));
  assert_non_null(strstr(OUT, "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, "
                              "NOTIFY, UPDATE, INFO, PRACK\r\n"));
  assert_non_null(strstr(OUT, "Accept: application/sdp\r\n"));
  assert_non_null(strstr(OUT, "rport=40000;received=192.0.2.5"));
  assert_non_null(strstr(OUT, "Server: sipline/"));
  char a[64];
  sipline_addr_format(&OUT_PATH.remote, a, sizeof(a));
  assert_string_equal(a, "192.0.2.5:40000");
  /* a retransmission gets the same answer from the transaction */
  char first[8192];
  strcpy(first, OUT);
  NOW += 500;
  assert_int_equal(send_text(req("OPTIONS", "z9hG4bK-o1", NULL)), 0);
  assert_int_equal(pull(), 1);
  assert_string_equal(OUT, first);
  assert_int_equal(UA->txl.n_retrans_rx, 1);
  /* Timer J ends it; the deadline says when */
  assert_int_equal(sipline_ua_next_deadline(UA), 1000 + 16000);
  NOW = sipline_ua_next_deadline(UA);
  assert_int_equal(sipline_ua_handle_timeout(UA, NOW), 0);
  assert_int_equal(sipline__txl_count(&UA->txl), 0);
  assert_int_equal(sipline_ua_next_deadline(UA), SIPLINE_TSTAMP_NONE);
}

static void expect_status(const char *text, const char *status_line) {
  send_text(text);
  assert_int_equal(pull(), 1);
  if (!strstr(OUT, status_line)) {
    fprintf(stderr, "want %s, got:\n%s\n", status_line, OUT);
    fail();
  }
}

static void test_unhandled(void **state) {
  (void)state;
  expect_status(req("FOO", "z9hG4bK-u1", NULL), "SIP/2.0 501 ");
  assert_non_null(strstr(OUT, "Allow: "));
  expect_status(req("REGISTER", "z9hG4bK-u2", NULL),
                "SIP/2.0 405 Method Not Allowed\r\n");
  assert_non_null(strstr(OUT, "Allow: "));
  expect_status(req("BYE", "z9hG4bK-u3", NULL), "SIP/2.0 481 ");
  expect_status(req("CANCEL", "z9hG4bK-u4", NULL), "SIP/2.0 481 ");
  expect_status(req("NOTIFY", "z9hG4bK-u5", "Event: foo\r\n"), "SIP/2.0 489 ");
  expect_status(req("INVITE", "z9hG4bK-u6", NULL), "SIP/2.0 480 ");
  /* an ACK nobody wants, and a stray response: dropped silently */
  send_text(req("ACK", "z9hG4bK-u7", NULL));
  assert_int_equal(pull(), 0);
  const char *rsp =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-nope\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\n"
      "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  assert_int_equal(send_text(rsp), 0);
  assert_int_equal(pull(), 0);
  assert_int_equal(UA->txl.n_stray_rsp, 1);
}

static void test_refusals(void **state) {
  (void)state;
  /* validation: a CSeq method that is not the request's → 400 + reason */
  char bad[4096];
  snprintf(bad, sizeof(bad),
           "OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK-r1;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:peer@example.com>;tag=p1\r\n"
           "To: <sip:1001@10.0.0.9>\r\n"
           "Call-ID: ua-test-1\r\n"
           "CSeq: 3 INVITE\r\n"
           "Content-Length: 0\r\n\r\n");
  sipline_msg m;
  sipline_msg_error e = {0};
  assert_true(sipline_msg_parse(&m, bad, strlen(bad), SIPLINE_PARSE_DATAGRAM,
                                NULL) > 0);
  assert_true(sipline_msg_validate(&m, &e) != 0 ||
              sipline_msg_uas_check(&m, NULL, &e) != 0);
  assert_int_equal(e.status, 400);
  assert_int_equal(send_text(bad), SIPLINE_ERR_MALFORMED);
  assert_int_equal(pull(), 1);
  char want[256];
  snprintf(want, sizeof(want), "SIP/2.0 400 %s\r\n", e.reason);
  assert_non_null(strstr(OUT, want));
  /* 416: a scheme we do not handle */
  snprintf(bad, sizeof(bad), "%s", req("OPTIONS", "z9hG4bK-r2", NULL));
  memcpy(bad + 8, "urn:x:1001@10.0.0", 17); /* same length as the sip: URI */
  expect_status(bad, "SIP/2.0 416 ");
  /* 420 with Unsupported */
  expect_status(req("OPTIONS", "z9hG4bK-r3", "Require: foo, timer\r\n"),
                "SIP/2.0 420 ");
  assert_non_null(strstr(OUT, "Unsupported: foo\r\n"));
  /* Require is ignored for ACK and CANCEL */
  expect_status(req("CANCEL", "z9hG4bK-r4", "Require: foo\r\n"),
                "SIP/2.0 481 ");
  /* 505 for a version we do not speak; its retransmission gets it too */
  const char *v7 = "OPTIONS sip:1001@10.0.0.9 SIP/7.0\r\n"
                   "Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bK-r6\r\n"
                   "From: <sip:a@b>;tag=1\r\nTo: <sip:1001@10.0.0.9>\r\n"
                   "Call-ID: v7\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                   "Content-Length: 0\r\n\r\n";
  assert_int_equal(send_text(v7), SIPLINE_ERR_MALFORMED);
  assert_int_equal(pull(), 1);
  assert_non_null(strstr(OUT, "SIP/2.0 505 Version Not Supported\r\n"));
  send_text(v7);
  assert_int_equal(pull(), 1);
  assert_non_null(strstr(OUT, "SIP/2.0 505 "));
  assert_int_equal(UA->txl.n_retrans_rx, 1);
  /* a message without From cannot be answered: dropped */
  const char *nofrom = "OPTIONS sip:a@b SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bK-r5\r\n"
                       "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
                       "Content-Length: 0\r\n\r\n";
  assert_int_equal(send_text(nofrom), SIPLINE_ERR_MALFORMED);
  assert_int_equal(pull(), 0);
  /* garbage */
  assert_int_equal(send_text("\x01\x02 hello"), SIPLINE_ERR_MALFORMED);
  assert_int_equal(pull(), 0);
  assert_int_equal(sipline_ua_recv(UA, NULL, NULL, 0, NOW), SIPLINE_ERR_INVAL);
}

/* Modules see valid requests; a kept INVITE gets 100 Trying; CANCEL. */
static void test_module_dispatch(void **state) {
  (void)state;
  assert_int_equal(TM.n_init, 1);
  assert_ptr_equal(sipline__ua_module_state(UA, "test"), &TM);
  TM.take = 1;
  expect_status(req("MESSAGE", "z9hG4bK-m1", NULL), "SIP/2.0 202 ");
  assert_non_null(strstr(OUT, "X-Test: yes\r\n"));
  assert_int_equal(TM.n_req, 1);
  TM.take = 0;
  TM.keep_invite = 1;
  expect_status(req("INVITE", "z9hG4bK-m2", NULL), "SIP/2.0 100 Trying\r\n");
  assert_non_null(TM.kept);
  NOW += 100;
  send_text(req("CANCEL", "z9hG4bK-m2", NULL));
  assert_int_equal(pull(), 2); /* the CANCEL's 200, then the 487 */
  assert_non_null(strstr(OUT, "SIP/2.0 487 Request Terminated\r\n"));
  assert_non_null(strstr(OUT, "CSeq: 3 INVITE\r\n"));
  assert_int_equal(TM.n_cancelled, 1);
  /* ACK for the 487 is absorbed by the transaction */
  char ack[4096];
  snprintf(ack, sizeof(ack), "%s", req("ACK", "z9hG4bK-m2", NULL));
  assert_int_equal(send_text(ack), 0);
  int before = TM.n_req;
  assert_int_equal(pull(), 0);
  assert_int_equal(TM.n_req, before);
  NOW += 60000;
  sipline_ua_handle_timeout(UA, NOW);
  assert_int_equal(TM.n_gone, 1);
  assert_int_equal(sipline__txl_count(&UA->txl), 0);
}

static int n_ctx_cb, ctx_err;
static void ua_ctx_cb(void *arg, sipline__ctx *ctx, const sipline_msg *rsp,
                      int err, sipline_tstamp now) {
  (void)arg;
  (void)ctx;
  (void)rsp;
  (void)now;
  n_ctx_cb++;
  ctx_err = err;
}

/* A client transaction through the engine, and a transport error. */
static void test_client_and_tperr(void **state) {
  (void)state;
  n_ctx_cb = 0;
  sipline__buf b;
  sipline__buf_init(&b, UA->mem);
  char branch[SIPLINE__BRANCH_LEN + 1], tag[SIPLINE__TAG_LEN + 1],
      cid[SIPLINE__CALLID_LEN + 1];
  sipline__ua_new_branch(UA, branch);
  sipline__ua_new_tag(UA, tag);
  sipline__ua_new_callid(UA, cid);
  assert_int_equal(strncmp(branch, "z9hG4bK", 7), 0);
  assert_int_equal(strlen(branch), SIPLINE__BRANCH_LEN);
  sipline__buf_append_str(&b, "OPTIONS sip:192.0.2.5 SIP/2.0\r\n");
  sipline__ua_append_via(UA, &b, 1, SIPLINE_TP_UDP, branch);
  sipline__buf_printf(&b, "From: <sip:1001@10.0.0.9>;tag=%s\r\n", tag);
  sipline__buf_printf(&b, "To: <sip:192.0.2.5>\r\nCall-ID: %s\r\n", cid);
  sipline__buf_append_str(&b, "CSeq: 1 OPTIONS\r\n");
  sipline__ua_append_common(UA, &b);
  sipline__buf_append_str(&b, "Contact: ");
  sipline__ua_append_contact_uri(UA, &b, 1, SIPLINE_TP_UDP);
  sipline__buf_append_str(&b, "\r\nContent-Length: 0\r\n\r\n");
  assert_int_equal(b.err, 0);
  sipline_path p = peer();
  sipline__ctx_params cp = {
      .path = &p, .req = b.p, .len = b.len, .cb = ua_ctx_cb};
  assert_int_equal(sipline__ua_request(UA, &cp, NOW, NULL), 0);
  assert_int_equal(pull(), 1);
  /* §8.1.3.3: a response with two Via values is discarded */
  char two[2048];
  snprintf(two, sizeof(two),
           "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=%s\r\n"
           "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK-x\r\n"
           "From: <sip:1001@10.0.0.9>;tag=%s\r\nTo: <sip:192.0.2.5>;tag=9"
           "\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0"
           "\r\n\r\n",
           branch, tag, cid);
  assert_int_equal(send_text(two), 0);
  assert_int_equal(n_ctx_cb, 0);
  assert_non_null(strstr(OUT, "Via: SIP/2.0/UDP 10.0.0.9:5060;branch="));
  assert_non_null(strstr(OUT, ";rport\r\n"));
  assert_non_null(strstr(OUT, "Contact: <sip:10.0.0.9:5060>\r\n"));
  assert_int_equal(sipline_ua_next_deadline(UA), NOW + 500);
  sipline_ua_handle_timeout(UA, NOW + 500);
  assert_int_equal(pull(), 1);
  sipline_path e = p;
  memset(&e.local, 0, sizeof(e.local));
  assert_int_equal(
      sipline_ua_transport_error(UA, &e, SIPLINE_TPERR_UNREACHABLE, NOW + 600),
      0);
  assert_int_equal(n_ctx_cb, 1);
  assert_int_equal(ctx_err, SIPLINE_ERR_TRANSPORT);
  assert_int_equal(TM.n_tperr, 1);
  assert_int_equal(TM.last_why, SIPLINE_TPERR_UNREACHABLE);
  assert_int_equal(sipline__txl_count(&UA->txl), 0);
  assert_int_equal(sipline_ua_next_deadline(UA), SIPLINE_TSTAMP_NONE);
  /* a response after that is stray */
  sipline__buf_free(&b);
}

/* The event queue is bounded: the oldest are dropped and counted. */
/* The default event cap grows with the lines (4096 + 8 per line), and a
 * ring that a burst grew past 4096 entries is freed once drained, so a
 * fleet's failover burst neither loses events nor keeps ~900 B an entry. */
static void test_events_burst(void **state) {
  (void)state;
  assert_int_equal(UA->ev_max, 4096u + 8u * PROF->n_lines);
  unsigned n = UA->ev_max + 7;
  for (unsigned i = 0; i < n; i++)
    sipline__ua_warn(UA, 0, "burst", "%u", i);
  assert_int_equal(sipline_ua_events_dropped(UA), 7);
  assert_true(UA->ev_cap > SIPLINE__EV_KEEP);
  sipline_event ev;
  unsigned got = 0, first = 0;
  while (sipline_ua_poll_event(UA, &ev) == 1) {
    if (!got++)
      first = (unsigned)strtoul(ev.text, NULL, 10);
  }
  assert_int_equal(got, UA->ev_max);
  assert_int_equal(first, 7); /* the oldest went first */
  assert_int_equal(UA->ev_cap, 0);
  assert_null(UA->ev);
  /* and it grows again */
  sipline__ua_warn(UA, 0, "again", "x");
  assert_int_equal(sipline_ua_poll_event(UA, &ev), 1);
  assert_string_equal(ev.reason, "again");
  /* a small ring is kept when drained */
  assert_true(UA->ev_cap > 0 && UA->ev_cap <= SIPLINE__EV_KEEP);
}

static void test_events(void **state) {
  (void)state;
  sipline_ua_del(UA);
  sipline_profile_del(PROF);
  setup_with(3, 1);
  unsigned ids[5];
  for (int i = 0; i < 5; i++) {
    NOW += 10;
    sipline_ua_handle_timeout(UA, NOW); /* stamps ua->now */
    assert_int_equal(sipline__ua_dns_query(UA, 1, "sip.example.test",
                                           SIPLINE_DNS_SRV, &ids[i]),
                     0);
  }
  assert_int_equal(UA->ev_dropped, 2);
  assert_int_equal(sipline_ua_events_dropped(UA), 2);
  sipline_event ev;
  for (int i = 2; i < 5; i++) {
    assert_int_equal(sipline_ua_poll_event(UA, &ev), 1);
    assert_int_equal(ev.type, SIPLINE_EV_DNS_QUERY);
    assert_int_equal(ev.id, ids[i]);
    assert_int_equal(ev.qtype, SIPLINE_DNS_SRV);
    assert_int_equal(ev.t, 1000 + 10 * (i + 1));
    assert_string_equal(ev.text, "sip.example.test");
  }
  assert_int_equal(sipline_ua_poll_event(UA, &ev), 0);
  /* the answer goes to the module that asked */
  TM.last_dns = ids[4];
  sipline_dns_rr rr;
  memset(&rr, 0, sizeof(rr));
  rr.type = SIPLINE_DNS_SRV;
  assert_int_equal(sipline_ua_dns_answer(UA, ids[4], &rr, 1, NOW), 0);
  assert_int_equal(TM.n_dns, 1);
  assert_int_equal(sipline_ua_dns_answer(UA, 9999, NULL, 0, NOW),
                   SIPLINE_ERR_NOTFOUND);
  static const char *names[] = {
      "none",      "registered", "unregistered", "reg_failed", "server_down",
      "server_up", "failover",   "fallback",     "call",       "dns_query",
      "execute",   "notify",     "auth_failed",  "keepalive",  "warning",
      "call_sdp"};
  for (int t = 0; t < SIPLINE_EV__MAX; t++)
    assert_string_equal(sipline_event_name((sipline_event_type)t), names[t]);
  sipline__ua_warn(UA, 2, "test", "value %d", 7);
  assert_int_equal(sipline_ua_poll_event(UA, &ev), 1);
  assert_int_equal(ev.type, SIPLINE_EV_WARNING);
  assert_int_equal(ev.line, 2);
  assert_string_equal(ev.text, "value 7");
}

static void test_misc(void **state) {
  (void)state;
  assert_int_equal(sipline_ua_line_count(UA), 1);
  sipline_line_status ls;
  assert_int_equal(sipline_ua_line_status(UA, 1, &ls), 0);
  assert_int_equal(ls.line, 1);
  assert_int_equal(sipline_ua_line_status(UA, 2, &ls), SIPLINE_ERR_NOTFOUND);
  assert_null(sipline_ua_user_data(UA));
  assert_int_equal(sipline_ua_start(UA, NOW), 0);
  assert_int_equal(sipline_ua_shutdown(UA, NOW), 0);
  assert_int_equal(sipline_ua_is_shut_down(UA), 1);
  assert_non_null(strstr(UA->instance_id, "urn:uuid:"));
  assert_int_equal(strlen(UA->instance_id), 45);
  sipline_settings st = {.profile = NULL};
  sipline_ua *u = (sipline_ua *)1;
  assert_int_equal(sipline__ua_create(&u, &st, NULL, NULL, NULL, 0),
                   SIPLINE_ERR_INVAL);
  assert_null(u);
  sipline_ua_del(NULL);
}

/* TCP: a request split in two reads, answered on the same flow. */
static void test_tcp_request(void **state) {
  (void)state;
  sipline_path p = peer();
  p.tp = SIPLINE_TP_TCP;
  const char *r = req("OPTIONS", "z9hG4bK-t1", NULL);
  size_t n = strlen(r);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(sipline_ua_recv(UA, &p, (const uint8_t *)r + i, 1, NOW),
                     0);
  assert_int_equal(pull(), 1);
  assert_int_equal(OUT_PATH.tp, SIPLINE_TP_TCP);
  assert_int_equal(OUT_PATH.remote.port, 40000);
  assert_non_null(strstr(OUT, "SIP/2.0 200 OK\r\n"));
  /* a request refused with 400 does not break the stream: 0, flow kept */
  const char *bad = "OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\n"
                    "Via: SIP/2.0/TCP 192.0.2.5;branch=z9hG4bK-t2\r\n"
                    "Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\n"
                    "To: <sip:1001@10.0.0.9>\r\nCall-ID: t2\r\n"
                    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  assert_int_equal(
      sipline_ua_recv(UA, &p, (const uint8_t *)bad, strlen(bad), NOW), 0);
  assert_int_equal(pull(), 1);
  assert_non_null(strstr(OUT, "SIP/2.0 400 "));
  assert_int_equal(UA->tp.n_flows, 1);
  /* closing the connection drops the flow */
  sipline_ua_transport_error(UA, &p, SIPLINE_TPERR_CLOSED, NOW);
  assert_int_equal(UA->tp.n_flows, 0);
}

/* A flood past the cap of live server transactions gets 503, statelessly;
 * retransmissions of the kept ones are still absorbed. */
static void test_stx_cap(void **state) {
  (void)state;
  UA->txl.max_stx = 2;
  expect_status(req("OPTIONS", "z9hG4bK-c1", NULL), "SIP/2.0 200 ");
  expect_status(req("OPTIONS", "z9hG4bK-c2", NULL), "SIP/2.0 200 ");
  expect_status(req("OPTIONS", "z9hG4bK-c3", NULL),
                "SIP/2.0 503 Service Unavailable\r\n");
  assert_non_null(strstr(OUT, "CSeq: 3 OPTIONS\r\n"));
  assert_non_null(strstr(OUT, "branch=z9hG4bK-c3"));
  assert_int_equal(sipline__txl_count(&UA->txl), 2);
  expect_status(req("OPTIONS", "z9hG4bK-c1", NULL), "SIP/2.0 200 ");
  NOW += 16000;
  sipline_ua_handle_timeout(UA, NOW);
  expect_status(req("OPTIONS", "z9hG4bK-c3", NULL), "SIP/2.0 200 ");
}

/* A module that claims a request without answering it, or fails: 500. */
static void test_module_errors(void **state) {
  (void)state;
  TM.take = 2;
  expect_status(req("MESSAGE", "z9hG4bK-e1", NULL),
                "SIP/2.0 500 Server Internal Error\r\n");
  TM.take = 3;
  expect_status(req("MESSAGE", "z9hG4bK-e2", NULL), "SIP/2.0 500 ");
  /* ACK claimed: nothing to answer */
  send_text(req("ACK", "z9hG4bK-e3", NULL));
  assert_int_equal(pull(), 0);
}

/* Helpers modules build requests with. */
static void test_builders(void **state) {
  (void)state;
  sipline__buf b;
  sipline__buf_init(&b, UA->mem);
  sipline__ua_append_contact_uri(UA, &b, 1, SIPLINE_TP_TCP);
  sipline__buf_append(&b, "|", 1);
  sipline__ua_append_contact_uri(UA, &b, 1, SIPLINE_TP_TLS);
  sipline__buf_append(&b, "|", 1);
  sipline__ua_append_via(UA, &b, 1, SIPLINE_TP_TLS, "z9hG4bKx");
  sipline__buf_append(&b, "", 1);
  assert_string_equal(b.p, "<sip:10.0.0.9:5060;transport=tcp>|"
                           "<sips:10.0.0.9:5060;transport=tls>|"
                           "Via: SIP/2.0/TLS 10.0.0.9:5060;branch=z9hG4bKx;"
                           "rport\r\n");
  sipline__buf_free(&b);
  assert_int_equal(sipline__ua_local_port(UA, 1), 5060);
  assert_null(sipline__ua_line_cfg(UA, 0));
  assert_null(sipline__ua_line_cfg(UA, 2));
  /* IPv6 local host goes in brackets */
  sipline_ua_del(UA);
  sipline_settings st = {
      .profile = PROF, .seed = 1, .local_host = "2001:db8::9"};
  assert_int_equal(sipline__ua_create(&UA, &st, NULL, NULL, NULL, 0), 0);
  sipline__buf_init(&b, UA->mem);
  sipline__ua_append_contact_uri(UA, &b, 1, SIPLINE_TP_UDP);
  sipline__buf_append(&b, "", 1);
  assert_string_equal(b.p, "<sip:[2001:db8::9]:5060>");
  sipline__buf_free(&b);
  /* time never goes back: events carry the latest time seen */
  sipline_ua_handle_timeout(UA, 5000);
  sipline_ua_handle_timeout(UA, 4000);
  sipline__ua_warn(UA, 0, "r", "x");
  sipline_event ev;
  assert_int_equal(sipline_ua_poll_event(UA, &ev), 1);
  assert_int_equal(ev.t, 5000);
  /* the same seed gives the same identifiers */
  char t1[SIPLINE__TAG_LEN + 1], t2[SIPLINE__TAG_LEN + 1];
  sipline__ua_new_tag(UA, t1);
  sipline_ua *u2;
  assert_int_equal(sipline__ua_create(&u2, &st, NULL, NULL, NULL, 0), 0);
  sipline__ua_new_tag(u2, t2);
  assert_string_equal(t1, t2);
  assert_string_equal(UA->instance_id, u2->instance_id);
  sipline_ua_del(u2);
}

/* AOR hosts drop the port but keep an IPv6 reference whole. */
static void test_aor_host(void **state) {
  (void)state;
  char h[16];
  sipline__ua_aor_host("[2001:db8::1]:5070", h, sizeof h);
  assert_string_equal(h, "[2001:db8::1]");
  sipline__ua_aor_host("[::1]", h, sizeof h);
  assert_string_equal(h, "[::1]");
  sipline__ua_aor_host("pbx.example:5060", h, sizeof h);
  assert_string_equal(h, "pbx.example");
  sipline__ua_aor_host("10.0.0.1", h, sizeof h);
  assert_string_equal(h, "10.0.0.1");
  sipline__ua_aor_host("a-very-long-host-name.example", h, sizeof h);
  assert_int_equal(strlen(h), sizeof h - 1); /* truncated, terminated */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aor_host),
      cmocka_unit_test_setup_teardown(test_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unhandled, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_module_dispatch, setup_mod,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_client_and_tperr, setup_mod,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_events, setup_mod, teardown),
      cmocka_unit_test_setup_teardown(test_events_burst, setup, teardown),
      cmocka_unit_test_setup_teardown(test_misc, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tcp_request, setup, teardown),
      cmocka_unit_test_setup_teardown(test_module_errors, setup_mod, teardown),
      cmocka_unit_test_setup_teardown(test_builders, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stx_cap, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
