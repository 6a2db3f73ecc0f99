/*
 * sipline/ua.h: the user agent, the top of the sans-IO core.
 *
 * The application owns sockets, clocks and DNS; the UA owns every SIP object
 * (lines, registrations, transactions, dialogs). The contract, as in nghttp2
 * and ngtcp2:
 *
 *   - bytes in:   sipline_ua_recv() for each datagram or stream chunk;
 *   - bytes out:  loop on sipline_ua_pull_tx() after every call into the UA;
 *   - time:       arm one timer at sipline_ua_next_deadline() and call
 *                 sipline_ua_handle_timeout() when it fires;
 *   - failures:   sipline_ua_transport_error() for ICMP errors and TCP/TLS
 *                 connect failures and closes (SPEC R5c);
 *   - events:     loop on sipline_ua_poll_event() after every call; events
 *                 say what happened and why (SIM.md names);
 *   - DNS:        a SIPLINE_EV_DNS_QUERY event asks, sipline_ua_dns_answer()
 *                 answers.
 *
 * `now` is the application's monotonic time in milliseconds; it must never
 * decrease from one call to the next.
 */
#ifndef SIPLINE_UA_H
#define SIPLINE_UA_H

#include "sipline/base.h"
#include "sipline/call.h"
#include "sipline/net.h"
#include "sipline/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sipline_event_type {
  SIPLINE_EV_NONE = 0,
  SIPLINE_EV_REGISTERED,   /* server, expires */
  SIPLINE_EV_UNREGISTERED, /* server, reason */
  SIPLINE_EV_REG_FAILED,   /* server, reason, retry_in (ms; NONE = never) */
  SIPLINE_EV_SERVER_DOWN,  /* server, reason */
  SIPLINE_EV_SERVER_UP,    /* server, reason */
  SIPLINE_EV_FAILOVER,     /* from, to, reason */
  SIPLINE_EV_FALLBACK,     /* from, to, reason */
  SIPLINE_EV_CALL,         /* id, state, call_state, status, reason,
                              server, text = peer (sipline/call.h) */
  SIPLINE_EV_DNS_QUERY,    /* id, qtype, text = name */
  SIPLINE_EV_EXECUTE,      /* xml-service item: text = URL, priority, state
                              ("now", "queued", "run", "dropped") */
  SIPLINE_EV_NOTIFY,       /* text = event package, status answered, from */
  SIPLINE_EV_AUTH_FAILED,  /* inbound request refused: from, reason, status */
  SIPLINE_EV_KEEPALIVE,    /* server, state ("ok", "failed") */
  SIPLINE_EV_WARNING,      /* reason, text */
  SIPLINE_EV_CALL_SDP,     /* id, state ("offer"/"answer"), from ("local"/
                              "remote"), reason (the carrier: "invite",
                              "1xx", "2xx", "ack", "prack", "update"),
                              body (the SDP) */
  SIPLINE_EV__MAX
} sipline_event_type;

/* SIM.md's name for an event type ("registered", "reg_failed", ...). */
const char *sipline_event_name(sipline_event_type t);

typedef enum sipline_dns_qtype {
  SIPLINE_DNS_A = 1,
  SIPLINE_DNS_AAAA = 28,
  SIPLINE_DNS_SRV = 33,
  SIPLINE_DNS_NAPTR = 35,
} sipline_dns_qtype;

/* "A", "AAAA", "SRV", "NAPTR"; "?" for anything else. */
const char *sipline_dns_qtype_name(sipline_dns_qtype q);

/*
 * An event. Strings are NUL-terminated and empty when not used; which fields
 * a type uses is listed beside it above. line is 1-based, 0 when the event is
 * not about one line.
 */
typedef struct sipline_event {
  sipline_event_type type;
  sipline_tstamp t;
  unsigned line;
  unsigned id;
  int status;
  int priority;
  int qtype;
  uint32_t expires;
  sipline_tstamp retry_in;
  char server[80];
  char from[80];
  char to[80];
  char reason[64];
  char state[16];
  char text[512];
  int call_state; /* SIPLINE_EV_CALL: a sipline_call_state */
  /* SIPLINE_EV_CALL_SDP: the body, owned by the UA and valid until the
   * next sipline_ua_poll_event (or sipline_ua_del); NULL otherwise. */
  const char *body;
  size_t body_len;
} sipline_event;

/* One DNS record in an answer. */
typedef struct sipline_dns_rr {
  sipline_dns_qtype type;
  uint16_t priority; /* SRV; NAPTR order */
  uint16_t weight;   /* SRV; NAPTR preference */
  uint16_t port;     /* SRV */
  char target[256];  /* SRV target, NAPTR replacement */
  char service[32];  /* NAPTR service ("SIP+D2U") */
  sipline_addr addr; /* A/AAAA */
  /* Seconds the record may be cached (its DNS TTL). The line's server list
   * expires with the least TTL of the records it was made from and is
   * resolved again at the first REGISTER after that (the old list stays
   * in use until the new answer arrives); 0 = use once (resolved again at
   * the next REGISTER), 1..29 count as 30 (SIPLINE_DNS_TTL_MIN), and
   * UINT32_MAX = never expires. */
  uint32_t ttl;
} sipline_dns_rr;

/* The least time a resolved server list is kept (seconds): a short TTL
 * does not make every REGISTER, retry or failover wait on DNS. */
#define SIPLINE_DNS_TTL_MIN 30u

typedef struct sipline_settings {
  /* The configuration; copied by sipline_ua_new (the caller keeps its own). */
  const sipline_profile *profile;
  /* Seed of the UA's random source (tags, branches, jitter). */
  uint64_t seed;
  /* The address to put in Via and Contact (the daemon's bound address). */
  const char *local_host; /* default "127.0.0.1" */
  /* User-Agent header value; default "sipline/<version>". */
  const char *user_agent;
  /* +sip.instance value (a URN); default: a UUID URN from the seed. */
  const char *instance_id;
  /* Cap on queued events; older events are dropped past it (default 4096
   * plus 8 per configured line, so that a burst touching every line at
   * once loses nothing). */
  unsigned max_events;
} sipline_settings;

typedef struct sipline_ua sipline_ua;

/*
 * Creates a UA. mem may be NULL (C library). user_data is not used by the
 * core. Errors: SIPLINE_ERR_INVAL (no profile), SIPLINE_ERR_CONFIG,
 * SIPLINE_ERR_NOMEM.
 */
int sipline_ua_new(sipline_ua **pua, const sipline_settings *st,
                   const sipline_mem *mem, void *user_data);
/* Frees everything the UA owns; NULL is accepted. Sends nothing. */
void sipline_ua_del(sipline_ua *ua);
void *sipline_ua_user_data(const sipline_ua *ua);

/* Starts every line with Register = Yes (sends the first REGISTERs). */
int sipline_ua_start(sipline_ua *ua, sipline_tstamp now);
/*
 * Un-registers every line (Expires: 0) and hangs up calls. Keep driving the
 * UA until sipline_ua_is_shut_down() says 1 (or give up on a deadline).
 */
int sipline_ua_shutdown(sipline_ua *ua, sipline_tstamp now);
int sipline_ua_is_shut_down(const sipline_ua *ua);

/*
 * Feeds received bytes. For UDP, p/n is one datagram; for TCP/TLS, the next
 * chunk of the stream of that path (the UA keeps partial messages). Returns
 * 0, or a negative error for bytes it had to drop (the UA stays usable; a
 * stream that cannot be framed any more also gets SIPLINE_ERR_MALFORMED and
 * the application should close it).
 */
int sipline_ua_recv(sipline_ua *ua, const sipline_path *path,
                    const uint8_t *p, size_t n, sipline_tstamp now);

/* Reports a transport failure on a path (see sipline_tperr). */
int sipline_ua_transport_error(sipline_ua *ua, const sipline_path *path,
                               int why, sipline_tstamp now);

/*
 * Pulls the next datagram or stream chunk to send. Returns its length and
 * sets *p (valid until the next call into the UA) and *path, or
 * SIPLINE_ERR_AGAIN when nothing is queued.
 *
 * For TCP/TLS, *path names a connection (transport, local, remote): the
 * application opens one to path->remote the first time it sees that path
 * (TLS: SNI and certificate check against path->host when not empty) and
 * writes this and later chunks of the same path to it; a connect failure
 * or a close is reported with sipline_ua_transport_error(). A path whose
 * local address is unset (family 0) lets the application choose; the UA
 * matches the bound address given later with sipline_ua_recv(). When
 * sipline_ua_recv() returns SIPLINE_ERR_MALFORMED or SIPLINE_ERR_TOOBIG on a
 * stream, pull and send what is queued (an error response may be), then
 * close the connection and report it.
 */
ptrdiff_t sipline_ua_pull_tx(sipline_ua *ua, sipline_path *path,
                             const uint8_t **p, sipline_tstamp now);

/* The earliest time the UA needs sipline_ua_handle_timeout; NONE if none. */
sipline_tstamp sipline_ua_next_deadline(const sipline_ua *ua);
int sipline_ua_handle_timeout(sipline_ua *ua, sipline_tstamp now);

/* Copies the next event into *ev: 1 when there was one, 0 when none. */
int sipline_ua_poll_event(sipline_ua *ua, sipline_event *ev);
/* How many events were dropped because the queue was full (max_events). */
uint64_t sipline_ua_events_dropped(const sipline_ua *ua);

/* Answers a SIPLINE_EV_DNS_QUERY (n = 0 for NXDOMAIN or failure). */
int sipline_ua_dns_answer(sipline_ua *ua, unsigned id,
                          const sipline_dns_rr *rr, size_t n,
                          sipline_tstamp now);

/* Status for operators (siplinectl status). */
#define SIPLINE_MAX_SERVERS 16
typedef struct sipline_server_status {
  char addr[80];       /* host:port */
  int up;              /* 1 UP, 0 DOWN */
  sipline_tstamp since; /* when it went DOWN (or came UP) */
  int registered;      /* 1 when a binding is current there */
  uint32_t expires;    /* granted expiry of that binding */
  sipline_tstamp expires_at;
} sipline_server_status;

typedef struct sipline_line_status {
  unsigned line;
  char aor[160];
  char state[24];     /* "unregistered", "registering", "registered", ... */
  char current[80];   /* the server new requests go to */
  uint32_t expires;   /* granted expiry at current */
  sipline_tstamp next_refresh;
  sipline_tstamp fallback_at; /* NONE when not on a backup */
  unsigned calls;
  unsigned n_servers;
  sipline_server_status servers[SIPLINE_MAX_SERVERS];
} sipline_line_status;

unsigned sipline_ua_line_count(const sipline_ua *ua);
/* The UA's own copy of the profile it was created with (valid until
 * sipline_ua_del), so that a host need not keep a second one: with 10,000
 * lines a profile is ~8.5 MB. NULL when ua is NULL. */
const sipline_profile *sipline_ua_profile(const sipline_ua *ua);
int sipline_ua_line_status(const sipline_ua *ua, unsigned line,
                           sipline_line_status *st);

#ifdef __cplusplus
}
#endif
#endif
