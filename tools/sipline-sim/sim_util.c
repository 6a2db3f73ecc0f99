/*
 * tools/sipline-sim/sim_util.c: allocation, the string builder and a hash,
 * shared by the engine's files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static void oom(void) {
  fprintf(stderr, "sipline-sim: out of memory\n");
  exit(3);
}

void *sim__xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    oom();
  return p;
}

void *sim__xcalloc(size_t n, size_t s) {
  void *p = calloc(n ? n : 1, s ? s : 1);
  if (!p)
    oom();
  return p;
}

void *sim__xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p)
    oom();
  return p;
}

char *sim__xstrdup(const char *s) {
  size_t n = strlen(s);
  char *d = sim__xmalloc(n + 1);
  memcpy(d, s, n + 1);
  return d;
}

void sim__sb_add(sb *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 256;
    while (c < b->len + n + 1)
      c *= 2;
    b->p = sim__xrealloc(b->p, c);
    b->cap = c;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void sim__sb_str(sb *b, const char *s) {
  sim__sb_add(b, s, strlen(s));
}

void sim__sb_printf(sb *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof tmp) {
    sim__sb_add(b, tmp, (size_t)n);
    return;
  }
  char *big = sim__xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sim__sb_add(b, big, (size_t)n);
  free(big);
}

int sim__sb_read_file(sb *b, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    sim__sb_add(b, buf, n);
  fclose(f);
  return 0;
}

uint64_t sim__fnv(const void *p, size_t n, uint64_t h) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ull;
  }
  return h;
}

int sim__fail(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return 2;
}

int sim__addr_same(const sipline_addr *a, const sipline_addr *b) {
  if (a->family != b->family || a->port != b->port)
    return 0;
  return memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}
