/* tests/unit/test_util.c: string views, buffers, the timer heap, the PRNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"

static void test_pl(void **state) {
  (void)state;
  sipline_pl a = sipline_pl_str("  Hello\r\n ");
  a = sipline_pl_trim(a);
  assert_int_equal(a.len, 5);
  assert_true(sipline_pl_casecmp_str(a, "hELLO"));
  assert_false(sipline_pl_casecmp_str(a, "hell"));
  uint64_t v;
  assert_int_equal(sipline_pl_u64(SIPLINE_PL("4294967295"), UINT32_MAX, &v),
                   0);
  assert_int_equal(v, 4294967295u);
  assert_int_equal(sipline_pl_u64(SIPLINE_PL("4294967296"), UINT32_MAX, &v),
                   SIPLINE_ERR_RANGE);
  assert_int_equal(sipline_pl_u64(SIPLINE_PL("12a"), 100, &v),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(sipline_pl_u64(SIPLINE_PL(""), 100, &v),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(
      sipline_pl_u64(SIPLINE_PL("99999999999999999999"), UINT64_MAX, &v),
      SIPLINE_ERR_RANGE);
}

static void test_buf(void **state) {
  (void)state;
  sipline__buf b;
  sipline__buf_init(&b, NULL);
  for (int i = 0; i < 1000; i++)
    sipline__buf_printf(&b, "%d,", i);
  assert_int_equal(b.err, 0);
  assert_memory_equal(b.p, "0,1,2,", 6);
  assert_int_equal(b.p[b.len], '\0');
  sipline__buf_free(&b);
}

/* An allocator that fails every allocation: appends must set err, not crash. */
static void *fail_malloc(size_t n, void *u) {
  (void)n;
  (void)u;
  return NULL;
}
static void *fail_realloc(void *p, size_t n, void *u) {
  (void)p;
  (void)n;
  (void)u;
  return NULL;
}

static void test_buf_nomem(void **state) {
  (void)state;
  sipline_mem m = {NULL, fail_malloc, NULL, NULL, fail_realloc};
  sipline__buf b;
  sipline__buf_init(&b, &m);
  sipline__buf_append_str(&b, "x");
  sipline__buf_printf(&b, "%s", "y");
  assert_int_equal(b.err, SIPLINE_ERR_NOMEM);
  assert_int_equal(b.len, 0);
  sipline__buf_free(&b);
}

static int order[64];
static int n_order;
static void record(sipline__timer *t, void *arg, sipline_tstamp now) {
  (void)t;
  (void)now;
  order[n_order++] = (int)(intptr_t)arg;
}

static void test_theap(void **state) {
  (void)state;
  sipline__theap h;
  sipline__theap_init(&h, NULL);
  sipline__timer t[40];
  /* Deadlines in a scrambled order; cancel every fifth. */
  for (int i = 0; i < 40; i++) {
    sipline__timer_init(&t[i], record, (void *)(intptr_t)i);
    assert_int_equal(sipline__timer_arm(&h, &t[i], (sipline_tstamp)((i * 17) % 40)), 0);
  }
  for (int i = 0; i < 40; i += 5)
    sipline__timer_cancel(&h, &t[i]);
  /* Re-arming moves a timer rather than duplicating it. */
  sipline__timer_arm(&h, &t[1], 1000);
  /* (i*17)%40 = 1 for i = 33, which is not cancelled. */
  assert_int_equal(sipline__theap_next(&h), 1);
  n_order = 0;
  size_t fired = sipline__theap_run(&h, 999);
  assert_int_equal(fired, 31);
  for (int i = 1; i < n_order; i++)
    assert_true(t[order[i - 1]].when <= t[order[i]].when ||
                t[order[i]].when == SIPLINE_TSTAMP_NONE);
  assert_int_equal(sipline__theap_next(&h), 1000);
  assert_int_equal(sipline__theap_run(&h, 1000), 1);
  assert_int_equal(sipline__theap_next(&h), SIPLINE_TSTAMP_NONE);
  sipline__theap_free(&h);
}

/*
 * The heap against a model: 3,000 timers on 8 distinct deadlines (ties are
 * the rule), armed, re-armed and cancelled at random. Timers fire by
 * deadline, each armed one exactly once, none cancelled; then the emptied
 * array is given back.
 */
enum { MODEL_N = 3000 };
static sipline_tstamp model_when[MODEL_N];
static int model_fired[MODEL_N];
static sipline_tstamp model_last;
static int model_bad;
static void model_cb(sipline__timer *t, void *arg, sipline_tstamp now) {
  (void)t;
  int i = (int)(intptr_t)arg;
  if (model_fired[i]++ || model_when[i] > now || model_when[i] < model_last)
    model_bad++;
  model_last = model_when[i];
}

static void test_theap_model(void **state) {
  (void)state;
  static sipline__timer t[MODEL_N];
  sipline__theap h;
  sipline__theap_init(&h, NULL);
  sipline_rng r;
  sipline_rng_seed(&r, 9);
  int armed[MODEL_N] = {0};
  for (int i = 0; i < MODEL_N; i++)
    sipline__timer_init(&t[i], model_cb, (void *)(intptr_t)i);
  for (int step = 0; step < 5 * MODEL_N; step++) {
    int i = (int)sipline_rng_below(&r, MODEL_N);
    if (armed[i] && sipline_rng_below(&r, 4) == 0) {
      sipline__timer_cancel(&h, &t[i]);
      armed[i] = 0;
      assert_false(sipline__timer_armed(&t[i]));
    } else {
      model_when[i] = 100 + 10 * sipline_rng_below(&r, 8);
      assert_int_equal(sipline__timer_arm(&h, &t[i], model_when[i]), 0);
      armed[i] = 1;
    }
  }
  size_t want = 0;
  for (int i = 0; i < MODEL_N; i++)
    want += (size_t)armed[i];
  assert_int_equal(h.n, want);
  size_t cap = h.cap;
  assert_int_equal(sipline__theap_run(&h, 1000), want);
  assert_int_equal(model_bad, 0);
  for (int i = 0; i < MODEL_N; i++)
    assert_int_equal(model_fired[i], armed[i]);
  /* Drained: the array shrank from its high-water mark. */
  assert_true(h.cap < cap);
  assert_int_equal(sipline__theap_next(&h), SIPLINE_TSTAMP_NONE);
  sipline__theap_free(&h);
}

static void test_rng(void **state) {
  (void)state;
  sipline_rng a, b;
  sipline_rng_seed(&a, 42);
  sipline_rng_seed(&b, 42);
  for (int i = 0; i < 100; i++)
    assert_int_equal(sipline_rng_next(&a), sipline_rng_next(&b));
  unsigned hist[10] = {0};
  for (int i = 0; i < 100000; i++)
    hist[sipline_rng_below(&a, 10)]++;
  for (int i = 0; i < 10; i++)
    assert_in_range(hist[i], 9500, 10500);
  assert_int_equal(sipline_rng_below(&a, 0), 0);
  char tok[16];
  sipline_rng_token(&a, tok, sizeof(tok));
  for (size_t i = 0; i < sizeof(tok); i++)
    assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", tok[i]));
  /* A token is exactly the characters sipline_rng_below(62) picks, draw for
   * draw: tags, branches and Call-IDs (and every later jitter) of a seeded
   * run do not depend on how the token is computed. */
  static const char al[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (uint64_t seed = 1; seed <= 64; seed++) {
    char t1[40], t2[40];
    sipline_rng_seed(&a, seed);
    sipline_rng_seed(&b, seed);
    sipline_rng_token(&a, t1, sizeof(t1));
    for (size_t i = 0; i < sizeof(t2); i++)
      t2[i] = al[sipline_rng_below(&b, 62)];
    assert_memory_equal(t1, t2, sizeof(t1));
    assert_int_equal(sipline_rng_next(&a), sipline_rng_next(&b));
  }
}

static void test_queue(void **state) {
  (void)state;
  sipline__queue q;
  sipline__queue_init(&q, NULL, sizeof(int));
  for (int i = 0; i < 5; i++)
    assert_int_equal(sipline__queue_push(&q, &i, "abcde", (size_t)i), 0);
  for (int i = 0; i < 3; i++) {
    sipline__qitem *it = sipline__queue_pop(&q);
    assert_int_equal(*(int *)sipline__qitem_hdr(it), i);
    assert_int_equal(it->len, (size_t)i);
    sipline_mem_free(q.mem, it);
  }
  assert_int_equal(q.count, 2);
  sipline__queue_free(&q);
}

static void test_ct_eq(void **state) {
  (void)state;
  assert_true(sipline__ct_eq("abc", "abc", 3));
  assert_false(sipline__ct_eq("abc", "abd", 3));
  assert_int_equal(strcmp(sipline_strerror(SIPLINE_ERR_REPLAY),
                          "nonce count replayed"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pl),    cmocka_unit_test(test_buf),
      cmocka_unit_test(test_buf_nomem), cmocka_unit_test(test_theap),
      cmocka_unit_test(test_theap_model),
      cmocka_unit_test(test_rng),   cmocka_unit_test(test_queue),
      cmocka_unit_test(test_ct_eq),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
