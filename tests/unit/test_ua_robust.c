/*
 * tests/unit/test_ua_robust.c: the engine under hostile input.
 *
 *  - PROTOS c07-sip: all 4,527 cases (both records: the test INVITE and its
 *    teardown) through sipline_ua_recv as UDP datagrams and as a TCP stream,
 *    then the clock is run past every timer: no crash (ASan/UBSan build), no
 *    leak, no hang, and the UA still answers an OPTIONS afterwards.
 *  - An allocation-failure sweep: a scenario (OPTIONS exchange, a client
 *    transaction with its retransmissions, a timeout, an INVITE server
 *    transaction, a TCP request split in two) is run once to count the
 *    allocations, then once for every n with the n-th allocation failing.
 *    Each run must end with every byte freed (a counting allocator checks
 *    it, so the normal build checks it too) and no crash.
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

/* ---------------------------------------------------------------- */
/* a counting allocator that can fail the n-th allocation */

typedef struct hdr {
  size_t size;
  _Alignas(max_align_t) unsigned char data[];
} hdr;

typedef struct fmem {
  long count;   /* allocations made */
  long fail_at; /* 1-based; 0 = never */
  long failed;
  long live;    /* blocks outstanding */
  size_t bytes; /* bytes outstanding */
} fmem;

static int should_fail(fmem *f) {
  f->count++;
  if (f->fail_at && f->count == f->fail_at) {
    f->failed++;
    return 1;
  }
  return 0;
}

static void *f_malloc(size_t n, void *u) {
  fmem *f = u;
  if (should_fail(f))
    return NULL;
  hdr *h = malloc(sizeof(hdr) + n);
  if (!h)
    return NULL;
  h->size = n;
  f->live++;
  f->bytes += n;
  return h->data;
}

static void f_free(void *p, void *u) {
  fmem *f = u;
  if (!p)
    return;
  hdr *h = (hdr *)((unsigned char *)p - offsetof(hdr, data));
  f->live--;
  f->bytes -= h->size;
  free(h);
}

static void *f_calloc(size_t n, size_t s, void *u) {
  if (s && n > SIZE_MAX / s)
    return NULL;
  void *p = f_malloc(n * s, u);
  if (p)
    memset(p, 0, n * s);
  return p;
}

static void *f_realloc(void *p, size_t n, void *u) {
  fmem *f = u;
  if (!p)
    return f_malloc(n, u);
  if (should_fail(f))
    return NULL;
  hdr *h = (hdr *)((unsigned char *)p - offsetof(hdr, data));
  size_t old = h->size;
  hdr *nh = realloc(h, sizeof(hdr) + n);
  if (!nh)
    return NULL;
  nh->size = n;
  f->bytes = f->bytes - old + n;
  return nh->data;
}

/* ---------------------------------------------------------------- */

static sipline_path path_of(sipline_transport t, const char *remote) {
  sipline_path p;
  memset(&p, 0, sizeof(p));
  p.tp = t;
  sipline_addr_parse(remote, strlen(remote), &p.remote);
  sipline_addr_parse("10.0.0.9:5060", 13, &p.local);
  return p;
}

static size_t drain(sipline_ua *ua, sipline_tstamp now, char *last,
                    size_t cap) {
  size_t n = 0;
  sipline_path p;
  const uint8_t *b;
  ptrdiff_t l;
  while ((l = sipline_ua_pull_tx(ua, &p, &b, now)) >= 0) {
    if (last && cap) {
      size_t c = (size_t)l < cap - 1 ? (size_t)l : cap - 1;
      memcpy(last, b, c);
      last[c] = 0;
    }
    n++;
  }
  return n;
}

/* Runs the clock until nothing is armed (bounded: a hang fails). */
static sipline_tstamp run_out(sipline_ua *ua, sipline_tstamp now) {
  for (int i = 0; i < 100000; i++) {
    drain(ua, now, NULL, 0);
    sipline_tstamp d = sipline_ua_next_deadline(ua);
    if (d == SIPLINE_TSTAMP_NONE)
      return now;
    if (d > now)
      now = d;
    sipline_ua_handle_timeout(ua, now);
  }
  fail_msg("timers never ran out");
  return now;
}

/* ---------------------------------------------------------------- */
/* PROTOS */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* Fills the template's placeholders (testdata/README.md), then computes
 * Content-Length from the bytes after the first empty line. */
static void fill(sbuf *out, const char *t, size_t n, int num,
                 const char *teardown) {
  char callid[32], branch[16];
  snprintf(callid, sizeof(callid), "protos%07d", num);
  snprintf(branch, sizeof(branch), "%d", num);
  const struct {
    const char *key, *val;
  } ph[] = {
      {"<To>", "1001@10.0.0.9"},
      {"<From>", "protos@192.0.2.1"},
      {"<From-Address>", "192.0.2.1"},
      {"<From-IP>", "192.0.2.1"},
      {"<Local-Port>", "5060"},
      {"<Branch-ID>", branch},
      {"<CSeq>", "1"},
      {"<Call-ID>", callid},
      {"<Teardown-Method>", teardown},
  };
  sbuf tmp = {0};
  size_t i = 0;
  while (i < n) {
    /* copy the run up to the next '<' in one go */
    const char *lt = memchr(t + i, '<', n - i);
    size_t run = lt ? (size_t)(lt - (t + i)) : n - i;
    put(&tmp, t + i, run);
    i += run;
    if (i >= n)
      break;
    size_t k, nk = sizeof(ph) / sizeof(ph[0]);
    for (k = 0; k < nk; k++) {
      size_t kl = strlen(ph[k].key);
      if (n - i >= kl && memcmp(t + i, ph[k].key, kl) == 0) {
        put(&tmp, ph[k].val, strlen(ph[k].val));
        i += kl;
        break;
      }
    }
    if (k == nk) {
      put(&tmp, t + i, 1);
      i++;
    }
  }
  size_t blen = 0;
  for (size_t j = 0; j + 4 <= tmp.len; j++)
    if (memcmp(tmp.p + j, "\r\n\r\n", 4) == 0) {
      blen = tmp.len - j - 4;
      break;
    }
  char num_s[24];
  int nl = snprintf(num_s, sizeof(num_s), "%zu", blen);
  static const char key[] = "<Content-Length>";
  out->len = 0;
  for (size_t j = 0; j < tmp.len;) {
    if (tmp.len - j >= sizeof(key) - 1 &&
        memcmp(tmp.p + j, key, sizeof(key) - 1) == 0) {
      put(out, num_s, (size_t)nl);
      j += sizeof(key) - 1;
      continue;
    }
    const char *lt = memchr(tmp.p + j + 1, '<', tmp.len - j - 1);
    size_t run = lt ? (size_t)(lt - (tmp.p + j)) : tmp.len - j;
    put(out, tmp.p + j, run);
    j += run;
  }
  free(tmp.p);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* Splits "len SP bytes" records. Returns how many (at most 2). */
static int records(const char *b, size_t n, const char *rec[2],
                   size_t rlen[2]) {
  int k = 0;
  size_t i = 0;
  while (k < 2 && i < n) {
    size_t v = 0;
    while (i < n && b[i] >= '0' && b[i] <= '9')
      v = v * 10 + (size_t)(b[i++] - '0');
    if (i >= n || b[i] != ' ' || v > n - i - 1)
      break;
    i++;
    rec[k] = b + i;
    rlen[k] = v;
    k++;
    i += v;
  }
  return k;
}

static void test_protos(void **state) {
  (void)state;
  sipline_profile *prof;
  assert_int_equal(sipline_profile_new(&prof, NULL), 0);
  fmem fm = {0};
  sipline_mem mem = {&fm, f_malloc, f_free, f_calloc, f_realloc};
  sipline_settings st = {.profile = prof, .seed = 7, .local_host = "10.0.0.9"};
  sipline_ua *ua;
  assert_int_equal(sipline__ua_create(&ua, &st, &mem, NULL, NULL, 0), 0);
  sbuf msg = {0};
  int n_files = 0, answered = 0, refused = 0, tcp_closed = 0;
  sipline_tstamp now = 0;
  for (int c = 0; c < 4527; c++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/protos/cases/%07d", SIPLINE_TESTDATA, c);
    size_t len;
    char *b = read_file(path, &len);
    if (!b)
      continue;
    n_files++;
    const char *rec[2];
    size_t rl[2];
    int nr = records(b, len, rec, rl);
    assert_true(nr >= 1);
    for (int r = 0; r < nr; r++) {
      fill(&msg, rec[r], rl[r], c, r == 0 ? "CANCEL" : "BYE");
      sipline_path up = path_of(SIPLINE_TP_UDP, "192.0.2.1:5060");
      int rc = sipline_ua_recv(ua, &up, (const uint8_t *)msg.p, msg.len, now);
      if (rc < 0)
        refused++;
      if (r == 0 && drain(ua, now, NULL, 0))
        answered++;
      /* and as a TCP stream, one connection per case */
      sipline_path tp = path_of(SIPLINE_TP_TCP, "192.0.2.1:40000");
      rc = sipline_ua_recv(ua, &tp, (const uint8_t *)msg.p, msg.len, now);
      if (rc == SIPLINE_ERR_MALFORMED || rc == SIPLINE_ERR_TOOBIG) {
        tcp_closed++;
        sipline_ua_transport_error(ua, &tp, SIPLINE_TPERR_CLOSED, now);
      }
      drain(ua, now, NULL, 0);
    }
    sipline_path tp = path_of(SIPLINE_TP_TCP, "192.0.2.1:40000");
    sipline_ua_transport_error(ua, &tp, SIPLINE_TPERR_CLOSED, now);
    free(b);
    now += 10;
    sipline_ua_handle_timeout(ua, now);
  }
  free(msg.p);
  if (n_files == 0)
    skip();
  assert_int_equal(n_files, 4527);
  now = run_out(ua, now + 1);
  assert_int_equal(sipline__txl_count(&ua->txl), 0);
  /* still alive */
  const char *opt = "OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-alive\r\n"
                    "Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\n"
                    "To: <sip:1001@10.0.0.9>\r\nCall-ID: alive\r\n"
                    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  sipline_path up = path_of(SIPLINE_TP_UDP, "192.0.2.1:5060");
  assert_int_equal(
      sipline_ua_recv(ua, &up, (const uint8_t *)opt, strlen(opt), now), 0);
  char out[4096];
  assert_int_equal(drain(ua, now, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "SIP/2.0 200 OK"));
  print_message("PROTOS c07-sip: %d cases, %d answered over UDP, %d records "
                "refused, %d TCP streams closed as unframeable; rx_bad "
                "%llu; no crash\n",
                n_files, answered, refused, tcp_closed,
                (unsigned long long)ua->n_rx_bad);
  sipline_ua_del(ua);
  sipline_profile_del(prof);
  assert_int_equal(fm.live, 0);
  assert_int_equal(fm.bytes, 0);
}

/* ---------------------------------------------------------------- */
/* the allocation-failure sweep */

static int n_cb;
static void cb(void *arg, sipline__ctx *ctx, const sipline_msg *rsp, int err,
               sipline_tstamp now) {
  (void)arg;
  (void)ctx;
  (void)rsp;
  (void)err;
  (void)now;
  n_cb++;
}

static const char *OPTIONS_IN =
    "OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-sw1;rport\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\n"
    "To: <sip:1001@10.0.0.9>\r\nCall-ID: sweep\r\n"
    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
static const char *INVITE_IN =
    "INVITE sip:1001@10.0.0.9 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-sw2\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\n"
    "To: <sip:1001@10.0.0.9>\r\nCall-ID: sweep2\r\n"
    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
static const char *ACK_IN =
    "ACK sip:1001@10.0.0.9 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-sw2\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\n"
    "To: <sip:1001@10.0.0.9>;tag=x\r\nCall-ID: sweep2\r\n"
    "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";

/* The scenario; every step may fail with NOMEM, none may crash or leak. */
static void scenario(const sipline_mem *mem) {
  sipline_profile *prof = NULL;
  if (sipline_profile_new(&prof, mem) != 0)
    return;
  sipline_settings st = {.profile = prof, .seed = 3, .max_events = 4};
  sipline_ua *ua = NULL;
  int r = sipline__ua_create(&ua, &st, mem, NULL, NULL, 0);
  sipline_profile_del(prof);
  if (r != 0) {
    assert_null(ua);
    return;
  }
  sipline_tstamp now = 0;
  sipline_path up = path_of(SIPLINE_TP_UDP, "192.0.2.1:5060");
  /* OPTIONS in, 200 out, retransmission absorbed */
  sipline_ua_recv(ua, &up, (const uint8_t *)OPTIONS_IN, strlen(OPTIONS_IN),
                  now);
  drain(ua, now, NULL, 0);
  sipline_ua_recv(ua, &up, (const uint8_t *)OPTIONS_IN, strlen(OPTIONS_IN),
                  now + 1);
  drain(ua, now + 1, NULL, 0);
  /* a client transaction: retransmissions, then a 200 */
  char branch[SIPLINE__BRANCH_LEN + 1];
  sipline__ua_new_branch(ua, branch);
  sipline__buf b;
  sipline__buf_init(&b, ua->mem);
  sipline__buf_append_str(&b, "OPTIONS sip:192.0.2.1 SIP/2.0\r\n");
  sipline__ua_append_via(ua, &b, 1, SIPLINE_TP_UDP, branch);
  sipline__buf_append_str(&b, "From: <sip:1001@10.0.0.9>;tag=t\r\n"
                              "To: <sip:192.0.2.1>\r\nCall-ID: c\r\n"
                              "CSeq: 1 OPTIONS\r\n");
  sipline__ua_append_common(ua, &b);
  sipline__buf_append_str(&b, "Content-Length: 0\r\n\r\n");
  if (!b.err) {
    sipline__ctx_params cp = {.path = &up, .req = b.p, .len = b.len, .cb = cb};
    sipline__ua_request(ua, &cp, now, NULL);
    /* a second one that will time out */
    sipline__ua_new_branch(ua, branch);
    char *bp = strstr(b.p, "branch=");
    if (bp)
      memcpy(bp + 7, branch, SIPLINE__BRANCH_LEN);
    sipline__ua_request(ua, &cp, now, NULL);
    if (bp)
      memcpy(bp + 7, branch, SIPLINE__BRANCH_LEN);
  }
  now += 600;
  sipline_ua_handle_timeout(ua, now);
  drain(ua, now, NULL, 0);
  char rsp[1024];
  snprintf(rsp, sizeof(rsp),
           "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=%s;"
           "rport=5060;received=10.0.0.9\r\nFrom: <sip:1001@10.0.0.9>;tag=t\r\n"
           "To: <sip:192.0.2.1>;tag=r\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n",
           branch);
  sipline_ua_recv(ua, &up, (const uint8_t *)rsp, strlen(rsp), now);
  sipline__buf_free(&b);
  /* an INVITE server transaction: 480, retransmitted, ACKed */
  sipline_ua_recv(ua, &up, (const uint8_t *)INVITE_IN, strlen(INVITE_IN), now);
  sipline_ua_recv(ua, &up, (const uint8_t *)INVITE_IN, strlen(INVITE_IN),
                  now + 5);
  sipline_ua_recv(ua, &up, (const uint8_t *)ACK_IN, strlen(ACK_IN), now + 10);
  drain(ua, now + 10, NULL, 0);
  /* refused by the parser, answered statelessly; and a bad version */
  static const char *bad_to =
      "OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-sw3\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: \"unbalanced <sip:x@y>\r\n"
      "Call-ID: sweep3\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  static const char *bad_ver =
      "OPTIONS sip:1001@10.0.0.9 SIP/3.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-sw4\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nMax-Forwards: 70\r\n"
      "Call-ID: sweep4\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  sipline_ua_recv(ua, &up, (const uint8_t *)bad_to, strlen(bad_to), now + 11);
  sipline_ua_recv(ua, &up, (const uint8_t *)bad_ver, strlen(bad_ver), now + 12);
  drain(ua, now + 12, NULL, 0);
  /* TCP, split in two reads */
  sipline_path tp = path_of(SIPLINE_TP_TCP, "192.0.2.1:40000");
  size_t h = strlen(OPTIONS_IN) / 2;
  sipline_ua_recv(ua, &tp, (const uint8_t *)OPTIONS_IN, h, now + 20);
  sipline_ua_recv(ua, &tp, (const uint8_t *)OPTIONS_IN + h,
                  strlen(OPTIONS_IN) - h, now + 20);
  drain(ua, now + 20, NULL, 0);
  /* events (bounded queue) */
  for (int i = 0; i < 6; i++)
    sipline__ua_dns_query(ua, 1, "example.test", SIPLINE_DNS_SRV, NULL);
  sipline_event ev;
  while (sipline_ua_poll_event(ua, &ev))
    ;
  /* leave some work pending at del for half the runs: del must free it */
  run_out(ua, now + 30);
  sipline_ua_del(ua);
}

static void test_alloc_sweep(void **state) {
  (void)state;
  fmem fm = {0};
  sipline_mem mem = {&fm, f_malloc, f_free, f_calloc, f_realloc};
  scenario(&mem);
  assert_int_equal(fm.live, 0);
  long total = fm.count;
  assert_true(total > 20);
  long failed_runs = 0;
  for (long n = 1; n <= total + 1; n++) {
    memset(&fm, 0, sizeof(fm));
    fm.fail_at = n;
    scenario(&mem);
    if (fm.live != 0 || fm.bytes != 0)
      fail_msg("leak with allocation %ld failing: %ld blocks, %zu bytes", n,
               fm.live, fm.bytes);
    failed_runs += fm.failed;
  }
  print_message("allocation sweep: %ld allocations in the scenario, each "
                "failed in turn (%ld runs hit a failure), no leak\n",
                total, failed_runs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc_sweep),
      cmocka_unit_test(test_protos),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
