/*
 * tests/unit/test_reg_ua.c: the registration client through the engine's
 * public driving calls (recv, pull_tx, next_deadline, handle_timeout,
 * poll_event, transport_error, dns_answer, line_status, shutdown), against
 * scripted registrars built on the msg parser and the digest code.
 *
 * The UA is made with the reg module alone (sipline__ua_create), so this
 * test links only the layers under reg. Time is virtual (ms from 0); a
 * registrar answers at once, so the times are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reg/policy.h"
#include "sipline/auth.h"
#include "sipline/msg.h"
#include "sipline/profile.h"
#include "sipline/ua.h"
#include "ua/ua.h"

extern const sipline__module sipline__reg_module;

#define S(x) SIPLINE_SEC(x)
#define NONE SIPLINE_TSTAMP_NONE
#define PASSWORD "secret"
#define REALM "test.realm"

enum { M_OK = 1, M_SILENT, M_REFUSE, M_REPLY, M_PROXY_AUTH, M_NOAUTH };

typedef struct srvb {
  char addr[48]; /* as long as serve()'s formatted address: "[v6]:port" */
  int mode;
  int code;
  char extra[128]; /* extra header lines for M_REPLY */
  uint32_t grant;  /* M_OK: grant at most this (0: as asked) */
  unsigned nonces;
} srvb;

typedef struct rxrec {
  sipline_tstamp t;
  char to[48];
  sipline_transport tp;
  char *raw;
  size_t len;
} rxrec;

typedef struct world {
  sipline_ua *ua;
  sipline_profile *p;
  sipline_tstamp now;
  srvb srv[8];
  unsigned n_srv;
  rxrec rx[512];
  unsigned n_rx;
  char ev[512][1024];
  unsigned n_ev;
  unsigned cursor;
  sipline_event last_dns;
  int have_dns;
} world;

static world *W;

static void set(world *w, const char *tag, const char *val) {
  sipline_profile_error e;
  int r = sipline_profile_set(w->p, tag, val, &e);
  if (r)
    fail_msg("%s=%s: %s", tag, val, e.what);
}

static srvb *beh(world *w, const char *addr) {
  for (unsigned i = 0; i < w->n_srv; i++)
    if (!strcmp(w->srv[i].addr, addr))
      return &w->srv[i];
  srvb *b = &w->srv[w->n_srv++];
  memset(b, 0, sizeof *b);
  snprintf(b->addr, sizeof b->addr, "%s", addr);
  b->mode = M_SILENT;
  return b;
}

static void server(world *w, const char *addr, int mode) {
  beh(w, addr)->mode = mode;
}

static world *wnew(void) {
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  assert_int_equal(sipline_profile_new(&w->p, NULL), 0);
  set(w, "User_ID_1_", "1001");
  set(w, "Password_1_", PASSWORD);
  W = w;
  return w;
}

static void log_event(world *w, const sipline_event *ev) {
  char b[1024];
  double t = (double)ev->t / 1000.0;
  switch (ev->type) {
  case SIPLINE_EV_REGISTERED:
    snprintf(b, sizeof b, "%.3f registered %s expires=%u", t, ev->server,
             ev->expires);
    break;
  case SIPLINE_EV_REG_FAILED:
    snprintf(b, sizeof b, "%.3f reg_failed %s reason=%s", t, ev->server,
             ev->reason);
    break;
  case SIPLINE_EV_FAILOVER:
  case SIPLINE_EV_FALLBACK:
    snprintf(b, sizeof b, "%.3f %s %s->%s reason=%s", t,
             sipline_event_name(ev->type), ev->from, ev->to, ev->reason);
    break;
  case SIPLINE_EV_DNS_QUERY:
    snprintf(b, sizeof b, "%.3f dns_query %s", t, ev->text);
    w->last_dns = *ev;
    w->have_dns = 1;
    break;
  case SIPLINE_EV_KEEPALIVE:
    snprintf(b, sizeof b, "%.3f keepalive %s state=%s", t, ev->server,
             ev->state);
    break;
  default:
    snprintf(b, sizeof b, "%.3f %s %s reason=%s", t,
             sipline_event_name(ev->type), ev->server, ev->reason);
  }
  assert_true(w->n_ev < 512);
  strcpy(w->ev[w->n_ev++], b);
}

static void expect_ev(world *w, const char *line) {
  for (unsigned i = w->cursor; i < w->n_ev; i++)
    if (!strcmp(w->ev[i], line)) {
      w->cursor = i + 1;
      return;
    }
  fprintf(stderr, "expected event: %s\nevents:\n", line);
  for (unsigned i = 0; i < w->n_ev; i++)
    fprintf(stderr, "  %s\n", w->ev[i]);
  fail();
}

/* ---- the scripted registrar ---- */

static sipline_pl hval(const sipline_msg *m, sipline_hdr_id id) {
  const sipline_hdr *h = sipline_msg_hdr(m, id, 0);
  return h ? h->value : SIPLINE_PL_NULL;
}

static void reply(world *w, const sipline_path *p, const sipline_msg *req,
                  int code, const char *extra) {
  char buf[4096];
  size_t o = 0;
  o += (size_t)snprintf(buf + o, sizeof buf - o, "SIP/2.0 %d X\r\n", code);
  for (unsigned i = 0; i < req->n_hdrs; i++)
    if (req->hdrs[i].id == SIPLINE_HDR_VIA)
      o += (size_t)snprintf(buf + o, sizeof buf - o, "Via: %.*s\r\n",
                            (int)req->hdrs[i].value.len,
                            req->hdrs[i].value.p);
  sipline_pl from = hval(req, SIPLINE_HDR_FROM), to = hval(req, SIPLINE_HDR_TO);
  sipline_pl cseq = hval(req, SIPLINE_HDR_CSEQ);
  o += (size_t)snprintf(buf + o, sizeof buf - o,
                        "From: %.*s\r\nTo: %.*s%s\r\nCall-ID: %.*s\r\n"
                        "CSeq: %.*s\r\n%sContent-Length: 0\r\n\r\n",
                        (int)from.len, from.p, (int)to.len, to.p,
                        req->to.tag.len ? "" : ";tag=srv", (int)req->call_id.len,
                        req->call_id.p, (int)cseq.len, cseq.p,
                        extra ? extra : "");
  sipline_path rp = *p; /* the UA's path: local = ours, remote = server */
  assert_int_equal(sipline_ua_recv(w->ua, &rp, (const uint8_t *)buf, o, w->now),
                   0);
}

/* Checks a digest Authorization / Proxy-Authorization value. */
static int digest_ok(const sipline_msg *m, sipline_hdr_id id) {
  const sipline_hdr *h = sipline_msg_hdr(m, id, 0);
  sipline_auth_hdr a;
  sipline_pl user, realm, nonce, uri, resp, cnonce, nc, qop;
  if (!h || sipline_auth_hdr_parse(h->value, &a) != 0)
    return 0;
  if (sipline_auth_hdr_get(&a, "username", &user) ||
      sipline_auth_hdr_get(&a, "realm", &realm) ||
      sipline_auth_hdr_get(&a, "nonce", &nonce) ||
      sipline_auth_hdr_get(&a, "uri", &uri) ||
      sipline_auth_hdr_get(&a, "response", &resp) ||
      sipline_auth_hdr_get(&a, "cnonce", &cnonce) ||
      sipline_auth_hdr_get(&a, "nc", &nc) ||
      sipline_auth_hdr_get(&a, "qop", &qop))
    return 0;
  char ncs[16];
  snprintf(ncs, sizeof ncs, "%.*s", (int)nc.len, nc.p);
  sipline_digest_params dp = {.alg = SIPLINE_DIGEST_MD5,
                              .qop = SIPLINE_QOP_AUTH,
                              .username = user,
                              .realm = realm,
                              .password = SIPLINE_PL(PASSWORD),
                              .method = m->method_name,
                              .uri = uri,
                              .nonce = nonce,
                              .cnonce = cnonce,
                              .nc = (uint32_t)strtoul(ncs, NULL, 16)};
  char out[SIPLINE_DIGEST_HEX_MAX + 1];
  if (sipline_digest_response(&dp, out) != 0)
    return 0;
  return sipline_pl_casecmp_str(user, "1001") &&
         sipline_pl_eq(uri, m->ruri_raw) && sipline_pl_casecmp_str(resp, out);
}

static void serve(world *w, const sipline_path *p, const char *bytes,
                  size_t len) {
  static sipline_msg m;
  char to[48];
  sipline__addr_name(&p->remote, to, sizeof to);
  assert_true(w->n_rx < 512);
  rxrec *r = &w->rx[w->n_rx++];
  r->t = w->now;
  r->tp = p->tp;
  snprintf(r->to, sizeof r->to, "%s", to);
  r->raw = malloc(len + 1);
  memcpy(r->raw, bytes, len);
  r->raw[len] = 0;
  r->len = len;
  if (len == 4 && !memcmp(bytes, "\r\n\r\n", 4))
    return; /* a keep-alive ping: no pong from these servers */
  assert_true(sipline_msg_parse(&m, r->raw, len, SIPLINE_PARSE_DATAGRAM,
                                NULL) > 0);
  assert_true(m.is_request);
  srvb *b = beh(w, to);
  if (m.method == SIPLINE_METHOD_ACK)
    return;
  switch (b->mode) {
  case M_SILENT:
    return;
  case M_REFUSE:
    sipline_ua_transport_error(w->ua, p, SIPLINE_TPERR_UNREACHABLE, w->now);
    return;
  case M_REPLY:
    reply(w, p, &m, b->code, b->extra[0] ? b->extra : NULL);
    return;
  default:
    break;
  }
  if (m.method != SIPLINE_METHOD_REGISTER) {
    reply(w, p, &m, 200, NULL);
    return;
  }
  sipline_hdr_id cred = b->mode == M_PROXY_AUTH
                            ? SIPLINE_HDR_PROXY_AUTHORIZATION
                            : SIPLINE_HDR_AUTHORIZATION;
  if (b->mode != M_NOAUTH && !digest_ok(&m, cred)) {
    char ch[200];
    snprintf(ch, sizeof ch,
             "%s: Digest realm=\"" REALM "\", nonce=\"n%u%s\", "
             "qop=\"auth\", algorithm=MD5\r\n",
             b->mode == M_PROXY_AUTH ? "Proxy-Authenticate"
                                     : "WWW-Authenticate",
             ++b->nonces, b->addr);
    reply(w, p, &m, b->mode == M_PROXY_AUTH ? 407 : 401, ch);
    return;
  }
  /* Grant what was asked (Contact expires), at most b->grant. */
  uint32_t e = m.has_expires ? m.expires : 3600;
  if (b->grant && e > b->grant)
    e = b->grant;
  sipline_pl ct = hval(&m, SIPLINE_HDR_CONTACT);
  sipline_nameaddr na;
  assert_int_equal(sipline_nameaddr_parse(ct, &na), 0);
  char extra[512];
  snprintf(extra, sizeof extra, "Contact: <%.*s>;expires=%u%.*s\r\n",
           (int)na.uri_raw.len, na.uri_raw.p, e, 0, "");
  /* keep +sip.instance as the UA sent it, as registrars do */
  sipline_pl inst;
  if (sipline_param_get(na.params, "+sip.instance", &inst) == 0)
    snprintf(extra, sizeof extra,
             "Contact: <%.*s>;expires=%u;+sip.instance=%.*s\r\n",
             (int)na.uri_raw.len, na.uri_raw.p, e, (int)inst.len, inst.p);
  reply(w, p, &m, 200, extra);
}

/* Sends everything queued and records the events, until quiet. */
static void pump(world *w) {
  for (int guard = 0; guard < 10000; guard++) {
    sipline_path p;
    const uint8_t *d;
    ptrdiff_t n = sipline_ua_pull_tx(w->ua, &p, &d, w->now);
    sipline_event ev;
    int any = 0;
    while (sipline_ua_poll_event(w->ua, &ev)) {
      log_event(w, &ev);
      any = 1;
    }
    if (n < 0 && !any)
      return;
    if (n >= 0) {
      char *copy = malloc((size_t)n + 1);
      memcpy(copy, d, (size_t)n);
      serve(w, &p, copy, (size_t)n);
      free(copy);
    }
  }
  fail_msg("pump does not settle");
}

static void start(world *w) {
  sipline_settings st = {.profile = w->p,
                         .seed = 7,
                         .local_host = "192.0.2.10",
                         .instance_id =
                             "urn:uuid:00000000-0000-4000-8000-000000000001"};
  const sipline__module *mods[] = {&sipline__reg_module};
  assert_int_equal(sipline__ua_create(&w->ua, &st, NULL, NULL, mods, 1), 0);
  assert_int_equal(sipline_ua_start(w->ua, 0), 0);
  pump(w);
}

static void run(world *w, sipline_tstamp until) {
  for (int guard = 0; guard < 1000000; guard++) {
    sipline_tstamp t = sipline_ua_next_deadline(w->ua);
    if (t == NONE || t > until)
      break;
    if (t > w->now)
      w->now = t;
    sipline_ua_handle_timeout(w->ua, w->now);
    pump(w);
  }
  if (until > w->now)
    w->now = until;
}

static void wfree(world *w) {
  sipline_ua_del(w->ua);
  sipline_profile_del(w->p);
  for (unsigned i = 0; i < w->n_rx; i++)
    free(w->rx[i].raw);
  free(w);
}

/* The k-th (0-based) request whose first line starts with method, or NULL */
static rxrec *nth(world *w, const char *method, unsigned k) {
  size_t ml = strlen(method);
  for (unsigned i = 0; i < w->n_rx; i++)
    if (!strncmp(w->rx[i].raw, method, ml) && w->rx[i].raw[ml] == ' ' &&
        k-- == 0)
      return &w->rx[i];
  return NULL;
}

static sipline_msg *parse(rxrec *r) {
  static sipline_msg m;
  assert_non_null(r);
  assert_true(sipline_msg_parse(&m, r->raw, r->len, SIPLINE_PARSE_DATAGRAM,
                                NULL) > 0);
  return &m;
}

static int has(const rxrec *r, const char *s) {
  return strstr(r->raw, s) != NULL;
}

/* ------------------------------------------------------------------ */

/* RFC 3261 §10.2: the REGISTER itself, the digest round, Call-ID and CSeq
 * continuity, the refresh at 78 % of the granted expiry. */
static void test_register_wire(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1:5060");
  set(w, "Register_Expires_1_", "3600");
  beh(w, "10.0.0.1:5060")->mode = M_OK;
  beh(w, "10.0.0.1:5060")->grant = 1800;
  start(w);
  rxrec *r0 = nth(w, "REGISTER", 0), *r1 = nth(w, "REGISTER", 1);
  assert_non_null(r1);
  assert_string_equal(r0->to, "10.0.0.1:5060");
  assert_int_equal(r0->tp, SIPLINE_TP_UDP);
  assert_true(!strncmp(r0->raw, "REGISTER sip:10.0.0.1:5060 SIP/2.0\r\n", 36));
  assert_true(has(r0, "To: <sip:1001@10.0.0.1>\r\n"));
  assert_true(has(r0, "From: <sip:1001@10.0.0.1>;tag="));
  assert_true(has(r0, ";rport"));
  assert_true(has(r0, "Contact: <sip:1001@192.0.2.10:5060>;+sip.instance="
                      "\"<urn:uuid:00000000-0000-4000-8000-000000000001>\";"
                      "expires=3600\r\n"));
  assert_true(has(r0, "Expires: 3600\r\n"));
  assert_true(has(r0, "Max-Forwards: 70\r\n"));
  assert_true(has(r0, "User-Agent: sipline/"));
  assert_true(has(r0, "Supported: path"));
  assert_true(has(r0, "Allow: INVITE"));
  assert_false(has(r0, "Route:"));
  assert_false(has(r0, "Authorization"));
  sipline_msg *m = parse(r0);
  char cid[64];
  snprintf(cid, sizeof cid, "%.*s", (int)m->call_id.len, m->call_id.p);
  assert_int_equal(m->cseq, 1);
  assert_int_equal(sipline_msg_validate(m, NULL), 0);
  m = parse(r1);
  assert_int_equal(m->cseq, 2); /* §10.2.4: one more per REGISTER */
  assert_true(sipline_pl_casecmp_str(m->call_id, cid));
  assert_true(digest_ok(m, SIPLINE_HDR_AUTHORIZATION));
  expect_ev(w, "0.000 registered 10.0.0.1:5060 expires=1800");
  sipline_line_status ls;
  assert_int_equal(sipline_ua_line_status(w->ua, 1, &ls), 0);
  assert_string_equal(ls.state, "registered");
  assert_string_equal(ls.aor, "1001@10.0.0.1");
  assert_string_equal(ls.current, "10.0.0.1:5060");
  assert_int_equal(ls.expires, 1800);
  assert_int_equal(ls.next_refresh, 1404000);
  assert_int_equal(ls.n_servers, 1);
  assert_true(ls.servers[0].up);
  assert_true(ls.servers[0].registered);
  assert_int_equal(ls.fallback_at, NONE);
  /* the refresh: 78 % of 1800 = 1404 s; pre-authenticated (nc=2) */
  run(w, S(1500));
  rxrec *r2 = nth(w, "REGISTER", 2);
  assert_non_null(r2);
  assert_int_equal(r2->t, S(1404));
  m = parse(r2);
  assert_int_equal(m->cseq, 3);
  assert_true(sipline_pl_casecmp_str(m->call_id, cid));
  assert_true(has(r2, "nc=00000002"));
  assert_true(digest_ok(m, SIPLINE_HDR_AUTHORIZATION));
  assert_null(nth(w, "REGISTER", 3)); /* accepted without a new 401 */
  wfree(w);
}

/* 407 from a proxy: Proxy-Authorization. */
static void test_proxy_auth_407(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1");
  set(w, "Use_Auth_ID_1_", "No");
  server(w, "10.0.0.1:5060", M_PROXY_AUTH);
  start(w);
  rxrec *r1 = nth(w, "REGISTER", 1);
  assert_non_null(r1);
  assert_true(digest_ok(parse(r1), SIPLINE_HDR_PROXY_AUTHORIZATION));
  expect_ev(w, "0.000 registered 10.0.0.1:5060 expires=3600");
  wfree(w);
}

/* A wrong password: the second 401 is final (no loop), Long Intvl. */
static void test_wrong_password(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1");
  set(w, "Password_1_", "wrong");
  server(w, "10.0.0.1:5060", M_OK);
  start(w);
  assert_non_null(nth(w, "REGISTER", 1));
  assert_null(nth(w, "REGISTER", 2));
  expect_ev(w, "0.000 reg_failed 10.0.0.1:5060 reason=status:401");
  run(w, S(1200));
  assert_int_equal(nth(w, "REGISTER", 2)->t, S(1200));
  wfree(w);
}

/* 423 with Min-Expires: at once with that expiry (R12). */
static void test_423(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1");
  set(w, "Register_Expires_1_", "60");
  srvb *b = beh(w, "10.0.0.1:5060");
  b->mode = M_REPLY;
  b->code = 423;
  snprintf(b->extra, sizeof b->extra, "Min-Expires: 600\r\n");
  start(w);
  expect_ev(w, "0.000 reg_failed 10.0.0.1:5060 reason=status:423");
  rxrec *r = nth(w, "REGISTER", 1);
  assert_non_null(r);
  assert_int_equal(r->t, 0);
  assert_true(has(r, "Expires: 600\r\n"));
  wfree(w);
}

/* 503 with Retry-After (R12) on a lone server. */
static void test_503_retry_after(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1");
  srvb *b = beh(w, "10.0.0.1:5060");
  b->mode = M_REPLY;
  b->code = 503;
  snprintf(b->extra, sizeof b->extra, "Retry-After: 45 (maintenance)\r\n");
  start(w);
  run(w, S(100));
  assert_int_equal(nth(w, "REGISTER", 1)->t, S(45));
  assert_int_equal(nth(w, "REGISTER", 2)->t, S(90));
  wfree(w);
}

/* Timer F on UDP (16 s, with Timer E retransmissions), then failover. */
static void test_timeout_failover(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1");
  server(w, "10.0.0.1:5060", M_SILENT);
  server(w, "10.0.0.2:5060", M_OK);
  start(w);
  run(w, S(20));
  /* retransmissions of the same request: 0, 0.5, 1.5, 3.5, 7.5, 11.5,
   * 15.5 s (T1 doubling up to T2 = 4 s) */
  unsigned n1 = 0;
  for (unsigned i = 0; i < w->n_rx; i++)
    n1 += !strcmp(w->rx[i].to, "10.0.0.1:5060");
  assert_int_equal(n1, 7);
  expect_ev(w, "16.000 reg_failed 10.0.0.1:5060 reason=timeout");
  expect_ev(w, "16.000 server_down 10.0.0.1:5060 reason=timeout");
  expect_ev(w, "16.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect_ev(w, "16.000 registered 10.0.0.2:5060 expires=3600");
  sipline_line_status ls;
  sipline_ua_line_status(w->ua, 1, &ls);
  assert_int_equal(ls.n_servers, 2);
  assert_false(ls.servers[0].up);
  assert_int_equal(ls.servers[0].since, S(16));
  assert_true(ls.servers[1].registered);
  /* Proxy Fallback Intvl 3600 = Register Expires: 16 + 3600 */
  assert_int_equal(ls.fallback_at, S(3616));
  assert_string_equal(ls.current, "10.0.0.2:5060");
  wfree(w);
}

/* ICMP unreachable (R5c): failover at once. */
static void test_transport_failover(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1");
  server(w, "10.0.0.1:5060", M_REFUSE);
  server(w, "10.0.0.2:5060", M_OK);
  start(w);
  expect_ev(w, "0.000 reg_failed 10.0.0.1:5060 reason=transport");
  expect_ev(w, "0.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=transport");
  expect_ev(w, "0.000 registered 10.0.0.2:5060 expires=3600");
  wfree(w);
}

/* The seed's examples, through the whole stack: fallback REGISTER exactly
 * min(Register Expires, Proxy Fallback Intvl) after the backup
 * registration; then the backup binding is removed. */
static void seed_example(const char *expires, const char *pfi,
                         sipline_tstamp backup_at, sipline_tstamp fb_at,
                         const char *reason) {
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1");
  set(w, "Register_Expires_1_", expires);
  set(w, "Proxy_Fallback_Intvl_1_", pfi);
  server(w, "10.0.0.1:5060", M_OK);
  server(w, "10.0.0.2:5060", M_OK);
  start(w);
  /* the primary dies; its refresh times out 16 s after it is due */
  server(w, "10.0.0.1:5060", M_SILENT);
  run(w, backup_at);
  char line[160];
  snprintf(line, sizeof line, "%.3f registered 10.0.0.2:5060 expires=%s",
           (double)backup_at / 1000, expires);
  expect_ev(w, line);
  server(w, "10.0.0.1:5060", M_OK);
  run(w, fb_at + S(1));
  snprintf(line, sizeof line, "%.3f fallback 10.0.0.2:5060->10.0.0.1:5060 "
           "reason=%s", (double)fb_at / 1000, reason);
  expect_ev(w, line);
  /* the first REGISTER to the primary after the backup registration */
  rxrec *fb = NULL;
  for (unsigned i = 0; i < w->n_rx && !fb; i++)
    if (w->rx[i].t > backup_at && !strcmp(w->rx[i].to, "10.0.0.1:5060") &&
        !strncmp(w->rx[i].raw, "REGISTER", 8))
      fb = &w->rx[i];
  assert_non_null(fb);
  assert_int_equal(fb->t, fb_at);
  snprintf(line, sizeof line, "%.3f registered 10.0.0.1:5060 expires=%s",
           (double)fb_at / 1000, expires);
  expect_ev(w, line);
  snprintf(line, sizeof line, "%.3f unregistered 10.0.0.2:5060 "
           "reason=fallback", (double)fb_at / 1000);
  expect_ev(w, line);
  rxrec *un = NULL;
  for (unsigned i = 0; i < w->n_rx; i++)
    if (w->rx[i].t == fb_at && !strcmp(w->rx[i].to, "10.0.0.2:5060"))
      un = &w->rx[i];
  assert_non_null(un);
  assert_true(has(un, "Expires: 0\r\n"));
  assert_true(has(un, ";expires=0\r\n"));
  wfree(w);
}

static void test_seed_3600_600(void **state) {
  (void)state;
  /* refresh due 2808 s, timeout 2824 s: backup at 2824, fallback at 3424 */
  seed_example("3600", "600", S(2824), S(3424), "fallback_interval");
}

static void test_seed_800_1000(void **state) {
  (void)state;
  /* refresh due 624 s, timeout 640 s: backup at 640, fallback at 1440 */
  seed_example("800", "1000", S(640), S(1440), "expiry");
}

/* R2: the outbound proxy is the first hop; Route and Request-URI. */
static void test_outbound_proxy(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "pbx.example.test");
  set(w, "Outbound_Proxy_1_", "10.0.0.5:5070");
  server(w, "10.0.0.5:5070", M_OK);
  start(w);
  rxrec *r = nth(w, "REGISTER", 0);
  assert_string_equal(r->to, "10.0.0.5:5070");
  assert_true(!strncmp(r->raw, "REGISTER sip:pbx.example.test SIP/2.0", 37));
  assert_true(has(r, "Route: <sip:10.0.0.5:5070;lr>\r\n"));
  assert_true(has(r, "To: <sip:1001@pbx.example.test>"));
  expect_ev(w, "0.000 registered 10.0.0.5:5070 expires=3600");
  wfree(w);
}

/* DNS through the public API: a query event, an answer, the REGISTER. */
static void test_dns(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "pbx.example.test");
  set(w, "Use_DNS_SRV_1_", "Yes");
  set(w, "DNS_SRV_Auto_Prefix_1_", "Yes");
  server(w, "10.0.0.7:5080", M_OK);
  start(w);
  expect_ev(w, "0.000 dns_query _sip._udp.pbx.example.test");
  assert_true(w->have_dns);
  assert_int_equal(w->last_dns.qtype, SIPLINE_DNS_SRV);
  sipline_dns_rr rr;
  memset(&rr, 0, sizeof rr);
  rr.type = SIPLINE_DNS_SRV;
  rr.port = 5080;
  snprintf(rr.target, sizeof rr.target, "10.0.0.7");
  w->now = 5;
  assert_int_equal(sipline_ua_dns_answer(w->ua, w->last_dns.id, &rr, 1, 5), 0);
  pump(w);
  assert_int_equal(sipline_ua_dns_answer(w->ua, 999, NULL, 0, 5),
                   SIPLINE_ERR_NOTFOUND);
  expect_ev(w, "0.005 registered 10.0.0.7:5080 expires=3600");
  wfree(w);
}

/* Keep-alive (off by default): OPTIONS on UDP; a dead server is noticed
 * after Keep Alive Fail Count probes instead of at the refresh. */
static void test_keepalive_udp(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1");
  set(w, "Keep_Alive_Intvl_1_", "60");
  set(w, "Keep_Alive_Fail_Count_1_", "2");
  server(w, "10.0.0.1:5060", M_OK);
  server(w, "10.0.0.2:5060", M_OK);
  start(w);
  run(w, S(130));
  rxrec *o = nth(w, "OPTIONS", 0);
  assert_non_null(o);
  assert_int_equal(o->t, S(60));
  assert_true(has(o, "OPTIONS sip:10.0.0.1:5060 SIP/2.0"));
  assert_int_equal(nth(w, "OPTIONS", 1)->t, S(120));
  server(w, "10.0.0.1:5060", M_SILENT);
  run(w, S(400));
  /* 180: silent probe, fails 196; 256: again, fails 272: failover */
  expect_ev(w, "196.000 keepalive 10.0.0.1:5060 state=failed");
  expect_ev(w, "272.000 keepalive 10.0.0.1:5060 state=failed");
  expect_ev(w, "272.000 server_down 10.0.0.1:5060 reason=keepalive");
  expect_ev(w, "272.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
               "reason=keepalive");
  expect_ev(w, "272.000 registered 10.0.0.2:5060 expires=3600");
  wfree(w);
}

/* TCP keep-alive: CRLFCRLF; no pong within 10 s counts as a failure. */
static void test_keepalive_tcp(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1");
  set(w, "SIP_Transport_1_", "TCP");
  set(w, "Keep_Alive_Intvl_1_", "30");
  set(w, "Keep_Alive_Fail_Count_1_", "1");
  server(w, "10.0.0.1:5060", M_OK);
  start(w);
  assert_int_equal(nth(w, "REGISTER", 0)->tp, SIPLINE_TP_TCP);
  assert_true(has(nth(w, "REGISTER", 0), ";transport=tcp>"));
  run(w, S(45));
  int pinged = 0;
  for (unsigned i = 0; i < w->n_rx; i++)
    if (w->rx[i].len == 4 && !memcmp(w->rx[i].raw, "\r\n\r\n", 4)) {
      assert_int_equal(w->rx[i].t, S(30));
      pinged = 1;
    }
  assert_true(pinged);
  expect_ev(w, "40.000 keepalive 10.0.0.1:5060 state=failed");
  expect_ev(w, "40.000 server_down 10.0.0.1:5060 reason=keepalive");
  wfree(w);
}

/* R5c on TCP: the connection drops while idle: failover without waiting
 * for the refresh. */
static void test_tcp_close_idle(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1");
  set(w, "SIP_Transport_1_", "TCP");
  server(w, "10.0.0.1:5060", M_OK);
  server(w, "10.0.0.2:5060", M_OK);
  start(w);
  w->now = S(100);
  sipline_path p;
  memset(&p, 0, sizeof p);
  p.tp = SIPLINE_TP_TCP;
  assert_int_equal(sipline__ip_parse("10.0.0.1", 8, &p.remote), 0);
  p.remote.port = 5060;
  /* Nothing in flight: an idle close (proxies do it on their own) is no
   * failure; the line re-registers over a new connection and stays. */
  unsigned before = w->n_rx;
  sipline_ua_transport_error(w->ua, &p, SIPLINE_TPERR_CLOSED, w->now);
  pump(w);
  expect_ev(w, "100.000 warning  reason=connection_closed");
  expect_ev(w, "100.000 registered 10.0.0.1:5060 expires=3600");
  assert_int_equal(w->n_rx, before + 1); /* one REGISTER, pre-authenticated */
  assert_string_equal(w->rx[before].to, "10.0.0.1:5060");
  assert_true(has(&w->rx[before], "Authorization: Digest"));
  sipline_line_status ls;
  sipline_ua_line_status(w->ua, 1, &ls);
  assert_true(ls.servers[0].up);
  assert_string_equal(ls.current, "10.0.0.1:5060");
  /* refresh restarted from the re-registration: 100 + 0.78 * 3600 */
  assert_int_equal(ls.next_refresh, S(100) + 3600 * 780);
  /* Closed again, and now the proxy is dead: the probe's connect is
   * refused and the line fails over at once (R5c). */
  server(w, "10.0.0.1:5060", M_REFUSE);
  w->now = S(200);
  sipline_ua_transport_error(w->ua, &p, SIPLINE_TPERR_CLOSED, w->now);
  pump(w);
  expect_ev(w, "200.000 warning  reason=connection_closed");
  expect_ev(w, "200.000 reg_failed 10.0.0.1:5060 reason=transport");
  expect_ev(w, "200.000 server_down 10.0.0.1:5060 reason=transport");
  expect_ev(w, "200.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
               "reason=transport");
  expect_ev(w, "200.000 registered 10.0.0.2:5060 expires=3600");
  wfree(w);
}

/* Shutdown: Expires: 0 for our Contact only; done once answered. */
static void test_shutdown(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1");
  server(w, "10.0.0.1:5060", M_OK);
  start(w);
  w->now = S(10);
  assert_int_equal(sipline_ua_shutdown(w->ua, w->now), 0);
  pump(w);
  assert_true(sipline_ua_is_shut_down(w->ua));
  rxrec *u = nth(w, "REGISTER", 2);
  assert_non_null(u);
  assert_true(has(u, "Expires: 0\r\n"));
  assert_false(has(u, "Contact: *"));
  expect_ev(w, "10.000 unregistered 10.0.0.1:5060 reason=shutdown");
  /* nothing of reg's is left armed once the transactions have ended */
  run(w, S(60));
  assert_int_equal(sipline_ua_next_deadline(w->ua), NONE);
  wfree(w);
}

/* A line whose proxy does not parse: a warning; the others still work. */
static void test_bad_line(void **state) {
  (void)state;
  world *w = wnew();
  set(w, "Proxy_1_", "10.0.0.1");
  set(w, "User_ID_2_", "1002");
  /* the profile reader may accept the string; the policy does not */
  sipline_profile_error e;
  if (sipline_profile_set(w->p, "Proxy_2_", "bad host:x", &e) != 0) {
    wfree(w);
    return; /* rejected earlier by the profile reader: also fine */
  }
  server(w, "10.0.0.1:5060", M_OK);
  start(w);
  expect_ev(w, "0.000 registered 10.0.0.1:5060 expires=3600");
  wfree(w);
}

/* Many lines with allocation failures: never crash, never leak. */
static unsigned fail_at, allocs;
static void *fmalloc(size_t n, void *u) {
  (void)u;
  if (++allocs == fail_at)
    return NULL;
  return malloc(n);
}
static void *fcalloc(size_t a, size_t b, void *u) {
  (void)u;
  if (++allocs == fail_at)
    return NULL;
  return calloc(a, b);
}
static void *frealloc(void *p, size_t n, void *u) {
  (void)u;
  if (++allocs == fail_at)
    return NULL;
  return realloc(p, n);
}
static void ffree(void *p, void *u) {
  (void)u;
  free(p);
}

static void test_alloc_failures(void **state) {
  (void)state;
  for (fail_at = 1; fail_at < 400; fail_at++) {
    world *w = wnew();
    set(w, "Proxy_1_", "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1");
    set(w, "Proxy_2_", "10.0.0.2");
    set(w, "User_ID_2_", "1002");
    set(w, "Password_2_", PASSWORD);
    server(w, "10.0.0.1:5060", M_OK);
    server(w, "10.0.0.2:5060", M_OK);
    sipline_mem mem = {.malloc = fmalloc, .free = ffree, .calloc = fcalloc,
                       .realloc = frealloc};
    sipline_settings st = {.profile = w->p, .seed = 7};
    const sipline__module *mods[] = {&sipline__reg_module};
    allocs = 0;
    if (sipline__ua_create(&w->ua, &st, &mem, NULL, mods, 1) == 0) {
      sipline_ua_start(w->ua, 0);
      pump(w);
      server(w, "10.0.0.1:5060", M_SILENT);
      run(w, S(3000));
      sipline_ua_shutdown(w->ua, w->now);
      pump(w);
    }
    wfree(w);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register_wire),
      cmocka_unit_test(test_proxy_auth_407),
      cmocka_unit_test(test_wrong_password),
      cmocka_unit_test(test_423),
      cmocka_unit_test(test_503_retry_after),
      cmocka_unit_test(test_timeout_failover),
      cmocka_unit_test(test_transport_failover),
      cmocka_unit_test(test_seed_3600_600),
      cmocka_unit_test(test_seed_800_1000),
      cmocka_unit_test(test_outbound_proxy),
      cmocka_unit_test(test_dns),
      cmocka_unit_test(test_keepalive_udp),
      cmocka_unit_test(test_keepalive_tcp),
      cmocka_unit_test(test_tcp_close_idle),
      cmocka_unit_test(test_shutdown),
      cmocka_unit_test(test_bad_line),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
