/*
 * src/util/timer.c: a binary min-heap of deadlines. Timers are intrusive, so
 * a transaction or registration owns its timer and the heap never copies.
 */
#include <string.h>

#include "util.h"

void sipline__theap_init(sipline__theap *h, const sipline_mem *mem) {
  memset(h, 0, sizeof(*h));
  h->mem = mem;
}

void sipline__theap_free(sipline__theap *h) {
  for (size_t i = 0; i < h->n; i++)
    h->v[i]->idx = 0;
  sipline_mem_free(h->mem, h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}

void sipline__timer_init(sipline__timer *t, sipline__timer_cb cb, void *arg) {
  t->when = SIPLINE_TSTAMP_NONE;
  t->idx = 0;
  t->cb = cb;
  t->arg = arg;
}

static void place(sipline__theap *h, size_t i, sipline__timer *t) {
  h->v[i] = t;
  t->idx = i + 1;
}

static void sift_up(sipline__theap *h, size_t i) {
  sipline__timer *t = h->v[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->v[parent]->when <= t->when)
      break;
    place(h, i, h->v[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(sipline__theap *h, size_t i) {
  sipline__timer *t = h->v[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n)
      break;
    if (c + 1 < h->n && h->v[c + 1]->when < h->v[c]->when)
      c++;
    if (t->when <= h->v[c]->when)
      break;
    place(h, i, h->v[c]);
    i = c;
  }
  place(h, i, t);
}

static void remove_at(sipline__theap *h, size_t i) {
  sipline__timer *t = h->v[i];
  t->idx = 0;
  h->n--;
  if (i == h->n)
    return;
  h->v[i] = h->v[h->n];
  h->v[i]->idx = i + 1;
  sift_down(h, i);
  sift_up(h, h->v[i]->idx - 1);
}

void sipline__timer_cancel(sipline__theap *h, sipline__timer *t) {
  if (t->idx)
    remove_at(h, t->idx - 1);
  t->when = SIPLINE_TSTAMP_NONE;
}

int sipline__timer_arm(sipline__theap *h, sipline__timer *t,
                       sipline_tstamp when) {
  if (t->idx) {
    size_t i = t->idx - 1;
    t->when = when;
    sift_down(h, i);
    sift_up(h, t->idx - 1);
    return 0;
  }
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    sipline__timer **v =
        sipline_mem_realloc(h->mem, h->v, cap * sizeof(*v));
    if (!v)
      return SIPLINE_ERR_NOMEM;
    h->v = v;
    h->cap = cap;
  }
  t->when = when;
  h->v[h->n] = t;
  t->idx = ++h->n;
  sift_up(h, h->n - 1);
  return 0;
}

sipline_tstamp sipline__theap_next(const sipline__theap *h) {
  return h->n ? h->v[0]->when : SIPLINE_TSTAMP_NONE;
}

size_t sipline__theap_run(sipline__theap *h, sipline_tstamp now) {
  size_t fired = 0;
  while (h->n && h->v[0]->when <= now) {
    sipline__timer *t = h->v[0];
    remove_at(h, 0);
    fired++;
    if (t->cb)
      t->cb(t, t->arg, now);
  }
  return fired;
}
