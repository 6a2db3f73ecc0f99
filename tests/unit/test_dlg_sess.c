/*
 * tests/unit/test_dlg_sess.c: calls between two real UAs (A at 10.0.0.1,
 * B at 10.0.0.2), each the whole engine with the dlg module and a fake reg
 * that sends the line's requests to the other UA, on a virtual clock with
 * a 10 ms one-way network. The harness plays the application: it answers
 * remote offers (SPEC R14-R16; RFC 3261, 3262, 3264, 3311, 4028) and can
 * drop or answer in place of a UA what crosses the network.
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

/* A dlg test links the dlg layer, not the top: the public calls are the
 * module's entry points with the same arguments. */
#define sipline_ua_call sipline__dlg_call
#define sipline_ua_call_answer sipline__dlg_answer
#define sipline_ua_call_update sipline__dlg_update
#define sipline_ua_call_reinvite sipline__dlg_reinvite
#define sipline_ua_call_sdp sipline__dlg_sdp
#define sipline_ua_call_info sipline__dlg_info
#define sipline_ua_hangup sipline__dlg_hangup

#define S(x) SIPLINE_SEC(x)
/* Runs the world to x seconds and gives that time (for a call made then). */
#define AT(x) (run(S(x)), W.now)
#define NONE SIPLINE_TSTAMP_NONE
#define LAT 10 /* one-way latency, ms */

static const char OFFER_A[] = "v=0\r\no=a 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                              "m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
static const char HOLD_A[] = "v=0\r\no=a 1 2 IN IP4 10.0.0.1\r\ns=-\r\n"
                             "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                             "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
static const char ANSWER_B[] = "v=0\r\no=b 7 1 IN IP4 10.0.0.2\r\ns=-\r\n"
                               "c=IN IP4 10.0.0.2\r\nt=0 0\r\n"
                               "m=audio 5000 RTP/AVP 0\r\na=sendrecv\r\n";
static const char OFFER_B[] = "v=0\r\no=b 7 2 IN IP4 10.0.0.2\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.2\r\nt=0 0\r\n"
                              "m=audio 5002 RTP/AVP 0\r\na=sendrecv\r\n";

/* ---- one side ---- */

typedef struct side {
  char name;       /* 'A' or 'B' */
  char ip[16];     /* its own address */
  char peer[16];   /* where its line's requests go */
  sipline_ua *ua;
  sipline_profile *p;
  int refuse;          /* refuse remote offers (call_sdp NULL) */
  int hold_answers;    /* do not answer remote offers automatically */
  const char *answer;  /* the SDP it answers with */
  unsigned last_call;  /* id of the newest call event */
} side;

static side SA, SB;

typedef struct wire {
  sipline_tstamp at;
  side *to;
  sipline_path path;
  size_t len;
  char data[8192];
} wire;

static struct {
  sipline_tstamp now;
  wire q[256];
  unsigned n_q;
  char log[512][200];
  unsigned n_log;
  /* filters: drop everything towards a side; answer a method in place */
  int drop_to_a, drop_to_b;
  /* a test's own filter: 1 when it took the message */
  int (*hook)(side *from, const char *msg, size_t len);
  const char *intercept_method; /* e.g. "UPDATE" */
  int intercept_status;
  unsigned n_intercepted;
  char sent[256][48]; /* "A>B UPDATE" / "B>A 200 UPDATE" at times */
  sipline_tstamp sent_t[256];
  unsigned n_sent;
} W;

static side *side_of(sipline_ua *ua) { return ua == SA.ua ? &SA : &SB; }

static int f_init(sipline_ua *ua, void **st) {
  (void)ua;
  *st = NULL;
  return 0;
}

static int f_target(sipline_ua *ua, void *st, unsigned line,
                    sipline__target *t) {
  (void)st;
  (void)line;
  side *s = side_of(ua);
  memset(t, 0, sizeof *t);
  t->path.tp = SIPLINE_TP_UDP;
  sipline_addr_parse(s->peer, strlen(s->peer), &t->path.remote);
  t->path.remote.port = 5060;
  snprintf(t->domain, sizeof t->domain, "%s", s->peer);
  snprintf(t->server, sizeof t->server, "%s:5060", s->peer);
  return 0;
}

static const sipline__module fake_reg = {
    .name = "reg", .init = f_init, .line_target = f_target};

static void logf_(const char *fmt, ...) SIPLINE__PRINTF(1, 2);
static void logf_(const char *fmt, ...) {
  assert_true(W.n_log < 512);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(W.log[W.n_log++], 200, fmt, ap);
  va_end(ap);
}

static void app_events(side *s) {
  sipline_event ev;
  while (sipline_ua_poll_event(s->ua, &ev)) {
    if (ev.type == SIPLINE_EV_CALL) {
      s->last_call = ev.id;
      logf_("%.3f %c call %u %s %s %d", (double)ev.t / 1000, s->name, ev.id,
            ev.state, ev.reason, ev.status);
    } else if (ev.type == SIPLINE_EV_CALL_SDP) {
      logf_("%.3f %c sdp %s %s %s", (double)ev.t / 1000, s->name, ev.state,
            ev.from, ev.reason);
      /* the body is ours to read until the next poll */
      if (!ev.body) {
        /* only when the copy could not be made (the allocation sweep) */
        assert_string_equal(ev.reason, "body_dropped");
        continue;
      }
      assert_true(ev.body_len > 10 && !strncmp(ev.body, "v=0", 3));
      if (!strcmp(ev.state, "offer") && !strcmp(ev.from, "remote") &&
          strcmp(ev.reason, "invite") && !s->hold_answers)
        sipline_ua_call_sdp(s->ua, ev.id, s->refuse ? NULL : s->answer,
                            s->refuse ? 0 : strlen(s->answer), W.now);
    } else if (ev.type == SIPLINE_EV_WARNING) {
      logf_("%.3f %c warning %s", (double)ev.t / 1000, s->name, ev.reason);
    }
  }
}

static void note_sent(side *from, const char *data) {
  if (W.n_sent >= 256)
    return;
  char *o = W.sent[W.n_sent];
  if (!strncmp(data, "SIP/2.0 ", 8)) {
    const char *cs = strstr(data, "\nCSeq: ");
    const char *m = cs ? strchr(cs + 7, ' ') : NULL;
    char meth[16] = "?";
    if (m)
      sscanf(m + 1, "%15[A-Z]", meth);
    snprintf(o, 48, "%c %.3s %s", from->name, data + 8, meth);
  } else {
    snprintf(o, 48, "%c %.*s", from->name, (int)strcspn(data, " "), data);
  }
  W.sent_t[W.n_sent++] = W.now;
}

/* A response made in place of the far side (the intercept filter). */
/* A response to req made in place of the far side, to_tag added to the To
 * when given, extra header lines, arriving LAT + delay ms later. */
static void answer_as(side *from, const char *req, size_t len, int status,
                      const char *to_tag, const char *extra,
                      sipline_tstamp delay) {
  sipline_msg m;
  assert_true(sipline_msg_parse(&m, req, len, SIPLINE_PARSE_DATAGRAM, NULL) >
              0);
  char buf[2048];
  int n = snprintf(buf, sizeof buf,
                   "SIP/2.0 %d X\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s%s%s\r\n"
                   "Call-ID: %.*s\r\nCSeq: %u %.*s\r\n%sContent-Length: 0\r\n"
                   "\r\n",
                   status, (int)m.hdrs[m.first[SIPLINE_HDR_VIA] - 1].value.len,
                   m.hdrs[m.first[SIPLINE_HDR_VIA] - 1].value.p,
                   (int)m.hdrs[m.first[SIPLINE_HDR_FROM] - 1].value.len,
                   m.hdrs[m.first[SIPLINE_HDR_FROM] - 1].value.p,
                   (int)m.hdrs[m.first[SIPLINE_HDR_TO] - 1].value.len,
                   m.hdrs[m.first[SIPLINE_HDR_TO] - 1].value.p,
                   to_tag ? ";tag=" : "", to_tag ? to_tag : "",
                   (int)m.call_id.len, m.call_id.p, m.cseq,
                   (int)m.cseq_method_name.len, m.cseq_method_name.p,
                   extra ? extra : "");
  wire *w = &W.q[W.n_q++];
  w->at = W.now + LAT + delay;
  w->to = from;
  memset(&w->path, 0, sizeof w->path);
  w->path.tp = SIPLINE_TP_UDP;
  side *far = from == &SA ? &SB : &SA;
  sipline_addr_parse(far->ip, strlen(far->ip), &w->path.remote);
  w->path.remote.port = 5060;
  w->len = (size_t)n;
  memcpy(w->data, buf, (size_t)n);
}

static void answer_in_place(side *from, const char *req, size_t len,
                            int status) {
  answer_as(from, req, len, status, NULL, NULL, 0);
}

static void pull(side *s) {
  sipline_path p;
  const uint8_t *d;
  ptrdiff_t n;
  while ((n = sipline_ua_pull_tx(s->ua, &p, &d, W.now)) >= 0) {
    assert_true(W.n_q < 256 && (size_t)n < sizeof W.q[0].data);
    char tmp[8192];
    memcpy(tmp, d, (size_t)n);
    tmp[n] = 0;
    side *to = s == &SA ? &SB : &SA;
    note_sent(s, tmp);
    if ((to == &SA && W.drop_to_a) || (to == &SB && W.drop_to_b))
      continue;
    if (W.hook && W.hook(s, tmp, (size_t)n))
      continue;
    if (W.intercept_method &&
        !strncmp(tmp, W.intercept_method, strlen(W.intercept_method)) &&
        tmp[strlen(W.intercept_method)] == ' ') {
      W.n_intercepted++;
      answer_in_place(s, tmp, (size_t)n, W.intercept_status);
      continue;
    }
    wire *w = &W.q[W.n_q++];
    w->at = W.now + LAT;
    w->to = to;
    memset(&w->path, 0, sizeof w->path);
    w->path.tp = SIPLINE_TP_UDP;
    sipline_addr_parse(s->ip, strlen(s->ip), &w->path.remote);
    w->path.remote.port = 5060;
    sipline_addr_parse(to->ip, strlen(to->ip), &w->path.local);
    w->path.local.port = 5060;
    w->len = (size_t)n;
    memcpy(w->data, tmp, (size_t)n);
  }
}

static void settle(void) {
  for (int g = 0; g < 100; g++) {
    app_events(&SA);
    app_events(&SB);
    pull(&SA);
    pull(&SB);
  }
}

/* Runs the world until `until` (virtual ms). */
static void run(sipline_tstamp until) {
  settle();
  for (int g = 0; g < 200000; g++) {
    sipline_tstamp t = NONE;
    int wi = -1;
    for (unsigned i = 0; i < W.n_q; i++)
      if (W.q[i].at < t) {
        t = W.q[i].at;
        wi = (int)i;
      }
    sipline_tstamp ta = sipline_ua_next_deadline(SA.ua);
    sipline_tstamp tb = sipline_ua_next_deadline(SB.ua);
    sipline_tstamp tt = ta < tb ? ta : tb;
    if (tt < t) {
      t = tt;
      wi = -1;
    }
    if (t == NONE || t > until)
      break;
    if (t > W.now)
      W.now = t;
    if (wi >= 0) {
      wire w = W.q[wi];
      W.q[wi] = W.q[--W.n_q];
      sipline_ua_recv(w.to->ua, &w.path, (const uint8_t *)w.data, w.len,
                      W.now);
    } else {
      sipline_ua_handle_timeout(SA.ua, W.now);
      sipline_ua_handle_timeout(SB.ua, W.now);
    }
    settle();
  }
  if (until > W.now)
    W.now = until;
}

static int has_log(const char *line) {
  for (unsigned i = 0; i < W.n_log; i++)
    if (!strcmp(W.log[i], line))
      return 1;
  return 0;
}

static void expect(const char *line) {
  if (has_log(line))
    return;
  fprintf(stderr, "expected: %s\n", line);
  for (unsigned i = 0; i < W.n_log; i++)
    fprintf(stderr, "  %s\n", W.log[i]);
  fail();
}

static unsigned count_sent(const char *what) {
  unsigned n = 0;
  for (unsigned i = 0; i < W.n_sent; i++)
    n += !strcmp(W.sent[i], what);
  return n;
}

/* The time of the k-th message sent matching what, or NONE. */
static sipline_tstamp sent_at(const char *what, unsigned k) {
  for (unsigned i = 0; i < W.n_sent; i++)
    if (!strcmp(W.sent[i], what) && k-- == 0)
      return W.sent_t[i];
  return NONE;
}

static void make_side(side *s, char name, const char *ip, const char *peer,
                      const char *user) {
  memset(s, 0, sizeof *s);
  s->name = name;
  snprintf(s->ip, sizeof s->ip, "%s", ip);
  snprintf(s->peer, sizeof s->peer, "%s", peer);
  s->answer = name == 'A' ? OFFER_A : ANSWER_B;
  sipline_profile_error e;
  assert_int_equal(sipline_profile_new(&s->p, NULL), 0);
  assert_int_equal(sipline_profile_set(s->p, "User_ID_1_", user, &e), 0);
  assert_int_equal(sipline_profile_set(s->p, "Register_1_", "No", &e), 0);
}

/* An allocator that fails its n-th allocation (0: never). */
typedef struct failer {
  unsigned n, fail_at;
} failer;

static void *f_malloc(size_t sz, void *u) {
  failer *f = u;
  if (++f->n == f->fail_at)
    return NULL;
  return malloc(sz);
}
static void *f_calloc(size_t n, size_t sz, void *u) {
  failer *f = u;
  if (++f->n == f->fail_at)
    return NULL;
  return calloc(n, sz);
}
static void *f_realloc(void *p, size_t sz, void *u) {
  failer *f = u;
  if (++f->n == f->fail_at)
    return NULL;
  return realloc(p, sz);
}
static void f_free(void *p, void *u) {
  (void)u;
  free(p);
}

static int start_side_mem(side *s, uint64_t seed, const sipline_mem *mem) {
  sipline_settings st = {.profile = s->p, .seed = seed, .local_host = s->ip};
  const sipline__module *mods[] = {&fake_reg, &sipline__dlg_module};
  return sipline__ua_create(&s->ua, &st, mem, NULL, mods, 2);
}

static void start_side(side *s, uint64_t seed) {
  assert_int_equal(start_side_mem(s, seed, NULL), 0);
}

static void set_key(side *s, const char *tag, const char *v) {
  sipline_profile_error e;
  assert_int_equal(sipline_profile_set(s->p, tag, v, &e), 0);
}

static int setup(void **state) {
  (void)state;
  memset(&W, 0, sizeof W);
  make_side(&SA, 'A', "10.0.0.1", "10.0.0.2", "1001");
  make_side(&SB, 'B', "10.0.0.2", "10.0.0.1", "1002");
  return 0;
}

static void start(void) {
  start_side(&SA, 11);
  start_side(&SB, 22);
}

static int teardown(void **state) {
  (void)state;
  sipline_ua_del(SA.ua);
  sipline_ua_del(SB.ua);
  sipline_profile_del(SA.p);
  sipline_profile_del(SB.p);
  return 0;
}

/* A calls B with OFFER_A; B answers 200 with ANSWER_B at 1 s. */
static unsigned establish(sipline_100rel rel) {
  unsigned id = 0;
  sipline_call_params cp = {.line = 1,
                            .to = "1002",
                            .sdp = OFFER_A,
                            .sdp_len = strlen(OFFER_A),
                            .prack = rel};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, W.now), 0);
  run(W.now + 500);
  assert_int_equal(SB.last_call, 1);
  sipline_call_answer ring = {.status = 180};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &ring, W.now), 0);
  run(1000);
  sipline_call_answer ok = {.sdp = ANSWER_B, .sdp_len = strlen(ANSWER_B)};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &ok, W.now), 0);
  run(W.now + 100);
  return id;
}

static void expect_sdp(side *s, unsigned id, const char *local,
                       const char *remote) {
  sipline_call_info ci;
  assert_int_equal(sipline_ua_call_info(s->ua, id, &ci), 0);
  assert_int_equal(ci.local_sdp_len, strlen(local));
  assert_memory_equal(ci.local_sdp, local, strlen(local));
  assert_int_equal(ci.remote_sdp_len, strlen(remote));
  assert_memory_equal(ci.remote_sdp, remote, strlen(remote));
  assert_int_equal(ci.offer_pending, 0);
}

/* ------------------------------------------------------------------ */

static void test_basic_call(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  expect("0.010 B call 1 incoming incoming 0");
  expect("0.010 B sdp offer remote invite");
  expect("0.510 A call 1 early status:180 180");
  expect("1.000 B sdp answer local 2xx");
  expect("1.000 B call 1 connecting answered 200");
  expect("1.010 A sdp answer remote 2xx");
  expect("1.010 A call 1 confirmed answered 200");
  expect("1.020 B call 1 confirmed ack 0");
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
  expect_sdp(&SB, 1, ANSWER_B, OFFER_A);
  /* the 2xx is not sent again once ACKed */
  run(S(40));
  assert_int_equal(count_sent("B 200 INVITE"), 1);
  assert_int_equal(sipline_ua_hangup(SA.ua, id, W.now), 0);
  run(W.now + 100);
  expect("40.010 B call 1 ended remote_bye 0");
  expect("40.020 A call 1 ended hangup 200");
  assert_int_equal(sipline__dialog_count(SA.ua), 0);
  assert_int_equal(sipline__dialog_count(SB.ua), 0);
}

/* R14: UPDATE with an offer in a confirmed dialog, both directions. */
static void test_update_both_ways(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(2)), 0);
  run(S(3));
  expect("2.000 A sdp offer local update");
  expect("2.010 B sdp offer remote update");
  expect("2.010 B sdp answer local update");
  expect("2.020 A sdp answer remote update");
  expect("2.020 A call 1 confirmed update_ok 200");
  expect_sdp(&SA, id, HOLD_A, ANSWER_B);
  /* and from B */
  assert_int_equal(
      sipline_ua_call_update(SB.ua, 1, OFFER_B, strlen(OFFER_B), AT(4)), 0);
  run(S(5));
  expect("4.010 A sdp offer remote update");
  expect("4.020 B call 1 confirmed update_ok 200");
  expect_sdp(&SB, 1, OFFER_B, OFFER_A);
  expect_sdp(&SA, id, OFFER_A, OFFER_B);
  /* without SDP: a plain 200, the session unchanged */
  assert_int_equal(sipline_ua_call_update(SA.ua, id, NULL, 0, AT(6)), 0);
  run(S(7));
  expect("6.010 B call 1 confirmed refresh_rx 0");
  expect("6.020 A call 1 confirmed update_ok 200");
  expect_sdp(&SA, id, OFFER_A, OFFER_B);
  assert_int_equal(count_sent("A UPDATE"), 2);
  /* one UPDATE at a time; a dialogless call cannot */
  assert_int_equal(sipline_ua_call_update(SA.ua, id, NULL, 0, AT(7)), 0);
  assert_int_equal(sipline_ua_call_update(SA.ua, id, NULL, 0, AT(7)),
                   SIPLINE_ERR_STATE);
  assert_int_equal(sipline_ua_call_update(SA.ua, 99, NULL, 0, AT(7)),
                   SIPLINE_ERR_NOTFOUND);
}

/* R15: a refused offer leaves the session as it was. */
static void test_update_refused_keeps_session(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  SB.refuse = 1;
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(2)), 0);
  run(S(3));
  expect("2.010 B call 1 confirmed offer_refused 488");
  expect("2.020 A call 1 confirmed update_failed 488");
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
  expect_sdp(&SB, 1, ANSWER_B, OFFER_A);
  /* the application that never answers: 488 after 8 s */
  SB.refuse = 0;
  SB.hold_answers = 1;
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(10)), 0);
  run(S(20));
  expect("18.010 B warning sdp_timeout");
  expect("18.020 A call 1 confirmed update_failed 488");
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
}

/*
 * R15: two UPDATEs cross: 491 each way; B (not the Call-ID owner) retries
 * after 0..2 s, A after 2.1..4 s, at times fixed by the seeds; B's goes
 * through, A's then too.
 */
static void test_update_glare(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(2)), 0);
  assert_int_equal(
      sipline_ua_call_update(SB.ua, 1, OFFER_B, strlen(OFFER_B), AT(2)), 0);
  run(S(10));
  expect("2.010 A call 1 confirmed glare_rx 491");
  expect("2.010 B call 1 confirmed glare_rx 491");
  assert_int_equal(count_sent("A 491 UPDATE"), 1);
  assert_int_equal(count_sent("B 491 UPDATE"), 1);
  assert_int_equal(count_sent("A UPDATE"), 2);
  assert_int_equal(count_sent("B UPDATE"), 2);
  sipline_tstamp ra = sent_at("A UPDATE", 1), rb = sent_at("B UPDATE", 1);
  /* §14.1, from the 491 at 2.020 */
  assert_true(rb >= 2020 && rb <= 2020 + 2000);
  assert_true(ra >= 2020 + 2100 && ra <= 2020 + 4000);
  assert_true(rb < ra);
  /* the same seeds give the same times */
  fprintf(stderr, "glare retries: B at %.3f s, A at %.3f s\n",
          (double)rb / 1000, (double)ra / 1000);
  assert_int_equal(rb, 2020 + 1740);
  assert_int_equal(ra, 2020 + 2520);
  /* both offers went through in the end, B's first */
  expect_sdp(&SA, id, HOLD_A, ANSWER_B);
  expect_sdp(&SB, 1, ANSWER_B, HOLD_A);
}

/* re-INVITE both ways: hold by sendonly, and an offerless one answered in
 * the ACK (RFC 6337 §5.2.4). */
static void test_reinvite(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  assert_int_equal(
      sipline_ua_call_reinvite(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(2)), 0);
  run(S(3));
  expect("2.010 B sdp offer remote reinvite");
  expect("2.020 A sdp answer remote 2xx");
  expect("2.020 A call 1 confirmed reinvite_ok 200");
  expect_sdp(&SA, id, HOLD_A, ANSWER_B);
  assert_int_equal(count_sent("A ACK"), 2);
  /* B asks for an offer: A's current SDP goes in the 2xx, B answers in the
   * ACK */
  SB.answer = OFFER_B;
  assert_int_equal(sipline_ua_call_reinvite(SB.ua, 1, NULL, 0, AT(4)), 0);
  run(S(5));
  expect("4.010 A sdp offer local 2xx");
  expect("4.020 B sdp offer remote 2xx");
  expect("4.030 A sdp answer remote ack");
  expect_sdp(&SA, id, HOLD_A, OFFER_B);
  expect_sdp(&SB, 1, OFFER_B, HOLD_A);
  /* a crossing re-INVITE: 491 */
  assert_int_equal(
      sipline_ua_call_reinvite(SA.ua, id, OFFER_A, strlen(OFFER_A), AT(6)), 0);
  assert_int_equal(sipline_ua_call_reinvite(SB.ua, 1, NULL, 0, AT(6)), 0);
  run(S(12));
  assert_true(count_sent("A 491 INVITE") + count_sent("B 491 INVITE") == 2);
  expect_sdp(&SA, id, OFFER_A, OFFER_B);
}

/* UPDATE answered 501 (baresip 1.0.0): the same offer goes by re-INVITE. */
static void test_update_501_falls_back(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  W.intercept_method = "UPDATE";
  W.intercept_status = 501;
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(2)), 0);
  run(S(3));
  expect("2.010 A call 1 confirmed update_unsupported_reinvite 501");
  expect("2.030 A call 1 confirmed reinvite_ok 200");
  expect_sdp(&SA, id, HOLD_A, ANSWER_B);
  sipline_call_info ci;
  assert_int_equal(sipline_ua_call_info(SA.ua, id, &ci), 0);
  assert_int_equal(ci.peer_allows_update, 0);
  assert_int_equal(W.n_intercepted, 1);
  assert_int_equal(count_sent("A INVITE"), 2);
  /* The resume is not offered by UPDATE again (baresip refuses every
   * one): it goes by re-INVITE at once, and so does an UPDATE without
   * SDP (the current SDP, as a refresh does). */
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, OFFER_A, strlen(OFFER_A), AT(4)), 0);
  run(S(5));
  expect("4.000 A call 1 confirmed update_unsupported_reinvite 0");
  expect("4.020 A call 1 confirmed reinvite_ok 200");
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
  assert_int_equal(sipline_ua_call_update(SA.ua, id, NULL, 0, AT(6)), 0);
  run(S(7));
  expect("6.000 A call 1 confirmed update_unsupported_reinvite 0");
  expect("6.020 A call 1 confirmed reinvite_ok 200");
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
  assert_int_equal(W.n_intercepted, 1);
  assert_int_equal(count_sent("A UPDATE"), 1);
  assert_int_equal(count_sent("A INVITE"), 4);
}

/* An UPDATE without SDP answered 501 is a refresh the peer still wants:
 * it goes by re-INVITE with the SDP as it is (no offer is lost). */
static void test_update_501_nosdp_falls_back(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  W.intercept_method = "UPDATE";
  W.intercept_status = 501;
  assert_int_equal(sipline_ua_call_update(SA.ua, id, NULL, 0, AT(2)), 0);
  run(S(3));
  expect("2.010 A call 1 confirmed update_unsupported_reinvite 501");
  expect("2.030 A call 1 confirmed reinvite_ok 200");
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
  assert_int_equal(count_sent("A INVITE"), 2);
}

/* R16: A asks for 90 s; B lets A refresh (refresher=uac) by UPDATE every
 * 45 s; when A goes silent, B hangs up at 90 - 30 = 60 s after the last
 * refresh. */
static void test_session_timer(void **state) {
  (void)state;
  set_key(&SA, "Session_Expires_1_", "90");
  set_key(&SB, "Session_Expires_1_", "1800");
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  sipline_call_info ci;
  assert_int_equal(sipline_ua_call_info(SA.ua, id, &ci), 0);
  assert_int_equal(ci.session_expires, 90);
  assert_string_equal(ci.refresher, "local");
  assert_int_equal(sipline_ua_call_info(SB.ua, 1, &ci), 0);
  assert_int_equal(ci.session_expires, 90);
  assert_string_equal(ci.refresher, "remote");
  run(S(200));
  /* confirmed at 1.010: refreshes at 46.010, 91.030, 136.050, 181.070 */
  assert_int_equal(count_sent("A UPDATE"), 4);
  assert_int_equal(sent_at("A UPDATE", 0), 46010);
  assert_int_equal(sent_at("A UPDATE", 1), 91030);
  expect("46.030 A call 1 confirmed refreshed 200");
  assert_int_equal(count_sent("A INVITE"), 1);
  /* A's refreshes stop reaching B */
  W.drop_to_b = 1;
  run(S(400));
  /* the last refresh B saw: 181.080; its BYE at +60 s */
  expect("241.080 B call 1 confirmed session_expired 0");
  assert_int_equal(sent_at("B BYE", 0), 241080);
}

/* R16 without UPDATE from the peer: refresh by re-INVITE with the SDP as
 * it is (the same o= version). */
static void test_session_timer_reinvite(void **state) {
  (void)state;
  set_key(&SA, "Session_Expires_1_", "90");
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  W.intercept_method = "UPDATE";
  W.intercept_status = 501;
  run(S(100));
  /* the first refresh tries UPDATE, learns 501, refreshes by re-INVITE;
   * the next goes straight to re-INVITE */
  assert_int_equal(W.n_intercepted, 1);
  assert_int_equal(count_sent("A INVITE"), 3);
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
  expect_sdp(&SB, 1, ANSWER_B, OFFER_A);
}

/* R16: 422 raises the interval once (no loop). */
static void test_session_timer_422(void **state) {
  (void)state;
  set_key(&SA, "Session_Expires_1_", "90");
  set_key(&SB, "Min_SE_1_", "300");
  start();
  unsigned id = 0;
  sipline_call_params cp = {.line = 1,
                            .to = "1002",
                            .sdp = OFFER_A,
                            .sdp_len = strlen(OFFER_A)};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, 0), 0);
  run(500);
  assert_int_equal(count_sent("B 422 INVITE"), 1);
  assert_int_equal(count_sent("A INVITE"), 2);
  expect("0.020 A call 1 calling session_interval_raised 422");
  sipline_call_answer ok = {.sdp = ANSWER_B, .sdp_len = strlen(ANSWER_B)};
  assert_int_equal(sipline_ua_call_answer(SB.ua, SB.last_call, &ok, W.now),
                   0);
  run(S(1));
  sipline_call_info ci;
  assert_int_equal(sipline_ua_call_info(SA.ua, id, &ci), 0);
  assert_int_equal(ci.state, SIPLINE_CALL_CONFIRMED);
  assert_int_equal(ci.session_expires, 300);
}

/* RFC 3262 + RFC 3311 §5.1: a reliable 183 with the answer, PRACK, then an
 * UPDATE in the early dialog, then the 200. */
static void test_prack_early_update(void **state) {
  (void)state;
  start();
  unsigned id = 0;
  sipline_call_params cp = {.line = 1,
                            .to = "1002",
                            .sdp = OFFER_A,
                            .sdp_len = strlen(OFFER_A)};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, 0), 0);
  run(100);
  /* no early UPDATE before the offer/answer completes */
  assert_int_equal(sipline_ua_call_update(SA.ua, id, NULL, 0, W.now),
                   SIPLINE_ERR_STATE);
  sipline_call_answer r183 = {.status = 183,
                              .reliable = 1,
                              .sdp = ANSWER_B,
                              .sdp_len = strlen(ANSWER_B)};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &r183, W.now), 0);
  run(S(1));
  expect("0.110 A sdp answer remote 1xx");
  assert_int_equal(count_sent("A PRACK"), 1);
  assert_int_equal(count_sent("B 200 PRACK"), 1);
  /* the reliable 183 is not sent again once PRACKed */
  assert_int_equal(count_sent("B 183 INVITE"), 1);
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(1)), 0);
  run(S(2));
  expect("1.010 B sdp offer remote update");
  expect("1.020 A call 1 early update_ok 200");
  sipline_call_answer ok = {.status = 200};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &ok, AT(2)), 0);
  run(S(3));
  expect("2.010 A call 1 confirmed answered 200");
  expect_sdp(&SA, id, HOLD_A, ANSWER_B);
  expect_sdp(&SB, 1, ANSWER_B, HOLD_A);
}

/* A reliable 1xx whose PRACK is lost is sent again at T1, 2T1, ... */
static void test_prack_retransmission(void **state) {
  (void)state;
  start();
  unsigned id = 0;
  sipline_call_params cp = {.line = 1, .to = "1002"};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, 0), 0);
  run(100);
  W.drop_to_b = 1;
  /* B offers in the reliable 183 (the INVITE had none) */
  sipline_call_answer r183 = {.status = 183,
                              .reliable = 1,
                              .sdp = OFFER_B,
                              .sdp_len = strlen(OFFER_B)};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &r183, W.now), 0);
  run(S(3));
  /* at 0.1, 0.6, 1.6 (and 3.6) */
  assert_int_equal(count_sent("B 183 INVITE"), 3);
  assert_int_equal(sent_at("B 183 INVITE", 2), 1600);
  W.drop_to_b = 0;
  run(S(5));
  /* A answered the offer in its PRACK */
  expect("0.110 A sdp offer remote 1xx");
  /* A's PRACK was lost with the rest; its own retransmission (Timer E)
   * at 3.61 s gets through */
  expect("3.620 B sdp answer remote prack");
  assert_int_equal(count_sent("B 183 INVITE"), 4);
  /* a 200 now carries nothing new: the exchange is done */
  sipline_call_answer ok = {.status = 200};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &ok, W.now), 0);
  run(S(6));
  expect_sdp(&SA, id, OFFER_A, OFFER_B);
}

/* CANCEL: the caller hangs up while B rings. */
static void test_cancel(void **state) {
  (void)state;
  start();
  unsigned id = 0;
  sipline_call_params cp = {.line = 1, .to = "1002"};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, 0), 0);
  run(100);
  sipline_call_answer ring = {.status = 180};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &ring, W.now), 0);
  run(200);
  assert_int_equal(sipline_ua_hangup(SA.ua, id, W.now), 0);
  run(S(1));
  expect("0.210 B call 1 ended cancelled 487");
  expect("0.220 A call 1 ended cancelled 487");
  assert_int_equal(sipline__dialog_count(SB.ua), 0);
  assert_int_equal(sipline__dialog_count(SA.ua), 0);
}

/* The 2xx is sent again until its ACK, and the call ends without one. */
static void test_2xx_without_ack(void **state) {
  (void)state;
  start();
  unsigned id = 0;
  sipline_call_params cp = {.line = 1,
                            .to = "1002",
                            .sdp = OFFER_A,
                            .sdp_len = strlen(OFFER_A)};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, 0), 0);
  run(100);
  W.drop_to_a = 1;
  sipline_call_answer ok = {.sdp = ANSWER_B, .sdp_len = strlen(ANSWER_B)};
  assert_int_equal(sipline_ua_call_answer(SB.ua, 1, &ok, W.now), 0);
  run(S(40));
  /* 0.1, 0.6, 1.6, 3.6, 7.6, 11.6, ... every 4 s (T2) to 31.6: 11 */
  assert_int_equal(sent_at("B 200 INVITE", 4), 7600);
  assert_int_equal(sent_at("B 200 INVITE", 5), 11600);
  assert_int_equal(count_sent("B 200 INVITE"), 11);
  expect("32.100 B call 1 ending no_ack 0");
}


/*
 * Forking (RFC 3261 §13.2.2.4): the INVITE is answered by two forks in
 * place of B: 180 from f1 and f2 (two early dialogs), 200 from f1 (the
 * call), then 200 from f2, which is ACKed and BYEd at once.
 */
static int fork_hook(side *from, const char *msg, size_t len) {
  if (from != &SA || strncmp(msg, "INVITE ", 7))
    return 0;
  const char *c1 = "Contact: <sip:f1@10.0.0.2:5060>\r\n";
  const char *c2 = "Contact: <sip:f2@10.0.0.2:5060>\r\n";
  answer_as(from, msg, len, 180, "f1", c1, 0);
  answer_as(from, msg, len, 180, "f2", c2, 5);
  answer_as(from, msg, len, 200, "f1", c1, 100);
  answer_as(from, msg, len, 200, "f2", c2, 200);
  return 1;
}

static int fork_sink(side *from, const char *msg, size_t len) {
  (void)len;
  return from == &SA && strncmp(msg, "SIP/2.0", 7) != 0; /* swallow */
}

static void test_forking(void **state) {
  (void)state;
  start();
  W.hook = fork_hook;
  unsigned id = 0;
  sipline_call_params cp = {.line = 1, .to = "1002"};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, 0), 0);
  settle();
  W.hook = fork_sink;
  run(S(1));
  expect("0.010 A call 1 early status:180 180");
  expect("0.110 A call 1 confirmed answered 200");
  expect("0.210 A warning fork_dropped");
  /* one dialog kept, the call on f1 */
  assert_int_equal(sipline__dialog_count(SA.ua), 1);
  assert_int_equal(count_sent("A ACK"), 2);
  assert_int_equal(sent_at("A BYE", 0), 210); /* (resent: nobody answers) */
  sipline_call_info ci;
  assert_int_equal(sipline_ua_call_info(SA.ua, id, &ci), 0);
  assert_int_equal(ci.state, SIPLINE_CALL_CONFIRMED);
}

/* In-dialog authentication: an UPDATE challenged 401 goes again with
 * credentials and a new CSeq; the session changes once. */
static unsigned n_challenged;
static int auth_hook(side *from, const char *msg, size_t len) {
  if (from != &SA || strncmp(msg, "UPDATE ", 7) || n_challenged)
    return 0;
  n_challenged++;
  answer_as(from, msg, len, 401, NULL,
            "WWW-Authenticate: Digest realm=\"pbx\", nonce=\"n1\", "
            "qop=\"auth\", algorithm=MD5\r\n",
            0);
  return 1;
}

static char last_update[4096];
static int update_spy(side *from, const char *msg, size_t len) {
  if (from == &SA && !strncmp(msg, "UPDATE ", 7) && len < sizeof last_update)
    memcpy(last_update, msg, len + 1);
  return auth_hook(from, msg, len);
}

static void test_update_auth(void **state) {
  (void)state;
  set_key(&SA, "Password_1_", "secret");
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  n_challenged = 0;
  W.hook = update_spy;
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(2)), 0);
  run(S(3));
  assert_int_equal(n_challenged, 1);
  assert_int_equal(count_sent("A UPDATE"), 2);
  assert_non_null(strstr(last_update, "Authorization: Digest "));
  assert_non_null(strstr(last_update, "username=\"1001\""));
  expect("2.030 A call 1 confirmed update_ok 200");
  expect_sdp(&SA, id, HOLD_A, ANSWER_B);
  expect_sdp(&SB, 1, ANSWER_B, HOLD_A);
}


/*
 * The allocation-failure sweep: a whole call (INVITE with an offer, 180,
 * 200, UPDATE with an offer, a session refresh, a re-INVITE, BYE) with
 * the n-th allocation of one UA failing, for every n. Nothing may crash or
 * leak (ASan), and every failure must leave both UAs usable.
 */
static unsigned soft_call(void) {
  unsigned id = 0;
  sipline_call_params cp = {.line = 1,
                            .to = "1002",
                            .sdp = OFFER_A,
                            .sdp_len = strlen(OFFER_A)};
  if (sipline_ua_call(SA.ua, &cp, &id, W.now) != 0)
    return 0;
  run(W.now + 500);
  sipline_call_answer ring = {.status = 180};
  sipline_ua_call_answer(SB.ua, SB.last_call, &ring, W.now);
  run(W.now + 500);
  sipline_call_answer ok = {.sdp = ANSWER_B, .sdp_len = strlen(ANSWER_B)};
  sipline_ua_call_answer(SB.ua, SB.last_call, &ok, W.now);
  run(W.now + S(1));
  sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), W.now);
  run(W.now + S(1));
  run(W.now + S(50)); /* a refresh at 45 s */
  sipline_ua_call_reinvite(SB.ua, SB.last_call, NULL, 0, W.now);
  run(W.now + S(2));
  sipline_ua_hangup(SA.ua, id, W.now);
  run(W.now + S(40));
  return id;
}

static void test_alloc_sweep(void **state) {
  (void)state;
  set_key(&SA, "Session_Expires_1_", "90");
  sipline_profile *pa = SA.p, *pb = SB.p;
  unsigned total[2] = {0, 0};
  for (int who = 0; who < 2; who++) {
    for (unsigned n = 0;; n++) {
      memset(&W, 0, sizeof W);
      failer f = {.n = 0, .fail_at = n};
      sipline_mem mem = {.user = &f,
                         .malloc = f_malloc,
                         .free = f_free,
                         .calloc = f_calloc,
                         .realloc = f_realloc};
      SA.ua = SB.ua = NULL;
      SA.last_call = SB.last_call = 0;
      side *victim = who ? &SB : &SA, *other = who ? &SA : &SB;
      int e = start_side_mem(victim, who ? 22 : 11, &mem);
      if (e == 0)
        start_side(other, who ? 11 : 22);
      if (e == 0)
        soft_call();
      sipline_ua_del(SA.ua);
      sipline_ua_del(SB.ua);
      SA.ua = SB.ua = NULL;
      if (n == 0) {
        total[who] = f.n;
        assert_true(total[who] > 20);
      } else if (n > total[who]) {
        break;
      }
    }
  }
  SA.p = pa;
  SB.p = pb;
  fprintf(stderr, "allocation sweep: %u (A) and %u (B) allocations\n",
          total[0], total[1]);
}


/* An offer that is not SDP: 488 "Malformed SDP", the session unchanged. */
static int garble_hook(side *from, const char *msg, size_t len) {
  if (from != &SA || strncmp(msg, "UPDATE ", 7) || len >= sizeof W.q[0].data)
    return 0;
  wire *w = &W.q[W.n_q++];
  w->at = W.now + LAT;
  w->to = &SB;
  memset(&w->path, 0, sizeof w->path);
  w->path.tp = SIPLINE_TP_UDP;
  sipline_addr_parse(SA.ip, strlen(SA.ip), &w->path.remote);
  w->path.remote.port = 5060;
  memcpy(w->data, msg, len);
  w->len = len;
  char *v = strstr(w->data, "\r\n\r\nv=0");
  assert_non_null(v);
  memcpy(v + 4, "x~0", 3); /* same length: Content-Length still holds */
  return 1;
}

static void test_update_malformed_sdp(void **state) {
  (void)state;
  start();
  unsigned id = establish(SIPLINE_100REL_OFF);
  W.hook = garble_hook;
  assert_int_equal(
      sipline_ua_call_update(SA.ua, id, HOLD_A, strlen(HOLD_A), AT(2)), 0);
  run(S(3));
  expect("2.010 B warning malformed_sdp");
  expect("2.020 A call 1 confirmed update_failed 488");
  assert_int_equal(count_sent("B 488 UPDATE"), 1);
  expect_sdp(&SA, id, OFFER_A, ANSWER_B);
  expect_sdp(&SB, 1, ANSWER_B, OFFER_A);
}


/* The flow of an unanswered incoming INVITE fails: the call ends, and the
 * transaction's last word does not reach the freed call (fuzz_top_recv
 * found that use-after-free). */
static void test_incoming_transport_error(void **state) {
  (void)state;
  start();
  unsigned id = 0;
  sipline_call_params cp = {.line = 1, .to = "1002"};
  assert_int_equal(sipline_ua_call(SA.ua, &cp, &id, 0), 0);
  run(100);
  assert_int_equal(SB.last_call, 1);
  sipline_path p = {.tp = SIPLINE_TP_UDP};
  sipline_addr_parse(SA.ip, strlen(SA.ip), &p.remote);
  p.remote.port = 5060;
  assert_int_equal(sipline_ua_transport_error(SB.ua, &p,
                                              SIPLINE_TPERR_UNREACHABLE, 200),
                   0);
  W.now = 200;
  run(S(1));
  expect("0.200 B call 1 ended transport 0");
  assert_int_equal(sipline__dialog_count(SB.ua), 0);
}

/* Requests of no dialog, and a stale CSeq. */
static void test_481_and_cseq(void **state) {
  (void)state;
  start();
  establish(SIPLINE_100REL_OFF);
  const char *upd = "UPDATE sip:1002@10.0.0.2:5060 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx1\r\n"
                    "Max-Forwards: 70\r\nFrom: <sip:1001@x>;tag=nope\r\n"
                    "To: <sip:1002@x>;tag=nope2\r\nCall-ID: none\r\n"
                    "CSeq: 5 UPDATE\r\nContent-Length: 0\r\n\r\n";
  sipline_path p = {.tp = SIPLINE_TP_UDP};
  sipline_addr_parse("10.0.0.1", 8, &p.remote);
  p.remote.port = 5060;
  assert_int_equal(sipline_ua_recv(SB.ua, &p, (const uint8_t *)upd,
                                   strlen(upd), W.now),
                   0);
  const uint8_t *d;
  sipline_path out;
  ptrdiff_t n = sipline_ua_pull_tx(SB.ua, &out, &d, W.now);
  assert_true(n > 12 && !memcmp(d, "SIP/2.0 481", 11));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_basic_call, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_both_ways, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_refused_keeps_session, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_update_glare, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reinvite, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_501_falls_back, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_update_501_nosdp_falls_back,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_session_timer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_session_timer_reinvite, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_session_timer_422, setup, teardown),
      cmocka_unit_test_setup_teardown(test_prack_early_update, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_prack_retransmission, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_2xx_without_ack, setup, teardown),
      cmocka_unit_test_setup_teardown(test_481_and_cseq, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forking, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_auth, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alloc_sweep, setup, teardown),
      cmocka_unit_test_setup_teardown(test_incoming_transport_error, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_update_malformed_sdp, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
