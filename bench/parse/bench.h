/*
 * bench/parse/bench.h: the interface between the parse benchmark's driver
 * (main.c) and one adapter per SIP stack (stack_*.c).
 *
 * Every adapter parses one message and then reads the same forced set of
 * fields: the start line (method or status, Request-URI host), every Via
 * value (host, port, branch), From and To (URI host, tag), Call-ID, CSeq
 * (number, method), every Contact value (URI host), Content-Length as an
 * integer and the body (length, first and last byte); then it frees what
 * it allocated. In check mode the values land in a struct fields so the
 * stacks can be compared; in timing mode f is NULL and each value is folded
 * into a volatile sink so that no read can be optimised away.
 */
#ifndef SIPLINE_BENCH_PARSE_H
#define SIPLINE_BENCH_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct bench_fields {
  char start[32];
  char ruri_host[64];
  int nvia;
  char via0_host[64];
  unsigned via0_port;
  char via0_branch[64];
  char from_host[64], from_tag[40];
  char to_host[64], to_tag[40];
  char callid[96];
  unsigned long cseq;
  char cseq_method[16];
  int ncontact;
  char contact_host[64];
  long clen;
  size_t body_len;
  int body_first, body_last;
} bench_fields;

extern volatile uintptr_t bench_sink;

static inline void bench_copy(char *dst, size_t cap, const char *p, size_t n) {
  if (p == NULL)
    n = 0;
  if (n >= cap)
    n = cap - 1;
  if (n)
    memcpy(dst, p, n);
  dst[n] = '\0';
}

/* A string field: copied in check mode, folded into the sink otherwise. */
#define BSTR(f, member, p, n)                                                  \
  do {                                                                         \
    const char *bp_ = (const char *)(p);                                       \
    size_t bn_ = (size_t)(n);                                                  \
    if (f)                                                                     \
      bench_copy((f)->member, sizeof((f)->member), bp_, bn_);                  \
    else                                                                       \
      bench_sink +=                                                            \
          (uintptr_t)bp_ + bn_ + (bp_ && bn_ ? (unsigned char)bp_[0] : 0u);    \
  } while (0)
#define BSTRZ(f, member, s)                                                    \
  do {                                                                         \
    const char *bs_ = (s);                                                     \
    BSTR(f, member, bs_, bs_ ? strlen(bs_) : 0);                               \
  } while (0)
#define BNUM(f, member, v)                                                     \
  do {                                                                         \
    if (f)                                                                     \
      (f)->member = (v);                                                       \
    else                                                                       \
      bench_sink += (uintptr_t)(v);                                            \
  } while (0)

typedef struct bench_stack {
  const char *name;
  int (*init)(void);
  /* buf[len] == '\0' and buf is writable (some stacks want that). */
  int (*parse)(char *buf, size_t len, bench_fields *f);
} bench_stack;

extern const bench_stack bench_sipline;
#ifdef HAVE_OSIP
extern const bench_stack bench_osip;
#endif
#ifdef HAVE_SOFIA
extern const bench_stack bench_sofia;
#endif
#ifdef HAVE_LIBRE
extern const bench_stack bench_libre;
#endif

#endif
