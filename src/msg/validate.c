/*
 * src/msg/validate.c: the grammar of every known header (RFC 3261 §25 and
 * RFC 3262, 3311, 4028, 6665) and the cross-header checks a UAS applies
 * before acting on a request (sipline_msg_uas_check).
 */
#include "msg/msg.h"

static int bad(const sipline_msg *m, sipline_msg_error *err, const char *reason,
               int status, sipline_hdr_id hdr, const char *at) {
  if (err) {
    err->reason = reason;
    /* Responses cannot be answered: drop them (RFC 3261 §8.1.3.1). */
    err->status = m->is_request ? status : 0;
    err->hdr = hdr;
    err->offset =
        at && at >= m->buf && at <= m->buf + m->len ? (size_t)(at - m->buf) : 0;
  }
  return SIPLINE_ERR_MALFORMED;
}

/* ---- small grammar pieces ---------------------------------------------- */

typedef struct cur {
  const char *p, *e;
} cur;

static void lws(cur *c) {
  c->p = sipline__skip_lws(c->p, c->e);
}
static bool token(cur *c, sipline_pl *out) {
  const char *s = c->p;
  while (c->p < c->e && sipline__is((unsigned char)*c->p, SIPLINE__C_TOKEN))
    c->p++;
  if (out)
    *out = sipline__pl(s, c->p);
  return c->p > s;
}
static bool digits(cur *c, uint64_t max, uint64_t *v) {
  const char *s = c->p;
  while (c->p < c->e && sipline__digit((unsigned char)*c->p))
    c->p++;
  uint64_t tmp;
  return sipline__uint(sipline__pl(s, c->p), max, v ? v : &tmp);
}
static bool ch(cur *c, char x) {
  lws(c);
  if (c->p < c->e && *c->p == x) {
    c->p++;
    lws(c);
    return true;
  }
  return false;
}
/* The rest is *( SEMI generic-param ). */
static bool params_rest(cur *c) {
  return sipline__gen_params_check(sipline__pl(c->p, c->e)) == 0;
}

/* delta-seconds *( SEMI generic-param ), as in Min-SE, Session-Expires. */
static bool delta_params(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  return digits(&c, UINT32_MAX, NULL) && params_rest(&c);
}
static bool delta_only(sipline_pl v) {
  uint64_t x;
  return sipline__uint(v, UINT32_MAX, &x);
}
/* token *( SEMI generic-param ): Event, Subscription-State, Content-
 * Disposition, Priority (no params allowed there but harmless). */
static bool token_params(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  return token(&c, NULL) && params_rest(&c);
}
/* type "/" subtype *( SEMI m-parameter ); star forms when accept is set. */
static bool media(sipline_pl v, bool accept) {
  cur c = {v.p, v.p + v.len};
  if (accept && c.p < c.e && *c.p == '*') {
    c.p++;
    if (!ch(&c, '/') || c.p >= c.e || *c.p != '*')
      return false;
    c.p++;
    return params_rest(&c);
  }
  if (!token(&c, NULL) || !ch(&c, '/'))
    return false;
  if (accept && c.p < c.e && *c.p == '*')
    c.p++;
  else if (!token(&c, NULL))
    return false;
  return params_rest(&c);
}

typedef bool (*elem_fn)(sipline_pl v);

/* A comma list of elements; empty lists allowed when empty_ok. */
static bool list_of(sipline_pl v, elem_fn f, bool empty_ok) {
  sipline_pl rest = v, item;
  int r, n = 0;
  while ((r = sipline_list_next(&rest, &item)) == 1) {
    if (!f(item))
      return false;
    n++;
  }
  return r == 0 && (n > 0 || empty_ok);
}

static bool is_token(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  return token(&c, NULL) && c.p == c.e;
}
/* language-range / codings with optional parameters (accept-params). */
static bool token_or_star_params(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  if (c.p < c.e && *c.p == '*')
    c.p++;
  else if (!token(&c, NULL))
    return false;
  return params_rest(&c);
}
static bool accept_elem(sipline_pl v) {
  return media(v, true);
}

static bool via_elem(sipline_pl v) {
  sipline_via via;
  if (sipline_via_parse(v, &via) != 0)
    return false;
  /* sent-protocol: protocol-name "/" protocol-version; only SIP/2.0 is
   * meaningful, but RFC 3261 does not make others malformed. */
  return true;
}

static bool contact_param_values(sipline_pl params) {
  sipline_pl x;
  if (sipline_param_get(params, "expires", &x) == 0 && !delta_only(x))
    return false;
  if (sipline_param_get(params, "q", &x) == 0) {
    /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
    if (x.len == 0 || x.len > 5 || (x.p[0] != '0' && x.p[0] != '1'))
      return false;
    if (x.len > 1) {
      if (x.p[1] != '.')
        return false;
      for (size_t i = 2; i < x.len; i++)
        if (!sipline__digit((unsigned char)x.p[i]) ||
            (x.p[0] == '1' && x.p[i] != '0'))
          return false;
    }
  }
  return true;
}

static bool nameaddr_elem(sipline_pl v) {
  sipline_nameaddr na;
  return sipline_nameaddr_parse(v, &na) == 0 && !na.star &&
         contact_param_values(na.params);
}
/* rec-route / route = name-addr *( SEMI rr-param ): the <> are required. */
static bool route_elem(sipline_pl v) {
  sipline_nameaddr na;
  return sipline_nameaddr_parse(v, &na) == 0 && !na.star &&
         na.uri_raw.p > v.p && na.uri_raw.p[-1] == '<';
}

/* Call-ID = word [ "@" word ] */
static bool callid_ok(sipline_pl v) {
  if (v.len == 0)
    return false;
  const char *at = NULL;
  for (size_t i = 0; i < v.len; i++) {
    const unsigned char c = (unsigned char)v.p[i];
    if (c == '@') {
      if (at || i == 0 || i + 1 == v.len)
        return false;
      at = v.p + i;
    } else if (!sipline__is(c, SIPLINE__C_WORD)) {
      return false;
    }
  }
  return true;
}

static bool cseq_ok(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  if (!digits(&c, UINT32_MAX, NULL))
    return false;
  const char *s = c.p;
  lws(&c);
  return c.p > s && token(&c, NULL) && c.p == c.e;
}

/* RAck = response-num LWS CSeq-num LWS Method (RFC 3262 §7.2) */
static bool rack_ok(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  if (!digits(&c, UINT32_MAX, NULL))
    return false;
  lws(&c);
  if (!digits(&c, UINT32_MAX, NULL))
    return false;
  lws(&c);
  return token(&c, NULL) && c.p == c.e;
}

/* rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 §20.17) */
static bool date_ok(sipline_pl v) {
  static const char wk[] = "MonTueWedThuFriSatSun";
  static const char mo[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const char *p = v.p;
  if (v.len != 29)
    return false;
  bool ok = false;
  for (int i = 0; i < 7; i++)
    ok |= memcmp(p, wk + 3 * i, 3) == 0;
  if (!ok || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
      p[16] != ' ' || p[19] != ':' || p[22] != ':' || p[25] != ' ' ||
      memcmp(p + 26, "GMT", 3) != 0)
    return false;
  ok = false;
  for (int i = 0; i < 12; i++)
    ok |= memcmp(p + 8, mo + 3 * i, 3) == 0;
  static const int dig[] = {5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24};
  for (size_t i = 0; i < sizeof(dig) / sizeof(dig[0]); i++)
    ok &= sipline__digit((unsigned char)p[dig[i]]);
  return ok;
}

/* Retry-After = delta-seconds [ comment ] *( SEMI retry-param ) */
static bool retry_after_ok(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  if (!digits(&c, UINT32_MAX, NULL))
    return false;
  lws(&c);
  if (c.p < c.e && *c.p == '(') {
    int depth = 0;
    for (; c.p < c.e; c.p++) {
      if (*c.p == '\\') {
        c.p++;
        continue;
      }
      if (*c.p == '(')
        depth++;
      else if (*c.p == ')' && --depth == 0) {
        c.p++;
        break;
      }
    }
    if (depth != 0)
      return false;
  }
  return params_rest(&c);
}

/* Timestamp = 1*(DIGIT) [ "." *(DIGIT) ] [ LWS delay ] */
static bool timestamp_ok(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  for (int part = 0; part < 2; part++) {
    const char *s = c.p;
    while (c.p < c.e && sipline__digit((unsigned char)*c.p))
      c.p++;
    if (c.p == s && part == 0)
      return false;
    if (c.p < c.e && *c.p == '.') {
      c.p++;
      while (c.p < c.e && sipline__digit((unsigned char)*c.p))
        c.p++;
    }
    if (part == 0) {
      const char *s2 = c.p;
      lws(&c);
      if (c.p == c.e)
        return true;
      if (c.p == s2)
        return false;
    }
  }
  return c.p == c.e;
}

/* warning-value = warn-code SP warn-agent SP warn-text. The code must be
 * three digits (RFC 4475 §3.1.2.5); agent and text are only required to be
 * there, since a response is dropped when it fails and servers in the field
 * send unquoted texts. */
static bool warning_elem(sipline_pl v) {
  const char *p = v.p;
  if (v.len < 6 || !sipline__digit((unsigned char)p[0]) ||
      !sipline__digit((unsigned char)p[1]) ||
      !sipline__digit((unsigned char)p[2]) || p[3] != ' ')
    return false;
  const char *sp = memchr(p + 4, ' ', v.len - 4);
  return sp != NULL && sp > p + 4 && sp + 1 < p + v.len;
}

/* MIME-Version = 1*DIGIT "." 1*DIGIT */
static bool mime_version_ok(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  return digits(&c, 999, NULL) && c.p < c.e && *c.p++ == '.' &&
         digits(&c, 999, NULL) && c.p == c.e;
}

/* A list of challenges in one line: the first parses up to the second
 * scheme. */
static bool challenges_ok(sipline_pl v) {
  /* ", <token> LWS <token> =" starts a second challenge */
  const char *p = v.p, *e = v.p + v.len;
  for (const char *c = p; (c = memchr(c, ',', (size_t)(e - c))) != NULL; c++) {
    cur k = {c + 1, e};
    lws(&k);
    if (!token(&k, NULL) || k.p == e || !sipline__lws((unsigned char)*k.p))
      continue;
    lws(&k);
    if (!token(&k, NULL) || !ch(&k, '='))
      continue;
    sipline_auth_hdr a;
    return sipline_auth_hdr_parse(sipline__pl(p, c), &a) == 0;
  }
  return false;
}

static bool auth_ok(sipline_pl v) {
  sipline_auth_hdr a;
  return sipline_auth_hdr_parse(v, &a) == 0;
}

/* Authentication-Info = ainfo *(COMMA ainfo): parse as a scheme-less auth
 * header by prefixing nothing: walk the list of name=value. */
static bool ainfo_elem(sipline_pl v) {
  cur c = {v.p, v.p + v.len};
  if (!token(&c, NULL) || !ch(&c, '='))
    return false;
  if (c.p < c.e && *c.p == '"')
    return sipline__quoted_end(c.p, c.e) == c.e;
  return token(&c, NULL) && c.p == c.e;
}

/* Text headers: any octets but bare CR/LF outside folding and NUL. */
static bool text_ok(sipline_pl v) {
  for (size_t i = 0; i < v.len; i++)
    if (v.p[i] == '\0')
      return false;
  return true;
}

static bool single_nameaddr(sipline_pl v) {
  sipline_nameaddr na;
  return sipline_nameaddr_parse(v, &na) == 0 && !na.star;
}

/* Per-header grammar; true when the value conforms. */
static bool hdr_ok(const sipline_hdr *h) {
  const sipline_pl v = h->value;
  switch (h->id) {
  case SIPLINE_HDR_ACCEPT:
    return list_of(v, accept_elem, true);
  case SIPLINE_HDR_ACCEPT_ENCODING:
  case SIPLINE_HDR_ACCEPT_LANGUAGE:
    return list_of(v, token_or_star_params, true);
  case SIPLINE_HDR_ALERT_INFO:
  case SIPLINE_HDR_CALL_INFO:
  case SIPLINE_HDR_ERROR_INFO:
    /* Only ring tones and pictures hang on these, and deployed phones and
     * PBXes send non-URI forms ("Alert-Info: Bellcore-dr2"): rejecting a
     * call for that would be worse than ignoring the header. */
    return text_ok(v);
  case SIPLINE_HDR_ALLOW:
  case SIPLINE_HDR_SUPPORTED:
  case SIPLINE_HDR_UNSUPPORTED:
    return list_of(v, is_token, true);
  case SIPLINE_HDR_REQUIRE:
  case SIPLINE_HDR_PROXY_REQUIRE:
  case SIPLINE_HDR_CONTENT_ENCODING:
  case SIPLINE_HDR_CONTENT_LANGUAGE:
    return list_of(v, is_token, false);
  case SIPLINE_HDR_ALLOW_EVENTS:
    return list_of(v, is_token, false);
  case SIPLINE_HDR_AUTHORIZATION:
  case SIPLINE_HDR_PROXY_AUTHORIZATION:
  case SIPLINE_HDR_WWW_AUTHENTICATE:
  case SIPLINE_HDR_PROXY_AUTHENTICATE:
    /* Several challenges may share one header line ("Digest ..., Digest
     * ..."), which the one-scheme parser does not split; the auth layer
     * reads them. Require a scheme and a well-formed first challenge. */
    return auth_ok(v) || challenges_ok(v);
  case SIPLINE_HDR_AUTHENTICATION_INFO:
    return list_of(v, ainfo_elem, false);
  case SIPLINE_HDR_CALL_ID:
    return callid_ok(v);
  case SIPLINE_HDR_IN_REPLY_TO:
    return list_of(v, callid_ok, false);
  case SIPLINE_HDR_CONTACT:
    if (v.len == 1 && v.p[0] == '*')
      return true;
    return list_of(v, nameaddr_elem, false);
  case SIPLINE_HDR_ROUTE:
  case SIPLINE_HDR_RECORD_ROUTE:
    return list_of(v, route_elem, false);
  case SIPLINE_HDR_FROM:
  case SIPLINE_HDR_TO:
  case SIPLINE_HDR_REPLY_TO:
  case SIPLINE_HDR_REFER_TO:
    return single_nameaddr(v);
  case SIPLINE_HDR_CONTENT_DISPOSITION:
  case SIPLINE_HDR_EVENT:
  case SIPLINE_HDR_SUBSCRIPTION_STATE:
    return token_params(v);
  case SIPLINE_HDR_PRIORITY:
    return is_token(v);
  case SIPLINE_HDR_CONTENT_LENGTH:
    return sipline__uint(v, INT32_MAX, &(uint64_t){0});
  case SIPLINE_HDR_CONTENT_TYPE:
    return media(v, false);
  case SIPLINE_HDR_CSEQ:
    return cseq_ok(v);
  case SIPLINE_HDR_DATE:
    return date_ok(v);
  case SIPLINE_HDR_EXPIRES:
  case SIPLINE_HDR_MIN_EXPIRES:
  case SIPLINE_HDR_RSEQ:
    return delta_only(v);
  case SIPLINE_HDR_MAX_FORWARDS:
    return sipline__uint(v, 255, &(uint64_t){0});
  case SIPLINE_HDR_MIME_VERSION:
    return mime_version_ok(v);
  case SIPLINE_HDR_MIN_SE:
  case SIPLINE_HDR_SESSION_EXPIRES:
    return delta_params(v);
  case SIPLINE_HDR_RACK:
    return rack_ok(v);
  case SIPLINE_HDR_RETRY_AFTER:
    return retry_after_ok(v);
  case SIPLINE_HDR_TIMESTAMP:
    return timestamp_ok(v);
  case SIPLINE_HDR_VIA:
    return list_of(v, via_elem, false);
  case SIPLINE_HDR_WARNING:
    return list_of(v, warning_elem, false);
  case SIPLINE_HDR_ORGANIZATION:
  case SIPLINE_HDR_SERVER:
  case SIPLINE_HDR_SUBJECT:
  case SIPLINE_HDR_USER_AGENT:
  case SIPLINE_HDR_OTHER:
  case SIPLINE_HDR__MAX:
    return text_ok(v);
  }
  return true;
}

static const char *const hdr_reason[SIPLINE_HDR__MAX] = {
    [SIPLINE_HDR_VIA] = "Bad Via",
    [SIPLINE_HDR_FROM] = "Bad From",
    [SIPLINE_HDR_TO] = "Bad To",
    [SIPLINE_HDR_CALL_ID] = "Bad Call-ID",
    [SIPLINE_HDR_CSEQ] = "Bad CSeq",
    [SIPLINE_HDR_CONTACT] = "Bad Contact",
    [SIPLINE_HDR_DATE] = "Bad Date",
    [SIPLINE_HDR_EXPIRES] = "Bad Expires",
    [SIPLINE_HDR_MAX_FORWARDS] = "Bad Max-Forwards",
    [SIPLINE_HDR_CONTENT_TYPE] = "Bad Content-Type",
    [SIPLINE_HDR_CONTENT_LENGTH] = "Bad Content-Length",
    [SIPLINE_HDR_RETRY_AFTER] = "Bad Retry-After",
    [SIPLINE_HDR_WARNING] = "Bad Warning",
    [SIPLINE_HDR_ROUTE] = "Bad Route",
    [SIPLINE_HDR_RECORD_ROUTE] = "Bad Record-Route",
    [SIPLINE_HDR_AUTHORIZATION] = "Bad Authorization",
    [SIPLINE_HDR_PROXY_AUTHORIZATION] = "Bad Proxy-Authorization",
    [SIPLINE_HDR_REQUIRE] = "Bad Require",
    [SIPLINE_HDR_ACCEPT] = "Bad Accept",
};

int sipline_msg_validate(const sipline_msg *m, sipline_msg_error *err) {
  if (m->is_request) {
    /* RFC 3261 §19.1.1: a Request-URI carries no headers component. */
    if ((m->ruri.scheme_id == SIPLINE_SCHEME_SIP ||
         m->ruri.scheme_id == SIPLINE_SCHEME_SIPS) &&
        m->ruri.headers.p != NULL)
      return bad(m, err, "Headers in the Request-URI", 400, SIPLINE_HDR_OTHER,
                 m->ruri.headers.p);
  }
  for (unsigned i = 0; i < m->n_hdrs; i++) {
    const sipline_hdr *h = &m->hdrs[i];
    if (!hdr_ok(h)) {
      const char *r = hdr_reason[h->id] ? hdr_reason[h->id] : "Bad header";
      return bad(m, err, r, 400, h->id, h->value.p);
    }
  }
  /* RFC 3261 §8.2.2 / RFC 4475 §3.1.2.17: CSeq method = request method. */
  if (m->is_request && m->cseq_method_name.p &&
      !sipline_pl_eq(m->cseq_method_name, m->method_name))
    return bad(m, err, "CSeq method does not match the request", 400,
               SIPLINE_HDR_CSEQ, m->cseq_method_name.p);
  return 0;
}

/* ---- the UAS check ------------------------------------------------------ */

static int reject(sipline_msg_error *err, const char *reason, int status,
                  sipline_hdr_id hdr) {
  if (err) {
    err->reason = reason;
    err->status = status;
    err->hdr = hdr;
    err->offset = 0;
  }
  return 1;
}

static bool in_list(sipline_pl v, const char *const *list) {
  for (; *list; list++)
    if (sipline_pl_casecmp_str(v, *list))
      return true;
  return false;
}

static const char *const default_supported[] = {"100rel", "timer", NULL};
static const char *const default_accept[] = {
    "application/sdp", "multipart/mixed", "multipart/alternative", NULL};

/* The media type of a Content-Type / Accept element, without parameters. */
static sipline_pl media_type(sipline_pl v) {
  const char *p = v.p, *e = v.p + v.len;
  const char *sc = memchr(p, ';', v.len);
  if (sc)
    e = sc;
  e = sipline__rskip_lws(p, e);
  return sipline__pl(p, e);
}

/* Compares "type/subtype" ignoring case and LWS around the '/'. */
static bool media_match(sipline_pl range, const char *type) {
  char buf[128];
  size_t n = 0;
  for (size_t i = 0; i < range.len && n < sizeof(buf); i++)
    if (!sipline__lws((unsigned char)range.p[i]))
      buf[n++] = range.p[i];
  sipline_pl r = {buf, n};
  if (sipline_pl_casecmp_str(r, "*/*") || sipline_pl_casecmp_str(r, type))
    return true;
  /* type/ * */
  const char *slash = strchr(type, '/');
  return slash && n == (size_t)(slash - type) + 2 && buf[n - 1] == '*' &&
         sipline__casen(buf, type, (size_t)(slash - type) + 1);
}

int sipline_msg_uas_check(const sipline_msg *m,
                          const sipline_msg_uas_opts *opts,
                          sipline_msg_error *err) {
  static const sipline_hdr_id mandatory[] = {
      SIPLINE_HDR_VIA, SIPLINE_HDR_FROM, SIPLINE_HDR_TO, SIPLINE_HDR_CALL_ID,
      SIPLINE_HDR_CSEQ};
  static const char *const missing[] = {"Missing Via", "Missing From",
                                        "Missing To", "Missing Call-ID",
                                        "Missing CSeq"};
  const int st = m->is_request ? 400 : 0;
  for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
    if (m->count[mandatory[i]] == 0)
      return reject(err, missing[i], st, mandatory[i]);
  }
  /* Single-value headers (RFC 4475 §3.3.8). */
  static const sipline_hdr_id single[] = {SIPLINE_HDR_FROM, SIPLINE_HDR_TO,
                                          SIPLINE_HDR_CALL_ID, SIPLINE_HDR_CSEQ,
                                          SIPLINE_HDR_MAX_FORWARDS};
  for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
    if (m->count[single[i]] > 1)
      return reject(err, "Multiple values in a single-value header", st,
                    single[i]);
  for (unsigned i = 1; i < m->count[SIPLINE_HDR_CONTENT_LENGTH]; i++) {
    const sipline_hdr *h = sipline_msg_hdr(m, SIPLINE_HDR_CONTENT_LENGTH, i);
    uint64_t v;
    if (!sipline__uint(h->value, INT32_MAX, &v) ||
        (int64_t)v != m->content_length)
      return reject(err, "Conflicting Content-Length", st,
                    SIPLINE_HDR_CONTENT_LENGTH);
  }
  if (!m->is_request) {
    /* RFC 3261 §8.1.3.3: more than one Via in a response: discard. */
    if (m->n_via != 1)
      return reject(err, "Response with more than one Via", 0, SIPLINE_HDR_VIA);
    return 0;
  }
  /* RFC 4475 §3.2.1: a branch that is only the magic cookie identifies no
   * transaction. */
  if (m->via.branch.len == 7 && memcmp(m->via.branch.p, "z9hG4bK", 7) == 0)
    return reject(err, "Missing transaction identifier", 400, SIPLINE_HDR_VIA);
  if (m->method == SIPLINE_METHOD_UNKNOWN)
    return reject(err, "Not Implemented", 501, SIPLINE_HDR_OTHER);
  if (m->ruri.scheme_id == SIPLINE_SCHEME_OTHER)
    return reject(err, "Unsupported URI Scheme", 416, SIPLINE_HDR_OTHER);
  const char *const *sup =
      opts && opts->supported ? opts->supported : default_supported;
  if (m->method != SIPLINE_METHOD_ACK && m->method != SIPLINE_METHOD_CANCEL) {
    for (unsigned i = 0; i < m->count[SIPLINE_HDR_REQUIRE]; i++) {
      sipline_pl rest = sipline_msg_hdr(m, SIPLINE_HDR_REQUIRE, i)->value;
      sipline_pl tag;
      while (sipline_list_next(&rest, &tag) == 1)
        if (!in_list(tag, sup))
          return reject(err, "Bad Extension", 420, SIPLINE_HDR_REQUIRE);
    }
  }
  const bool session = m->method == SIPLINE_METHOD_INVITE ||
                       m->method == SIPLINE_METHOD_UPDATE ||
                       m->method == SIPLINE_METHOD_PRACK;
  if (session && m->body.len > 0) {
    const char *const *acc =
        opts && opts->accept ? opts->accept : default_accept;
    if (m->content_type.p == NULL || !in_list(media_type(m->content_type), acc))
      return reject(err, "Unsupported Media Type", 415,
                    SIPLINE_HDR_CONTENT_TYPE);
    for (unsigned i = 0; i < m->count[SIPLINE_HDR_CONTENT_ENCODING]; i++) {
      sipline_pl rest =
          sipline_msg_hdr(m, SIPLINE_HDR_CONTENT_ENCODING, i)->value;
      sipline_pl c;
      while (sipline_list_next(&rest, &c) == 1)
        if (!sipline_pl_casecmp_str(c, "identity"))
          return reject(err, "Unsupported Media Type", 415,
                        SIPLINE_HDR_CONTENT_ENCODING);
    }
  }
  /* RFC 3261 §8.2.3: an INVITE whose Accept excludes SDP gets 406. */
  if (m->method == SIPLINE_METHOD_INVITE && m->count[SIPLINE_HDR_ACCEPT]) {
    bool ok = false;
    for (unsigned i = 0; i < m->count[SIPLINE_HDR_ACCEPT] && !ok; i++) {
      sipline_pl rest = sipline_msg_hdr(m, SIPLINE_HDR_ACCEPT, i)->value;
      sipline_pl r;
      if (rest.len == 0)
        ok = true; /* empty Accept: no body wanted, nothing to refuse */
      while (!ok && sipline_list_next(&rest, &r) == 1)
        ok = media_match(media_type(r), "application/sdp");
    }
    if (!ok)
      return reject(err, "Not Acceptable", 406, SIPLINE_HDR_ACCEPT);
  }
  return 0;
}

int sipline_msg_uas_answerable(const sipline_msg *m) {
  return m->n_via && m->first[SIPLINE_HDR_FROM] && m->first[SIPLINE_HDR_TO] &&
         m->call_id.len && m->first[SIPLINE_HDR_CSEQ];
}

int sipline_msg_uas_answer(const sipline_msg *m, sipline_msg_error *err) {
  const int tag = m->to.tag.len != 0;
  switch (m->method) {
  case SIPLINE_METHOD_ACK:
    reject(err, NULL, 0, SIPLINE_HDR_OTHER); /* nobody's: dropped */
    return 0;
  case SIPLINE_METHOD_CANCEL:
    reject(err, "Call/Transaction Does Not Exist", 481, SIPLINE_HDR_OTHER);
    return 0;
  case SIPLINE_METHOD_INVITE:
    reject(err,
           tag ? "Call/Transaction Does Not Exist" : "Temporarily Unavailable",
           tag ? 481 : 480, SIPLINE_HDR_OTHER);
    return 0;
  case SIPLINE_METHOD_NOTIFY:
    reject(err, tag ? "Call/Transaction Does Not Exist" : "Bad Event",
           tag ? 481 : 489, SIPLINE_HDR_OTHER);
    return 0;
  default:
    break;
  }
  if (tag) {
    /* §12.2.2: its dialog decides; without one, 481 */
    reject(err, "Call/Transaction Does Not Exist", 481, SIPLINE_HDR_OTHER);
    return 0;
  }
  switch (m->method) {
  case SIPLINE_METHOD_OPTIONS:
    return reject(err, "OK", 200, SIPLINE_HDR_OTHER);
  case SIPLINE_METHOD_BYE:
  case SIPLINE_METHOD_UPDATE:
  case SIPLINE_METHOD_INFO:
  case SIPLINE_METHOD_PRACK:
    /* dialog methods with no dialog to go to (§12.2.2) */
    return reject(err, "Call/Transaction Does Not Exist", 481,
                  SIPLINE_HDR_OTHER);
  case SIPLINE_METHOD_REGISTER:
  case SIPLINE_METHOD_SUBSCRIBE:
  case SIPLINE_METHOD_REFER:
  case SIPLINE_METHOD_MESSAGE:
  case SIPLINE_METHOD_PUBLISH:
    /* known, but not something a UA that is no registrar or notifier
     * serves */
    return reject(err, "Method Not Allowed", 405, SIPLINE_HDR_OTHER);
  default:
    return reject(err, "Not Implemented", 501, SIPLINE_HDR_OTHER);
  }
}
