/*
 * src/sdp/read.c: helpers that read a parsed description: effective
 * direction and connection, attributes by name, rtpmap/fmtp by payload
 * type, ptime, rtcp, rtcp-mux and crypto.
 */
#include <string.h>

#include "sdp/sdp.h"

const char *sipline_sdp_dir_name(sipline_sdp_dir d) {
  switch (d) {
  case SIPLINE_SDP_SENDONLY:
    return "sendonly";
  case SIPLINE_SDP_RECVONLY:
    return "recvonly";
  case SIPLINE_SDP_INACTIVE:
    return "inactive";
  default:
    return "sendrecv";
  }
}

static bool level_dir(const sipline_sdp_attr *a, unsigned n,
                      sipline_sdp_dir *d) {
  bool found = false;
  for (unsigned i = 0; i < n; i++)
    if (sipline__sdp_is_dir(a[i].name, d))
      found = true;
  return found;
}

sipline_sdp_dir sipline_sdp_media_dir(const sipline_sdp *s, unsigned mi) {
  sipline_sdp_dir d = SIPLINE_SDP_SENDRECV;
  if (mi < s->n_m && level_dir(s->m[mi].a, s->m[mi].n_a, &d))
    return d;
  if (level_dir(s->a, s->n_a, &d))
    return d;
  return SIPLINE_SDP_SENDRECV;
}

const sipline_sdp_conn *sipline_sdp_media_conn(const sipline_sdp *s,
                                               unsigned mi) {
  if (mi >= s->n_m)
    return NULL;
  if (s->m[mi].n_c)
    return &s->m[mi].c[0];
  return s->has_c ? &s->c : NULL;
}

int sipline_sdp_attr_get(const sipline_sdp *s, unsigned mi, const char *name,
                         sipline_pl *value) {
  const sipline_sdp_attr *a = s->a;
  unsigned n = s->n_a;
  if (mi != SIPLINE_SDP_SESSION) {
    if (mi >= s->n_m)
      return SIPLINE_ERR_NOTFOUND;
    a = s->m[mi].a;
    n = s->m[mi].n_a;
  }
  for (unsigned i = 0; i < n; i++)
    if (sipline_pl_casecmp_str(a[i].name, name)) {
      if (value)
        *value = a[i].value;
      return 0;
    }
  return SIPLINE_ERR_NOTFOUND;
}

/* The value after "<pt> " of the first attribute name for payload pt. */
static int by_pt(const sipline_sdp *s, unsigned mi, const char *name,
                 unsigned pt, sipline_pl *rest) {
  if (mi >= s->n_m)
    return SIPLINE_ERR_NOTFOUND;
  const sipline_sdp_media *m = &s->m[mi];
  for (unsigned i = 0; i < m->n_a; i++) {
    if (!sipline_pl_casecmp_str(m->a[i].name, name))
      continue;
    sipline_pl v = m->a[i].value, f;
    uint64_t n;
    if (!sipline__sdp_field(&v, &f) || sipline_pl_u64(f, 127, &n) || n != pt)
      continue;
    *rest = sipline_pl_trim(v);
    return 0;
  }
  return SIPLINE_ERR_NOTFOUND;
}

/* RFC 3551 §6: the static audio and video payload types. */
static const struct {
  unsigned pt;
  const char *name;
  uint32_t rate;
} statics[] = {
    {0, "PCMU", 8000},   {3, "GSM", 8000},    {4, "G723", 8000},
    {5, "DVI4", 8000},   {6, "DVI4", 16000},  {7, "LPC", 8000},
    {8, "PCMA", 8000},   {9, "G722", 8000},   {10, "L16", 44100},
    {11, "L16", 44100},  {12, "QCELP", 8000}, {13, "CN", 8000},
    {14, "MPA", 90000},  {15, "G728", 8000},  {16, "DVI4", 11025},
    {17, "DVI4", 22050}, {18, "G729", 8000},  {25, "CelB", 90000},
    {26, "JPEG", 90000}, {28, "nv", 90000},   {31, "H261", 90000},
    {32, "MPV", 90000},  {33, "MP2T", 90000}, {34, "H263", 90000},
};

int sipline_sdp_rtpmap_get(const sipline_sdp *s, unsigned mi, unsigned pt,
                           sipline_sdp_rtpmap *out) {
  sipline_pl v;
  memset(out, 0, sizeof(*out));
  out->pt = pt;
  out->channels = 1;
  if (by_pt(s, mi, "rtpmap", pt, &v) == 0) {
    /* encoding-name "/" clock-rate [ "/" channels ] */
    uint64_t n;
    out->name = (sipline_pl){v.p, 0};
    while (out->name.len < v.len && v.p[out->name.len] != '/')
      out->name.len++;
    if (out->name.len == 0 || out->name.len == v.len)
      return SIPLINE_ERR_MALFORMED;
    sipline_pl r = {v.p + out->name.len + 1, v.len - out->name.len - 1};
    size_t k = 0;
    while (k < r.len && r.p[k] != '/')
      k++;
    if (sipline_pl_u64((sipline_pl){r.p, k}, UINT32_MAX, &n))
      return SIPLINE_ERR_MALFORMED;
    out->rate = (uint32_t)n;
    if (k < r.len) {
      if (sipline_pl_u64((sipline_pl){r.p + k + 1, r.len - k - 1}, 255, &n) ||
          n == 0)
        return SIPLINE_ERR_MALFORMED;
      out->channels = (uint32_t)n;
    }
    return 0;
  }
  if (mi >= s->n_m)
    return SIPLINE_ERR_NOTFOUND;
  for (size_t i = 0; i < sizeof(statics) / sizeof(statics[0]); i++)
    if (statics[i].pt == pt) {
      out->name = sipline_pl_str(statics[i].name);
      out->rate = statics[i].rate;
      out->channels = pt == 10 ? 2 : 1;
      out->is_static = true;
      return 0;
    }
  return SIPLINE_ERR_NOTFOUND;
}

int sipline_sdp_fmtp_get(const sipline_sdp *s, unsigned mi, unsigned pt,
                         sipline_pl *params) {
  return by_pt(s, mi, "fmtp", pt, params);
}

int sipline_sdp_ptime_get(const sipline_sdp *s, unsigned mi, unsigned *ms) {
  sipline_pl v;
  uint64_t n;
  if (sipline_sdp_attr_get(s, mi, "ptime", &v) &&
      sipline_sdp_attr_get(s, SIPLINE_SDP_SESSION, "ptime", &v))
    return SIPLINE_ERR_NOTFOUND;
  /* Some phones write "20.0"; the integer part is what matters. */
  v = sipline_pl_trim(v);
  size_t k = 0;
  while (k < v.len && v.p[k] != '.')
    k++;
  if (sipline_pl_u64((sipline_pl){v.p, k}, 10000, &n) || n == 0)
    return SIPLINE_ERR_MALFORMED;
  *ms = (unsigned)n;
  return 0;
}

int sipline_sdp_rtcp_get(const sipline_sdp *s, unsigned mi,
                         sipline_sdp_rtcp *out) {
  sipline_pl v, f;
  uint64_t n;
  memset(out, 0, sizeof(*out));
  if (mi == SIPLINE_SDP_SESSION || sipline_sdp_attr_get(s, mi, "rtcp", &v))
    return SIPLINE_ERR_NOTFOUND;
  if (!sipline__sdp_field(&v, &f) || sipline_pl_u64(f, 65535, &n))
    return SIPLINE_ERR_MALFORMED;
  out->port = (uint16_t)n;
  if (!sipline__sdp_field(&v, &out->nettype))
    return 0;
  if (!sipline__sdp_field(&v, &out->addrtype) ||
      !sipline__sdp_field(&v, &out->address) || sipline__sdp_field(&v, &f))
    return SIPLINE_ERR_MALFORMED;
  return 0;
}

int sipline_sdp_rtcp_mux(const sipline_sdp *s, unsigned mi) {
  return mi != SIPLINE_SDP_SESSION &&
         sipline_sdp_attr_get(s, mi, "rtcp-mux", NULL) == 0;
}

/* "tag SP crypto-suite SP key-params [SP session-param *(SP ...)]" */
static bool crypto_parse(sipline_pl v, sipline_sdp_crypto *c) {
  sipline_pl f;
  uint64_t n;
  if (!sipline__sdp_field(&v, &f) || sipline_pl_u64(f, 999999999, &n) ||
      !sipline__sdp_field(&v, &c->suite) || !sipline__sdp_token(c->suite) ||
      !sipline__sdp_field(&v, &c->key_params))
    return false;
  c->tag = (unsigned)n;
  c->session_params = sipline_pl_trim(v);
  return c->key_params.len > 0;
}

unsigned sipline_sdp_crypto_list(const sipline_sdp *s, unsigned mi,
                                 sipline_sdp_crypto *out, unsigned max) {
  unsigned n = 0;
  if (mi >= s->n_m)
    return 0;
  const sipline_sdp_media *m = &s->m[mi];
  for (unsigned i = 0; i < m->n_a; i++) {
    sipline_sdp_crypto c;
    if (!sipline_pl_casecmp_str(m->a[i].name, "crypto") ||
        !crypto_parse(m->a[i].value, &c))
      continue;
    if (n < max)
      out[n] = c;
    n++;
  }
  return n;
}
