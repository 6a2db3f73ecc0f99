/*
 * daemon/calls.c: siplined as the application of its calls. The core is
 * media-free and leaves the SDP to us; until the media engine lands
 * (issue 9) the SDP names PCMU/PCMA on a port per line that nothing
 * listens to, so that signalling works against real peers:
 *   - an incoming call rings (180) and is answered after Auto_Answer_n_
 *     seconds, or by `siplinectl answer` (`reject` refuses it);
 *   - every remote offer (UPDATE, re-INVITE, a 2xx or reliable 1xx to an
 *     INVITE without one) is answered at once with our SDP, a=recvonly
 *     when the peer holds us (a=sendonly), as RFC 3264 §6.1 asks;
 *   - hold/resume send UPDATE with a=sendonly/a=sendrecv (the core falls
 *     back to re-INVITE when the peer refuses UPDATE); the o= version goes
 *     up by one with every new offer (RFC 3264 §8).
 */
#include <stdio.h>
#include <string.h>

#include "sd.h"

static struct sd_call *find(sd *d, unsigned id) {
  for (unsigned i = 0; i < d->n_calls; i++)
    if (d->calls[i].id == id)
      return &d->calls[i];
  return NULL;
}

static struct sd_call *add(sd *d, unsigned id, unsigned line) {
  struct sd_call *c = find(d, id);
  if (c)
    return c;
  if (d->n_calls == sizeof d->calls / sizeof d->calls[0])
    return NULL;
  c = &d->calls[d->n_calls++];
  memset(c, 0, sizeof *c);
  c->id = id;
  c->line = line;
  c->answer_at = SIPLINE_TSTAMP_NONE;
  return c;
}

static void drop(sd *d, unsigned id) {
  struct sd_call *c = find(d, id);
  if (c)
    *c = d->calls[--d->n_calls];
}

/* Our SDP for a call, into out (cap >= 512). */
static int make_sdp(sd *d, unsigned line, unsigned version, const char *dir,
                    char *out, size_t cap) {
  const char *h = d->o.advertise ? d->o.advertise : d->o.bind[0];
  const char *fam = strchr(h, ':') ? "IP6" : "IP4";
  int n = snprintf(out, cap,
                   "v=0\r\no=siplined %u %u IN %s %s\r\ns=-\r\n"
                   "c=IN %s %s\r\nt=0 0\r\n"
                   "m=audio %u RTP/AVP 0 8 101\r\n"
                   "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                   "a=rtpmap:101 telephone-event/8000\r\n"
                   "a=fmtp:101 0-15\r\na=ptime:20\r\na=%s\r\n",
                   line, version, fam, h, fam, h,
                   16384u + 2u * (line % 8000u), dir);
  return n < 0 || (size_t)n >= cap ? SIPLINE_ERR_TOOBIG : n;
}

int sd_call_place(sd *d, unsigned line, const char *to, unsigned *id) {
  char sdp[768];
  int n = make_sdp(d, line, 1, "sendrecv", sdp, sizeof sdp);
  if (n < 0)
    return n;
  sipline_call_params p = {
      .line = line, .to = to, .sdp = sdp, .sdp_len = (size_t)n};
  unsigned cid = 0;
  int rc = sipline_ua_call(d->ua, &p, &cid, sd_now(d));
  if (rc == 0) {
    struct sd_call *c = add(d, cid, line);
    if (c)
      c->version = 1;
    if (id)
      *id = cid;
  }
  return rc;
}

/* The direction we answer with (RFC 3264 §6.1). */
static const char *answer_dir(const char *offer, size_t len) {
  char tmp[4096];
  size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
  memcpy(tmp, offer, n);
  tmp[n] = 0;
  if (strstr(tmp, "a=sendonly"))
    return "recvonly";
  if (strstr(tmp, "a=recvonly"))
    return "sendonly";
  if (strstr(tmp, "a=inactive"))
    return "inactive";
  return "sendrecv";
}

static int answer_call(sd *d, struct sd_call *c) {
  sipline_call_info ci;
  if (sipline_ua_call_info(d->ua, c->id, &ci) != 0)
    return SIPLINE_ERR_NOTFOUND;
  char sdp[768];
  c->version = c->version ? c->version + 1 : 1;
  int n = make_sdp(d, c->line, c->version,
                   c->inv_dir[0] ? c->inv_dir : "sendrecv", sdp, sizeof sdp);
  if (n < 0)
    return n;
  sipline_call_answer a = {.status = 200, .sdp = sdp, .sdp_len = (size_t)n};
  c->answer_at = SIPLINE_TSTAMP_NONE;
  return sipline_ua_call_answer(d->ua, c->id, &a, sd_now(d));
}

void sd_calls_on_event(sd *d, const sipline_event *ev) {
  if (ev->type == SIPLINE_EV_CALL) {
    if (ev->call_state == SIPLINE_CALL_ENDED) {
      drop(d, ev->id);
      return;
    }
    if (ev->call_state != SIPLINE_CALL_INCOMING)
      return;
    struct sd_call *c = add(d, ev->id, ev->line);
    if (!c) {
      sipline_ua_call_reject(d->ua, ev->id, 486, sd_now(d));
      return;
    }
    const sipline_line_cfg *lc = sipline_profile_line(d->profile, ev->line);
    sipline_call_answer ring = {.status = 180};
    sipline_ua_call_answer(d->ua, ev->id, &ring, sd_now(d));
    if (lc && lc->auto_answer != UINT32_MAX)
      c->answer_at = sd_now(d) + SIPLINE_SEC(lc->auto_answer);
    return;
  }
  if (ev->type != SIPLINE_EV_CALL_SDP || strcmp(ev->state, "offer") != 0 ||
      strcmp(ev->from, "remote") != 0)
    return;
  if (!strcmp(ev->reason, "invite")) {
    /* answered with the 200: remember the direction it asks for */
    struct sd_call *ic = add(d, ev->id, ev->line);
    if (ic && ev->body)
      snprintf(ic->inv_dir, sizeof ic->inv_dir, "%s",
               answer_dir(ev->body, ev->body_len));
    return;
  }
  /* A remote offer after the INVITE's: answered at once. */
  struct sd_call *c = add(d, ev->id, ev->line);
  char sdp[768];
  unsigned ver = c ? ++c->version : 1;
  int n = make_sdp(d, ev->line, ver,
                   ev->body ? answer_dir(ev->body, ev->body_len) : "sendrecv",
                   sdp, sizeof sdp);
  if (n > 0)
    sipline_ua_call_sdp(d->ua, ev->id, sdp, (size_t)n, sd_now(d));
}

sipline_tstamp sd_calls_next(const sd *d) {
  sipline_tstamp t = SIPLINE_TSTAMP_NONE;
  for (unsigned i = 0; i < d->n_calls; i++)
    if (d->calls[i].answer_at < t)
      t = d->calls[i].answer_at;
  return t;
}

void sd_calls_run(sd *d, sipline_tstamp now) {
  for (unsigned i = 0; i < d->n_calls; i++)
    if (d->calls[i].answer_at <= now)
      answer_call(d, &d->calls[i]);
}

int sd_call_cmd(sd *d, const char *cmd, unsigned id, int arg) {
  sipline_tstamp now = sd_now(d);
  struct sd_call *c = find(d, id);
  if (!strcmp(cmd, "answer"))
    return c ? answer_call(d, c) : SIPLINE_ERR_NOTFOUND;
  if (!strcmp(cmd, "reject"))
    return sipline_ua_call_reject(d->ua, id, arg ? arg : 486, now);
  if (!c)
    return SIPLINE_ERR_NOTFOUND;
  int hold = !strcmp(cmd, "hold");
  int with_sdp = hold || !strcmp(cmd, "resume") || arg;
  char sdp[768];
  int n = 0;
  if (with_sdp) {
    int h = hold || (!strcmp(cmd, "update") || !strcmp(cmd, "reinvite")
                         ? c->hold
                         : 0);
    n = make_sdp(d, c->line, c->version + 1, h ? "sendonly" : "sendrecv",
                 sdp, sizeof sdp);
    if (n < 0)
      return n;
  }
  int rc;
  if (!strcmp(cmd, "reinvite"))
    rc = sipline_ua_call_reinvite(d->ua, id, with_sdp ? sdp : NULL,
                                  with_sdp ? (size_t)n : 0, now);
  else if (hold || !strcmp(cmd, "resume") || !strcmp(cmd, "update"))
    rc = sipline_ua_call_update(d->ua, id, with_sdp ? sdp : NULL,
                                with_sdp ? (size_t)n : 0, now);
  else
    return SIPLINE_ERR_INVAL;
  if (rc == 0 && with_sdp) {
    c->version++;
    if (hold)
      c->hold = 1;
    else if (!strcmp(cmd, "resume"))
      c->hold = 0;
  }
  return rc;
}
