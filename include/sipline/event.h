/*
 * sipline/event.h: incoming NOTIFY xml-service / resync / reboot (SPEC
 * R17-R21) and the CiscoIPPhoneExecute reader.
 *
 * The UA answers out-of-dialog NOTIFYs with Event: xml-service, resync,
 * check-sync, reboot and restart itself (challenge, verify, 200/4xx) and
 * reports what to do as events:
 *   SIPLINE_EV_NOTIFY      text = event package, status = the final answer
 *                          (200, or 400/404/415/489 with reason = the
 *                          reason phrase), from = the From URI, server =
 *                          the source address. Plain 401 challenges are
 *                          not reported (they are the normal first step).
 *   SIPLINE_EV_EXECUTE     one per ExecuteItem (or bare URL), after the
 *                          NOTIFY event: text = URL, priority, id (the
 *                          same for an item's "queued" and "run"), from,
 *                          state "now" (run it), "queued" (kept until the
 *                          line is idle), "run" (a queued item is due
 *                          now), "dropped" (priority 2 while busy, or the
 *                          queue was full; reason says which)
 *   SIPLINE_EV_AUTH_FAILED a refused request: from = the source address,
 *                          status (401 wrong credentials, 403 replay /
 *                          not from a proxy / no password, 0 rate
 *                          limited), reason, text = package and From URI
 * A line is found by the Request-URI user (User_ID_n_, %-escapes decoded;
 * the first line with that user wins). Passwords, digests and nonces never
 * appear in events.
 */
#ifndef SIPLINE_EVENT_H
#define SIPLINE_EVENT_H

#include "sipline/base.h"
#include "sipline/ua.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits of the reader (R19). */
#define SIPLINE_EXEC_MAX_ITEMS 3
#define SIPLINE_EXEC_MAX_URL 511    /* bytes; any longer attribute: 400 */
#define SIPLINE_EXEC_MAX_BODY 16384 /* bytes */
#define SIPLINE_EXEC_MAX_DEPTH 4

/* ExecuteItem Priority (R19). */
typedef enum sipline_exec_prio {
  SIPLINE_EXEC_NOW = 0,       /* default, and any unknown value */
  SIPLINE_EXEC_WHEN_IDLE = 1, /* queue until the line is idle */
  SIPLINE_EXEC_IF_IDLE = 2,   /* run only if the line is idle, else drop */
} sipline_exec_prio;

typedef struct sipline_exec_item {
  char url[SIPLINE_EXEC_MAX_URL + 1]; /* trimmed, NUL-terminated */
  sipline_exec_prio priority;
  /* 1 for the phone's own URIs (Dial:, EditDial:, Key:, Init:, Play:),
   * which run at once whatever the priority; 0 for http(s). */
  int internal;
} sipline_exec_item;

typedef struct sipline_exec {
  unsigned n;
  int bare_url; /* 1 when the body was one bare http(s) URL */
  sipline_exec_item items[SIPLINE_EXEC_MAX_ITEMS];
} sipline_exec;

/* Why a body was refused: the SIP answer to give (R20). */
typedef struct sipline_exec_error {
  int status;       /* 400 or 415 */
  char reason[112]; /* a reason phrase: "too many ExecuteItem elements" */
} sipline_exec_error;

/*
 * Reads a NOTIFY xml-service body (R19-R20). content_type is the raw
 * Content-Type value (parameters allowed), body the raw body; both are
 * borrowed for the call. mem (NULL: C library) serves expat.
 *
 * Accepted types: application/x-cisco-remotecc-request+xml, text/xml,
 * application/xml, text/plain and text/html. A body starting with '<' is
 * read as a CiscoIPPhoneExecute document (expat, no DOCTYPE, no entities
 * beyond the five XML ones, SIPLINE_EXEC_MAX_* limits, 1 to 3 ExecuteItem
 * with URL and optional Priority); otherwise it must be one trimmed http://
 * or https:// URL.
 *
 * Returns 0 with *out filled, SIPLINE_ERR_UNSUPPORTED (415),
 * SIPLINE_ERR_MALFORMED (400) with *err filled (err may be NULL), or
 * SIPLINE_ERR_NOMEM.
 */
int sipline_exec_parse(sipline_pl content_type, sipline_pl body,
                       sipline_exec *out, sipline_exec_error *err,
                       const sipline_mem *mem);

/*
 * Gives the NOTIFY authenticator its per-process secret (16 to 64 bytes;
 * the daemon draws it from RAND_bytes after sipline_ua_new). Nonces issued
 * before are invalidated. Without this call the secret is derived from the
 * UA's seeded random source, which suits simulations and tests but not a
 * phone on a network: the seed is not a secret there.
 * Returns 0, SIPLINE_ERR_INVAL, SIPLINE_ERR_NOTFOUND (no event module) or
 * SIPLINE_ERR_NOMEM.
 */
int sipline_ua_set_notify_secret(sipline_ua *ua, const uint8_t *secret,
                                 size_t len);

/*
 * The challenge limiter (anti-reflection): how many unauthenticated answers
 * (401, 403, 404, 489, ...) the UA sends per second to one source IP and to
 * all sources together, with their bursts. Over the limit a request is
 * dropped without an answer. 0 in a field keeps its default: 20/s burst 40
 * per source, 200/s burst 400 in all. A server that legitimately pushes
 * many NOTIFYs (each needs a 401 first) may need more: siplined exposes it.
 */
typedef struct sipline_notify_limits {
  uint32_t rate;
  uint32_t burst;
  uint32_t global_rate;
  uint32_t global_burst;
} sipline_notify_limits;

/*
 * Sets the limits (nonces issued before stay valid: the secret is kept, but
 * the replay table is new, so they come back as stale once). Returns 0,
 * SIPLINE_ERR_INVAL, SIPLINE_ERR_NOTFOUND or SIPLINE_ERR_NOMEM.
 */
int sipline_ua_set_notify_limits(sipline_ua *ua,
                                 const sipline_notify_limits *lim);

#ifdef __cplusplus
}
#endif
#endif
