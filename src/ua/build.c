/*
 * src/ua/build.c: the request builder shared by the modules (see ua.h).
 *
 * Building a REGISTER with the printf family cost more than the digest
 * (issue 10 item 5): every field is a copy of a known length here, numbers
 * are written by hand, and the buffer is sized once so that nothing moves
 * while the request is written (the digest reads the Request-URI from it).
 */
#include <string.h>

#include "auth/auth.h"
#include "ua/ua.h"

#define ADD(b, lit) sipline__buf_append((b), (lit), sizeof(lit) - 1)

void sipline__req_u32(sipline__buf *b, uint32_t v) {
  char d[10];
  size_t n = 0;
  do {
    d[sizeof d - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sipline__buf_append(b, d + sizeof d - n, n);
}

static size_t uri_len(const sipline__req_uri *u) {
  if (u->uri.len)
    return u->uri.len;
  return 4 + (u->user.len ? u->user.len + 1 : 0) + u->host.len;
}

static void add_uri(sipline__buf *b, const sipline__req_uri *u) {
  if (u->uri.len) {
    sipline__buf_append_pl(b, u->uri);
    return;
  }
  ADD(b, "sip:");
  if (u->user.len) {
    sipline__buf_append_pl(b, u->user);
    ADD(b, "@");
  }
  sipline__buf_append_pl(b, u->host);
}

static void add_party(sipline__buf *b, const char *name, size_t nlen,
                      const sipline__req_party *p) {
  sipline__buf_append(b, name, nlen);
  if (p->display.len) {
    /* The display name goes in quotes; what would break them is dropped
     * (a configured name, not a value from the wire). */
    ADD(b, "\"");
    size_t i = 0, n = p->display.len;
    const char *s = p->display.p;
    while (i < n) {
      size_t j = i;
      while (j < n && s[j] != '"' && s[j] != '\\' && s[j] != '\r' &&
             s[j] != '\n')
        j++;
      sipline__buf_append(b, s + i, j - i);
      i = j + 1;
    }
    ADD(b, "\" ");
  }
  ADD(b, "<");
  add_uri(b, &p->uri);
  ADD(b, ">");
  if (p->tag.len) {
    ADD(b, ";tag=");
    sipline__buf_append_pl(b, p->tag);
  }
  ADD(b, "\r\n");
}

static void add_host(const sipline_ua *ua, sipline__buf *b) {
  const char *h = ua->local_host;
  size_t n = strlen(h);
  int v6 = h[0] != '[' && memchr(h, ':', n) != NULL;
  if (v6)
    ADD(b, "[");
  sipline__buf_append(b, h, n);
  if (v6)
    ADD(b, "]");
}

static void add_contact_uri(const sipline_ua *ua, sipline__buf *b,
                            unsigned line, sipline_transport tp) {
  const sipline_line_cfg *l = sipline__ua_line_cfg(ua, line);
  if (tp == SIPLINE_TP_TLS)
    ADD(b, "<sips:");
  else
    ADD(b, "<sip:");
  if (l && l->user_id && *l->user_id) {
    sipline__buf_append_str(b, l->user_id);
    ADD(b, "@");
  }
  add_host(ua, b);
  ADD(b, ":");
  sipline__req_u32(b, sipline__ua_local_port(ua, line));
  if (tp == SIPLINE_TP_TCP)
    ADD(b, ";transport=tcp");
  else if (tp == SIPLINE_TP_TLS)
    ADD(b, ";transport=tls");
  ADD(b, ">");
}

void sipline__ua_append_contact_uri(const sipline_ua *ua, sipline__buf *b,
                                    unsigned line, sipline_transport tp) {
  add_contact_uri(ua, b, line, tp);
}

void sipline__ua_append_via(const sipline_ua *ua, sipline__buf *b,
                            unsigned line, sipline_transport tp,
                            const char *branch) {
  ADD(b, "Via: SIP/2.0/");
  sipline__buf_append_str(b, sipline__tp_via_name(tp));
  ADD(b, " ");
  add_host(ua, b);
  ADD(b, ":");
  sipline__req_u32(b, sipline__ua_local_port(ua, line));
  ADD(b, ";branch=");
  sipline__buf_append_str(b, branch);
  ADD(b, ";rport\r\n");
}

void sipline__ua_append_common(const sipline_ua *ua, sipline__buf *b) {
  ADD(b, "Max-Forwards: 70\r\n");
  if (ua->user_agent && *ua->user_agent) {
    ADD(b, "User-Agent: ");
    sipline__buf_append_str(b, ua->user_agent);
    ADD(b, "\r\n");
  }
}

/* An upper bound of what s takes without the credentials, so that one
 * reservation covers the whole request. */
static size_t estimate(const sipline_ua *ua, const sipline__req_spec *s) {
  size_t n = 2 * s->method.len + uri_len(&s->ruri) + s->proxy.len +
             uri_len(&s->from.uri) + s->from.display.len + s->from.tag.len +
             uri_len(&s->to.uri) + s->to.display.len + s->to.tag.len +
             s->call_id.len + s->extra.len + s->content_type.len +
             s->body.len + 512;
  for (size_t i = 0; i < s->n_route; i++)
    n += s->route[i].len + 12;
  n += 2 * strlen(ua->local_host);
  if (ua->user_agent)
    n += strlen(ua->user_agent);
  if (s->flags & SIPLINE__REQ_INSTANCE)
    n += strlen(ua->instance_id);
  const sipline_line_cfg *l = sipline__ua_line_cfg(ua, s->line);
  if (l && l->user_id)
    n += strlen(l->user_id);
  return n;
}

int sipline__req_build(sipline_ua *ua, const sipline__req_spec *s,
                       sipline__buf *b) {
  int with_auth = s->auth && sipline_auth_client_count(s->auth);
  size_t need = estimate(ua, s);
  size_t ruri_at = b->len + s->method.len + 1;
  if (with_auth)
    need += sipline__auth_client_need(s->auth, uri_len(&s->ruri));
  if (sipline__buf_reserve(b, need))
    return b->err;

  sipline__buf_append_pl(b, s->method);
  ADD(b, " ");
  add_uri(b, &s->ruri);
  ADD(b, " SIP/2.0\r\n");
  sipline__ua_append_via(ua, b, s->line, s->tp, s->branch);
  if (s->branch_at) /* the Via ends "<branch>;rport\r\n" */
    *s->branch_at = b->len - strlen(s->branch) - (sizeof ";rport\r\n" - 1);
  if (s->proxy.len) {
    /* The outbound proxy as a loose router (RFC 3261 §8.1.2). */
    ADD(b, "Route: <sip:");
    sipline__buf_append_pl(b, s->proxy);
    ADD(b, ";lr");
    if (s->tp == SIPLINE_TP_TCP)
      ADD(b, ";transport=tcp");
    else if (s->tp == SIPLINE_TP_TLS)
      ADD(b, ";transport=tls");
    ADD(b, ">\r\n");
  }
  for (size_t i = 0; i < s->n_route; i++) {
    ADD(b, "Route: ");
    sipline__buf_append_pl(b, s->route[i]);
    ADD(b, "\r\n");
  }
  sipline__ua_append_common(ua, b);
  add_party(b, "From: ", 6, &s->from);
  add_party(b, "To: ", 4, &s->to);
  ADD(b, "Call-ID: ");
  sipline__buf_append_pl(b, s->call_id);
  ADD(b, "\r\nCSeq: ");
  sipline__req_u32(b, s->cseq);
  ADD(b, " ");
  sipline__buf_append_pl(b, s->method);
  ADD(b, "\r\n");
  if (s->flags & SIPLINE__REQ_CONTACT) {
    ADD(b, "Contact: ");
    add_contact_uri(ua, b, s->line, s->tp);
    if (s->flags & SIPLINE__REQ_INSTANCE) {
      ADD(b, ";+sip.instance=\"<");
      sipline__buf_append_str(b, ua->instance_id);
      ADD(b, ">\"");
    }
    if (s->flags & SIPLINE__REQ_CEXPIRES) {
      ADD(b, ";expires=");
      sipline__req_u32(b, s->expires);
    }
    ADD(b, "\r\n");
  }
  if (s->flags & SIPLINE__REQ_EXPIRES) {
    ADD(b, "Expires: ");
    sipline__req_u32(b, s->expires);
    ADD(b, "\r\n");
  }
  sipline__buf_append_pl(b, s->extra);
  if (s->flags & SIPLINE__REQ_ALLOW)
    ADD(b, "Allow: " SIPLINE__ALLOW "\r\n");
  if (s->flags & SIPLINE__REQ_SUPPORTED) {
    if (s->flags & SIPLINE__REQ_PATH)
      ADD(b, "Supported: path, " SIPLINE__SUPPORTED "\r\n");
    else
      ADD(b, "Supported: " SIPLINE__SUPPORTED "\r\n");
  }
  if (with_auth && !b->err) {
    /* The Request-URI as written: the buffer does not move (reserved). */
    sipline_auth_req ar = {.method = s->method,
                           .uri = {b->p + ruri_at, uri_len(&s->ruri)},
                           .body = s->body,
                           .rng = &ua->rng};
    /* A failure only loses pre-authentication: nothing of it is kept
     * (the length is not advanced) and the server challenges. */
    sipline__auth_client_append(s->auth, &ar, b);
  }
  if (s->body.len && s->content_type.len) {
    ADD(b, "Content-Type: ");
    sipline__buf_append_pl(b, s->content_type);
    ADD(b, "\r\n");
  }
  ADD(b, "Content-Length: ");
  sipline__req_u32(b, (uint32_t)s->body.len);
  ADD(b, "\r\n\r\n");
  sipline__buf_append_pl(b, s->body);
  return b->err;
}
