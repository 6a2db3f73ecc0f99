/*
 * tools/sipline-sim/sim_phone_ep.c: a scripted phone (phone.c) put behind
 * an endpoint of the scenario (the registrar at that address). The phone
 * takes over the endpoint's ops and keeps the registrar's: REGISTER, and
 * everything while the registrar's script says it does not serve (silent,
 * refuse, close), still goes to the registrar; every other message goes
 * to the phone, whose events print as "peer" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"
#include "sim_internal.h"

typedef struct phone_ep {
  const sim_endpoint_ops *inner;
  void *inner_impl;
  sim_phone *ph;
  sipline_addr addr;
  sipline_path ua_path; /* how the line reached it (the UA's view) */
  int ua_conn;
  char name[96];
} phone_ep;

/* The wrapped registrar as an endpoint of its own, to call its ops. */
static sim_endpoint inner_of(const sim_endpoint *ep, const phone_ep *pe) {
  sim_endpoint e = ep ? *ep : (sim_endpoint){0};
  e.ops = pe->inner;
  e.impl = pe->inner_impl;
  return e;
}

/* The registrar's state now (its last script entry at or before now). */
static sim_ep_state inner_state(const sim *s, const phone_ep *pe) {
  sim_script_entry e, cur = {.state = SIM_EP_DOWN};
  sim_endpoint tmp = inner_of(NULL, pe);
  for (size_t k = 0; pe->inner->script_entry &&
                     pe->inner->script_entry(&tmp, k, &e) == 0 && e.at <= s->now;
       k++)
    cur = e;
  return cur.state;
}

static void print_phone_event(sim *s, const phone_ep *pe,
                              const sipline_event *ev) {
  sim__line_begin(s, "peer", 0);
  sim__jstr(&s->line, "server", pe->name);
  if (ev->type == SIPLINE_EV_CALL_SDP) {
    sim__jstr(&s->line, "sdp", ev->state);
    sim__jstr(&s->line, "side", ev->from);
    sim__jstr(&s->line, "in", ev->reason);
  } else if (ev->type == SIPLINE_EV_CALL) {
    sim__jstr(&s->line, "state", ev->state);
    if (ev->reason[0])
      sim__jstr(&s->line, "reason", ev->reason);
    if (ev->status)
      sim__jint(&s->line, "status", ev->status);
    if (ev->retry_in != SIPLINE_TSTAMP_NONE)
      sim__jsecs(&s->line, "retry_in", ev->retry_in);
  } else {
    sim__jstr(&s->line, "warning", ev->reason);
  }
  sim__line_end(s);
}

/* What the phone says: its events, then its bytes to the line. */
static void drain(sim *s, phone_ep *pe) {
  sipline_event ev;
  int serving = inner_state(s, pe) != SIM_EP_DOWN;
  for (int round = 0; round < 2; round++) {
    while (sim_phone_event(pe->ph, &ev))
      if (sim__printing(s))
        print_phone_event(s, pe, &ev);
    const uint8_t *d;
    ptrdiff_t n;
    while (round == 0 && (n = sim_phone_pull(pe->ph, &d, s->now)) >= 0) {
      if (!serving)
        continue; /* a frozen phone sends nothing */
      sipline_path up = pe->ua_path;
      if (!up.remote.family) {
        up.tp = SIPLINE_TP_UDP;
        up.remote = pe->addr;
      }
      sim__net_to_ua(s, &up, pe->ua_conn, (const char *)d, (size_t)n);
    }
  }
}

static void p_rx(sim *s, sim_endpoint *ep, const sipline_path *p, int ci,
                 const char *data, size_t len) {
  phone_ep *pe = ep->impl;
  int is_register = len >= 9 && !memcmp(data, "REGISTER ", 9);
  int ping = len && (data[0] == '\r' || data[0] == '\n');
  if (is_register || ping || inner_state(s, pe) == SIM_EP_DOWN) {
    sim_endpoint tmp = inner_of(ep, pe);
    pe->inner->rx(s, &tmp, p, ci, data, len);
    return;
  }
  pe->ua_path = *p;
  pe->ua_conn = ci;
  sim_phone_rx(pe->ph, data, len, s->now);
  drain(s, pe);
}

static sipline_tstamp p_next_due(const sim_endpoint *ep) {
  const phone_ep *pe = ep->impl;
  sim_endpoint tmp = inner_of(NULL, pe);
  sipline_tstamp a = pe->inner->next_due ? pe->inner->next_due(&tmp)
                                         : SIPLINE_TSTAMP_NONE;
  sipline_tstamp b = sim_phone_next(pe->ph);
  return a < b ? a : b;
}

static void p_run_due(sim *s, sim_endpoint *ep) {
  phone_ep *pe = ep->impl;
  sim_endpoint tmp = inner_of(ep, pe);
  if (pe->inner->run_due)
    pe->inner->run_due(s, &tmp);
  if (sim_phone_next(pe->ph) <= s->now) {
    sim_phone_run(pe->ph, s->now);
    drain(s, pe);
  }
}

static int p_refuses(const sim_endpoint *ep) {
  const phone_ep *pe = ep->impl;
  sim_endpoint tmp = inner_of(NULL, pe);
  return pe->inner->refuses_streams ? pe->inner->refuses_streams(&tmp) : 0;
}

static int p_script_entry(const sim_endpoint *ep, size_t k,
                          sim_script_entry *out) {
  const phone_ep *pe = ep->impl;
  sim_endpoint tmp = inner_of(NULL, pe);
  return pe->inner->script_entry ? pe->inner->script_entry(&tmp, k, out) : -1;
}

static void p_del(sim_endpoint *ep) {
  phone_ep *pe = ep->impl;
  sim_endpoint tmp = inner_of(ep, pe);
  if (pe->inner->del)
    pe->inner->del(&tmp);
  sim_phone_del(pe->ph);
  free(pe);
}

static const sim_endpoint_ops phone_ops = {.kind = "phone",
                                           .rx = p_rx,
                                           .next_due = p_next_due,
                                           .run_due = p_run_due,
                                           .refuses_streams = p_refuses,
                                           .script_entry = p_script_entry,
                                           .del = p_del};

int sim__phone_attach(sim *s, const char *name, const cJSON *cfg, char *err,
                      size_t cap) {
  sim_endpoint *ep = NULL;
  for (size_t i = 0; i < s->nep; i++)
    if (!strcmp(s->ep[i].name, name))
      ep = &s->ep[i];
  if (!ep) {
    snprintf(err, cap, "%s: phones.%s: not one of the servers", s->path,
             name);
    return 2;
  }
  phone_ep *pe = calloc(1, sizeof *pe);
  if (!pe) {
    snprintf(err, cap, "%s: phones: out of memory", s->path);
    return 2;
  }
  /* The line's address as the phone sees it (line 1's SIP port). */
  sipline_addr ua_addr;
  sipline_addr_parse("192.0.2.10", 10, &ua_addr);
  const sipline_line_cfg *l1 = sipline_profile_line(s->profile, 1);
  ua_addr.port = l1 && l1->sip_port ? l1->sip_port : 5060;
  char where[200];
  snprintf(where, sizeof where, "%s: phones.%s", s->path, name);
  if (sim_phone_new(&pe->ph, where, &ep->addr, &ua_addr, cfg,
                    s->seed ^ 0x9e3779b97f4a7c15ull, err, cap) != 0) {
    free(pe);
    return 2;
  }
  pe->inner = ep->ops;
  pe->inner_impl = ep->impl;
  pe->addr = ep->addr;
  pe->ua_conn = -1;
  snprintf(pe->name, sizeof pe->name, "%s", ep->name);
  ep->ops = &phone_ops;
  ep->impl = pe;
  return 0;
}
