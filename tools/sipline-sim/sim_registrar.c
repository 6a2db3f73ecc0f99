/*
 * tools/sipline-sim/sim_registrar.c: the scripted registrar/proxy endpoint
 * (SIM.md "servers").
 *
 * Each one follows its script: a list of behaviour changes at virtual
 * times. Before its first entry it is silent. Behaviours:
 *   ok             challenges a REGISTER of a line with a password (401,
 *                  digest, realm "sipline.sim"), then grants the requested
 *                  expiry; other requests get their success answer (an
 *                  INVITE a 200 with SDP, so the simulated far end answers
 *                  at once)
 *   ok-expires:N   as ok, granting at most N seconds
 *   silent         receives and never answers (frozen or partitioned)
 *   refuse         ICMP port unreachable for UDP; streams refused
 *   close          resets open streams at that moment, then as refuse
 *   reply:CODE[:retry-after=S][:min-expires=N]  that final answer to all
 *   reject-auth    403 to every authenticated request
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

typedef enum bdo {
  B_SILENT = 0, /* before a server's first entry, too */
  B_OK,
  B_OK_EXPIRES,
  B_REFUSE,
  B_CLOSE,
  B_REPLY,
  B_REJECT_AUTH,
} bdo;

typedef struct behav {
  sipline_tstamp at;
  bdo what;
  int code;
  uint32_t max_expires;
  int has_retry_after;
  uint32_t retry_after;
  int has_min_expires;
  uint32_t min_expires;
  char label[64]; /* the scenario's text, for the picture */
} behav;

typedef struct registrar {
  behav *b;
  size_t nb;
  size_t next; /* index of the next change to apply */
  bdo cur_what;
  const behav *cur;
  unsigned nonce_seq;
} registrar;

/* ---- script -------------------------------------------------------------- */

static int parse_do(const char *d, behav *b) {
  char *end;
  if (strcmp(d, "ok") == 0)
    b->what = B_OK;
  else if (strcmp(d, "silent") == 0)
    b->what = B_SILENT;
  else if (strcmp(d, "refuse") == 0)
    b->what = B_REFUSE;
  else if (strcmp(d, "close") == 0)
    b->what = B_CLOSE;
  else if (strcmp(d, "reject-auth") == 0)
    b->what = B_REJECT_AUTH;
  else if (strncmp(d, "ok-expires:", 11) == 0) {
    b->what = B_OK_EXPIRES;
    unsigned long v = strtoul(d + 11, &end, 10);
    if (end == d + 11 || *end || v > 100000000ul)
      return 0;
    b->max_expires = (uint32_t)v;
  } else if (strncmp(d, "reply:", 6) == 0) {
    b->what = B_REPLY;
    long v = strtol(d + 6, &end, 10);
    if (end != d + 9 || v < 200 || v > 699)
      return 0;
    b->code = (int)v;
    const char *q = end;
    while (*q) {
      if (*q != ':')
        return 0;
      q++;
      uint32_t *dst;
      if (strncmp(q, "retry-after=", 12) == 0) {
        q += 12;
        b->has_retry_after = 1;
        dst = &b->retry_after;
      } else if (strncmp(q, "min-expires=", 12) == 0) {
        q += 12;
        b->has_min_expires = 1;
        dst = &b->min_expires;
      } else {
        return 0;
      }
      unsigned long n = strtoul(q, &end, 10);
      if (end == q || n > 100000000ul)
        return 0;
      *dst = (uint32_t)n;
      q = end;
    }
  } else {
    return 0;
  }
  snprintf(b->label, sizeof b->label, "%s", d);
  return 1;
}

int sim__registrar_check(const char *what) {
  behav b;
  memset(&b, 0, sizeof b);
  return parse_do(what, &b);
}

/* ---- answers ------------------------------------------------------------- */

/* A response copying the request's Via, From, To, Call-ID and CSeq. */
static void response(sim *s, const sim_endpoint *ep, const sipline_path *p,
                     int ci, const ssip_msg *m, int code, const char *extra,
                     const char *body) {
  sb r = {0};
  sim__sb_printf(&r, "SIP/2.0 %d %s\r\n", code, ssip_reason(code));
  for (unsigned i = 0; i < m->n_via; i++)
    sim__sb_printf(&r, "Via: %.*s\r\n", (int)m->via[i].len, m->via[i].p);
  sim__sb_printf(&r, "From: %.*s\r\n", (int)m->from.len, m->from.p);
  sim__sb_printf(&r, "To: %.*s", (int)m->to.len, m->to.p);
  if (m->to.p && !ssip_has_tag(m->to) && code > 100)
    sim__sb_printf(
        &r, ";tag=sim%x",
        (unsigned)(sim__fnv(m->call_id.p, m->call_id.len,
                            sim__fnv(ep->name, strlen(ep->name), SIM_FNV0)) &
                   0xffffffu));
  sim__sb_str(&r, "\r\n");
  sim__sb_printf(&r, "Call-ID: %.*s\r\n", (int)m->call_id.len, m->call_id.p);
  sim__sb_printf(&r, "CSeq: %.*s\r\n", (int)m->cseq.len, m->cseq.p);
  if (extra)
    sim__sb_str(&r, extra);
  sim__sb_str(&r, "Server: sipline-sim\r\n");
  size_t bl = body ? strlen(body) : 0;
  if (bl)
    sim__sb_str(&r, "Content-Type: application/sdp\r\n");
  sim__sb_printf(&r, "Content-Length: %zu\r\n\r\n", bl);
  if (bl)
    sim__sb_add(&r, body, bl);
  sim__net_to_ua(s, p, ci, r.p, r.len);
  free(r.p);
}

static int is_method(const ssip_msg *m, const char *name) {
  return m->method.len == strlen(name) &&
         memcmp(m->method.p, name, m->method.len) == 0;
}

static void challenge(sim *s, const sim_endpoint *ep, const sipline_path *p,
                      int ci, const ssip_msg *m) {
  registrar *g = ep->impl;
  char h[256];
  snprintf(h, sizeof h,
           "WWW-Authenticate: Digest realm=\"sipline.sim\", "
           "nonce=\"%u.%u.simnonce\", qop=\"auth\", algorithm=MD5\r\n",
           ep->idx, ++g->nonce_seq);
  response(s, ep, p, ci, m, 401, h, NULL);
}

/* 1 when the nonce is one this server issued. */
static int nonce_ok(const sim_endpoint *ep, spl auth) {
  const registrar *g = ep->impl;
  spl nonce;
  if (!ssip_auth_param(auth, "nonce", &nonce))
    return 0;
  char buf[64];
  if (nonce.len >= sizeof buf)
    return 0;
  memcpy(buf, nonce.p, nonce.len);
  buf[nonce.len] = 0;
  unsigned a, b;
  char tail[16];
  if (sscanf(buf, "%u.%u.%15s", &a, &b, tail) != 3)
    return 0;
  return a == ep->idx && b >= 1 && b <= g->nonce_seq &&
         strcmp(tail, "simnonce") == 0;
}

static void answer_register(sim *s, const sim_endpoint *ep,
                            const sipline_path *p, int ci, const ssip_msg *m,
                            const behav *bh, int code) {
  uint32_t want = 3600;
  if (!ssip_contact_expires(m, &want) && m->has_expires)
    want = m->expires;
  char extra[512];
  if (code / 100 != 2) {
    response(s, ep, p, ci, m, code, NULL, NULL);
    return;
  }
  uint32_t grant = want;
  if (bh && bh->what == B_OK_EXPIRES && grant > bh->max_expires)
    grant = bh->max_expires;
  spl uri = ssip_contact_uri(m);
  if (grant == 0 || !uri.p || (uri.len == 1 && *uri.p == '*'))
    snprintf(extra, sizeof extra, "Expires: 0\r\n");
  else
    snprintf(extra, sizeof extra, "Contact: %.*s;expires=%u\r\nExpires: %u\r\n",
             (int)uri.len, uri.p, grant, grant);
  response(s, ep, p, ci, m, code, extra, NULL);
}

static void answer_ok(sim *s, const sim_endpoint *ep, const sipline_path *p,
                      int ci, const ssip_msg *m, const behav *bh) {
  if (is_method(m, "REGISTER")) {
    spl aor = ssip_uri_user(m->to);
    const char *pw = sim__password_for(s, aor);
    if (pw) {
      if (!m->auth.p) {
        challenge(s, ep, p, ci, m);
        return;
      }
      spl user;
      const char *upw = NULL;
      if (ssip_auth_param(m->auth, "username", &user))
        upw = sim__password_for(s, user);
      if (!upw || !nonce_ok(ep, m->auth)) {
        /* An unknown nonce gets a fresh challenge, as a registrar
           restarting with new nonces would. */
        challenge(s, ep, p, ci, m);
        return;
      }
      if (!ssip_digest_ok(m->auth, m->method, upw)) {
        response(s, ep, p, ci, m, 403, NULL, NULL);
        return;
      }
      if (bh->what == B_REJECT_AUTH) {
        response(s, ep, p, ci, m, 403, NULL, NULL);
        return;
      }
    }
    answer_register(s, ep, p, ci, m, bh, 200);
    return;
  }
  if (bh->what == B_REJECT_AUTH && m->auth.p) {
    response(s, ep, p, ci, m, 403, NULL, NULL);
    return;
  }
  if (is_method(m, "INVITE")) {
    char ip[64] = "0.0.0.0", contact[160], body[400];
    if (ep->addr.family == 4)
      inet_ntop(AF_INET, ep->addr.ip, ip, sizeof ip);
    snprintf(contact, sizeof contact, "Contact: <sip:far@%s>\r\n", ep->name);
    snprintf(body, sizeof body,
             "v=0\r\no=sim 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\n"
             "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
             ip, ip);
    response(s, ep, p, ci, m, 200, contact, body);
    return;
  }
  response(s, ep, p, ci, m, 200, NULL, NULL);
}

/* ---- ops ----------------------------------------------------------------- */

static void reg_rx(sim *s, sim_endpoint *ep, const sipline_path *p, int ci,
                   const char *data, size_t len) {
  const registrar *g = ep->impl;
  if (g->cur_what == B_SILENT)
    return;
  if (len <= 4) { /* RFC 5626 CRLF ping: answer with a CRLF pong */
    if (len == 4)
      sim__net_to_ua(s, p, ci, "\r\n", 2);
    return;
  }
  ssip_msg m;
  if (ssip_parse(&m, data, len) != 0 || !m.is_req || is_method(&m, "ACK"))
    return;
  const behav *bh = g->cur;
  switch (g->cur_what) {
  case B_REFUSE:
  case B_CLOSE:
    /* Streams were handled by the connection; UDP gets ICMP. */
    if (p->tp == SIPLINE_TP_UDP)
      sim__net_tperr_to_ua(s, p, SIPLINE_TPERR_UNREACHABLE);
    return;
  case B_REPLY: {
    char extra[128] = "";
    size_t o = 0;
    if (bh->has_retry_after)
      o += (size_t)snprintf(extra + o, sizeof extra - o, "Retry-After: %u\r\n",
                            bh->retry_after);
    if (bh->has_min_expires)
      snprintf(extra + o, sizeof extra - o, "Min-Expires: %u\r\n",
               bh->min_expires);
    if (is_method(&m, "REGISTER") && bh->code / 100 == 2)
      answer_register(s, ep, p, ci, &m, bh, bh->code);
    else
      response(s, ep, p, ci, &m, bh->code, extra[0] ? extra : NULL, NULL);
    return;
  }
  default:
    answer_ok(s, ep, p, ci, &m, bh);
  }
}

static sipline_tstamp reg_next_due(const sim_endpoint *ep) {
  const registrar *g = ep->impl;
  return g->next < g->nb ? g->b[g->next].at : SIPLINE_TSTAMP_NONE;
}

static void reg_run_due(sim *s, sim_endpoint *ep) {
  registrar *g = ep->impl;
  while (g->next < g->nb && g->b[g->next].at <= s->now) {
    const behav *bh = &g->b[g->next++];
    g->cur = bh;
    g->cur_what = bh->what;
    if (bh->what == B_CLOSE)
      sim__net_close_conns(s, &ep->addr);
  }
}

static int reg_refuses_streams(const sim_endpoint *ep) {
  const registrar *g = ep->impl;
  return g->cur_what == B_REFUSE || g->cur_what == B_CLOSE;
}

static int reg_script_entry(const sim_endpoint *ep, size_t k,
                            sim_script_entry *out) {
  const registrar *g = ep->impl;
  if (k >= g->nb)
    return -1;
  const behav *b = &g->b[k];
  out->at = b->at;
  snprintf(out->label, sizeof out->label, "%s", b->label);
  switch (b->what) {
  case B_OK:
  case B_OK_EXPIRES:
    out->state = SIM_EP_UP;
    break;
  case B_REPLY:
    out->state = b->code / 100 == 2 ? SIM_EP_UP : SIM_EP_FAILING;
    break;
  case B_REJECT_AUTH:
    out->state = SIM_EP_FAILING;
    break;
  default:
    out->state = SIM_EP_DOWN;
  }
  return 0;
}

static void reg_del(sim_endpoint *ep) {
  registrar *g = ep->impl;
  if (g)
    free(g->b);
  free(g);
}

static const sim_endpoint_ops registrar_ops = {
    .kind = "registrar",
    .rx = reg_rx,
    .next_due = reg_next_due,
    .run_due = reg_run_due,
    .refuses_streams = reg_refuses_streams,
    .script_entry = reg_script_entry,
    .del = reg_del,
};

sim_endpoint *sim__registrar_add(sim *s, const char *name,
                                 const sipline_addr *a,
                                 const sim_registrar_script *script, size_t n) {
  registrar *g = sim__xcalloc(1, sizeof(registrar));
  g->b = sim__xcalloc(n, sizeof(behav));
  for (size_t i = 0; i < n; i++) {
    behav *b = &g->b[g->nb++];
    parse_do(script[i].what, b); /* checked by the loader */
    b->at = script[i].at;
  }
  return sim__endpoint_add(s, name, a, &registrar_ops, g);
}
