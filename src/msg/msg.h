/*
 * src/msg/msg.h: internals of the message layer shared by its .c files:
 * the character-class table the scanners use and a few small helpers.
 */
#ifndef SIPLINE_MSG_INTERNAL_H
#define SIPLINE_MSG_INTERNAL_H

#include <stdbool.h>
#include <string.h>

#include "sipline/msg.h"

/* Character classes (RFC 3261 §25.1), one bit each. */
enum {
  SIPLINE__C_TOKEN = 1u << 0,   /* token */
  SIPLINE__C_UNRES = 1u << 1,   /* unreserved = alphanum / mark */
  SIPLINE__C_USER = 1u << 2,    /* user-unreserved + unreserved */
  SIPLINE__C_PASS = 1u << 3,    /* password chars besides escapes */
  SIPLINE__C_PARAM = 1u << 4,   /* paramchar besides escapes */
  SIPLINE__C_HNV = 1u << 5,     /* hname/hvalue chars besides escapes */
  SIPLINE__C_WORD = 1u << 6,    /* word (Call-ID) */
  SIPLINE__C_URIC = 1u << 7,    /* uric, for absoluteURI */
  SIPLINE__C_HOST = 1u << 8,    /* hostname chars (alphanum - . _) */
  SIPLINE__C_GENV = 1u << 9,    /* gen-value: token, host (':' '[' ']') */
  SIPLINE__C_LIST = 1u << 10,   /* bytes sipline_list_next stops at */
  SIPLINE__C_LWS = 1u << 11,    /* SP HTAB CR LF */
  SIPLINE__C_UINFO = 1u << 12,  /* userinfo: user, password, ':' and '%' */
  SIPLINE__C_PCHAR = 1u << 13,  /* paramchar and '%' */
  SIPLINE__C_SCHEME = 1u << 14, /* scheme chars after the first */
};

extern const uint16_t sipline__cc[256];
extern const uint8_t sipline__lower[256];

static inline bool sipline__is(unsigned char c, unsigned cls) {
  return (sipline__cc[c] & cls) != 0;
}
static inline bool sipline__digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
static inline bool sipline__hex(unsigned char c) {
  return sipline__digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
static inline bool sipline__alpha(unsigned char c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
static inline bool sipline__ws(unsigned char c) {
  return c == ' ' || c == '\t';
}
/* SP, HTAB, CR, LF: folded values keep their CRLF, treated as LWS. */
static inline bool sipline__lws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline sipline_pl sipline__pl(const char *p, const char *e) {
  sipline_pl r = {p, (size_t)(e - p)};
  return r;
}

/*
 * The end of the run of class-cls bytes from p. Eight bytes a step with one
 * bounds check: hosts, tokens and parameter values are mostly longer than
 * that, and a byte loop spends as much on the bound as on the class test.
 */
static inline const char *sipline__span(const char *p, const char *e,
                                        unsigned cls) {
  while (e - p >= 8) {
    if (!sipline__is((unsigned char)p[0], cls))
      return p;
    if (!sipline__is((unsigned char)p[1], cls))
      return p + 1;
    if (!sipline__is((unsigned char)p[2], cls))
      return p + 2;
    if (!sipline__is((unsigned char)p[3], cls))
      return p + 3;
    if (!sipline__is((unsigned char)p[4], cls))
      return p + 4;
    if (!sipline__is((unsigned char)p[5], cls))
      return p + 5;
    if (!sipline__is((unsigned char)p[6], cls))
      return p + 6;
    if (!sipline__is((unsigned char)p[7], cls))
      return p + 7;
    p += 8;
  }
  while (p < e && sipline__is((unsigned char)*p, cls))
    p++;
  return p;
}

/* Skips LWS from p up to e. */
static inline const char *sipline__skip_lws(const char *p, const char *e) {
  while (p < e && sipline__is((unsigned char)*p, SIPLINE__C_LWS))
    p++;
  return p;
}
/* Strips trailing LWS. */
static inline const char *sipline__rskip_lws(const char *b, const char *e) {
  while (e > b && sipline__is((unsigned char)e[-1], SIPLINE__C_LWS))
    e--;
  return e;
}

/* Case-insensitive equality of n bytes. */
static inline bool sipline__casen(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (sipline__lower[(unsigned char)a[i]] !=
        sipline__lower[(unsigned char)b[i]])
      return false;
  return true;
}

/* "SIP/" in any case at p (4 bytes readable): one load, the case fold on
 * the three letters only. */
static inline bool sipline__sip_slash(const char *p) {
  uint32_t w;
  memcpy(&w, p, 4);
  return (w | 0x00202020u) == 0x2f706973u;
}

/* Parses 1*DIGIT up to max; false if empty, non-digit or too big. Leading
 * zeros are legal (RFC 4475 §3.1.1.1), so only the value is bounded, never
 * the digit count. */
static inline bool sipline__uint(sipline_pl in, uint64_t max, uint64_t *out) {
  const char *p = in.p, *e = in.p + in.len;
  if (in.len - 1 < 9) {
    /* 1 to 9 digits: no overflow possible, leading zeros harmless */
    uint64_t v = 0;
    for (; p < e; p++) {
      const unsigned c = (unsigned)(unsigned char)*p - '0';
      if (c > 9)
        return false;
      v = v * 10 + c;
    }
    if (v > max)
      return false;
    *out = v;
    return true;
  }
  if (in.len == 0)
    return false;
  while (p < e - 1 && *p == '0')
    p++;
  if (e - p > 19)
    return false; /* 10^19 or more: beyond any max we use */
  uint64_t v = 0;
  for (; p < e; p++) {
    const unsigned c = (unsigned)(unsigned char)*p - '0';
    if (c > 9)
      return false;
    v = v * 10 + c;
  }
  if (v > max)
    return false;
  *out = v;
  return true;
}

/*
 * Scans a quoted-string starting at p ('"'), honouring quoted-pairs.
 * Returns the pointer past the closing quote, or NULL if unterminated.
 */
const char *sipline__quoted_end(const char *p, const char *e);
#include "msg/param.h"

/*
 * Parses one Via value at the start of in and stops at the first ',' outside
 * a quoted string (or the end). *used gets the bytes consumed (not counting
 * the comma).
 */
int sipline__via_parse_prefix(sipline_pl in, sipline_via *out, size_t *used);

/*
 * Checks a raw ";a=b;c" generic-param run (header parameters, RFC 3261
 * generic-param). Returns 0 or SIPLINE_ERR_MALFORMED.
 */
int sipline__gen_params_check(sipline_pl params);

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the header-name scanner assumes a little-endian machine"
#endif

#endif
