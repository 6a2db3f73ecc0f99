/*
 * tests/unit/test_dlg_call.c: the minimal call (src/dlg/call.c) through the
 * engine (sipline__dlg_call/hangup are what sipline_ua_call/hangup call;
 * the rest is the public API). A fake "reg" module stands in for the registration
 * module: it says where the line's requests go (it can be switched, as a
 * failover would), records the failures dlg reports (R5) and the line going
 * idle (R13), and offers an alternate target (R4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dlg/dlg.h"
#include "sipline/msg.h"
#include "sipline/profile.h"
#include "sipline/ua.h"

#define S(x) SIPLINE_SEC(x)
#define NONE SIPLINE_TSTAMP_NONE

/* ---- the fake reg module ---- */

typedef struct fake {
  char target[32];      /* "10.0.0.1:5060" */
  char alt[32];         /* "" = no alternate */
  char failed[8][128];  /* "10.0.0.1:5060 -18" */
  unsigned n_failed;
  unsigned idle;
  char next_target[32]; /* becomes target when a failure is reported */
} fake;

static fake F;

static void fill(const char *addr, sipline__target *t) {
  memset(t, 0, sizeof *t);
  char ip[32];
  unsigned port;
  sscanf(addr, "%31[^:]:%u", ip, &port);
  t->path.tp = SIPLINE_TP_UDP;
  assert_int_equal(sipline_addr_parse(ip, strlen(ip), &t->path.remote), 0);
  t->path.remote.port = (uint16_t)port;
  snprintf(t->domain, sizeof t->domain, "pbx.test");
  snprintf(t->server, sizeof t->server, "%s", addr);
}

static int f_alt(sipline_ua *ua, void *st, unsigned line,
                 sipline__target *t) {
  (void)ua;
  (void)st;
  (void)line;
  if (!F.alt[0])
    return SIPLINE_ERR_NOTFOUND;
  fill(F.alt, t);
  return 0;
}

static int f_init(sipline_ua *ua, void **st) {
  (void)ua;
  *st = &F;
  return 0;
}

static int f_target(sipline_ua *ua, void *st, unsigned line,
                    sipline__target *t) {
  (void)ua;
  (void)st;
  (void)line;
  if (!F.target[0])
    return SIPLINE_ERR_NOTFOUND;
  fill(F.target, t);
  return 0;
}

static void f_failed(sipline_ua *ua, void *st, unsigned line,
                     const sipline__target *t, int e, sipline_tstamp now) {
  (void)ua;
  (void)st;
  (void)line;
  (void)now;
  snprintf(F.failed[F.n_failed++ % 8], 128, "%s %d", t->server, e);
  if (F.next_target[0])
    snprintf(F.target, sizeof F.target, "%s", F.next_target);
}

static void f_idle(sipline_ua *ua, void *st, unsigned line,
                   sipline_tstamp now) {
  (void)ua;
  (void)st;
  (void)line;
  (void)now;
  F.idle++;
}

static const sipline__module fake_reg = {
    .name = "reg",
    .init = f_init,
    .line_target = f_target,
    .line_alt_target = f_alt,
    .on_request_failed = f_failed,
    .on_line_idle = f_idle,
};

/* The old (line, to) form of sipline__dlg_call, with no SDP offer. */
static int call_to(sipline_ua *ua, unsigned line, const char *to,
                   unsigned *id, sipline_tstamp now) {
  static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                            "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                            "m=audio 4000 RTP/AVP 0\r\n";
  sipline_call_params p = {
      .line = line, .to = to, .sdp = sdp, .sdp_len = sizeof sdp - 1};
  return sipline__dlg_call(ua, &p, id, now);
}

/* ---- the world ---- */

enum { A_OK = 1, A_SILENT, A_BUSY, A_CHALLENGE, A_RINGING };

typedef struct sent {
  sipline_tstamp t;
  char to[32];
  char raw[4096];
  size_t len;
} sent;

static struct {
  sipline_ua *ua;
  sipline_profile *p;
  sipline_tstamp now;
  sent tx[64];
  unsigned n_tx;
  int answer; /* how a far end answers an INVITE */
  const char *rr; /* Record-Route header lines in the 200 */
  char dead[32];  /* a server that never answers */
  char ev[64][256];
  unsigned n_ev;
} X;

static void fmt_addr(const sipline_addr *a, char *out, size_t cap) {
  sipline_addr_format(a, out, cap);
}

static void respond(const sipline_path *p, const sipline_msg *req, int code,
                    const char *extra) {
  char buf[4096];
  size_t o = 0;
  o += (size_t)snprintf(buf, sizeof buf, "SIP/2.0 %d X\r\n", code);
  for (unsigned i = 0; i < req->n_hdrs; i++)
    if (req->hdrs[i].id == SIPLINE_HDR_VIA)
      o += (size_t)snprintf(buf + o, sizeof buf - o, "Via: %.*s\r\n",
                            (int)req->hdrs[i].value.len,
                            req->hdrs[i].value.p);
  const sipline_hdr *f = sipline_msg_hdr(req, SIPLINE_HDR_FROM, 0);
  const sipline_hdr *t = sipline_msg_hdr(req, SIPLINE_HDR_TO, 0);
  const sipline_hdr *c = sipline_msg_hdr(req, SIPLINE_HDR_CSEQ, 0);
  o += (size_t)snprintf(
      buf + o, sizeof buf - o,
      "From: %.*s\r\nTo: %.*s%s\r\nCall-ID: %.*s\r\nCSeq: %.*s\r\n%s"
      "Content-Length: 0\r\n\r\n",
      (int)f->value.len, f->value.p, (int)t->value.len, t->value.p,
      req->to.tag.len ? "" : ";tag=far", (int)req->call_id.len,
      req->call_id.p, (int)c->value.len, c->value.p, extra ? extra : "");
  assert_int_equal(sipline_ua_recv(X.ua, p, (const uint8_t *)buf, o, X.now),
                   0);
}

static void serve(const sipline_path *p, sent *s) {
  static sipline_msg m;
  assert_true(sipline_msg_parse(&m, s->raw, s->len, SIPLINE_PARSE_DATAGRAM,
                                NULL) > 0);
  if (!m.is_request || m.method == SIPLINE_METHOD_ACK ||
      !strcmp(s->to, X.dead))
    return;
  if (m.method == SIPLINE_METHOD_INVITE) {
    char extra[512];
    switch (X.answer) {
    case A_SILENT: return;
    case A_BUSY: respond(p, &m, 486, NULL); return;
    case A_RINGING: respond(p, &m, 180, NULL); return;
    case A_CHALLENGE:
      if (!sipline_msg_hdr(&m, SIPLINE_HDR_PROXY_AUTHORIZATION, 0)) {
        respond(p, &m, 407,
                "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n1\", "
                "qop=\"auth\"\r\n");
        return;
      }
      break;
    default: break;
    }
    snprintf(extra, sizeof extra, "%sContact: <sip:far@%s>\r\n",
             X.rr ? X.rr : "", s->to);
    respond(p, &m, 200, extra);
    return;
  }
  if (m.method == SIPLINE_METHOD_CANCEL) {
    respond(p, &m, 200, NULL);
    return;
  }
  respond(p, &m, 200, NULL); /* BYE */
}

static void pump(void) {
  for (int g = 0; g < 1000; g++) {
    sipline_path p;
    const uint8_t *d;
    sipline_event ev;
    while (sipline_ua_poll_event(X.ua, &ev)) {
      assert_true(X.n_ev < 64);
      if (ev.type == SIPLINE_EV_CALL)
        snprintf(X.ev[X.n_ev++], 256, "%.3f call %u %s %s %d %s",
                 (double)ev.t / 1000, ev.id, ev.state, ev.server, ev.status,
                 ev.reason);
    }
    ptrdiff_t n = sipline_ua_pull_tx(X.ua, &p, &d, X.now);
    if (n < 0)
      return;
    assert_true(X.n_tx < 64 && (size_t)n < sizeof X.tx[0].raw);
    sent *s = &X.tx[X.n_tx++];
    s->t = X.now;
    s->len = (size_t)n;
    memcpy(s->raw, d, (size_t)n);
    s->raw[n] = 0;
    fmt_addr(&p.remote, s->to, sizeof s->to);
    serve(&p, s);
  }
  fail_msg("pump does not settle");
}

static void run(sipline_tstamp until) {
  for (int g = 0; g < 100000; g++) {
    sipline_tstamp t = sipline_ua_next_deadline(X.ua);
    if (t == NONE || t > until)
      break;
    if (t > X.now)
      X.now = t;
    sipline_ua_handle_timeout(X.ua, X.now);
    pump();
  }
  if (until > X.now)
    X.now = until;
}

static int setup(void **state) {
  (void)state;
  memset(&X, 0, sizeof X);
  memset(&F, 0, sizeof F);
  snprintf(F.target, sizeof F.target, "10.0.0.1:5060");
  X.answer = A_OK;
  sipline_profile_error e;
  assert_int_equal(sipline_profile_new(&X.p, NULL), 0);
  assert_int_equal(sipline_profile_set(X.p, "User_ID_1_", "1001", &e), 0);
  assert_int_equal(sipline_profile_set(X.p, "Password_1_", "pw", &e), 0);
  sipline_settings st = {.profile = X.p, .seed = 3, .local_host = "192.0.2.9"};
  const sipline__module *mods[] = {&fake_reg, &sipline__dlg_module};
  assert_int_equal(sipline__ua_create(&X.ua, &st, NULL, NULL, mods, 2), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  sipline_ua_del(X.ua);
  sipline_profile_del(X.p);
  return 0;
}

static sent *find(const char *method, unsigned k) {
  size_t ml = strlen(method);
  for (unsigned i = 0; i < X.n_tx; i++)
    if (!strncmp(X.tx[i].raw, method, ml) && X.tx[i].raw[ml] == ' ' &&
        k-- == 0)
      return &X.tx[i];
  return NULL;
}

static void expect_ev(const char *line) {
  for (unsigned i = 0; i < X.n_ev; i++)
    if (!strcmp(X.ev[i], line))
      return;
  fprintf(stderr, "expected: %s\n", line);
  for (unsigned i = 0; i < X.n_ev; i++)
    fprintf(stderr, "  %s\n", X.ev[i]);
  fail();
}

/* ------------------------------------------------------------------ */

static void test_call_and_hangup(void **state) {
  (void)state;
  unsigned id = 0;
  X.rr = "Record-Route: <sip:p1.test;lr>\r\nRecord-Route: <sip:p2.test;lr>\r\n";
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  sent *inv = find("INVITE", 0);
  assert_non_null(inv);
  assert_string_equal(inv->to, "10.0.0.1:5060");
  assert_true(!strncmp(inv->raw, "INVITE sip:1002@pbx.test SIP/2.0", 32));
  assert_non_null(strstr(inv->raw, "From: <sip:1001@pbx.test>;tag="));
  assert_non_null(strstr(inv->raw, "Content-Type: application/sdp"));
  assert_non_null(strstr(inv->raw, "m=audio "));
  sent *ack = find("ACK", 0);
  assert_non_null(ack);
  assert_true(!strncmp(ack->raw, "ACK sip:far@10.0.0.1:5060 SIP/2.0", 33));
  assert_non_null(strstr(ack->raw, "CSeq: 1 ACK"));
  assert_non_null(strstr(ack->raw, ";tag=far"));
  expect_ev("0.000 call 1 calling 10.0.0.1:5060 0 ");
  expect_ev("0.000 call 1 confirmed 10.0.0.1:5060 200 answered");
  assert_int_equal(sipline__dlg_line_calls(X.ua, 1), 1);
  /* R13: the line moves to another server; the call does not */
  snprintf(F.target, sizeof F.target, "10.0.0.2:5060");
  X.now = S(100);
  assert_int_equal(sipline__dlg_hangup(X.ua, id, X.now), 0);
  pump();
  sent *bye = find("BYE", 0);
  assert_non_null(bye);
  assert_string_equal(bye->to, "10.0.0.1:5060");
  assert_non_null(strstr(bye->raw, "CSeq: 2 BYE"));
  /* the route set is the Record-Route reversed (UAC, RFC 3261 §12.1.2) */
  char *r2 = strstr(bye->raw, "Route: <sip:p2.test;lr>");
  char *r1 = strstr(bye->raw, "Route: <sip:p1.test;lr>");
  assert_non_null(r1);
  assert_non_null(r2);
  assert_true(r2 < r1);
  expect_ev("100.000 call 1 ended 10.0.0.1:5060 200 hangup");
  assert_int_equal(sipline__dlg_line_calls(X.ua, 1), 0);
  assert_int_equal(F.idle, 1);
  assert_int_equal(sipline__dlg_hangup(X.ua, id, X.now), SIPLINE_ERR_NOTFOUND);
}

/* R5, R7: Timer B at the primary; dlg reports it and resends the INVITE
 * wherever reg now points. */
static void test_timeout_resend(void **state) {
  (void)state;
  unsigned id;
  snprintf(X.dead, sizeof X.dead, "10.0.0.1:5060");
  snprintf(F.next_target, sizeof F.next_target, "10.0.0.2:5060");
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  run(S(20));
  assert_int_equal(F.n_failed, 1);
  char want[48];
  snprintf(want, sizeof want, "10.0.0.1:5060 %d", SIPLINE_ERR_TIMEOUT);
  assert_string_equal(F.failed[0], want);
  sent *inv2 = NULL;
  for (unsigned i = 0; i < X.n_tx; i++)
    if (!strncmp(X.tx[i].raw, "INVITE", 6) &&
        !strcmp(X.tx[i].to, "10.0.0.2:5060"))
      inv2 = &X.tx[i];
  assert_non_null(inv2);
  assert_int_equal(inv2->t, S(16)); /* Timer B */
  expect_ev("16.000 call 1 calling 10.0.0.2:5060 0 resent");
  expect_ev("16.000 call 1 confirmed 10.0.0.2:5060 200 answered");
}

/* R4: with an alternate, a timed-out INVITE goes there. */
static void test_timeout_alternate(void **state) {
  (void)state;
  unsigned id;
  snprintf(X.dead, sizeof X.dead, "10.0.0.1:5060");
  snprintf(F.alt, sizeof F.alt, "10.0.0.3:5060");
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  run(S(20));
  expect_ev("16.000 call 1 calling 10.0.0.3:5060 0 resent");
  expect_ev("16.000 call 1 confirmed 10.0.0.3:5060 200 answered");
}

/* Nowhere else to go: the call ends with the reason. */
static void test_timeout_ends(void **state) {
  (void)state;
  unsigned id;
  X.answer = A_SILENT;
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  run(S(40));
  expect_ev("16.000 call 1 ended 10.0.0.1:5060 0 timeout");
  assert_int_equal(F.idle, 1);
}

/* A final failure is reported to reg (it decides with Try Backup RSC). */
static void test_busy(void **state) {
  (void)state;
  unsigned id;
  X.answer = A_BUSY;
  assert_int_equal(call_to(X.ua, 1, "sip:bob@example.test", &id, 0),
                   0);
  pump();
  assert_true(!strncmp(find("INVITE", 0)->raw,
                       "INVITE sip:bob@example.test SIP/2.0", 35));
  expect_ev("0.000 call 1 ended 10.0.0.1:5060 486 status:486");
  assert_int_equal(F.n_failed, 1);
  assert_string_equal(F.failed[0], "10.0.0.1:5060 486");
}

/* 407 on the INVITE: answered once with Proxy-Authorization. */
static void test_challenge(void **state) {
  (void)state;
  unsigned id;
  X.answer = A_CHALLENGE;
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  sent *i2 = find("INVITE", 1);
  assert_non_null(i2);
  assert_non_null(strstr(i2->raw, "Proxy-Authorization: Digest"));
  assert_non_null(strstr(i2->raw, "CSeq: 2 INVITE"));
  expect_ev("0.000 call 1 confirmed 10.0.0.1:5060 200 answered");
}

/* Hangup while ringing: CANCEL, then the 487 ends the call. */
static void test_cancel(void **state) {
  (void)state;
  unsigned id;
  X.answer = A_RINGING;
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  X.now = S(5);
  assert_int_equal(sipline__dlg_hangup(X.ua, id, X.now), 0);
  pump();
  sent *c = find("CANCEL", 0);
  assert_non_null(c);
  /* the far end answers the INVITE 487 */
  static sipline_msg m;
  sent *inv = find("INVITE", 0);
  assert_true(sipline_msg_parse(&m, inv->raw, inv->len,
                                SIPLINE_PARSE_DATAGRAM, NULL) > 0);
  sipline_path p;
  memset(&p, 0, sizeof p);
  p.tp = SIPLINE_TP_UDP;
  sipline_addr_parse("10.0.0.1", 8, &p.remote);
  p.remote.port = 5060;
  respond(&p, &m, 487, NULL);
  pump();
  expect_ev("5.000 call 1 ended 10.0.0.1:5060 487 cancelled");
}

/* SPEC R5a: hung up before any response (no CANCEL may go yet, RFC 3261
 * §9.1), then Timer B: the INVITE got no response, so it is a failure of
 * the server, reported to reg, and the call ends "timeout" at Timer B,
 * not "cancelled"; a hung-up call is not resent to the next server. */
static void test_hangup_then_timeout(void **state) {
  (void)state;
  unsigned id;
  X.answer = A_SILENT;
  snprintf(F.next_target, sizeof F.next_target, "10.0.0.2:5060");
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  run(S(5));
  assert_int_equal(sipline__dlg_hangup(X.ua, id, X.now), 0);
  pump();
  assert_null(find("CANCEL", 0));
  run(S(16) - 1);
  assert_int_equal(F.n_failed, 0);
  assert_int_equal(sipline__dlg_line_calls(X.ua, 1), 1);
  run(S(40));
  assert_int_equal(F.n_failed, 1);
  char want[48];
  snprintf(want, sizeof want, "10.0.0.1:5060 %d", SIPLINE_ERR_TIMEOUT);
  assert_string_equal(F.failed[0], want);
  expect_ev("16.000 call 1 ended 10.0.0.1:5060 0 timeout");
  for (unsigned i = 0; i < X.n_ev; i++)
    assert_null(strstr(X.ev[i], "cancelled"));
  assert_null(find("CANCEL", 0));
  for (unsigned i = 0; i < X.n_tx; i++) /* not resent to 10.0.0.2 */
    assert_string_equal(X.tx[i].to, "10.0.0.1:5060");
  assert_int_equal(sipline__dlg_line_calls(X.ua, 1), 0);
  assert_int_equal(F.idle, 1);
}

/* The far end hangs up; an out-of-dialog INVITE is refused 486. */
static void test_incoming(void **state) {
  (void)state;
  unsigned id;
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  static sipline_msg m;
  sent *inv = find("INVITE", 0);
  assert_true(sipline_msg_parse(&m, inv->raw, inv->len,
                                SIPLINE_PARSE_DATAGRAM, NULL) > 0);
  char bye[1024];
  int n = snprintf(bye, sizeof bye,
                   "BYE sip:1001@192.0.2.9:5060 SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfar1\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:1002@pbx.test>;tag=far\r\n"
                   "To: <sip:1001@pbx.test>;tag=%.*s\r\n"
                   "Call-ID: %.*s\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
                   (int)m.from.tag.len, m.from.tag.p, (int)m.call_id.len,
                   m.call_id.p);
  sipline_path p;
  memset(&p, 0, sizeof p);
  p.tp = SIPLINE_TP_UDP;
  sipline_addr_parse("10.0.0.1", 8, &p.remote);
  p.remote.port = 5060;
  X.now = S(3);
  assert_int_equal(
      sipline_ua_recv(X.ua, &p, (const uint8_t *)bye, (size_t)n, X.now), 0);
  pump();
  expect_ev("3.000 call 1 ended 10.0.0.1:5060 0 remote_bye");
  assert_true(!strncmp(X.tx[X.n_tx - 1].raw, "SIP/2.0 200", 11));
  const char *inv_in =
      "INVITE sip:1001@192.0.2.9:5060 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfar2\r\n"
      "Max-Forwards: 70\r\nFrom: <sip:1003@pbx.test>;tag=x\r\n"
      "To: <sip:1001@pbx.test>\r\nCall-ID: in1\r\nCSeq: 1 INVITE\r\n"
      "Contact: <sip:1003@10.0.0.1>\r\nContent-Length: 0\r\n\r\n";
  assert_int_equal(sipline_ua_recv(X.ua, &p, (const uint8_t *)inv_in,
                                   strlen(inv_in), X.now),
                   0);
  pump();
  /* An incoming call now rings the application (100 Trying, an event);
   * the application refuses it. */
  assert_true(!strncmp(X.tx[X.n_tx - 1].raw, "SIP/2.0 100", 11));
  expect_ev("3.000 call 2 incoming 10.0.0.1:5060 0 incoming");
  assert_int_equal(sipline__dlg_reject(X.ua, 2, 486, X.now), 0);
  pump();
  assert_true(!strncmp(X.tx[X.n_tx - 1].raw, "SIP/2.0 486", 11));
  expect_ev("3.000 call 2 ended 10.0.0.1:5060 486 rejected:486");
}

/* sipline__dlg_end (sipline_ua_call_end): the application says why (a secure line that got
 * no SRTP): a Reason header in the BYE of a confirmed call, a 488 with a
 * Warning to an incoming call, and its reason in the "ended" events. */
static void test_call_end(void **state) {
  (void)state;
  unsigned id = 0;
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  expect_ev("0.000 call 1 confirmed 10.0.0.1:5060 200 answered");
  const sipline_call_end bad[] = {
      {.status = 200},
      {.reason = "two words"},
      {.reason = "a_reason_longer_than_thirty_one_chars"},
      {.headers = "Via: SIP/2.0/UDP x\r\n"},
      {.headers = "Reason: no crlf"},
  };
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sipline__dlg_end(X.ua, id, &bad[i], X.now),
                     SIPLINE_ERR_INVAL);
  assert_int_equal(sipline__dlg_end(X.ua, id, NULL, X.now),
                   SIPLINE_ERR_INVAL);
  assert_int_equal(find("BYE", 0), NULL); /* nothing went */
  sipline_call_end e = {
      .headers = "Reason: SIP;cause=488;text=\"SRTP required\"\r\n",
      .reason = "srtp_required"};
  X.now = S(1);
  assert_int_equal(sipline__dlg_end(X.ua, id, &e, X.now), 0);
  pump();
  sent *bye = find("BYE", 0);
  assert_non_null(bye);
  assert_non_null(
      strstr(bye->raw, "\r\nReason: SIP;cause=488;text=\"SRTP required\"\r\n"));
  expect_ev("1.000 call 1 ending 10.0.0.1:5060 0 srtp_required");
  expect_ev("1.000 call 1 ended 10.0.0.1:5060 200 srtp_required");
  assert_int_equal(sipline__dlg_end(X.ua, id, &e, X.now),
                   SIPLINE_ERR_NOTFOUND);

  sipline_path p;
  memset(&p, 0, sizeof p);
  p.tp = SIPLINE_TP_UDP;
  sipline_addr_parse("10.0.0.1", 8, &p.remote);
  p.remote.port = 5060;
  const char *inv_in =
      "INVITE sip:1001@192.0.2.9:5060 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfar9\r\n"
      "Max-Forwards: 70\r\nFrom: <sip:1003@pbx.test>;tag=x\r\n"
      "To: <sip:1001@pbx.test>\r\nCall-ID: in9\r\nCSeq: 1 INVITE\r\n"
      "Contact: <sip:1003@10.0.0.1>\r\nContent-Length: 0\r\n\r\n";
  X.now = S(2);
  assert_int_equal(sipline_ua_recv(X.ua, &p, (const uint8_t *)inv_in,
                                   strlen(inv_in), X.now),
                   0);
  pump();
  expect_ev("2.000 call 2 incoming 10.0.0.1:5060 0 incoming");
  e = (sipline_call_end){
      .status = 488,
      .headers = "Warning: 303 192.0.2.9 \"SRTP required\"\r\n",
      .reason = "srtp_required"};
  assert_int_equal(sipline__dlg_end(X.ua, 2, &e, X.now), 0);
  pump();
  const char *last = X.tx[X.n_tx - 1].raw;
  assert_true(!strncmp(last, "SIP/2.0 488", 11));
  assert_non_null(strstr(last, "\r\nWarning: 303 192.0.2.9 \"SRTP required\"\r\n"));
  assert_non_null(strstr(last, "Call-ID: in9\r\n"));
  expect_ev("2.000 call 2 ended 10.0.0.1:5060 488 srtp_required");
}

static void test_errors(void **state) {
  (void)state;
  unsigned id;
  assert_int_equal(call_to(X.ua, 9, "1002", &id, 0),
                   SIPLINE_ERR_NOTFOUND);
  assert_int_equal(call_to(X.ua, 1, "a\r\nb", &id, 0),
                   SIPLINE_ERR_INVAL);
  F.target[0] = 0;
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0),
                   SIPLINE_ERR_NOTFOUND);
  assert_int_equal(sipline__dlg_hangup(X.ua, 77, 0), SIPLINE_ERR_NOTFOUND);
  /* shutdown with a call up: BYE, then shut down */
  snprintf(F.target, sizeof F.target, "10.0.0.1:5060");
  assert_int_equal(call_to(X.ua, 1, "1002", &id, 0), 0);
  pump();
  assert_false(sipline_ua_is_shut_down(X.ua));
  sipline_ua_shutdown(X.ua, 0);
  pump();
  assert_non_null(find("BYE", 0));
  assert_true(sipline_ua_is_shut_down(X.ua));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_call_and_hangup, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout_resend, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout_alternate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout_ends, setup, teardown),
      cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_challenge, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hangup_then_timeout, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_incoming, setup, teardown),
      cmocka_unit_test_setup_teardown(test_call_end, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
