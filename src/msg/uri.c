/*
 * src/msg/uri.c: the on-demand sub-parsers (RFC 3261 §19.1, §20, §25):
 * URIs, name-addr/addr-spec, Via values, comma lists, parameters and
 * authentication headers. Every result is a view into the input.
 */
#include "msg/msg.h"

/* Equality with a lower-case letters-only literal of n <= 8 bytes, ignoring
 * case: one load and one compare (n is a constant at every call). The
 * compared bytes are token chars, none of which folds onto a letter. */
static inline bool lc_eq(const char *p, const char *lit, size_t n) {
  uint64_t a = 0, b = 0;
  memcpy(&a, p, n);
  memcpy(&b, lit, n);
  const uint64_t fold = 0x2020202020202020ull >> (64 - 8 * n);
  return (a | fold) == b;
}

/* The end of the run of class chars and valid %HEX escapes from p. */
static inline const char *esc_span(const char *p, const char *e, unsigned cls) {
  for (;;) {
    p = sipline__span(p, e, cls);
    if (e - p >= 3 && *p == '%' && sipline__hex((unsigned char)p[1]) &&
        sipline__hex((unsigned char)p[2])) {
      p += 3;
      continue;
    }
    return p;
  }
}

/* A run of class chars and %HEX escapes; false on any other byte or a bad
 * escape. */
static bool esc_run(const char *p, const char *e, unsigned cls) {
  while (p < e) {
    const unsigned char c = (unsigned char)*p;
    if (c == '%') {
      if (e - p < 3 || !sipline__hex((unsigned char)p[1]) ||
          !sipline__hex((unsigned char)p[2]))
        return false;
      p += 3;
      continue;
    }
    if (!sipline__is(c, cls))
      return false;
    p++;
  }
  return true;
}

/*
 * IPv6reference (RFC 3261 §25.1): hex digits, colons and an optional dotted
 * IPv4 tail. Deliberately tolerant of the "three colons" form RFC 5118 §4.10
 * says implementations must accept.
 */
static bool ipv6_ok(const char *p, const char *e) {
  int colons = 0;
  if (e - p < 2 || e - p > 47)
    return false;
  for (; p < e; p++) {
    const unsigned char c = (unsigned char)*p;
    if (c == ':')
      colons++;
    else if (!sipline__hex(c) && c != '.')
      return false;
  }
  return colons >= 2;
}

/* Scans a host at p: IPv6 reference or hostname/IPv4. Returns the end, or
 * NULL when there is none. */
__attribute__((always_inline)) static inline const char *
scan_host(const char *p, const char *e, uint8_t *v6) {
  *v6 = 0;
  if (p < e && *p == '[') {
    const char *q = memchr(p, ']', (size_t)(e - p));
    if (q == NULL || !ipv6_ok(p + 1, q))
      return NULL;
    *v6 = 1;
    return q + 1;
  }
  const char *s = p;
  /* hostname = alphanum, '-', '.'; '_' tolerated (seen in deployments). */
  p = sipline__span(p, e, SIPLINE__C_HOST);
  return p == s ? NULL : p;
}

static inline bool port_ok(sipline_pl d, uint16_t *port) {
  /* 1*DIGIT, at most 65535; a few leading zeros tolerated */
  if (d.len == 0 || d.len > 8)
    return false;
  unsigned v = 0;
  for (size_t i = 0; i < d.len; i++) {
    const unsigned c = (unsigned)(unsigned char)d.p[i] - '0';
    if (c > 9)
      return false;
    v = v * 10 + c;
  }
  if (v > 65535)
    return false;
  *port = (uint16_t)v;
  return true;
}

/*
 * uri-parameters: *( ";" pname [ "=" pvalue ] ), each pname and pvalue a
 * non-empty run of paramchar. One pass from p (at ';'); returns where the
 * run stops (at '?', the end or a byte outside the grammar), or NULL when
 * malformed.
 */
static const char *uri_params_scan(const char *p, const char *e) {
  while (p < e && *p == ';') {
    const char *s = ++p;
    p = esc_span(p, e, SIPLINE__C_PARAM);
    if (p == s)
      return NULL;
    if (p < e && *p == '=') {
      const char *v = ++p;
      p = esc_span(p, e, SIPLINE__C_PARAM);
      if (p == v)
        return NULL;
    }
  }
  return p;
}

/* headers: hname "=" hvalue *( "&" hname "=" hvalue ). */
static bool uri_headers_ok(const char *p, const char *e) {
  for (;;) {
    const char *s = p;
    while (p < e && *p != '&')
      p++;
    const char *eq = memchr(s, '=', (size_t)(p - s));
    if (eq == NULL || eq == s || !esc_run(s, eq, SIPLINE__C_HNV) ||
        !esc_run(eq + 1, p, SIPLINE__C_HNV))
      return false;
    if (p == e)
      return true;
    p++;
  }
}

int sipline_uri_parse(sipline_pl in, sipline_uri *out) {
  /* field by field: memset() and a zero compound literal both become a
   * "rep stos" of 16 rounds */
  out->scheme_id = SIPLINE_SCHEME_OTHER;
  out->scheme = out->user = out->password = out->host = SIPLINE_PL_NULL;
  out->params = out->headers = out->opaque = SIPLINE_PL_NULL;
  out->port = 0;
  out->has_port = 0;
  out->host_is_ipv6 = 0;
  if (in.p == NULL || in.len == 0)
    return SIPLINE_ERR_MALFORMED;
  const char *p = in.p, *e = in.p + in.len;
  uint32_t w4;
  if (in.len >= 4 && (memcpy(&w4, p, 4), (w4 | 0x00202020u) == 0x3a706973u)) {
    /* "sip:" in any case (the fold touches the three letters only) */
    out->scheme = sipline__pl(p, p + 3);
    out->scheme_id = SIPLINE_SCHEME_SIP;
    p += 4;
    out->opaque = sipline__pl(p, e);
  } else {
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (!sipline__alpha((unsigned char)*p))
      return SIPLINE_ERR_MALFORMED;
    const char *s = p++;
    p = sipline__span(p, e, SIPLINE__C_SCHEME);
    if (p >= e || *p != ':')
      return SIPLINE_ERR_MALFORMED;
    out->scheme = sipline__pl(s, p);
    p++;
    out->opaque = sipline__pl(p, e);
    const size_t sl = out->scheme.len;
    /* Scheme chars are letters, digits, '+', '-', '.': of those only the
     * letters change under the fold, so lc_eq is exact here. */
    if (sl == 3 && lc_eq(s, "sip", 3))
      out->scheme_id = SIPLINE_SCHEME_SIP;
    else if (sl == 4 && lc_eq(s, "sips", 4))
      out->scheme_id = SIPLINE_SCHEME_SIPS;
    else if (sl == 3 && lc_eq(s, "tel", 3))
      out->scheme_id = SIPLINE_SCHEME_TEL;
  }

  if (out->scheme_id == SIPLINE_SCHEME_OTHER) {
    /* absoluteURI: only check it is a non-empty run of uric. */
    if (p == e || !esc_run(p, e, SIPLINE__C_URIC))
      return SIPLINE_ERR_MALFORMED;
    for (const char *q = p; q < e; q++)
      if (*q == '%' && (e - q < 3 || !sipline__hex((unsigned char)q[1]) ||
                        !sipline__hex((unsigned char)q[2])))
        return SIPLINE_ERR_MALFORMED;
    return 0;
  }
  if (out->scheme_id == SIPLINE_SCHEME_TEL) {
    /* RFC 3966: the number up to the first ';', then its parameters. */
    const char *sc = memchr(p, ';', (size_t)(e - p));
    const char *ne = sc ? sc : e;
    if (ne == p || !esc_run(p, ne, SIPLINE__C_PARAM))
      return SIPLINE_ERR_MALFORMED;
    for (const char *q = p; q < ne; q++)
      if (*q == '[' || *q == ']' || *q == ':' || *q == '&' || *q == '$')
        return SIPLINE_ERR_MALFORMED;
    out->user = sipline__pl(p, ne);
    if (sc) {
      if (uri_params_scan(sc, e) != e)
        return SIPLINE_ERR_MALFORMED;
      out->params = sipline__pl(sc, e);
    }
    return 0;
  }
  /* sip/sips: [ userinfo "@" ] hostport uri-parameters [ headers ]. The user
   * may contain ';', '?', '/' and ',' (RFC 3261 user-unreserved), so the
   * '@' decides where it ends: one scan over user (then password)
   * characters and escapes either reaches an '@' or shows there is no
   * userinfo, and the host starts again at p. */
  const char *q = esc_span(p, e, SIPLINE__C_USER);
  const char *ue = q;
  if (q < e && *q == ':')
    q = esc_span(q + 1, e, SIPLINE__C_PASS);
  if (q < e && *q == '@') {
    if (ue == p)
      return SIPLINE_ERR_MALFORMED;
    out->user = sipline__pl(p, ue);
    if (ue < q)
      out->password = sipline__pl(ue + 1, q);
    p = q + 1;
  }
  const char *he = scan_host(p, e, &out->host_is_ipv6);
  if (he == NULL)
    return SIPLINE_ERR_MALFORMED;
  out->host = sipline__pl(p, he);
  p = he;
  if (p < e && *p == ':') {
    const char *ps = ++p;
    unsigned port = 0;
    while (p < e && sipline__digit((unsigned char)*p) && p - ps < 6)
      port = port * 10 + (unsigned)(*p++ - '0');
    if (p == ps || port > 65535)
      return SIPLINE_ERR_MALFORMED;
    out->port = (uint16_t)port;
    out->has_port = 1;
  }
  if (p < e && *p == ';') {
    const char *pe = uri_params_scan(p, e);
    if (pe == NULL)
      return SIPLINE_ERR_MALFORMED;
    out->params = sipline__pl(p, pe);
    p = pe;
  }
  if (p < e && *p == '?') {
    if (!uri_headers_ok(p + 1, e))
      return SIPLINE_ERR_MALFORMED;
    out->headers = sipline__pl(p + 1, e);
    p = e;
  }
  return p == e ? 0 : SIPLINE_ERR_MALFORMED;
}

/* gen-value = token / host / quoted-string; returns its end or NULL. */
static const char *scan_gen_value(const char *p, const char *e) {
  if (p < e && *p == '"')
    return sipline__quoted_end(p, e);
  const char *s = p;
  /* token chars plus ':' '[' ']' for IPv6 hosts (RFC 5118 §4.5). */
  p = sipline__span(p, e, SIPLINE__C_GENV);
  return p == s ? NULL : p;
}

/*
 * Walks *( SEMI generic-param ) from p, stopping at stop (a ',' for Via) or
 * e. Calls back per parameter through the out pointers of a Via when v is
 * set. Returns the end of the run or NULL when malformed.
 */
/* Skips LWS; the usual case (none) costs one compare. */
static inline const char *lws_fast(const char *p, const char *e) {
  if (p < e && !sipline__is((unsigned char)*p, SIPLINE__C_LWS))
    return p;
  return sipline__skip_lws(p, e);
}

/*
 * Walks *( SEMI generic-param ) from p, stopping at stop (a ',' for Via) or
 * e. For a Via (v set) it records branch, received, maddr and rport; for a
 * name-addr (tag set) the first tag. Returns the end of the run or NULL when
 * malformed.
 */
__attribute__((always_inline)) static inline const char *
scan_params(const char *p, const char *e, char stop, sipline_via *v,
            sipline_pl *tag) {
  for (;;) {
    /* SEMI = SWS ";" SWS, with the usual no-whitespace case first */
    const char *q;
    if (p < e && *p == ';') {
      q = p + 1;
    } else {
      q = sipline__skip_lws(p, e);
      if (q >= e || *q == stop)
        return p;
      if (*q != ';')
        return NULL;
      q++;
    }
    q = lws_fast(q, e);
    const char *ns = q;
    q = sipline__span(q, e, SIPLINE__C_TOKEN);
    if (q == ns)
      return NULL;
    const size_t nl = (size_t)(q - ns);
    sipline_pl val = SIPLINE_PL_NULL;
    int has_val = 0;
    /* "name=value" without whitespace first: '=' is no LWS, a token char
     * neither. */
    const char *r = q < e && *q == '=' ? q : lws_fast(q, e);
    if (r < e && *r == '=') {
      r++;
      if (r < e && sipline__is((unsigned char)*r, SIPLINE__C_LWS))
        r = sipline__skip_lws(r, e);
      const char *ve = scan_gen_value(r, e);
      if (ve == NULL)
        return NULL;
      val = sipline__pl(r, ve);
      has_val = 1;
      q = ve;
    }
    if (tag && nl == 3 && has_val && tag->p == NULL && lc_eq(ns, "tag", 3))
      *tag = val;
    if (v) {
      switch (nl) {
      case 6:
        if (lc_eq(ns, "branch", 6)) {
          if (!has_val)
            return NULL;
          v->branch = val;
        }
        break;
      case 8:
        if (lc_eq(ns, "received", 8)) {
          if (!has_val)
            return NULL;
          v->received = val;
        }
        break;
      case 5:
        if (lc_eq(ns, "maddr", 5)) {
          if (!has_val)
            return NULL;
          v->maddr = val;
        } else if (lc_eq(ns, "rport", 5)) {
          v->has_rport = 1;
          if (has_val && !port_ok(val, &v->rport))
            return NULL;
        }
        break;
      default:
        break;
      }
    }
    p = q;
  }
}

int sipline__gen_params_check(sipline_pl params) {
  if (params.p == NULL)
    return 0;
  const char *e = params.p + params.len;
  const char *end = scan_params(params.p, e, 0, NULL, NULL);
  if (end == NULL || sipline__skip_lws(end, e) != e)
    return SIPLINE_ERR_MALFORMED;
  return 0;
}

int sipline__param_next(sipline_pl *rest, sipline_pl *name, sipline_pl *val) {
  if (rest->p == NULL)
    return 0;
  const char *p = rest->p, *e = rest->p + rest->len;
  while (p < e) {
    p = sipline__skip_lws(p, e);
    if (p < e && *p == ';')
      p = sipline__skip_lws(p + 1, e);
    const char *ns = p;
    while (p < e && *p != '=' && *p != ';' && !sipline__lws((unsigned char)*p))
      p++;
    const char *ne = p;
    p = sipline__skip_lws(p, e);
    sipline_pl v = {p, 0};
    if (p < e && *p == '=') {
      p = sipline__skip_lws(p + 1, e);
      const char *vs = p;
      if (p < e && *p == '"') {
        const char *q = sipline__quoted_end(p, e);
        p = q ? q : e;
      }
      while (p < e && *p != ';')
        p++;
      v = sipline__pl(vs, sipline__rskip_lws(vs, p));
    }
    const char *next = p < e && *p != ';' ? p + 1 : p; /* junk: walk on */
    rest->p = next;
    rest->len = (size_t)(e - next);
    if (ne > ns) {
      *name = sipline__pl(ns, ne);
      *val = v;
      return 1;
    }
    p = next;
  }
  rest->p = e;
  rest->len = 0;
  return 0;
}

int sipline_param_get(sipline_pl params, const char *name, sipline_pl *val) {
  const size_t nl = strlen(name);
  sipline_pl n, v;
  if (params.p == NULL || nl == 0)
    return SIPLINE_ERR_NOTFOUND;
  while (sipline__param_next(&params, &n, &v) == 1)
    if (n.len == nl && sipline__casen(n.p, name, nl)) {
      if (val)
        *val = v;
      return 0;
    }
  return SIPLINE_ERR_NOTFOUND;
}

/*
 * One name-addr / addr-spec from in. With stop = ',' it parses the first
 * element of a list and stops before the separator (*used = bytes taken);
 * with stop = 0 the whole input must be one element.
 */
__attribute__((always_inline)) static inline int
nameaddr_prefix(sipline_pl in, sipline_nameaddr *out, char stop, size_t *used) {
  /* out->uri is reset by sipline_uri_parse() (or below for "*"); zeroing
   * it here too would double the cost for nothing. After an error the
   * contents of *out are unspecified. */
  out->display = out->uri_raw = out->params = out->tag = SIPLINE_PL_NULL;
  out->star = 0;
  out->uri.scheme_id = SIPLINE_SCHEME_OTHER;
  if (in.p == NULL)
    return SIPLINE_ERR_MALFORMED;
  const char *p = sipline__skip_lws(in.p, in.p + in.len);
  const char *e = stop ? in.p + in.len : sipline__rskip_lws(p, in.p + in.len);
  if (p == e)
    return SIPLINE_ERR_MALFORMED;
  if (*p == '*') {
    const char *q = sipline__skip_lws(p + 1, e);
    if (q == e || (stop && *q == stop)) {
      memset(&out->uri, 0, sizeof(out->uri));
      out->star = 1;
      *used = (size_t)(q - in.p);
      return 0;
    }
  }
  const char *laq = NULL;
  if (*p == '"') {
    const char *q = sipline__quoted_end(p, e);
    if (q == NULL)
      return SIPLINE_ERR_MALFORMED;
    out->display = sipline__pl(p + 1, q - 1);
    q = lws_fast(q, e);
    if (q >= e || *q != '<')
      return SIPLINE_ERR_MALFORMED;
    laq = q;
  } else if (*p == '<') {
    laq = p;
  } else {
    /* Either *(token LWS) "<" or an addr-spec (a scheme then ':'). */
    const char *t = sipline__span(p, e, SIPLINE__C_TOKEN);
    if (t == e || *t != ':') {
      const char *dend = t;
      for (;;) {
        t = sipline__skip_lws(t, e);
        if (t < e && *t == '<') {
          laq = t;
          break;
        }
        if (t < e && sipline__is((unsigned char)*t, SIPLINE__C_TOKEN)) {
          while (t < e && sipline__is((unsigned char)*t, SIPLINE__C_TOKEN))
            t++;
          dend = t;
          continue;
        }
        return SIPLINE_ERR_MALFORMED;
      }
      if (dend == p)
        return SIPLINE_ERR_MALFORMED;
      out->display = sipline__pl(p, dend);
    }
  }
  if (laq) {
    const char *gt = memchr(laq + 1, '>', (size_t)(e - laq - 1));
    if (gt == NULL)
      return SIPLINE_ERR_MALFORMED;
    out->uri_raw = sipline__pl(laq + 1, gt);
    p = gt + 1;
  } else {
    /* addr-spec: RFC 3261 §20.10 puts a URI holding ',', ';' or '?' in <>,
     * so the URI ends at the first ';' (header parameters follow) and
     * must not contain '?' (nor ',', except as a list separator). */
    const char *u = p;
    while (u < e && *u != ';' && *u != stop &&
           !sipline__is((unsigned char)*u, SIPLINE__C_LWS)) {
      if (*u == '?' || *u == ',')
        return SIPLINE_ERR_MALFORMED;
      u++;
    }
    out->uri_raw = sipline__pl(p, u);
    p = u;
  }
  if (sipline_uri_parse(out->uri_raw, &out->uri) != 0)
    return SIPLINE_ERR_MALFORMED;
  p = lws_fast(p, e);
  if (p < e && *p != stop) {
    if (*p != ';')
      return SIPLINE_ERR_MALFORMED;
    const char *pe = scan_params(p, e, stop, NULL, &out->tag);
    if (pe == NULL)
      return SIPLINE_ERR_MALFORMED;
    out->params = sipline__pl(p, pe);
    p = lws_fast(pe, e);
    if (p < e && *p != stop)
      return SIPLINE_ERR_MALFORMED;
  }
  *used = (size_t)(p - in.p);
  return 0;
}

int sipline_nameaddr_parse(sipline_pl in, sipline_nameaddr *out) {
  size_t used;
  return nameaddr_prefix(in, out, 0, &used);
}

/* The separator logic shared by the *_next() walkers: returns the start of
 * the next element, NULL at the end, or in *bad a malformed list. */
static const char *list_elem_start(const sipline_pl *rest, bool *bad) {
  *bad = false;
  if (rest->p == NULL)
    return NULL;
  const char *e = rest->p + rest->len;
  const char *p = lws_fast(rest->p, e);
  if (p >= e)
    return NULL;
  if (*p == ',') {
    p = lws_fast(p + 1, e);
    if (p >= e || *p == ',') {
      *bad = true;
      return NULL;
    }
  }
  return p;
}

int sipline_nameaddr_next(sipline_pl *rest, sipline_nameaddr *out) {
  bool bad;
  const char *p = list_elem_start(rest, &bad);
  if (p == NULL)
    return bad ? SIPLINE_ERR_MALFORMED : 0;
  const char *e = rest->p + rest->len;
  size_t used;
  if (nameaddr_prefix(sipline__pl(p, e), out, ',', &used) != 0)
    return SIPLINE_ERR_MALFORMED;
  rest->p = p + used;
  rest->len = (size_t)(e - rest->p);
  return 1;
}

static const char *scan_token(const char *p, const char *e) {
  return sipline__span(p, e, SIPLINE__C_TOKEN);
}

int sipline__via_parse_prefix(sipline_pl in, sipline_via *out, size_t *used) {
  /* field by field, not a "rep stos" */
  out->protocol = out->transport = out->host = SIPLINE_PL_NULL;
  out->branch = out->received = out->maddr = out->params = SIPLINE_PL_NULL;
  out->port = 0;
  out->has_port = 0;
  out->has_rport = 0;
  out->rport = 0;
  if (in.p == NULL)
    return SIPLINE_ERR_MALFORMED;
  const char *e = in.p + in.len;
  const char *p = sipline__skip_lws(in.p, e);
  /* sent-protocol = protocol-name SLASH protocol-version SLASH transport;
   * the common spelling first. */
  uint64_t sv;
  if (e - p > 8 && (memcpy(&sv, p, 8), sv == 0x2f302e322f504953ull)) {
    out->protocol = sipline__pl(p, p + 7);
    p += 8;
    goto transport;
  }
  const char *s = p;
  p = scan_token(p, e);
  if (p == s)
    return SIPLINE_ERR_MALFORMED;
  p = sipline__skip_lws(p, e);
  if (p >= e || *p != '/')
    return SIPLINE_ERR_MALFORMED;
  p = sipline__skip_lws(p + 1, e);
  const char *vs = p;
  p = scan_token(p, e);
  if (p == vs)
    return SIPLINE_ERR_MALFORMED;
  out->protocol = sipline__pl(s, p);
  p = sipline__skip_lws(p, e);
  if (p >= e || *p != '/')
    return SIPLINE_ERR_MALFORMED;
  p = sipline__skip_lws(p + 1, e);
transport:;
  const char *ts = p;
  p = scan_token(p, e);
  if (p == ts)
    return SIPLINE_ERR_MALFORMED;
  out->transport = sipline__pl(ts, p);
  /* LWS sent-by */
  const char *hs = sipline__skip_lws(p, e);
  if (hs == p)
    return SIPLINE_ERR_MALFORMED;
  uint8_t v6;
  const char *he = scan_host(hs, e, &v6);
  if (he == NULL)
    return SIPLINE_ERR_MALFORMED;
  out->host = sipline__pl(hs, he);
  p = sipline__skip_lws(he, e);
  if (p < e && *p == ':') {
    p = sipline__skip_lws(p + 1, e);
    /* port_ok()'s rule (1 to 8 digits, at most 65535) in the same pass as
     * the scan */
    const char *ps = p;
    unsigned port = 0;
    while (p < e && sipline__digit((unsigned char)*p) && p - ps < 9)
      port = port * 10 + (unsigned)(*p++ - '0');
    if (p == ps || p - ps > 8 || port > 65535)
      return SIPLINE_ERR_MALFORMED;
    out->port = (uint16_t)port;
    out->has_port = 1;
  } else {
    p = he;
  }
  const char *ps = sipline__skip_lws(p, e);
  const char *pe = scan_params(p, e, ',', out, NULL);
  if (pe == NULL)
    return SIPLINE_ERR_MALFORMED;
  if (pe > ps)
    out->params = sipline__pl(ps, pe);
  p = sipline__skip_lws(pe, e);
  if (p < e && *p != ',')
    return SIPLINE_ERR_MALFORMED;
  *used = (size_t)(p - in.p);
  return 0;
}

int sipline_via_parse(sipline_pl in, sipline_via *out) {
  size_t used;
  int r = sipline__via_parse_prefix(in, out, &used);
  if (r != 0)
    return r;
  return used == in.len ? 0 : SIPLINE_ERR_MALFORMED;
}

int sipline_via_next(sipline_pl *rest, sipline_via *out) {
  bool bad;
  const char *p = list_elem_start(rest, &bad);
  if (p == NULL)
    return bad ? SIPLINE_ERR_MALFORMED : 0;
  const char *e = rest->p + rest->len;
  size_t used;
  if (sipline__via_parse_prefix(sipline__pl(p, e), out, &used) != 0)
    return SIPLINE_ERR_MALFORMED;
  rest->p = p + used;
  rest->len = (size_t)(e - rest->p);
  return 1;
}

int sipline_list_next(sipline_pl *rest, sipline_pl *item) {
  if (rest->p == NULL)
    return 0;
  const char *p = rest->p, *e = rest->p + rest->len;
  p = sipline__skip_lws(p, e);
  if (p >= e) {
    rest->p = e;
    rest->len = 0;
    return 0;
  }
  if (*p == ',') {
    /* The separator left by the previous call: an element must follow. */
    p = sipline__skip_lws(p + 1, e);
    if (p >= e || *p == ',')
      return SIPLINE_ERR_MALFORMED;
  }
  const char *s = p;
  /* Fast path: no quote or '<' before the next comma (or the end), so the
   * element is everything up to it; three SIMD memchr()s instead of a byte
   * loop. */
  const char *c = memchr(p, ',', (size_t)(e - p));
  const char *ce = c ? c : e;
  if (memchr(p, '"', (size_t)(ce - p)) == NULL &&
      memchr(p, '<', (size_t)(ce - p)) == NULL) {
    p = ce;
  } else {
    while (p < e) {
      while (p < e && !sipline__is((unsigned char)*p, SIPLINE__C_LIST))
        p++;
      if (p >= e || *p == ',')
        break;
      if (*p == '"') {
        p = sipline__quoted_end(p, e);
        if (p == NULL)
          return SIPLINE_ERR_MALFORMED;
      } else { /* '<' */
        p = memchr(p, '>', (size_t)(e - p));
        if (p == NULL)
          return SIPLINE_ERR_MALFORMED;
        p++;
      }
    }
  }
  const char *ie = sipline__rskip_lws(s, p);
  if (ie == s)
    return SIPLINE_ERR_MALFORMED;
  item->p = s;
  item->len = (size_t)(ie - s);
  rest->p = p;
  rest->len = (size_t)(e - p);
  return 1;
}

int sipline_auth_hdr_parse(sipline_pl in, sipline_auth_hdr *out) {
  out->scheme = SIPLINE_PL_NULL;
  out->n = 0;
  if (in.p == NULL)
    return SIPLINE_ERR_MALFORMED;
  const char *e = in.p + in.len;
  const char *p = sipline__skip_lws(in.p, e);
  const char *s = p;
  p = scan_token(p, e);
  if (p == s)
    return SIPLINE_ERR_MALFORMED;
  out->scheme = sipline__pl(s, p);
  const char *q = sipline__skip_lws(p, e);
  if (q < e && q == p)
    return SIPLINE_ERR_MALFORMED;
  p = q;
  while (p < e) {
    const char *ns = p;
    p = scan_token(p, e);
    if (p == ns)
      return SIPLINE_ERR_MALFORMED;
    sipline_pl name = sipline__pl(ns, p);
    p = sipline__skip_lws(p, e);
    if (p >= e || *p != '=')
      return SIPLINE_ERR_MALFORMED;
    p = sipline__skip_lws(p + 1, e);
    sipline_pl val;
    if (p < e && *p == '"') {
      const char *qe = sipline__quoted_end(p, e);
      if (qe == NULL)
        return SIPLINE_ERR_MALFORMED;
      val = sipline__pl(p + 1, qe - 1);
      p = qe;
    } else {
      const char *vs = p;
      while (p < e && *p != ',' && !sipline__lws((unsigned char)*p) &&
             *p != '"')
        p++;
      if (p == vs)
        return SIPLINE_ERR_MALFORMED;
      val = sipline__pl(vs, p);
    }
    if (out->n >= SIPLINE_AUTH_MAX_PARAMS)
      return SIPLINE_ERR_TOOBIG;
    out->p[out->n].name = name;
    out->p[out->n].value = val;
    out->n++;
    p = sipline__skip_lws(p, e);
    if (p < e) {
      if (*p != ',')
        return SIPLINE_ERR_MALFORMED;
      p = sipline__skip_lws(p + 1, e);
      if (p >= e)
        return SIPLINE_ERR_MALFORMED;
    }
  }
  return 0;
}

int sipline_auth_hdr_get(const sipline_auth_hdr *h, const char *name,
                         sipline_pl *val) {
  const size_t nl = strlen(name);
  for (unsigned i = 0; i < h->n; i++)
    if (h->p[i].name.len == nl && sipline__casen(h->p[i].name.p, name, nl)) {
      if (val)
        *val = h->p[i].value;
      return 0;
    }
  return SIPLINE_ERR_NOTFOUND;
}
