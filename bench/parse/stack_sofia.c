/*
 * Sofia-SIP through its public API: msg_make() with the default SIP mclass
 * (copies the text and runs every known header's parser), the forced reads,
 * msg_destroy().
 */
#include <stdio.h>
#include <stdlib.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>

#include "bench.h"

static int init(void) {
  return sip_default_mclass() ? 0 : -1;
}

static int read_fields(sip_t const *s, bench_fields *f) {
  if (s == NULL || (s->sip_flags & MSG_FLG_ERROR))
    return -1;
  if (s->sip_request) {
    BSTRZ(f, start, s->sip_request->rq_method_name);
    BSTRZ(f, ruri_host, s->sip_request->rq_url->url_host);
  } else if (s->sip_status) {
    if (f)
      snprintf(f->start, sizeof(f->start), "%d", s->sip_status->st_status);
    else
      bench_sink += (uintptr_t)s->sip_status->st_status;
  } else {
    return -1;
  }
  int n = 0;
  for (sip_via_t const *v = s->sip_via; v; v = v->v_next, n++) {
    unsigned port = v->v_port ? (unsigned)strtoul(v->v_port, NULL, 10) : 0;
    if (n == 0) {
      BSTRZ(f, via0_host, v->v_host);
      BNUM(f, via0_port, port);
      BSTRZ(f, via0_branch, v->v_branch);
    } else {
      bench_sink += (uintptr_t)v->v_host + port + (uintptr_t)v->v_branch;
    }
  }
  BNUM(f, nvia, n);
  if (!s->sip_from || !s->sip_to || !s->sip_call_id || !s->sip_cseq)
    return -1;
  BSTRZ(f, from_host, s->sip_from->a_url->url_host);
  BSTRZ(f, from_tag, s->sip_from->a_tag);
  BSTRZ(f, to_host, s->sip_to->a_url->url_host);
  BSTRZ(f, to_tag, s->sip_to->a_tag);
  BSTRZ(f, callid, s->sip_call_id->i_id);
  BNUM(f, cseq, s->sip_cseq->cs_seq);
  BSTRZ(f, cseq_method, s->sip_cseq->cs_method_name);
  n = 0;
  for (sip_contact_t const *c = s->sip_contact; c; c = c->m_next, n++) {
    if (n == 0)
      BSTRZ(f, contact_host, c->m_url->url_host);
    else
      bench_sink += (uintptr_t)c->m_url->url_host;
  }
  BNUM(f, ncontact, n);
  BNUM(f, clen,
       s->sip_content_length ? (long)s->sip_content_length->l_length : -1L);
  if (s->sip_payload) {
    sip_payload_t const *p = s->sip_payload;
    BNUM(f, body_len, p->pl_len);
    if (p->pl_len) {
      BNUM(f, body_first, (unsigned char)p->pl_data[0]);
      BNUM(f, body_last, (unsigned char)p->pl_data[p->pl_len - 1]);
    }
  }
  return 0;
}

static int parse(char *buf, size_t len, bench_fields *f) {
  msg_t *msg = msg_make(sip_default_mclass(), 0, buf, (ssize_t)len);
  if (msg == NULL)
    return -1;
  int rc = read_fields(sip_object(msg), f);
  msg_destroy(msg);
  return rc;
}

const bench_stack bench_sofia = {"sofia-sip", init, parse};
