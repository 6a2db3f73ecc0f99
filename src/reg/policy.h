/*
 * src/reg/policy.h: the registration and server-selection policy of one line
 * (SPEC R1-R13) as a pure state machine.
 *
 * The policy owns no socket, no timer heap and no clock. It is driven by:
 *   - sipline__pol_start / _shutdown,
 *   - sipline__pol_result: the outcome of a REGISTER it asked for,
 *   - sipline__pol_dns_answer: the answer to a DNS query it asked for,
 *   - sipline__pol_server_failed: another request (INVITE, keep-alive) or the
 *     transport says a server is dead (R5),
 *   - sipline__pol_set_calls: how many calls the line has (R13),
 *   - sipline__pol_tick: time passed; call it at sipline__pol_next().
 * and it answers through the sipline__pol_ops callbacks: send a REGISTER,
 * send a keep-alive, ask DNS, emit an event. Every decision emits an event
 * with a reason (SIM.md names), so an operator can always tell why the line
 * is where it is.
 *
 * The callbacks must not call back into the policy (report results later,
 * from the caller's own context); the policy never calls them re-entrantly
 * either.
 *
 * Ownership: the policy borrows the profile and the line config (they must
 * outlive it; the UA keeps its own copy of the profile) and the rng; it owns
 * its server list.
 */
#ifndef SIPLINE_REG_POLICY_H
#define SIPLINE_REG_POLICY_H

#include "sipline/profile.h"
#include "sipline/ua.h"
#include "tp/tp.h"

/* One address of the ordered server list (R1). */
typedef struct sipline__srv {
  sipline_addr addr;    /* IP and port the requests go to */
  uint16_t prio;        /* SRV / static-list priority (lower first) */
  uint16_t weight;      /* SRV / static-list weight */
  sipline_transport tp; /* UDP, TCP or TLS (never AUTO) */
  uint8_t up;           /* 1 UP, 0 DOWN */
  sipline_tstamp since; /* when it went DOWN (or came back UP) */
  char name[48];        /* "10.0.0.1:5060", the name events use */
  char *host;           /* the DNS name it came from (SNI), NULL if literal */
} sipline__srv;

/* Binding slots: which request a result belongs to. */
enum sipline__pol_slot {
  SIPLINE__POL_REG = 1, /* refresh of the current main registration */
  SIPLINE__POL_TRY,     /* a new main registration (initial, failover,
                           fallback, retry) */
  SIPLINE__POL_ALT,     /* the alternate binding (Dual Registration, R4) */
  SIPLINE__POL_UNREG,   /* a binding removal (Expires: 0) */
  SIPLINE__POL_KA,      /* a keep-alive probe (OPTIONS or CRLFCRLF) */
};

/* A REGISTER (or a keep-alive) the policy wants sent. */
typedef struct sipline__pol_req {
  uint32_t token;            /* echo it in sipline__pol_result */
  int slot;                  /* enum sipline__pol_slot */
  const sipline__srv *srv;   /* where it goes (first hop) */
  uint32_t expires;          /* requested expiry, 0 = remove the binding */
  const char *domain;        /* Request-URI host[:port] (R2) */
  const char *why;           /* "initial", "refresh", "failover", ... */
} sipline__pol_req;

typedef enum sipline__pol_outcome {
  SIPLINE__POL_OK = 0,   /* 2xx (a keep-alive: any response or pong) */
  SIPLINE__POL_STATUS,   /* a final non-2xx response, after digest */
  SIPLINE__POL_TIMEOUT,  /* no final response (Timer F) */
  SIPLINE__POL_TRANSPORT /* ICMP unreachable, connect failure, close */
} sipline__pol_outcome;

typedef struct sipline__pol_result {
  sipline__pol_outcome outcome;
  int status;            /* STATUS: the code */
  uint32_t expires;      /* OK: granted expiry in s (0: none given) */
  uint8_t has_retry_after;
  uint32_t retry_after;  /* s, from Retry-After */
  uint32_t min_expires;  /* 423: Min-Expires (0: none) */
} sipline__pol_res;

typedef struct sipline__pol_ops {
  /* Sends a REGISTER (slots REG/TRY/ALT/UNREG). Returns 0 or an error; on
   * an error the policy treats the attempt as a local failure and retries
   * after Reg Retry Intvl. */
  int (*send)(void *arg, const sipline__pol_req *req, sipline_tstamp now);
  /* Sends a keep-alive probe to req->srv (slot KA); may be NULL. */
  int (*keepalive)(void *arg, const sipline__pol_req *req,
                   sipline_tstamp now);
  /* Asks the application to resolve name; the answer comes back through
   * sipline__pol_dns_answer with the same qid. */
  int (*dns)(void *arg, unsigned qid, sipline_dns_qtype qt, const char *name,
             sipline_tstamp now);
  /* An event (type, line, fields; t is set to now by the policy). */
  void (*event)(void *arg, const sipline_event *ev);
  /* The server list was re-resolved to other addresses (DNS TTL): server
   * i of the old list is server map[i] of the new one, or gone (-1).
   * Pointers to old servers stay valid until sipline__pol_release. May
   * be NULL. */
  void (*servers_changed)(void *arg, const int *map, unsigned n_old);
} sipline__pol_ops;

/* Where the line is, for status and tests. */
typedef enum sipline__pol_state {
  SIPLINE__POLS_IDLE = 0,   /* not started, or Register = No */
  SIPLINE__POLS_RESOLVING,  /* waiting for DNS */
  SIPLINE__POLS_REGISTERING,/* a new registration is in flight */
  SIPLINE__POLS_REGISTERED, /* current binding at cur */
  SIPLINE__POLS_WAITING,    /* waiting to retry (R12) */
  SIPLINE__POLS_STOPPED,    /* Reg Retry Long Intvl = 0 after a failure */
  SIPLINE__POLS_SHUTDOWN,   /* shutting down or shut down */
} sipline__pol_state;

typedef struct sipline__pol sipline__pol;

/*
 * Creates the policy of line lc (a line of profile p). rng is borrowed
 * (randomness for RFC 2782 ordering and random delays). Errors:
 * SIPLINE_ERR_CONFIG (no Proxy, or a Proxy / static SRV list that does not
 * parse; *what gets a sentence when what is not NULL), SIPLINE_ERR_NOMEM.
 */
int sipline__pol_new(sipline__pol **out, const sipline_profile *p,
                     const sipline_line_cfg *lc, sipline_rng *rng,
                     const sipline_mem *mem, const sipline__pol_ops *ops,
                     void *arg);
void sipline__pol_del(sipline__pol *pol);
/* Frees the server lists a re-resolution replaced: call it when none of
 * the line's requests in flight points into them (none in flight). */
void sipline__pol_release(sipline__pol *pol);

/* Resolves the server list and registers (when Register = Yes). */
int sipline__pol_start(sipline__pol *pol, sipline_tstamp now);
/* Removes every current binding (Expires: 0) and stops. */
int sipline__pol_shutdown(sipline__pol *pol, sipline_tstamp now);
/* 1 once the shutdown's removals have all completed (or none was needed). */
int sipline__pol_is_shut_down(const sipline__pol *pol);

/* The earliest time the policy wants sipline__pol_tick (NONE: never). */
sipline_tstamp sipline__pol_next(const sipline__pol *pol);
void sipline__pol_tick(sipline__pol *pol, sipline_tstamp now);

/* The outcome of a request the policy asked for (stale tokens ignored). */
void sipline__pol_result(sipline__pol *pol, uint32_t token,
                         const sipline__pol_res *r, sipline_tstamp now);
/*
 * 1 while token is a request the policy still waits for (a REGISTER of one
 * of its slots, a removal, a keep-alive); 0 once a later decision has
 * superseded it (the server went DOWN and the line moved on, shutdown).
 * The REGISTER client asks before answering a 401/407: a superseded
 * REGISTER gets no credentials round, so it cannot leave a binding behind.
 */
int sipline__pol_wants(const sipline__pol *pol, uint32_t token);
/*
 * A superseded REGISTER (sipline__pol_wants said 0) got a 2xx at s anyway
 * (pre-authenticated, or answered before the line moved on): s holds a
 * binding. Unless the line wants a binding at s now (s is the UP current
 * server, or a REGISTER of the line to s is in flight), the policy removes
 * it (REGISTER Expires: 0, reason "stray"), and forgets its own binding
 * there if it had one.
 */
void sipline__pol_stray(sipline__pol *pol, const sipline__srv *s,
                        sipline_tstamp now);
/* A DNS answer (n = 0: NXDOMAIN or failure). Returns 1 if qid was ours. */
int sipline__pol_dns_answer(sipline__pol *pol, unsigned qid,
                            const sipline_dns_rr *rr, size_t n,
                            sipline_tstamp now);

/*
 * A request other than our REGISTERs failed at server addr (R5): reason
 * "timeout", "transport", "status:503", "keepalive". The policy marks the
 * server DOWN and fails over (R6); with Auto Register When Failover = Yes it
 * registers at the new server at once (R7). Returns 1 if addr was one of
 * the line's servers.
 */
int sipline__pol_server_failed(sipline__pol *pol, const sipline_addr *addr,
                               sipline_transport tp, const char *reason,
                               sipline_tstamp now);

/*
 * A TCP/TLS connection to addr closed while none of the line's requests
 * was in flight on it (those fail first and fail over at once, R5c).
 * Proxies close idle connections (Kamailio after tcp_connection_lifetime,
 * 120 s by default), so this alone is no failure: when the line is
 * registered there, it re-registers at once over a new connection (the
 * binding's flow is that connection: without it the proxy cannot reach
 * the line) and says so (warning "connection_closed"); only that
 * REGISTER's failure fails over (refused: at once; silence: Timer F).
 * A close of a connection to a server the line does not use, or one that
 * is already DOWN, changes nothing. Returns 1 if addr was one of the
 * line's servers.
 */
int sipline__pol_conn_closed(sipline__pol *pol, const sipline_addr *addr,
                             sipline_transport tp, sipline_tstamp now);

/* Calls in progress on the line (R13): fallback waits for 0. */
void sipline__pol_set_calls(sipline__pol *pol, unsigned calls,
                            sipline_tstamp now);

/*
 * Where new out-of-dialog requests go (R1, R2, R4): the current main server,
 * or with Dual Registration the alternate while the main registration is
 * failing. NULL when no server is known yet. *domain gets the Request-URI
 * host for that server.
 */
const sipline__srv *sipline__pol_route(const sipline__pol *pol,
                                       const char **domain);
/* The alternate server for an INVITE that timed out at the primary (R4):
 * NULL without Dual Registration. */
const sipline__srv *sipline__pol_route_alt(const sipline__pol *pol,
                                           const char **domain);
/* 1 when s is the alternate (dual registration) server of the line. */
int sipline__pol_is_alt(const sipline__pol *pol, const sipline__srv *s);

/* ---- introspection (status, tests) ---- */
sipline__pol_state sipline__pol_get_state(const sipline__pol *pol);
unsigned sipline__pol_n_servers(const sipline__pol *pol);
const sipline__srv *sipline__pol_server(const sipline__pol *pol, unsigned i);
/* Index of the current server (-1: none yet). */
int sipline__pol_current(const sipline__pol *pol);
/* Index of the server holding the main binding (-1: none). */
int sipline__pol_registered_at(const sipline__pol *pol);
/* 1 when the alternate binding is current. */
int sipline__pol_alt_registered(const sipline__pol *pol);
uint32_t sipline__pol_granted(const sipline__pol *pol);
sipline_tstamp sipline__pol_expires_at(const sipline__pol *pol);
sipline_tstamp sipline__pol_refresh_at(const sipline__pol *pol);
/* When the next fallback attempt is due (NONE: not on a backup). */
sipline_tstamp sipline__pol_fallback_at(const sipline__pol *pol);
/* The expiry the line asks for (Register Expires, raised by 423). */
uint32_t sipline__pol_req_expires(const sipline__pol *pol);
/* The line's AOR domain and Request-URI ("host[:port]" of the Proxy). */
const char *sipline__pol_domain(const sipline__pol *pol);
/* Fills the policy's part of a line status. */
void sipline__pol_status(const sipline__pol *pol, sipline_line_status *st);

/* ---- pure helpers, exported for tests ---- */

/* One entry of a static SRV list (SPEC §1). */
#define SIPLINE__POL_MAX_A 8
typedef struct sipline__hop {
  char host[128];   /* name or IP literal (IPv6 without brackets) */
  uint16_t port;    /* 0 when absent */
  uint16_t prio;    /* p=, 0 when absent */
  uint16_t weight;  /* w= or the bare number after the port, 0 if absent */
  uint8_t has_prio, has_weight, is_ip;
  unsigned n_a;     /* addresses from A=ip,ip */
  sipline_addr a[SIPLINE__POL_MAX_A];
} sipline__hop;

/*
 * Parses "host[:port][:p=prio][:weight][:A=ip,ip]" joined by '|' (SPEC §1).
 * Returns how many entries were written (at most cap), or
 * SIPLINE_ERR_MALFORMED with *what (may be NULL) set to a static phrase.
 */
int sipline__hops_parse(const char *s, sipline__hop *out, unsigned cap,
                        const char **what);
/* IP literals and names: sipline__ip_parse, sipline__addr_name (tp/tp.h). */
/*
 * RFC 2782 order of n records by priority, then weighted random within a
 * priority. idx[] gets the order (indices into prio/weight).
 */
void sipline__rfc2782_order(const uint16_t *prio, const uint16_t *weight,
                            unsigned n, sipline_rng *rng, unsigned *idx);
/* The refresh delay (ms) for a granted expiry of g s: the earlier of 78 %
 * of g and g - Timer F (when g is longer than Timer F) (R12). */
sipline_tstamp sipline__refresh_delay(uint32_t g, uint32_t timer_f_ms);

#endif
