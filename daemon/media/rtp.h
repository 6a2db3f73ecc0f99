/*
 * The pure parts of siplined's media engine: RTP headers (RFC 3550 §5),
 * RFC 4733 telephone-event payloads, RTCP compound packets (SR/RR, SDES
 * CNAME, BYE), receive statistics (RFC 3550 A.1, A.3, A.8), the RTCP
 * interval (A.7), a jitter buffer and the SDES a=crypto line (RFC 4568).
 * No socket, no clock, no random source: the session (media.c) passes
 * times and random numbers in, so all of this is unit-tested alone
 * (daemon/tests/test_daemon_media_rtp.c).
 *
 * Errors are 0 or negative SIPLINE_ERR_* (sipline/base.h).
 */
#ifndef SIPLINED_MEDIA_RTP_H
#define SIPLINED_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sipline/base.h>

/* ---- RTP (RFC 3550 §5.1) ------------------------------------------------ */

#define SM_RTP_HDR 12 /* fixed header, no CSRC, no extension */

typedef struct sm_rtp {
  uint8_t pt;
  bool marker;
  uint16_t seq;
  uint32_t ts;
  uint32_t ssrc;
  uint8_t cc;             /* CSRC count (the CSRCs are skipped) */
  bool has_ext;           /* the X bit: ext_profile and ext_len valid */
  uint16_t ext_profile;   /* "defined by profile" word */
  size_t ext_len;         /* extension length in bytes (without its word) */
  const uint8_t *payload; /* view into the packet */
  size_t plen;            /* payload length, padding removed */
} sm_rtp;

/* Parses an RTP packet. The payload is a view into p. SIPLINE_ERR_MALFORMED
 * for a version other than 2, a packet shorter than its header, CSRC list
 * or extension, and a padding count of 0 or longer than the payload. */
int sm_rtp_unpack(const uint8_t *p, size_t n, sm_rtp *r);

/* Writes the 12-byte fixed header of r (cc, extension and padding are
 * not written: we never send them). Returns SM_RTP_HDR, or
 * SIPLINE_ERR_TOOBIG when cap is smaller. */
int sm_rtp_pack(uint8_t *out, size_t cap, const sm_rtp *r);

/* Whether a datagram is RTCP rather than RTP when both share a port
 * (RFC 5761 §4: payload types 64-95 are RTCP packet types 192-223). */
bool sm_is_rtcp(const uint8_t *p, size_t n);

/* ---- RFC 4733 telephone-event ------------------------------------------- */

typedef struct sm_tev {
  uint8_t event; /* 0-9 digits, 10 '*', 11 '#', 12-15 A-D */
  bool end;
  uint8_t volume;    /* 0..63, -dBm0 */
  uint16_t duration; /* in timestamp units */
} sm_tev;

#define SM_TEV_LEN 4

/* Parses the first event of a telephone-event payload (a payload may
 * carry more, RFC 4733 §2.5.1.5; we only send one and read the first).
 * SIPLINE_ERR_MALFORMED when shorter than 4 bytes. */
int sm_tev_unpack(const uint8_t *p, size_t n, sm_tev *e);
void sm_tev_pack(uint8_t out[SM_TEV_LEN], const sm_tev *e);
/* The event code of a DTMF digit (0-9 * # A-D, case-insensitive), or -1. */
int sm_tev_from_digit(char c);
/* The digit of an event code 0..15, or 0 for anything else. */
char sm_tev_digit(uint8_t event);

/* ---- receive statistics (RFC 3550 A.1, A.3, A.8) ------------------------ */

typedef struct sm_rxstat {
  bool init;
  uint32_t ssrc;
  uint16_t max_seq;
  uint32_t cycles; /* shifted count of sequence number cycles */
  uint32_t base_seq;
  uint32_t bad_seq;
  uint32_t probation;
  uint32_t received; /* packets accepted (duplicates included) */
  uint32_t expected_prior, received_prior;
  uint32_t transit; /* last relative transit time */
  bool have_transit;
  uint32_t jitter; /* RFC 3550 A.8, scaled by 16 */
} sm_rxstat;

/* Feeds one packet's header. arrival is the arrival time in timestamp units
 * (any origin). Returns 0 when the packet counts, SIPLINE_ERR_AGAIN while a
 * new source is on probation or a big jump awaits confirmation. A new
 * SSRC restarts the statistics. */
int sm_rxstat_update(sm_rxstat *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
                     uint32_t arrival);
uint32_t sm_rxstat_ext_max(const sm_rxstat *s);
/* Cumulative packets lost (may be negative with duplicates, RFC 3550). */
int32_t sm_rxstat_lost(const sm_rxstat *s);
/* Fraction lost since the last call, 8-bit fixed point; advances the
 * interval. */
uint8_t sm_rxstat_fraction(sm_rxstat *s);
/* Interarrival jitter in timestamp units. */
static inline uint32_t sm_rxstat_jitter(const sm_rxstat *s) {
  return s->jitter >> 4;
}

/* ---- RTCP (RFC 3550 §6) ------------------------------------------------- */

typedef struct sm_rtcp_rb { /* one report block */
  uint32_t ssrc;
  uint8_t fraction;
  int32_t lost; /* 24-bit signed */
  uint32_t ext_max;
  uint32_t jitter;
  uint32_t lsr, dlsr;
} sm_rtcp_rb;

typedef struct sm_rtcp_info {
  uint32_t ssrc;         /* the sender of the SR or RR */
  bool sr;               /* the first packet was an SR */
  uint64_t ntp;          /* SR: NTP timestamp */
  uint32_t rtp_ts;       /* SR: RTP timestamp */
  uint32_t pkts, octets; /* SR: sender's counts */
  unsigned nrb;
  sm_rtcp_rb rb[4];     /* the first four report blocks */
  const uint8_t *cname; /* view: SDES CNAME of ssrc, or NULL */
  size_t cname_len;
  bool bye; /* a BYE from ssrc */
} sm_rtcp_info;

/* What a compound packet we build says. */
typedef struct sm_rtcp_out {
  uint32_t ssrc;
  bool sr; /* we sent RTP since the last report */
  uint64_t ntp;
  uint32_t rtp_ts, pkts, octets;
  const sm_rtcp_rb *rb; /* 0 or 1 block */
  unsigned nrb;
  const char *cname; /* at most 255 bytes */
  bool bye;
} sm_rtcp_out;

/* Builds SR or RR, SDES CNAME and optionally BYE into out. Returns the
 * length, SIPLINE_ERR_TOOBIG when cap is too small, SIPLINE_ERR_INVAL for
 * more than 31 blocks or a CNAME over 255 bytes. */
int sm_rtcp_build(uint8_t *out, size_t cap, const sm_rtcp_out *o);

/* Parses a compound packet with the RFC 3550 A.2 validity checks (version
 * 2 everywhere, the first packet an SR or RR without padding, lengths
 * adding up to the datagram). Unknown packet types are skipped.
 * SIPLINE_ERR_MALFORMED otherwise. */
int sm_rtcp_parse(const uint8_t *p, size_t n, sm_rtcp_info *info);

/* The RTCP interval in ms (RFC 3550 A.7 for two parties: 5 s minimum,
 * halved before the first report, randomised by rnd in [0,1) to
 * [0.5,1.5] of it, divided by e - 3/2). */
uint64_t sm_rtcp_interval_ms(bool initial, double rnd);

/* ---- jitter buffer ------------------------------------------------------ */

#define SM_JB_SLOTS 32  /* 640 ms of 20 ms packets */
#define SM_JB_FRAME 320 /* largest payload kept (40 ms of G.711) */

typedef struct sm_jb_slot {
  bool used;
  uint16_t seq;
  uint16_t len;
  uint8_t data[SM_JB_FRAME];
} sm_jb_slot;

typedef struct sm_jb_stats {
  uint64_t put, dup, late, reset, played, missing, overflow;
} sm_jb_stats;

/* A fixed-delay buffer for a LAN: playout starts once `prefetch` packets
 * (default 2 = 40 ms) are in; then each sm_jb_get (one per 20 ms tick)
 * plays the next sequence number, or reports it missing. Packets are
 * ordered by sequence number (mod 2^16), so reordering within the window,
 * duplicates, wrap and timestamp jumps need nothing more; a new SSRC or a
 * sequence jump beyond the window restarts it; it drops the oldest when
 * more than `max` (default 6 = 120 ms) wait, so a sender whose clock runs
 * fast cannot grow the delay without bound. */
typedef struct sm_jb {
  unsigned prefetch, max;
  bool have_ssrc, playing;
  bool ran;      /* played since the last restart: `last` is valid */
  uint16_t last; /* the last sequence number played */
  uint32_t ssrc;
  uint16_t next;   /* next sequence number to play */
  uint16_t hi;     /* highest sequence number stored */
  unsigned misses; /* consecutive missing frames */
  sm_jb_stats st;
  sm_jb_slot slot[SM_JB_SLOTS];
} sm_jb;

enum { SM_JB_OK = 0, SM_JB_DUP = 1, SM_JB_LATE = 2, SM_JB_RESET = 3 };
enum { SM_JB_FRAME_OK = 0, SM_JB_FRAME_LOST = 1, SM_JB_EMPTY = 2 };

void sm_jb_init(sm_jb *jb, unsigned prefetch, unsigned max);
/* Stores a payload. Returns SM_JB_OK, SM_JB_DUP or SM_JB_LATE (dropped),
 * SM_JB_RESET (stored after a restart), or SIPLINE_ERR_TOOBIG. */
int sm_jb_put(sm_jb *jb, uint32_t ssrc, uint16_t seq, const uint8_t *p,
              size_t n);
/* One tick: SM_JB_FRAME_OK with the payload copied to out (*n set),
 * SM_JB_FRAME_LOST (conceal it), or SM_JB_EMPTY (not playing: silence). */
int sm_jb_get(sm_jb *jb, uint8_t out[SM_JB_FRAME], size_t *n);
/* Frames waiting from the playout point on (depth). */
unsigned sm_jb_depth(const sm_jb *jb);

/* ---- SDES crypto attribute (RFC 4568 §9.1) ------------------------------ */

#define SM_SRTP_KEYLEN 30 /* AES_CM_128: 16-byte key + 14-byte salt */
#define SM_SDES_B64 40    /* base64 of 30 bytes */

typedef struct sm_sdes {
  unsigned tag;
  uint8_t key[SM_SRTP_KEYLEN];
} sm_sdes;

/* Parses the value of an a=crypto attribute ("a=crypto:" may be included):
 * "TAG AES_CM_128_HMAC_SHA1_80 inline:KEY[|LIFETIME][|MKI:LEN]
 * [session-params]". SIPLINE_ERR_UNSUPPORTED for another suite, a second
 * key-params (';'), an MKI, or session parameters; SIPLINE_ERR_MALFORMED
 * for bad syntax or a key that is not base64 of 30 bytes. */
int sm_sdes_parse(const char *s, size_t n, sm_sdes *out);
/* Prints "TAG AES_CM_128_HMAC_SHA1_80 inline:KEY" (without "a=crypto:").
 * Returns the length, or SIPLINE_ERR_TOOBIG. */
int sm_sdes_print(char *out, size_t cap, const sm_sdes *in);

#endif
