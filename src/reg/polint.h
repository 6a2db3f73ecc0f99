/*
 * src/reg/polint.h: the policy's state, shared by the files of src/reg that
 * make up the policy: policy.c (the failover state machine, R1-R13) and
 * dns.c (where the server list comes from: the static list, RFC 3263
 * lookups, RFC 2782 order). Nothing outside src/reg includes it.
 */
#ifndef SIPLINE_REG_POLINT_H
#define SIPLINE_REG_POLINT_H

#include "reg/policy.h"

#define MAX_ENTS 32
#define MAX_UNREG 4
#define MAX_RETIRED 4

enum ent_state {
  ENT_READY = 0,
  ENT_NEED_A,
  ENT_NEED_SRV,
  ENT_NEED_NAPTR,
  ENT_NEED_AAAA, /* no A record: try IPv6 */
  ENT_WAIT,
  ENT_DONE,   /* replaced by the targets of its SRV answer */
  ENT_FAILED, /* resolved to nothing */
};

/* An entry being resolved: a static-list entry, an SRV target, ... */
typedef struct ent {
  char host[128];  /* the name (SNI) or the literal */
  char qname[160]; /* the SRV/NAPTR name to ask for */
  uint16_t port;   /* 0: the transport's default */
  uint16_t prio, weight;
  uint8_t state, alt, is_name;
  sipline_dns_qtype qt;
  unsigned qid;
  unsigned n_addr;
  sipline_addr addr[SIPLINE__POL_MAX_A];
} ent;

typedef struct bind {
  int srv;          /* index into srv[] (main), 0 for the alternate;
                       -1: no binding */
  uint32_t token;   /* a request in flight, 0: none */
  uint32_t granted; /* s, clamped (R12) */
  sipline_tstamp reg_at, expires_at, refresh_at, retry_at;
  unsigned fails;       /* consecutive retry-class failures (doubling) */
  int failing;          /* the last REGISTER of this binding failed */
  int stopped;          /* Long Intvl 0 after a failure */
  uint32_t req_expires; /* what we ask for (423 raises it) */
} bind;

enum retry_kind {
  RETRY_SAME = 1,
  RETRY_RESTART,
  RETRY_RESOLVE,
  RETRY_FAILOVER
};

struct sipline__pol {
  const sipline_profile *p;
  const sipline_line_cfg *lc;
  sipline_rng *rng;
  const sipline_mem *mem;
  const sipline__pol_ops *ops;
  void *arg;
  unsigned line;

  sipline_transport tp; /* effective transport (AUTO resolved by NAPTR) */
  int dual;             /* Dual Registration in effect (UDP only, R4) */
  char *domain;         /* Request-URI host[:port] (R2); owned */
  char *alt_domain;     /* the alternate's; owned */

  sipline__srv *srv;
  unsigned n_srv;
  sipline__srv *alt; /* the alternate (Dual Registration); owned */
  int has_alt;

  /* resolution */
  ent *ents;
  unsigned n_ent;
  unsigned pending;
  unsigned next_qid;
  int resolving, resolved;
  /* DNS TTLs (issue 10 item 9): the list expires at dns_exp (NONE: made of
   * literals only) and is resolved again at the first REGISTER after it
   * (refreshing: the list in use stays until the answers are in). res_ttl
   * is the least TTL of the records the resolution in progress used. A
   * replaced list is retired, not freed, while requests in flight may
   * point into it (sipline__pol_release). */
  sipline_tstamp dns_exp;
  int refreshing;
  uint32_t res_ttl;
  sipline__srv *retired[MAX_RETIRED];
  unsigned retired_n[MAX_RETIRED];
  unsigned n_retired;

  int started, shutting;
  int cur;
  bind reg, try_, altb;
  int in_fb;               /* try_ is a fallback attempt */
  int on_alt;              /* requests moved to the alternate (R4) */
  unsigned cycle_fails;    /* R5 failures in a row (PFI 0 rotation, R6) */
  sipline_tstamp retry_at; /* main: next TRY / restart / resolve */
  int retry_kind;
  sipline_tstamp fallback_at;
  const char *fb_reason; /* "fallback_interval" or "expiry" */
  int fb_pending;        /* due but waiting for the calls to end (R13) */
  sipline_tstamp fb_due; /* when the pending fallback became due */
  unsigned calls;
  uint32_t unreg_tok[MAX_UNREG];
  const sipline__srv *unreg_srv[MAX_UNREG]; /* stable: srv[] or alt */
  const char *unreg_why[MAX_UNREG];
  int shut_try_unreg; /* shutdown: remove the binding try_ may make */

  /* keep-alive (item 7) */
  sipline_tstamp ka_at;
  uint32_t ka_token;
  int ka_srv;
  unsigned ka_fails;

  uint32_t next_token;
};

/* dns.c: parses the server list and starts resolving it. 0, or
 * SIPLINE_ERR_CONFIG / SIPLINE_ERR_NOMEM. */
int sipline__pol_resolve_begin(sipline__pol *pol, sipline_tstamp now);
/* policy.c: every entry resolved or failed; makes the server list and
 * starts registering (or schedules a new resolution). */
void sipline__pol_build(sipline__pol *pol, sipline_tstamp now);

#endif
