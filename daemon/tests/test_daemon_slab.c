/*
 * Unit tests of the core's allocator (daemon/slab.c): blocks of every
 * small size, realloc and calloc, malloc's blocks passed through, spans
 * reused before new ones are carved, the pages of empty spans given back,
 * the fallback to malloc when the reserve is used up, and the reason it
 * exists: transient blocks freed between long-lived ones leave no span
 * pinned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "slab.h"

#define SPAN SD_SLAB_SPAN

static sd_slab *S;
static const sipline_mem *M;

static int setup(void **state) {
  (void)state;
  S = sd_slab_new((size_t)64 << 20);
  M = sd_slab_mem(S);
  return S ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  sd_slab_del(S);
  S = NULL;
  return 0;
}

static sd_slab_stats stats(void) {
  sd_slab_stats st;
  sd_slab_stats_get(S, &st);
  return st;
}

/* Resident pages of [p, p + n) (mincore). */
static size_t resident_pages(const void *p, size_t n) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t a = (uintptr_t)p / pg * pg;
  size_t len = ((uintptr_t)p + n - a + pg - 1) / pg * pg;
  unsigned char v[1024];
  assert_true(len / pg <= sizeof v);
  assert_int_equal(mincore((void *)a, len, v), 0);
  size_t r = 0;
  for (size_t i = 0; i < len / pg; i++)
    r += v[i] & 1;
  return r;
}

static void test_every_size(void **state) {
  (void)state;
  static void *p[SD_SLAB_MAX + 1];
  for (size_t n = 0; n <= SD_SLAB_MAX; n++) {
    p[n] = M->malloc(n, M->user);
    assert_non_null(p[n]);
    assert_true(sd_slab_owns(S, p[n]));
    assert_int_equal((uintptr_t)p[n] % 16, 0);
    memset(p[n], (int)(n & 0xff), n);
  }
  assert_true(stats().in_use >= (size_t)SD_SLAB_MAX * (SD_SLAB_MAX + 1) / 2);
  /* no block overlapped another: each still holds its own byte */
  for (size_t n = 1; n <= SD_SLAB_MAX; n++) {
    const unsigned char *b = p[n];
    assert_int_equal(b[0], n & 0xff);
    assert_int_equal(b[n - 1], n & 0xff);
  }
  for (size_t n = 0; n <= SD_SLAB_MAX; n++)
    M->free(p[n], M->user);
  sd_slab_stats st = stats();
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.spans, 0);
  assert_true(st.empty_dirty > 0);
  assert_int_equal(st.fallback, 0);
  M->free(NULL, M->user); /* accepted */
}

static void test_large_and_foreign(void **state) {
  (void)state;
  void *big = M->malloc(SD_SLAB_MAX + 1, M->user);
  assert_non_null(big);
  assert_false(sd_slab_owns(S, big));
  memset(big, 1, SD_SLAB_MAX + 1);
  M->free(big, M->user);
  /* a block from malloc itself is freed and reallocated by malloc */
  char *f = malloc(40);
  strcpy(f, "from malloc");
  f = M->realloc(f, 80, M->user);
  assert_false(sd_slab_owns(S, f));
  assert_string_equal(f, "from malloc");
  M->free(f, M->user);
  assert_int_equal(stats().in_use, 0);
}

static void test_grow_shrink(void **state) {
  (void)state;
  char *p = M->realloc(NULL, 10, M->user);
  assert_true(sd_slab_owns(S, p));
  memcpy(p, "abcdefghi", 10);
  /* within its class (16): the same block */
  assert_ptr_equal(M->realloc(p, 16, M->user), p);
  assert_ptr_equal(M->realloc(p, 1, M->user), p);
  /* grown across classes: moved, the bytes kept */
  char *q = M->realloc(p, 700, M->user);
  assert_true(sd_slab_owns(S, q));
  assert_string_equal(q, "abcdefghi");
  memset(q + 10, 'x', 690);
  /* shrunk into a smaller class: moved too (no large block kept for a
   * small one), the first bytes kept */
  char *r = M->realloc(q, 12, M->user);
  assert_ptr_not_equal(r, q);
  assert_memory_equal(r, "abcdefghi\0xx", 12);
  /* past SD_SLAB_MAX: to malloc */
  char *big = M->realloc(r, 5000, M->user);
  assert_false(sd_slab_owns(S, big));
  assert_memory_equal(big, "abcdefghi\0xx", 12);
  assert_int_equal(stats().in_use, 0);
  M->free(big, M->user);
}

static void test_zeroed(void **state) {
  (void)state;
  unsigned char *p = M->malloc(96, M->user);
  memset(p, 0xab, 96);
  M->free(p, M->user);
  /* the same block comes back (LIFO), zeroed */
  unsigned char *z = M->calloc(12, 8, M->user);
  assert_ptr_equal(z, p);
  for (int i = 0; i < 96; i++)
    assert_int_equal(z[i], 0);
  M->free(z, M->user);
  assert_null(M->calloc(SIZE_MAX / 2, 4, M->user)); /* overflow */
}

static void test_span_reuse(void **state) {
  (void)state;
  const size_t per = SPAN / 1024;
  void *p[64];
  for (size_t i = 0; i < per + 1; i++)
    p[i] = M->malloc(1000, M->user);
  assert_int_equal(stats().spans, 2);
  /* a block freed in the full span is used before anything else */
  M->free(p[3], M->user);
  void *again = M->malloc(1024, M->user);
  assert_ptr_equal(again, p[3]);
  p[3] = again;
  assert_int_equal(stats().spans, 2);
  for (size_t i = 0; i < per + 1; i++)
    M->free(p[i], M->user);
  assert_int_equal(stats().spans, 0);
  /* an empty span serves any class, before a new one is carved */
  sd_slab_stats st = stats();
  void *s = M->malloc(24, M->user);
  assert_int_equal(stats().empty_dirty, st.empty_dirty - 1);
  M->free(s, M->user);
}

static void test_trim(void **state) {
  (void)state;
  enum { N = 4 * (SPAN / 1024) };
  void *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = M->malloc(1024, M->user);
    memset(p[i], 7, 1024);
  }
  /* carved in order: the four spans are contiguous */
  char *lo = p[0];
  assert_int_equal(resident_pages(lo, 4 * SPAN),
                   4 * SPAN / sysconf(_SC_PAGESIZE));
  for (int i = 0; i < N; i++)
    M->free(p[i], M->user);
  assert_int_equal(stats().empty_dirty, 4);
  /* keep 1: the last emptied stays resident, three go back */
  assert_int_equal(sd_slab_trim(S, 1), 3);
  sd_slab_stats st = stats();
  assert_int_equal(st.empty_dirty, 1);
  assert_int_equal(st.empty_clean, 3);
  assert_int_equal(st.released, 3);
  assert_int_equal(resident_pages(lo, 4 * SPAN), SPAN / sysconf(_SC_PAGESIZE));
  assert_int_equal(sd_slab_trim(S, 1), 0); /* nothing more to give */
  assert_int_equal(sd_slab_trim(S, 0), 1);
  assert_int_equal(resident_pages(lo, 4 * SPAN), 0);
  /* given-back spans serve again */
  char *q = M->malloc(500, M->user);
  assert_true(q >= lo && q < lo + 4 * SPAN);
  memset(q, 1, 500);
  M->free(q, M->user);
  assert_int_equal(sd_slab_trim(NULL, 0), 0);
}

/*
 * The reason for the slab (slab.c): a burst allocates a transaction's
 * large blocks and a line's small long-lived one in turn; once the
 * transactions are gone, only the small blocks' spans stay, packed.
 */
static void test_no_pinned_holes(void **state) {
  (void)state;
  enum { LINES = 1000 };
  static void *tx[LINES][2], *keep[LINES];
  for (int i = 0; i < LINES; i++) {
    tx[i][0] = M->malloc(880, M->user);  /* a transaction... */
    tx[i][1] = M->malloc(1030, M->user); /* ...and its request */
    keep[i] = M->malloc(88, M->user);    /* the line's digest state */
    memset(tx[i][0], 1, 880);
    memset(tx[i][1], 1, 1030);
    memset(keep[i], 2, 88);
  }
  for (int i = 0; i < LINES; i++) {
    M->free(tx[i][0], M->user);
    M->free(tx[i][1], M->user);
  }
  sd_slab_trim(S, 0);
  sd_slab_stats st = stats();
  size_t per = SPAN / 96;
  assert_int_equal(st.spans, (LINES + per - 1) / per);
  assert_int_equal(st.in_use, (size_t)LINES * 96);
  assert_int_equal(st.empty_dirty, 0);
  /* resident: the small blocks' spans, not the ~2 MB of the transactions */
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)keep[0], hi = lo;
  for (int i = 0; i < LINES; i++) {
    void *all[3] = {tx[i][0], tx[i][1], keep[i]};
    for (int k = 0; k < 3; k++) {
      if ((uintptr_t)all[k] < lo)
        lo = (uintptr_t)all[k];
      if ((uintptr_t)all[k] > hi)
        hi = (uintptr_t)all[k];
    }
  }
  lo = lo / pg * pg;
  size_t res = 0;
  for (uintptr_t a = lo; a <= hi; a += 1024 * pg) {
    size_t n = hi + 1 - a < 1024 * pg ? hi + 1 - a : 1024 * pg;
    res += resident_pages((void *)a, n);
  }
  assert_true(res * pg <= st.spans * SPAN);
  assert_true(res > 0);
  for (int i = 0; i < LINES; i++)
    M->free(keep[i], M->user);
  assert_int_equal(stats().in_use, 0);
}

static void test_fallback(void **state) {
  (void)state;
  assert_null(sd_slab_new(SPAN - 1)); /* not even one span */
  assert_null(sd_slab_mem(NULL));
  sd_slab *s = sd_slab_new(2 * SPAN);
  assert_non_null(s);
  const sipline_mem *m = sd_slab_mem(s);
  void *a = m->malloc(16, m->user);
  void *b = m->malloc(100, m->user);
  void *c = m->malloc(300, m->user); /* a third class: no span left */
  assert_true(sd_slab_owns(s, a));
  assert_true(sd_slab_owns(s, b));
  assert_false(sd_slab_owns(s, c));
  sd_slab_stats st;
  sd_slab_stats_get(s, &st);
  assert_int_equal(st.fallback, 1);
  assert_int_equal(st.reserved, 2 * SPAN);
  m->free(c, m->user);
  m->free(a, m->user);
  /* a's span is empty again: the third class gets it */
  void *d = m->malloc(300, m->user);
  assert_true(sd_slab_owns(s, d));
  m->free(d, m->user);
  m->free(b, m->user);
  sd_slab_del(s);
  sd_slab_del(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_every_size, setup, teardown),
      cmocka_unit_test_setup_teardown(test_large_and_foreign, setup, teardown),
      cmocka_unit_test_setup_teardown(test_grow_shrink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_zeroed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_span_reuse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_pinned_holes, setup, teardown),
      cmocka_unit_test(test_fallback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
