/*
 * daemon/ctljson.h: the JSON of siplined's control protocol (no I/O).
 *
 * Encodes the library's events and line status as one-line JSON objects
 * with SIM.md's names, and keeps the ring of recent events that late
 * control clients read ({"cmd":"events","since":N}). Times: "time" is the
 * wall clock (ISO-8601 UTC with milliseconds), "t" the seconds since the
 * daemon started (monotonic, like sipline-sim's t). The protocol itself is
 * documented in man/siplined.8.
 */
#ifndef SIPLINED_CTLJSON_H
#define SIPLINED_CTLJSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sipline/ua.h"

/* Converts the UA's clock (ms since the daemon started) to wall-clock ms. */
typedef struct sj_clock {
  int64_t wall0_ms; /* the wall clock when the UA clock read 0 */
} sj_clock;

/* "2026-11-24T04:33:12.123Z" from wall-clock milliseconds (cap >= 32). */
void sj_iso(int64_t wall_ms, char *out, size_t cap);
/* "1.2.3.4:5060" / "[::1]:5060" (port left out when 0): sipline_addr_format,
 * "" for an unset address (cap >= 64). */
void sj_addr(const sipline_addr *a, char *out, size_t cap);

/*
 * A new JSON object for an event: {"seq","time","t","line","event",...}
 * with the fields SIM.md gives that event. The caller owns the result.
 */
cJSON *sj_event(const sipline_event *ev, const sj_clock *ck);
/*
 * A daemon-made event (not from the library: "fetch", "command",
 * "reload", "daemon"): {"time","t","event":name}; add fields to it.
 */
cJSON *sj_event_new(const char *name, sipline_tstamp now, unsigned line,
                    const sj_clock *ck);
/*
 * A "tx"/"rx" event for a SIP message: method or status, to/from, transport,
 * cseq, call_id. NULL when the bytes do not look like a SIP start line.
 */
cJSON *sj_message(int tx, const sipline_path *path, const uint8_t *p, size_t n,
                  sipline_tstamp now, const sj_clock *ck);
/*
 * The same two as one line of JSON text, {"seq":0,...} (for
 * sj_ring_push_text), built without a cJSON tree; the text lives in a
 * buffer of ctljson.c's, valid until the next call of either. len (may be
 * NULL) gets its length. NULL as above, or without memory.
 */
const char *sj_event_text(const sipline_event *ev, const sj_clock *ck,
                          size_t *len);
const char *sj_message_text(int tx, const sipline_path *path,
                            const uint8_t *p, size_t n, sipline_tstamp now,
                            const sj_clock *ck, size_t *len);
/* {"line":n,"aor",...,"servers":[...]} for siplinectl status. */
cJSON *sj_line_status(const sipline_line_status *st, const sj_clock *ck,
                      sipline_tstamp now);

/* The event ring: a bounded history with sequence numbers from 1. */
typedef struct sj_ring sj_ring;
/* The ring's arena: this many bytes per event of its cap (ctljson.c). An
 * event line is ~200-300 B, a tx/rx line ~1 KB, so with messages in it the
 * ring keeps fewer than cap entries. */
#define SJ_RING_BYTES_PER_EVENT 384
typedef struct sj_entry {
  uint64_t seq;
  int message; /* 1 for tx/rx, which clients get only on request */
  char *json;  /* one line, no newline; owned by the ring */
} sj_entry;

sj_ring *sj_ring_new(size_t cap);
void sj_ring_del(sj_ring *r);
/*
 * Adds an event: sets its "seq", prints it and stores the line (evicting
 * the oldest when full). Takes ownership of obj. Returns the stored entry
 * (valid until the next push), or NULL on allocation failure.
 */
const sj_entry *sj_ring_push(sj_ring *r, cJSON *obj, int message);
/* The same for text from sj_event_text/sj_message_text: "seq":0 becomes
 * the event's number. NULL for text that does not start {"seq":0. */
const sj_entry *sj_ring_push_text(sj_ring *r, const char *text, size_t len,
                                  int message);
/* The sequence number the next push will get. */
uint64_t sj_ring_next_seq(const sj_ring *r);
/* The oldest entry with seq > since, or NULL; then sj_ring_after(e). */
const sj_entry *sj_ring_first_after(const sj_ring *r, uint64_t since);
const sj_entry *sj_ring_after(const sj_ring *r, const sj_entry *e);

#endif
