/*
 * daemon/calls.c: siplined as the application of its calls. The core is
 * media-free and leaves the SDP to us: here every call gets an RTP session
 * (media/media.h) bound to a real port pair, and its SDP is built from
 * that socket and negotiated with src/sdp (RFC 3264):
 *   - an outgoing call offers PCMU, PCMA and telephone-event at 20 ms;
 *   - an incoming call rings (180) and is answered after Auto_Answer_n_
 *     seconds, or by `siplinectl answer` (`reject` refuses it);
 *   - every remote offer (the INVITE's, UPDATE, re-INVITE, one in a 2xx or
 *     reliable 1xx) is answered at once by sipline_sdp_make_answer, and
 *     every completed exchange is applied to the running stream (address,
 *     port, codec, direction: a hold from either side takes effect);
 *   - hold/resume send UPDATE with our SDP's direction changed (the core
 *     falls back to re-INVITE when the peer refuses UPDATE); the o= version
 *     goes up by one with every change (RFC 3264 §8).
 * A call plays silence unless told to play a file, and records nothing
 * unless told to (`siplinectl call/answer --play/--record`, or for the
 * incoming calls we answer the line's Answer_Play_n_ and
 * Answer_Record_Dir_n_); DTMF received shows as a "dtmf" event.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "media/media.h"
#include "sd.h"

#define SDP_CAP 2048
#define TE_PT 101
#define SRTP_SUITE "AES_CM_128_HMAC_SHA1_80"

static const sipline_sdp_codec codecs[] = {
    {.pt = 0, .name = "PCMU", .rate = 8000},
    {.pt = 8, .name = "PCMA", .rate = 8000},
};

static struct sd_call *find(sd *d, unsigned id) {
  for (unsigned i = 0; i < d->n_calls; i++)
    if (d->calls[i].id == id)
      return &d->calls[i];
  return NULL;
}

static struct sd_call *find_media(sd *d, const sipline_media *m) {
  for (unsigned i = 0; i < d->n_calls; i++)
    if (d->calls[i].media == m)
      return &d->calls[i];
  return NULL;
}

static void on_dtmf(void *arg, sipline_media *m, char digit) {
  sd *d = arg;
  struct sd_call *c = find_media(d, m);
  cJSON *o = sj_event_new("dtmf", sd_now(d), c ? c->line : 0, &d->ck);
  if (!o)
    return;
  if (c)
    cJSON_AddNumberToObject(o, "id", c->id);
  char s[2] = {digit, 0};
  cJSON_AddStringToObject(o, "digit", s);
  sd_emit(d, o);
}

/* A fresh call record: no media yet, our o= line started (RFC 3264 §5). */
static void call_init(struct sd_call *c, unsigned id, unsigned line) {
  memset(c, 0, sizeof *c);
  c->id = id;
  c->line = line;
  c->answer_at = SIPLINE_TSTAMP_NONE;
  c->origin.username = "siplined";
  RAND_bytes((unsigned char *)&c->origin.sess_id, sizeof c->origin.sess_id);
  c->origin.sess_id &= 0x7fffffffffffull; /* a short decimal */
  c->origin.sess_version = 1;
}

static struct sd_call *add(sd *d, unsigned id, unsigned line) {
  struct sd_call *c = find(d, id);
  if (c)
    return c;
  if (d->n_calls == sizeof d->calls / sizeof d->calls[0])
    return NULL;
  c = &d->calls[d->n_calls++];
  call_init(c, id, line);
  return c;
}

/* The media statistics of a call that ends, as an event. */
static void media_report(sd *d, struct sd_call *c) {
  sipline_media_stats st;
  sipline_media_stats_get(c->media, &st);
  cJSON *o = sj_event_new("media", sd_now(d), c->line, &d->ck);
  if (!o)
    return;
  cJSON_AddNumberToObject(o, "id", c->id);
  cJSON_AddNumberToObject(o, "pkts_sent", (double)st.pkts_sent);
  cJSON_AddNumberToObject(o, "pkts_recv", (double)st.pkts_recv);
  cJSON_AddNumberToObject(o, "lost", st.lost);
  cJSON_AddNumberToObject(o, "jitter", st.jitter);
  cJSON_AddNumberToObject(o, "dtmf_sent", (double)st.dtmf_sent);
  cJSON_AddNumberToObject(o, "dtmf_recv", (double)st.dtmf_recv);
  cJSON_AddNumberToObject(o, "recorded", (double)st.recorded);
  sd_emit(d, o);
}

static void drop(sd *d, unsigned id) {
  struct sd_call *c = find(d, id);
  if (!c)
    return;
  if (c->media) {
    media_report(d, c);
    sipline_media_del(c->media);
  }
  free(c->inv_offer);
  *c = d->calls[--d->n_calls];
}

void sd_calls_free(sd *d) {
  for (unsigned i = 0; i < d->n_calls; i++) {
    sipline_media_del(d->calls[i].media);
    free(d->calls[i].inv_offer);
  }
  d->n_calls = 0;
}

/* The address media is bound to and put in c=: the signalling address. */
static const char *media_host(const sd *d) {
  return d->o.advertise ? d->o.advertise : d->o.bind[0];
}

/* Opens the call's RTP session (once), with its file settings. */
static int media_open(sd *d, struct sd_call *c) {
  if (c->media)
    return 0;
  sipline_media_opts mo = {.local_ip = d->o.bind[0],
                           .on_dtmf = on_dtmf,
                           .arg = d};
  int e = sipline_media_new(&c->media, d->loop, &mo);
  if (e) {
    slog(SLOG_ERROR, "call %u: no RTP port: %s", c->id, sipline_strerror(e));
    return e;
  }
  if (c->play[0] && sipline_media_play_file(c->media, c->play, false) != 0)
    slog(SLOG_WARN, "call %u: cannot play %s", c->id, c->play);
  if (c->record[0] && sipline_media_record(c->media, c->record) != 0)
    slog(SLOG_WARN, "call %u: cannot record to %s", c->id, c->record);
  return 0;
}

static void rand_bytes(void *arg, uint8_t *buf, size_t n) {
  (void)arg;
  RAND_bytes(buf, (int)n);
}

/* Secure_Call_Setting_n_: our SDES key for the call (made once). */
static const char *call_key(const sd *d, struct sd_call *c) {
  const sipline_line_cfg *lc = sipline_profile_line(d->profile, c->line);
  if (!lc || !lc->secure_call)
    return NULL;
  if (!c->key[0]) {
    char v[128];
    if (sipline_media_sdes_new(v, sizeof v, 1, rand_bytes, NULL) < 0)
      return NULL;
    const char *k = strstr(v, "inline:");
    if (!k)
      return NULL;
    snprintf(c->key, sizeof c->key, "%s", k);
  }
  return c->key;
}

static void local_caps(const sd *d, struct sd_call *c, sipline_sdp_dir dir,
                       sipline_sdp_local_media *lm, sipline_sdp_local *l) {
  struct sockaddr_storage ss;
  uint16_t port = 0;
  if (sipline_media_local(c->media, &ss) == 0)
    port = ntohs(ss.ss_family == AF_INET6
                     ? ((struct sockaddr_in6 *)&ss)->sin6_port
                     : ((struct sockaddr_in *)&ss)->sin_port);
  *lm = (sipline_sdp_local_media){.port = port,
                                  .codecs = codecs,
                                  .n_codecs = 2,
                                  .te_pt = TE_PT,
                                  .dir = dir,
                                  .ptime = 20};
  const char *key = call_key(d, c);
  if (key) {
    lm->crypto_suite = SRTP_SUITE;
    lm->crypto_key_params = key;
    lm->srtp_only = true; /* a secure line never answers in the clear */
  }
  *l = (sipline_sdp_local){.address = media_host(d), .media = lm,
                           .n_media = 1};
}

static int make_offer(sd *d, struct sd_call *c, sipline_sdp_dir dir, char *out,
                      size_t cap) {
  int e = media_open(d, c);
  if (e)
    return e;
  sipline_sdp_local_media lm;
  sipline_sdp_local l;
  local_caps(d, c, dir, &lm, &l);
  return (int)sipline_sdp_make_offer(&l, &c->origin, out, cap);
}

/* Our answer to a remote offer; <0 when we cannot take it (488). */
static int make_answer(sd *d, struct sd_call *c, const char *offer, size_t len,
                       char *out, size_t cap) {
  int e = media_open(d, c);
  if (e)
    return e;
  sipline_sdp *p = malloc(sizeof *p);
  if (!p)
    return SIPLINE_ERR_NOMEM;
  ptrdiff_t n = sipline_sdp_parse(p, offer, len);
  if (n == 0) {
    sipline_sdp_local_media lm;
    sipline_sdp_local l;
    local_caps(d, c, c->hold ? SIPLINE_SDP_SENDONLY : SIPLINE_SDP_SENDRECV,
               &lm, &l);
    n = sipline_sdp_make_answer(p, &l, &c->origin, out, cap);
  }
  free(p);
  return (int)n;
}

/*
 * What our SDP and the peer's agree on for the (only) stream. The parse
 * results are big and short-lived; r's views point into the SDP texts,
 * which the caller keeps. 0, or an error (not SDP, no memory).
 */
static int agree(const char *local, size_t llen, const char *remote,
                 size_t rlen, sipline_sdp_result *r) {
  sipline_sdp *lp = malloc(sizeof *lp), *rp = malloc(sizeof *rp);
  int e = lp && rp ? 0 : SIPLINE_ERR_NOMEM;
  if (!e)
    e = sipline_sdp_parse(lp, local, llen);
  if (!e)
    e = sipline_sdp_parse(rp, remote, rlen);
  if (!e)
    e = sipline_sdp_negotiated(lp, rp, 0, r);
  free(lp);
  free(rp);
  return e;
}

/* Applies an agreed session (ours and theirs) to the RTP stream. */
/* "TAG SUITE KEY-PARAMS" of a crypto view, for the media engine. */
static void crypto_text(const sipline_sdp_crypto *k, char *out, size_t cap) {
  snprintf(out, cap, "%u %.*s %.*s", k->tag, (int)k->suite.len,
           k->suite.p ? k->suite.p : "", (int)k->key_params.len,
           k->key_params.p ? k->key_params.p : "");
}

static void apply(struct sd_call *c, const char *local, size_t llen,
                  const char *remote, size_t rlen) {
  sipline_sdp_result r;
  if (!c->media || !local || !remote)
    return;
  if (agree(local, llen, remote, rlen, &r) == 0) {
    sipline_media_params mp = {.pt = (uint8_t)r.pt,
                               .dtmf_pt = r.te_pt,
                               .rtcp_mux = r.rtcp_mux,
                               .symmetric = true};
    static const sipline_media_dir dirs[] = {
        SIPLINE_MEDIA_SENDRECV, SIPLINE_MEDIA_SENDONLY, SIPLINE_MEDIA_RECVONLY,
        SIPLINE_MEDIA_INACTIVE};
    mp.dir = r.active ? dirs[r.dir] : SIPLINE_MEDIA_INACTIVE;
    char host[64];
    size_t hl = r.addr.len < sizeof host ? r.addr.len : sizeof host - 1;
    memcpy(host, r.addr.p ? r.addr.p : "", hl);
    host[hl] = 0;
    if (r.active && r.ipv6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&mp.remote;
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(r.port);
      inet_pton(AF_INET6, host, &a->sin6_addr);
    } else if (r.active) {
      struct sockaddr_in *a = (struct sockaddr_in *)&mp.remote;
      a->sin_family = AF_INET;
      a->sin_port = htons(r.port);
      inet_pton(AF_INET, host, &a->sin_addr);
    }
    mp.remote_rtcp_port = r.rtcp_port;
    char lk[160], rk[160];
    if (r.local_crypto.tag && r.remote_crypto.tag) {
      crypto_text(&r.local_crypto, lk, sizeof lk);
      crypto_text(&r.remote_crypto, rk, sizeof rk);
      mp.srtp_local = lk;
      mp.srtp_remote = rk;
    }
    if (mp.pt != 0 && mp.pt != 8)
      mp.dir = SIPLINE_MEDIA_INACTIVE; /* not a codec we speak */
    int e = sipline_media_set(c->media, &mp);
    if (e)
      slog(SLOG_WARN, "call %u: media not applied: %s", c->id,
           sipline_strerror(e));
    else
      slog(SLOG_INFO, "call %u: media %s:%u pt %u %s", c->id, host, r.port,
           mp.pt, sipline_media_dir_name(mp.dir));
  }
}

/*
 * Secure_Call_Setting_n_ = Yes: what an offer lacks for us to take it as
 * SRTP, as a Warning (RFC 3261 §20.43), or NULL when some audio stream is
 * RTP/SAVP with an a=crypto of our suite. SDP calls the m= proto field the
 * "transport protocol", hence 303 for a plain RTP/AVP offer; an SAVP offer
 * without our suite is a media format we do not have, 305.
 */
static const char *srtp_lacking(const char *offer, size_t len) {
  sipline_sdp *p = malloc(sizeof *p);
  const char *why = "303 Incompatible transport protocol";
  if (!p || sipline_sdp_parse(p, offer, len) != 0) {
    free(p);
    return why;
  }
  for (unsigned i = 0; i < p->n_m; i++) {
    const sipline_sdp_media *m = &p->m[i];
    if (m->port == 0 || !sipline_pl_casecmp_str(m->media, "audio") ||
        !sipline_pl_casecmp_str(m->proto, "RTP/SAVP"))
      continue;
    why = "305 Incompatible media format";
    sipline_sdp_crypto cr[8];
    unsigned n = sipline_sdp_crypto_list(p, i, cr, 8);
    for (unsigned k = 0; k < n && k < 8; k++)
      if (sipline_pl_casecmp_str(cr[k].suite, SRTP_SUITE)) {
        free(p);
        return NULL;
      }
  }
  free(p);
  return why;
}

/* Refuses an incoming call on a secure line whose INVITE offers no SRTP we
 * take: 488 with a Warning saying what is missing (rather than ringing and
 * answering in the clear, or 488 only once someone answers). */
static void refuse_insecure(sd *d, struct sd_call *c, const char *warn) {
  char h[256];
  snprintf(h, sizeof h,
           "Warning: %.3s %s \"%s: this line takes only RTP/SAVP with "
           "a=crypto " SRTP_SUITE "\"\r\n",
           warn, media_host(d), warn + 4);
  sipline_call_end e = {.status = 488, .headers = h,
                        .reason = "srtp_required"};
  c->answer_at = SIPLINE_TSTAMP_NONE; /* Auto_Answer must not try it */
  c->ring_pending = 0;
  slog(SLOG_WARN, "call %u: line %u is secure and the offer has no SRTP "
       "(%s): 488", c->id, c->line, warn + 4);
  sipline_ua_call_end(d->ua, c->id, &e, sd_now(d));
}

/*
 * Secure line: whether the completed exchange agreed on SRTP both ways.
 * A peer that answers our RTP/SAVP offer without a=crypto (or with plain
 * RTP/AVP) would otherwise get a clear stream; 1 when it did not happen
 * (SRTP agreed, or no active stream at all).
 */
static int srtp_agreed(sd *d, const struct sd_call *c) {
  sipline_call_info ci;
  sipline_sdp_result r;
  if (sipline_ua_call_info(d->ua, c->id, &ci) != 0 || !ci.local_sdp_len ||
      !ci.remote_sdp_len)
    return 1;
  if (agree(ci.local_sdp, ci.local_sdp_len, ci.remote_sdp, ci.remote_sdp_len,
            &r) != 0)
    return 0; /* an answer we cannot read is no SRTP either */
  return !r.active || (r.local_crypto.tag && r.remote_crypto.tag);
}

/* After an offer/answer completed: the session as the core holds it. */
static void apply_current(sd *d, struct sd_call *c) {
  sipline_call_info ci;
  if (sipline_ua_call_info(d->ua, c->id, &ci) == 0 && ci.local_sdp_len &&
      ci.remote_sdp_len)
    apply(c, ci.local_sdp, ci.local_sdp_len, ci.remote_sdp,
          ci.remote_sdp_len);
}

int sd_call_place(sd *d, unsigned line, const char *to, const char *play,
                  const char *record, unsigned *id) {
  /* The session is opened before the call has an id: a slot of its own. */
  struct sd_call tmp;
  call_init(&tmp, 0, line);
  snprintf(tmp.play, sizeof tmp.play, "%s", play ? play : "");
  snprintf(tmp.record, sizeof tmp.record, "%s", record ? record : "");
  if (d->n_calls == sizeof d->calls / sizeof d->calls[0])
    return SIPLINE_ERR_TOOBIG;
  char sdp[SDP_CAP];
  int n = make_offer(d, &tmp, SIPLINE_SDP_SENDRECV, sdp, sizeof sdp);
  if (n < 0) {
    sipline_media_del(tmp.media);
    return n;
  }
  sipline_call_params p = {
      .line = line, .to = to, .sdp = sdp, .sdp_len = (size_t)n};
  unsigned cid = 0;
  int rc = sipline_ua_call(d->ua, &p, &cid, sd_now(d));
  if (rc) {
    sipline_media_del(tmp.media);
    return rc;
  }
  tmp.id = cid;
  d->calls[d->n_calls++] = tmp;
  if (id)
    *id = cid;
  return 0;
}

int sd_call_media_files(sd *d, unsigned id, const char *play,
                        const char *record) {
  struct sd_call *c = find(d, id);
  if (!c)
    return SIPLINE_ERR_NOTFOUND;
  if (play && *play) {
    snprintf(c->play, sizeof c->play, "%s", play);
    if (c->media && sipline_media_play_file(c->media, play, false) != 0)
      return SIPLINE_ERR_IO;
  }
  if (record && *record) {
    snprintf(c->record, sizeof c->record, "%s", record);
    if (c->media && sipline_media_record(c->media, record) != 0)
      return SIPLINE_ERR_IO;
  }
  return 0;
}

int sd_call_dtmf(sd *d, unsigned id, const char *digits) {
  struct sd_call *c = find(d, id);
  if (!c || !c->media)
    return SIPLINE_ERR_NOTFOUND;
  return sipline_media_dtmf(c->media, digits);
}

/* The application's answer to the remote offer the core holds for us. */
static void answer_offer(sd *d, struct sd_call *c, const sipline_event *ev) {
  char sdp[SDP_CAP];
  int n = ev->body ? make_answer(d, c, ev->body, ev->body_len, sdp, sizeof sdp)
                   : SIPLINE_ERR_INVAL;
  sipline_ua_call_sdp(d->ua, ev->id, n > 0 ? sdp : NULL, n > 0 ? (size_t)n : 0,
                      sd_now(d));
}

/* A recording's file name: DIR/CALLID-YYYYMMDDTHHMMSSZ.wav, the Call-ID
 * cut to 64 characters of [A-Za-z0-9._-] (others become '_': a Call-ID may
 * hold '/' or '@'), so that the name is a plain file in DIR. 0, or
 * SIPLINE_ERR_TOOBIG when it does not fit out. */
static int record_name(sd *d, const struct sd_call *c, const char *dir,
                       char *out, size_t cap) {
  sipline_call_info ci;
  char cid[65] = "";
  if (sipline_ua_call_info(d->ua, c->id, &ci) == 0) {
    size_t n = strnlen(ci.call_id, sizeof cid - 1);
    memcpy(cid, ci.call_id, n);
    cid[n] = '\0';
  }
  if (!cid[0])
    snprintf(cid, sizeof cid, "call%u", c->id);
  for (char *p = cid; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
      *p = '_';
  if (cid[0] == '.')
    cid[0] = '_'; /* never a hidden file */
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
  size_t dl = strlen(dir);
  while (dl > 1 && dir[dl - 1] == '/')
    dl--;
  int n = snprintf(out, cap, "%.*s/%s-%s.wav", (int)dl, dir, cid, when);
  return n < 0 || (size_t)n >= cap ? SIPLINE_ERR_TOOBIG : 0;
}

/*
 * Answer_Play_n_ / Answer_Record_Dir_n_: what an incoming call we answer
 * plays and where what it receives is recorded, unless `answer --play /
 * --record` already chose (those are set before this runs). The paths were
 * checked when the profile was loaded (sd_calls_check_profile); a failure
 * now (the file removed since) is logged and the call goes on without it.
 */
static void answer_media(sd *d, struct sd_call *c) {
  const sipline_line_cfg *lc = sipline_profile_line(d->profile, c->line);
  sipline_call_info ci;
  if (!lc || (!lc->answer_play && !lc->answer_record_dir) ||
      sipline_ua_call_info(d->ua, c->id, &ci) != 0 || ci.outgoing)
    return;
  const char *play = !c->play[0] ? lc->answer_play : NULL;
  char rec[sizeof c->record] = "";
  if (!c->record[0] && lc->answer_record_dir &&
      record_name(d, c, lc->answer_record_dir, rec, sizeof rec) != 0) {
    slog(SLOG_WARN, "call %u: Answer_Record_Dir_%u_ too long for a file name",
         c->id, c->line);
    rec[0] = '\0';
  }
  if (!play && !rec[0])
    return;
  int e = sd_call_media_files(d, c->id, play, rec[0] ? rec : NULL);
  if (e)
    slog(SLOG_WARN, "call %u: answer media (%s, %s): %s", c->id,
         play ? play : "-", rec[0] ? rec : "-", sipline_strerror(e));
  cJSON *o = sj_event_new("answer_media", sd_now(d), c->line, &d->ck);
  if (!o)
    return;
  cJSON_AddNumberToObject(o, "id", c->id);
  if (play)
    cJSON_AddStringToObject(o, "play", play);
  if (rec[0])
    cJSON_AddStringToObject(o, "record", rec);
  sd_emit(d, o);
}

int sd_calls_check_profile(const sipline_profile *p, char *err, size_t cap) {
  for (unsigned n = 1; n <= p->n_lines; n++) {
    const sipline_line_cfg *lc = sipline_profile_line(p, n);
    char why[160];
    if (lc->answer_play &&
        sipline_media_file_check(lc->answer_play, why, sizeof why) != 0) {
      snprintf(err, cap, "Answer_Play_%u_: \"%s\": %s", n, lc->answer_play,
               why);
      return -1;
    }
    const char *dir = lc->answer_record_dir;
    struct stat st;
    if (!dir)
      continue;
    if (stat(dir, &st) != 0)
      snprintf(why, sizeof why, "%s", strerror(errno));
    else if (!S_ISDIR(st.st_mode))
      snprintf(why, sizeof why, "not a directory");
    else if (access(dir, W_OK | X_OK) != 0)
      snprintf(why, sizeof why, "not writable: %s", strerror(errno));
    else
      continue;
    snprintf(err, cap, "Answer_Record_Dir_%u_: \"%s\": %s", n, dir, why);
    return -1;
  }
  return 0;
}

/* 180 Ringing to an incoming call. */
static void ring(sd *d, struct sd_call *c) {
  c->ring_pending = 0;
  sipline_call_answer r = {.status = 180};
  sipline_ua_call_answer(d->ua, c->id, &r, sd_now(d));
}

/* Answers an incoming call: 200 with our answer to the INVITE's offer (or
 * our offer when it had none). */
static int answer_call(sd *d, struct sd_call *c) {
  c->answer_at = SIPLINE_TSTAMP_NONE;
  answer_media(d, c);
  char sdp[SDP_CAP];
  int n = c->inv_offer ? make_answer(d, c, c->inv_offer, c->inv_offer_len,
                                     sdp, sizeof sdp)
                       : make_offer(d, c, SIPLINE_SDP_SENDRECV, sdp,
                                    sizeof sdp);
  if (n < 0) {
    /* nothing in common with the offer: RFC 3261 §21.4.26 */
    return sipline_ua_call_reject(d->ua, c->id, 488, sd_now(d));
  }
  sipline_call_answer a = {.status = 200, .sdp = sdp, .sdp_len = (size_t)n};
  return sipline_ua_call_answer(d->ua, c->id, &a, sd_now(d));
}

void sd_calls_on_event(sd *d, const sipline_event *ev) {
  if (ev->type == SIPLINE_EV_CALL) {
    struct sd_call *c = find(d, ev->id);
    if (ev->call_state == SIPLINE_CALL_ENDED) {
      drop(d, ev->id);
      return;
    }
    if (ev->call_state == SIPLINE_CALL_INCOMING) {
      c = add(d, ev->id, ev->line);
      if (!c) {
        sipline_ua_call_reject(d->ua, ev->id, 486, sd_now(d));
        return;
      }
      const sipline_line_cfg *lc = sipline_profile_line(d->profile, ev->line);
      /* A secure line rings only once the INVITE's offer (the event that
       * follows this one) is seen to carry SRTP: a plain offer is refused
       * without ringing first. sd_calls_run rings an INVITE without one. */
      if (lc && lc->secure_call)
        c->ring_pending = 1;
      else
        ring(d, c);
      if (lc && lc->auto_answer != UINT32_MAX)
        c->answer_at = sd_now(d) + SIPLINE_SEC(lc->auto_answer);
    }
    return;
  }
  if (ev->type != SIPLINE_EV_CALL_SDP)
    return;
  struct sd_call *c = add(d, ev->id, ev->line);
  if (!c)
    return;
  if (!strcmp(ev->state, "answer")) {
    if (call_key(d, c) && !srtp_agreed(d, c)) {
      /* Never a clear stream on a secure line: the call ends (BYE, or
       * CANCEL while early) saying why, and the media is never set. */
      slog(SLOG_WARN, "call %u: line %u is secure and the answer has no "
           "SRTP: hanging up", c->id, c->line);
      sipline_call_end e = {
          .headers = "Reason: SIP;cause=488;text=\"SRTP required: the "
                     "answer has no a=crypto\"\r\n",
          .reason = "srtp_required"};
      sipline_ua_call_end(d->ua, c->id, &e, sd_now(d));
      return;
    }
    apply_current(d, c); /* an exchange completed, either way */
    return;
  }
  if (strcmp(ev->from, "remote") != 0)
    return; /* our own offer */
  const char *warn;
  if (!strcmp(ev->reason, "invite") && call_key(d, c) &&
      (warn = srtp_lacking(ev->body ? ev->body : "",
                           ev->body ? ev->body_len : 0))) {
    refuse_insecure(d, c, warn);
    return;
  }
  if (c->ring_pending)
    ring(d, c);
  if (!strcmp(ev->reason, "invite")) {
    /* answered with the 200 (answer_call): keep it until then */
    free(c->inv_offer);
    c->inv_offer = ev->body ? malloc(ev->body_len) : NULL;
    c->inv_offer_len = c->inv_offer ? ev->body_len : 0;
    if (c->inv_offer)
      memcpy(c->inv_offer, ev->body, ev->body_len);
    return;
  }
  answer_offer(d, c, ev);
}

sipline_tstamp sd_calls_next(const sd *d) {
  sipline_tstamp t = SIPLINE_TSTAMP_NONE;
  for (unsigned i = 0; i < d->n_calls; i++) {
    if (d->calls[i].answer_at < t)
      t = d->calls[i].answer_at;
    if (d->calls[i].ring_pending)
      t = 0; /* at once, after the events of this pass */
  }
  return t;
}

void sd_calls_run(sd *d, sipline_tstamp now) {
  for (unsigned i = 0; i < d->n_calls; i++) {
    if (d->calls[i].ring_pending)
      ring(d, &d->calls[i]);
    if (d->calls[i].answer_at <= now)
      answer_call(d, &d->calls[i]);
  }
}

/* Our current SDP with the direction changed (hold/resume), as an offer. */
static int redirect(sd *d, struct sd_call *c, sipline_sdp_dir dir, char *out,
                    size_t cap) {
  sipline_call_info ci;
  if (sipline_ua_call_info(d->ua, c->id, &ci) != 0 || !ci.local_sdp_len)
    return make_offer(d, c, dir, out, cap);
  sipline_sdp *p = malloc(sizeof *p);
  if (!p)
    return SIPLINE_ERR_NOMEM;
  ptrdiff_t n = sipline_sdp_parse(p, ci.local_sdp, ci.local_sdp_len);
  if (n == 0)
    n = sipline_sdp_set_direction(p, 0, dir, &c->origin, out, cap);
  free(p);
  return (int)n;
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
  int hold = !strcmp(cmd, "hold"), resume = !strcmp(cmd, "resume");
  int with_sdp = hold || resume || arg;
  char sdp[SDP_CAP];
  int n = 0;
  if (with_sdp) {
    sipline_sdp_dir dir = hold || (!resume && c->hold) ? SIPLINE_SDP_SENDONLY
                                                       : SIPLINE_SDP_SENDRECV;
    n = hold || resume ? redirect(d, c, dir, sdp, sizeof sdp)
                       : make_offer(d, c, dir, sdp, sizeof sdp);
    if (n < 0)
      return n;
  }
  int rc;
  if (!strcmp(cmd, "reinvite"))
    rc = sipline_ua_call_reinvite(d->ua, id, with_sdp ? sdp : NULL,
                                  with_sdp ? (size_t)n : 0, now);
  else if (hold || resume || !strcmp(cmd, "update"))
    rc = sipline_ua_call_update(d->ua, id, with_sdp ? sdp : NULL,
                                with_sdp ? (size_t)n : 0, now);
  else
    return SIPLINE_ERR_INVAL;
  if (rc == 0 && hold)
    c->hold = 1;
  else if (rc == 0 && resume)
    c->hold = 0;
  return rc;
}

cJSON *sd_call_status(sd *d, const struct sd_call *c) {
  sipline_call_info ci;
  if (sipline_ua_call_info(d->ua, c->id, &ci) != 0)
    return NULL;
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddNumberToObject(o, "id", ci.id);
  cJSON_AddNumberToObject(o, "line", ci.line);
  cJSON_AddStringToObject(o, "state", sipline_call_state_name(ci.state));
  cJSON_AddStringToObject(o, "direction", ci.outgoing ? "out" : "in");
  cJSON_AddStringToObject(o, "peer", ci.peer);
  cJSON_AddStringToObject(o, "server", ci.server);
  cJSON_AddNumberToObject(o, "session_expires", ci.session_expires);
  if (ci.refresher[0])
    cJSON_AddStringToObject(o, "refresher", ci.refresher);
  cJSON_AddBoolToObject(o, "peer_allows_update", ci.peer_allows_update);
  cJSON_AddBoolToObject(o, "offer_pending", ci.offer_pending);
  cJSON_AddBoolToObject(o, "hold", c->hold);
  /* the codec and our direction, as agreed */
  sipline_sdp_result r;
  if (ci.local_sdp_len && ci.remote_sdp_len &&
      agree(ci.local_sdp, ci.local_sdp_len, ci.remote_sdp, ci.remote_sdp_len,
            &r) == 0 &&
      r.active) {
    char codec[40];
    snprintf(codec, sizeof codec, "%.*s/%u", (int)r.codec.name.len,
             r.codec.name.p ? r.codec.name.p : "", (unsigned)r.codec.rate);
    cJSON_AddStringToObject(o, "codec", codec);
    cJSON_AddStringToObject(o, "media_direction", sipline_sdp_dir_name(r.dir));
  }
  if (c->media) {
    sipline_media_stats st;
    sipline_media_stats_get(c->media, &st);
    cJSON_AddNumberToObject(o, "pkts_sent", (double)st.pkts_sent);
    cJSON_AddNumberToObject(o, "pkts_recv", (double)st.pkts_recv);
    cJSON_AddNumberToObject(o, "lost", st.lost);
  }
  return o;
}
