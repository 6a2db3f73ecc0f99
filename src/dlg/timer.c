/*
 * src/dlg/timer.c: RFC 4028 session timers (SPEC R16).
 *
 * The interval (s->se) and who refreshes (s->st_local) are agreed in the
 * INVITE and its 2xx and may change with every refresh. The refresher
 * refreshes at half the interval: UPDATE without SDP when the peer allows
 * UPDATE, else a re-INVITE with the current SDP (indlg.c). The other side
 * sends BYE when no refresh came by SE - min(32, SE/3) (RFC 4028 §10).
 *
 * The refresher= parameter names a role in the transaction that carries
 * it (uac/uas), not a party: when the peer chose refresher=uas on our
 * INVITE, a re-INVITE we send later says refresher=uas again, keeping the
 * peer the refresher (PJSIP flips it: its issue #2658).
 *
 * Line configuration: Session_Expires_n_ (1800 s; 0 = we ask for nothing
 * but still honour a peer that asks) and Min_SE_n_ (90 s).
 */
#include <stdio.h>
#include <string.h>

#include "dlg/sess.h"

#define RFC4028_MIN_SE 90u /* §4: Min-SE is never below 90 s */

static uint32_t our_min_se(const sess *s) {
  uint32_t v = sess_cfg(s)->min_se;
  return v < RFC4028_MIN_SE ? RFC4028_MIN_SE : v;
}

static uint32_t our_se(const sess *s) {
  uint32_t v = sess_cfg(s)->session_expires;
  if (!v)
    return 0;
  uint32_t mn = our_min_se(s);
  return v < mn ? mn : v;
}

/* The leading decimal of v (a delta-seconds) into *out; its length, or 0
 * when there is none or it does not fit 32 bits. */
static size_t leading_u32(sipline_pl v, uint32_t *out) {
  size_t n = 0;
  while (n < v.len && v.p[n] >= '0' && v.p[n] <= '9')
    n++;
  uint64_t x;
  if (sipline_pl_u64((sipline_pl){v.p, n}, 0xffffffffu, &x) != 0)
    return 0;
  *out = (uint32_t)x;
  return n;
}

/* Session-Expires: delta[;refresher=uac|uas]. 0 when absent or bad. */
static uint32_t parse_se(const sipline_msg *m, int *refresher_uac,
                         int *has_refresher) {
  const sipline_hdr *h = sipline_msg_hdr(m, SIPLINE_HDR_SESSION_EXPIRES, 0);
  *has_refresher = 0;
  if (!h)
    return 0;
  sipline_pl v = sipline_pl_trim(h->value);
  uint32_t se;
  size_t n = leading_u32(v, &se);
  if (!n || !se)
    return 0;
  sipline_pl rest = {v.p + n, v.len - n}, r;
  if (sipline_param_get(rest, "refresher", &r) == 0) {
    if (sipline_pl_casecmp_str(r, "uac")) {
      *has_refresher = 1;
      *refresher_uac = 1;
    } else if (sipline_pl_casecmp_str(r, "uas")) {
      *has_refresher = 1;
      *refresher_uac = 0;
    }
  }
  return se;
}

static uint32_t parse_min_se(const sipline_msg *m) {
  const sipline_hdr *h = sipline_msg_hdr(m, SIPLINE_HDR_MIN_SE, 0);
  if (!h)
    return 0;
  uint32_t x;
  return leading_u32(sipline_pl_trim(h->value), &x) ? x : 0;
}

void st_append_request(sess *s, sipline__buf *b, int initial) {
  uint32_t se = initial ? (s->se ? s->se : our_se(s)) : s->se;
  if (!se)
    return;
  sipline__buf_printf(b, "Session-Expires: %u", se);
  /* In the first INVITE the UAS chooses (§7.1); afterwards the refresher
   * named in the role it has in this transaction (we are its UAC). */
  if (!initial)
    sipline__buf_append_str(b, s->st_local ? ";refresher=uac"
                                           : ";refresher=uas");
  sipline__buf_printf(b, "\r\nMin-SE: %u\r\n", our_min_se(s));
}

int st_on_request(sess *s, const sipline_msg *req, uint32_t *min_se) {
  int ref_uac = 0, has_ref = 0;
  uint32_t se = parse_se(req, &ref_uac, &has_ref);
  uint32_t mn = our_min_se(s);
  uint32_t peer_min = parse_min_se(req);
  s->peer_timer = msg_lists(req, SIPLINE_HDR_SUPPORTED, "timer") ||
                  msg_lists(req, SIPLINE_HDR_REQUIRE, "timer");
  if (se && se < mn) {
    *min_se = mn; /* §8.1: 422 Session Interval Too Small */
    return 422;
  }
  if (!se) {
    if (s->se)
      return 0; /* a request without it leaves the timer as it is */
    /* §9: the UAS may ask for a timer of its own. */
    se = our_se(s);
    if (!se)
      return 0;
    if (peer_min > se)
      se = peer_min;
    has_ref = 0;
  } else {
    /* §9: we may lower the interval, never below either Min-SE. */
    uint32_t mine = our_se(s);
    uint32_t floor = peer_min > mn ? peer_min : mn;
    if (mine && mine < se)
      se = mine < floor ? floor : mine;
  }
  s->se = se;
  if (has_ref) {
    s->st_local = !ref_uac; /* we are the UAS of this request */
  } else {
    /* §9: the UAS chooses: the UAC when it supports the timer. */
    s->st_local = !s->peer_timer;
  }
  return 0;
}

void st_append_response(sess *s, sipline__buf *b) {
  if (!s->se)
    return;
  /* We are the UAS of the transaction this response ends. */
  sipline__buf_printf(b, "Session-Expires: %u;refresher=%s\r\n", s->se,
                      s->st_local ? "uas" : "uac");
  if (s->peer_timer)
    sipline__buf_append_str(b, "Require: timer\r\n");
}

void st_on_2xx(sess *s, const sipline_msg *rsp, int initial) {
  int ref_uac = 1, has_ref = 0;
  uint32_t se = parse_se(rsp, &ref_uac, &has_ref);
  if (se) {
    s->se = se;
    /* We are the UAC of this transaction; no refresher= means uac. */
    s->st_local = has_ref ? (uint8_t)ref_uac : 1;
    return;
  }
  if (initial && !s->se) {
    /* §7.2: the UAS does not do session timers; we may alone, refreshing
     * at the interval we asked for. */
    s->se = our_se(s);
    s->st_local = 1;
  }
}

int st_on_422(sess *s, const sipline_msg *rsp) {
  uint32_t mn = parse_min_se(rsp);
  uint32_t cur = s->se ? s->se : our_se(s);
  if (!mn || mn <= cur)
    return 0; /* nothing to raise: resending would loop */
  s->se = mn;
  return 1;
}

void st_timer_cb(sipline__timer *t, void *arg, sipline_tstamp now) {
  sess *s = arg;
  (void)t;
  if (s->state != SIPLINE_CALL_CONFIRMED || !s->se)
    return;
  if (!s->st_local) {
    sess_event(s, "session_expired", 0);
    if (indlg_bye(s, now) != 0)
      sess_end(s, 0, "session_expired", now);
    return;
  }
  /* Refresh: UPDATE without SDP when the peer takes UPDATE (R16), else a
   * re-INVITE with the current SDP. Busy with another request: try again
   * shortly rather than cross it (a 491 would only delay us more). */
  int r;
  if (s->peer_update == 1 && !s->upd)
    r = indlg_update(s, NULL, 0, 1, now);
  else if (!s->rinv && !s->rinv_stx && s->oa.st == OA_IDLE)
    r = indlg_reinvite(s, s->oa.local, s->oa.local_len, 1, now);
  else
    r = SIPLINE_ERR_STATE;
  if (r != 0)
    sipline__timer_arm(&s->m->ua->timers, &s->t_st, now + SIPLINE_SEC(1));
  else
    sess_event(s, "refresh_sent", 0);
}

void st_arm(sess *s, sipline_tstamp now) {
  sipline__theap *h = &s->m->ua->timers;
  if (!s->se || s->state != SIPLINE_CALL_CONFIRMED) {
    sipline__timer_cancel(h, &s->t_st);
    s->st_due = SIPLINE_TSTAMP_NONE;
    return;
  }
  uint64_t se_ms = SIPLINE_SEC(s->se);
  uint64_t third = se_ms / 3, margin = SIPLINE_SEC(32);
  sipline_tstamp at =
      s->st_local ? now + se_ms / 2
                  : now + se_ms - (third < margin ? third : margin);
  s->st_due = at;
  sipline__timer_arm(h, &s->t_st, at);
}
