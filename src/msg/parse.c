/*
 * src/msg/parse.c: splitting a message into start line, headers and body
 * (RFC 3261 §7, §18.3), and the eager decode of the fields every SIP element
 * needs. Zero-copy and allocation-free: one pass of memchr() over the lines,
 * a token scan per header name, and a (length, first letter) switch to
 * identify it.
 */
#include "msg/hdrtab.h"
#include "msg/msg.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define SIPLINE__SSE2 1
#endif

static ptrdiff_t fail(const sipline_msg *m, sipline_msg_error *err, int code,
                      const char *reason, int status, sipline_hdr_id hdr,
                      const char *at) {
  if (err) {
    err->reason = reason;
    /* A malformed response is dropped (RFC 3261 §16.7, §8.1.3.1): there is
     * no one to answer. */
    err->status = m->is_request ? status : 0;
    err->hdr = hdr;
    err->offset = at ? (size_t)(at - m->buf) : 0;
  }
  return code;
}

size_t sipline_stream_skip_crlf(const char *buf, size_t len) {
  size_t i = 0;
  while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
    i++;
  return i;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; 1 when it is SIP/2.0, 0 for
 * another well-formed version, -1 when malformed. */
static int version_check(sipline_pl v) {
  const char *p = v.p, *e = v.p + v.len;
  if (v.len == 7 && memcmp(p, "SIP/2.0", 7) == 0)
    return 1; /* the usual spelling, in two loads */
  if (v.len < 7 || !sipline__sip_slash(p))
    return -1;
  p += 4;
  const char *s = p;
  while (p < e && sipline__digit((unsigned char)*p))
    p++;
  if (p == s || p >= e || *p != '.')
    return -1;
  const char *s2 = ++p;
  while (p < e && sipline__digit((unsigned char)*p))
    p++;
  if (p == s2 || p != e)
    return -1;
  return v.len == 7 && v.p[4] == '2' && v.p[6] == '0' ? 1 : 0;
}

static ptrdiff_t start_line(sipline_msg *m, const char *p, const char *e,
                            sipline_msg_error *err) {
  if (e - p >= 4 && sipline__sip_slash(p)) {
    /* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
    m->is_request = 0;
    const char *sp = memchr(p, ' ', (size_t)(e - p));
    if (sp == NULL)
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad status line", 0, 0, p);
    m->version = sipline__pl(p, sp);
    if (version_check(m->version) != 1)
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad SIP version", 0, 0, p);
    const char *c = sp + 1;
    if (e - c < 3 || !sipline__digit((unsigned char)c[0]) ||
        !sipline__digit((unsigned char)c[1]) ||
        !sipline__digit((unsigned char)c[2]) || (e - c > 3 && c[3] != ' '))
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad status code", 0, 0, c);
    m->status =
        (uint16_t)((c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0'));
    if (m->status < 100 || m->status > 699)
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad status code", 0, 0, c);
    /* The reason phrase may be empty (RFC 4475 §3.1.1.13). */
    m->reason = e - c > 3 ? sipline__pl(c + 4, e) : sipline__pl(e, e);
    m->method = SIPLINE_METHOD_UNKNOWN;
    m->method_name = SIPLINE_PL_NULL;
    m->ruri_raw = SIPLINE_PL_NULL;
    memset(&m->ruri, 0, sizeof(m->ruri));
    return 0;
  }
  /* Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP
   * between the elements (RFC 4475 §3.1.2.9/10). */
  m->is_request = 1;
  m->status = 0;
  m->reason = SIPLINE_PL_NULL;
  const char *s = p;
  p = sipline__span(p, e, SIPLINE__C_TOKEN);
  if (p == s || p >= e || *p != ' ')
    return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad request line", 400, 0, p);
  m->method_name = sipline__pl(s, p);
  m->method = sipline_method_from(m->method_name);
  const char *u = ++p;
  const char *sp = memchr(u, ' ', (size_t)(e - u));
  if (sp == NULL || sp == u)
    return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad request line", 400, 0, u);
  m->ruri_raw = sipline__pl(u, sp);
  m->version = sipline__pl(sp + 1, e);
  int v = version_check(m->version);
  if (v == 0)
    return fail(m, err, SIPLINE_ERR_MALFORMED, "Version Not Supported", 505, 0,
                sp + 1);
  if (v < 0)
    return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad request line", 400, 0,
                sp + 1);
  if (sipline_uri_parse(m->ruri_raw, &m->ruri) != 0)
    return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad Request-URI", 400, 0, u);
  return 0;
}

/* Bytes equal to zero in v: exact for the lowest one, which is all we use. */
static inline uint64_t zero_bytes(uint64_t v) {
  return (v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull;
}

/*
 * The offset of the first ':' in the 24 bytes at p, or 24 when there is none
 * or fewer than 24 bytes remain (then the caller scans). Three words and a
 * count-trailing-zeros instead of a byte loop; w gets the 24 bytes.
 */
static inline size_t colon_pos(const char *p, const char *end, uint64_t w[3]) {
  static const uint64_t colons = 0x3a3a3a3a3a3a3a3aull;
  if (end - p < 24)
    return 24;
  memcpy(w, p, 24);
  uint64_t z = zero_bytes(w[0] ^ colons);
  if (z)
    return (unsigned)__builtin_ctzll(z) >> 3;
  z = zero_bytes(w[1] ^ colons);
  if (z)
    return 8u + ((unsigned)__builtin_ctzll(z) >> 3);
  z = zero_bytes(w[2] ^ colons);
  if (z)
    return 16u + ((unsigned)__builtin_ctzll(z) >> 3);
  return 24;
}

/* Zeroes the bytes of w from offset n (< 24) on. */
static inline void keep_bytes(uint64_t w[3], size_t n) {
  const size_t i = n >> 3;
  w[i] &= (1ull << (8 * (n & 7))) - 1;
  if (i < 1)
    w[1] = 0;
  if (i < 2)
    w[2] = 0;
}

#ifdef SIPLINE__SSE2
/* Bit i set when byte i of the 16 at v equals c. */
static inline unsigned eq_mask(__m128i v, char c) {
  return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}

/* The first '\n' from p, 16 bytes a step (a header line is 20 to 80 bytes:
 * an inline loop costs less than the call into memchr()). */
static inline const char *lf_find(const char *p, const char *end) {
  const __m128i lf = _mm_set1_epi8('\n');
  while (end - p >= 32) {
    /* 32 bytes per bound check: most lines end within two blocks */
    const __m128i a =
        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), lf);
    const __m128i b = _mm_cmpeq_epi8(
        _mm_loadu_si128((const __m128i *)(const void *)(p + 16)), lf);
    const unsigned m =
        (unsigned)_mm_movemask_epi8(a) | (unsigned)_mm_movemask_epi8(b) << 16;
    if (m)
      return p + __builtin_ctz(m);
    p += 32;
  }
  while (end - p >= 16) {
    const unsigned m =
        eq_mask(_mm_loadu_si128((const __m128i *)(const void *)p), '\n');
    if (m)
      return p + __builtin_ctz(m);
    p += 16;
  }
  return memchr(p, '\n', (size_t)(end - p));
}
#endif

/* CSeq = 1*DIGIT LWS Method */
static int cseq_parse(sipline_pl v, uint32_t *num, sipline_pl *meth) {
  const char *p = v.p, *e = v.p + v.len;
  const char *s = p;
  while (p < e && sipline__digit((unsigned char)*p))
    p++;
  uint64_t n;
  if (!sipline__uint(sipline__pl(s, p), UINT32_MAX, &n))
    return SIPLINE_ERR_MALFORMED;
  const char *ms = sipline__skip_lws(p, e);
  if (ms == p)
    return SIPLINE_ERR_MALFORMED;
  p = sipline__span(ms, e, SIPLINE__C_TOKEN);
  if (p == ms || p != e)
    return SIPLINE_ERR_MALFORMED;
  *num = (uint32_t)n;
  *meth = sipline__pl(ms, e);
  return 0;
}

/* Counts the Via values of one header line. */
static int via_count(sipline_pl v, unsigned *n) {
  if (memchr(v.p, ',', v.len) == NULL) {
    (*n)++;
    return 0;
  }
  sipline_pl rest = v, item;
  int r;
  while ((r = sipline_list_next(&rest, &item)) == 1)
    (*n)++;
  return r;
}

ptrdiff_t sipline_msg_parse(sipline_msg *m, const char *buf, size_t len,
                            unsigned flags, sipline_msg_error *err) {
  const bool stream = (flags & SIPLINE_PARSE_STREAM) != 0;
  const char *const end = buf + len;
  m->buf = buf;
  m->len = 0;
  m->is_request = 1;
  m->n_hdrs = 0;
  /* Cleared first, so a caller looking at a failed parse sees what was
   * decoded before the fault and nothing stale. */
  m->method_name = SIPLINE_PL_NULL;
  m->status = 0;
  m->call_id = SIPLINE_PL_NULL;
  if (buf == NULL || len == 0)
    return stream ? SIPLINE_ERR_INCOMPLETE
                  : fail(m, err, SIPLINE_ERR_MALFORMED, "Empty message", 400, 0,
                         buf);

  /* Start line. */
  const char *nl = memchr(buf, '\n', len);
  if (nl == NULL) {
    if (stream)
      return SIPLINE_ERR_INCOMPLETE;
    return fail(m, err, SIPLINE_ERR_MALFORMED, "No end of start line", 400, 0,
                end);
  }
  const char *le = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
  ptrdiff_t r = start_line(m, buf, le, err);
  if (r != 0)
    return r;

  /* Header lines. */
  memset(m->first, 0, sizeof(m->first));
  memset(m->count, 0, sizeof(m->count));
  const char *p = nl + 1;
  const char *body;
  unsigned n = 0;
  for (;;) {
#ifdef SIPLINE__SSE2
    if (__builtin_expect(end - p >= 16 && n < SIPLINE_MSG_MAX_HDRS, 1)) {
      /*
       * The usual line, in one straight path: a known name of at most 15
       * bytes right before its colon, no folding. One 16-byte load finds
       * the first line end and the colon and holds the name for the
       * lookup. Anything else, the empty line ending the headers too (no
       * colon before its LF), takes the general code below, from the
       * line's start.
       */
      const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
      const unsigned ml = eq_mask(v, '\n');
      const unsigned mc = eq_mask(v, ':') & ((ml & -ml) - 1u);
      if (mc) {
        const size_t pos = (size_t)__builtin_ctz(mc);
        const char *q = ml ? p + __builtin_ctz(ml) : lf_find(p + 16, end);
        /* An empty name, or whitespace before the colon, fails the lookup
         * (no known name has either) and so takes the general path. */
        if (q != NULL && end - q > 1 && q[1] != ' ' && q[1] != '\t') {
          uint64_t w[3];
          w[0] = (uint64_t)_mm_cvtsi128_si64(v);
          w[1] = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v));
          w[2] = 0;
          if (pos < 8) {
            w[0] &= (1ull << (8 * pos)) - 1;
            w[1] = 0;
          } else if (pos == 8) {
            w[1] = 0;
          } else {
            w[1] &= (1ull << (8 * (pos - 8))) - 1; /* pos <= 15 */
          }
          const sipline_hdr_id id = sipline__hdr_lookup_short(w, pos);
          if (id != SIPLINE_HDR_OTHER) {
            /* The value, trimmed as below. */
            const char *colon = p + pos;
            /* q[-1] is at or after the colon, so never a stray read; the
             * CR is never the colon either. */
            const char *ve = q - (q[-1] == '\r');
            const char *vs = colon + 1 + (colon[1] == ' ');
            if (__builtin_expect(
                    vs >= ve ||
                        sipline__is((unsigned char)*vs, SIPLINE__C_LWS) ||
                        sipline__is((unsigned char)ve[-1], SIPLINE__C_LWS),
                    0)) {
              /* empty, or more whitespace: the exact general rule */
              vs = colon + 1;
              ve = sipline__rskip_lws(vs, ve);
              if (vs < ve && *vs == ' ')
                vs++;
              vs = sipline__skip_lws(vs, ve);
            }
            sipline_hdr *h = &m->hdrs[n];
            h->name.p = p;
            h->name.len = pos;
            h->value.p = vs;
            h->value.len = (size_t)(ve - vs);
            h->id = id;
            n++;
            if (m->first[id] == 0)
              m->first[id] = (uint8_t)n;
            m->count[id]++;
            p = q + 1;
            continue;
          }
        }
      }
    }
#endif
    if (p >= end) {
      if (stream)
        return SIPLINE_ERR_INCOMPLETE;
      return fail(m, err, SIPLINE_ERR_MALFORMED,
                  "No empty line after the headers", 400, 0, p);
    }
    if (*p == '\r' || *p == '\n') {
      if (*p == '\n') {
        body = p + 1;
        break;
      }
      if (p + 1 >= end) {
        if (stream)
          return SIPLINE_ERR_INCOMPLETE;
        return fail(m, err, SIPLINE_ERR_MALFORMED,
                    "No empty line after the headers", 400, 0, p);
      }
      if (p[1] == '\n') {
        body = p + 2;
        break;
      }
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bare CR in headers", 400, 0,
                  p);
    }
    /* The line end, joining folded continuation lines (§7.3.1). */
    const char *ns = p;
    const char *q = p;
    const char *colon = NULL;
    size_t nlen = 0;
    sipline_hdr_id id = SIPLINE_HDR_OTHER;
#ifdef SIPLINE__SSE2
    if (end - p >= 16) {
      /* One 16-byte load finds the first line end and, for a name of at
       * most 15 bytes, the colon, and holds the name for the lookup. */
      const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
      const unsigned ml = eq_mask(v, '\n');
      const unsigned mc = eq_mask(v, ':') & (ml ? (ml & -ml) - 1u : 0xffffu);
      q = ml ? p + __builtin_ctz(ml) : lf_find(p + 16, end);
      if (mc && q != NULL) {
        const size_t pos = (size_t)__builtin_ctz(mc);
        colon = p + pos;
        nlen = pos;
        while (nlen > 0 && sipline__ws((unsigned char)p[nlen - 1]))
          nlen--;
        uint64_t w[3];
        w[0] = (uint64_t)_mm_cvtsi128_si64(v);
        w[1] = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v));
        w[2] = 0;
        if (nlen <= 8) {
          if (nlen < 8)
            w[0] &= (1ull << (8 * nlen)) - 1;
          w[1] = 0;
        } else {
          w[1] &= (1ull << (8 * (nlen - 8))) - 1; /* nlen <= 15 */
        }
        id = sipline__hdr_lookup_words(w, nlen);
      }
    } else {
      q = memchr(q, '\n', (size_t)(end - q));
    }
#else
    q = memchr(q, '\n', (size_t)(end - q));
#endif
    for (;;) {
      if (q == NULL || q + 1 >= end) {
        if (stream)
          return SIPLINE_ERR_INCOMPLETE;
        return fail(m, err, SIPLINE_ERR_MALFORMED,
                    "No empty line after the headers", 400, 0, ns);
      }
      if (q[1] != ' ' && q[1] != '\t')
        break;
      q = memchr(q + 1, '\n', (size_t)(end - q - 1));
    }
    /* The name: a token, optional whitespace, ':'. A known name is checked
     * by the lookup itself; only unknown ones need the token scan. */
    uint64_t w[3];
    size_t pos;
    if (colon != NULL) {
      /* found above */
    } else if ((pos = colon_pos(ns, end, w)) < 24) {
      /* The common case: the name and its colon in the first 24 bytes. */
      colon = ns + pos;
      if (colon >= q)
        return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad header name", 400, 0,
                    ns);
      nlen = pos;
      while (nlen > 0 && sipline__ws((unsigned char)ns[nlen - 1]))
        nlen--;
      keep_bytes(w, nlen);
      id = sipline__hdr_lookup_words(w, nlen);
    } else {
      colon = memchr(ns, ':', (size_t)(q - ns));
      if (colon == NULL)
        return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad header name", 400, 0,
                    ns);
      const char *ne = colon;
      while (ne > ns && sipline__ws((unsigned char)ne[-1]))
        ne--;
      nlen = (size_t)(ne - ns);
      id = sipline_hdr_lookup(sipline__pl(ns, ne));
    }
    if (id == SIPLINE_HDR_OTHER) {
      const char *t = ns;
      while (t < ns + nlen && sipline__is((unsigned char)*t, SIPLINE__C_TOKEN))
        t++;
      if (t != ns + nlen || nlen == 0)
        return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad header name", 400, 0,
                    ns);
    }
    const sipline_pl name = {ns, nlen};
    /* The value, trimmed; the usual single SP and CRLF first. */
    const char *vs = colon + 1;
    const char *ve = q;
    if (ve[-1] == '\r' && ve - 1 > colon)
      ve--;
    ve = sipline__rskip_lws(vs, ve);
    if (vs < ve && *vs == ' ')
      vs++;
    vs = sipline__skip_lws(vs, ve);
    if (n >= SIPLINE_MSG_MAX_HDRS)
      return fail(m, err, SIPLINE_ERR_TOOBIG, "Too many headers", 400, 0, ns);
    sipline_hdr *h = &m->hdrs[n];
    h->name = name;
    h->value.p = vs;
    h->value.len = (size_t)(ve - vs);
    h->id = id;
    n++;
    if (m->first[id] == 0)
      m->first[id] = (uint8_t)n;
    m->count[id]++;
    p = q + 1;
  }
  m->n_hdrs = n;
  m->call_id = m->first[SIPLINE_HDR_CALL_ID]
                   ? m->hdrs[m->first[SIPLINE_HDR_CALL_ID] - 1].value
                   : SIPLINE_PL_NULL;

  /* Eager fields, from the first header of each kind. Several Via lines
   * are all counted; the other duplicates are for the UAS check. */
  m->n_via = 0;
  if (m->first[SIPLINE_HDR_VIA]) {
    const sipline_hdr *h = &m->hdrs[m->first[SIPLINE_HDR_VIA] - 1];
    size_t used;
    if (sipline__via_parse_prefix(h->value, &m->via, &used) != 0)
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad Via", 400,
                  SIPLINE_HDR_VIA, h->value.p);
    unsigned left = m->count[SIPLINE_HDR_VIA];
    unsigned i = m->first[SIPLINE_HDR_VIA] - 1u;
    if (used == h->value.len) {
      /* the top line holds the one value just parsed */
      m->n_via = 1;
      left--;
      i++;
    }
    for (; left > 0; i++)
      if (m->hdrs[i].id == SIPLINE_HDR_VIA) {
        left--;
        if (via_count(m->hdrs[i].value, &m->n_via) != 0)
          return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad Via", 400,
                      SIPLINE_HDR_VIA, m->hdrs[i].value.p);
      }
  } else {
    memset(&m->via, 0, sizeof(m->via));
  }
  if (m->first[SIPLINE_HDR_FROM]) {
    const sipline_hdr *h = &m->hdrs[m->first[SIPLINE_HDR_FROM] - 1];
    if (sipline_nameaddr_parse(h->value, &m->from) != 0 || m->from.star)
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad From", 400,
                  SIPLINE_HDR_FROM, h->value.p);
  } else {
    memset(&m->from, 0, sizeof(m->from));
  }
  if (m->first[SIPLINE_HDR_TO]) {
    const sipline_hdr *h = &m->hdrs[m->first[SIPLINE_HDR_TO] - 1];
    if (sipline_nameaddr_parse(h->value, &m->to) != 0 || m->to.star)
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad To", 400, SIPLINE_HDR_TO,
                  h->value.p);
  } else {
    memset(&m->to, 0, sizeof(m->to));
  }
  m->cseq = 0;
  m->cseq_method = SIPLINE_METHOD_UNKNOWN;
  m->cseq_method_name = SIPLINE_PL_NULL;
  if (m->first[SIPLINE_HDR_CSEQ]) {
    const sipline_hdr *h = &m->hdrs[m->first[SIPLINE_HDR_CSEQ] - 1];
    if (cseq_parse(h->value, &m->cseq, &m->cseq_method_name) != 0)
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad CSeq", 400,
                  SIPLINE_HDR_CSEQ, h->value.p);
    m->cseq_method = sipline_method_from(m->cseq_method_name);
  }
  m->has_max_forwards = 0;
  m->max_forwards = 0;
  if (m->first[SIPLINE_HDR_MAX_FORWARDS]) {
    const sipline_hdr *h = &m->hdrs[m->first[SIPLINE_HDR_MAX_FORWARDS] - 1];
    uint64_t v;
    if (!sipline__uint(h->value, 255, &v))
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad Max-Forwards", 400,
                  SIPLINE_HDR_MAX_FORWARDS, h->value.p);
    m->max_forwards = (uint32_t)v;
    m->has_max_forwards = 1;
  }
  m->has_expires = 0;
  m->expires = 0;
  if (m->first[SIPLINE_HDR_EXPIRES]) {
    /* A bad Expires is a validate() finding, not a framing problem. */
    uint64_t v;
    if (sipline__uint(m->hdrs[m->first[SIPLINE_HDR_EXPIRES] - 1].value,
                      UINT32_MAX, &v)) {
      m->expires = (uint32_t)v;
      m->has_expires = 1;
    }
  }
  m->content_type = m->first[SIPLINE_HDR_CONTENT_TYPE]
                        ? m->hdrs[m->first[SIPLINE_HDR_CONTENT_TYPE] - 1].value
                        : SIPLINE_PL_NULL;
  m->content_length = -1;
  if (m->first[SIPLINE_HDR_CONTENT_LENGTH]) {
    const sipline_hdr *h = &m->hdrs[m->first[SIPLINE_HDR_CONTENT_LENGTH] - 1];
    uint64_t v;
    if (!sipline__uint(h->value, INT32_MAX, &v))
      return fail(m, err, SIPLINE_ERR_MALFORMED, "Bad Content-Length", 400,
                  SIPLINE_HDR_CONTENT_LENGTH, h->value.p);
    m->content_length = (int64_t)v;
    if (stream && m->count[SIPLINE_HDR_CONTENT_LENGTH] > 1) {
      /* Conflicting framing on a stream cannot be resynchronised
       * (RFC 4475 §3.3.9). */
      for (unsigned i = 0; i < n; i++) {
        uint64_t w;
        if (m->hdrs[i].id == SIPLINE_HDR_CONTENT_LENGTH &&
            (!sipline__uint(m->hdrs[i].value, INT32_MAX, &w) || w != v))
          return fail(m, err, SIPLINE_ERR_MALFORMED,
                      "Conflicting Content-Length", 400,
                      SIPLINE_HDR_CONTENT_LENGTH, m->hdrs[i].value.p);
      }
    }
  }

  /* Body framing (RFC 3261 §18.3). */
  const size_t avail = (size_t)(end - body);
  size_t blen;
  if (m->content_length >= 0) {
    blen = (size_t)m->content_length;
    if (blen > avail) {
      if (stream)
        return SIPLINE_ERR_INCOMPLETE;
      return fail(m, err, SIPLINE_ERR_MALFORMED,
                  "Content-Length larger than the message", 400,
                  SIPLINE_HDR_CONTENT_LENGTH, body);
    }
  } else if (stream) {
    return fail(m, err, SIPLINE_ERR_MALFORMED,
                "Content-Length required on a stream", 400,
                SIPLINE_HDR_CONTENT_LENGTH, body);
  } else {
    blen = avail;
  }
  m->body.p = body;
  m->body.len = blen;
  m->len = (size_t)(body - buf) + blen;
  return (ptrdiff_t)m->len;
}

const sipline_hdr *sipline_msg_hdr(const sipline_msg *m, sipline_hdr_id id,
                                   unsigned n) {
  if ((unsigned)id >= SIPLINE_HDR__MAX || m->first[id] == 0 ||
      n >= m->count[id])
    return NULL;
  for (unsigned i = m->first[id] - 1u; i < m->n_hdrs; i++)
    if (m->hdrs[i].id == id && n-- == 0)
      return &m->hdrs[i];
  return NULL;
}

const sipline_hdr *sipline_msg_hdr_by_name(const sipline_msg *m,
                                           const char *name) {
  const size_t nl = strlen(name);
  const sipline_hdr_id id = sipline_hdr_lookup(sipline__pl(name, name + nl));
  if (id != SIPLINE_HDR_OTHER)
    return sipline_msg_hdr(m, id, 0);
  for (unsigned i = 0; i < m->n_hdrs; i++)
    if (m->hdrs[i].name.len == nl &&
        sipline__casen(m->hdrs[i].name.p, name, nl))
      return &m->hdrs[i];
  return NULL;
}
