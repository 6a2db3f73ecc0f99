/*
 * src/sdp/parse.c: the SDP parser (RFC 8866). One pass over the lines, each
 * validated and stored as views into the caller's buffer; no allocation.
 * The strict and lenient choices are listed in include/sipline/sdp.h.
 */
#include <string.h>

#include "sdp/sdp.h"

bool sipline__sdp_tokchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return true;
  return c && strchr("!#$%&'*+-.^_`{|}~", c) != NULL;
}

bool sipline__sdp_token(sipline_pl t) {
  if (t.len == 0)
    return false;
  for (size_t i = 0; i < t.len; i++)
    if (!sipline__sdp_tokchar((unsigned char)t.p[i]))
      return false;
  return true;
}

bool sipline__sdp_ip4(sipline_pl a) {
  size_t i = 0;
  for (int octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= a.len || a.p[i] != '.')
        return false;
      i++;
    }
    unsigned v = 0, nd = 0;
    while (i < a.len && a.p[i] >= '0' && a.p[i] <= '9' && nd < 4) {
      v = v * 10 + (unsigned)(a.p[i] - '0');
      i++;
      nd++;
    }
    if (nd == 0 || nd > 3 || v > 255)
      return false;
  }
  return i == a.len;
}

static bool hexdig(char c) {
  return c && strchr("0123456789abcdefABCDEF", c) != NULL;
}

/*
 * Counts 16-bit pieces: up to 8 groups of 1-4 hex digits, at most one "::"
 * standing for at least one group, and an IPv4 tail counting as two.
 */
bool sipline__sdp_ip6(sipline_pl a) {
  size_t i = 0;
  unsigned groups = 0;
  bool dbl = false;
  if (a.len >= 2 && a.p[0] == ':' && a.p[1] == ':') {
    dbl = true;
    i = 2;
  } else if (a.len && a.p[0] == ':') {
    return false;
  }
  while (i < a.len) {
    size_t start = i;
    while (i < a.len && i - start < 5 && hexdig(a.p[i]))
      i++;
    size_t nd = i - start;
    if (i < a.len && a.p[i] == '.') {
      /* An IPv4 tail: it must be the last thing. */
      if (!sipline__sdp_ip4((sipline_pl){a.p + start, a.len - start}))
        return false;
      groups += 2;
      i = a.len;
      break;
    }
    if (nd == 0 || nd > 4)
      return false;
    groups++;
    if (i == a.len)
      break;
    if (a.p[i] != ':')
      return false;
    i++;
    if (i < a.len && a.p[i] == ':') {
      if (dbl)
        return false;
      dbl = true;
      i++;
      if (i == a.len)
        break;
    } else if (i == a.len) {
      return false; /* a single trailing ':' */
    }
  }
  return dbl ? groups <= 7 : groups == 8;
}

static bool fqdn(sipline_pl a) {
  bool alpha = false;
  if (a.len == 0 || a.len > 255)
    return false;
  for (size_t i = 0; i < a.len; i++) {
    char c = a.p[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      alpha = true;
    else if (!(c >= '0' && c <= '9') && c != '-' && c != '.')
      return false;
  }
  return alpha;
}

bool sipline__sdp_field(sipline_pl *rest, sipline_pl *f) {
  while (rest->len && rest->p[0] == ' ') {
    rest->p++;
    rest->len--;
  }
  if (rest->len == 0)
    return false;
  size_t n = 0;
  while (n < rest->len && rest->p[n] != ' ')
    n++;
  *f = (sipline_pl){rest->p, n};
  rest->p += n;
  rest->len -= n;
  return true;
}

static bool nonws(sipline_pl t) {
  if (t.len == 0)
    return false;
  for (size_t i = 0; i < t.len; i++) {
    unsigned char c = (unsigned char)t.p[i];
    if (c <= 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

static bool digits(sipline_pl t) {
  if (t.len == 0)
    return false;
  for (size_t i = 0; i < t.len; i++)
    if (t.p[i] < '0' || t.p[i] > '9')
      return false;
  return true;
}

static int u64(sipline_pl t, uint64_t max, uint64_t *v) {
  return sipline_pl_u64(t, max, v) == 0 ? 0 : SIPLINE_ERR_MALFORMED;
}

/* A unicast address of the given type: o= and the rtcp attribute. */
static bool unicast(sipline_pl nettype, sipline_pl addrtype, sipline_pl a) {
  if (!sipline_pl_casecmp_str(nettype, "IN"))
    return nonws(a);
  if (sipline_pl_casecmp_str(addrtype, "IP4"))
    return sipline__sdp_ip4(a) || fqdn(a);
  if (sipline_pl_casecmp_str(addrtype, "IP6"))
    return sipline__sdp_ip6(a) || fqdn(a);
  return nonws(a);
}

static sipline_pl cut(sipline_pl *rest, char sep) {
  const char *q = memchr(rest->p, sep, rest->len);
  sipline_pl head = *rest;
  if (!q) {
    *rest = SIPLINE_PL_NULL;
    return head;
  }
  head.len = (size_t)(q - rest->p);
  rest->len -= head.len + 1;
  rest->p = q + 1;
  return head;
}

/* IPv4 multicast is 224.0.0.0/4: the first octet is 224..239. */
static bool ip4_mcast(sipline_pl a) {
  unsigned v = 0;
  for (size_t i = 0; i < a.len && a.p[i] != '.'; i++)
    v = v * 10 + (unsigned)(a.p[i] - '0');
  return v >= 224 && v <= 239;
}

static int parse_conn(sipline_pl v, sipline_sdp_conn *c) {
  sipline_pl addr, extra;
  memset(c, 0, sizeof(*c));
  if (!sipline__sdp_field(&v, &c->nettype) ||
      !sipline__sdp_field(&v, &c->addrtype) || !sipline__sdp_field(&v, &addr) ||
      sipline__sdp_field(&v, &extra) || !sipline__sdp_token(c->nettype) ||
      !sipline__sdp_token(c->addrtype))
    return SIPLINE_ERR_MALFORMED;
  bool ip4 = sipline_pl_casecmp_str(c->addrtype, "IP4");
  if (!sipline_pl_casecmp_str(c->nettype, "IN") ||
      !(ip4 || sipline_pl_casecmp_str(c->addrtype, "IP6"))) {
    /* Another network or address type: kept as one raw address. */
    c->address = addr;
    return nonws(addr) ? 0 : SIPLINE_ERR_MALFORMED;
  }
  bool slash = memchr(addr.p, '/', addr.len) != NULL;
  c->address = cut(&addr, '/');
  if (!(ip4 ? sipline__sdp_ip4(c->address) : sipline__sdp_ip6(c->address)))
    return (!slash && fqdn(c->address)) ? 0 : SIPLINE_ERR_MALFORMED;
  if (!slash)
    return ip4 && ip4_mcast(c->address) ? SIPLINE_ERR_MALFORMED : 0;
  uint64_t n;
  if (ip4) {
    /* RFC 8866 §5.7: IP4 multicast needs a TTL; unicast has no suffix. */
    if (!ip4_mcast(c->address) || u64(cut(&addr, '/'), 255, &n))
      return SIPLINE_ERR_MALFORMED;
    c->has_ttl = true;
    c->ttl = (uint8_t)n;
  } else {
    bool mcast = (c->address.p[0] == 'f' || c->address.p[0] == 'F') &&
                 c->address.len >= 2 &&
                 (c->address.p[1] == 'f' || c->address.p[1] == 'F');
    if (!mcast)
      return SIPLINE_ERR_MALFORMED;
  }
  if (addr.p) {
    if (u64(addr, UINT32_MAX, &n) || n == 0)
      return SIPLINE_ERR_MALFORMED;
    c->count = (uint32_t)n;
  }
  return 0;
}

static int parse_bw(sipline_pl v, sipline_sdp_bw *b) {
  sipline_pl rest = v;
  b->type = cut(&rest, ':');
  if (!rest.p || !sipline__sdp_token(b->type) ||
      u64(rest, UINT64_MAX, &b->value))
    return SIPLINE_ERR_MALFORMED;
  return 0;
}

static int parse_attr(sipline_pl v, sipline_sdp_attr *a) {
  sipline_pl rest = v;
  a->name = cut(&rest, ':');
  a->has_value = rest.p != NULL;
  a->value = rest.p ? rest : (sipline_pl){v.p + v.len, 0};
  return sipline__sdp_token(a->name) ? 0 : SIPLINE_ERR_MALFORMED;
}

static int parse_o(sipline_pl v, sipline_sdp_o *o) {
  sipline_pl extra;
  if (!sipline__sdp_field(&v, &o->username) ||
      !sipline__sdp_field(&v, &o->sess_id) ||
      !sipline__sdp_field(&v, &o->sess_version) ||
      !sipline__sdp_field(&v, &o->nettype) ||
      !sipline__sdp_field(&v, &o->addrtype) ||
      !sipline__sdp_field(&v, &o->address) || sipline__sdp_field(&v, &extra))
    return SIPLINE_ERR_MALFORMED;
  if (!nonws(o->username) || !digits(o->sess_id) || !digits(o->sess_version) ||
      !sipline__sdp_token(o->nettype) || !sipline__sdp_token(o->addrtype) ||
      !unicast(o->nettype, o->addrtype, o->address))
    return SIPLINE_ERR_MALFORMED;
  return 0;
}

static int parse_t(sipline_pl v, sipline_sdp_time *t) {
  sipline_pl a, b, extra;
  if (!sipline__sdp_field(&v, &a) || !sipline__sdp_field(&v, &b) ||
      sipline__sdp_field(&v, &extra) || u64(a, UINT64_MAX, &t->start) ||
      u64(b, UINT64_MAX, &t->stop))
    return SIPLINE_ERR_MALFORMED;
  return 0;
}

static int parse_m(sipline_pl v, sipline_sdp_media *m) {
  sipline_pl port, f;
  uint64_t n;
  if (!sipline__sdp_field(&v, &m->media) || !sipline__sdp_field(&v, &port) ||
      !sipline__sdp_field(&v, &m->proto) || !sipline__sdp_token(m->media))
    return SIPLINE_ERR_MALFORMED;
  sipline_pl pr = port;
  sipline_pl pnum = cut(&pr, '/');
  if (u64(pnum, 65535, &n))
    return SIPLINE_ERR_MALFORMED;
  m->port = (uint16_t)n;
  if (pr.p) {
    if (u64(pr, UINT32_MAX, &n) || n == 0)
      return SIPLINE_ERR_MALFORMED;
    m->nports = (uint32_t)n;
  }
  /* proto = token *("/" token) */
  sipline_pl rest = m->proto;
  while (rest.p) {
    if (!sipline__sdp_token(cut(&rest, '/')))
      return SIPLINE_ERR_MALFORMED;
  }
  while (sipline__sdp_field(&v, &f)) {
    if (!sipline__sdp_token(f))
      return SIPLINE_ERR_MALFORMED;
    if (m->n_fmt == SIPLINE_SDP_MAX_FMT)
      return SIPLINE_ERR_TOOBIG;
    m->fmt[m->n_fmt++] = f;
  }
  return m->n_fmt ? 0 : SIPLINE_ERR_MALFORMED;
}

/* Stores a view into a once-only slot. */
static int once(sipline_pl *slot, sipline_pl v) {
  if (slot->p)
    return SIPLINE_ERR_MALFORMED;
  *slot = v;
  return 0;
}

static int add_pl(sipline_pl *arr, unsigned *n, unsigned max, sipline_pl v) {
  if (*n == max)
    return SIPLINE_ERR_TOOBIG;
  arr[(*n)++] = v;
  return 0;
}

static int add_bw(sipline_sdp_bw *b, unsigned *n, sipline_pl v) {
  if (*n == SIPLINE_SDP_MAX_BW)
    return SIPLINE_ERR_TOOBIG;
  return parse_bw(v, &b[(*n)++]);
}

static int add_attr(sipline_sdp_attr *a, unsigned *n, sipline_pl v) {
  if (*n == SIPLINE_SDP_MAX_ATTR)
    return SIPLINE_ERR_TOOBIG;
  return parse_attr(v, &a[(*n)++]);
}

static int session_line(sipline_sdp *s, char type, sipline_pl v) {
  switch (type) {
  case 'i':
    return once(&s->i, v);
  case 'u':
    return v.len ? once(&s->u, v) : SIPLINE_ERR_MALFORMED;
  case 'e':
    return v.len ? add_pl(s->e, &s->n_e, SIPLINE_SDP_MAX_CONTACT, v)
                 : SIPLINE_ERR_MALFORMED;
  case 'p':
    return v.len ? add_pl(s->p, &s->n_p, SIPLINE_SDP_MAX_CONTACT, v)
                 : SIPLINE_ERR_MALFORMED;
  case 'c':
    if (s->has_c)
      return SIPLINE_ERR_MALFORMED;
    s->has_c = true;
    return parse_conn(v, &s->c);
  case 'b':
    return add_bw(s->b, &s->n_b, v);
  case 't':
    if (s->n_t == SIPLINE_SDP_MAX_TIME)
      return SIPLINE_ERR_TOOBIG;
    return parse_t(v, &s->t[s->n_t++]);
  case 'r':
    if (s->n_t == 0 || v.len == 0)
      return SIPLINE_ERR_MALFORMED;
    return add_pl(s->t[s->n_t - 1].r, &s->t[s->n_t - 1].n_r,
                  SIPLINE_SDP_MAX_REPEAT, v);
  case 'z':
    return v.len ? once(&s->z, v) : SIPLINE_ERR_MALFORMED;
  case 'k':
    return v.len ? once(&s->k, v) : SIPLINE_ERR_MALFORMED;
  case 'a':
    return add_attr(s->a, &s->n_a, v);
  default:
    return SIPLINE_ERR_MALFORMED;
  }
}

static int media_line(sipline_sdp_media *m, char type, sipline_pl v) {
  switch (type) {
  case 'i':
    return once(&m->i, v);
  case 'c':
    if (m->n_c == SIPLINE_SDP_MAX_CONN)
      return SIPLINE_ERR_TOOBIG;
    return parse_conn(v, &m->c[m->n_c++]);
  case 'b':
    return add_bw(m->b, &m->n_b, v);
  case 'k':
    return v.len ? once(&m->k, v) : SIPLINE_ERR_MALFORMED;
  case 'a':
    return add_attr(m->a, &m->n_a, v);
  default:
    return SIPLINE_ERR_MALFORMED;
  }
}

/*
 * Takes the next line off [*pos, end): false at the end. Blank lines are
 * returned as empty; the caller allows them only at the end.
 */
static int next_line(const char **pos, const char *end, sipline_pl *line) {
  const char *b = *pos;
  const char *e = memchr(b, '\n', (size_t)(end - b));
  const char *next = e ? e + 1 : end;
  if (!e)
    e = end;
  if (e > b && e[-1] == '\r')
    e--;
  for (const char *q = b; q < e; q++)
    if (*q == '\0' || *q == '\r' || *q == '\n')
      return SIPLINE_ERR_MALFORMED;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  *line = (sipline_pl){b, (size_t)(e - b)};
  *pos = next;
  return 0;
}

int sipline_sdp_parse(sipline_sdp *s, const char *p, size_t n) {
  if (!s || (!p && n))
    return SIPLINE_ERR_INVAL;
  memset(s, 0, sizeof(*s));
  const char *pos = p, *end = p + n;
  unsigned idx = 0;
  sipline_pl line;
  while (pos < end) {
    int rc = next_line(&pos, end, &line);
    if (rc)
      return rc;
    if (line.len == 0) {
      /* Blank lines are tolerated only when nothing but blanks follows. */
      for (const char *q = pos; q < end; q++)
        if (*q != '\r' && *q != '\n' && *q != ' ' && *q != '\t')
          return SIPLINE_ERR_MALFORMED;
      break;
    }
    if (line.len < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
      return SIPLINE_ERR_MALFORMED;
    char type = line.p[0];
    sipline_pl v = {line.p + 2, line.len - 2};
    if (idx == 0)
      rc = type == 'v' && sipline_pl_casecmp_str(v, "0")
               ? 0
               : SIPLINE_ERR_MALFORMED;
    else if (idx == 1)
      rc = type == 'o' ? parse_o(v, &s->o) : SIPLINE_ERR_MALFORMED;
    else if (idx == 2)
      rc = type == 's' ? (s->s = v, 0) : SIPLINE_ERR_MALFORMED;
    else if (type == 'm') {
      if (s->n_m == SIPLINE_SDP_MAX_MEDIA)
        return SIPLINE_ERR_TOOBIG;
      rc = s->n_t ? parse_m(v, &s->m[s->n_m++]) : SIPLINE_ERR_MALFORMED;
    } else if (s->n_m)
      rc = media_line(&s->m[s->n_m - 1], type, v);
    else
      rc = session_line(s, type, v);
    if (rc)
      return rc;
    idx++;
  }
  return idx >= 3 && s->n_t ? 0 : SIPLINE_ERR_MALFORMED;
}
