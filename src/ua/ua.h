/*
 * src/ua/ua.h: the engine under the public sipline_ua API, and the
 * interface the modules (reg, dlg, event) are written against.
 *
 * The engine owns: the allocator, the random source, one timer heap for
 * everything, a copy of the profile and settings, the transport layer (tx
 * queue, stream flows), the transaction layer, the bounded event queue and
 * the module table. Modules never see the application: they send through
 * client and server transactions (txn/txn.h) or sipline__ua_send, arm
 * timers in ua->timers, emit events with sipline__ua_emit and ask for DNS
 * with sipline__ua_dns_query.
 *
 * Dispatch of an incoming request (sipline_ua_recv):
 *   1. framing and parsing (tp); a request that cannot be parsed is dropped
 *      or answered 400 when enough of it was decoded;
 *   2. transaction matching: retransmissions and ACKs for non-2xx are
 *      absorbed; a CANCEL is answered 200/481 by the engine and the INVITE's
 *      handler is told (SIPLINE__STX_CANCELLED);
 *   3. validation (sipline_msg_validate → 400 with the reason, 505, 416 for
 *      a non-sip/sips/tel Request-URI, 420 for an unknown Require option);
 *   4. a request with a To tag goes to its dialog (ua/dialog.h) after the
 *      §12.2.2 CSeq check, or gets 481 when none matches (an ACK is
 *      dropped); the dialog's owner answers it;
 *   5. each module's on_request in table order until one returns 1;
 *   6. nobody: OPTIONS → 200 with Allow/Accept/Supported, ACK → dropped,
 *      anything else → 501 (405 for a known method we do not serve).
 * Responses go to their client transaction; stray responses are dropped.
 *
 * Reentrancy: modules may call any sipline__ function from any callback
 * (including create transactions and emit events). Objects are never freed
 * while a callback is running (see txn.h).
 */
#ifndef SIPLINE_UA_INTERNAL_H
#define SIPLINE_UA_INTERNAL_H

#include "sipline/auth.h"
#include "sipline/msg.h"
#include "sipline/profile.h"
#include "sipline/ua.h"
#include "tp/tp.h"
#include "txn/txn.h"
#include "ua/dialog.h"
#include "util/util.h"

/* ---------------------------------------------------------------------
 * Modules.
 */

/* Where new out-of-dialog requests of a line go (filled by reg). */
typedef struct sipline__target {
  sipline_path path; /* transport and remote address (local left unset) */
  char domain[128];  /* the host for the Request-URI / To: the proxy's
                        domain, not the outbound proxy (SPEC R2) */
  char server[80];   /* "host:port" of the server, for events */
} sipline__target;

/*
 * A module: a vtable of optional hooks (NULL = not interested). st is the
 * module's state, created by init and passed back to every hook. Hooks that
 * return int return 0 or a negative SIPLINE_ERR_* unless said otherwise.
 */
typedef struct sipline__module {
  const char *name; /* "reg", "dlg", "event" */

  /* Creates the module's state (*st). Called by sipline_ua_new after the
   * engine is ready (profile, rng, timers usable). Must not send. On
   * failure, a state left in *st is passed to del (so init may give up
   * half-way); with *st NULL, init must have freed everything itself. */
  int (*init)(sipline_ua *ua, void **st);
  /* Frees the state and everything the module owns; must not send. Timers
   * the module armed in ua->timers must be cancelled here. */
  void (*del)(sipline_ua *ua, void *st);

  /* sipline_ua_start / sipline_ua_shutdown / sipline_ua_is_shut_down. */
  int (*start)(sipline_ua *ua, void *st, sipline_tstamp now);
  int (*shutdown)(sipline_ua *ua, void *st, sipline_tstamp now);
  /* 1 when the module has nothing left to do for the shutdown. */
  int (*is_shut_down)(const sipline_ua *ua, void *st);

  /*
   * A new, valid incoming request. stx is its server transaction (NULL for
   * an ACK, which has none: an ACK for a 2xx). req and path are valid only
   * during the call. Return 1 when handled (the module answered or keeps
   * the stx to answer later, see sipline__stx_set_handler), 0 when not
   * this module's (the next module is asked), or a negative error (the
   * engine answers 500 if nothing was sent).
   */
  int (*on_request)(sipline_ua *ua, void *st, sipline__stx *stx,
                    const sipline_msg *req, const sipline_path *path,
                    sipline_tstamp now);

  /* A DNS answer for a query id this module issued: return 1 if the id
   * was the module's, 0 otherwise. rr[0..n-1] are valid during the call. */
  int (*on_dns)(sipline_ua *ua, void *st, unsigned id, const sipline_dns_rr *rr,
                size_t n, sipline_tstamp now);

  /* A transport failure on path (after the transactions using it have
   * been failed). why is a sipline_tperr. */
  void (*on_transport_error)(sipline_ua *ua, void *st, const sipline_path *path,
                             int why, sipline_tstamp now);
  /* Bytes arrived on the TCP/TLS flow of path (after the engine handled
   * them): the pong to a RFC 5626 CRLF ping is any bytes back. */
  void (*on_flow_rx)(sipline_ua *ua, void *st, const sipline_path *path,
                     sipline_tstamp now);

  /* Fills the module's part of a line's status (the engine filled line,
   * aor and state "unregistered" first). */
  int (*line_status)(const sipline_ua *ua, void *st, unsigned line,
                     sipline_line_status *ls);

  /* reg: where new requests of a line go (R1, R2, R4). 0 when filled,
   * SIPLINE_ERR_NOTFOUND when the line has no usable server now. */
  int (*line_target)(sipline_ua *ua, void *st, unsigned line,
                     sipline__target *t);
  /* reg: the alternate server of a line with Dual Registration (R4), for
   * an INVITE that timed out at the primary: 0 when filled,
   * SIPLINE_ERR_NOTFOUND without one. */
  int (*line_alt_target)(sipline_ua *ua, void *st, unsigned line,
                         sipline__target *t);
  /* reg: a non-REGISTER out-of-dialog request of line failed at t
   * (err = SIPLINE_ERR_TIMEOUT / _TRANSPORT, or status > 0 for a final
   * response), so the server policy can fail over (R5, R7). */
  void (*on_request_failed)(sipline_ua *ua, void *st, unsigned line,
                            const sipline__target *t, int err_or_status,
                            sipline_tstamp now);

  /* dlg: calls in progress on a line (R13; event priorities R19). */
  unsigned (*line_calls)(const sipline_ua *ua, void *st, unsigned line);
  /* A line just became idle (its last call ended). */
  void (*on_line_idle)(sipline_ua *ua, void *st, unsigned line,
                       sipline_tstamp now);

} sipline__module;

#define SIPLINE__MAX_MODULES 8

/* ---------------------------------------------------------------------
 * The engine.
 */

/* The event ring: entries a drained ring keeps (above it, it is freed), and
 * the default cap per configured line on top of 4096 (settings.max_events
 * 0). */
#define SIPLINE__EV_KEEP 4096u
#define SIPLINE__EV_PER_LINE 8u

struct sipline_ua {
  sipline_mem mem_store;  /* the application's allocator, copied */
  const sipline_mem *mem; /* &mem_store: pass this to every allocation */
  void *user_data;
  sipline_rng rng;       /* seeded from settings.seed */
  sipline__theap timers; /* every deadline of the UA (modules too) */
  sipline_tstamp now;    /* the latest time given by the application */

  /* Copies owned by the engine (allocated with mem). */
  sipline_profile *profile;
  char *local_host;  /* settings.local_host or "127.0.0.1" */
  char *user_agent;  /* settings.user_agent or "sipline/<version>" */
  char *instance_id; /* settings.instance_id or "urn:uuid:..." from seed */

  sipline__tp tp;
  sipline__txl txl;
  sipline__dtab dialogs; /* every dialog, matched before the modules */

  /* Events: a ring that grows on demand up to ev_max (settings.max_events);
   * the oldest is dropped when full (or when growing fails). */
  sipline_event *ev;
  unsigned ev_cap, ev_head, ev_count, ev_max;
  uint64_t ev_dropped;
  char *ev_body_cur; /* the body of the event last polled (see poll) */

  /* Where a module builds a request that the transaction layer then
   * copies (sipline__ua_scratch): kept between requests, so a REGISTER
   * costs no allocation for it. */
  sipline__buf scratch;

  /* The item last returned by sipline_ua_pull_tx (freed on the next). */
  sipline__qitem *tx_cur;

  unsigned dns_next_id;
  int shutting_down;

  unsigned n_mods;
  struct {
    const sipline__module *m;
    void *st;
  } mods[SIPLINE__MAX_MODULES];

  /* counters for tests and status */
  uint64_t n_rx_bad;       /* requests refused by validation */
  uint64_t n_rx_unhandled; /* requests no module took */
};

/*
 * Creates the engine with the given modules (src/top passes its table;
 * engine tests pass none). Copies the profile and settings, seeds the rng,
 * then calls every module's init in order. Errors: SIPLINE_ERR_INVAL,
 * SIPLINE_ERR_CONFIG, SIPLINE_ERR_NOMEM.
 */
int sipline__ua_create(sipline_ua **pua, const sipline_settings *st,
                       const sipline_mem *mem, void *user_data,
                       const sipline__module *const *mods, unsigned n_mods);

/* A public call of a module (sipline_ua_call, ...) says what time it is:
 * events and timers of that call are stamped with it. Never goes back. */
void sipline__ua_set_now(sipline_ua *ua, sipline_tstamp now);

/* The state of the module called name, or NULL. */
void *sipline__ua_module_state(const sipline_ua *ua, const char *name);

/* ---------------------------------------------------------------------
 * Services for modules.
 */

/* Events. Fills type, line and zeroes the rest. */
void sipline__event_init(sipline_event *ev, sipline_event_type type,
                         unsigned line);
/* snprintf into a fixed event field (truncates; always NUL-terminated). */
void sipline__event_str(char *dst, size_t cap, const char *fmt, ...)
    SIPLINE__PRINTF(3, 4);
/*
 * Queues a copy of ev, stamping ev->t with ua->now (the time of the call
 * the application is making). When the queue is full the oldest event is
 * dropped and ua->ev_dropped counted. Never fails.
 */
void sipline__ua_emit(sipline_ua *ua, const sipline_event *ev);
/* The same with a copy of body[0..len) attached (ev->body); when the copy
 * cannot be made the event goes without it and says so in reason. */
void sipline__ua_emit_body(sipline_ua *ua, const sipline_event *ev,
                           const char *body, size_t len);
/* Shorthand for a SIPLINE_EV_WARNING with reason and text. */
void sipline__ua_warn(sipline_ua *ua, unsigned line, const char *reason,
                      const char *fmt, ...) SIPLINE__PRINTF(4, 5);

/* Random identifiers (RFC 3261 §19.3 and §8.1.1.7), NUL-terminated. */
#define SIPLINE__TAG_LEN 16          /* tag: 16 chars of [A-Za-z0-9] */
#define SIPLINE__BRANCH_LEN (7 + 20) /* "z9hG4bK" + 20 random chars */
#define SIPLINE__CALLID_LEN 32       /* 32 random chars (no host part) */
void sipline__ua_new_tag(sipline_ua *ua, char out[SIPLINE__TAG_LEN + 1]);
void sipline__ua_new_branch(sipline_ua *ua, char out[SIPLINE__BRANCH_LEN + 1]);
void sipline__ua_new_callid(sipline_ua *ua, char out[SIPLINE__CALLID_LEN + 1]);
/* A uniform random number in [0, bound) (jitter, random delays). */
uint64_t sipline__ua_random(sipline_ua *ua, uint64_t bound);

/*
 * The host part of an AOR domain, without its port: "[::1]:5070" -> "[::1]",
 * "pbx.example.com:5060" -> "pbx.example.com". IPv6 domains are written in
 * brackets, so a ':' outside them is the port's. Truncated to cap - 1.
 */
void sipline__ua_aor_host(const char *domain, char *out, size_t cap);

/* The line's configuration (1-based), or NULL. */
const sipline_line_cfg *sipline__ua_line_cfg(const sipline_ua *ua,
                                             unsigned line);

/*
 * The local address to put in Via sent-by and Contact for a line: the
 * settings' local_host and the line's SIP Port (SPEC §1: SIP_Port_n_).
 */
uint16_t sipline__ua_local_port(const sipline_ua *ua, unsigned line);
/* Appends "Via: SIP/2.0/<TP> <host>:<port>;branch=<branch>;rport\r\n". */
void sipline__ua_append_via(const sipline_ua *ua, sipline__buf *b,
                            unsigned line, sipline_transport tp,
                            const char *branch);
/* Appends "<sip:user@host:port[;transport=tcp|tls]>" (no header name). */
void sipline__ua_append_contact_uri(const sipline_ua *ua, sipline__buf *b,
                                    unsigned line, sipline_transport tp);
/* Appends "User-Agent: ...\r\n" and "Max-Forwards: 70\r\n". */
void sipline__ua_append_common(const sipline_ua *ua, sipline__buf *b);

/* Queues raw bytes on a path (keep-alive CRLFs, a 2xx ACK). */
int sipline__ua_send(sipline_ua *ua, const sipline_path *path, const void *p,
                     size_t n);

/*
 * Starts a client transaction (sipline__ctx_new on ua->txl). A path whose
 * local address is unset (family 0) lets the application choose the
 * socket; responses arriving on the bound address still match.
 */
int sipline__ua_request(sipline_ua *ua, const sipline__ctx_params *p,
                        sipline_tstamp now, sipline__ctx **out);

/*
 * Asks the application to resolve name: emits SIPLINE_EV_DNS_QUERY with a
 * fresh id (returned in *id) and the line it is for. The answer comes back
 * through the modules' on_dns hook.
 */
int sipline__ua_dns_query(sipline_ua *ua, unsigned line, const char *name,
                          sipline_dns_qtype qtype, unsigned *id);

/* Asks the modules where line's out-of-dialog requests go (reg). */
int sipline__ua_line_target(sipline_ua *ua, unsigned line, sipline__target *t);
/* The line's alternate target (R4), from the modules (reg). */
int sipline__ua_line_alt_target(sipline_ua *ua, unsigned line,
                                sipline__target *t);
/* Reports a failed out-of-dialog request to the modules (reg). */
void sipline__ua_request_failed(sipline_ua *ua, unsigned line,
                                const sipline__target *t, int err_or_status,
                                sipline_tstamp now);
/* Calls in progress on line, summed over the modules (dlg). */
unsigned sipline__ua_line_calls(const sipline_ua *ua, unsigned line);
/* The dlg module says the line's last call ended: tells every module. */
void sipline__ua_line_idle(sipline_ua *ua, unsigned line, sipline_tstamp now);

/* The Allow and Accept values the engine advertises. */
#define SIPLINE__ALLOW SIPLINE_MSG_ALLOW
#define SIPLINE__ACCEPT "application/sdp"
#define SIPLINE__SUPPORTED "100rel, timer"

/* ---------------------------------------------------------------------
 * The request builder (ua/build.c), shared by reg, dlg and event.
 *
 * One call writes a whole out-of-dialog or in-dialog request into a
 * sipline__buf from a spec filled with designated initializers; fields left
 * zero are left out. No stdio formatting: views are copied, numbers written
 * in decimal by hand, and the buffer is sized once up front (so views into
 * it, such as the Request-URI handed to the digest, stay valid). Headers go
 * out in this order:
 *
 *   <method> <ruri> SIP/2.0
 *   Via: SIP/2.0/<TP> <local host>:<line's port>;branch=<branch>;rport
 *   Route: <sip:<proxy>;lr[;transport=tcp|tls]>      (.proxy)
 *   Route: <each of .route[]>                         (a dialog's route set)
 *   Max-Forwards: 70 / User-Agent: <ua->user_agent>
 *   From: ["<display>" ]<uri>;tag=<tag>
 *   To: ["<display>" ]<uri>[;tag=<tag>]
 *   Call-ID / CSeq: <cseq> <method>
 *   Contact: <sipline__ua_append_contact_uri>[;+sip.instance="<id>"]
 *            [;expires=<n>]                          (SIPLINE__REQ_CONTACT)
 *   Expires: <n>                                      (SIPLINE__REQ_EXPIRES)
 *   <.extra>                                          (whole lines, CRLF each)
 *   Allow / Supported: [path, ]100rel, timer         (flags)
 *   Authorization / Proxy-Authorization               (.auth's cache)
 *   Content-Type (with a body) / Content-Length / body
 *
 * A dialog passes its remote target as .ruri.uri, its route set as .route,
 * its tags and CSeq; reg passes the AOR parts and the outbound proxy.
 */

/* A SIP URI: .uri written as is when set, else "sip:[user@]host". */
typedef struct sipline__req_uri {
  sipline_pl uri;
  sipline_pl user;
  sipline_pl host;
} sipline__req_uri;

/* From or To: a display name (quoted; '"', '\\', CR and LF dropped; none
 * when empty), the URI in angle brackets, ";tag=" when tag is set. */
typedef struct sipline__req_party {
  sipline_pl display;
  sipline__req_uri uri;
  sipline_pl tag;
} sipline__req_party;

enum {
  SIPLINE__REQ_CONTACT = 1 << 0,   /* Contact of the line */
  SIPLINE__REQ_INSTANCE = 1 << 1,  /* ;+sip.instance on it (RFC 5626) */
  SIPLINE__REQ_CEXPIRES = 1 << 2,  /* ;expires=<.expires> on it */
  SIPLINE__REQ_EXPIRES = 1 << 3,   /* Expires: <.expires> */
  SIPLINE__REQ_ALLOW = 1 << 4,     /* Allow: SIPLINE__ALLOW */
  SIPLINE__REQ_SUPPORTED = 1 << 5, /* Supported: SIPLINE__SUPPORTED */
  SIPLINE__REQ_PATH = 1 << 6       /* "path, " first in Supported */
};

typedef struct sipline__req_spec {
  sipline_pl method;        /* "REGISTER" */
  sipline__req_uri ruri;    /* Request-URI (also the digest's uri) */
  unsigned line;            /* the line: Via and Contact port, Contact user */
  sipline_transport tp;     /* Via transport, Contact scheme/transport */
  const char *branch;       /* top Via branch (z9hG4bK...), NUL-terminated */
  sipline_pl proxy;         /* outbound proxy host[:port] as first Route */
  const sipline_pl *route;  /* route set values (name-addrs), n_route */
  size_t n_route;
  sipline__req_party from, to;
  sipline_pl call_id;
  uint32_t cseq;
  unsigned flags;           /* SIPLINE__REQ_* */
  uint32_t expires;         /* for SIPLINE__REQ_CEXPIRES / _EXPIRES */
  sipline_pl extra;         /* extra header lines, each ending in CRLF */
  sipline_auth_client *auth; /* credentials from this cache, or NULL */
  sipline_pl content_type;  /* with a non-empty body */
  sipline_pl body;
  size_t *branch_at;        /* out, optional: where the branch went in b */
} sipline__req_spec;

/*
 * Appends the request of s to b. The only failure is memory (b->err, also
 * returned); a credential that cannot be computed only loses the
 * Authorization line (the server challenges and the caller answers then).
 */
int sipline__req_build(sipline_ua *ua, const sipline__req_spec *s,
                       sipline__buf *b);
/* Appends a decimal number (no stdio). */
void sipline__req_u32(sipline__buf *b, uint32_t v);

#endif
