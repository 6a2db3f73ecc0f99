/*
 * daemon/sd.h: siplined's state, shared by its modules (internal).
 *
 * One sd per process. The loop is libuv's; the UA is the library's
 * sans-IO core, and every module that calls into it (net, dns, ctl,
 * signals, timers) calls sd_drive() afterwards, which pulls what the UA
 * wants to send, its events and its next deadline.
 */
#ifndef SIPLINED_SD_H
#define SIPLINED_SD_H

#include <openssl/ssl.h>
#include <uv.h>

#include "ctljson.h"
#include "opts.h"
#include "sipline/profile.h"
#include "sipline/sdp.h"
#include "sipline/ua.h"
#include "slab.h"
#include "trace.h"

typedef struct sd_udp sd_udp;
typedef struct sd_conn sd_conn;
typedef struct sd_tcpl sd_tcpl;
typedef struct sd_ctlc sd_ctlc;
typedef struct sd_dns sd_dns;
typedef struct sd_fetch sd_fetch;
typedef struct sd_pace sd_pace;

typedef struct sd {
  uv_loop_t *loop;
  sd_opts o;
  /* The running profile: the UA's own copy (sipline_ua_profile) while a UA
   * exists, else `loaded`. The daemon frees its parsed profile as soon as
   * the UA has copied it, so that 10,000 lines hold one profile, not two
   * (~850 B per line, bench/fleet). */
  const sipline_profile *profile;
  sipline_profile *loaded; /* owned: parsed, not yet handed to a UA */
  sipline_ua *ua;
  char instance[64]; /* the +sip.instance URN, one per process */
  unsigned ua_gen;   /* bumped for every new UA: stale async answers drop */
  uint64_t mono0;    /* uv_hrtime() at start */
  sj_clock ck;
  int driving, drive_again;

  uv_timer_t ua_timer;
  uv_timer_t stop_timer;
  /* Gives freed heap back to the system (main.c): after a burst, the
   * memory of server transactions kept for Timer J is free again but
   * scattered between live blocks, where free() alone never returns it. */
  uv_timer_t trim_timer;
  uint64_t heap_trims; /* malloc_trim calls that ran */
  size_t heap_low;     /* malloc's lowest free bytes since the last trim */
  /* The core's allocator (slab.c; NULL: malloc): the UA's small blocks in
   * spans of one size, so that a burst's transactions leave no holes
   * pinned by the lines' blocks. Created at start, kept across reloads. */
  sd_slab *slab;
  uv_signal_t sig[3];
  int stopping;                  /* SIGTERM/SIGINT seen */
  int reloading;                 /* old UA shutting down before the new one */
  sipline_profile *next;         /* the profile to switch to after reloading */
  unsigned char profile_sha[32]; /* of the file the running UA came from */
  int exit_code;

  /* network (net.c) */
  sd_udp *udp;
  sd_conn *conns;
  sd_tcpl *tcpl;
  SSL_CTX *tls;
  sd_pace *pace; /* --max-pending (pace.c); NULL when off */
  /* DNS (dns.c), fetches (fetch.c) */
  sd_dns *dns;
  sd_fetch *fetch;
  /* control (ctl.c) */
  uv_pipe_t ctl;
  int ctl_open;
  sd_ctlc *clients;
  sj_ring *ring;
  /* calls (calls.c): what the daemon does as the calls' application */
  struct sd_call {
    unsigned id, line;
    sipline_tstamp answer_at; /* Auto_Answer: NONE when not pending */
    int ring_pending;         /* secure line: 180 once the offer passed */
    int hold;                 /* our last offer was a=sendonly */
    struct sipline_media *media; /* its RTP session (media/media.h) */
    sipline_sdp_origin origin;   /* our o= line across the call */
    char play[256], record[256]; /* what to send, where to record */
    char *inv_offer;             /* the INVITE's offer, until answered */
    char key[64];                /* our SDES key params ("inline:...") */
    size_t inv_offer_len;
  } calls[256];
  unsigned n_calls;
  /* traces */
  spcap *pcap;
  uv_udp_t hep;
  int hep_open;
  struct sockaddr_storage hep_addr;
} sd;

/* ---- calls.c: the application side of calls ---- */
/* Places a call from line with our SDP offer. 0 or a SIPLINE_ERR_*. */
int sd_call_place(sd *d, unsigned line, const char *to, const char *play,
                  const char *record, unsigned *id);
/* Sets what a call plays and records (before or during it). */
int sd_call_media_files(sd *d, unsigned id, const char *play,
                        const char *record);
/* Sends DTMF digits on a call (RFC 4733). */
int sd_call_dtmf(sd *d, unsigned id, const char *digits);
/* One call for `status`: id, line, state, peer, codec, direction,
 * session timer, RTP counts. NULL when the core no longer knows it. */
cJSON *sd_call_status(sd *d, const struct sd_call *c);
/* Frees every call's media (at exit or before a new UA). */
void sd_calls_free(sd *d);
/* A core event about calls: ring, auto-answer, answer remote offers. */
void sd_calls_on_event(sd *d, const sipline_event *ev);
/* Checks the lines' Answer_Play_n_ (a sound file we can play) and
 * Answer_Record_Dir_n_ (a writable directory): 0, or -1 with one line in
 * err naming the tag, the path and what is wrong. */
int sd_calls_check_profile(const sipline_profile *p, char *err, size_t cap);
/* The earliest auto-answer due (NONE), and running what is due. */
sipline_tstamp sd_calls_next(const sd *d);
void sd_calls_run(sd *d, sipline_tstamp now);
/* The control commands answer, reject, hold, resume, update, reinvite:
 * 0 or a SIPLINE_ERR_*. arg: reject's status, update's "with SDP". */
int sd_call_cmd(sd *d, const char *cmd, unsigned id, int arg);

/* The C library's heap: bytes in use and free (held by malloc); 0 and 0
 * where the C library cannot tell (not glibc, or a sanitizer's allocator). */
void sd_heap_usage(size_t *in_use, size_t *free_held);
/* Gives free heap back to the system when malloc holds much of it unused,
 * and the core's empty spans (slab.c); main.c calls it every
 * SD_TRIM_EVERY_MS. */
#define SD_TRIM_EVERY_MS 2000
/* Empty spans of the core's allocator kept resident across a trim: the
 * most recently emptied, which steady traffic reuses at once (512 KiB). */
#define SD_SLAB_KEEP 32
/* The core's allocator for this process: NULL under AddressSanitizer
 * (which then sees the core's blocks) or when no address space could be
 * reserved (the core then uses malloc). */
sd_slab *sd_slab_open(void);
void sd_heap_trim(sd *d);

/* Milliseconds since the daemon started (the UA's clock). */
sipline_tstamp sd_now(sd *d);
/* Drains the UA's output and events and re-arms its timer. */
void sd_drive(sd *d);
/* Logs a line and puts a daemon-made event on the control stream. */
void sd_emit(sd *d, cJSON *ev);
/* Puts a tx/rx-class event (only for clients asking "messages"). */
void sd_push_message(sd *d, cJSON *ev);

/* net.c */
int net_init(sd *d);
int net_open(sd *d);              /* the sockets the profile's lines need */
void net_close(sd *d, int quiet); /* closes every socket and connection */
void net_send(sd *d, const sipline_path *path, const uint8_t *p, size_t n);
/* Called by net.c for every SIP message on the wire (traces, events). */
void sd_wire(sd *d, int tx, int proto, const sipline_path *path,
             const sipline_addr *src, const sipline_addr *dst, const uint8_t *p,
             size_t n);
int sd_addr_from_sa(const struct sockaddr *sa, sipline_addr *a);
/* Sends a UDP datagram now, past the pacer (pace.c calls it). */
void net_udp_send_now(sd *d, const sipline_path *path, const uint8_t *p,
                      size_t n);

/* pace.c: --max-pending, a window of UDP requests in flight per
 * destination */
int pace_init(sd *d); /* nothing when off; -1 without memory */
/* 1 when pace.c took the datagram (sent it, queued it, or dropped it as a
 * copy of one still queued): the caller must not send it; 0: send it. */
int pace_hold(sd *d, const sipline_path *path, const uint8_t *p, size_t n);
/* A UDP datagram received: a final response frees its request's slot. */
void pace_rx(sd *d, const uint8_t *p, size_t n);
/* An ICMP error from remote: its slots free, what waits for it dropped. */
void pace_unreachable(sd *d, const sipline_addr *remote);
/* Drops what is queued (the sockets are closing). */
void pace_clear(sd *d);
void pace_close(sd *d);
/* Datagrams that waited, copies dropped, queued now, the most queued. */
void pace_stats(const sd *d, uint64_t *delayed, uint64_t *deduped,
                size_t *queued, size_t *max_queued);
void sd_addr_to_sa(const sipline_addr *a, struct sockaddr_storage *ss);

/* dns.c */
int dns_init(sd *d);
void dns_query(sd *d, unsigned id, int qtype, const char *name);
void dns_close(sd *d);

/* fetch.c */
int fetch_init(sd *d);
void fetch_start(sd *d, unsigned line, const char *url);
void fetch_close(sd *d);
/* The first element's name of an XML document ("CiscoIPPhoneText"). */
int fetch_xml_root(const char *p, size_t n, char *out, size_t cap);

/* ctl.c */
int ctl_open(sd *d);
void ctl_close(sd *d);
/* Sends a ring entry to every following client. */
void ctl_broadcast(sd *d, const sj_entry *e);
/* Handles one request; writes response lines with ctl_reply. */
void sd_ctl_request(sd *d, sd_ctlc *c, cJSON *req);
void ctl_reply(sd_ctlc *c, const char *line);
void ctl_reply_obj(sd_ctlc *c, cJSON *o); /* takes ownership */
void ctl_follow(sd *d, sd_ctlc *c, uint64_t since, int messages, int follow);

/* daemon.c */
/* Reads and parses a profile; sha (may be NULL) gets the file's SHA-256. */
int sd_load_profile(const char *path, sipline_profile **out, char *err,
                    size_t errcap, unsigned char sha[32]);
int sd_apply_overrides(sd *d, sipline_profile *p, char *err, size_t cap);
int sd_start_ua(sd *d);
void sd_stop(sd *d, const char *why);
int sd_reload(sd *d, char *err, size_t cap);

#endif
