/*
 * sipline/base.h: the vocabulary every other sipline header uses.
 *
 * Errors, zero-copy string views, time stamps, the allocator and the random
 * source. Nothing here does I/O: the core never reads a clock, opens a socket
 * or calls rand(); the application passes time and randomness in.
 */
#ifndef SIPLINE_BASE_H
#define SIPLINE_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIPLINE_VERSION "0.1.0"

/*
 * Errors. Every function that can fail returns 0 (or a non-negative count)
 * on success and one of these on failure. SIP status codes are never C
 * errors: they travel in events and in parsed messages.
 */
enum sipline_error {
  SIPLINE_OK = 0,
  SIPLINE_ERR_NOMEM = -1,       /* an allocation failed */
  SIPLINE_ERR_INVAL = -2,       /* an argument is out of its domain */
  SIPLINE_ERR_INCOMPLETE = -3,  /* need more bytes (stream input) */
  SIPLINE_ERR_MALFORMED = -4,   /* input breaks the grammar */
  SIPLINE_ERR_NOTFOUND = -5,    /* no such header, parameter, line, ... */
  SIPLINE_ERR_RANGE = -6,       /* a number does not fit its field */
  SIPLINE_ERR_STATE = -7,       /* not allowed in the object's state */
  SIPLINE_ERR_UNSUPPORTED = -8, /* valid but not implemented */
  SIPLINE_ERR_TOOBIG = -9,      /* exceeds a configured limit */
  SIPLINE_ERR_AUTH = -10,       /* credentials missing or wrong */
  SIPLINE_ERR_STALE = -11,      /* credentials right but nonce expired */
  SIPLINE_ERR_REPLAY = -12,     /* nonce count seen before */
  SIPLINE_ERR_CRYPTO = -13,     /* the crypto library failed */
  SIPLINE_ERR_AGAIN = -14,      /* nothing to return now */
  SIPLINE_ERR_EXISTS = -15,     /* already there */
  SIPLINE_ERR_CONFIG = -16,     /* a configuration value is wrong */
  SIPLINE_ERR_IO = -17,         /* an I/O error (tools and daemon only) */
  SIPLINE_ERR_TIMEOUT = -18,    /* a transaction timed out */
  SIPLINE_ERR_TRANSPORT = -19,  /* a transport failed */
};

/* A static English sentence for an error code; never NULL. */
const char *sipline_strerror(int err);

/*
 * A zero-copy string view: p points into a buffer someone else owns (for a
 * parsed message, the buffer passed to the parser). Not NUL-terminated.
 */
typedef struct sipline_pl {
  const char *p;
  size_t len;
} sipline_pl;

#define SIPLINE_PL(s) ((sipline_pl){(s), sizeof(s) - 1})
#define SIPLINE_PL_NULL ((sipline_pl){NULL, 0})

/* A view of a NUL-terminated string (NULL gives the empty view). */
sipline_pl sipline_pl_str(const char *s);
/* 1 when a and b hold the same bytes. */
int sipline_pl_eq(sipline_pl a, sipline_pl b);
/* 1 when a equals the C string s, ignoring ASCII case. */
int sipline_pl_casecmp_str(sipline_pl a, const char *s);
/* 1 when a and b are equal ignoring ASCII case. */
int sipline_pl_caseeq(sipline_pl a, sipline_pl b);
/* Strips leading and trailing SP, HTAB, CR and LF. */
sipline_pl sipline_pl_trim(sipline_pl a);
/*
 * Parses an unsigned decimal of at most 19 digits. Returns 0, or
 * SIPLINE_ERR_MALFORMED (empty, non-digit) or SIPLINE_ERR_RANGE (> max).
 */
int sipline_pl_u64(sipline_pl a, uint64_t max, uint64_t *out);

/*
 * Time: milliseconds on a monotonic clock the application chooses. The core
 * only compares and adds time stamps; a test may start at 0.
 */
typedef uint64_t sipline_tstamp;
#define SIPLINE_TSTAMP_NONE UINT64_MAX
#define SIPLINE_MS(x) ((sipline_tstamp)(x))
#define SIPLINE_SEC(x) ((sipline_tstamp)(x) * 1000u)

/*
 * The allocator. Every allocation the core makes goes through it, so an
 * application can cap memory and a test can fail the n-th allocation. Any
 * member may be NULL to use the C library's function. user is passed back.
 */
typedef struct sipline_mem {
  void *user;
  void *(*malloc)(size_t size, void *user);
  void (*free)(void *ptr, void *user);
  void *(*calloc)(size_t nmemb, size_t size, void *user);
  void *(*realloc)(void *ptr, size_t size, void *user);
} sipline_mem;

/* The C library's allocator, for callers who have no other. */
const sipline_mem *sipline_mem_default(void);

void *sipline_mem_malloc(const sipline_mem *mem, size_t size);
void *sipline_mem_calloc(const sipline_mem *mem, size_t n, size_t size);
void *sipline_mem_realloc(const sipline_mem *mem, void *ptr, size_t size);
void sipline_mem_free(const sipline_mem *mem, void *ptr);

/*
 * The random source: a small deterministic generator (xoshiro256**) seeded
 * by the application. The daemon seeds it from OpenSSL; a simulation seeds it
 * from the scenario, so the same seed gives the same timeline.
 */
typedef struct sipline_rng {
  uint64_t s[4];
} sipline_rng;

void sipline_rng_seed(sipline_rng *r, uint64_t seed);
uint64_t sipline_rng_next(sipline_rng *r);
/* A uniform integer in [0, bound); 0 when bound is 0. */
uint64_t sipline_rng_below(sipline_rng *r, uint64_t bound);
/* Writes n random characters from [a-zA-Z0-9] (tags, branches, cnonces). */
void sipline_rng_token(sipline_rng *r, char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
