/*
 * tools/sipline-sim/phone.c: the scripted far-end phone (phone.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"

#define MAX_ACTS 64
#define MAX_PEND 16
#define MAX_EVQ 256

enum { A_UPDATE, A_UPDATE_NOSDP, A_REINVITE, A_REINVITE_NOSDP, A_HANGUP,
       A_CALL };
static const char *const act_names[] = {"update",   "update-nosdp",
                                        "reinvite", "reinvite-nosdp",
                                        "hangup",   "call"};
enum { O_ANSWER, O_REFUSE, O_IGNORE };

typedef struct act {
  sipline_tstamp at;
  int what;
} act;

struct sim_phone {
  sipline_ua *ua;
  sipline_profile *p;
  sipline_addr self, ua_addr;
  char self_ip[64];
  sipline_tstamp ring_after, answer_after; /* NONE: never */
  int reliable, offers, update501;
  char call_to[64];
  act acts[MAX_ACTS];
  size_t nacts, next_act;
  unsigned call;
  sipline_tstamp ring_at, answer_at;
  unsigned sdp_version;
  char sdp[256];
  char *pend[MAX_PEND];
  size_t pend_len[MAX_PEND];
  size_t npend;
  char *cur;
  sipline_event evq[MAX_EVQ];
  size_t nev, headev;
  sipline_tstamp now;
};

static int bad(char *err, size_t cap, const char *where, const char *what) {
  snprintf(err, cap, "%s: %s", where, what);
  return 2;
}

static sipline_tstamp secs(const cJSON *j, int *ok) {
  if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 1e9) {
    *ok = 0;
    return 0;
  }
  return (sipline_tstamp)llround(j->valuedouble * 1000.0);
}

/* The phone's SDP; a new version each time it offers something new. */
static const char *make_sdp(sim_phone *ph, const char *dir) {
  snprintf(ph->sdp, sizeof ph->sdp,
           "v=0\r\no=phone 9 %u IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\n"
           "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
           "a=%s\r\n",
           ph->sdp_version, ph->self_ip, ph->self_ip, dir);
  return ph->sdp;
}

int sim_phone_new(sim_phone **out, const char *where, const sipline_addr *self,
                  const sipline_addr *ua_addr, const cJSON *cfg, uint64_t seed,
                  char *err, size_t cap) {
  *out = NULL;
  if (!cJSON_IsObject(cfg))
    return bad(err, cap, where, "must be an object");
  sim_phone *ph = calloc(1, sizeof *ph);
  if (!ph)
    return bad(err, cap, where, "out of memory");
  ph->self = *self;
  ph->ua_addr = *ua_addr;
  ph->ring_after = SIPLINE_TSTAMP_NONE;
  ph->answer_after = 0;
  ph->ring_at = ph->answer_at = SIPLINE_TSTAMP_NONE;
  ph->sdp_version = 1;
  snprintf(ph->call_to, sizeof ph->call_to, "1001");
  sipline_addr ip = *self;
  ip.port = 0;
  sipline_addr_format(&ip, ph->self_ip, sizeof ph->self_ip);
  const char *user = "1002";
  int ok = 1;
  const cJSON *x;
  cJSON_ArrayForEach(x, cfg) {
    const char *k = x->string;
    if (!strcmp(k, "user") && cJSON_IsString(x)) {
      user = x->valuestring;
    } else if (!strcmp(k, "call_to") && cJSON_IsString(x) &&
               strlen(x->valuestring) < sizeof ph->call_to) {
      snprintf(ph->call_to, sizeof ph->call_to, "%s", x->valuestring);
    } else if (!strcmp(k, "ring")) {
      ph->ring_after = secs(x, &ok);
    } else if (!strcmp(k, "answer")) {
      ph->answer_after = cJSON_IsNull(x) ? SIPLINE_TSTAMP_NONE : secs(x, &ok);
    } else if (!strcmp(k, "reliable") && cJSON_IsBool(x)) {
      ph->reliable = cJSON_IsTrue(x);
    } else if (!strcmp(k, "update") && cJSON_IsString(x) &&
               (!strcmp(x->valuestring, "ok") ||
                !strcmp(x->valuestring, "501"))) {
      ph->update501 = !strcmp(x->valuestring, "501");
    } else if (!strcmp(k, "offers") && cJSON_IsString(x)) {
      if (!strcmp(x->valuestring, "answer"))
        ph->offers = O_ANSWER;
      else if (!strcmp(x->valuestring, "refuse"))
        ph->offers = O_REFUSE;
      else if (!strcmp(x->valuestring, "ignore"))
        ph->offers = O_IGNORE;
      else
        ok = 0;
    } else if (!strcmp(k, "keys") && cJSON_IsObject(x)) {
      /* applied below, once the profile exists */
    } else if (!strcmp(k, "script") && cJSON_IsArray(x)) {
      const cJSON *a;
      sipline_tstamp last = 0;
      cJSON_ArrayForEach(a, x) {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(a, "at");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "do");
        if (ph->nacts == MAX_ACTS || !cJSON_IsString(d)) {
          ok = 0;
          break;
        }
        act *ac = &ph->acts[ph->nacts];
        ac->at = secs(at, &ok);
        ac->what = -1;
        for (int i = 0; i < 6; i++)
          if (!strcmp(d->valuestring, act_names[i]))
            ac->what = i;
        if (ac->what < 0 || ac->at < last)
          ok = 0;
        last = ac->at;
        ph->nacts++;
      }
    } else if (strcmp(k, "comment") != 0) {
      ok = 0;
    }
    if (!ok) {
      free(ph);
      char what[400];
      snprintf(what, sizeof what,
               "%s: bad value or unknown key (user, call_to, ring, answer, "
               "reliable, update \"ok\"/\"501\", offers "
               "\"answer\"/\"refuse\"/\"ignore\", keys, script [{at, do: "
               "update|update-nosdp|reinvite|reinvite-nosdp|hangup|call}], "
               "comment)",
               k);
      return bad(err, cap, where, what);
    }
  }
  sipline_profile_error pe;
  char v[96];
  if (sipline_profile_new(&ph->p, NULL) != 0) {
    free(ph);
    return bad(err, cap, where, "out of memory");
  }
  sipline_addr_format(ua_addr, v, sizeof v);
  int e = sipline_profile_set(ph->p, "Proxy_1_", v, &pe);
  if (!e)
    e = sipline_profile_set(ph->p, "Register_1_", "No", &pe);
  if (!e)
    e = sipline_profile_set(ph->p, "User_ID_1_", user, &pe);
  snprintf(v, sizeof v, "%u", self->port);
  if (!e)
    e = sipline_profile_set(ph->p, "SIP_Port_1_", v, &pe);
  const cJSON *keys = cJSON_GetObjectItemCaseSensitive(cfg, "keys");
  cJSON_ArrayForEach(x, keys) {
    if (e)
      break;
    if (!cJSON_IsString(x)) {
      e = SIPLINE_ERR_CONFIG;
      snprintf(pe.what, sizeof pe.what, "%s: must be a string", x->string);
      break;
    }
    e = sipline_profile_set(ph->p, x->string, x->valuestring, &pe);
  }
  if (!e) {
    sipline_settings st = {.profile = ph->p,
                           .seed = seed,
                           .local_host = ph->self_ip,
                           .user_agent = "sipline-sim-phone"};
    e = sipline_ua_new(&ph->ua, &st, NULL, ph);
    if (!e)
      e = sipline_ua_start(ph->ua, 0); /* Register No: it sends nothing */
    if (e)
      snprintf(pe.what, sizeof pe.what, "%s", sipline_strerror(e));
  }
  if (e) {
    char what[200];
    snprintf(what, sizeof what, "keys: %s", pe.what);
    sim_phone_del(ph);
    return bad(err, cap, where, what);
  }
  *out = ph;
  return 0;
}

void sim_phone_del(sim_phone *ph) {
  if (!ph)
    return;
  sipline_ua_del(ph->ua);
  sipline_profile_del(ph->p);
  for (size_t i = 0; i < ph->npend; i++)
    free(ph->pend[i]);
  free(ph->cur);
  free(ph);
}

/* A response made by hand (501 to UPDATE, as baresip 1.0.0 answers). */
static void answer_501(sim_phone *ph, const char *data, size_t len) {
  sipline_msg m;
  if (sipline_msg_parse(&m, data, len, SIPLINE_PARSE_DATAGRAM, NULL) <= 0 ||
      ph->npend == MAX_PEND)
    return;
  char *r = malloc(2048);
  if (!r)
    return;
  size_t o = (size_t)snprintf(r, 2048, "SIP/2.0 501 Not Implemented\r\n");
  for (unsigned i = 0; i < m.n_hdrs && o < 2048; i++) {
    sipline_hdr_id id = m.hdrs[i].id;
    if (id == SIPLINE_HDR_VIA || id == SIPLINE_HDR_FROM ||
        id == SIPLINE_HDR_TO || id == SIPLINE_HDR_CALL_ID ||
        id == SIPLINE_HDR_CSEQ)
      o += (size_t)snprintf(r + o, 2048 - o, "%s: %.*s\r\n",
                            sipline_hdr_name(id), (int)m.hdrs[i].value.len,
                            m.hdrs[i].value.p);
  }
  if (o < 2048)
    o += (size_t)snprintf(r + o, 2048 - o,
                          "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
                          "Content-Length: 0\r\n\r\n");
  if (o >= 2048) {
    free(r);
    return;
  }
  ph->pend[ph->npend] = r;
  ph->pend_len[ph->npend++] = o;
}

static void queue_event(sim_phone *ph, const sipline_event *ev) {
  if (ph->nev - ph->headev == MAX_EVQ)
    return;
  if (ph->nev == MAX_EVQ) { /* compact */
    memmove(ph->evq, ph->evq + ph->headev,
            (ph->nev - ph->headev) * sizeof ph->evq[0]);
    ph->nev -= ph->headev;
    ph->headev = 0;
  }
  ph->evq[ph->nev] = *ev;
  ph->evq[ph->nev].body = NULL; /* not kept past the poll */
  ph->nev++;
}

/* The phone's own application: rings, answers, takes offers. */
static void app(sim_phone *ph) {
  sipline_event ev;
  while (sipline_ua_poll_event(ph->ua, &ev) == 1) {
    if (ev.type != SIPLINE_EV_CALL && ev.type != SIPLINE_EV_CALL_SDP &&
        ev.type != SIPLINE_EV_WARNING)
      continue;
    queue_event(ph, &ev);
    if (ev.type == SIPLINE_EV_CALL) {
      if (ev.call_state == SIPLINE_CALL_INCOMING) {
        ph->call = ev.id;
        ph->ring_at = ph->ring_after == SIPLINE_TSTAMP_NONE
                          ? SIPLINE_TSTAMP_NONE
                          : ph->now + ph->ring_after;
        ph->answer_at = ph->answer_after == SIPLINE_TSTAMP_NONE
                            ? SIPLINE_TSTAMP_NONE
                            : ph->now + ph->answer_after;
      } else if (ev.call_state == SIPLINE_CALL_CALLING) {
        ph->call = ev.id;
      } else if (ev.call_state == SIPLINE_CALL_ENDED && ev.id == ph->call) {
        ph->ring_at = ph->answer_at = SIPLINE_TSTAMP_NONE;
      }
    } else if (ev.type == SIPLINE_EV_CALL_SDP &&
               !strcmp(ev.state, "offer") && !strcmp(ev.from, "remote") &&
               strcmp(ev.reason, "invite") != 0) {
      if (ph->offers == O_ANSWER)
        sipline_ua_call_sdp(ph->ua, ev.id, make_sdp(ph, "sendrecv"),
                            strlen(ph->sdp), ph->now);
      else if (ph->offers == O_REFUSE)
        sipline_ua_call_sdp(ph->ua, ev.id, NULL, 0, ph->now);
    }
  }
}

void sim_phone_rx(sim_phone *ph, const char *data, size_t len,
                  sipline_tstamp now) {
  ph->now = now;
  if (ph->update501 && len > 7 && !memcmp(data, "UPDATE ", 7)) {
    answer_501(ph, data, len);
    return;
  }
  sipline_path p = {.tp = SIPLINE_TP_UDP, .local = ph->self,
                    .remote = ph->ua_addr};
  sipline_ua_recv(ph->ua, &p, (const uint8_t *)data, len, now);
  app(ph);
}

sipline_tstamp sim_phone_next(const sim_phone *ph) {
  sipline_tstamp t = sipline_ua_next_deadline(ph->ua);
  if (ph->ring_at < t)
    t = ph->ring_at;
  if (ph->answer_at < t)
    t = ph->answer_at;
  if (ph->next_act < ph->nacts && ph->acts[ph->next_act].at < t)
    t = ph->acts[ph->next_act].at;
  return t;
}

static void do_act(sim_phone *ph, int what) {
  sipline_tstamp now = ph->now;
  switch (what) {
  case A_UPDATE:
    ph->sdp_version++;
    sipline_ua_call_update(ph->ua, ph->call, make_sdp(ph, "sendonly"),
                           strlen(ph->sdp), now);
    break;
  case A_UPDATE_NOSDP:
    sipline_ua_call_update(ph->ua, ph->call, NULL, 0, now);
    break;
  case A_REINVITE:
    ph->sdp_version++;
    sipline_ua_call_reinvite(ph->ua, ph->call, make_sdp(ph, "sendonly"),
                             strlen(ph->sdp), now);
    break;
  case A_REINVITE_NOSDP:
    sipline_ua_call_reinvite(ph->ua, ph->call, NULL, 0, now);
    break;
  case A_HANGUP:
    sipline_ua_hangup(ph->ua, ph->call, now);
    break;
  case A_CALL: {
    sipline_call_params cp = {.line = 1,
                              .to = ph->call_to,
                              .sdp = make_sdp(ph, "sendrecv"),
                              .sdp_len = strlen(ph->sdp)};
    sipline_ua_call(ph->ua, &cp, &ph->call, now);
    break;
  }
  }
}

void sim_phone_run(sim_phone *ph, sipline_tstamp now) {
  ph->now = now;
  if (sipline_ua_next_deadline(ph->ua) <= now)
    sipline_ua_handle_timeout(ph->ua, now);
  app(ph);
  if (ph->ring_at <= now) {
    ph->ring_at = SIPLINE_TSTAMP_NONE;
    sipline_call_answer a = {.status = ph->reliable ? 183 : 180,
                             .reliable = ph->reliable};
    if (ph->reliable) {
      a.sdp = make_sdp(ph, "sendrecv");
      a.sdp_len = strlen(ph->sdp);
    }
    sipline_ua_call_answer(ph->ua, ph->call, &a, now);
  }
  if (ph->answer_at <= now) {
    ph->answer_at = SIPLINE_TSTAMP_NONE;
    sipline_call_answer a = {.status = 200};
    if (!ph->reliable) {
      a.sdp = make_sdp(ph, "sendrecv");
      a.sdp_len = strlen(ph->sdp);
    }
    if (sipline_ua_call_answer(ph->ua, ph->call, &a, now) ==
        SIPLINE_ERR_STATE)
      ph->answer_at = now + 100; /* a PRACK still due: shortly */
  }
  while (ph->next_act < ph->nacts && ph->acts[ph->next_act].at <= now)
    do_act(ph, ph->acts[ph->next_act++].what);
  app(ph);
}

ptrdiff_t sim_phone_pull(sim_phone *ph, const uint8_t **p,
                         sipline_tstamp now) {
  free(ph->cur);
  ph->cur = NULL;
  if (ph->npend) {
    ph->cur = ph->pend[0];
    size_t n = ph->pend_len[0];
    memmove(ph->pend, ph->pend + 1, (ph->npend - 1) * sizeof ph->pend[0]);
    memmove(ph->pend_len, ph->pend_len + 1,
            (ph->npend - 1) * sizeof ph->pend_len[0]);
    ph->npend--;
    *p = (const uint8_t *)ph->cur;
    return (ptrdiff_t)n;
  }
  sipline_path path;
  ptrdiff_t n = sipline_ua_pull_tx(ph->ua, &path, p, now);
  return n < 0 ? -1 : n;
}

int sim_phone_event(sim_phone *ph, sipline_event *ev) {
  app(ph);
  if (ph->headev == ph->nev)
    return 0;
  *ev = ph->evq[ph->headev++];
  return 1;
}
