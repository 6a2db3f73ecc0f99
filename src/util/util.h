/*
 * src/util/util.h: internal helpers shared by every layer: growable byte
 * buffers, a deadline min-heap and a FIFO of owned byte blobs. All memory goes
 * through a sipline_mem; nothing here reads a clock.
 */
#ifndef SIPLINE_UTIL_H
#define SIPLINE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sipline/base.h"

#define SIPLINE__UNUSED(x) ((void)(x))
#define SIPLINE__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SIPLINE__MIN(a, b) ((a) < (b) ? (a) : (b))
#define SIPLINE__MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define SIPLINE__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SIPLINE__PRINTF(f, a)
#endif

/*
 * A growable buffer. Appends never fail loudly: the first allocation failure
 * sets err to SIPLINE_ERR_NOMEM and later appends do nothing, so a builder
 * can append a whole message and check err once at the end.
 */
typedef struct sipline__buf {
  char *p;
  size_t len;
  size_t cap;
  const sipline_mem *mem;
  int err;
} sipline__buf;

void sipline__buf_init(sipline__buf *b, const sipline_mem *mem);
void sipline__buf_free(sipline__buf *b);
void sipline__buf_reset(sipline__buf *b);
int sipline__buf_reserve(sipline__buf *b, size_t extra);
/* The growing path of sipline__buf_append. */
void sipline__buf_append_grow(sipline__buf *b, const void *p, size_t n);
/*
 * Appends n bytes (NUL-terminated after them). Inline, because a builder
 * sizes the buffer once and then makes a few dozen small appends per
 * message, most of a literal's constant length: the copy compiles to a few
 * moves instead of a call to memcpy (issue 10 item 5). With a buffer
 * allocated, len < cap always holds (room for the NUL), so n < cap - len
 * cannot wrap and leaves room for n bytes and the NUL.
 */
static inline void sipline__buf_append(sipline__buf *b, const void *p,
                                       size_t n) {
  if (!b->err && n < b->cap - b->len) {
    if (n)
      memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return;
  }
  sipline__buf_append_grow(b, p, n);
}
static inline void sipline__buf_append_pl(sipline__buf *b, sipline_pl pl) {
  sipline__buf_append(b, pl.p, pl.len);
}
void sipline__buf_append_str(sipline__buf *b, const char *s);
void sipline__buf_printf(sipline__buf *b, const char *fmt, ...)
    SIPLINE__PRINTF(2, 3);
void sipline__buf_vprintf(sipline__buf *b, const char *fmt, va_list ap);
/* Takes the bytes out of the buffer; the caller frees them with b->mem. */
char *sipline__buf_steal(sipline__buf *b, size_t *len);

/* Copies a view into a NUL-terminated allocation; NULL on failure. */
char *sipline__strndup(const sipline_mem *mem, const char *p, size_t n);
char *sipline__strdup(const sipline_mem *mem, const char *s);
/* Copies s (NULL: "") into dst of cap bytes, truncating; NUL-terminated
 * when cap > 0. No snprintf: the compiler's truncation warnings stay for
 * the places that do not mean to truncate. */
void sipline__str_copy(char *dst, size_t cap, const char *s);

/*
 * Deadlines. A timer is embedded in the object that owns it; the heap only
 * holds pointers, so arming never allocates once the heap has grown.
 */
typedef struct sipline__timer sipline__timer;
typedef void (*sipline__timer_cb)(sipline__timer *t, void *arg,
                                  sipline_tstamp now);
struct sipline__timer {
  sipline_tstamp when;
  size_t idx; /* position in the heap + 1; 0 when not armed */
  sipline__timer_cb cb;
  void *arg;
};

/* A heap slot: the deadline is kept beside the pointer, so that ordering the
 * heap reads only the heap's own array and never a timer that is not moving
 * (at 100,000 lines the timers are cold, and the old heap of pointers missed
 * the cache twice per level). */
typedef struct sipline__hent {
  sipline_tstamp when;
  sipline__timer *t;
} sipline__hent;

typedef struct sipline__theap {
  sipline__hent *v;
  size_t n;
  size_t cap;
  const sipline_mem *mem;
} sipline__theap;

void sipline__theap_init(sipline__theap *h, const sipline_mem *mem);
void sipline__theap_free(sipline__theap *h);
void sipline__timer_init(sipline__timer *t, sipline__timer_cb cb, void *arg);
/* Arms (or re-arms) t at when. Returns 0 or SIPLINE_ERR_NOMEM. */
int sipline__timer_arm(sipline__theap *h, sipline__timer *t,
                       sipline_tstamp when);
/* Disarms t; harmless when t is not armed. */
void sipline__timer_cancel(sipline__theap *h, sipline__timer *t);
static inline bool sipline__timer_armed(const sipline__timer *t) {
  return t->idx != 0;
}
/* The earliest deadline, or SIPLINE_TSTAMP_NONE. */
sipline_tstamp sipline__theap_next(const sipline__theap *h);
/*
 * Fires every timer due at or before now, earliest first; a callback may arm
 * or cancel any timer. Returns how many fired.
 */
size_t sipline__theap_run(sipline__theap *h, sipline_tstamp now);

/* A FIFO of owned blobs with an attached fixed-size header (e.g. a path). */
typedef struct sipline__qitem {
  struct sipline__qitem *next;
  size_t len;
  size_t cap; /* bytes of data[] allocated (header + body) */
  /* hdr_size bytes of header, then len bytes of data */
  _Alignas(max_align_t) unsigned char data[];
} sipline__qitem;

typedef struct sipline__queue {
  sipline__qitem *head;
  sipline__qitem *tail;
  size_t count;
  size_t hdr_size;
  const sipline_mem *mem;
  /* One item given back by the consumer (sipline__queue_recycle), reused by
   * the next push that fits: a UA that sends one request at a time then
   * copies into the same warm block instead of a malloc and a free per
   * message (issue 10 item 5). */
  sipline__qitem *spare;
} sipline__queue;

void sipline__queue_init(sipline__queue *q, const sipline_mem *mem,
                         size_t hdr_size);
void sipline__queue_free(sipline__queue *q);
/* Copies hdr (hdr_size bytes) and data in. 0 or SIPLINE_ERR_NOMEM. */
int sipline__queue_push(sipline__queue *q, const void *hdr, const void *data,
                        size_t len);
/* Unlinks the head; the caller gives it back with sipline__queue_recycle
 * (or frees it with sipline_mem_free(q->mem)). */
sipline__qitem *sipline__queue_pop(sipline__queue *q);
/* Takes back a popped item (NULL is fine): kept as the spare when it is
 * small (SIPLINE__QUEUE_SPARE_MAX) and there is none, else freed. */
void sipline__queue_recycle(sipline__queue *q, sipline__qitem *it);
#define SIPLINE__QUEUE_SPARE_MAX 4096u
static inline void *sipline__qitem_hdr(sipline__qitem *it) {
  return it->data;
}
static inline unsigned char *sipline__qitem_body(sipline__qitem *it,
                                                 size_t hdr_size) {
  return it->data + hdr_size;
}

/* Constant-time comparison of two equal-length byte strings (1 if equal). */
int sipline__ct_eq(const void *a, const void *b, size_t n);

#endif
