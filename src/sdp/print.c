/*
 * src/sdp/print.c: the SDP printer (lines in RFC 8866 order, CRLF) and the
 * field-by-field comparison that the round-trip guarantee is stated in.
 */
#include <string.h>

#include "sdp/sdp.h"

void sipline__sdp_put(sipline__sdp_out *o, const char *s, size_t n) {
  if (o->err)
    return;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') {
      o->err = SIPLINE_ERR_INVAL;
      return;
    }
  if (n >= o->cap - o->len) { /* keep room for the NUL */
    o->err = SIPLINE_ERR_TOOBIG;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

void sipline__sdp_puts(sipline__sdp_out *o, const char *s) {
  sipline__sdp_put(o, s, strlen(s));
}

void sipline__sdp_putpl(sipline__sdp_out *o, sipline_pl pl) {
  sipline__sdp_put(o, pl.p, pl.len);
}

void sipline__sdp_putu(sipline__sdp_out *o, uint64_t v) {
  char b[24];
  size_t i = sizeof(b);
  do {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sipline__sdp_put(o, b + i, sizeof(b) - i);
}

/* Ends a line; CRLF bypasses the CR/LF check of put. */
void sipline__sdp_eol(sipline__sdp_out *o) {
  if (o->err)
    return;
  if (o->cap - o->len < 3) {
    o->err = SIPLINE_ERR_TOOBIG;
    return;
  }
  memcpy(o->p + o->len, "\r\n", 3);
  o->len += 2;
}

static void line(sipline__sdp_out *o, const char *type, sipline_pl v) {
  sipline__sdp_puts(o, type);
  sipline__sdp_putpl(o, v);
  sipline__sdp_eol(o);
}

static void conn(sipline__sdp_out *o, const sipline_sdp_conn *c) {
  sipline__sdp_puts(o, "c=");
  sipline__sdp_putpl(o, c->nettype);
  sipline__sdp_puts(o, " ");
  sipline__sdp_putpl(o, c->addrtype);
  sipline__sdp_puts(o, " ");
  sipline__sdp_putpl(o, c->address);
  if (c->has_ttl) {
    sipline__sdp_puts(o, "/");
    sipline__sdp_putu(o, c->ttl);
  }
  if (c->count) {
    sipline__sdp_puts(o, "/");
    sipline__sdp_putu(o, c->count);
  }
  sipline__sdp_eol(o);
}

static void bws(sipline__sdp_out *o, const sipline_sdp_bw *b, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    sipline__sdp_puts(o, "b=");
    sipline__sdp_putpl(o, b[i].type);
    sipline__sdp_puts(o, ":");
    sipline__sdp_putu(o, b[i].value);
    sipline__sdp_eol(o);
  }
}

bool sipline__sdp_is_dir(sipline_pl name, sipline_sdp_dir *d) {
  static const char *const names[] = {"sendrecv", "sendonly", "recvonly",
                                      "inactive"};
  for (unsigned i = 0; i < 4; i++)
    if (sipline_pl_casecmp_str(name, names[i])) {
      if (d)
        *d = (sipline_sdp_dir)i;
      return true;
    }
  return false;
}

static void attrs(sipline__sdp_out *o, const sipline_sdp_attr *a, unsigned n,
                  bool drop_dir) {
  for (unsigned i = 0; i < n; i++) {
    if (drop_dir && sipline__sdp_is_dir(a[i].name, NULL))
      continue;
    sipline__sdp_puts(o, "a=");
    sipline__sdp_putpl(o, a[i].name);
    if (a[i].has_value) {
      sipline__sdp_puts(o, ":");
      sipline__sdp_putpl(o, a[i].value);
    }
    sipline__sdp_eol(o);
  }
}

static bool bad_counts(const sipline_sdp *s) {
  if (s->n_e > SIPLINE_SDP_MAX_CONTACT || s->n_p > SIPLINE_SDP_MAX_CONTACT ||
      s->n_b > SIPLINE_SDP_MAX_BW || s->n_t > SIPLINE_SDP_MAX_TIME ||
      s->n_a > SIPLINE_SDP_MAX_ATTR || s->n_m > SIPLINE_SDP_MAX_MEDIA)
    return true;
  for (unsigned i = 0; i < s->n_t; i++)
    if (s->t[i].n_r > SIPLINE_SDP_MAX_REPEAT)
      return true;
  for (unsigned i = 0; i < s->n_m; i++) {
    const sipline_sdp_media *m = &s->m[i];
    if (m->n_fmt > SIPLINE_SDP_MAX_FMT || m->n_c > SIPLINE_SDP_MAX_CONN ||
        m->n_b > SIPLINE_SDP_MAX_BW || m->n_a > SIPLINE_SDP_MAX_ATTR)
      return true;
  }
  return false;
}

void sipline__sdp_mline(sipline__sdp_out *o, const sipline_sdp_media *m,
                        uint16_t port) {
  sipline__sdp_puts(o, "m=");
  sipline__sdp_putpl(o, m->media);
  sipline__sdp_puts(o, " ");
  sipline__sdp_putu(o, port);
  if (m->nports && port == m->port) {
    sipline__sdp_puts(o, "/");
    sipline__sdp_putu(o, m->nports);
  }
  sipline__sdp_puts(o, " ");
  sipline__sdp_putpl(o, m->proto);
  for (unsigned f = 0; f < m->n_fmt; f++) {
    sipline__sdp_puts(o, " ");
    sipline__sdp_putpl(o, m->fmt[f]);
  }
  sipline__sdp_eol(o);
}

static void media(sipline__sdp_out *o, const sipline_sdp_media *m, bool set_dir,
                  sipline_sdp_dir dir) {
  sipline__sdp_mline(o, m, m->port);
  if (m->i.p)
    line(o, "i=", m->i);
  for (unsigned c = 0; c < m->n_c; c++)
    conn(o, &m->c[c]);
  bws(o, m->b, m->n_b);
  if (m->k.p)
    line(o, "k=", m->k);
  attrs(o, m->a, m->n_a, set_dir);
  if (set_dir && dir != SIPLINE_SDP_SENDRECV) {
    /* The added line must keep the section within the parser's bound. */
    unsigned kept = 0;
    for (unsigned i = 0; i < m->n_a; i++)
      kept += !sipline__sdp_is_dir(m->a[i].name, NULL);
    if (kept == SIPLINE_SDP_MAX_ATTR && !o->err)
      o->err = SIPLINE_ERR_TOOBIG;
  }
  /* sendrecv is the default and stays unwritten, as make_offer does, so
   * resuming to the text we offered first keeps its version. */
  if (set_dir && dir != SIPLINE_SDP_SENDRECV) {
    sipline__sdp_puts(o, "a=");
    sipline__sdp_puts(o, sipline_sdp_dir_name(dir));
    sipline__sdp_eol(o);
  }
}

void sipline__sdp_print(const sipline_sdp *s, const sipline__sdp_popt *opt,
                        sipline__sdp_out *o) {
  if (bad_counts(s)) {
    o->err = SIPLINE_ERR_INVAL;
    return;
  }
  if (!opt->skip_vo) {
    sipline__sdp_puts(o, "v=0");
    sipline__sdp_eol(o);
    const sipline_pl f[6] = {s->o.username, s->o.sess_id,  s->o.sess_version,
                             s->o.nettype,  s->o.addrtype, s->o.address};
    sipline__sdp_puts(o, "o=");
    for (unsigned i = 0; i < 6; i++) {
      if (i)
        sipline__sdp_puts(o, " ");
      sipline__sdp_putpl(o, f[i]);
    }
    sipline__sdp_eol(o);
  }
  /* RFC 8866 §5.3 wants a single space for an empty session name. */
  line(o, "s=", s->s.len ? s->s : SIPLINE_PL(" "));
  if (s->i.p)
    line(o, "i=", s->i);
  if (s->u.p)
    line(o, "u=", s->u);
  for (unsigned i = 0; i < s->n_e; i++)
    line(o, "e=", s->e[i]);
  for (unsigned i = 0; i < s->n_p; i++)
    line(o, "p=", s->p[i]);
  if (s->has_c)
    conn(o, &s->c);
  bws(o, s->b, s->n_b);
  for (unsigned i = 0; i < s->n_t; i++) {
    sipline__sdp_puts(o, "t=");
    sipline__sdp_putu(o, s->t[i].start);
    sipline__sdp_puts(o, " ");
    sipline__sdp_putu(o, s->t[i].stop);
    sipline__sdp_eol(o);
    for (unsigned r = 0; r < s->t[i].n_r; r++)
      line(o, "r=", s->t[i].r[r]);
  }
  if (s->z.p)
    line(o, "z=", s->z);
  if (s->k.p)
    line(o, "k=", s->k);
  attrs(o, s->a, s->n_a, opt->set_dir);
  for (unsigned i = 0; i < s->n_m; i++) {
    bool set = opt->set_dir &&
               (opt->dir_mi == SIPLINE_SDP_SESSION || opt->dir_mi == i);
    sipline_sdp_dir d = set ? opt->dir : sipline_sdp_media_dir(s, i);
    /* Session-level directions are dropped, so every section states its
     * own effective one. */
    media(o, &s->m[i], opt->set_dir, d);
  }
}

ptrdiff_t sipline_sdp_print(const sipline_sdp *s, char *out, size_t cap) {
  if (!s || (!out && cap))
    return SIPLINE_ERR_INVAL;
  if (cap == 0)
    return SIPLINE_ERR_TOOBIG;
  sipline__sdp_out o = {out, 0, cap, 0};
  const sipline__sdp_popt opt = {0};
  out[0] = '\0';
  sipline__sdp_print(s, &opt, &o);
  return o.err ? o.err : (ptrdiff_t)o.len;
}

/* --- equality ------------------------------------------------------------- */

static bool pleq(sipline_pl a, sipline_pl b) {
  return (a.p == NULL) == (b.p == NULL) && sipline_pl_eq(a, b);
}

static bool conneq(const sipline_sdp_conn *a, const sipline_sdp_conn *b) {
  return pleq(a->nettype, b->nettype) && pleq(a->addrtype, b->addrtype) &&
         pleq(a->address, b->address) && a->has_ttl == b->has_ttl &&
         a->ttl == b->ttl && a->count == b->count;
}

static bool bweq(const sipline_sdp_bw *a, const sipline_sdp_bw *b, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (!pleq(a[i].type, b[i].type) || a[i].value != b[i].value)
      return false;
  return true;
}

static bool attreq(const sipline_sdp_attr *a, const sipline_sdp_attr *b,
                   unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (!pleq(a[i].name, b[i].name) || a[i].has_value != b[i].has_value ||
        !sipline_pl_eq(a[i].value, b[i].value))
      return false;
  return true;
}

static bool pleqs(const sipline_pl *a, const sipline_pl *b, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (!pleq(a[i], b[i]))
      return false;
  return true;
}

static bool mediaeq(const sipline_sdp_media *a, const sipline_sdp_media *b) {
  if (!pleq(a->media, b->media) || a->port != b->port ||
      a->nports != b->nports || !pleq(a->proto, b->proto) ||
      a->n_fmt != b->n_fmt || !pleqs(a->fmt, b->fmt, a->n_fmt) ||
      !pleq(a->i, b->i) || a->n_c != b->n_c || a->n_b != b->n_b ||
      !bweq(a->b, b->b, a->n_b) || !pleq(a->k, b->k) || a->n_a != b->n_a ||
      !attreq(a->a, b->a, a->n_a))
    return false;
  for (unsigned i = 0; i < a->n_c; i++)
    if (!conneq(&a->c[i], &b->c[i]))
      return false;
  return true;
}

int sipline_sdp_equal(const sipline_sdp *a, const sipline_sdp *b) {
  const sipline_sdp_o *x = &a->o, *y = &b->o;
  if (!pleq(x->username, y->username) || !pleq(x->sess_id, y->sess_id) ||
      !pleq(x->sess_version, y->sess_version) ||
      !pleq(x->nettype, y->nettype) || !pleq(x->addrtype, y->addrtype) ||
      !pleq(x->address, y->address) || !sipline_pl_eq(a->s, b->s) ||
      !pleq(a->i, b->i) || !pleq(a->u, b->u) || a->n_e != b->n_e ||
      !pleqs(a->e, b->e, a->n_e) || a->n_p != b->n_p ||
      !pleqs(a->p, b->p, a->n_p) || a->has_c != b->has_c ||
      (a->has_c && !conneq(&a->c, &b->c)) || a->n_b != b->n_b ||
      !bweq(a->b, b->b, a->n_b) || a->n_t != b->n_t || !pleq(a->z, b->z) ||
      !pleq(a->k, b->k) || a->n_a != b->n_a || !attreq(a->a, b->a, a->n_a) ||
      a->n_m != b->n_m)
    return 0;
  for (unsigned i = 0; i < a->n_t; i++)
    if (a->t[i].start != b->t[i].start || a->t[i].stop != b->t[i].stop ||
        a->t[i].n_r != b->t[i].n_r || !pleqs(a->t[i].r, b->t[i].r, a->t[i].n_r))
      return 0;
  for (unsigned i = 0; i < a->n_m; i++)
    if (!mediaeq(&a->m[i], &b->m[i]))
      return 0;
  return 1;
}
