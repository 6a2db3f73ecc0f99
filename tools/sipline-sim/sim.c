/*
 * tools/sipline-sim/sim.c: the simulator's clock and the UA side (SIM.md).
 *
 * One virtual clock drives everything. Each step jumps to the earliest of:
 * the UA's deadline, the next scripted endpoint change, the next delivery on
 * the simulated network, the next call action, and the end. Same-time work
 * is done in a fixed order (endpoint changes, deliveries in send order,
 * calls, the UA's timers), so a scenario and seed give one timeline.
 *
 * After every call into the UA its events are printed (and DNS queries
 * answered from the scenario's records) and its output handed to the
 * network; sim_internal.h lists the other files.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim_internal.h"

/* ---- UA side ------------------------------------------------------------- */

/* The line's application side: the SDP it offers and answers with. */
static const char SIM_SDP[] = "v=0\r\no=sipline 1 1 IN IP4 192.0.2.10\r\n"
                              "s=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
                              "m=audio 4000 RTP/AVP 0\r\n"
                              "a=rtpmap:0 PCMU/8000\r\n";
static const char SIM_SDP_HOLD[] =
    "v=0\r\no=sipline 1 2 IN IP4 192.0.2.10\r\n"
    "s=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n";

/*
 * The clock around every call into the UA (bench/reg's time per REGISTER).
 * CLOCK_MONOTONIC is read in the vDSO (~25 ns here); the process CPU clock is
 * a system call (~1.3 us on this VM), which at seven calls per REGISTER
 * buried the figure under its own correction. Wall time inside a call of a
 * few microseconds in a single-threaded process is CPU time unless the
 * process is preempted, which bench_reg reports beside it.
 */
double sim__ua_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void answer_dns(sim *s, const sipline_event *ev) {
  sipline_dns_rr out[32];
  size_t n = 0;
  /* The name's record set in force now: the latest at <= now. */
  const dnsname *set = NULL;
  for (size_t i = 0; i < s->ndns; i++)
    if (strcasecmp(s->dns[i].name, ev->text) == 0 && s->dns[i].at <= s->now &&
        (!set || s->dns[i].at >= set->at))
      set = &s->dns[i];
  for (size_t j = 0; set && j < set->n && n < 32; j++)
    if ((int)set->rr[j].type == ev->qtype) {
      out[n] = set->rr[j];
      out[n++].ttl = set->ttl;
    }
  sim__print_dns_answer(s, ev, n, set && set->has_ttl ? (long long)set->ttl
                                                       : -1);
  SIM_UA_CALL(s, sipline_ua_dns_answer(s->ua, ev->id, out, n, s->now));
}

/*
 * After every call into the UA: all events first (they say why), then all
 * output; again until neither yields (a DNS answer is a call into the UA).
 */
static void drain(sim *s) {
  for (;;) {
    int progress = 0;
    sipline_event ev;
    for (;;) {
      int got;
      double t0 = sim__ua_clock();
      got = sipline_ua_poll_event(s->ua, &ev);
      s->stats.ua_time_s += sim__ua_clock() - t0;
      s->stats.ua_calls++;
      if (got <= 0)
        break;
      progress = 1;
      s->stats.events++;
      if (sim__printing(s))
        sim__print_event(s, &ev);
      if (ev.type == SIPLINE_EV_DNS_QUERY)
        answer_dns(s, &ev);
      /* The line's application: it answers incoming calls and every
       * remote offer at once. */
      if (ev.type == SIPLINE_EV_CALL &&
          ev.call_state == SIPLINE_CALL_INCOMING) {
        sipline_call_answer a = {.sdp = SIM_SDP, .sdp_len = strlen(SIM_SDP)};
        SIM_UA_CALL(s, sipline_ua_call_answer(s->ua, ev.id, &a, s->now));
      }
      if (ev.type == SIPLINE_EV_CALL_SDP && !strcmp(ev.state, "offer") &&
          !strcmp(ev.from, "remote") && strcmp(ev.reason, "invite") != 0)
        SIM_UA_CALL(s, sipline_ua_call_sdp(s->ua, ev.id, SIM_SDP,
                                           strlen(SIM_SDP), s->now));
    }
    for (;;) {
      sipline_path p;
      const uint8_t *d = NULL;
      ptrdiff_t n;
      double t0 = sim__ua_clock();
      n = sipline_ua_pull_tx(s->ua, &p, &d, s->now);
      s->stats.ua_time_s += sim__ua_clock() - t0;
      s->stats.ua_calls++;
      if (n < 0)
        break;
      progress = 1;
      sim__net_from_ua(s, &p, d, (size_t)n);
    }
    if (!progress)
      break;
  }
}

void sim__ua_rx(sim *s, const sipline_path *p, const char *data, size_t len) {
  s->stats.msgs_to_ua++;
  sim__print_wire(s, "rx", p, data, len);
  SIM_UA_CALL(s, sipline_ua_recv(s->ua, p, (const uint8_t *)data, len, s->now));
  drain(s);
}

void sim__ua_tperr(sim *s, const sipline_path *p, int why) {
  sim__print_tperr(s, p, why);
  SIM_UA_CALL(s, sipline_ua_transport_error(s->ua, p, why, s->now));
  drain(s);
}

/* ---- calls --------------------------------------------------------------- */

static void place_due_calls(sim *s) {
  while (s->next_call < s->ncalls && s->calls[s->next_call].at <= s->now) {
    call *c = &s->calls[s->next_call++];
    int r;
    double t0 = sim__ua_clock();
    /* An audio offer, as a phone would make; the far end (a registrar's
     * canned 200, or a scripted phone) answers it. */
    sipline_call_params cp = {.line = c->line,
                              .to = c->to,
                              .sdp = SIM_SDP,
                              .sdp_len = sizeof SIM_SDP - 1};
    r = sipline_ua_call(s->ua, &cp, &c->id, s->now);
    s->stats.ua_time_s += sim__ua_clock() - t0;
    s->stats.ua_calls++;
    c->placed = 1;
    if (r < 0) {
      c->hung = 1;
      sim__print_call_error(s, c, r);
    }
    drain(s);
  }
  for (size_t i = 0; i < s->ncalls; i++) {
    call *c = &s->calls[i];
    while (c->placed && !c->hung && c->next_act < c->nact &&
           c->act_at[c->next_act] <= s->now) {
      int a = c->act[c->next_act++];
      const char *sdp = a == CA_HOLD ? SIM_SDP_HOLD : SIM_SDP;
      int with = a == CA_UPDATE || a == CA_REINVITE || a == CA_HOLD;
      if (a == CA_REINVITE || a == CA_REINVITE_NOSDP)
        SIM_UA_CALL(s, sipline_ua_call_reinvite(s->ua, c->id,
                                                with ? sdp : NULL,
                                                with ? strlen(sdp) : 0,
                                                s->now));
      else
        SIM_UA_CALL(s, sipline_ua_call_update(s->ua, c->id, with ? sdp : NULL,
                                              with ? strlen(sdp) : 0, s->now));
      drain(s);
    }
    if (c->placed && !c->hung && c->hangup_at <= s->now) {
      c->hung = 1;
      SIM_UA_CALL(s, sipline_ua_hangup(s->ua, c->id, s->now));
      drain(s);
    }
  }
}

/* ---- running ------------------------------------------------------------- */

static sipline_tstamp tmin(sipline_tstamp a, sipline_tstamp b) {
  return a < b ? a : b;
}

/* The earliest thing due (NONE: nothing left to happen). */
static sipline_tstamp next_due(const sim *s) {
  sipline_tstamp t = sipline_ua_next_deadline(s->ua);
  t = tmin(t, sim__endpoints_next_due(s));
  t = tmin(t, sim__net_next(s));
  if (s->next_call < s->ncalls)
    t = tmin(t, s->calls[s->next_call].at);
  for (size_t i = 0; i < s->ncalls; i++)
    if (s->calls[i].placed && !s->calls[i].hung) {
      t = tmin(t, s->calls[i].hangup_at);
      if (s->calls[i].next_act < s->calls[i].nact)
        t = tmin(t, s->calls[i].act_at[s->calls[i].next_act]);
    }
  return t;
}

int sim_run_until(sim *s, sipline_tstamp until, char *err, size_t cap) {
  sipline_tstamp limit = tmin(until, s->until);
  if (!s->started) {
    s->started = 1;
    s->now = 0;
    /* Scripted entries at 0 apply before the UA starts. */
    sim__endpoints_run_due(s);
    sim__print_profile_warnings(s);
    int r;
    double t0 = sim__ua_clock();
    r = sipline_ua_start(s->ua, 0);
    s->stats.ua_time_s += sim__ua_clock() - t0;
    s->stats.ua_calls++;
    if (r < 0) {
      snprintf(err, cap, "sipline_ua_start: %s", sipline_strerror(r));
      return 1;
    }
    drain(s);
  }
  unsigned spins = 0;
  sipline_tstamp last = s->now;
  for (;;) {
    sipline_tstamp t = next_due(s);
    if (t == SIPLINE_TSTAMP_NONE || t > limit)
      break;
    if (t < s->now)
      t = s->now; /* a deadline in the past: due now */
    s->now = t;
    if (t == last) {
      if (++spins > 1000000) {
        snprintf(err, cap,
                 "the core's deadline stays at %llu ms without "
                 "progress",
                 (unsigned long long)t);
        return 1;
      }
    } else {
      spins = 0;
      last = t;
    }
    sim__endpoints_run_due(s);
    sim__net_deliver_due(s);
    place_due_calls(s);
    if (sipline_ua_next_deadline(s->ua) <= s->now) {
      SIM_UA_CALL(s, sipline_ua_handle_timeout(s->ua, s->now));
      drain(s);
    }
  }
  if (limit > s->now)
    s->now = limit;
  return 0;
}

int sim_run(sim *s, char *err, size_t cap) {
  return sim_run_until(s, SIPLINE_TSTAMP_NONE, err, cap);
}

/* ---- misc ---------------------------------------------------------------- */

sipline_ua *sim_ua(sim *s) {
  return s->ua;
}
const sipline_profile *sim_profile(const sim *s) {
  return s->profile;
}
const sim_stats *sim_get_stats(const sim *s) {
  return &s->stats;
}
sipline_tstamp sim_now(const sim *s) {
  return s->now;
}

void sim_del(sim *s) {
  if (!s)
    return;
  sipline_ua_del(s->ua);
  sipline_profile_del(s->profile);
  sim__net_free(s);
  for (size_t i = 0; i < s->ndns; i++) {
    free(s->dns[i].name);
    free(s->dns[i].rr);
  }
  free(s->dns);
  free(s->calls);
  for (size_t i = 0; i < s->ncreds; i++)
    free(s->creds[i].key);
  free(s->creds);
  free(s->credb);
  sim__print_free(s);
  sim__svg_free(s->svg);
  cJSON_Delete(s->root);
  free(s->path);
  free(s->dir);
  free(s);
}
