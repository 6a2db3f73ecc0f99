/*
 * tests/unit/test_top.c: the whole UA as applications get it (sipline_ua_new
 * with every module src/top registers), driven through the public API only,
 * against a scripted peer that answers every request 200 (with the Contact
 * and Expires a registrar would return) on a virtual clock:
 *
 *  - start → REGISTER → 200 → "registered"; OPTIONS from the peer → 200;
 *    shutdown → un-REGISTER → 200 → is_shut_down; del.
 *  - the same scenario with the n-th allocation failing, for every n: no
 *    crash and every byte freed (a counting allocator checks it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sipline/sipline.h"

/* ---------------------------------------------------------------- */
/* counting allocator failing the n-th allocation */

typedef struct fmem {
  long count, fail_at, live;
} fmem;
typedef struct hdr {
  size_t size;
  _Alignas(max_align_t) unsigned char data[];
} hdr;

static void *f_malloc(size_t n, void *u) {
  fmem *f = u;
  if (f->fail_at && ++f->count == f->fail_at)
    return NULL;
  if (!f->fail_at)
    f->count++;
  hdr *h = malloc(sizeof(hdr) + n);
  if (!h)
    return NULL;
  h->size = n;
  f->live++;
  return h->data;
}
static void f_free(void *p, void *u) {
  fmem *f = u;
  if (!p)
    return;
  f->live--;
  free((unsigned char *)p - offsetof(hdr, data));
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
  if (f->fail_at && ++f->count == f->fail_at)
    return NULL;
  if (!f->fail_at)
    f->count++;
  hdr *h = realloc((unsigned char *)p - offsetof(hdr, data), sizeof(hdr) + n);
  if (!h)
    return NULL;
  h->size = n;
  return h->data;
}

/* ---------------------------------------------------------------- */
/* the peer: answers every request 200 */

typedef struct peer {
  int n_req;
  int n_register;
  int n_unregister;
  int n_invite, n_bye, n_calls;
  int events[SIPLINE_EV__MAX];
} peer;

static void answer(sipline_ua *ua, peer *pe, const sipline_path *path,
                   const uint8_t *b, size_t n, sipline_tstamp now) {
  sipline_msg m;
  if (sipline_msg_parse(&m, (const char *)b, n, SIPLINE_PARSE_DATAGRAM, NULL) <=
          0 ||
      !m.is_request || m.method == SIPLINE_METHOD_ACK)
    return;
  pe->n_req++;
  char out[4096];
  size_t o = 0;
  o += (size_t)snprintf(out + o, sizeof(out) - o, "SIP/2.0 200 OK\r\n");
  for (unsigned i = 0; i < m.n_hdrs; i++) {
    const sipline_hdr *h = &m.hdrs[i];
    if (h->id == SIPLINE_HDR_VIA || h->id == SIPLINE_HDR_FROM ||
        h->id == SIPLINE_HDR_CALL_ID || h->id == SIPLINE_HDR_CSEQ ||
        (h->id == SIPLINE_HDR_CONTACT && m.method == SIPLINE_METHOD_REGISTER))
      o += (size_t)snprintf(out + o, sizeof(out) - o, "%s: %.*s\r\n",
                            sipline_hdr_name(h->id), (int)h->value.len,
                            h->value.p);
    if (h->id == SIPLINE_HDR_TO)
      o += (size_t)snprintf(out + o, sizeof(out) - o, "To: %.*s%s\r\n",
                            (int)h->value.len, h->value.p,
                            m.to.tag.len ? "" : ";tag=peer");
  }
  pe->n_invite += m.method == SIPLINE_METHOD_INVITE;
  pe->n_bye += m.method == SIPLINE_METHOD_BYE;
  if (m.method == SIPLINE_METHOD_INVITE)
    o += (size_t)snprintf(out + o, sizeof(out) - o,
                          "Contact: <sip:1002@192.0.2.2>\r\n");
  if (m.method == SIPLINE_METHOD_REGISTER) {
    pe->n_register++;
    if (m.has_expires && m.expires == 0)
      pe->n_unregister++;
    else
      o += (size_t)snprintf(out + o, sizeof(out) - o, "Expires: 3600\r\n");
  }
  o += (size_t)snprintf(out + o, sizeof(out) - o, "Content-Length: 0\r\n\r\n");
  sipline_path back = *path;
  sipline_ua_recv(ua, &back, (const uint8_t *)out, o, now);
}

/* Pulls everything and lets the peer answer, until quiet. */
static void pump(sipline_ua *ua, peer *pe, sipline_tstamp now) {
  for (int round = 0; round < 50; round++) {
    sipline_path p;
    const uint8_t *b;
    ptrdiff_t l;
    int any = 0;
    /* copy out first: the buffer is only valid until the next call */
    static uint8_t buf[16][4096];
    static sipline_path paths[16];
    static size_t lens[16];
    int k = 0;
    while (k < 16 && (l = sipline_ua_pull_tx(ua, &p, &b, now)) >= 0) {
      size_t c = (size_t)l < sizeof(buf[0]) ? (size_t)l : sizeof(buf[0]);
      memcpy(buf[k], b, c);
      lens[k] = c;
      paths[k] = p;
      k++;
      any = 1;
    }
    for (int i = 0; i < k; i++)
      answer(ua, pe, &paths[i], buf[i], lens[i], now);
    sipline_event ev;
    while (sipline_ua_poll_event(ua, &ev))
      if (ev.type > 0 && ev.type < SIPLINE_EV__MAX)
        pe->events[ev.type]++;
    if (!any)
      return;
  }
}

static const char *OPTIONS_IN =
    "OPTIONS sip:1001@10.0.0.9 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-top1;rport\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:proxy@192.0.2.2>;tag=1\r\n"
    "To: <sip:1001@10.0.0.9>\r\nCall-ID: top-opt\r\n"
    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

/* Returns 1 when the whole scenario ran (no allocation failed on the way). */
static int scenario(const sipline_mem *mem, peer *pe) {
  memset(pe, 0, sizeof(*pe));
  sipline_profile *prof = NULL;
  if (sipline_profile_new(&prof, mem) != 0)
    return 0;
  if (sipline_profile_set(prof, "Proxy_1_", "192.0.2.2", NULL) ||
      sipline_profile_set(prof, "User_ID_1_", "1001", NULL) ||
      sipline_profile_set(prof, "Password_1_", "secret", NULL)) {
    sipline_profile_del(prof);
    return 0;
  }
  sipline_settings st = {.profile = prof, .seed = 5, .local_host = "10.0.0.9"};
  sipline_ua *ua = NULL;
  int r = sipline_ua_new(&ua, &st, mem, pe);
  sipline_profile_del(prof);
  if (r != 0)
    return 0;
  assert_ptr_equal(sipline_ua_user_data(ua), pe);
  sipline_tstamp now = 1000;
  int ok = sipline_ua_start(ua, now) == 0;
  pump(ua, pe, now);
  /* the peer asks OPTIONS */
  sipline_path pp;
  memset(&pp, 0, sizeof(pp));
  sipline_addr_parse("192.0.2.2:5060", 14, &pp.remote);
  now += 100;
  sipline_ua_recv(ua, &pp, (const uint8_t *)OPTIONS_IN, strlen(OPTIONS_IN),
                  now);
  pump(ua, pe, now);
  /* a call, answered at once, then hung up */
  unsigned call = 0;
  now += 100;
  if (sipline_ua_call(ua, &(sipline_call_params){.line = 1, .to = "1002"}, &call, now) == 0) {
    pe->n_calls++;
    pump(ua, pe, now);
    now += 1000;
    sipline_ua_hangup(ua, call, now);
    pump(ua, pe, now);
  }
  /* an hour of refreshes */
  for (int i = 0; i < 200; i++) {
    sipline_tstamp d = sipline_ua_next_deadline(ua);
    if (d == SIPLINE_TSTAMP_NONE || d > 3600000)
      break;
    now = d > now ? d : now;
    sipline_ua_handle_timeout(ua, now);
    pump(ua, pe, now);
  }
  now += 10;
  ok &= sipline_ua_shutdown(ua, now) == 0;
  pump(ua, pe, now);
  for (int i = 0; i < 100 && !sipline_ua_is_shut_down(ua); i++) {
    sipline_tstamp d = sipline_ua_next_deadline(ua);
    if (d == SIPLINE_TSTAMP_NONE)
      break;
    now = d > now ? d : now;
    sipline_ua_handle_timeout(ua, now);
    pump(ua, pe, now);
  }
  ok &= sipline_ua_is_shut_down(ua);
  sipline_ua_del(ua);
  return ok;
}

static void test_whole_ua(void **state) {
  (void)state;
  fmem fm = {0};
  sipline_mem mem = {&fm, f_malloc, f_free, f_calloc, f_realloc};
  peer pe;
  assert_int_equal(scenario(&mem, &pe), 1);
  assert_int_equal(fm.live, 0);
  print_message("whole UA: %d requests answered, %d REGISTER (%d with "
                "Expires 0), %d INVITE, %d BYE; events: registered %d, "
                "unregistered %d, call %d\n",
                pe.n_req, pe.n_register, pe.n_unregister, pe.n_invite, pe.n_bye,
                pe.events[SIPLINE_EV_REGISTERED],
                pe.events[SIPLINE_EV_UNREGISTERED], pe.events[SIPLINE_EV_CALL]);
  assert_int_equal(pe.n_calls, 1);
  assert_int_equal(pe.n_invite, 1);
  assert_int_equal(pe.n_bye, 1);
  assert_true(pe.n_register >= 2);
  assert_true(pe.n_unregister >= 1);
  assert_true(pe.events[SIPLINE_EV_REGISTERED] >= 1);
}

static void test_whole_ua_alloc_sweep(void **state) {
  (void)state;
  fmem fm = {0};
  sipline_mem mem = {&fm, f_malloc, f_free, f_calloc, f_realloc};
  peer pe;
  scenario(&mem, &pe);
  long total = fm.count;
  for (long n = 1; n <= total + 1; n++) {
    memset(&fm, 0, sizeof(fm));
    fm.fail_at = n;
    scenario(&mem, &pe);
    if (fm.live != 0)
      fail_msg("allocation %ld of %ld failing leaks %ld blocks", n, total,
               fm.live);
  }
  print_message("whole UA sweep: %ld allocations, each failed in turn, "
                "no leak, no crash\n",
                total);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole_ua),
      cmocka_unit_test(test_whole_ua_alloc_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
