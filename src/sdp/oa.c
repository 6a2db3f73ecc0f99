/*
 * src/sdp/oa.c: RFC 3264 offer/answer helpers: offers and answers built
 * from the application's sipline_sdp_local, the o= version rule of §8, hold
 * and resume, and what a negotiated stream uses.
 */
#include <string.h>

#include "sdp/sdp.h"

/* 64-bit FNV-1a: the memory of the last body sent, without keeping it. */
static uint64_t fnv(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3u;
  }
  return h;
}

/* A caller string that may go into a line: no CR, LF (or space). */
static bool clean(const char *s, bool spaces) {
  if (!s || !*s)
    return false;
  for (; *s; s++)
    if (*s == '\r' || *s == '\n' || (!spaces && (*s == ' ' || *s == '\t')))
      return false;
  return true;
}

sipline_sdp_dir sipline__sdp_dir_meet(sipline_sdp_dir mine,
                                      sipline_sdp_dir theirs) {
  bool send =
      (mine == SIPLINE_SDP_SENDRECV || mine == SIPLINE_SDP_SENDONLY) &&
      (theirs == SIPLINE_SDP_SENDRECV || theirs == SIPLINE_SDP_RECVONLY);
  bool recv =
      (mine == SIPLINE_SDP_SENDRECV || mine == SIPLINE_SDP_RECVONLY) &&
      (theirs == SIPLINE_SDP_SENDRECV || theirs == SIPLINE_SDP_SENDONLY);
  if (send && recv)
    return SIPLINE_SDP_SENDRECV;
  if (send)
    return SIPLINE_SDP_SENDONLY;
  return recv ? SIPLINE_SDP_RECVONLY : SIPLINE_SDP_INACTIVE;
}

/*
 * Puts "v=0" and the o= line in front of the body already in w and applies
 * the §8 version rule: the body (everything after o=) is hashed, and the
 * version goes up by one when it differs from the previous one.
 */
static ptrdiff_t finish(sipline_sdp_origin *o, sipline_pl nettype,
                        sipline_pl addrtype, sipline_pl addr,
                        sipline__sdp_out *w) {
  if (w->err)
    return w->err;
  const char *user = o->username ? o->username : "-";
  if (!clean(user, false))
    return SIPLINE_ERR_INVAL;
  uint64_t h = fnv(w->p, w->len);
  uint64_t ver = o->sess_version + (o->has_prev && h != o->prev_hash);
  char head[400];
  sipline__sdp_out hw = {head, 0, sizeof(head), 0};
  sipline__sdp_puts(&hw, "v=0");
  sipline__sdp_eol(&hw);
  sipline__sdp_puts(&hw, "o=");
  sipline__sdp_puts(&hw, user);
  sipline__sdp_puts(&hw, " ");
  sipline__sdp_putu(&hw, o->sess_id);
  sipline__sdp_puts(&hw, " ");
  sipline__sdp_putu(&hw, ver);
  sipline__sdp_puts(&hw, " ");
  sipline__sdp_putpl(&hw, nettype);
  sipline__sdp_puts(&hw, " ");
  sipline__sdp_putpl(&hw, addrtype);
  sipline__sdp_puts(&hw, " ");
  sipline__sdp_putpl(&hw, addr);
  sipline__sdp_eol(&hw);
  if (hw.err)
    return SIPLINE_ERR_INVAL; /* a username or address too long */
  if (hw.len + w->len >= w->cap)
    return SIPLINE_ERR_TOOBIG;
  memmove(w->p + hw.len, w->p, w->len + 1);
  memcpy(w->p, head, hw.len);
  o->sess_version = ver;
  o->prev_hash = h;
  o->has_prev = true;
  return (ptrdiff_t)(hw.len + w->len);
}

static bool local_ok(const sipline_sdp_local *l) {
  if (!l || !clean(l->address, false) || l->n_media > SIPLINE_SDP_MAX_MEDIA ||
      (l->n_media && !l->media) ||
      (l->session_name && *l->session_name && !clean(l->session_name, true)))
    return false;
  for (size_t i = 0; i < l->n_media; i++) {
    const sipline_sdp_local_media *m = &l->media[i];
    if ((m->media && !clean(m->media, false)) || m->n_codecs == 0 ||
        !m->codecs || m->n_codecs > SIPLINE_SDP_MAX_CODECS || m->te_pt > 127 ||
        (unsigned)m->dir > SIPLINE_SDP_INACTIVE ||
        (m->crypto_suite && (!clean(m->crypto_suite, false) ||
                             !clean(m->crypto_key_params, false))))
      return false;
    for (size_t c = 0; c < m->n_codecs; c++)
      if (m->codecs[c].pt > 127 || !clean(m->codecs[c].name, false) ||
          m->codecs[c].rate == 0 ||
          (m->codecs[c].fmtp && !clean(m->codecs[c].fmtp, true)))
        return false;
  }
  return true;
}

static sipline_pl addrtype_of(const char *addr) {
  return strchr(addr, ':') ? SIPLINE_PL("IP6") : SIPLINE_PL("IP4");
}

/*
 * s=, c= and t= of a description we write. An answer's t= equals the
 * offer's (RFC 3264 §6); an offer's is "0 0" (a SIP session is unbounded).
 */
static void session_head(sipline__sdp_out *w, const sipline_sdp_local *l,
                         const sipline_sdp *offer) {
  const char *name = l->session_name ? l->session_name : "-";
  sipline__sdp_puts(w, "s=");
  sipline__sdp_puts(w, *name ? name : " ");
  sipline__sdp_eol(w);
  sipline__sdp_puts(w, "c=IN ");
  sipline__sdp_putpl(w, addrtype_of(l->address));
  sipline__sdp_puts(w, " ");
  sipline__sdp_puts(w, l->address);
  sipline__sdp_eol(w);
  sipline__sdp_puts(w, "t=");
  sipline__sdp_putu(w, offer && offer->n_t ? offer->t[0].start : 0);
  sipline__sdp_puts(w, " ");
  sipline__sdp_putu(w, offer && offer->n_t ? offer->t[0].stop : 0);
  sipline__sdp_eol(w);
}

static const char *media_of(const sipline_sdp_local_media *m) {
  return m->media ? m->media : "audio";
}

static void attr_pt(sipline__sdp_out *w, const char *name, unsigned pt,
                    const char *value) {
  sipline__sdp_puts(w, "a=");
  sipline__sdp_puts(w, name);
  sipline__sdp_puts(w, ":");
  sipline__sdp_putu(w, pt);
  sipline__sdp_puts(w, " ");
  sipline__sdp_puts(w, value);
}

/* a=rtpmap for codec c as payload type pt, and its a=fmtp when asked. */
static void rtpmap(sipline__sdp_out *w, unsigned pt, const sipline_sdp_codec *c,
                   bool fmtp) {
  attr_pt(w, "rtpmap", pt, c->name);
  sipline__sdp_puts(w, "/");
  sipline__sdp_putu(w, c->rate);
  if (c->channels > 1) {
    sipline__sdp_puts(w, "/");
    sipline__sdp_putu(w, c->channels);
  }
  sipline__sdp_eol(w);
  if (fmtp && c->fmtp) {
    attr_pt(w, "fmtp", pt, c->fmtp);
    sipline__sdp_eol(w);
  }
}

static void te_lines(sipline__sdp_out *w, unsigned pt) {
  attr_pt(w, "rtpmap", pt, "telephone-event/8000");
  sipline__sdp_eol(w);
  attr_pt(w, "fmtp", pt, "0-16");
  sipline__sdp_eol(w);
}

static void flag(sipline__sdp_out *w, const char *name) {
  sipline__sdp_puts(w, "a=");
  sipline__sdp_puts(w, name);
  sipline__sdp_eol(w);
}

/* a=ptime and a=rtcp-mux. */
static void tail(sipline__sdp_out *w, const sipline_sdp_local_media *m,
                 bool mux) {
  if (m->ptime) {
    sipline__sdp_puts(w, "a=ptime:");
    sipline__sdp_putu(w, m->ptime);
    sipline__sdp_eol(w);
  }
  if (mux)
    flag(w, "rtcp-mux");
}

static void crypto_line(sipline__sdp_out *w, unsigned tag,
                        const sipline_sdp_local_media *m) {
  sipline__sdp_puts(w, "a=crypto:");
  sipline__sdp_putu(w, tag);
  sipline__sdp_puts(w, " ");
  sipline__sdp_puts(w, m->crypto_suite);
  sipline__sdp_puts(w, " ");
  sipline__sdp_puts(w, m->crypto_key_params);
  sipline__sdp_eol(w);
}

/* sendrecv is the default and stays unwritten (as in RFC 3264 §10). */
static void dir_line(sipline__sdp_out *w, sipline_sdp_dir dir) {
  if (dir != SIPLINE_SDP_SENDRECV)
    flag(w, sipline_sdp_dir_name(dir));
}

ptrdiff_t sipline_sdp_make_offer(const sipline_sdp_local *l,
                                 sipline_sdp_origin *o, char *out, size_t cap) {
  if (!o || !local_ok(l) || (!out && cap))
    return SIPLINE_ERR_INVAL;
  if (cap == 0)
    return SIPLINE_ERR_TOOBIG;
  sipline__sdp_out w = {out, 0, cap, 0};
  out[0] = '\0';
  session_head(&w, l, NULL);
  for (size_t i = 0; i < l->n_media; i++) {
    const sipline_sdp_local_media *m = &l->media[i];
    sipline__sdp_puts(&w, "m=");
    sipline__sdp_puts(&w, media_of(m));
    sipline__sdp_puts(&w, " ");
    sipline__sdp_putu(&w, m->port);
    sipline__sdp_puts(&w, m->crypto_suite ? " RTP/SAVP" : " RTP/AVP");
    for (size_t c = 0; c < m->n_codecs; c++) {
      sipline__sdp_puts(&w, " ");
      sipline__sdp_putu(&w, m->codecs[c].pt);
    }
    if (m->te_pt) {
      sipline__sdp_puts(&w, " ");
      sipline__sdp_putu(&w, m->te_pt);
    }
    sipline__sdp_eol(&w);
    if (m->port == 0)
      continue; /* a disabled stream keeps only its m= line (§8.2) */
    for (size_t c = 0; c < m->n_codecs; c++)
      rtpmap(&w, m->codecs[c].pt, &m->codecs[c], true);
    if (m->te_pt)
      te_lines(&w, m->te_pt);
    tail(&w, m, m->rtcp_mux);
    if (m->crypto_suite)
      crypto_line(&w, 1, m);
    dir_line(&w, m->dir);
  }
  return finish(o, SIPLINE_PL("IN"), addrtype_of(l->address),
                sipline_pl_str(l->address), &w);
}

/* --- answers -------------------------------------------------------------- */

typedef struct pick {
  unsigned pt;                /* the offer's number */
  const sipline_sdp_codec *c; /* NULL: telephone-event */
} pick;

static bool is_te(const sipline_sdp_rtpmap *r) {
  return sipline_pl_casecmp_str(r->name, "telephone-event") && r->rate == 8000;
}

/* The local codec for payload type pt of offered section mi, or NULL. */
static const sipline_sdp_codec *match(const sipline_sdp *s, unsigned mi,
                                      unsigned pt,
                                      const sipline_sdp_local_media *m) {
  sipline_sdp_rtpmap r;
  bool have = sipline_sdp_rtpmap_get(s, mi, pt, &r) == 0;
  for (size_t c = 0; c < m->n_codecs; c++) {
    const sipline_sdp_codec *k = &m->codecs[c];
    uint32_t ch = k->channels ? k->channels : 1;
    if (pt < 96 ? k->pt == pt
                : have && sipline_pl_casecmp_str(r.name, k->name) &&
                      r.rate == k->rate && r.channels == ch)
      return k;
  }
  return NULL;
}

static bool fmt_pt(sipline_pl f, unsigned *pt) {
  uint64_t v;
  if (sipline_pl_u64(f, 127, &v))
    return false;
  *pt = (unsigned)v;
  return true;
}

/*
 * The formats of offered section mi that local stream m takes, in the
 * offer's order; returns how many are real codecs (not telephone-event).
 */
static unsigned intersect(const sipline_sdp *s, unsigned mi,
                          const sipline_sdp_local_media *m, pick *out,
                          unsigned *n) {
  unsigned codecs = 0;
  const sipline_sdp_media *om = &s->m[mi];
  *n = 0;
  for (unsigned f = 0; f < om->n_fmt; f++) {
    unsigned pt;
    sipline_sdp_rtpmap r;
    bool dup = false;
    if (!fmt_pt(om->fmt[f], &pt))
      continue;
    for (unsigned k = 0; k < *n; k++)
      dup |= out[k].pt == pt;
    if (dup)
      continue;
    if (m->te_pt && sipline_sdp_rtpmap_get(s, mi, pt, &r) == 0 && is_te(&r)) {
      out[(*n)++] = (pick){pt, NULL};
      continue;
    }
    const sipline_sdp_codec *c = match(s, mi, pt, m);
    if (c) {
      out[(*n)++] = (pick){pt, c};
      codecs++;
    }
  }
  return codecs;
}

/* The first offered a=crypto of our suite, for an RTP/SAVP offer. */
static bool crypto_pick(const sipline_sdp *s, unsigned mi,
                        const sipline_sdp_local_media *m, unsigned *tag) {
  sipline_sdp_crypto cr[8];
  unsigned n = sipline_sdp_crypto_list(s, mi, cr, 8);
  if (!m->crypto_suite)
    return false;
  for (unsigned i = 0; i < n && i < 8; i++)
    if (sipline_pl_casecmp_str(cr[i].suite, m->crypto_suite)) {
      *tag = cr[i].tag;
      return true;
    }
  return false;
}

/* Whether local stream m can take offered section mi's protocol. */
static bool proto_ok(const sipline_sdp *s, unsigned mi,
                     const sipline_sdp_local_media *m, unsigned *tag) {
  sipline_pl p = s->m[mi].proto;
  *tag = 0;
  if (sipline_pl_casecmp_str(p, "RTP/AVP"))
    return !(m->crypto_suite && m->srtp_only);
  return sipline_pl_casecmp_str(p, "RTP/SAVP") && crypto_pick(s, mi, m, tag);
}

/* A rejected stream: port 0 and the offer's formats (§6), with the rtpmap
 * of those a local stream of the same type knows. */
static void reject(sipline__sdp_out *w, const sipline_sdp *s, unsigned mi,
                   const sipline_sdp_local *l) {
  const sipline_sdp_media *om = &s->m[mi];
  sipline__sdp_mline(w, om, 0);
  for (unsigned f = 0; f < om->n_fmt; f++) {
    unsigned pt;
    if (!fmt_pt(om->fmt[f], &pt))
      continue;
    for (size_t j = 0; j < l->n_media; j++) {
      const sipline_sdp_codec *c;
      if (sipline_pl_casecmp_str(om->media, media_of(&l->media[j])) &&
          (c = match(s, mi, pt, &l->media[j])) != NULL) {
        rtpmap(w, pt, c, false);
        break;
      }
    }
  }
}

static void take(sipline__sdp_out *w, const sipline_sdp *s, unsigned mi,
                 const sipline_sdp_local_media *m, const pick *p, unsigned n,
                 unsigned tag) {
  const sipline_sdp_media *om = &s->m[mi];
  sipline__sdp_puts(w, "m=");
  sipline__sdp_putpl(w, om->media);
  sipline__sdp_puts(w, " ");
  sipline__sdp_putu(w, m->port);
  sipline__sdp_puts(w, " ");
  sipline__sdp_putpl(w, om->proto);
  for (unsigned k = 0; k < n; k++) {
    sipline__sdp_puts(w, " ");
    sipline__sdp_putu(w, p[k].pt);
  }
  sipline__sdp_eol(w);
  for (unsigned k = 0; k < n; k++) {
    if (p[k].c)
      rtpmap(w, p[k].pt, p[k].c, true);
    else
      te_lines(w, p[k].pt);
  }
  sipline_sdp_dir dir =
      sipline__sdp_dir_meet(m->dir, sipline_sdp_media_dir(s, mi));
  tail(w, m, m->rtcp_mux && sipline_sdp_rtcp_mux(s, mi));
  if (tag)
    crypto_line(w, tag, m);
  dir_line(w, dir);
}

ptrdiff_t sipline_sdp_make_answer(const sipline_sdp *offer,
                                  const sipline_sdp_local *l,
                                  sipline_sdp_origin *o, char *out,
                                  size_t cap) {
  if (!offer || !o || !local_ok(l) || (!out && cap) ||
      offer->n_m > SIPLINE_SDP_MAX_MEDIA)
    return SIPLINE_ERR_INVAL;
  if (cap == 0)
    return SIPLINE_ERR_TOOBIG;
  sipline__sdp_out w = {out, 0, cap, 0};
  bool used[SIPLINE_SDP_MAX_MEDIA] = {false};
  unsigned accepted = 0;
  out[0] = '\0';
  session_head(&w, l, offer);
  for (unsigned i = 0; i < offer->n_m; i++) {
    const sipline_sdp_media *om = &offer->m[i];
    pick p[SIPLINE_SDP_MAX_FMT];
    unsigned n = 0, tag = 0;
    size_t j = l->n_media;
    if (om->n_fmt == 0 || om->n_fmt > SIPLINE_SDP_MAX_FMT)
      return SIPLINE_ERR_INVAL;
    /* The first unused local stream of the same type, a protocol we can
     * speak and a codec in common takes the offered stream. */
    if (om->port != 0)
      for (j = 0; j < l->n_media; j++)
        if (!used[j] &&
            sipline_pl_casecmp_str(om->media, media_of(&l->media[j])) &&
            l->media[j].port != 0 && proto_ok(offer, i, &l->media[j], &tag) &&
            intersect(offer, i, &l->media[j], p, &n) > 0)
          break;
    if (j == l->n_media) {
      reject(&w, offer, i, l);
      continue;
    }
    used[j] = true;
    accepted++;
    take(&w, offer, i, &l->media[j], p, n, tag);
  }
  if (offer->n_m && !accepted)
    return SIPLINE_ERR_UNSUPPORTED;
  return finish(o, SIPLINE_PL("IN"), addrtype_of(l->address),
                sipline_pl_str(l->address), &w);
}

/* --- hold, resume, results ------------------------------------------------ */

ptrdiff_t sipline_sdp_set_direction(const sipline_sdp *cur, unsigned mi,
                                    sipline_sdp_dir dir, sipline_sdp_origin *o,
                                    char *out, size_t cap) {
  if (!cur || !o || (!out && cap) ||
      (mi != SIPLINE_SDP_SESSION && mi >= cur->n_m) ||
      (unsigned)dir > SIPLINE_SDP_INACTIVE)
    return SIPLINE_ERR_INVAL;
  if (cap == 0)
    return SIPLINE_ERR_TOOBIG;
  sipline__sdp_out w = {out, 0, cap, 0};
  const sipline__sdp_popt opt = {
      .skip_vo = true, .set_dir = true, .dir_mi = mi, .dir = dir};
  out[0] = '\0';
  sipline__sdp_print(cur, &opt, &w);
  return finish(o, cur->o.nettype, cur->o.addrtype, cur->o.address, &w);
}

/* Whether local section mi lists remote's payload type pt (same codec). */
static bool local_has(const sipline_sdp *local, const sipline_sdp *remote,
                      unsigned mi, unsigned pt, const sipline_sdp_rtpmap *r) {
  const sipline_sdp_media *lm = &local->m[mi];
  for (unsigned f = 0; f < lm->n_fmt; f++) {
    unsigned lpt;
    sipline_sdp_rtpmap lr;
    if (!fmt_pt(lm->fmt[f], &lpt))
      continue;
    if (pt < 96 && lpt == pt)
      return true;
    if (pt >= 96 && sipline_sdp_rtpmap_get(local, mi, lpt, &lr) == 0 &&
        sipline_pl_caseeq(lr.name, r->name) && lr.rate == r->rate &&
        lr.channels == r->channels)
      return true;
  }
  (void)remote;
  return false;
}

static void crypto_pair(const sipline_sdp *local, const sipline_sdp *remote,
                        unsigned mi, sipline_sdp_result *r) {
  sipline_sdp_crypto lc[8], rc[8];
  unsigned nl = sipline_sdp_crypto_list(local, mi, lc, 8);
  unsigned nr = sipline_sdp_crypto_list(remote, mi, rc, 8);
  for (unsigned i = 0; i < nr && i < 8; i++)
    for (unsigned k = 0; k < nl && k < 8; k++)
      if (rc[i].tag == lc[k].tag &&
          sipline_pl_caseeq(rc[i].suite, lc[k].suite)) {
        r->remote_crypto = rc[i];
        r->local_crypto = lc[k];
        return;
      }
}

int sipline_sdp_negotiated(const sipline_sdp *local, const sipline_sdp *remote,
                           unsigned mi, sipline_sdp_result *r) {
  if (!local || !remote || !r)
    return SIPLINE_ERR_INVAL;
  memset(r, 0, sizeof(*r));
  r->te_pt = -1;
  if (mi >= local->n_m || mi >= remote->n_m)
    return SIPLINE_ERR_NOTFOUND;
  const sipline_sdp_media *lm = &local->m[mi], *rm = &remote->m[mi];
  r->dir = sipline__sdp_dir_meet(sipline_sdp_media_dir(local, mi),
                                 sipline_sdp_media_dir(remote, mi));
  r->rtcp_mux =
      sipline_sdp_rtcp_mux(local, mi) && sipline_sdp_rtcp_mux(remote, mi);
  if (sipline_sdp_ptime_get(remote, mi, &r->ptime))
    r->ptime = 0;
  if (lm->port == 0 || rm->port == 0)
    return 0;
  const sipline_sdp_conn *c = sipline_sdp_media_conn(remote, mi);
  if (!c)
    return SIPLINE_ERR_MALFORMED;
  r->addr = c->address;
  /* RFC 2543 hold (RFC 3264 §8.4): c= 0.0.0.0 means "do not send". */
  if (sipline_pl_casecmp_str(c->address, "0.0.0.0"))
    r->dir = sipline__sdp_dir_meet(r->dir, SIPLINE_SDP_SENDONLY);
  r->ipv6 = sipline_pl_casecmp_str(c->addrtype, "IP6");
  r->port = rm->port;
  sipline_sdp_rtcp rtcp;
  if (sipline_sdp_rtcp_get(remote, mi, &rtcp) == 0)
    r->rtcp_port = rtcp.port;
  else
    r->rtcp_port = r->rtcp_mux ? rm->port : (uint16_t)(rm->port + 1);
  for (unsigned f = 0; f < rm->n_fmt; f++) {
    unsigned pt;
    sipline_sdp_rtpmap rr;
    if (!fmt_pt(rm->fmt[f], &pt) ||
        sipline_sdp_rtpmap_get(remote, mi, pt, &rr) ||
        !local_has(local, remote, mi, pt, &rr))
      continue;
    if (is_te(&rr)) {
      if (r->te_pt < 0)
        r->te_pt = (int)pt;
    } else if (!r->active) {
      r->active = true;
      r->pt = pt;
      r->codec = rr;
      if (sipline_sdp_fmtp_get(remote, mi, pt, &r->fmtp))
        r->fmtp = (sipline_pl){rm->fmt[f].p, 0};
    }
  }
  if (r->active)
    crypto_pair(local, remote, mi, r);
  return 0;
}
