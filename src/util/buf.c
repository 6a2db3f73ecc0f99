/* src/util/buf.c: growable buffers and string copies. */
#include <stdio.h>
#include <string.h>

#include "util.h"

void sipline__buf_init(sipline__buf *b, const sipline_mem *mem) {
  memset(b, 0, sizeof(*b));
  b->mem = mem;
}

void sipline__buf_free(sipline__buf *b) {
  sipline_mem_free(b->mem, b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->err = 0;
}

void sipline__buf_reset(sipline__buf *b) {
  b->len = 0;
  b->err = 0;
}

int sipline__buf_reserve(sipline__buf *b, size_t extra) {
  if (b->err)
    return b->err;
  if (extra > SIZE_MAX - b->len - 1) {
    b->err = SIPLINE_ERR_NOMEM;
    return b->err;
  }
  size_t need = b->len + extra + 1; /* room for a NUL keeps C users happy */
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = sipline_mem_realloc(b->mem, b->p, cap);
  if (!p) {
    b->err = SIPLINE_ERR_NOMEM;
    return b->err;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void sipline__buf_append_grow(sipline__buf *b, const void *p, size_t n) {
  if (sipline__buf_reserve(b, n))
    return;
  if (n)
    memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void sipline__buf_append_str(sipline__buf *b, const char *s) {
  sipline__buf_append(b, s, strlen(s));
}

void sipline__buf_vprintf(sipline__buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) {
    b->err = SIPLINE_ERR_INVAL;
    return;
  }
  if (sipline__buf_reserve(b, (size_t)n))
    return;
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void sipline__buf_printf(sipline__buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sipline__buf_vprintf(b, fmt, ap);
  va_end(ap);
}

char *sipline__buf_steal(sipline__buf *b, size_t *len) {
  char *p = b->p;
  if (len)
    *len = b->len;
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

char *sipline__strndup(const sipline_mem *mem, const char *p, size_t n) {
  char *s = sipline_mem_malloc(mem, n + 1);
  if (!s)
    return NULL;
  if (n)
    memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

char *sipline__strdup(const sipline_mem *mem, const char *s) {
  return sipline__strndup(mem, s, strlen(s));
}

void sipline__str_copy(char *dst, size_t cap, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (!cap)
    return;
  if (n >= cap)
    n = cap - 1;
  if (n)
    memcpy(dst, s, n);
  dst[n] = 0;
}
