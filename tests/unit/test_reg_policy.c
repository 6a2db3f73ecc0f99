/*
 * tests/unit/test_reg_policy.c: the registration policy (src/reg/policy.c),
 * SPEC R1-R13, on a virtual clock against scripted servers.
 *
 * The harness plays the servers: a REGISTER to a server gets, according to
 * that server's script at that moment, a 2xx at once ("ok"), nothing and a
 * timeout Timer F later ("silent"), a transport error at once ("refuse"), or
 * a status at once ("reply:503"). Every request and event goes into one
 * text log ("2824.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout")
 * and the tests assert exact lines, in order.
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

#define NONE SIPLINE_TSTAMP_NONE
#define S(x) SIPLINE_SEC(x)
#define MAXLOG 4096

/* ------------------------------------------------------------------ */
/* Harness                                                              */

enum { B_OK = 1, B_SILENT, B_REFUSE, B_REPLY, B_MINEXP };
typedef struct step {
  double at;
  int kind;
  int code;
  uint32_t arg; /* ok-expires max, retry-after, min-expires */
  int has_arg;
} step;
typedef struct server {
  char name[48];
  step st[16];
  unsigned n;
} server;

typedef struct pend {
  sipline_tstamp t;
  uint32_t token;
  sipline__pol_res r;
} pend;

typedef struct h {
  sipline_profile p;
  sipline_line_cfg lc;
  sipline_rng rng;
  sipline__pol *pol;
  sipline__pol_ops ops;
  sipline_tstamp now;
  server srv[8];
  unsigned n_srv;
  pend pend[256];
  unsigned n_pend;
  char log[MAXLOG][160];
  unsigned n_log;
  unsigned cursor;
  /* DNS queries seen */
  unsigned q_id[32];
  int q_type[32];
  char q_name[32][160];
  unsigned n_q;
  int fail_send; /* make ops.send fail */
  int latency_ms;
  int tick_first; /* due timers before due results (the other order an
                     engine may play equal deadlines in) */
} h;

static void logf_(h *x, const char *fmt, ...) {
  va_list ap;
  char line[160];
  int o = snprintf(line, sizeof line, "%.3f ", (double)x->now / 1000.0);
  va_start(ap, fmt);
  vsnprintf(line + o, sizeof line - (size_t)o, fmt, ap);
  va_end(ap);
  assert_true(x->n_log < MAXLOG);
  strcpy(x->log[x->n_log++], line);
}

static void dump(const h *x) {
  for (unsigned i = 0; i < x->n_log; i++)
    fprintf(stderr, "  %s\n", x->log[i]);
}

static server *find_srv(h *x, const char *name) {
  for (unsigned i = 0; i < x->n_srv; i++)
    if (!strcmp(x->srv[i].name, name))
      return &x->srv[i];
  return NULL;
}

/* "0 ok; 100 silent; 2000 reply:503:retry-after=45" */
static void script(h *x, const char *name, const char *s) {
  server *v = find_srv(x, name);
  if (!v) {
    v = &x->srv[x->n_srv++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
  }
  v->n = 0;
  while (*s) {
    step *st = &v->st[v->n++];
    char what[64];
    int used = 0;
    memset(st, 0, sizeof *st);
    assert_int_equal(sscanf(s, " %lf %63[^;]%n", &st->at, what, &used), 2);
    s += used;
    if (*s == ';')
      s++;
    if (!strcmp(what, "ok")) {
      st->kind = B_OK;
    } else if (!strncmp(what, "ok-expires:", 11)) {
      st->kind = B_OK;
      st->arg = (uint32_t)atoi(what + 11);
      st->has_arg = 1;
    } else if (!strcmp(what, "silent")) {
      st->kind = B_SILENT;
    } else if (!strcmp(what, "refuse")) {
      st->kind = B_REFUSE;
    } else if (!strncmp(what, "min-expires:", 12)) {
      st->kind = B_MINEXP;
      st->arg = (uint32_t)atoi(what + 12);
    } else if (!strncmp(what, "reply:", 6)) {
      st->kind = B_REPLY;
      st->code = atoi(what + 6);
      const char *ra = strstr(what, "retry-after=");
      if (ra) {
        st->arg = (uint32_t)atoi(ra + 12);
        st->has_arg = 1;
      }
    } else {
      fail_msg("bad script step %s", what);
    }
  }
}

static const step *behaviour(h *x, const char *name) {
  server *v = find_srv(x, name);
  const step *b = NULL;
  if (!v)
    return NULL;
  for (unsigned i = 0; i < v->n; i++)
    if ((sipline_tstamp)(v->st[i].at * 1000.0 + 0.5) <= x->now)
      b = &v->st[i];
  return b;
}

static void push(h *x, sipline_tstamp t, uint32_t tok,
                 const sipline__pol_res *r) {
  assert_true(x->n_pend < 256);
  x->pend[x->n_pend].t = t;
  x->pend[x->n_pend].token = tok;
  x->pend[x->n_pend].r = *r;
  x->n_pend++;
}

static const char *slot_name(int slot) {
  switch (slot) {
  case SIPLINE__POL_REG: return "reg";
  case SIPLINE__POL_TRY: return "try";
  case SIPLINE__POL_ALT: return "alt";
  case SIPLINE__POL_UNREG: return "unreg";
  default: return "ka";
  }
}

/* A server's answer to a request at x->now. */
static void answer(h *x, const sipline__pol_req *rq) {
  const step *b = behaviour(x, rq->srv->name);
  sipline__pol_res r;
  memset(&r, 0, sizeof r);
  sipline_tstamp t = x->now + (sipline_tstamp)x->latency_ms;
  if (!b || b->kind == B_SILENT) {
    r.outcome = SIPLINE__POL_TIMEOUT;
    t = x->now + x->p.timer_f_ms;
  } else if (b->kind == B_REFUSE) {
    r.outcome = SIPLINE__POL_TRANSPORT;
  } else if (b->kind == B_REPLY) {
    r.outcome = SIPLINE__POL_STATUS;
    r.status = b->code;
    r.has_retry_after = (uint8_t)b->has_arg;
    r.retry_after = b->arg;
  } else if (b->kind == B_MINEXP && rq->expires && rq->expires < b->arg) {
    r.outcome = SIPLINE__POL_STATUS;
    r.status = 423;
    r.min_expires = b->arg;
  } else {
    r.outcome = SIPLINE__POL_OK;
    r.expires = rq->expires;
    if (b->has_arg && r.expires > b->arg)
      r.expires = b->arg;
  }
  push(x, t, rq->token, &r);
}

static int op_send(void *arg, const sipline__pol_req *rq, sipline_tstamp now) {
  h *x = arg;
  assert_int_equal(now, x->now);
  if (x->fail_send) {
    logf_(x, "tx-fail REGISTER %s", rq->srv->name);
    return SIPLINE_ERR_NOMEM;
  }
  logf_(x, "tx REGISTER %s exp=%u %s %s", rq->srv->name, rq->expires,
        slot_name(rq->slot), rq->why);
  answer(x, rq);
  return 0;
}

static int op_ka(void *arg, const sipline__pol_req *rq, sipline_tstamp now) {
  h *x = arg;
  (void)now;
  logf_(x, "tx KA %s", rq->srv->name);
  answer(x, rq);
  return 0;
}

static int op_dns(void *arg, unsigned qid, sipline_dns_qtype qt,
                  const char *name, sipline_tstamp now) {
  h *x = arg;
  (void)now;
  logf_(x, "dns %s %s",
        qt == SIPLINE_DNS_SRV     ? "SRV"
        : qt == SIPLINE_DNS_NAPTR ? "NAPTR"
        : qt == SIPLINE_DNS_AAAA  ? "AAAA"
                                  : "A",
        name);
  x->q_id[x->n_q] = qid;
  x->q_type[x->n_q] = qt;
  snprintf(x->q_name[x->n_q], sizeof x->q_name[0], "%s", name);
  x->n_q++;
  return 0;
}

static void fmt_retry(char *out, size_t cap, sipline_tstamp r) {
  if (r == NONE)
    snprintf(out, cap, "never");
  else
    snprintf(out, cap, "%.3f", (double)r / 1000.0);
}

static void op_event(void *arg, const sipline_event *ev) {
  h *x = arg;
  char rt[32];
  assert_int_equal(ev->t, x->now);
  assert_int_equal(ev->line, x->lc.n);
  switch (ev->type) {
  case SIPLINE_EV_REGISTERED:
    logf_(x, "registered %s expires=%u", ev->server, ev->expires);
    break;
  case SIPLINE_EV_UNREGISTERED:
    logf_(x, "unregistered %s reason=%s", ev->server, ev->reason);
    break;
  case SIPLINE_EV_REG_FAILED:
    fmt_retry(rt, sizeof rt, ev->retry_in);
    logf_(x, "reg_failed %s reason=%s retry_in=%s", ev->server, ev->reason,
          rt);
    break;
  case SIPLINE_EV_SERVER_DOWN:
    logf_(x, "server_down %s reason=%s", ev->server, ev->reason);
    break;
  case SIPLINE_EV_SERVER_UP:
    logf_(x, "server_up %s reason=%s", ev->server, ev->reason);
    break;
  case SIPLINE_EV_FAILOVER:
    logf_(x, "failover %s->%s reason=%s", ev->from, ev->to, ev->reason);
    break;
  case SIPLINE_EV_FALLBACK:
    logf_(x, "fallback %s->%s reason=%s", ev->from, ev->to, ev->reason);
    break;
  case SIPLINE_EV_WARNING:
    logf_(x, "warning reason=%s", ev->reason);
    break;
  case SIPLINE_EV_KEEPALIVE:
    logf_(x, "keepalive %s state=%s", ev->server, ev->state);
    break;
  default:
    logf_(x, "event %d", (int)ev->type);
  }
}

static void defaults(h *x) {
  sipline_profile *p = &x->p;
  memset(p, 0, sizeof *p);
  p->n_lines = 1;
  p->lines = &x->lc;
  p->reg_retry_intvl = 30;
  p->reg_retry_long_intvl = 1200;
  p->reg_min_expires = 1;
  p->reg_max_expires = 7200;
  p->t1_ms = 500;
  p->t2_ms = 4000;
  p->t4_ms = 5000;
  p->timer_b_ms = p->timer_f_ms = p->timer_h_ms = p->timer_d_ms =
      p->timer_j_ms = 16000;
  p->resync_from_sip = 1;
  memset(&x->lc, 0, sizeof x->lc);
  x->lc.n = 1;
  x->lc.reg = 1;
  x->lc.register_expires = 3600;
  x->lc.proxy_fallback_intvl = 3600;
  x->lc.auto_register_when_failover = 1;
  x->lc.transport = SIPLINE_TP_UDP;
  x->lc.sip_port = 5060;
  x->lc.auth_resync_reboot = 1;
  x->lc.keepalive_fail_count = 3;
  x->lc.user_id = "1001";
}

static h *hnew(void) {
  h *x = calloc(1, sizeof *x);
  assert_non_null(x);
  defaults(x);
  sipline_rng_seed(&x->rng, 1);
  x->ops.send = op_send;
  x->ops.keepalive = op_ka;
  x->ops.dns = op_dns;
  x->ops.event = op_event;
  return x;
}

static void hfree(h *x) {
  sipline__pol_del(x->pol);
  free(x);
}

/* Tests fill x->lc / x->p, then start. */
static void hstart(h *x) {
  assert_int_equal(sipline__pol_new(&x->pol, &x->p, &x->lc, &x->rng,
                                    sipline_mem_default(), &x->ops, x),
                   0);
  assert_int_equal(sipline__pol_start(x->pol, x->now), 0);
}

/* Delivers due results and ticks the policy until `until` (ms). */
static void run(h *x, sipline_tstamp until) {
  for (int guard = 0; guard < 1000000; guard++) {
    sipline_tstamp t = sipline__pol_next(x->pol);
    for (unsigned i = 0; i < x->n_pend; i++)
      if (x->pend[i].t < t)
        t = x->pend[i].t;
    if (t == NONE || t > until)
      break;
    assert_true(t >= x->now);
    x->now = t;
    if (x->tick_first && sipline__pol_next(x->pol) <= x->now)
      sipline__pol_tick(x->pol, x->now);
    /* results first, in the order they were produced */
    for (unsigned i = 0; i < x->n_pend;) {
      if (x->pend[i].t <= x->now) {
        pend p = x->pend[i];
        memmove(&x->pend[i], &x->pend[i + 1],
                (x->n_pend - i - 1) * sizeof(pend));
        x->n_pend--;
        sipline__pol_result(x->pol, p.token, &p.r, x->now);
        i = 0;
      } else {
        i++;
      }
    }
    if (sipline__pol_next(x->pol) <= x->now)
      sipline__pol_tick(x->pol, x->now);
  }
  if (until > x->now)
    x->now = until;
}

/* Asserts that line occurs after the previous expect_()'s match. */
static void expect_(h *x, const char *line, const char *file, int ln) {
  for (unsigned i = x->cursor; i < x->n_log; i++)
    if (!strcmp(x->log[i], line)) {
      x->cursor = i + 1;
      return;
    }
  fprintf(stderr, "%s:%d: expected (after line %u): %s\nlog:\n", file, ln,
          x->cursor, line);
  dump(x);
  fail();
}
#define expect(x, l) expect_((x), (l), __FILE__, __LINE__)

/* Asserts that no log line from the cursor on contains sub. */
static void expect_no_(h *x, const char *sub, const char *file, int ln) {
  for (unsigned i = x->cursor; i < x->n_log; i++)
    if (strstr(x->log[i], sub)) {
      fprintf(stderr, "%s:%d: unexpected: %s\nlog:\n", file, ln, x->log[i]);
      dump(x);
      fail();
    }
}
#define expect_no(x, s) expect_no_((x), (s), __FILE__, __LINE__)

/* Counts log lines containing sub. */
static unsigned count(const h *x, const char *sub) {
  unsigned n = 0;
  for (unsigned i = 0; i < x->n_log; i++)
    n += strstr(x->log[i], sub) != NULL;
  return n;
}

static void rsc(sipline_rsc *r, const char *s) {
  memset(r, 0, sizeof *r);
  while (*s) {
    while (*s == ',' || *s == ' ')
      s++;
    if (!*s)
      break;
    memcpy(r->pat[r->n++], s, 3);
    s += 3;
  }
}

#define P1 "10.0.0.1:5060"
#define P2 "10.0.0.2:5060"
#define P3 "10.0.0.3:5060"
#define TWO "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1"

/* ------------------------------------------------------------------ */
/* Pure helpers                                                         */

static void test_hops_parse(void **state) {
  (void)state;
  sipline__hop hp[8];
  const char *what;
  assert_int_equal(sipline__hops_parse("pbx.example.com", hp, 8, &what), 1);
  assert_string_equal(hp[0].host, "pbx.example.com");
  assert_int_equal(hp[0].port, 0);
  assert_false(hp[0].is_ip);

  assert_int_equal(sipline__hops_parse("10.0.0.1:5070", hp, 8, &what), 1);
  assert_true(hp[0].is_ip);
  assert_int_equal(hp[0].port, 5070);
  assert_int_equal(hp[0].a[0].family, 4);

  /* SPEC §1 static SRV list: host[:port][:p=prio][:weight][:A=ip,ip] */
  assert_int_equal(
      sipline__hops_parse("a.test:5060:p=0:10:A=1.1.1.1,1.1.1.2|"
                          "b.test:p=1:w=5|[2001:db8::1]:5062:p=2",
                          hp, 8, &what),
      3);
  assert_string_equal(hp[0].host, "a.test");
  assert_int_equal(hp[0].port, 5060);
  assert_int_equal(hp[0].prio, 0);
  assert_int_equal(hp[0].weight, 10);
  assert_int_equal(hp[0].n_a, 2);
  assert_int_equal(hp[0].a[1].ip[3], 2);
  assert_int_equal(hp[1].port, 0);
  assert_int_equal(hp[1].prio, 1);
  assert_int_equal(hp[1].weight, 5);
  assert_string_equal(hp[2].host, "2001:db8::1");
  assert_true(hp[2].is_ip);
  assert_int_equal(hp[2].port, 5062);
  assert_int_equal(hp[2].a[0].family, 6);
  /* whitespace around entries is trimmed */
  assert_int_equal(sipline__hops_parse(" a.test | b.test ", hp, 8, &what), 2);
  assert_string_equal(hp[1].host, "b.test");
  /* a bare IPv6 literal */
  assert_int_equal(sipline__hops_parse("::1", hp, 8, &what), 1);
  assert_true(hp[0].is_ip);

  const char *bad[] = {"",          "a.test:",       "a.test:99999",
                       "a.test:0",  "a.test:p=x",    "a.test:A=1.2.3",
                       "a b",       "a.test|",       "[::1",
                       "a.test:1:2:3", "a.test:zz",  "a.test:A=",
                       "a.test:p=1:p=2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    what = NULL;
    assert_int_equal(sipline__hops_parse(bad[i], hp, 8, &what),
                     SIPLINE_ERR_MALFORMED);
    assert_non_null(what);
  }
  /* more entries than room */
  assert_int_equal(sipline__hops_parse("a|b|c", hp, 2, &what),
                   SIPLINE_ERR_MALFORMED);
}

static void test_addr(void **state) {
  (void)state;
  sipline_addr a;
  char b[64];
  assert_int_equal(sipline__ip_parse("10.1.2.3", 8, &a), 0);
  a.port = 5060;
  sipline__addr_name(&a, b, sizeof b);
  assert_string_equal(b, "10.1.2.3:5060");
  const char *v6[][2] = {{"::1", "[::1]:5061"},
                         {"2001:db8::1", "[2001:db8::1]:5061"},
                         {"[fe80::]", "[fe80::]:5061"},
                         {"1:2:3:4:5:6:7:8", "[1:2:3:4:5:6:7:8]:5061"},
                         {"::ffff:1.2.3.4", "[::ffff:102:304]:5061"},
                         {"1:0:0:2:0:0:0:3", "[1:0:0:2::3]:5061"}};
  for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
    assert_int_equal(sipline__ip_parse(v6[i][0], strlen(v6[i][0]), &a), 0);
    a.port = 5061;
    sipline__addr_name(&a, b, sizeof b);
    assert_string_equal(b, v6[i][1]);
  }
  const char *bad[] = {"1.2.3",  "1.2.3.256", "1.2.3.4.5", "::1::", ":1",
                       "1:2:3:4:5:6:7:8:9", "01234::", "a.b.c.d", "[::1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sipline__ip_parse(bad[i], strlen(bad[i]), &a),
                     SIPLINE_ERR_MALFORMED);
}

static void test_rsc_and_refresh(void **state) {
  (void)state;
  sipline_rsc r;
  rsc(&r, "503,5??,6??");
  assert_true(sipline_rsc_match(&r, 503));
  assert_true(sipline_rsc_match(&r, 500));
  assert_true(sipline_rsc_match(&r, 604));
  assert_false(sipline_rsc_match(&r, 404));
  rsc(&r, "4?4");
  assert_true(sipline_rsc_match(&r, 404));
  assert_true(sipline_rsc_match(&r, 484));
  assert_false(sipline_rsc_match(&r, 403));
  rsc(&r, "");
  assert_false(sipline_rsc_match(&r, 503));
  /* R12 refresh: the earlier of 78 % and expiry - Timer F (16 s) */
  assert_int_equal(sipline__refresh_delay(3600, 16000), 2808000);
  assert_int_equal(sipline__refresh_delay(800, 16000), 624000);
  assert_int_equal(sipline__refresh_delay(60, 16000), 44000);
  assert_int_equal(sipline__refresh_delay(72, 16000), 56000);  /* equal */
  assert_int_equal(sipline__refresh_delay(16, 16000), 12480); /* 78 % only */
  assert_int_equal(sipline__refresh_delay(1, 16000), 780);
}

static void test_rfc2782(void **state) {
  (void)state;
  sipline_rng rng;
  unsigned idx[8];
  /* priorities first, stable with zero weights */
  uint16_t pr[] = {2, 0, 1, 0}, w0[] = {0, 0, 0, 0};
  sipline_rng_seed(&rng, 7);
  sipline__rfc2782_order(pr, w0, 4, &rng, idx);
  assert_int_equal(idx[0], 1);
  assert_int_equal(idx[1], 3);
  assert_int_equal(idx[2], 2);
  assert_int_equal(idx[3], 0);
  /* weights: 90/10 in one priority: the heavy one first about 90 % */
  uint16_t p2[] = {0, 0}, w2[] = {10, 90};
  unsigned first_heavy = 0;
  sipline_rng_seed(&rng, 1);
  for (int i = 0; i < 10000; i++) {
    sipline__rfc2782_order(p2, w2, 2, &rng, idx);
    first_heavy += idx[0] == 1;
    assert_int_not_equal(idx[0], idx[1]);
  }
  assert_in_range(first_heavy, 8700, 9300);
  /* the same seed gives the same order */
  uint16_t p3[] = {0, 0, 0, 1}, w3[] = {1, 2, 3, 4};
  unsigned a[4], b[4];
  sipline_rng_seed(&rng, 42);
  sipline__rfc2782_order(p3, w3, 4, &rng, a);
  sipline_rng_seed(&rng, 42);
  sipline__rfc2782_order(p3, w3, 4, &rng, b);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(a[3], 3);
}

/* ------------------------------------------------------------------ */
/* R1, R12: initial registration and refresh timing                     */

static void test_r1_initial_and_refresh(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  script(x, P1, "0 ok");
  hstart(x);
  run(x, S(6000));
  expect(x, "0.000 tx REGISTER 10.0.0.1:5060 exp=3600 try initial");
  expect(x, "0.000 registered 10.0.0.1:5060 expires=3600");
  expect(x, "2808.000 tx REGISTER 10.0.0.1:5060 exp=3600 reg refresh");
  expect(x, "2808.000 registered 10.0.0.1:5060 expires=3600");
  expect(x, "5616.000 tx REGISTER 10.0.0.1:5060 exp=3600 reg refresh");
  assert_int_equal(count(x, "tx REGISTER"), 3);
  assert_int_equal(sipline__pol_get_state(x->pol), SIPLINE__POLS_REGISTERED);
  assert_int_equal(sipline__pol_refresh_at(x->pol), S(5616 + 2808));
  assert_int_equal(sipline__pol_fallback_at(x->pol), NONE);
  const char *d;
  const sipline__srv *r = sipline__pol_route(x->pol, &d);
  assert_string_equal(r->name, P1);
  assert_string_equal(d, "10.0.0.1");
  hfree(x);
}

/* TLS default port 5061 and the Request-URI domain keeps an explicit port */
static void test_r1_default_ports(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.9";
  x->lc.transport = SIPLINE_TP_TLS;
  script(x, "10.0.0.9:5061", "0 ok");
  hstart(x);
  run(x, S(1));
  expect(x, "0.000 registered 10.0.0.9:5061 expires=3600");
  hfree(x);
  x = hnew();
  x->lc.proxy = "10.0.0.9:5070";
  hstart(x);
  assert_string_equal(sipline__pol_domain(x->pol), "10.0.0.9:5070");
  assert_string_equal(sipline__pol_server(x->pol, 0)->name, "10.0.0.9:5070");
  hfree(x);
}

/* ------------------------------------------------------------------ */
/* R11: the seed's two examples                                         */

/* Register Expires 3600 + Proxy Fallback Intvl 600: the fallback REGISTER
 * goes to the primary exactly 600 s after the backup registration. */
static void test_r11_seed_3600_600(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.register_expires = 3600;
  x->lc.proxy_fallback_intvl = 600;
  script(x, P1, "0 ok; 100 silent; 3000 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(5000));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=3600");
  /* the refresh at 2808 gets no answer: Timer F (16 s) later, failover */
  expect(x, "2808.000 tx REGISTER 10.0.0.1:5060 exp=3600 reg refresh");
  expect(x, "2824.000 reg_failed 10.0.0.1:5060 reason=timeout retry_in=0.000");
  expect(x, "2824.000 server_down 10.0.0.1:5060 reason=timeout");
  expect(x, "2824.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "2824.000 tx REGISTER 10.0.0.2:5060 exp=3600 try failover");
  expect(x, "2824.000 registered 10.0.0.2:5060 expires=3600");
  /* 2824 + 600 = 3424 */
  expect(x, "3424.000 server_up 10.0.0.1:5060 reason=fallback_interval");
  expect(x,
         "3424.000 fallback 10.0.0.2:5060->10.0.0.1:5060 "
         "reason=fallback_interval");
  expect(x, "3424.000 tx REGISTER 10.0.0.1:5060 exp=3600 try fallback");
  expect(x, "3424.000 registered 10.0.0.1:5060 expires=3600");
  /* the backup binding is removed (R11) */
  expect(x, "3424.000 tx REGISTER 10.0.0.2:5060 exp=0 unreg fallback");
  expect(x, "3424.000 unregistered 10.0.0.2:5060 reason=fallback");
  expect_no(x, "10.0.0.2:5060 exp=3600");
  assert_int_equal(sipline__pol_registered_at(x->pol), 0);
  assert_int_equal(sipline__pol_fallback_at(x->pol), NONE);
  assert_int_equal(count(x, "fallback 10.0.0.2"), 1);
  hfree(x);
}

/* Register Expires 800 + Proxy Fallback Intvl 1000: at 800 s (the expiry);
 * the refresh at the backup at 624 s does not restart the count. */
static void test_r11_seed_800_1000(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.register_expires = 800;
  x->lc.proxy_fallback_intvl = 1000;
  script(x, P1, "0 ok; 100 silent; 1000 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(3000));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=800");
  expect(x, "624.000 tx REGISTER 10.0.0.1:5060 exp=800 reg refresh");
  expect(x, "640.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "640.000 registered 10.0.0.2:5060 expires=800");
  /* 640 + 624: the backup refresh, which does not move the fallback */
  expect(x, "1264.000 tx REGISTER 10.0.0.2:5060 exp=800 reg refresh");
  /* 640 + 800 = 1440 */
  expect(x, "1440.000 server_up 10.0.0.1:5060 reason=expiry");
  expect(x, "1440.000 fallback 10.0.0.2:5060->10.0.0.1:5060 reason=expiry");
  expect(x, "1440.000 tx REGISTER 10.0.0.1:5060 exp=800 try fallback");
  expect(x, "1440.000 registered 10.0.0.1:5060 expires=800");
  expect(x, "1440.000 unregistered 10.0.0.2:5060 reason=fallback");
  expect(x, "2064.000 tx REGISTER 10.0.0.1:5060 exp=800 reg refresh");
  hfree(x);
}

/* A failed fallback leaves the line with the backup and restarts the count
 * from the failure; the backup keeps being refreshed meanwhile. */
static void test_r11_fallback_fails_restarts(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.register_expires = 3600;
  x->lc.proxy_fallback_intvl = 600;
  script(x, P1, "0 ok; 100 silent; 4100 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(5000));
  expect(x, "2824.000 registered 10.0.0.2:5060 expires=3600");
  expect(x, "3424.000 fallback 10.0.0.2:5060->10.0.0.1:5060 "
            "reason=fallback_interval");
  expect(x, "3424.000 tx REGISTER 10.0.0.1:5060 exp=3600 try fallback");
  /* still silent: timeout at 3440, back to the backup, next at 4040 */
  expect(x,
         "3440.000 reg_failed 10.0.0.1:5060 reason=timeout retry_in=600.000");
  expect(x, "3440.000 server_down 10.0.0.1:5060 reason=timeout");
  expect(x, "3440.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "4040.000 fallback 10.0.0.2:5060->10.0.0.1:5060 "
            "reason=fallback_interval");
  expect(x, "4040.000 tx REGISTER 10.0.0.1:5060 exp=3600 try fallback");
  expect(x, "4056.000 reg_failed 10.0.0.1:5060 reason=timeout "
            "retry_in=600.000");
  expect(x, "4656.000 registered 10.0.0.1:5060 expires=3600");
  expect(x, "4656.000 unregistered 10.0.0.2:5060 reason=fallback");
  hfree(x);
}

/* While the fallback REGISTER is out, new requests go to the primary; the
 * backup binding stays until the primary has answered 2xx. */
static void test_r11_route_during_fallback(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.proxy_fallback_intvl = 600;
  script(x, P1, "0 ok; 100 silent");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(3424));
  const sipline__srv *r = sipline__pol_route(x->pol, NULL);
  assert_string_equal(r->name, P1);
  assert_int_equal(sipline__pol_registered_at(x->pol), 1);
  run(x, S(3440));
  r = sipline__pol_route(x->pol, NULL);
  assert_string_equal(r->name, P2);
  hfree(x);
}

/* Proxy Fallback Intvl 0: never fall back; DOWN addresses stay in the
 * rotation (R6): after P1 fails the next in order is P2, DOWN or not. */
static void test_r6_pfi_zero_rotation(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1|10.0.0.3:5060:p=2";
  x->lc.proxy_fallback_intvl = 0;
  x->lc.register_expires = 600;
  script(x, P1, "0 ok; 100 silent");
  script(x, P2, "0 ok");
  script(x, P3, "0 ok");
  hstart(x);
  run(x, S(200));
  /* an INVITE to P2 timed out (P2 is not in use: only marked DOWN) */
  sipline_addr a;
  sipline__ip_parse("10.0.0.2", 8, &a);
  a.port = 5060;
  sipline__pol_server_failed(x->pol, &a, SIPLINE_TP_UDP, "timeout", x->now);
  run(x, S(3000));
  expect(x, "200.000 server_down 10.0.0.2:5060 reason=timeout");
  expect(x, "468.000 tx REGISTER 10.0.0.1:5060 exp=600 reg refresh");
  expect(x, "484.000 reg_failed 10.0.0.1:5060 reason=timeout "
            "retry_in=0.000");
  expect(x, "484.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "484.000 tx REGISTER 10.0.0.2:5060 exp=600 try failover");
  expect(x, "484.000 server_up 10.0.0.2:5060 reason=responded");
  expect(x, "484.000 registered 10.0.0.2:5060 expires=600");
  assert_int_equal(count(x, " fallback "), 0);
  assert_int_equal(sipline__pol_fallback_at(x->pol), NONE);
  assert_int_equal(sipline__pol_registered_at(x->pol), 1);
  hfree(x);
  /* the same with PFI != 0 skips the DOWN P2 and goes to P3 */
  x = hnew();
  x->lc.proxy = "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1|10.0.0.3:5060:p=2";
  x->lc.register_expires = 600;
  script(x, P1, "0 ok; 100 silent");
  script(x, P2, "0 ok");
  script(x, P3, "0 ok");
  hstart(x);
  run(x, S(200));
  sipline__pol_server_failed(x->pol, &a, SIPLINE_TP_UDP, "timeout", x->now);
  run(x, S(500));
  expect(x, "484.000 failover 10.0.0.1:5060->10.0.0.3:5060 reason=timeout");
  expect(x, "484.000 registered 10.0.0.3:5060 expires=600");
  hfree(x);
}

/* PFI 0: the rotation wraps to a DOWN primary at once (it failed before the
 * last success, not in this cycle); a whole cycle of failures waits. */
static void test_r6_pfi_zero_all_down(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1|10.0.0.3:5060:p=2";
  x->lc.proxy_fallback_intvl = 0;
  x->lc.register_expires = 600;
  script(x, P1, "0 ok; 100 silent; 500 ok; 2000 refuse");
  script(x, P2, "0 ok; 1000 refuse");
  script(x, P3, "0 ok; 1000 refuse");
  hstart(x);
  run(x, S(3000));
  expect(x, "484.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "1420.000 tx REGISTER 10.0.0.2:5060 exp=600 reg refresh");
  expect(x, "1420.000 failover 10.0.0.2:5060->10.0.0.3:5060 "
            "reason=transport");
  expect(x, "1420.000 reg_failed 10.0.0.3:5060 reason=transport "
            "retry_in=0.000");
  expect(x, "1420.000 failover 10.0.0.3:5060->10.0.0.1:5060 "
            "reason=transport");
  expect(x, "1420.000 tx REGISTER 10.0.0.1:5060 exp=600 try failover");
  expect(x, "1420.000 server_up 10.0.0.1:5060 reason=responded");
  expect(x, "1420.000 registered 10.0.0.1:5060 expires=600");
  /* at 1888 every address refuses: three failures in a row, then wait */
  expect(x, "2356.000 tx REGISTER 10.0.0.1:5060 exp=600 reg refresh");
  expect(x, "2356.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
            "reason=transport");
  expect(x, "2356.000 failover 10.0.0.2:5060->10.0.0.3:5060 "
            "reason=transport");
  expect(x, "2356.000 reg_failed 10.0.0.3:5060 reason=transport "
            "retry_in=30.000");
  expect(x, "2386.000 server_up 10.0.0.1:5060 reason=retry");
  expect(x, "2386.000 tx REGISTER 10.0.0.1:5060 exp=600 try retry");
  hfree(x);
}

/* PFI 0 with the line on a backup: no fallback, ever. */
static void test_r6_pfi_zero_no_fallback(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.proxy_fallback_intvl = 0;
  script(x, P1, "0 refuse; 10 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(20000));
  expect(x, "0.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=transport");
  expect(x, "0.000 registered 10.0.0.2:5060 expires=3600");
  expect_no(x, "10.0.0.1:5060 exp=");
  assert_int_equal(sipline__pol_registered_at(x->pol), 1);
  hfree(x);
}

/* Every address DOWN: wait Reg Retry Intvl, then from the top (R6, R12). */
static void test_r6_all_down_restart(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  script(x, P1, "0 silent; 100 ok");
  script(x, P2, "0 silent");
  hstart(x);
  run(x, S(200));
  expect(x, "0.000 tx REGISTER 10.0.0.1:5060 exp=3600 try initial");
  expect(x, "16.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "16.000 tx REGISTER 10.0.0.2:5060 exp=3600 try failover");
  expect(x, "32.000 reg_failed 10.0.0.2:5060 reason=timeout retry_in=30.000");
  expect(x, "32.000 server_down 10.0.0.2:5060 reason=timeout");
  expect(x, "62.000 server_up 10.0.0.1:5060 reason=retry");
  expect(x, "62.000 server_up 10.0.0.2:5060 reason=retry");
  expect(x, "62.000 tx REGISTER 10.0.0.1:5060 exp=3600 try retry");
  expect(x, "78.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "94.000 reg_failed 10.0.0.2:5060 reason=timeout retry_in=30.000");
  expect(x, "124.000 tx REGISTER 10.0.0.1:5060 exp=3600 try retry");
  expect(x, "124.000 registered 10.0.0.1:5060 expires=3600");
  hfree(x);
}

/* ------------------------------------------------------------------ */
/* R5, R9: what fails over                                              */

static void test_r5_r9_try_backup_rsc(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  rsc(&x->p.try_backup_rsc, "5??");
  script(x, P1, "0 reply:503");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(10));
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=status:503 "
            "retry_in=0.000");
  expect(x, "0.000 server_down 10.0.0.1:5060 reason=status:503");
  expect(x, "0.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
            "reason=status:503");
  expect(x, "0.000 registered 10.0.0.2:5060 expires=3600");
  hfree(x);
}

/* A code in neither list never moves the line: Long Intvl at the same
 * server (R9, R12). */
static void test_r9_other_code_stays(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  rsc(&x->p.try_backup_rsc, "5??");
  script(x, P1, "0 reply:403; 1000 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(1300));
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=status:403 "
            "retry_in=1200.000");
  expect(x, "1200.000 tx REGISTER 10.0.0.1:5060 exp=3600 try retry");
  expect(x, "1200.000 registered 10.0.0.1:5060 expires=3600");
  assert_int_equal(count(x, "10.0.0.2"), 0);
  assert_int_equal(count(x, "server_down"), 0);
  hfree(x);
}

/* Retry Reg RSC: the short interval, no failover (R9). */
static void test_r9_retry_reg_rsc(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  rsc(&x->p.retry_reg_rsc, "404");
  script(x, P1, "0 reply:404; 50 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(100));
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=status:404 "
            "retry_in=30.000");
  expect(x, "30.000 tx REGISTER 10.0.0.1:5060 exp=3600 try retry");
  expect(x, "30.000 reg_failed 10.0.0.1:5060 reason=status:404 "
            "retry_in=30.000");
  expect(x, "60.000 registered 10.0.0.1:5060 expires=3600");
  assert_int_equal(count(x, "10.0.0.2"), 0);
  hfree(x);
}

/* R5c: a transport error fails over at once. */
static void test_r5_transport(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  script(x, P1, "0 refuse");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(1));
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=0.000");
  expect(x, "0.000 server_down 10.0.0.1:5060 reason=transport");
  expect(x, "0.000 registered 10.0.0.2:5060 expires=3600");
  hfree(x);
}

/* R5 from another request (an INVITE timing out) with R7 = Yes: REGISTER
 * at the new server at once. */
static void test_r7_auto_register_yes(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  script(x, P1, "0 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(500));
  sipline_addr a;
  sipline__ip_parse("10.0.0.1", 8, &a);
  a.port = 5060;
  assert_int_equal(sipline__pol_server_failed(x->pol, &a, SIPLINE_TP_UDP,
                                              "timeout", x->now),
                   1);
  run(x, S(501));
  expect(x, "500.000 server_down 10.0.0.1:5060 reason=timeout");
  expect(x, "500.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "500.000 tx REGISTER 10.0.0.2:5060 exp=3600 try failover");
  expect(x, "500.000 registered 10.0.0.2:5060 expires=3600");
  assert_string_equal(sipline__pol_route(x->pol, NULL)->name, P2);
  /* fallback counted from 500: PFI 3600 < 3600? equal: interval */
  assert_int_equal(sipline__pol_fallback_at(x->pol), S(500 + 3600));
  hfree(x);
}

/* R7 = No: only the failed request moves; the registration follows at its
 * refresh time. */
static void test_r7_auto_register_no(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.auto_register_when_failover = 0;
  x->lc.proxy_fallback_intvl = 600;
  script(x, P1, "0 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(500));
  sipline_addr a;
  sipline__ip_parse("10.0.0.1", 8, &a);
  a.port = 5060;
  sipline__pol_server_failed(x->pol, &a, SIPLINE_TP_UDP, "timeout", x->now);
  run(x, S(3000));
  expect(x, "500.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect_no(x, "500.000 tx");
  assert_string_equal(sipline__pol_route(x->pol, NULL)->name, P2);
  /* the refresh (due at 2808) is the registration at the backup */
  expect(x, "2808.000 tx REGISTER 10.0.0.2:5060 exp=3600 try refresh");
  expect(x, "2808.000 registered 10.0.0.2:5060 expires=3600");
  assert_int_equal(sipline__pol_fallback_at(x->pol), S(2808 + 600));
  hfree(x);
}

/* ------------------------------------------------------------------ */
/* R12: retry intervals                                                 */

static void test_r12_doubling_cap(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->p.reg_retry_intvl_cap = 100;
  script(x, P1, "0 refuse");
  hstart(x);
  run(x, S(400));
  /* 30, 60, 100 (cap), 100 */
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=30.000");
  expect(x, "30.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=60.000");
  expect(x, "90.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=100.000");
  expect(x, "190.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=100.000");
  expect(x, "290.000 tx REGISTER 10.0.0.1:5060 exp=3600 try retry");
  hfree(x);
}

/* Without a cap, no doubling; the counter restarts after a success. */
static void test_r12_no_cap_and_reset(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.register_expires = 100;
  x->p.reg_retry_intvl_cap = 1000;
  script(x, P1, "0 refuse; 80 ok; 100 refuse");
  hstart(x);
  run(x, S(300));
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=30.000");
  expect(x, "30.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=60.000");
  expect(x, "90.000 registered 10.0.0.1:5060 expires=100");
  /* refresh at 90 + 78 = 168 refused: the doubling starts over at 30 */
  expect(x, "168.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=30.000");
  hfree(x);
  x = hnew();
  x->lc.proxy = "10.0.0.1";
  script(x, P1, "0 refuse");
  hstart(x);
  run(x, S(100));
  expect(x, "30.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=30.000");
  expect(x, "60.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=30.000");
  hfree(x);
}

/* Random delays: within [intvl, intvl + delay], repeatable by seed. */
static void test_r12_random_delay(void **state) {
  (void)state;
  sipline_tstamp first[2];
  for (int k = 0; k < 2; k++) {
    h *x = hnew();
    x->lc.proxy = "10.0.0.1";
    x->p.reg_retry_random_delay = 10;
    script(x, P1, "0 refuse");
    hstart(x);
    run(x, S(1000));
    sipline_tstamp prev = 0;
    unsigned n = 0;
    for (unsigned i = 0; i < x->n_log; i++) {
      double t;
      if (strstr(x->log[i], "tx REGISTER") &&
          sscanf(x->log[i], "%lf", &t) == 1) {
        sipline_tstamp ms = (sipline_tstamp)(t * 1000 + 0.5);
        if (n) {
          assert_in_range(ms - prev, S(30), S(40));
          if (n == 1)
            first[k] = ms;
        }
        prev = ms;
        n++;
      }
    }
    assert_true(n > 20);
    hfree(x);
  }
  assert_int_equal(first[0], first[1]);
  assert_int_not_equal(first[0], S(30)); /* the jitter did something */
}

/* Item 8: with Reg Retry Random Delay set, the failover REGISTER waits a
 * random 0..delay (requests move at once); many lines spread out. */
static void test_failover_spread(void **state) {
  (void)state;
  unsigned hist[11] = {0};
  for (unsigned seed = 1; seed <= 200; seed++) {
    h *x = hnew();
    sipline_rng_seed(&x->rng, seed);
    x->lc.proxy = TWO;
    x->p.reg_retry_random_delay = 10;
    script(x, P1, "0 silent");
    script(x, P2, "0 ok");
    hstart(x);
    run(x, S(16));
    expect(x, "16.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
    assert_string_equal(sipline__pol_route(x->pol, NULL)->name, P2);
    run(x, S(30));
    double t = -1;
    for (unsigned i = 0; i < x->n_log; i++)
      if (strstr(x->log[i], "tx REGISTER 10.0.0.2:5060 exp=3600 try failover"))
        sscanf(x->log[i], "%lf", &t);
    assert_true(t >= 16.0 && t <= 26.0);
    hist[(unsigned)(t - 16.0)]++;
    /* the fallback count starts at this line's own backup registration */
    sipline_tstamp tb = (sipline_tstamp)(t * 1000 + 0.5);
    assert_int_equal(sipline__pol_fallback_at(x->pol), tb + S(3600));
    hfree(x);
  }
  for (unsigned k = 0; k < 10; k++)
    assert_in_range(hist[k], 5, 40); /* about 20 per second, no spike */
  /* the default (0): at once, as R7 says */
  h *x = hnew();
  x->lc.proxy = TWO;
  script(x, P1, "0 silent");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(17));
  expect(x, "16.000 tx REGISTER 10.0.0.2:5060 exp=3600 try failover");
  hfree(x);
}

/* Long Intvl for other failures, with its random delay; 0 = stop. */
static void test_r12_long_and_stop(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->p.reg_retry_long_intvl = 0;
  script(x, P1, "0 reply:403");
  hstart(x);
  run(x, S(100000));
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=status:403 "
            "retry_in=never");
  assert_int_equal(count(x, "tx REGISTER"), 1);
  assert_int_equal(sipline__pol_get_state(x->pol), SIPLINE__POLS_STOPPED);
  assert_int_equal(sipline__pol_next(x->pol), NONE);
  hfree(x);
  x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->p.reg_retry_long_intvl = 100;
  x->p.reg_retry_long_random_delay = 5;
  script(x, P1, "0 reply:404");
  hstart(x);
  run(x, S(1000));
  double t = 0;
  for (unsigned i = 0, n = 0; i < x->n_log; i++)
    if (strstr(x->log[i], "tx REGISTER") && n++ == 1)
      sscanf(x->log[i], "%lf", &t);
  assert_true(t >= 100.0 && t <= 105.0);
  hfree(x);
}

/* 503 with Retry-After waits that long instead (single server). */
static void test_r12_retry_after(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  script(x, P1, "0 reply:503:retry-after=45; 10 ok");
  hstart(x);
  run(x, S(100));
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=status:503 "
            "retry_in=45.000");
  expect(x, "45.000 registered 10.0.0.1:5060 expires=3600");
  hfree(x);
  /* with Try Backup RSC 503 and no server left it is the wait as well */
  x = hnew();
  x->lc.proxy = TWO;
  rsc(&x->p.try_backup_rsc, "503");
  script(x, P1, "0 reply:503:retry-after=45");
  script(x, P2, "0 reply:503:retry-after=70");
  hstart(x);
  run(x, S(10));
  expect(x, "0.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
            "reason=status:503");
  expect(x, "0.000 reg_failed 10.0.0.2:5060 reason=status:503 "
            "retry_in=70.000");
  hfree(x);
}

/* 423: at once with Min-Expires; later refreshes keep it. */
static void test_r12_423(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.register_expires = 60;
  script(x, P1, "0 min-expires:300");
  hstart(x);
  run(x, S(400));
  expect(x, "0.000 tx REGISTER 10.0.0.1:5060 exp=60 try initial");
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=status:423 "
            "retry_in=0.000");
  expect(x, "0.000 tx REGISTER 10.0.0.1:5060 exp=300 try min_expires");
  expect(x, "0.000 registered 10.0.0.1:5060 expires=300");
  expect(x, "234.000 tx REGISTER 10.0.0.1:5060 exp=300 reg refresh");
  assert_int_equal(sipline__pol_req_expires(x->pol), 300);
  hfree(x);
}

/* Granted expiry clamped to Reg Min/Max Expires. */
static void test_r12_clamp(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.register_expires = 100000;
  script(x, P1, "0 ok");
  hstart(x);
  run(x, S(1));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=7200");
  assert_int_equal(sipline__pol_refresh_at(x->pol), 7200 * 780);
  hfree(x);
  x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->p.reg_min_expires = 120;
  script(x, P1, "0 ok-expires:30");
  hstart(x);
  run(x, S(1));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=120");
  /* 78 % = 93.6 s, 120 - 16 = 104: 93.6 */
  assert_int_equal(sipline__pol_refresh_at(x->pol), 93600);
  hfree(x);
}

/* A binding that lapses while retrying says so. */
static void test_r12_expired(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.register_expires = 100;
  script(x, P1, "0 ok; 50 reply:403");
  hstart(x);
  run(x, S(200));
  expect(x, "78.000 reg_failed 10.0.0.1:5060 reason=status:403 "
            "retry_in=1200.000");
  expect(x, "100.000 unregistered 10.0.0.1:5060 reason=expired");
  assert_int_equal(sipline__pol_registered_at(x->pol), -1);
  hfree(x);
}

/*
 * R12, found by fuzz_top_sim: a grant under 73 s is refreshed at expiry -
 * Timer F, so a silent proxy's timeout falls due at the very moment the
 * binding expires. Whichever of the two plays first, the refresh's timeout
 * must count (reg_failed, Reg Retry Intvl) and the line must register again
 * when the proxy is back. It once stayed "registering" forever: the expiry
 * forgot the refresh in flight and nothing was armed.
 */
static void test_r12_expiry_meets_timeout(void **state) {
  (void)state;
  for (int order = 0; order < 2; order++) {
    h *x = hnew();
    x->tick_first = order;
    x->lc.proxy = "10.0.0.1";
    x->lc.register_expires = 60;
    script(x, P1, "0 ok; 30 silent; 100 ok");
    hstart(x);
    run(x, S(400));
    expect(x, "0.000 registered 10.0.0.1:5060 expires=60");
    expect(x, "44.000 tx REGISTER 10.0.0.1:5060 exp=60 reg refresh");
    if (order)
      expect(x, "60.000 unregistered 10.0.0.1:5060 reason=expired");
    expect(x, "60.000 reg_failed 10.0.0.1:5060 reason=timeout "
              "retry_in=30.000");
    expect(x, "60.000 server_down 10.0.0.1:5060 reason=timeout");
    expect(x, "90.000 server_up 10.0.0.1:5060 reason=retry");
    expect(x, "90.000 tx REGISTER 10.0.0.1:5060 exp=60 try retry");
    expect(x, "106.000 reg_failed 10.0.0.1:5060 reason=timeout "
              "retry_in=30.000");
    expect(x, "136.000 tx REGISTER 10.0.0.1:5060 exp=60 try retry");
    expect(x, "136.000 registered 10.0.0.1:5060 expires=60");
    expect(x, "180.000 tx REGISTER 10.0.0.1:5060 exp=60 reg refresh");
    assert_int_equal(sipline__pol_get_state(x->pol),
                     SIPLINE__POLS_REGISTERED);
    hfree(x);
  }
}

/* The same with a grant shorter than Timer F (IT_GRANT=10 against
 * Kamailio): the refresh at 78 % (7.8 s) times out 16 s later, well after
 * the binding expired at 10 s; that late timeout still drives the retry. */
static void test_r12_timeout_after_expiry(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.register_expires = 10;
  script(x, P1, "0 ok; 5 silent; 40 ok");
  hstart(x);
  run(x, S(100));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=10");
  expect(x, "7.800 tx REGISTER 10.0.0.1:5060 exp=10 reg refresh");
  expect(x, "10.000 unregistered 10.0.0.1:5060 reason=expired");
  expect(x, "23.800 reg_failed 10.0.0.1:5060 reason=timeout "
            "retry_in=30.000");
  expect(x, "23.800 server_down 10.0.0.1:5060 reason=timeout");
  expect(x, "53.800 server_up 10.0.0.1:5060 reason=retry");
  expect(x, "53.800 tx REGISTER 10.0.0.1:5060 exp=10 try retry");
  expect(x, "53.800 registered 10.0.0.1:5060 expires=10");
  expect(x, "61.600 tx REGISTER 10.0.0.1:5060 exp=10 reg refresh");
  assert_int_equal(sipline__pol_get_state(x->pol),
                   SIPLINE__POLS_REGISTERED);
  hfree(x);
}

/*
 * A REGISTER superseded by a later decision (its server went DOWN through
 * another request, the line moved on) is no longer wanted: the client does
 * not answer its challenge (sipline__pol_wants), and a 2xx it gets anyway
 * leaves a binding that is removed at once (sipline__pol_stray), unless the
 * line wants to be at that server.
 */
static void test_r6_superseded_register(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  script(x, P1, "0 silent");
  script(x, P2, "0 ok");
  hstart(x);
  expect(x, "0.000 tx REGISTER 10.0.0.1:5060 exp=3600 try initial");
  assert_int_equal(x->n_pend, 1);
  uint32_t first = x->pend[0].token;
  assert_true(sipline__pol_wants(x->pol, first));
  run(x, S(5));
  /* an INVITE to the primary timed out meanwhile */
  sipline_addr a1 = sipline__pol_server(x->pol, 0)->addr;
  assert_int_equal(sipline__pol_server_failed(x->pol, &a1, SIPLINE_TP_UDP,
                                              "timeout", x->now),
                   1);
  expect(x, "5.000 server_down 10.0.0.1:5060 reason=timeout");
  expect(x, "5.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  assert_false(sipline__pol_wants(x->pol, first));
  assert_false(sipline__pol_wants(x->pol, 0));
  /* the primary answers the superseded REGISTER with 200 at 6 s */
  run(x, S(6));
  expect(x, "5.000 registered 10.0.0.2:5060 expires=3600");
  sipline__pol_stray(x->pol, sipline__pol_server(x->pol, 0), x->now);
  expect(x, "6.000 tx REGISTER 10.0.0.1:5060 exp=0 unreg stray");
  /* the removal is a request the line waits for */
  assert_true(sipline__pol_wants(x->pol, x->pend[x->n_pend - 1].token));
  /* a 2xx from where the line is (the UP current server) stays */
  unsigned before = x->n_log;
  sipline__pol_stray(x->pol, sipline__pol_server(x->pol, 1), x->now);
  assert_int_equal(x->n_log, before);
  run(x, S(30));
  /* the stale timeout of the first REGISTER (16 s) changes nothing */
  expect_no(x, "reg_failed");
  expect(x, "22.000 unregistered 10.0.0.1:5060 reason=stray");
  assert_int_equal(sipline__pol_registered_at(x->pol), 1);
  assert_int_equal(sipline__pol_get_state(x->pol), SIPLINE__POLS_REGISTERED);
  hfree(x);
}

/*
 * R5c and idle TCP closes: a close with nothing of the line in flight is
 * probed with a re-REGISTER to the same server (over a new connection);
 * only that REGISTER's failure fails over: refused at once, silence after
 * Timer F. A close with a REGISTER in flight is left to that REGISTER
 * (the engine has failed it already: R5c at once).
 */
static void test_r5c_idle_close(void **state) {
  (void)state;
  /* the proxy is alive: re-registered, no failover */
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.transport = SIPLINE_TP_TCP;
  x->lc.register_expires = 3600;
  script(x, P1, "0 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(120));
  sipline_addr a1 = sipline__pol_server(x->pol, 0)->addr;
  sipline_addr a2 = sipline__pol_server(x->pol, 1)->addr;
  assert_int_equal(
      sipline__pol_conn_closed(x->pol, &a1, SIPLINE_TP_TCP, x->now), 1);
  run(x, S(121));
  expect(x, "120.000 warning reason=connection_closed");
  expect(x, "120.000 tx REGISTER 10.0.0.1:5060 exp=3600 reg "
            "connection_closed");
  expect(x, "120.000 registered 10.0.0.1:5060 expires=3600");
  expect_no(x, "failover");
  assert_int_equal(sipline__pol_refresh_at(x->pol), S(120) + 3600 * 780);
  /* a close of a server the line does not use changes nothing */
  unsigned before = x->n_log;
  assert_int_equal(
      sipline__pol_conn_closed(x->pol, &a2, SIPLINE_TP_TCP, x->now), 1);
  assert_int_equal(x->n_log, before);
  hfree(x);

  /* the proxy is dead (refuses): failover at once */
  x = hnew();
  x->lc.proxy = TWO;
  x->lc.transport = SIPLINE_TP_TCP;
  script(x, P1, "0 ok; 100 refuse");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(120));
  a1 = sipline__pol_server(x->pol, 0)->addr;
  sipline__pol_conn_closed(x->pol, &a1, SIPLINE_TP_TCP, x->now);
  run(x, S(121));
  expect(x, "120.000 warning reason=connection_closed");
  expect(x, "120.000 tx REGISTER 10.0.0.1:5060 exp=3600 reg "
            "connection_closed");
  expect(x, "120.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=0.000");
  expect(x, "120.000 server_down 10.0.0.1:5060 reason=transport");
  expect(x, "120.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
            "reason=transport");
  expect(x, "120.000 registered 10.0.0.2:5060 expires=3600");
  /* R11: fallback counted from the backup registration */
  assert_int_equal(sipline__pol_fallback_at(x->pol), S(120) + S(3600));
  hfree(x);

  /* the proxy is silent: failover after Timer F */
  x = hnew();
  x->lc.proxy = TWO;
  x->lc.transport = SIPLINE_TP_TCP;
  script(x, P1, "0 ok; 100 silent");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(120));
  a1 = sipline__pol_server(x->pol, 0)->addr;
  sipline__pol_conn_closed(x->pol, &a1, SIPLINE_TP_TCP, x->now);
  /* a second close while the probe is in flight sends nothing more */
  sipline__pol_conn_closed(x->pol, &a1, SIPLINE_TP_TCP, x->now);
  run(x, S(200));
  assert_int_equal(count(x, "connection_closed"), 2); /* warning + tx */
  expect(x, "136.000 reg_failed 10.0.0.1:5060 reason=timeout "
            "retry_in=0.000");
  expect(x, "136.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=timeout");
  expect(x, "136.000 registered 10.0.0.2:5060 expires=3600");
  hfree(x);
}

/* ------------------------------------------------------------------ */
/* R13: fallback waits for the line to be idle                          */

static void test_r13_fallback_waits_for_calls(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.proxy_fallback_intvl = 600;
  script(x, P1, "0 refuse; 100 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(500));
  sipline__pol_set_calls(x->pol, 1, x->now);
  run(x, S(700));
  expect(x, "600.000 warning reason=fallback_deferred");
  expect_no(x, "fallback 10.0.0.2");
  sipline_line_status st;
  memset(&st, 0, sizeof st);
  sipline__pol_status(x->pol, &st);
  assert_int_equal(st.fallback_at, S(600));
  assert_int_equal(st.calls, 1);
  /* the call ends at 750: fallback then */
  run(x, S(750));
  sipline__pol_set_calls(x->pol, 0, x->now);
  run(x, S(800));
  expect(x, "750.000 fallback 10.0.0.2:5060->10.0.0.1:5060 "
            "reason=fallback_interval");
  expect(x, "750.000 registered 10.0.0.1:5060 expires=3600");
  hfree(x);
}

/* ------------------------------------------------------------------ */
/* R3, R4: alternate proxy and dual registration                       */

static void test_r3_alternate_ignored(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.alt_proxy = "10.0.0.2";
  script(x, P1, "0 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(10000));
  assert_int_equal(count(x, "10.0.0.2"), 0);
  assert_null(sipline__pol_route_alt(x->pol, NULL));
  hfree(x);
}

static void test_r4_dual(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.alt_proxy = "10.0.0.2";
  x->lc.dual_registration = 1;
  x->lc.register_expires = 600;
  script(x, P1, "0 ok; 1000 silent; 2000 ok");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(10));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=600");
  expect(x, "0.000 registered 10.0.0.2:5060 expires=600");
  assert_true(sipline__pol_alt_registered(x->pol));
  const char *d;
  assert_string_equal(sipline__pol_route(x->pol, &d)->name, P1);
  assert_string_equal(sipline__pol_route_alt(x->pol, &d)->name, P2);
  assert_string_equal(d, "10.0.0.2");
  run(x, S(1500));
  /* both refreshed every 468 s */
  expect(x, "468.000 tx REGISTER 10.0.0.1:5060 exp=600 reg refresh");
  expect(x, "468.000 tx REGISTER 10.0.0.2:5060 exp=600 alt refresh");
  /* 1404 refresh of the primary times out at 1420: requests go to the
   * alternate while the primary registration fails */
  expect(x, "1420.000 reg_failed 10.0.0.1:5060 reason=timeout "
            "retry_in=30.000");
  expect(x, "1420.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
            "reason=timeout");
  assert_string_equal(sipline__pol_route(x->pol, NULL)->name, P2);
  run(x, S(2100));
  /* retried every 30 s + Timer F; said once, not at every retry */
  assert_int_equal(count(x, "failover"), 1);
  expect(x, "2002.000 tx REGISTER 10.0.0.1:5060 exp=600 try retry");
  expect(x, "2002.000 registered 10.0.0.1:5060 expires=600");
  expect(x, "2002.000 fallback 10.0.0.2:5060->10.0.0.1:5060 "
            "reason=registered");
  assert_string_equal(sipline__pol_route(x->pol, NULL)->name, P1);
  /* the alternate binding was never removed */
  assert_int_equal(count(x, "unreg"), 0);
  assert_true(sipline__pol_alt_registered(x->pol));
  hfree(x);
}

static void test_r4_dual_tcp_warns(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.alt_proxy = "10.0.0.2";
  x->lc.dual_registration = 1;
  x->lc.transport = SIPLINE_TP_TCP;
  script(x, P1, "0 ok");
  hstart(x);
  run(x, S(10));
  expect(x, "0.000 warning reason=dual_registration_udp_only");
  assert_int_equal(count(x, "10.0.0.2"), 0);
  assert_null(sipline__pol_route_alt(x->pol, NULL));
  hfree(x);
}

/* R2: the outbound proxy is the first hop, the Request-URI names the
 * proxy's domain. */
static void test_r2_outbound(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "pbx.example.test";
  x->lc.outbound_proxy = "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1";
  script(x, P1, "0 ok");
  hstart(x);
  run(x, S(1));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=3600");
  const char *d;
  assert_string_equal(sipline__pol_route(x->pol, &d)->name, P1);
  assert_string_equal(d, "pbx.example.test");
  assert_int_equal(count(x, "dns"), 0);
  hfree(x);
}

/* ------------------------------------------------------------------ */
/* DNS (RFC 3263, RFC 2782)                                              */

static void answer_srv(h *x, unsigned q, const char *recs) {
  sipline_dns_rr rr[8];
  size_t n = 0;
  memset(rr, 0, sizeof rr);
  while (*recs) {
    unsigned p, w, port;
    char tgt[128];
    int used;
    assert_int_equal(sscanf(recs, " %u %u %u %127[^;]%n", &p, &w, &port, tgt,
                            &used),
                     4);
    rr[n].type = SIPLINE_DNS_SRV;
    rr[n].priority = (uint16_t)p;
    rr[n].weight = (uint16_t)w;
    rr[n].port = (uint16_t)port;
    snprintf(rr[n].target, sizeof rr[n].target, "%s", tgt);
    n++;
    recs += used;
    if (*recs == ';')
      recs++;
  }
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[q], rr, n, x->now),
                   1);
}

static void answer_a_ttl(h *x, unsigned q, const char *ips, uint32_t ttl);
static void answer_a(h *x, unsigned q, const char *ips) {
  answer_a_ttl(x, q, ips, 0);
}

static void answer_a_ttl(h *x, unsigned q, const char *ips, uint32_t ttl) {
  sipline_dns_rr rr[8];
  size_t n = 0;
  memset(rr, 0, sizeof rr);
  while (*ips) {
    char ip[64];
    int used;
    assert_int_equal(sscanf(ips, " %63[^, ]%n", ip, &used), 1);
    rr[n].type = SIPLINE_DNS_A;
    rr[n].ttl = ttl;
    assert_int_equal(sipline__ip_parse(ip, strlen(ip), &rr[n].addr), 0);
    n++;
    ips += used;
    while (*ips == ',' || *ips == ' ')
      ips++;
  }
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[q], rr, n, x->now),
                   1);
}

static void test_dns_srv(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "sip.example.test";
  x->lc.use_dns_srv = 1;
  x->lc.dns_srv_auto_prefix = 1;
  script(x, "10.0.0.2:5070", "0 ok");
  hstart(x);
  expect(x, "0.000 dns SRV _sip._udp.sip.example.test");
  assert_int_equal(sipline__pol_get_state(x->pol), SIPLINE__POLS_RESOLVING);
  /* stale and foreign ids are refused */
  assert_int_equal(sipline__pol_dns_answer(x->pol, 999, NULL, 0, 0), 0);
  answer_srv(x, 0, "1 1 5060 10.0.0.1; 0 1 5070 b.example.test");
  expect(x, "0.000 dns A b.example.test");
  answer_a(x, 1, "10.0.0.2, 10.0.0.3");
  run(x, S(1));
  /* priority 0 first (its two A addresses in order), then priority 1 */
  assert_int_equal(sipline__pol_n_servers(x->pol), 3);
  assert_string_equal(sipline__pol_server(x->pol, 0)->name, "10.0.0.2:5070");
  assert_string_equal(sipline__pol_server(x->pol, 0)->host, "b.example.test");
  assert_string_equal(sipline__pol_server(x->pol, 1)->name, "10.0.0.3:5070");
  assert_string_equal(sipline__pol_server(x->pol, 2)->name, "10.0.0.1:5060");
  assert_null(sipline__pol_server(x->pol, 2)->host);
  expect(x, "0.000 registered 10.0.0.2:5070 expires=3600");
  assert_string_equal(sipline__pol_domain(x->pol), "sip.example.test");
  hfree(x);
}

/* No SRV records: the A records of the name (RFC 3263 §4.2); a name with
 * a port goes straight to A; a failed lookup is reported and retried. */
static void test_dns_fallbacks(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "sip.example.test";
  x->lc.use_dns_srv = 1; /* no auto prefix: the name as written */
  script(x, P1, "0 ok");
  hstart(x);
  expect(x, "0.000 dns SRV sip.example.test");
  answer_srv(x, 0, "");
  expect(x, "0.000 dns A sip.example.test");
  answer_a(x, 1, "10.0.0.1");
  run(x, S(1));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=3600");
  hfree(x);

  x = hnew();
  x->lc.proxy = "sip.example.test:5060";
  x->lc.use_dns_srv = 1;
  hstart(x);
  expect(x, "0.000 dns A sip.example.test");
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[0], NULL, 0, 0), 1);
  expect(x, "0.000 dns AAAA sip.example.test");
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[1], NULL, 0, 0), 1);
  expect(x, "0.000 reg_failed sip.example.test reason=dns retry_in=30.000");
  run(x, S(30));
  expect(x, "30.000 dns A sip.example.test");
  script(x, P1, "0 ok");
  answer_a(x, 2, "10.0.0.1");
  run(x, S(31));
  expect(x, "30.000 registered 10.0.0.1:5060 expires=3600");
  hfree(x);
}

/*
 * DNS TTLs (issue 10 item 9): the list is resolved again at the first
 * REGISTER after its TTL; that REGISTER and the ones until the answer
 * still use the old list; the same addresses change nothing; other
 * addresses replace the list and move the line.
 */
static void test_dns_ttl(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "sip.example.test";
  script(x, P1, "0 ok");
  script(x, P2, "0 ok");
  hstart(x);
  expect(x, "0.000 dns A sip.example.test");
  answer_a_ttl(x, 0, "10.0.0.1", 1000);
  run(x, S(2807));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=3600");
  assert_int_equal(x->n_q, 1); /* not before a REGISTER after 1000 s */
  run(x, S(2808) - 1);
  /* The refresh at 78 % of 3600 s: sent with the list in use, then the
   * name is asked for again. */
  x->now = S(2808);
  sipline__pol_tick(x->pol, x->now);
  expect(x, "2808.000 tx REGISTER 10.0.0.1:5060 exp=3600 reg refresh");
  expect(x, "2808.000 dns A sip.example.test");
  assert_int_equal(x->n_q, 2);
  assert_int_equal(sipline__pol_get_state(x->pol), SIPLINE__POLS_REGISTERED);
  /* Until the answer, requests go where they went. */
  const char *d;
  assert_string_equal(sipline__pol_route(x->pol, &d)->name, P1);
  run(x, S(2808)); /* the refresh's 200 */
  expect(x, "2808.000 registered 10.0.0.1:5060 expires=3600");
  /* The same address again (TTL 100): nothing moves. */
  answer_a_ttl(x, 1, "10.0.0.1", 100);
  expect_no(x, "dns_changed");
  assert_int_equal(sipline__pol_n_servers(x->pol), 1);
  assert_string_equal(sipline__pol_route(x->pol, &d)->name, P1);
  /* The next refresh (5616 s) is after 2808 + 100: asked again, and now the
   * name has moved to 10.0.0.2 (TTL 0). */
  run(x, S(5616));
  expect(x, "5616.000 tx REGISTER 10.0.0.1:5060 exp=3600 reg refresh");
  expect(x, "5616.000 dns A sip.example.test");
  assert_int_equal(x->n_q, 3);
  answer_a_ttl(x, 2, "10.0.0.2", 0);
  expect(x, "5616.000 warning reason=dns_changed");
  expect(x, "5616.000 tx REGISTER 10.0.0.2:5060 exp=3600 try dns");
  assert_int_equal(sipline__pol_n_servers(x->pol), 1);
  assert_string_equal(sipline__pol_server(x->pol, 0)->name, P2);
  assert_string_equal(sipline__pol_route(x->pol, &d)->name, P2);
  /* TTL 0: used once; the REGISTER that used it asked again at once. */
  expect(x, "5616.000 dns A sip.example.test");
  assert_int_equal(x->n_q, 4);
  run(x, S(5617));
  expect(x, "5616.000 registered 10.0.0.2:5060 expires=3600");
  /* The dropped refresh to 10.0.0.1 is not the binding any more. */
  expect_no(x, "registered 10.0.0.1");
  sipline__pol_release(x->pol); /* nothing in flight: the old list goes */
  hfree(x);
}

/* A TTL under SIPLINE_DNS_TTL_MIN counts as the minimum: refreshes every
 * 24 s (Register Expires 40, Timer F 16) ask again only once 30 s have
 * passed; an answer that does not come back keeps the old list. */
static void test_dns_ttl_floor(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "sip.example.test";
  x->lc.register_expires = 40;
  x->p.reg_min_expires = 1;
  script(x, P1, "0 ok");
  hstart(x);
  answer_a_ttl(x, 0, "10.0.0.1", 5);
  run(x, S(25));
  expect(x, "0.000 registered 10.0.0.1:5060 expires=40");
  expect(x, "24.000 tx REGISTER 10.0.0.1:5060 exp=40 reg refresh");
  assert_int_equal(x->n_q, 1); /* 24 s < 30 s */
  run(x, S(49));
  expect(x, "48.000 tx REGISTER 10.0.0.1:5060 exp=40 reg refresh");
  expect(x, "48.000 dns A sip.example.test");
  assert_int_equal(x->n_q, 2);
  /* NXDOMAIN now (A, then AAAA): the last answer stays, asked again at a
   * REGISTER 30 s later. */
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[1], NULL, 0,
                                           x->now),
                   1);
  expect(x, "49.000 dns AAAA sip.example.test");
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[2], NULL, 0,
                                           x->now),
                   1);
  expect(x, "49.000 warning reason=dns_stale");
  assert_string_equal(sipline__pol_server(x->pol, 0)->name, P1);
  run(x, S(73));
  expect(x, "72.000 registered 10.0.0.1:5060 expires=40");
  assert_int_equal(x->n_q, 3); /* the refresh at 72 s: 72 < 49 + 30 */
  run(x, S(97));
  expect(x, "96.000 dns A sip.example.test");
  assert_int_equal(x->n_q, 4);
  expect_no(x, "reg_failed");
  hfree(x);
}

/* A name with no A record: its AAAA records. */
static void test_dns_aaaa(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "v6.example.test:5062";
  script(x, "[2001:db8::5]:5062", "0 ok");
  hstart(x);
  expect(x, "0.000 dns A v6.example.test");
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[0], NULL, 0, 0), 1);
  expect(x, "0.000 dns AAAA v6.example.test");
  sipline_dns_rr rr;
  memset(&rr, 0, sizeof rr);
  rr.type = SIPLINE_DNS_AAAA;
  assert_int_equal(sipline__ip_parse("2001:db8::5", 11, &rr.addr), 0);
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[1], &rr, 1, 0), 1);
  run(x, S(1));
  expect(x, "0.000 registered [2001:db8::5]:5062 expires=3600");
  assert_string_equal(sipline__pol_domain(x->pol), "v6.example.test:5062");
  hfree(x);
}

static void test_dns_naptr(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "example.test";
  x->lc.transport = SIPLINE_TP_AUTO;
  hstart(x);
  expect(x, "0.000 dns NAPTR example.test");
  sipline_dns_rr rr[3];
  memset(rr, 0, sizeof rr);
  rr[0].type = rr[1].type = rr[2].type = SIPLINE_DNS_NAPTR;
  rr[0].priority = 20;
  snprintf(rr[0].service, sizeof rr[0].service, "SIP+D2U");
  snprintf(rr[0].target, sizeof rr[0].target, "_sip._udp.example.test");
  rr[1].priority = 10;
  snprintf(rr[1].service, sizeof rr[1].service, "SIP+D2T");
  snprintf(rr[1].target, sizeof rr[1].target, "_sip._tcp.example.test");
  rr[2].priority = 5;
  snprintf(rr[2].service, sizeof rr[2].service, "SIP+D2X");
  snprintf(rr[2].target, sizeof rr[2].target, "_x.example.test");
  assert_int_equal(sipline__pol_dns_answer(x->pol, x->q_id[0], rr, 3, 0), 1);
  expect(x, "0.000 dns SRV _sip._tcp.example.test");
  answer_srv(x, 1, "0 0 5060 10.0.0.1");
  assert_int_equal(sipline__pol_server(x->pol, 0)->tp, SIPLINE_TP_TCP);
  hfree(x);
}

/* ------------------------------------------------------------------ */
/* Keep-alive (item 7), shutdown, local failures                        */

static void test_keepalive(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.keepalive_intvl = 30;
  x->lc.keepalive_fail_count = 2;
  script(x, P1, "0 ok; 100 silent");
  script(x, P2, "0 ok");
  hstart(x);
  run(x, S(300));
  expect(x, "30.000 tx KA 10.0.0.1:5060");
  expect(x, "90.000 tx KA 10.0.0.1:5060");
  /* 120: first silent probe; fails at 136; the second at 166 fails at 182 */
  expect(x, "120.000 tx KA 10.0.0.1:5060");
  expect(x, "136.000 keepalive 10.0.0.1:5060 state=failed");
  expect(x, "166.000 tx KA 10.0.0.1:5060");
  expect(x, "182.000 keepalive 10.0.0.1:5060 state=failed");
  expect(x, "182.000 server_down 10.0.0.1:5060 reason=keepalive");
  expect(x, "182.000 failover 10.0.0.1:5060->10.0.0.2:5060 "
            "reason=keepalive");
  expect(x, "182.000 registered 10.0.0.2:5060 expires=3600");
  expect(x, "212.000 tx KA 10.0.0.2:5060");
  hfree(x);
  /* off by default */
  x = hnew();
  x->lc.proxy = "10.0.0.1";
  script(x, P1, "0 ok");
  hstart(x);
  run(x, S(3000));
  assert_int_equal(count(x, "KA"), 0);
  hfree(x);
}

static void test_shutdown(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1";
  x->lc.alt_proxy = "10.0.0.2";
  x->lc.dual_registration = 1;
  script(x, P1, "0 ok");
  script(x, P2, "0 silent");
  hstart(x);
  run(x, S(100));
  script(x, P2, "0 ok");
  run(x, S(200));
  assert_false(sipline__pol_is_shut_down(x->pol));
  x->latency_ms = 20;
  assert_int_equal(sipline__pol_shutdown(x->pol, x->now), 0);
  expect(x, "200.000 tx REGISTER 10.0.0.1:5060 exp=0 unreg shutdown");
  expect(x, "200.000 tx REGISTER 10.0.0.2:5060 exp=0 unreg shutdown");
  assert_false(sipline__pol_is_shut_down(x->pol));
  assert_int_equal(sipline__pol_get_state(x->pol), SIPLINE__POLS_SHUTDOWN);
  run(x, S(201));
  expect(x, "200.020 unregistered 10.0.0.1:5060 reason=shutdown");
  expect(x, "200.020 unregistered 10.0.0.2:5060 reason=shutdown");
  assert_true(sipline__pol_is_shut_down(x->pol));
  assert_int_equal(sipline__pol_next(x->pol), NONE);
  hfree(x);
}

static void test_local_send_failure(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  script(x, P1, "0 ok");
  x->fail_send = 1;
  hstart(x);
  expect(x, "0.000 reg_failed 10.0.0.1:5060 reason=local retry_in=30.000");
  x->fail_send = 0;
  run(x, S(31));
  expect(x, "30.000 registered 10.0.0.1:5060 expires=3600");
  assert_int_equal(count(x, "server_down"), 0);
  hfree(x);
}

static void test_config_errors(void **state) {
  (void)state;
  h *x = hnew();
  sipline__pol *pol = NULL;
  x->lc.proxy = NULL;
  assert_int_equal(sipline__pol_new(&pol, &x->p, &x->lc, &x->rng,
                                    sipline_mem_default(), &x->ops, x),
                   SIPLINE_ERR_CONFIG);
  x->lc.proxy = "a b";
  assert_int_equal(sipline__pol_new(&pol, &x->p, &x->lc, &x->rng,
                                    sipline_mem_default(), &x->ops, x),
                   SIPLINE_ERR_CONFIG);
  assert_null(pol);
  hfree(x);
}

/* Register = No: nothing registered, but routing and failover work. */
static void test_register_no(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.reg = 0;
  hstart(x);
  run(x, S(100));
  assert_int_equal(count(x, "tx"), 0);
  assert_string_equal(sipline__pol_route(x->pol, NULL)->name, P1);
  sipline_addr a;
  sipline__ip_parse("10.0.0.1", 8, &a);
  a.port = 5060;
  sipline__pol_server_failed(x->pol, &a, SIPLINE_TP_UDP, "timeout", x->now);
  assert_string_equal(sipline__pol_route(x->pol, NULL)->name, P2);
  assert_int_equal(count(x, "tx"), 0);
  hfree(x);
}

/* R10 "or connected to": a backup that refuses with a code Try Backup RSC
 * does not list keeps the line (R9), and the primary is still tried every
 * Proxy Fallback Intvl. */
static void test_r10_refusing_backup(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = TWO;
  x->lc.proxy_fallback_intvl = 600;
  script(x, P1, "0 refuse; 1000 ok");
  script(x, P2, "0 reply:403");
  hstart(x);
  run(x, S(2000));
  expect(x, "0.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=transport");
  expect(x, "0.000 reg_failed 10.0.0.2:5060 reason=status:403 "
            "retry_in=1200.000");
  expect(x, "600.000 fallback 10.0.0.2:5060->10.0.0.1:5060 "
            "reason=fallback_interval");
  expect(x, "600.000 tx REGISTER 10.0.0.1:5060 exp=3600 try fallback");
  expect(x, "600.000 reg_failed 10.0.0.1:5060 reason=transport "
            "retry_in=0.000");
  expect(x, "600.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=transport");
  expect(x, "1200.000 fallback 10.0.0.2:5060->10.0.0.1:5060 "
            "reason=fallback_interval");
  expect(x, "1200.000 registered 10.0.0.1:5060 expires=3600");
  hfree(x);
}

/* Three servers: the fallback goes to the top, skipping nothing. */
static void test_r11_three_servers(void **state) {
  (void)state;
  h *x = hnew();
  x->lc.proxy = "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1|10.0.0.3:5060:p=2";
  x->lc.proxy_fallback_intvl = 300;
  script(x, P1, "0 refuse; 100 ok");
  script(x, P2, "0 refuse");
  script(x, P3, "0 ok");
  hstart(x);
  run(x, S(400));
  expect(x, "0.000 failover 10.0.0.1:5060->10.0.0.2:5060 reason=transport");
  expect(x, "0.000 failover 10.0.0.2:5060->10.0.0.3:5060 reason=transport");
  expect(x, "0.000 registered 10.0.0.3:5060 expires=3600");
  expect(x, "300.000 server_up 10.0.0.1:5060 reason=fallback_interval");
  expect(x, "300.000 server_up 10.0.0.2:5060 reason=fallback_interval");
  expect(x, "300.000 fallback 10.0.0.3:5060->10.0.0.1:5060 "
            "reason=fallback_interval");
  expect(x, "300.000 registered 10.0.0.1:5060 expires=3600");
  expect(x, "300.000 unregistered 10.0.0.3:5060 reason=fallback");
  hfree(x);
}

/*
 * A hostile soak: random behaviour changes of three servers, failures of
 * other requests, calls coming and going, over a virtual day, for many
 * seeds and settings. Invariants: a REGISTER never goes to a server marked
 * DOWN when Proxy Fallback Intvl != 0; after a tick the next deadline is in
 * the future (no busy loop); the request rate stays bounded; the policy's
 * view is consistent (current and registered indices in range).
 */
#ifndef SOAK_SEEDS
#define SOAK_SEEDS 60
#endif
static int soak_check_up;
static int soak_send(void *arg, const sipline__pol_req *rq,
                     sipline_tstamp now) {
  h *x = arg;
  if (soak_check_up && rq->slot != SIPLINE__POL_UNREG && !rq->srv->up) {
    fprintf(stderr, "REGISTER to DOWN %s at %.3f slot %s why %s\n",
            rq->srv->name, (double)now / 1000, slot_name(rq->slot), rq->why);
    fail();
  }
  x->now = now;
  answer(x, rq);
  x->n_log = 0; /* keep the log small: count only */
  x->cursor++;
  return 0;
}

static void test_soak(void **state) {
  (void)state;
  static const char *const modes[] = {"ok", "silent", "refuse", "reply:503",
                                      "reply:403", "ok-expires:60",
                                      "min-expires:900", "reply:404"};
  for (unsigned seed = 1; seed <= SOAK_SEEDS; seed++) {
    h *x = hnew();
    sipline_rng r;
    sipline_rng_seed(&r, seed * 7919u);
    sipline_rng_seed(&x->rng, seed);
    x->lc.proxy = "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1|10.0.0.3:5060:p=2";
    x->lc.register_expires = 120 + (uint32_t)sipline_rng_below(&r, 3600);
    x->lc.proxy_fallback_intvl = (uint32_t)sipline_rng_below(&r, 3) * 300;
    x->lc.auto_register_when_failover = (int)sipline_rng_below(&r, 2);
    x->lc.keepalive_intvl = sipline_rng_below(&r, 2) ? 45 : 0;
    x->p.reg_retry_intvl_cap = sipline_rng_below(&r, 2) ? 600 : 0;
    x->p.reg_retry_random_delay = (uint32_t)sipline_rng_below(&r, 20);
    x->p.reg_retry_long_intvl = 300;
    rsc(&x->p.try_backup_rsc, "5??");
    rsc(&x->p.retry_reg_rsc, "404");
    if (sipline_rng_below(&r, 3) == 0) {
      x->lc.alt_proxy = "10.0.0.9";
      x->lc.dual_registration = 1;
      script(x, "10.0.0.9:5060", "0 ok; 5000 silent; 9000 ok");
    }
    soak_check_up = x->lc.proxy_fallback_intvl != 0;
    x->ops.send = soak_send;
    char sc[3][256];
    for (int k = 0; k < 3; k++) {
      size_t o = 0;
      for (int st = 0; st < 12; st++)
        o += (size_t)snprintf(sc[k] + o, sizeof sc[k] - o, "%s%u %s",
                              st ? "; " : "", st * 7200u,
                              modes[sipline_rng_below(&r, 8)]);
    }
    script(x, P1, sc[0]);
    script(x, P2, sc[1]);
    script(x, P3, sc[2]);
    hstart(x);
    unsigned calls = 0;
    for (sipline_tstamp t = 0; t < S(86400); t += S(600)) {
      run(x, t);
      assert_true(sipline__pol_next(x->pol) > x->now ||
                  sipline__pol_next(x->pol) == NONE);
      int cur = sipline__pol_current(x->pol);
      int at = sipline__pol_registered_at(x->pol);
      assert_true(cur >= -1 && cur < 3);
      assert_true(at >= -1 && at < 3);
      switch (sipline_rng_below(&r, 6)) {
      case 0: {
        sipline_addr a;
        char ip[16];
        snprintf(ip, sizeof ip, "10.0.0.%u",
                 (unsigned)sipline_rng_below(&r, 3) + 1);
        sipline__ip_parse(ip, strlen(ip), &a);
        a.port = 5060;
        sipline__pol_server_failed(x->pol, &a, SIPLINE_TP_UDP, "timeout",
                                   x->now);
        break;
      }
      case 1:
        calls = calls ? 0 : 1;
        sipline__pol_set_calls(x->pol, calls, x->now);
        break;
      default:
        break;
      }
      sipline_line_status st;
      memset(&st, 0, sizeof st);
      sipline__pol_status(x->pol, &st);
      assert_true(st.n_servers >= 3);
    }
    /* at most a few requests per minute on average */
    assert_true(x->cursor < 86400u / 60u * 8u);
    sipline__pol_shutdown(x->pol, x->now);
    hfree(x);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hops_parse),
      cmocka_unit_test(test_addr),
      cmocka_unit_test(test_rsc_and_refresh),
      cmocka_unit_test(test_rfc2782),
      cmocka_unit_test(test_r1_initial_and_refresh),
      cmocka_unit_test(test_r1_default_ports),
      cmocka_unit_test(test_r11_seed_3600_600),
      cmocka_unit_test(test_r11_seed_800_1000),
      cmocka_unit_test(test_r11_fallback_fails_restarts),
      cmocka_unit_test(test_r11_route_during_fallback),
      cmocka_unit_test(test_r11_three_servers),
      cmocka_unit_test(test_r10_refusing_backup),
      cmocka_unit_test(test_r6_pfi_zero_rotation),
      cmocka_unit_test(test_r6_pfi_zero_all_down),
      cmocka_unit_test(test_r6_pfi_zero_no_fallback),
      cmocka_unit_test(test_r6_all_down_restart),
      cmocka_unit_test(test_r5_r9_try_backup_rsc),
      cmocka_unit_test(test_r9_other_code_stays),
      cmocka_unit_test(test_r9_retry_reg_rsc),
      cmocka_unit_test(test_r5_transport),
      cmocka_unit_test(test_r7_auto_register_yes),
      cmocka_unit_test(test_r7_auto_register_no),
      cmocka_unit_test(test_r12_doubling_cap),
      cmocka_unit_test(test_r12_no_cap_and_reset),
      cmocka_unit_test(test_r12_random_delay),
      cmocka_unit_test(test_failover_spread),
      cmocka_unit_test(test_r12_long_and_stop),
      cmocka_unit_test(test_r12_retry_after),
      cmocka_unit_test(test_r12_423),
      cmocka_unit_test(test_r12_clamp),
      cmocka_unit_test(test_r12_expired),
      cmocka_unit_test(test_r12_expiry_meets_timeout),
      cmocka_unit_test(test_r12_timeout_after_expiry),
      cmocka_unit_test(test_r6_superseded_register),
      cmocka_unit_test(test_r5c_idle_close),
      cmocka_unit_test(test_r13_fallback_waits_for_calls),
      cmocka_unit_test(test_r3_alternate_ignored),
      cmocka_unit_test(test_r4_dual),
      cmocka_unit_test(test_r4_dual_tcp_warns),
      cmocka_unit_test(test_r2_outbound),
      cmocka_unit_test(test_dns_srv),
      cmocka_unit_test(test_dns_fallbacks),
      cmocka_unit_test(test_dns_aaaa),
      cmocka_unit_test(test_dns_naptr),
      cmocka_unit_test(test_dns_ttl),
      cmocka_unit_test(test_dns_ttl_floor),
      cmocka_unit_test(test_keepalive),
      cmocka_unit_test(test_shutdown),
      cmocka_unit_test(test_local_send_failure),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_register_no),
      cmocka_unit_test(test_soak),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
