/*
 * GNU oSIP2 through its public API: osip_message_init/parse, the forced
 * reads (osip keeps numbers as strings: converted here), osip_message_free.
 */
#include <stdio.h>
#include <stdlib.h>

#include <osipparser2/osip_parser.h>

#include "bench.h"

static int init(void) {
  return parser_init();
}

static const char *host_of(osip_uri_t *u) {
  return u ? u->host : NULL;
}

static int read_fields(osip_message_t *s, bench_fields *f) {
  osip_generic_param_t *gp;
  if (MSG_IS_REQUEST(s)) {
    BSTRZ(f, start, s->sip_method);
    BSTRZ(f, ruri_host, host_of(s->req_uri));
  } else if (f) {
    snprintf(f->start, sizeof(f->start), "%d", s->status_code);
  } else {
    bench_sink += (uintptr_t)s->status_code;
  }
  int n = osip_list_size(&s->vias);
  BNUM(f, nvia, n);
  for (int i = 0; i < n; i++) {
    osip_via_t *v = osip_list_get(&s->vias, i);
    unsigned port = v->port ? (unsigned)strtoul(v->port, NULL, 10) : 0;
    gp = NULL;
    osip_via_param_get_byname(v, "branch", &gp);
    if (i == 0) {
      BSTRZ(f, via0_host, v->host);
      BNUM(f, via0_port, port);
      BSTRZ(f, via0_branch, gp ? gp->gvalue : NULL);
    } else {
      bench_sink +=
          (uintptr_t)v->host + port + (uintptr_t)(gp ? gp->gvalue : 0);
    }
  }
  if (!s->from || !s->to || !s->call_id || !s->cseq)
    return -1;
  BSTRZ(f, from_host, host_of(s->from->url));
  gp = NULL;
  osip_from_get_tag(s->from, &gp);
  BSTRZ(f, from_tag, gp ? gp->gvalue : NULL);
  BSTRZ(f, to_host, host_of(s->to->url));
  gp = NULL;
  osip_to_get_tag(s->to, &gp);
  BSTRZ(f, to_tag, gp ? gp->gvalue : NULL);
  if (f && s->call_id->host)
    snprintf(f->callid, sizeof(f->callid), "%s@%s", s->call_id->number,
             s->call_id->host);
  else
    BSTRZ(f, callid, s->call_id->number);
  BNUM(f, cseq, strtoul(s->cseq->number, NULL, 10));
  BSTRZ(f, cseq_method, s->cseq->method);
  n = osip_list_size(&s->contacts);
  BNUM(f, ncontact, n);
  for (int i = 0; i < n; i++) {
    osip_contact_t *c = osip_list_get(&s->contacts, i);
    if (i == 0)
      BSTRZ(f, contact_host, host_of(c->url));
    else
      bench_sink += (uintptr_t)host_of(c->url);
  }
  BNUM(f, clen,
       s->content_length ? strtol(s->content_length->value, NULL, 10) : -1L);
  osip_body_t *body = NULL;
  if (osip_message_get_body(s, 0, &body) >= 0 && body) {
    BNUM(f, body_len, body->length);
    if (body->length) {
      BNUM(f, body_first, (unsigned char)body->body[0]);
      BNUM(f, body_last, (unsigned char)body->body[body->length - 1]);
    }
  }
  return 0;
}

static int parse(char *buf, size_t len, bench_fields *f) {
  osip_message_t *s;
  if (osip_message_init(&s) != 0)
    return -1;
  int rc = osip_message_parse(s, buf, len);
  if (rc == 0)
    rc = read_fields(s, f);
  osip_message_free(s);
  return rc;
}

const bench_stack bench_osip = {"osip2", init, parse};
