/*
 * tools/sipline-sim/sim_print.c: the timeline printer (SIM.md "Timeline").
 *
 * One JSON object per line: "t" (virtual seconds, three decimals), "line"
 * where it applies, "event", then the event's own keys in a fixed order, so
 * the same run prints the same bytes (the goldens in tests/sim compare
 * them). A line goes to the output, to the kept timeline (--check) or both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static void sb_json_str(sb *b, const char *s, size_t n) {
  sim__sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sim__sb_add(b, e, 2);
    } else if (c < 0x20) {
      sim__sb_printf(b, "\\u%04x", c);
    } else {
      sim__sb_add(b, (const char *)&c, 1);
    }
  }
  sim__sb_add(b, "\"", 1);
}

void sim__jstr(sb *b, const char *k, const char *v) {
  sim__sb_printf(b, ",\"%s\":", k);
  sb_json_str(b, v, strlen(v));
}

void sim__jstrn(sb *b, const char *k, const char *v, size_t n) {
  sim__sb_printf(b, ",\"%s\":", k);
  sb_json_str(b, v, n);
}

void sim__jint(sb *b, const char *k, long long v) {
  sim__sb_printf(b, ",\"%s\":%lld", k, v);
}

void sim__jsecs(sb *b, const char *k, sipline_tstamp ms) {
  sim__sb_printf(b, ",\"%s\":%llu.%03u", k, (unsigned long long)(ms / 1000),
                 (unsigned)(ms % 1000));
}

int sim__printing(const sim *s) {
  return s->o.out || s->o.keep_timeline || s->svg;
}

/* tx/rx, dns_answer and tperr lines: --events-only leaves them out of the
   output and the kept timeline, but the picture still draws REGISTERs. */
static int wire_wanted(const sim *s) {
  return sim__printing(s) && (!s->o.events_only || s->svg);
}

void sim__line_begin(sim *s, const char *event, unsigned line) {
  s->line.len = 0;
  sim__sb_add(&s->line, "", 0);
  sim__sb_printf(&s->line, "{\"t\":%llu.%03u",
                 (unsigned long long)(s->now / 1000),
                 (unsigned)(s->now % 1000));
  if (line)
    sim__jint(&s->line, "line", line);
  sim__jstr(&s->line, "event", event);
}

static void line_out(sim *s, int wire) {
  sim__sb_add(&s->line, "}\n", 2);
  if (s->svg)
    sim__svg_line(s, s->line.p);
  if (wire && s->o.events_only)
    return;
  if (s->o.out)
    fwrite(s->line.p, 1, s->line.len, s->o.out);
  if (s->o.keep_timeline) {
    if (s->ntl == s->captl) {
      s->captl = s->captl ? 2 * s->captl : 1024;
      s->tl = sim__xrealloc(s->tl, s->captl * sizeof(char *));
    }
    s->tl[s->ntl++] = sim__xstrdup(s->line.p);
  }
}

void sim__line_end(sim *s) {
  line_out(s, 0);
}

void sim__peer_name(const sim *s, const sipline_addr *a, char *out,
                    size_t cap) {
  const sim_endpoint *ep = sim__endpoint_by_addr(s, a);
  if (ep)
    snprintf(out, cap, "%s", ep->name);
  else if (sipline_addr_format(a, out, cap) < 0)
    snprintf(out, cap, "?");
}

void sim__print_wire(sim *s, const char *ev, const sipline_path *p,
                     const char *data, size_t len) {
  if (!wire_wanted(s))
    return;
  char peer[96];
  sim__peer_name(s, &p->remote, peer, sizeof peer);
  ssip_msg m;
  int parsed = len > 4 && ssip_parse(&m, data, len) == 0;
  sim__line_begin(s, ev, parsed ? sim__line_of(s, &m) : 0);
  sb *b = &s->line;
  if (len == 0 || (len <= 4 && (data[0] == '\r' || data[0] == '\n'))) {
    sim__jstr(b, "keepalive", len >= 4 ? "ping" : "pong");
  } else if (parsed) {
    if (m.is_req)
      sim__jstrn(b, "method", m.method.p, m.method.len);
    else
      sim__jint(b, "status", m.status);
  } else {
    sim__jstr(b, "malformed", "yes");
  }
  sim__jstr(b, *ev == 't' ? "to" : "from", peer);
  sim__jstr(b, "transport", sipline_transport_name(p->tp));
  if (parsed && m.cseq.p) {
    sim__jint(b, "cseq", m.cseq_n);
    const char *sp = memchr(m.cseq.p, ' ', m.cseq.len);
    spl cm = {NULL, 0};
    if (sp)
      cm = (spl){sp + 1, (size_t)(m.cseq.p + m.cseq.len - sp - 1)};
    if (!m.is_req && cm.p)
      sim__jstrn(b, "method", cm.p, cm.len);
    if (m.is_req)
      sim__jstrn(b, "uri", m.ruri.p, m.ruri.len);
    /* The expiry a REGISTER asks for or a 2xx grants (R11, R12). */
    uint32_t ex;
    if (cm.len == 8 && memcmp(cm.p, "REGISTER", 8) == 0 &&
        (m.is_req || m.status / 100 == 2)) {
      if (ssip_contact_expires(&m, &ex) ||
          (m.has_expires && (ex = m.expires, 1)))
        sim__jint(b, "expires", ex);
    }
  }
  line_out(s, 1);
}

void sim__print_event(sim *s, const sipline_event *ev) {
  const char *name = sipline_event_name(ev->type);
  sim__line_begin(s, name ? name : "unknown", ev->line);
  sb *b = &s->line;
  switch (ev->type) {
  case SIPLINE_EV_REGISTERED:
    sim__jstr(b, "server", ev->server);
    sim__jint(b, "expires", ev->expires);
    break;
  case SIPLINE_EV_UNREGISTERED:
  case SIPLINE_EV_SERVER_DOWN:
  case SIPLINE_EV_SERVER_UP:
    sim__jstr(b, "server", ev->server);
    sim__jstr(b, "reason", ev->reason);
    break;
  case SIPLINE_EV_REG_FAILED:
    sim__jstr(b, "server", ev->server);
    sim__jstr(b, "reason", ev->reason);
    if (ev->retry_in == SIPLINE_TSTAMP_NONE)
      sim__sb_str(b, ",\"retry_in\":null");
    else
      sim__jsecs(b, "retry_in", ev->retry_in);
    if (ev->status)
      sim__jint(b, "status", ev->status);
    break;
  case SIPLINE_EV_FAILOVER:
  case SIPLINE_EV_FALLBACK:
    sim__jstr(b, "from", ev->from);
    sim__jstr(b, "to", ev->to);
    sim__jstr(b, "reason", ev->reason);
    break;
  case SIPLINE_EV_CALL:
    sim__jint(b, "id", ev->id);
    sim__jstr(b, "state", ev->state);
    sim__jstr(b, "server", ev->server);
    if (ev->text[0])
      sim__jstr(b, "to", ev->text);
    if (ev->status)
      sim__jint(b, "status", ev->status);
    if (ev->reason[0])
      sim__jstr(b, "reason", ev->reason);
    if (ev->retry_in != SIPLINE_TSTAMP_NONE)
      sim__jsecs(b, "retry_in", ev->retry_in);
    break;
  case SIPLINE_EV_CALL_SDP:
    sim__jint(b, "id", ev->id);
    sim__jstr(b, "sdp", ev->state);
    sim__jstr(b, "side", ev->from);
    sim__jstr(b, "in", ev->reason);
    sim__jint(b, "bytes", (long long)ev->body_len);
    break;
  case SIPLINE_EV_DNS_QUERY:
    sim__jint(b, "id", ev->id);
    sim__jstr(b, "name", ev->text);
    sim__jstr(b, "qtype", sipline_dns_qtype_name((sipline_dns_qtype)ev->qtype));
    break;
  case SIPLINE_EV_KEEPALIVE:
    sim__jstr(b, "server", ev->server);
    sim__jstr(b, "state", ev->state);
    break;
  default:
    /* Events outside SIM.md's table: every field that is set. */
    if (ev->server[0])
      sim__jstr(b, "server", ev->server);
    if (ev->from[0])
      sim__jstr(b, "from", ev->from);
    if (ev->to[0])
      sim__jstr(b, "to", ev->to);
    if (ev->reason[0])
      sim__jstr(b, "reason", ev->reason);
    if (ev->state[0])
      sim__jstr(b, "state", ev->state);
    if (ev->status)
      sim__jint(b, "status", ev->status);
    if (ev->priority)
      sim__jint(b, "priority", ev->priority);
    if (ev->text[0])
      sim__jstr(b, "text", ev->text);
  }
  sim__line_end(s);
}

void sim__print_dns_answer(sim *s, const sipline_event *ev, size_t answers,
                           long long ttl) {
  if (!wire_wanted(s))
    return;
  sim__line_begin(s, "dns_answer", ev->line);
  sim__jint(&s->line, "id", ev->id);
  sim__jstr(&s->line, "name", ev->text);
  sim__jstr(&s->line, "qtype", sipline_dns_qtype_name((sipline_dns_qtype)ev->qtype));
  sim__jint(&s->line, "answers", (long long)answers);
  if (ttl >= 0)
    sim__jint(&s->line, "ttl", ttl);
  line_out(s, 1);
}

void sim__print_tperr(sim *s, const sipline_path *p, int why) {
  if (!wire_wanted(s))
    return;
  static const char *names[] = {
      "", "unreachable", "refused", "connect_timeout", "closed", "tls"};
  char peer[96];
  sim__peer_name(s, &p->remote, peer, sizeof peer);
  sim__line_begin(s, "tperr", 0);
  sim__jstr(&s->line, "why", why > 0 && why <= 5 ? names[why] : "?");
  sim__jstr(&s->line, "from", peer);
  sim__jstr(&s->line, "transport", sipline_transport_name(p->tp));
  line_out(s, 1);
}

void sim__print_call_error(sim *s, const call *c, int err) {
  if (!sim__printing(s))
    return;
  sim__line_begin(s, "call_error", c->line);
  sim__jstr(&s->line, "to", c->to);
  sim__jstr(&s->line, "error", sipline_strerror(err));
  sim__line_end(s);
}

void sim__print_profile_warnings(sim *s) {
  /* Values the profile read but partly ignored (R8: an invalid RSC token is
     reported once). */
  for (unsigned i = 0; sim__printing(s) && i < s->profile->n_warnings; i++) {
    sim__line_begin(s, "profile_warning", 0);
    sim__jstr(&s->line, "tag", s->profile->warnings[i].tag);
    sim__jstr(&s->line, "text", s->profile->warnings[i].value);
    sim__line_end(s);
  }
}

void sim__print_free(sim *s) {
  for (size_t i = 0; i < s->ntl; i++)
    free(s->tl[i]);
  free(s->tl);
  free(s->line.p);
}
