/*
 * src/reg/policy.c: the per-line server list and registration policy, SPEC
 * R1-R13, as a pure state machine (see policy.h for the contract).
 *
 * Vocabulary used below:
 *   srv[]     the ordered main server list (R1): Outbound Proxy targets when
 *             set (R2), else Proxy targets; index 0 is the primary.
 *   cur       the server new requests go to.
 *   reg       the main binding: where the line is registered now.
 *   try_      a new main registration in flight (initial, failover,
 *             fallback, retry). During a fallback attempt both exist: reg
 *             at the backup (still refreshed) and try_ at the primary.
 *   altb      the Dual Registration binding at the alternate (R4).
 *
 * Decisions that SPEC leaves open, made here (and why):
 *   - A failed fallback attempt (any final failure, not only R5) marks the
 *     primary DOWN again and keeps the line with the backup, where it is
 *     still registered; the fallback count restarts at the failure (R11).
 *     Going back to a working backup is what keeps the line reachable.
 *   - When every address is DOWN the line waits as R12 says and then marks
 *     all of them UP again (server_up, reason "retry") and starts from the
 *     top, so that a REGISTER never goes to a server marked DOWN, except in
 *     the Proxy Fallback Intvl = 0 rotation: there R6 keeps DOWN addresses
 *     in the rotation, so the line goes on to the next address in order
 *     (wrapping) and waits only when every address has failed in a row
 *     since the last success; one that answers comes UP ("responded").
 *   - A refresh is due at the earlier of 78 % of the granted expiry and
 *     expiry - Timer F; when the granted expiry is not longer than Timer F
 *     the 78 % alone applies (otherwise the refresh would be immediate).
 *   - Dual Registration: the main binding fails over and falls back along
 *     the main list as usual; the alternate binding is kept refreshed on its
 *     own (R12 retries only) and is never removed by a fallback.
 *   - Register = No: the server list still routes requests and fails over
 *     (R5, R6); with nothing registered there is no fallback count (R11).
 *   - Fallback (R11) sends its REGISTER whatever Auto Register When
 *     Failover says: SPEC §7 follows the seed, whose examples have the
 *     fallback REGISTER at min(expiry, interval).
 *   - Dual Registration: while the main registration fails, new requests
 *     go to the alternate (R4); that move is reported once as a failover
 *     to the alternate, and the way back as a fallback with reason
 *     "registered".
 *   - Failover REGISTERs wait a random 0..Reg Retry Random Delay when that
 *     is set (item 8: no storms at the backup); the default 0 keeps R7's
 *     "at once" and the seed's exact times.
 *   - A fallback that falls due during a call waits for the line's last
 *     call to end (R13) and says so once (warning "fallback_deferred"); its
 *     reason stays "fallback_interval" or "expiry".
 *   - The fallback reason is "expiry" when the granted expiry is shorter
 *     than Proxy Fallback Intvl, else "fallback_interval" (also when equal).
 *   - Events come in cause order: reg_failed, server_down, failover, then
 *     the REGISTER the failover sends.
 *   - A binding that expires with its refresh in flight hands that refresh
 *     over to the new-registration slot: with a grant under 73 s the
 *     refresh's Timer F timeout falls due at the expiry itself (under
 *     Timer F, after it), and it is that outcome that retries or fails
 *     over (R12). An unregistered line always has a request in flight or a
 *     timer armed.
 *   - A REGISTER superseded by a later decision (its server went DOWN
 *     through another request and the line moved on; shutdown) is not
 *     pursued: the client asks sipline__pol_wants before answering a
 *     401/407, so no credentials round goes to a server the line left. A
 *     2xx that arrives for it anyway (a pre-authenticated refresh) leaves
 *     a binding the line does not track: it is removed at once (REGISTER
 *     Expires: 0, "unregistered" reason "stray") unless the line wants to
 *     be at that server (its UP current server, or a REGISTER of the line
 *     is in flight there). Letting it live for its granted expiry would
 *     make two main bindings (R11) and route calls to a server the line
 *     considers DOWN.
 *   - A TCP/TLS close is R5c only when one of the line's requests was in
 *     flight on the connection (the engine fails those first: failover at
 *     once). A close with nothing in flight is what proxies do to idle
 *     connections (Kamailio's tcp_connection_lifetime, 120 s by default;
 *     with Register Expires 3600 the line would otherwise fail over every
 *     couple of minutes for nothing), so it is probed instead: a warning
 *     "connection_closed" and a re-REGISTER to the same server at once,
 *     over a new connection (the binding's flow was that connection; the
 *     proxy could not reach the line without it). Only that REGISTER's
 *     failure fails over: a refused connect at once (a killed proxy: a
 *     few milliseconds), silence after Timer F. A close of a connection to
 *     a server the line holds no binding at changes nothing.
 *   - DNS: see dns.c.
 */
#include <stdio.h>
#include <string.h>

#include "reg/polint.h"
#include "util/util.h"

#define NONE SIPLINE_TSTAMP_NONE

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static uint32_t new_token(sipline__pol *pol) {
  if (++pol->next_token == 0)
    pol->next_token = 1;
  return pol->next_token;
}

static uint16_t default_port(sipline_transport tp) {
  return tp == SIPLINE_TP_TLS ? 5061 : 5060;
}

static sipline_tstamp add_ms(sipline_tstamp now, sipline_tstamp d) {
  if (d == NONE || now > NONE - d)
    return NONE;
  return now + d;
}

sipline_tstamp sipline__refresh_delay(uint32_t g, uint32_t timer_f_ms) {
  sipline_tstamp pct = (sipline_tstamp)g * 780u; /* 78 % of g s, in ms */
  sipline_tstamp gm = SIPLINE_SEC(g);
  if (gm > timer_f_ms && gm - timer_f_ms < pct)
    pct = gm - timer_f_ms;
  return pct;
}

/* ------------------------------------------------------------------ */
/* Events                                                               */

static void ev_emit(sipline__pol *pol, sipline_event *ev, sipline_tstamp now) {
  ev->t = now;
  ev->line = pol->line;
  if (pol->ops && pol->ops->event)
    pol->ops->event(pol->arg, ev);
}

static void ev_init(sipline_event *ev, sipline_event_type t) {
  memset(ev, 0, sizeof *ev);
  ev->type = t;
}

static void ev_server(sipline__pol *pol, sipline_event_type t,
                      const char *server, const char *reason,
                      sipline_tstamp now) {
  sipline_event ev;
  ev_init(&ev, t);
  sipline__str_copy(ev.server, sizeof ev.server, server);
  sipline__str_copy(ev.reason, sizeof ev.reason, reason);
  ev_emit(pol, &ev, now);
}

static void ev_move(sipline__pol *pol, sipline_event_type t, const char *from,
                    const char *to, const char *reason, sipline_tstamp now) {
  sipline_event ev;
  ev_init(&ev, t);
  sipline__str_copy(ev.from, sizeof ev.from, from);
  sipline__str_copy(ev.to, sizeof ev.to, to);
  sipline__str_copy(ev.reason, sizeof ev.reason, reason);
  ev_emit(pol, &ev, now);
}

static void ev_reg_failed(sipline__pol *pol, const char *server,
                          const char *reason, int status,
                          sipline_tstamp retry_in, sipline_tstamp now) {
  sipline_event ev;
  ev_init(&ev, SIPLINE_EV_REG_FAILED);
  sipline__str_copy(ev.server, sizeof ev.server, server);
  sipline__str_copy(ev.reason, sizeof ev.reason, reason);
  ev.status = status;
  ev.retry_in = retry_in;
  ev_emit(pol, &ev, now);
}

static void ev_registered(sipline__pol *pol, const char *server, uint32_t g,
                          sipline_tstamp now) {
  sipline_event ev;
  ev_init(&ev, SIPLINE_EV_REGISTERED);
  sipline__str_copy(ev.server, sizeof ev.server, server);
  ev.expires = g;
  ev_emit(pol, &ev, now);
}

static void ev_warn(sipline__pol *pol, const char *reason, const char *text,
                    sipline_tstamp now) {
  sipline_event ev;
  ev_init(&ev, SIPLINE_EV_WARNING);
  sipline__str_copy(ev.reason, sizeof ev.reason, reason);
  sipline__str_copy(ev.text, sizeof ev.text, text);
  ev_emit(pol, &ev, now);
}

static void result_reason(const sipline__pol_res *r, char *out,
                          size_t cap) {
  switch (r->outcome) {
  case SIPLINE__POL_TIMEOUT:
    sipline__str_copy(out, cap, "timeout");
    break;
  case SIPLINE__POL_TRANSPORT:
    sipline__str_copy(out, cap, "transport");
    break;
  case SIPLINE__POL_STATUS: snprintf(out, cap, "status:%d", r->status); break;
  default:
    sipline__str_copy(out, cap, "ok");
    break;
  }
}

/* ------------------------------------------------------------------ */
/* Server marks                                                         */

static void mark_down(sipline__pol *pol, sipline__srv *s, const char *reason,
                      sipline_tstamp now) {
  if (!s->up)
    return; /* keep the time it first went DOWN (R1) */
  s->up = 0;
  s->since = now;
  ev_server(pol, SIPLINE_EV_SERVER_DOWN, s->name, reason, now);
}

static void mark_up(sipline__pol *pol, sipline__srv *s, const char *reason,
                    sipline_tstamp now) {
  if (s->up)
    return;
  s->up = 1;
  s->since = now;
  ev_server(pol, SIPLINE_EV_SERVER_UP, s->name, reason, now);
}

/* Marks s DOWN without the event (emitted by the caller once the decision
 * is known, so that the events read reg_failed, server_down, failover).
 * Returns 1 when s was UP. */
static int set_down(sipline__srv *s, sipline_tstamp now) {
  if (!s->up)
    return 0;
  s->up = 0;
  s->since = now;
  return 1;
}

/*
 * The server after a failure at `failed` (R6): with Proxy Fallback Intvl
 * != 0 the highest-priority UP address (DOWN ones are skipped until
 * fallback); -1 when every address is DOWN (the line waits, R12). With 0,
 * DOWN addresses stay in the rotation: the next address in order, wrapping,
 * DOWN or not; the line waits only once every address has failed in a row
 * (cycle_fails, reset by any success).
 */
static int pick_next(const sipline__pol *pol, int failed) {
  if (pol->lc->proxy_fallback_intvl) {
    for (unsigned i = 0; i < pol->n_srv; i++)
      if (pol->srv[i].up)
        return (int)i;
    return -1;
  }
  if (pol->cycle_fails >= pol->n_srv)
    return -1;
  int n = (int)pol->n_srv;
  int next = ((failed < 0 ? -1 : failed) + 1) % n;
  return next == failed ? -1 : next;
}

/* ------------------------------------------------------------------ */
/* R12 timing                                                           */

static uint32_t clamp_expires(const sipline__pol *pol, uint32_t g) {
  uint32_t mn = pol->p->reg_min_expires, mx = pol->p->reg_max_expires;
  if (mx && g > mx)
    g = mx;
  if (g < mn)
    g = mn;
  return g ? g : 1;
}

static int is_r5(const sipline__pol *pol, const sipline__pol_res *r) {
  return r->outcome == SIPLINE__POL_TIMEOUT ||
         r->outcome == SIPLINE__POL_TRANSPORT ||
         (r->outcome == SIPLINE__POL_STATUS &&
          sipline_rsc_match(&pol->p->try_backup_rsc, r->status));
}

static sipline_tstamp jitter(sipline__pol *pol, uint32_t max_s) {
  if (!max_s)
    return 0; /* no draw: the random sequence stays the same */
  return sipline_rng_below(pol->rng, (uint64_t)max_s * 1000u + 1u);
}

/*
 * How long to wait before retrying after r (R12), in ms; NONE = stop.
 * b->fails counts the retry-class failures for the doubling.
 */
static sipline_tstamp r12_delay(sipline__pol *pol, bind *b,
                                const sipline__pol_res *r) {
  const sipline_profile *p = pol->p;
  if (r && r->outcome == SIPLINE__POL_STATUS && r->status == 503 &&
      r->has_retry_after)
    return SIPLINE_SEC(r->retry_after);
  int short_class = !r || r->outcome == SIPLINE__POL_TIMEOUT ||
                    r->outcome == SIPLINE__POL_TRANSPORT ||
                    (r->outcome == SIPLINE__POL_STATUS &&
                     sipline_rsc_match(&p->retry_reg_rsc, r->status));
  if (short_class) {
    uint64_t base = p->reg_retry_intvl ? p->reg_retry_intvl : 1;
    if (p->reg_retry_intvl_cap) {
      unsigned k = b->fails < 30 ? b->fails : 30;
      base <<= k;
      if (base > p->reg_retry_intvl_cap)
        base = SIPLINE__MAX(p->reg_retry_intvl_cap, p->reg_retry_intvl);
    }
    b->fails++;
    return SIPLINE_SEC(base) + jitter(pol, p->reg_retry_random_delay);
  }
  if (!p->reg_retry_long_intvl)
    return NONE;
  return SIPLINE_SEC(p->reg_retry_long_intvl) +
         jitter(pol, p->reg_retry_long_random_delay);
}

static void fb_schedule(sipline__pol *pol, uint32_t granted,
                        sipline_tstamp from) {
  uint32_t pfi = pol->lc->proxy_fallback_intvl;
  if (!pfi || pol->reg.srv <= 0) {
    if (pfi && pol->reg.srv < 0 && pol->cur > 0 && granted == 0) {
      /* R10, "or connected to": on a backup that refuses us with a code
       * Try Backup RSC does not list (R9 keeps the line there), the
       * primary is tried again every Proxy Fallback Intvl. */
      pol->fallback_at = from + SIPLINE_SEC(pfi);
      pol->fb_reason = "fallback_interval";
      return;
    }
    pol->fallback_at = NONE;
    return;
  }
  if (granted < pfi) {
    pol->fallback_at = from + SIPLINE_SEC(granted);
    pol->fb_reason = "expiry";
  } else {
    pol->fallback_at = from + SIPLINE_SEC(pfi);
    pol->fb_reason = "fallback_interval";
  }
}

/* ------------------------------------------------------------------ */
/* Sending                                                              */

static void bind_clear(bind *b) {
  b->srv = -1;
  b->token = 0;
  b->granted = 0;
  b->reg_at = b->expires_at = b->refresh_at = b->retry_at = NONE;
}

static int reg_enabled(const sipline__pol *pol) { return pol->lc->reg; }

/*
 * A REGISTER just went out on the list: when the list's DNS answer has
 * expired, it is resolved again now (dns.c). The REGISTER itself went with
 * the old answer, which stays in use until the new one is complete
 * (sipline__pol_build); answers come later, from the application, so
 * nothing here changes the list under the caller.
 */
static void dns_use(sipline__pol *pol, sipline_tstamp now) {
  if (!pol->resolved || pol->resolving || pol->refreshing || pol->shutting ||
      pol->dns_exp > now)
    return;
  pol->refreshing = 1;
  if (sipline__pol_resolve_begin(pol, now) < 0) {
    pol->refreshing = 0;
    pol->dns_exp = add_ms(now, SIPLINE_SEC(SIPLINE_DNS_TTL_MIN));
  }
}

static int send_req(sipline__pol *pol, uint32_t *tok, int slot,
                    const sipline__srv *s, uint32_t expires,
                    const char *domain, const char *why, sipline_tstamp now) {
  sipline__pol_req rq;
  rq.token = new_token(pol);
  rq.slot = slot;
  rq.srv = s;
  rq.expires = expires;
  rq.domain = domain;
  rq.why = why;
  *tok = rq.token;
  int rc = pol->ops->send(pol->arg, &rq, now);
  if (rc < 0)
    *tok = 0;
  if (slot != SIPLINE__POL_UNREG)
    dns_use(pol, now);
  return rc;
}

static void ka_arm(sipline__pol *pol, sipline_tstamp now) {
  if (!pol->lc->keepalive_intvl || pol->reg.srv < 0 || !pol->ops->keepalive)
    pol->ka_at = NONE;
  else
    pol->ka_at = now + SIPLINE_SEC(pol->lc->keepalive_intvl);
  pol->ka_token = 0;
}

static void schedule_retry(sipline__pol *pol, int kind, sipline_tstamp d,
                           sipline_tstamp now) {
  pol->retry_kind = kind;
  pol->retry_at = add_ms(now, d);
}

static void do_try(sipline__pol *pol, int idx, const char *why,
                   sipline_tstamp now) {
  pol->cur = idx;
  pol->try_.srv = idx;
  pol->retry_at = NONE;
  if (send_req(pol, &pol->try_.token, SIPLINE__POL_TRY, &pol->srv[idx],
               pol->try_.req_expires, pol->domain, why, now) < 0) {
    /* Nothing left our side (out of memory): not the server's fault, so no
     * failover; retry after Reg Retry Intvl. */
    sipline_tstamp d = r12_delay(pol, &pol->try_, NULL);
    pol->in_fb = 0;
    ev_reg_failed(pol, pol->srv[idx].name, "local", 0, d, now);
    schedule_retry(pol, RETRY_SAME, d, now);
  }
}

/*
 * The REGISTER at the next server after a failover (R7). With Reg Retry
 * Random Delay set it waits a random 0..delay, so that thousands of lines
 * that lost the same server at the same moment do not arrive at the backup
 * in the same second (issue item 8: no registration storms); requests move
 * to the new server at once either way. With the default 0 it is at once,
 * as R7 says, and the fallback count (R11), which starts at each line's
 * backup registration, inherits the spread.
 */
static sipline_tstamp failover_to(sipline__pol *pol, int next,
                                  sipline_tstamp now) {
  sipline_tstamp d = jitter(pol, pol->p->reg_retry_random_delay);
  pol->cur = next;
  pol->try_.token = 0;
  if (!d) {
    do_try(pol, next, "failover", now);
    return 0;
  }
  schedule_retry(pol, RETRY_FAILOVER, d, now);
  return d;
}

static void unreg_send(sipline__pol *pol, const sipline__srv *s,
                       const char *domain, const char *why,
                       sipline_tstamp now) {
  unsigned k;
  for (k = 0; k < MAX_UNREG; k++)
    if (!pol->unreg_tok[k])
      break;
  if (k == MAX_UNREG)
    k = 0; /* forget the oldest: a removal is best effort */
  if (send_req(pol, &pol->unreg_tok[k], SIPLINE__POL_UNREG, s, 0, domain,
               why, now) < 0) {
    ev_server(pol, SIPLINE_EV_UNREGISTERED, s->name, why, now);
    return;
  }
  pol->unreg_srv[k] = s;
  pol->unreg_why[k] = why;
}

static void alt_try(sipline__pol *pol, const char *why, sipline_tstamp now) {
  bind *b = &pol->altb;
  b->retry_at = NONE;
  if (send_req(pol, &b->token, SIPLINE__POL_ALT, pol->alt, b->req_expires,
               pol->alt_domain, why, now) < 0) {
    sipline_tstamp d = r12_delay(pol, b, NULL);
    ev_reg_failed(pol, pol->alt->name, "local", 0, d, now);
    b->retry_at = add_ms(now, d);
  }
}

static void start_registering(sipline__pol *pol, sipline_tstamp now) {
  if (!reg_enabled(pol))
    return;
  do_try(pol, 0, "initial", now);
  if (pol->has_alt)
    alt_try(pol, "initial", now);
}

/* The host of the first hop (the name that did not resolve). */
static const char *first_hop(sipline__pol *pol) {
  const sipline_line_cfg *lc = pol->lc;
  const char *spec = lc->outbound_proxy && *lc->outbound_proxy
                         ? lc->outbound_proxy
                         : lc->proxy;
  return pol->ents && pol->n_ent ? pol->ents[0].host : (spec ? spec : "");
}

/* When a list made from records of TTL ttl (the least) expires. */
static sipline_tstamp ttl_expiry(uint32_t ttl, sipline_tstamp now) {
  if (ttl == UINT32_MAX)
    return NONE; /* literals only, or records that never expire */
  if (ttl == 0)
    return now; /* use once: resolved again at the next REGISTER */
  if (ttl < SIPLINE_DNS_TTL_MIN)
    ttl = SIPLINE_DNS_TTL_MIN;
  return add_ms(now, SIPLINE_SEC(ttl));
}

static void srv_free(const sipline_mem *mem, sipline__srv *v, unsigned n) {
  for (unsigned i = 0; v && i < n; i++)
    sipline_mem_free(mem, v[i].host);
  sipline_mem_free(mem, v);
}

/* The main list from the resolved entries, in RFC 2782 order (*out NULL
 * and 0 when nothing resolved or no memory). The first resolution also
 * makes the alternate. */
static unsigned make_list(sipline__pol *pol, sipline_tstamp now,
                          sipline__srv **out) {
  uint16_t prio[MAX_ENTS], weight[MAX_ENTS];
  unsigned map[MAX_ENTS], order[MAX_ENTS], m = 0, total = 0;
  *out = NULL;
  for (unsigned i = 0; i < pol->n_ent; i++) {
    ent *e = &pol->ents[i];
    if (e->state != ENT_READY)
      continue;
    if (e->alt) {
      if (!pol->has_alt && e->n_addr &&
          (pol->alt = sipline_mem_calloc(pol->mem, 1, sizeof *pol->alt))) {
        pol->alt->addr = e->addr[0];
        pol->alt->addr.port = e->port ? e->port : default_port(pol->tp);
        pol->alt->tp = pol->tp;
        pol->alt->up = 1;
        pol->alt->since = now;
        sipline__addr_name(&pol->alt->addr, pol->alt->name,
                           sizeof pol->alt->name);
        pol->has_alt = 1;
      }
      continue;
    }
    prio[m] = e->prio;
    weight[m] = e->weight;
    map[m++] = i;
    total += e->n_addr;
  }
  if (total > SIPLINE_MAX_SERVERS)
    total = SIPLINE_MAX_SERVERS;
  if (!total)
    return 0;
  sipline__srv *v = sipline_mem_calloc(pol->mem, total, sizeof *v);
  if (!v)
    return 0;
  unsigned k = 0;
  sipline__rfc2782_order(prio, weight, m, pol->rng, order);
  for (unsigned o = 0; o < m && k < total; o++) {
    ent *e = &pol->ents[map[order[o]]];
    for (unsigned a = 0; a < e->n_addr && k < total; a++, k++) {
      sipline__srv *sv = &v[k];
      sv->addr = e->addr[a];
      sv->addr.port = e->port ? e->port : default_port(pol->tp);
      sv->prio = e->prio;
      sv->weight = e->weight;
      sv->tp = pol->tp == SIPLINE_TP_AUTO ? SIPLINE_TP_UDP : pol->tp;
      sv->up = 1;
      sv->since = now;
      sipline__addr_name(&sv->addr, sv->name, sizeof sv->name);
      if (e->is_name)
        sv->host = sipline__strdup(pol->mem, e->host);
    }
  }
  *out = v;
  return total;
}

static void refresh_build(sipline__pol *pol, sipline_tstamp now);

/* The resolution is over (dns.c): the server list in RFC 2782 order, then
 * the first REGISTERs; or, with nothing resolved, a retry (R12). A
 * re-resolution goes to refresh_build. */
void sipline__pol_build(sipline__pol *pol, sipline_tstamp now) {
  if (pol->refreshing) {
    refresh_build(pol, now);
    return;
  }
  pol->resolving = 0;
  sipline__srv *v;
  unsigned total = make_list(pol, now, &v);
  if (pol->dual && !pol->has_alt)
    ev_warn(pol, "alternate_unresolved",
            "Alternate Proxy did not resolve: no dual registration", now);
  if (total) {
    pol->srv = v;
    pol->n_srv = total;
  }
  if (pol->tp == SIPLINE_TP_AUTO)
    pol->tp = SIPLINE_TP_UDP;
  if (!pol->n_srv) {
    sipline_tstamp d = r12_delay(pol, &pol->try_, NULL);
    ev_reg_failed(pol, first_hop(pol), "dns", 0, d, now);
    schedule_retry(pol, RETRY_RESOLVE, d, now);
    return;
  }
  pol->resolved = 1;
  pol->dns_exp = ttl_expiry(pol->res_ttl, now);
  pol->cur = 0;
  sipline_mem_free(pol->mem, pol->ents);
  pol->ents = NULL;
  pol->n_ent = 0;
  start_registering(pol, now);
}

static int srv_find(const sipline__srv *v, unsigned n, const sipline__srv *s) {
  for (unsigned i = 0; i < n; i++)
    if (v[i].tp == s->tp && sipline_addr_eq(&v[i].addr, &s->addr))
      return (int)i;
  return -1;
}

static int remap(const int *map, int idx) { return idx >= 0 ? map[idx] : -1; }

/*
 * A re-resolution is complete. The same addresses (in any order): the list
 * in use stays as it is (its order, UP/DOWN marks, bindings) and only its
 * expiry moves. Other addresses: the new list replaces it; an address in
 * both keeps its mark and bindings; a binding, REGISTER or probe at an
 * address that is gone is dropped (the binding removed, "dns"), and the
 * line registers at the top of the new list. Nothing resolved: the old
 * list stays and is asked for again at a REGISTER SIPLINE_DNS_TTL_MIN
 * later.
 */
static void refresh_build(sipline__pol *pol, sipline_tstamp now) {
  pol->refreshing = 0;
  sipline__srv *v;
  unsigned n = make_list(pol, now, &v);
  sipline_mem_free(pol->mem, pol->ents);
  pol->ents = NULL;
  pol->n_ent = 0;
  if (pol->shutting) {
    srv_free(pol->mem, v, n); /* the removals under way keep their list */
    return;
  }
  if (!n) {
    pol->dns_exp = add_ms(now, SIPLINE_SEC(SIPLINE_DNS_TTL_MIN));
    ev_warn(pol, "dns_stale",
            "the server list did not resolve again: the last answer stays",
            now);
    return;
  }
  int same = n == pol->n_srv;
  for (unsigned i = 0; same && i < n; i++)
    same = srv_find(pol->srv, pol->n_srv, &v[i]) >= 0;
  if (same || pol->n_retired == MAX_RETIRED) {
    /* Unchanged; or too many old lists still referenced by requests in
     * flight: the new one is asked for again later. */
    srv_free(pol->mem, v, n);
    pol->dns_exp = same ? ttl_expiry(pol->res_ttl, now)
                        : add_ms(now, SIPLINE_SEC(SIPLINE_DNS_TTL_MIN));
    return;
  }
  pol->dns_exp = ttl_expiry(pol->res_ttl, now);
  int map[SIPLINE_MAX_SERVERS];
  sipline__srv *old = pol->srv;
  unsigned n_old = pol->n_srv;
  for (unsigned i = 0; i < n_old; i++) {
    map[i] = srv_find(v, n, &old[i]);
    if (map[i] >= 0) {
      v[map[i]].up = old[i].up;
      v[map[i]].since = old[i].since;
    }
  }
  int old_reg = pol->reg.srv;
  int lost_reg = old_reg >= 0 && map[old_reg] < 0;
  int lost_try = pol->try_.token && pol->try_.srv >= 0 &&
                 map[pol->try_.srv] < 0;
  pol->retired[pol->n_retired] = old;
  pol->retired_n[pol->n_retired++] = n_old;
  pol->srv = v;
  pol->n_srv = n;
  pol->cur = remap(map, pol->cur);
  pol->reg.srv = remap(map, pol->reg.srv);
  pol->try_.srv = remap(map, pol->try_.srv);
  if (pol->ka_srv >= 0 && (pol->ka_srv = map[pol->ka_srv]) < 0)
    pol->ka_token = 0;
  if (pol->ops->servers_changed)
    pol->ops->servers_changed(pol->arg, map, n_old);
  char text[96];
  snprintf(text, sizeof text, "the server list re-resolved to %u address(es)",
           n);
  ev_warn(pol, "dns_changed", text, now);
  if (lost_try) {
    pol->try_.token = 0;
    pol->in_fb = 0;
  }
  if (lost_reg) {
    /* The registrar the line is bound at is no longer named by DNS: its
     * binding goes. A refresh in flight there is dropped instead (the
     * re-resolution starts right after a REGISTER): its 2xx, if one comes,
     * is a stray binding and removed then (sipline__pol_stray); sending a
     * removal now as well would race it. */
    uint32_t inflight = pol->reg.token;
    pol->reg.token = 0;
    pol->reg.refresh_at = pol->reg.expires_at = NONE;
    pol->reg.failing = 1;
    pol->ka_at = NONE;
    pol->ka_token = 0;
    pol->fallback_at = NONE;
    pol->fb_pending = 0;
    if (!inflight)
      unreg_send(pol, &old[old_reg], pol->domain, "dns", now);
  }
  if (pol->cur < 0)
    pol->cur = pol->reg.srv >= 0 ? pol->reg.srv : 0;
  if ((lost_reg || lost_try) && pol->reg.srv < 0 && !pol->try_.token &&
      reg_enabled(pol) && !pol->reg.stopped) {
    int to = 0;
    while (to < (int)n - 1 && !pol->srv[to].up)
      to++;
    do_try(pol, to, "dns", now);
  }
}

void sipline__pol_release(sipline__pol *pol) {
  if (!pol)
    return;
  while (pol->n_retired) {
    pol->n_retired--;
    srv_free(pol->mem, pol->retired[pol->n_retired],
             pol->retired_n[pol->n_retired]);
    pol->retired[pol->n_retired] = NULL;
  }
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                             */

static void established(sipline__pol *pol, int idx, const sipline__pol_res *r,
                        int is_new, sipline_tstamp now) {
  sipline__srv *s = &pol->srv[idx];
  uint32_t g = clamp_expires(pol, r->expires ? r->expires
                                             : pol->try_.req_expires);
  int old = pol->reg.srv;
  int was_fb = pol->in_fb && is_new;
  mark_up(pol, s, "responded", now);
  pol->reg.srv = idx;
  pol->reg.granted = g;
  pol->reg.reg_at = now;
  pol->reg.expires_at = now + SIPLINE_SEC(g);
  pol->reg.refresh_at =
      now + sipline__refresh_delay(g, pol->p->timer_f_ms);
  pol->try_.fails = 0;
  pol->cycle_fails = 0;
  pol->reg.failing = pol->try_.failing = 0;
  pol->reg.stopped = 0;
  pol->retry_at = NONE;
  if (is_new)
    pol->cur = idx;
  ev_registered(pol, s->name, g, now);
  if (is_new && old >= 0 && old != idx) {
    /* Never two main bindings: remove the old one (R11) where it can still
     * hear us; a DOWN server's binding is left to expire. */
    if (pol->srv[old].up)
      unreg_send(pol, &pol->srv[old], pol->domain, was_fb ? "fallback"
                                                           : "moved", now);
  }
  if (was_fb) {
    pol->in_fb = 0;
    pol->fallback_at = NONE;
  }
  if (pol->on_alt) {
    /* R4: the primary registration works again; requests come back. */
    pol->on_alt = 0;
    ev_move(pol, SIPLINE_EV_FALLBACK, pol->alt->name, s->name, "registered",
            now);
  }
  if (is_new && old != idx)
    fb_schedule(pol, g, now); /* R11: counted from this registration */
  else if (pol->fallback_at == NONE && !pol->fb_pending && !pol->in_fb)
    fb_schedule(pol, g, now);
  if (is_new || pol->ka_at == NONE)
    ka_arm(pol, now);
}

static void on_main_failure(sipline__pol *pol, int slot, int idx,
                            const sipline__pol_res *r, const char *reason,
                            sipline_tstamp now);

/* A fallback attempt to idx failed (R11). Returns 1 when handled. */
static int fallback_failed(sipline__pol *pol, int idx, const char *reason,
                           int status, sipline_tstamp now) {
  pol->in_fb = 0;
  if (pol->reg.srv < 0) {
    mark_down(pol, &pol->srv[idx], reason, now);
    return 0; /* the backup binding is gone as well: a plain failure,
                 which restarts the count if the line stays on a backup */
  }
  int was_up = set_down(&pol->srv[idx], now);
  for (int i = 0; i < pol->reg.srv; i++)
    if (pol->srv[i].up) {
      ev_reg_failed(pol, pol->srv[idx].name, reason, status, 0, now);
      if (was_up)
        ev_server(pol, SIPLINE_EV_SERVER_DOWN, pol->srv[idx].name, reason,
                  now);
      pol->in_fb = 1;
      do_try(pol, i, "fallback", now);
      return 1;
    }
  pol->cur = pol->reg.srv;
  fb_schedule(pol, pol->reg.granted, now); /* the count starts again */
  ev_reg_failed(pol, pol->srv[idx].name, reason, status,
                pol->fallback_at == NONE ? NONE : pol->fallback_at - now, now);
  if (was_up)
    ev_server(pol, SIPLINE_EV_SERVER_DOWN, pol->srv[idx].name, reason, now);
  ev_move(pol, SIPLINE_EV_FAILOVER, pol->srv[idx].name,
          pol->srv[pol->reg.srv].name, reason, now);
  return 1;
}

/* Dual Registration: new requests go to the alternate while the main
 * registration fails (R4); say so once. */
static void to_alt(sipline__pol *pol, int idx, const char *reason,
                   sipline_tstamp now) {
  if (!pol->has_alt || pol->altb.srv < 0 || pol->on_alt)
    return;
  pol->on_alt = 1;
  ev_move(pol, SIPLINE_EV_FAILOVER, pol->srv[idx].name, pol->alt->name,
          reason, now);
}

static void on_main_failure(sipline__pol *pol, int slot, int idx,
                            const sipline__pol_res *r, const char *reason,
                            sipline_tstamp now) {
  int status = r->outcome == SIPLINE__POL_STATUS ? r->status : 0;
  bind *cnt = &pol->try_; /* one doubling counter for the main binding */
  if (slot == SIPLINE__POL_TRY && pol->in_fb &&
      fallback_failed(pol, idx, reason, status, now))
    return;
  pol->reg.failing = 1;
  if (is_r5(pol, r)) {
    int was_up = set_down(&pol->srv[idx], now);
    pol->cycle_fails++;
    if (pol->reg.srv == idx) {
      /* The server holding the binding is dead: the binding is lost. */
      bind_clear(&pol->reg);
      pol->fallback_at = NONE;
      pol->fb_pending = 0;
      pol->ka_at = NONE;
    }
    int next = pick_next(pol, idx);
    int moving = next >= 0 && next != idx;
    sipline_tstamp d = moving ? jitter(pol, pol->p->reg_retry_random_delay)
                              : r12_delay(pol, cnt, r);
    ev_reg_failed(pol, pol->srv[idx].name, reason, status, d, now);
    if (was_up)
      ev_server(pol, SIPLINE_EV_SERVER_DOWN, pol->srv[idx].name, reason, now);
    if (moving) {
      ev_move(pol, SIPLINE_EV_FAILOVER, pol->srv[idx].name,
              pol->srv[next].name, reason, now);
      pol->cur = next;
      pol->try_.token = 0;
      if (d)
        schedule_retry(pol, RETRY_FAILOVER, d, now);
      else
        do_try(pol, next, "failover", now);
      return;
    }
    /* Every address is DOWN (R6): wait as R12 says, then from the top. */
    to_alt(pol, idx, reason, now);
    if (d == NONE) {
      pol->reg.stopped = 1;
      pol->retry_at = NONE;
      return;
    }
    schedule_retry(pol, RETRY_RESTART, d, now);
    return;
  }
  /* R9: a code Try Backup RSC does not list keeps the line here. */
  sipline_tstamp d = r12_delay(pol, cnt, r);
  ev_reg_failed(pol, pol->srv[idx].name, reason, status, d, now);
  to_alt(pol, idx, reason, now);
  if (slot == SIPLINE__POL_REG)
    pol->reg.refresh_at = NONE; /* the binding lives until its expiry */
  pol->cur = idx;
  if (pol->fallback_at == NONE && !pol->fb_pending && pol->reg.srv < 0)
    fb_schedule(pol, 0, now);
  if (d == NONE) {
    pol->reg.stopped = 1;
    pol->retry_at = NONE;
    return;
  }
  schedule_retry(pol, RETRY_SAME, d, now);
}

static void on_alt_result(sipline__pol *pol, const sipline__pol_res *r,
                          sipline_tstamp now) {
  bind *b = &pol->altb;
  char reason[32];
  if (pol->shutting) {
    if (r->outcome == SIPLINE__POL_OK)
      unreg_send(pol, pol->alt, pol->alt_domain, "shutdown", now);
    return;
  }
  if (r->outcome == SIPLINE__POL_OK) {
    uint32_t g = clamp_expires(pol, r->expires ? r->expires : b->req_expires);
    mark_up(pol, pol->alt, "responded", now);
    b->srv = 0;
    b->granted = g;
    b->reg_at = now;
    b->expires_at = now + SIPLINE_SEC(g);
    b->refresh_at = now + sipline__refresh_delay(g, pol->p->timer_f_ms);
    b->retry_at = NONE;
    b->fails = 0;
    b->failing = 0;
    ev_registered(pol, pol->alt->name, g, now);
    return;
  }
  result_reason(r, reason, sizeof reason);
  if (r->outcome == SIPLINE__POL_STATUS && r->status == 423 &&
      r->min_expires > b->req_expires) {
    b->req_expires = r->min_expires;
    ev_reg_failed(pol, pol->alt->name, reason, 423, 0, now);
    alt_try(pol, "min_expires", now);
    return;
  }
  b->failing = 1;
  if (is_r5(pol, r))
    mark_down(pol, pol->alt, reason, now);
  sipline_tstamp d = r12_delay(pol, b, r);
  b->refresh_at = NONE;
  ev_reg_failed(pol, pol->alt->name, reason,
                r->outcome == SIPLINE__POL_STATUS ? r->status : 0, d, now);
  if (d == NONE) {
    b->stopped = 1;
    return;
  }
  b->retry_at = add_ms(now, d);
}

void sipline__pol_result(sipline__pol *pol, uint32_t token,
                         const sipline__pol_res *r, sipline_tstamp now) {
  char reason[32];
  if (!pol || !token || !r)
    return;
  /* What the line had due at or before now happens first (a binding that
   * expires at the very moment its refresh times out is reported expired,
   * then the timeout counts), whichever of the two timers the engine fired
   * first: the order of equal deadlines is the policy's, not the heap's. */
  sipline__pol_tick(pol, now);
  for (unsigned k = 0; k < MAX_UNREG; k++)
    if (pol->unreg_tok[k] == token) {
      sipline_event ev;
      pol->unreg_tok[k] = 0;
      ev_init(&ev, SIPLINE_EV_UNREGISTERED);
      sipline__str_copy(ev.server, sizeof ev.server, pol->unreg_srv[k]->name);
      sipline__str_copy(ev.reason, sizeof ev.reason, pol->unreg_why[k]);
      ev.status = r->outcome == SIPLINE__POL_OK       ? 200
                  : r->outcome == SIPLINE__POL_STATUS ? r->status
                                                      : 0;
      ev_emit(pol, &ev, now);
      return;
    }
  if (token == pol->altb.token) {
    pol->altb.token = 0;
    on_alt_result(pol, r, now);
    return;
  }
  if (token == pol->ka_token) {
    sipline_event ev;
    int idx = pol->ka_srv;
    pol->ka_token = 0;
    if (idx < 0 || (unsigned)idx >= pol->n_srv || pol->shutting)
      return;
    ev_init(&ev, SIPLINE_EV_KEEPALIVE);
    sipline__str_copy(ev.server, sizeof ev.server, pol->srv[idx].name);
    /* Any answer (even an error status) proves the server is alive. */
    if (r->outcome == SIPLINE__POL_OK || r->outcome == SIPLINE__POL_STATUS) {
      if (pol->ka_fails) {
        sipline__str_copy(ev.state, sizeof ev.state, "ok");
        ev_emit(pol, &ev, now);
      }
      pol->ka_fails = 0;
      ka_arm(pol, now);
      return;
    }
    pol->ka_fails++;
    sipline__str_copy(ev.state, sizeof ev.state, "failed");
    result_reason(r, ev.reason, sizeof ev.reason);
    ev_emit(pol, &ev, now);
    if (pol->ka_fails >= (pol->lc->keepalive_fail_count
                              ? pol->lc->keepalive_fail_count
                              : 1)) {
      pol->ka_fails = 0;
      pol->ka_at = NONE;
      sipline__pol_server_failed(pol, &pol->srv[idx].addr, pol->srv[idx].tp,
                                 "keepalive", now);
    } else {
      ka_arm(pol, now);
    }
    return;
  }
  int slot;
  int idx;
  if (token == pol->reg.token) {
    slot = SIPLINE__POL_REG;
    idx = pol->reg.srv;
    pol->reg.token = 0;
  } else if (token == pol->try_.token) {
    slot = SIPLINE__POL_TRY;
    idx = pol->try_.srv;
    pol->try_.token = 0;
  } else {
    return; /* stale: superseded by a later decision */
  }
  if (idx < 0 || (unsigned)idx >= pol->n_srv)
    return;
  if (pol->shutting) {
    /* A registration that completes during the shutdown is removed. */
    if (slot == SIPLINE__POL_TRY && r->outcome == SIPLINE__POL_OK &&
        pol->shut_try_unreg)
      unreg_send(pol, &pol->srv[idx], pol->domain, "shutdown", now);
    pol->shut_try_unreg = 0;
    return;
  }
  if (r->outcome == SIPLINE__POL_OK) {
    established(pol, idx, r, slot == SIPLINE__POL_TRY, now);
    return;
  }
  result_reason(r, reason, sizeof reason);
  if (r->outcome == SIPLINE__POL_STATUS && r->status == 423 &&
      r->min_expires > pol->try_.req_expires) {
    /* R12: retry at once with Min-Expires. */
    pol->try_.req_expires = r->min_expires;
    ev_reg_failed(pol, pol->srv[idx].name, reason, 423, 0, now);
    if (slot == SIPLINE__POL_REG)
      send_req(pol, &pol->reg.token, SIPLINE__POL_REG, &pol->srv[idx],
               pol->try_.req_expires, pol->domain, "min_expires", now);
    else
      do_try(pol, idx, "min_expires", now);
    return;
  }
  on_main_failure(pol, slot, idx, r, reason, now);
}

int sipline__pol_wants(const sipline__pol *pol, uint32_t token) {
  if (!pol || !token)
    return 0;
  for (unsigned k = 0; k < MAX_UNREG; k++)
    if (pol->unreg_tok[k] == token)
      return 1;
  return token == pol->reg.token || token == pol->try_.token ||
         token == pol->altb.token || token == pol->ka_token;
}

void sipline__pol_stray(sipline__pol *pol, const sipline__srv *s,
                        sipline_tstamp now) {
  int idx = -1;
  if (!pol || !s)
    return;
  if (pol->has_alt && s == pol->alt) {
    if (pol->altb.token || (pol->altb.srv >= 0 && !pol->shutting))
      return; /* the alternate binding is wanted (R4) */
    unreg_send(pol, s, pol->alt_domain, "stray", now);
    return;
  }
  for (unsigned i = 0; i < pol->n_srv; i++)
    if (s == &pol->srv[i])
      idx = (int)i;
  if (idx < 0) {
    /* A server a re-resolution dropped (retired list): not wanted. */
    for (unsigned k = 0; k < pol->n_retired; k++)
      for (unsigned i = 0; i < pol->retired_n[k]; i++)
        if (s == &pol->retired[k][i])
          unreg_send(pol, s, pol->domain, "stray", now);
    return;
  }
  if (!pol->shutting) {
    if ((pol->try_.token && pol->try_.srv == idx) ||
        (pol->reg.token && pol->reg.srv == idx))
      return; /* a REGISTER there decides; a removal would race it */
    if (idx == pol->cur && pol->srv[idx].up)
      return; /* the line wants to be there anyway */
  }
  if (pol->reg.srv == idx && !pol->shutting) {
    /* Our own binding there was refreshed behind our back, on a server the
     * line has left (DOWN): it goes now rather than lingering for up to
     * the granted expiry. The line is already moving (a REGISTER or a
     * retry elsewhere), so nothing else changes. */
    pol->reg.srv = -1;
    pol->reg.token = 0;
    pol->reg.refresh_at = pol->reg.expires_at = NONE;
    pol->reg.failing = 1;
    pol->ka_at = NONE;
  }
  unreg_send(pol, s, pol->domain, "stray", now);
}

/* ------------------------------------------------------------------ */
/* External failures (R5 from other requests, keep-alive, transport)    */

int sipline__pol_server_failed(sipline__pol *pol, const sipline_addr *addr,
                               sipline_transport tp, const char *reason,
                               sipline_tstamp now) {
  int idx = -1;
  (void)tp;
  if (!pol || !addr || pol->shutting)
    return 0;
  if (pol->has_alt && sipline_addr_eq(addr, &pol->alt->addr)) {
    mark_down(pol, pol->alt, reason, now);
    return 1;
  }
  for (unsigned i = 0; i < pol->n_srv; i++)
    if (sipline_addr_eq(addr, &pol->srv[i].addr))
      idx = (int)i;
  if (idx < 0)
    return 0;
  if (!pol->srv[idx].up && idx != pol->cur)
    return 1; /* already known */
  if (pol->in_fb && pol->try_.token && idx == pol->try_.srv) {
    /* The fallback target died under its REGISTER: R11 failure now. */
    pol->try_.token = 0;
    if (fallback_failed(pol, idx, reason, 0, now))
      return 1;
  }
  mark_down(pol, &pol->srv[idx], reason, now);
  if (idx != pol->cur && idx != pol->reg.srv)
    return 1;
  pol->cycle_fails++;
  pol->reg.failing = pol->reg.srv == idx ? 1 : pol->reg.failing;
  if (pol->reg.srv == idx)
    pol->reg.token = 0; /* its refresh would go nowhere */
  if (pol->ka_srv == idx) {
    pol->ka_token = 0;
    pol->ka_at = NONE;
  }
  int next = pick_next(pol, idx);
  int arwf = pol->lc->auto_register_when_failover;
  if (next >= 0 && next != idx) {
    ev_move(pol, SIPLINE_EV_FAILOVER, pol->srv[idx].name, pol->srv[next].name,
            reason, now);
    pol->cur = next;
    pol->try_.token = 0;
    /* R7: re-register at the new server at once, or only move the
     * requests (the registration follows at its refresh). */
    if (reg_enabled(pol) && (arwf || pol->reg.srv < 0))
      failover_to(pol, next, now);
    return 1;
  }
  to_alt(pol, idx, reason, now);
  if (pol->retry_at == NONE && !pol->try_.token) {
    sipline__pol_res r = {.outcome = SIPLINE__POL_TIMEOUT};
    schedule_retry(pol, RETRY_RESTART, r12_delay(pol, &pol->try_, &r), now);
  }
  return 1;
}

int sipline__pol_conn_closed(sipline__pol *pol, const sipline_addr *addr,
                             sipline_transport tp, sipline_tstamp now) {
  int idx = -1;
  (void)tp;
  if (!pol || !addr || pol->shutting)
    return 0;
  if (pol->has_alt && sipline_addr_eq(addr, &pol->alt->addr))
    return 1; /* the alternate is UDP only (R4): no connection to lose */
  for (unsigned i = 0; i < pol->n_srv; i++)
    if (sipline_addr_eq(addr, &pol->srv[i].addr))
      idx = (int)i;
  if (idx < 0)
    return 0;
  if (!pol->srv[idx].up || pol->reg.srv != idx || pol->reg.stopped)
    return 1; /* handled already, or no binding (flow) of ours there */
  if (pol->reg.token || (pol->try_.token && pol->try_.srv == idx))
    return 1; /* a REGISTER there is under way: its outcome decides */
  char text[160];
  snprintf(text, sizeof text,
           "%s closed the connection: re-registering over a new one",
           pol->srv[idx].name);
  ev_warn(pol, "connection_closed", text, now);
  if (pol->ka_srv == idx) {
    pol->ka_token = 0; /* a ping in flight went with the connection */
    pol->ka_at = NONE;
  }
  /* The refresh, now: a failure is an R5 failure of the binding's server
   * (on_main_failure, slot REG), so refused fails over at once and
   * silence after Timer F. */
  pol->reg.refresh_at = NONE;
  if (send_req(pol, &pol->reg.token, SIPLINE__POL_REG, &pol->srv[idx],
               pol->try_.req_expires, pol->domain, "connection_closed",
               now) < 0) {
    sipline_tstamp d = r12_delay(pol, &pol->try_, NULL);
    ev_reg_failed(pol, pol->srv[idx].name, "local", 0, d, now);
    pol->reg.refresh_at = add_ms(now, d);
  }
  return 1;
}

void sipline__pol_set_calls(sipline__pol *pol, unsigned calls,
                            sipline_tstamp now) {
  if (!pol)
    return;
  pol->calls = calls;
  if (!calls && pol->fb_pending) {
    pol->fb_pending = 0;
    pol->fallback_at = now; /* due now: the next tick runs it */
    sipline__pol_tick(pol, now);
  }
}

/* ------------------------------------------------------------------ */
/* Timers                                                               */

static void run_fallback(sipline__pol *pol, sipline_tstamp now) {
  int from = pol->reg.srv >= 0 ? pol->reg.srv : pol->cur;
  if (from <= 0 || pol->shutting)
    return;
  if (pol->calls) {
    /* R13: never while a call is up; the line's last call ending runs it. */
    char text[96];
    snprintf(text, sizeof text, "fallback waits for %u call(s) to end",
             pol->calls);
    if (!pol->fb_pending)
      pol->fb_due = now;
    pol->fb_pending = 1;
    ev_warn(pol, "fallback_deferred", text, now);
    return;
  }
  for (int i = 0; i < from; i++)
    mark_up(pol, &pol->srv[i], pol->fb_reason, now);
  int to = 0;
  while (to < from && !pol->srv[to].up)
    to++;
  ev_move(pol, SIPLINE_EV_FALLBACK, pol->srv[from].name, pol->srv[to].name,
          pol->fb_reason, now);
  pol->in_fb = 1;
  do_try(pol, to, "fallback", now); /* from now new requests go there */
}

/*
 * The server a REGISTER planned for idx may go to now. It may have gone
 * DOWN since the plan was made (an INVITE timed out there): no REGISTER to
 * a DOWN server (R6) but the highest UP one; when none is left, -1, or
 * with restart set, all are marked UP again ("retry") and the top is used.
 */
static int usable(sipline__pol *pol, int idx, int restart,
                  sipline_tstamp now) {
  if (!pol->lc->proxy_fallback_intvl || pol->srv[idx].up)
    return idx;
  idx = pick_next(pol, idx);
  if (idx >= 0 || !restart)
    return idx;
  pol->cycle_fails = 0;
  for (unsigned i = 0; i < pol->n_srv; i++)
    mark_up(pol, &pol->srv[i], "retry", now);
  return 0;
}

static void run_refresh(sipline__pol *pol, sipline_tstamp now) {
  int idx = pol->reg.srv;
  if (idx < 0 || pol->reg.token)
    return;
  if (pol->in_fb || idx == pol->cur) {
    if (!pol->srv[idx].up && pol->lc->proxy_fallback_intvl)
      return; /* a restart is scheduled; no REGISTER to a DOWN server */
    if (send_req(pol, &pol->reg.token, SIPLINE__POL_REG, &pol->srv[idx],
                 pol->try_.req_expires, pol->domain, "refresh", now) < 0) {
      sipline_tstamp d = r12_delay(pol, &pol->try_, NULL);
      ev_reg_failed(pol, pol->srv[idx].name, "local", 0, d, now);
      pol->reg.refresh_at = add_ms(now, d);
    }
    return;
  }
  /* Requests moved without a REGISTER (R7 = No): the refresh is the
   * registration at the new server. */
  if (pol->try_.token || pol->cur < 0)
    return;
  int to = usable(pol, pol->cur, 0, now);
  if (to >= 0)
    do_try(pol, to, "refresh", now);
  else if (pol->retry_at == NONE)
    schedule_retry(pol, RETRY_RESTART, r12_delay(pol, &pol->try_, NULL),
                   now);
}

static void run_retry(sipline__pol *pol, sipline_tstamp now) {
  switch (pol->retry_kind) {
  case RETRY_RESOLVE:
    if (sipline__pol_resolve_begin(pol, now) < 0) {
      sipline_tstamp d = r12_delay(pol, &pol->try_, NULL);
      schedule_retry(pol, RETRY_RESOLVE, d, now);
    }
    return;
  case RETRY_RESTART:
    pol->cycle_fails = 0;
    for (unsigned i = 0; i < pol->n_srv; i++)
      mark_up(pol, &pol->srv[i], "retry", now);
    pol->cur = 0;
    if (!reg_enabled(pol))
      return;
    if (!pol->lc->auto_register_when_failover && pol->reg.srv == 0 &&
        !pol->reg.failing)
      return; /* R7 = No: the binding is there; nothing to re-register */
    do_try(pol, 0, "retry", now);
    return;
  default: {
    int idx = pol->cur;
    if (idx < 0 || !reg_enabled(pol))
      return;
    idx = usable(pol, idx, 1, now);
    do_try(pol, idx,
           pol->retry_kind == RETRY_FAILOVER ? "failover" : "retry", now);
    return;
  }
  }
}

static void run_alt(sipline__pol *pol, sipline_tstamp now) {
  bind *b = &pol->altb;
  if (b->refresh_at <= now) {
    b->refresh_at = NONE;
    if (!b->token)
      alt_try(pol, "refresh", now);
  }
  if (b->expires_at <= now) {
    b->expires_at = NONE;
    b->srv = -1;
    ev_server(pol, SIPLINE_EV_UNREGISTERED, pol->alt->name, "expired", now);
  }
  if (b->retry_at <= now) {
    b->retry_at = NONE;
    mark_up(pol, pol->alt, "retry", now);
    if (!b->token)
      alt_try(pol, "retry", now);
  }
}

static void run_ka(sipline__pol *pol, sipline_tstamp now) {
  sipline__pol_req rq;
  int idx = pol->reg.srv;
  pol->ka_at = NONE;
  if (idx < 0 || !pol->ops->keepalive)
    return;
  rq.token = new_token(pol);
  rq.slot = SIPLINE__POL_KA;
  rq.srv = &pol->srv[idx];
  rq.expires = 0;
  rq.domain = pol->domain;
  rq.why = "keepalive";
  pol->ka_srv = idx;
  pol->ka_token = rq.token;
  if (pol->ops->keepalive(pol->arg, &rq, now) < 0) {
    pol->ka_token = 0;
    ka_arm(pol, now);
  }
}

/*
 * The main binding at idx expired before a refresh succeeded (R12). A
 * refresh still in flight is NOT forgotten: with a grant under 73 s the
 * refresh goes out at expiry - Timer F, so its timeout falls due at the very
 * moment the binding expires (and after it when a 401 round delays it).
 * Its outcome now decides a new registration, so it becomes the TRY
 * request: a success is a new binding, a failure fails over or waits as R5
 * and R12 say. Dropping it as stale (as this code once did) left the line
 * "registering" with no request in flight and no timer armed: stuck
 * forever. When nothing is in flight and nothing is scheduled, the line
 * registers again at once, so that an unregistered line always has a
 * deadline (invariant: REGISTERING or WAITING implies a request in flight
 * or a timer armed).
 */
static void binding_lapsed(sipline__pol *pol, int idx, sipline_tstamp now) {
  uint32_t inflight = pol->reg.token;
  ev_server(pol, SIPLINE_EV_UNREGISTERED, pol->srv[idx].name, "expired",
            now);
  pol->reg.srv = -1;
  pol->reg.refresh_at = NONE;
  pol->reg.token = 0;
  pol->reg.failing = 1;
  /* A pending fallback stays: the line is still on the backup (R10,
   * "or connected to"). */
  pol->ka_at = NONE;
  if (!reg_enabled(pol) || pol->reg.stopped)
    return;
  if (inflight && !pol->try_.token) {
    pol->try_.token = inflight;
    pol->try_.srv = idx;
    return;
  }
  if (pol->try_.token || pol->retry_at != NONE)
    return; /* that request or that timer decides what comes next */
  if (pol->cur < 0)
    return;
  int to = usable(pol, pol->cur, 1, now);
  if (to >= 0)
    do_try(pol, to, "expired", now);
}

sipline_tstamp sipline__pol_next(const sipline__pol *pol) {
  sipline_tstamp t = NONE;
  if (!pol || pol->shutting)
    return NONE;
  t = SIPLINE__MIN(t, pol->reg.refresh_at);
  t = SIPLINE__MIN(t, pol->reg.expires_at);
  t = SIPLINE__MIN(t, pol->retry_at);
  t = SIPLINE__MIN(t, pol->fallback_at);
  t = SIPLINE__MIN(t, pol->altb.refresh_at);
  t = SIPLINE__MIN(t, pol->altb.expires_at);
  t = SIPLINE__MIN(t, pol->altb.retry_at);
  t = SIPLINE__MIN(t, pol->ka_at);
  return t;
}

void sipline__pol_tick(sipline__pol *pol, sipline_tstamp now) {
  if (!pol || pol->shutting)
    return;
  /* Fixed order, repeated until nothing is due, so that equal deadlines
   * always play the same way: refresh, fallback, expiry, retry, alternate,
   * keep-alive. */
  for (int guard = 0; guard < 64; guard++) {
    int did = 0;
    if (pol->reg.refresh_at <= now) {
      pol->reg.refresh_at = NONE;
      run_refresh(pol, now);
      did = 1;
    }
    if (pol->fallback_at <= now) {
      pol->fallback_at = NONE;
      run_fallback(pol, now);
      did = 1;
    }
    if (pol->reg.expires_at <= now) {
      int idx = pol->reg.srv;
      pol->reg.expires_at = NONE;
      if (idx >= 0)
        binding_lapsed(pol, idx, now);
      did = 1;
    }
    if (pol->retry_at <= now) {
      pol->retry_at = NONE;
      run_retry(pol, now);
      did = 1;
    }
    if (pol->altb.refresh_at <= now || pol->altb.expires_at <= now ||
        pol->altb.retry_at <= now) {
      run_alt(pol, now);
      did = 1;
    }
    if (pol->ka_at <= now) {
      run_ka(pol, now);
      did = 1;
    }
    if (!did)
      break;
  }
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                           */

static void domain_of(const char *spec, char *out, size_t cap) {
  sipline__hop h[SIPLINE_MAX_SERVERS];
  const char *what;
  out[0] = 0;
  if (!spec || sipline__hops_parse(spec, h, SIPLINE_MAX_SERVERS, &what) < 1)
    return;
  int v6 = h[0].is_ip && strchr(h[0].host, ':');
  if (h[0].port)
    snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", h[0].host, h[0].port);
  else
    snprintf(out, cap, v6 ? "[%s]" : "%s", h[0].host);
}

int sipline__pol_new(sipline__pol **out, const sipline_profile *p,
                     const sipline_line_cfg *lc, sipline_rng *rng,
                     const sipline_mem *mem, const sipline__pol_ops *ops,
                     void *arg) {
  sipline__hop hops[SIPLINE_MAX_SERVERS];
  const char *what;
  if (!out || !p || !lc || !rng || !ops || !ops->send)
    return SIPLINE_ERR_INVAL;
  *out = NULL;
  const char *spec = lc->outbound_proxy && *lc->outbound_proxy
                         ? lc->outbound_proxy
                         : lc->proxy;
  if (!spec || !*spec ||
      sipline__hops_parse(spec, hops, SIPLINE_MAX_SERVERS, &what) < 1)
    return SIPLINE_ERR_CONFIG;
  if (lc->proxy && *lc->proxy &&
      sipline__hops_parse(lc->proxy, hops, SIPLINE_MAX_SERVERS, &what) < 1)
    return SIPLINE_ERR_CONFIG;
  sipline__pol *pol = sipline_mem_calloc(mem, 1, sizeof *pol);
  if (!pol)
    return SIPLINE_ERR_NOMEM;
  pol->p = p;
  pol->lc = lc;
  pol->rng = rng;
  pol->mem = mem;
  pol->ops = ops;
  pol->arg = arg;
  pol->line = lc->n;
  pol->tp = lc->transport;
  pol->cur = -1;
  pol->ka_srv = -1;
  bind_clear(&pol->reg);
  bind_clear(&pol->try_);
  bind_clear(&pol->altb);
  pol->try_.req_expires = pol->altb.req_expires = lc->register_expires;
  pol->retry_at = pol->fallback_at = pol->ka_at = pol->dns_exp = NONE;
  char dom[136], adom[136];
  domain_of(lc->proxy && *lc->proxy ? lc->proxy : lc->outbound_proxy, dom,
            sizeof dom);
  const char *alt = lc->alt_proxy && *lc->alt_proxy ? lc->alt_proxy
                                                    : lc->alt_outbound_proxy;
  if (lc->alt_proxy && *lc->alt_proxy)
    domain_of(lc->alt_proxy, adom, sizeof adom);
  else
    sipline__str_copy(adom, sizeof adom, dom);
  pol->domain = sipline__strdup(mem, dom);
  pol->alt_domain = strcmp(adom, dom) ? sipline__strdup(mem, adom)
                                      : pol->domain;
  if (!pol->domain || !pol->alt_domain) {
    sipline__pol_del(pol);
    return SIPLINE_ERR_NOMEM;
  }
  /* R3/R4: the alternate counts only with Dual Registration, and only on
   * UDP (for TCP/TLS it is ignored with a warning, at start). */
  pol->dual = lc->dual_registration && alt && *alt &&
              sipline__hops_parse(alt, hops, 1, &what) == 1 &&
              lc->transport == SIPLINE_TP_UDP;
  *out = pol;
  return 0;
}

void sipline__pol_del(sipline__pol *pol) {
  if (!pol)
    return;
  srv_free(pol->mem, pol->srv, pol->n_srv);
  sipline__pol_release(pol);
  sipline_mem_free(pol->mem, pol->ents);
  sipline_mem_free(pol->mem, pol->alt);
  if (pol->alt_domain != pol->domain)
    sipline_mem_free(pol->mem, pol->alt_domain);
  sipline_mem_free(pol->mem, pol->domain);
  sipline_mem_free(pol->mem, pol);
}

int sipline__pol_start(sipline__pol *pol, sipline_tstamp now) {
  if (!pol)
    return SIPLINE_ERR_INVAL;
  if (pol->started)
    return SIPLINE_ERR_STATE;
  pol->started = 1;
  const sipline_line_cfg *lc = pol->lc;
  if (lc->dual_registration && lc->transport != SIPLINE_TP_UDP &&
      ((lc->alt_proxy && *lc->alt_proxy) ||
       (lc->alt_outbound_proxy && *lc->alt_outbound_proxy)))
    ev_warn(pol, "dual_registration_udp_only",
            "Dual Registration works on UDP only: the alternate proxy is "
            "ignored (R4)",
            now);
  int rc = sipline__pol_resolve_begin(pol, now);
  return rc < 0 ? rc : 0;
}

int sipline__pol_shutdown(sipline__pol *pol, sipline_tstamp now) {
  if (!pol)
    return SIPLINE_ERR_INVAL;
  if (pol->shutting)
    return 0;
  pol->shutting = 1;
  pol->retry_at = pol->fallback_at = pol->ka_at = pol->dns_exp = NONE;
  pol->altb.refresh_at = pol->altb.retry_at = pol->altb.expires_at = NONE;
  pol->reg.refresh_at = pol->reg.expires_at = NONE;
  pol->reg.token = 0;
  pol->altb.token = 0;
  pol->ka_token = 0;
  if (pol->try_.token)
    pol->shut_try_unreg = 1; /* remove whatever it registers */
  if (pol->reg.srv >= 0 && pol->srv[pol->reg.srv].up)
    unreg_send(pol, &pol->srv[pol->reg.srv], pol->domain, "shutdown", now);
  else if (pol->reg.srv >= 0)
    ev_server(pol, SIPLINE_EV_UNREGISTERED, pol->srv[pol->reg.srv].name,
              "shutdown", now);
  if (pol->has_alt && pol->altb.srv >= 0)
    unreg_send(pol, pol->alt, pol->alt_domain, "shutdown", now);
  pol->reg.srv = -1;
  pol->altb.srv = -1;
  return 0;
}

int sipline__pol_is_shut_down(const sipline__pol *pol) {
  if (!pol || !pol->shutting)
    return pol == NULL;
  for (unsigned k = 0; k < MAX_UNREG; k++)
    if (pol->unreg_tok[k])
      return 0;
  return !(pol->shut_try_unreg && pol->try_.token);
}

/* ------------------------------------------------------------------ */
/* Routing and introspection                                            */

static int main_failing(const sipline__pol *pol) {
  if (pol->cur < 0)
    return 1;
  return pol->reg.failing || !pol->srv[pol->cur].up ||
         (reg_enabled(pol) && pol->reg.srv != pol->cur && !pol->in_fb);
}

const sipline__srv *sipline__pol_route(const sipline__pol *pol,
                                       const char **domain) {
  if (!pol)
    return NULL;
  if (pol->has_alt && pol->altb.srv >= 0 && main_failing(pol)) {
    if (domain)
      *domain = pol->alt_domain;
    return pol->alt;
  }
  if (pol->cur < 0)
    return NULL;
  if (domain)
    *domain = pol->domain;
  return &pol->srv[pol->cur];
}

const sipline__srv *sipline__pol_route_alt(const sipline__pol *pol,
                                           const char **domain) {
  if (!pol || !pol->has_alt)
    return NULL;
  if (domain)
    *domain = pol->alt_domain;
  return pol->alt;
}

int sipline__pol_is_alt(const sipline__pol *pol, const sipline__srv *s) {
  return pol && s && pol->has_alt && s == pol->alt;
}

sipline__pol_state sipline__pol_get_state(const sipline__pol *pol) {
  if (!pol || !pol->started)
    return SIPLINE__POLS_IDLE;
  if (pol->shutting)
    return SIPLINE__POLS_SHUTDOWN;
  if (pol->resolving)
    return SIPLINE__POLS_RESOLVING;
  if (!reg_enabled(pol))
    return SIPLINE__POLS_IDLE;
  if (pol->reg.stopped)
    return SIPLINE__POLS_STOPPED;
  if (pol->reg.srv >= 0 && !pol->reg.failing)
    return SIPLINE__POLS_REGISTERED;
  if (pol->try_.token)
    return SIPLINE__POLS_REGISTERING;
  if (pol->retry_at != NONE)
    return SIPLINE__POLS_WAITING;
  return pol->reg.srv >= 0 ? SIPLINE__POLS_REGISTERED
                           : SIPLINE__POLS_REGISTERING;
}

unsigned sipline__pol_n_servers(const sipline__pol *pol) {
  return pol ? pol->n_srv : 0;
}
const sipline__srv *sipline__pol_server(const sipline__pol *pol, unsigned i) {
  return pol && i < pol->n_srv ? &pol->srv[i] : NULL;
}
int sipline__pol_current(const sipline__pol *pol) {
  return pol ? pol->cur : -1;
}
int sipline__pol_registered_at(const sipline__pol *pol) {
  return pol ? pol->reg.srv : -1;
}
int sipline__pol_alt_registered(const sipline__pol *pol) {
  return pol && pol->has_alt && pol->altb.srv >= 0;
}
uint32_t sipline__pol_granted(const sipline__pol *pol) {
  return pol && pol->reg.srv >= 0 ? pol->reg.granted : 0;
}
sipline_tstamp sipline__pol_expires_at(const sipline__pol *pol) {
  return pol ? pol->reg.expires_at : NONE;
}
sipline_tstamp sipline__pol_refresh_at(const sipline__pol *pol) {
  return pol ? pol->reg.refresh_at : NONE;
}
sipline_tstamp sipline__pol_fallback_at(const sipline__pol *pol) {
  return pol ? pol->fallback_at : NONE;
}
uint32_t sipline__pol_req_expires(const sipline__pol *pol) {
  return pol ? pol->try_.req_expires : 0;
}
const char *sipline__pol_domain(const sipline__pol *pol) {
  return pol && pol->domain ? pol->domain : "";
}

void sipline__pol_status(const sipline__pol *pol, sipline_line_status *st) {
  static const char *const names[] = {
      "idle",    "resolving", "registering", "registered",
      "waiting", "stopped",   "shutdown"};
  if (!pol || !st)
    return;
  sipline__pol_state s = sipline__pol_get_state(pol);
  sipline__str_copy(st->state, sizeof st->state, names[s]);
  if (s == SIPLINE__POLS_REGISTERED && pol->in_fb)
    sipline__str_copy(st->state, sizeof st->state, "falling_back");
  const sipline__srv *r = sipline__pol_route(pol, NULL);
  sipline__str_copy(st->current, sizeof st->current, r ? r->name : "");
  st->expires = sipline__pol_granted(pol);
  st->next_refresh = pol->reg.refresh_at;
  /* A fallback waiting for calls to end (R13) was due at fb_due. */
  st->fallback_at = pol->fb_pending ? pol->fb_due : pol->fallback_at;
  st->calls = pol->calls;
  st->n_servers = 0;
  for (unsigned i = 0; i < pol->n_srv + (pol->has_alt ? 1u : 0u) &&
                       st->n_servers < SIPLINE_MAX_SERVERS;
       i++) {
    const sipline__srv *v = i < pol->n_srv ? &pol->srv[i] : pol->alt;
    const bind *b = i < pol->n_srv ? &pol->reg : &pol->altb;
    int here = i < pol->n_srv ? pol->reg.srv == (int)i : b->srv >= 0;
    sipline_server_status *o = &st->servers[st->n_servers++];
    sipline__str_copy(o->addr, sizeof o->addr, v->name);
    o->up = v->up;
    o->since = v->since;
    o->registered = here;
    o->expires = here ? b->granted : 0;
    o->expires_at = here ? b->expires_at : NONE;
  }
}
