/*
 * src/dlg/oa.c: the offer/answer state of a session (RFC 3264 §4, RFC 6337
 * §2-§3): at most one offer outstanding in either direction; an answer
 * makes the offer and the answer the session; a failed exchange (an error
 * response, a refusal, a glare) drops the offer and the session stays as
 * it was (SPEC R15).
 *
 * Every step shows as a SIPLINE_EV_CALL_SDP event with the body, so that
 * the application (and `siplinectl events`) sees each offer and answer.
 * The UA never reads the SDP itself: its content is the application's.
 */
#include <string.h>

#include "dlg/sess.h"
#include "sipline/sdp.h"

/* Content-Type: application/sdp (parameters ignored) and a body. */
int msg_has_sdp(const sipline_msg *m) {
  if (!m->body.len || !m->content_type.len)
    return 0;
  sipline_pl ct = m->content_type;
  size_t n = 0;
  while (n < ct.len && ct.p[n] != ';' && ct.p[n] != ' ' && ct.p[n] != '\t')
    n++;
  return sipline_pl_casecmp_str((sipline_pl){ct.p, n}, "application/sdp");
}

static void emit(sess *s, const char *what, const char *who, const char *via,
                 const char *body, size_t len) {
  sipline_event ev;
  sipline__event_init(&ev, SIPLINE_EV_CALL_SDP, s->line);
  ev.id = s->id;
  ev.call_state = (int)s->state;
  sipline__event_str(ev.state, sizeof ev.state, "%s", what);
  sipline__event_str(ev.from, sizeof ev.from, "%s", who);
  sipline__event_str(ev.reason, sizeof ev.reason, "%s", via);
  sipline__ua_emit_body(s->m->ua, &ev, body, len);
}

/* Replaces *dst with a copy of src (NULL/0 clears it). */
static int set_copy(sess *s, char **dst, size_t *dlen, const char *src,
                    size_t len) {
  char *c = NULL;
  if (src && len) {
    c = sipline__strndup(s->m->ua->mem, src, len);
    if (!c)
      return SIPLINE_ERR_NOMEM;
  }
  sipline_mem_free(s->m->ua->mem, *dst);
  *dst = c;
  *dlen = c ? len : 0;
  return 0;
}

int oa_local_offer(sess *s, const char *sdp, size_t len, const char *via) {
  if (s->oa.st != OA_IDLE)
    return SIPLINE_ERR_STATE;
  int e = set_copy(s, &s->oa.offer, &s->oa.offer_len, sdp, len);
  if (e)
    return e;
  s->oa.st = OA_LOCAL_OFFER;
  emit(s, "offer", "local", via, sdp, len);
  return 0;
}

/*
 * The one thing the core checks in a peer's SDP: that it is SDP (RFC 8866
 * grammar, src/sdp). What it says stays the application's. The parse
 * result is big (fixed arrays of views): it lives on the heap briefly.
 */
static int sdp_valid(sess *s, const char *sdp, size_t len) {
  sipline_sdp *p = sipline_mem_malloc(s->m->ua->mem, sizeof *p);
  if (!p)
    return SIPLINE_ERR_NOMEM;
  int e = sipline_sdp_parse(p, sdp, len);
  sipline_mem_free(s->m->ua->mem, p);
  return e == SIPLINE_ERR_TOOBIG ? 0 : e; /* big but SDP: the app's call */
}

int oa_remote_offer(sess *s, const char *sdp, size_t len, const char *via) {
  if (s->oa.st != OA_IDLE)
    return SIPLINE_ERR_STATE;
  int v = sdp_valid(s, sdp, len);
  if (v == SIPLINE_ERR_MALFORMED) {
    sipline__ua_warn(s->m->ua, s->line, "malformed_sdp",
                     "call %u: the offer in the %s is not SDP", s->id, via);
    return v;
  }
  if (v)
    return v;
  int e = set_copy(s, &s->oa.offer, &s->oa.offer_len, sdp, len);
  if (e)
    return e;
  s->oa.st = OA_REMOTE_OFFER;
  emit(s, "offer", "remote", via, sdp, len);
  return 0;
}

/* The offer and its answer become the session. */
static int commit(sess *s, char **mine, size_t *mine_len, char **theirs,
                  size_t *theirs_len, const char *answer, size_t len) {
  char *a = sipline__strndup(s->m->ua->mem, answer, len);
  if (!a)
    return SIPLINE_ERR_NOMEM;
  sipline_mem_free(s->m->ua->mem, *mine);
  *mine = s->oa.offer;
  *mine_len = s->oa.offer_len;
  sipline_mem_free(s->m->ua->mem, *theirs);
  *theirs = a;
  *theirs_len = len;
  s->oa.offer = NULL;
  s->oa.offer_len = 0;
  s->oa.st = OA_IDLE;
  s->oa.done = 1;
  return 0;
}

int oa_local_answer(sess *s, const char *sdp, size_t len, const char *via) {
  if (s->oa.st != OA_REMOTE_OFFER)
    return SIPLINE_ERR_STATE;
  /* the remote offer becomes the remote session, our answer the local */
  int e = commit(s, &s->oa.remote, &s->oa.remote_len, &s->oa.local,
                 &s->oa.local_len, sdp, len);
  if (!e)
    emit(s, "answer", "local", via, sdp, len);
  return e;
}

int oa_remote_answer(sess *s, const char *sdp, size_t len, const char *via) {
  if (s->oa.st != OA_LOCAL_OFFER)
    return SIPLINE_ERR_STATE;
  int e = commit(s, &s->oa.local, &s->oa.local_len, &s->oa.remote,
                 &s->oa.remote_len, sdp, len);
  if (!e)
    emit(s, "answer", "remote", via, sdp, len);
  return e;
}

void oa_rollback(sess *s) {
  sipline_mem_free(s->m->ua->mem, s->oa.offer);
  s->oa.offer = NULL;
  s->oa.offer_len = 0;
  s->oa.st = OA_IDLE;
}

int oa_set_preview(sess *s, const char *sdp, size_t len) {
  return set_copy(s, &s->oa.preview, &s->oa.preview_len, sdp, len);
}

void oa_free(sess *s) {
  const sipline_mem *mem = s->m->ua->mem;
  sipline_mem_free(mem, s->oa.local);
  sipline_mem_free(mem, s->oa.remote);
  sipline_mem_free(mem, s->oa.offer);
  sipline_mem_free(mem, s->oa.preview);
  memset(&s->oa, 0, sizeof s->oa);
}
