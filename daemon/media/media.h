/*
 * siplined's media engine: one RTP session per call on a libuv loop,
 * independent of SIP. The daemon builds its SDP from sipline_media_local()
 * (the real bound socket) and applies each negotiated answer with
 * sipline_media_set(); an UPDATE or re-INVITE that changes the address,
 * port, codec, direction or keys is one more sipline_media_set() on the
 * running session: the SSRC stays and the sequence numbers and
 * timestamps continue.
 *
 * What it does: G.711 PCMU (PT 0) and PCMA (PT 8) at 8 kHz with 20 ms
 * packets; RFC 4733 telephone-events sent (end packet sent three times)
 * and received; symmetric RTP (optional); a fixed 40 ms jitter buffer with
 * a simple concealment (the last frame repeated, fading); RTCP SR/RR with SDES
 * CNAME every ~5 s (RFC 3550 randomised interval) and a BYE at the end, on
 * port+1 or muxed (RFC 5761); SRTP with SDES keys (RFC 4568,
 * AES_CM_128_HMAC_SHA1_80) via libsrtp2. Sources: a sound file (libsndfile;
 * converted to 8 kHz mono), a tone or silence; sink: a WAV recording (8 kHz
 * mono 16-bit) of what is played out.
 *
 * Ownership: the session belongs to its creator; sipline_media_del()
 * sends the RTCP BYE and closes the sockets, and the memory is freed from
 * the loop once libuv has closed them (run the loop after it).
 * Errors are 0 or negative SIPLINE_ERR_* (sipline/base.h).
 */
#ifndef SIPLINED_MEDIA_H
#define SIPLINED_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>
#include <uv.h>

#include <sipline/base.h>

typedef struct sipline_media sipline_media;

/* The SDP direction attribute, as bits: 1 we send, 2 we receive. */
typedef enum sipline_media_dir {
  SIPLINE_MEDIA_INACTIVE = 0,
  SIPLINE_MEDIA_SENDONLY = 1,
  SIPLINE_MEDIA_RECVONLY = 2,
  SIPLINE_MEDIA_SENDRECV = 3,
} sipline_media_dir;

/* The name of a direction as in SDP ("sendrecv", ...). */
const char *sipline_media_dir_name(sipline_media_dir d);

/* Fills buf with n random bytes (SSRC, initial sequence number and
 * timestamp, port choice, SRTP keys, RTCP interval). */
typedef void sipline_media_rand_fn(void *arg, uint8_t *buf, size_t n);
/* A digit received as an RFC 4733 event (or detected in-band when asked):
 * reported once per event, when its first packet arrives. */
typedef void sipline_media_dtmf_fn(void *arg, sipline_media *m, char digit);

typedef struct sipline_media_opts {
  /* Numeric address to bind: "0.0.0.0" (default), "::" (both families),
   * "127.0.0.1", "::1", ... */
  const char *local_ip;
  /* Range for the RTP port (even; RTCP takes the next one). Default
   * 16384-32767. A random even port of the range is tried first, then the
   * following ones, wrapping. */
  uint16_t port_min, port_max;
  /* SDES CNAME; default "siplined@" + local_ip. */
  const char *cname;
  /* Random source; default uv_random() (the OS's). */
  sipline_media_rand_fn *rand;
  void *rand_arg;
  sipline_media_dtmf_fn *on_dtmf;
  void *arg;
  /* Detect DTMF in the received audio too (spandsp), for peers that send
   * it in-band. Off by default. */
  bool inband_dtmf;
  /* Jitter buffer: playout starts with jb_prefetch packets (default 2 =
   * 40 ms) and holds at most jb_max (default 6 = 120 ms). */
  unsigned jb_prefetch, jb_max;
} sipline_media_opts;

typedef struct sipline_media_params {
  /* The peer's address and RTP port; family AF_UNSPEC: none yet (nothing
   * is sent). An IPv4 peer on a session bound to "::" is reached through
   * its v4-mapped address. */
  struct sockaddr_storage remote;
  uint16_t remote_rtcp_port; /* 0: RTP port + 1 (ignored with rtcp_mux) */
  bool rtcp_mux;             /* RTCP on the RTP port both ways */
  uint8_t pt;                /* 0 PCMU or 8 PCMA */
  int dtmf_pt;               /* telephone-event PT 96-127, or -1 */
  sipline_media_dir dir;
  /* Send to where the peer's RTP (RTCP) comes from once it arrives
   * authenticated, instead of the address it signalled. */
  bool symmetric;
  /* SRTP: both a=crypto values, ours (we send with it) and the peer's
   * (it sends with it), "a=crypto:" optional; both NULL for plain RTP. */
  const char *srtp_local;
  const char *srtp_remote;
} sipline_media_params;

typedef struct sipline_media_stats {
  uint32_t ssrc, remote_ssrc;
  uint64_t pkts_sent, octets_sent; /* RTP, payload octets (RFC 3550) */
  uint64_t pkts_recv, octets_recv; /* RTP accepted */
  uint64_t pkts_dropped;           /* unusable: not receiving, bad PT,
                                      malformed, after SRTP failure */
  uint64_t srtp_auth_fail;         /* SRTP/SRTCP that did not verify */
  int32_t lost;                    /* RFC 3550 cumulative, received */
  uint32_t jitter;                 /* interarrival jitter, ts units */
  uint64_t concealed;              /* frames played by PLC */
  uint64_t late, dup;              /* jitter buffer */
  uint64_t rtcp_sent, rtcp_recv;
  uint64_t dtmf_sent, dtmf_recv; /* digits */
  uint64_t recorded;             /* samples written to the recording */
  bool remote_bye;               /* an RTCP BYE came */
  int32_t peer_lost;             /* from the peer's last report block */
  uint32_t peer_jitter;
  uint32_t rtt_ms; /* from the peer's LSR/DLSR, 0: none */
} sipline_media_stats;

/* Creates a session bound to an even/odd UDP port pair and starts its
 * 20 ms clock (nothing is sent before sipline_media_set gives a remote).
 * SIPLINE_ERR_INVAL (bad address or range), SIPLINE_ERR_EXISTS (no free
 * pair in the range), SIPLINE_ERR_IO, SIPLINE_ERR_NOMEM. */
int sipline_media_new(sipline_media **pm, uv_loop_t *loop,
                      const sipline_media_opts *o);
/* Sends the RTCP BYE, stops recording, closes; NULL is fine. */
void sipline_media_del(sipline_media *m);

/* The bound RTP address and port (RTCP is port + 1), for the SDP. A
 * session bound to a wildcard address reports the wildcard: the daemon
 * puts its own signalling address in c=. */
int sipline_media_local(const sipline_media *m, struct sockaddr_storage *rtp);
/* Moves the session to a new port pair of the same address and range (the
 * peer is told by the next offer); SSRC, sequence and timestamp go on. */
int sipline_media_rebind(sipline_media *m);

/* Applies negotiated parameters, first or again mid-stream.
 * SIPLINE_ERR_INVAL (PT, address family), SIPLINE_ERR_MALFORMED or
 * SIPLINE_ERR_UNSUPPORTED (a crypto line, see rtp.h), SIPLINE_ERR_CRYPTO.
 * On error nothing changes. */
int sipline_media_set(sipline_media *m, const sipline_media_params *p);

/* What is sent: a sound file (converted to 8 kHz mono, see audio.h), a
 * tone, or silence (the default). A file that ends is followed by silence
 * (the stream goes on). */
int sipline_media_play_file(sipline_media *m, const char *path, bool loop);
/* Whether sipline_media_play_file could play path (for checking a
 * configuration before any call): 0, or SIPLINE_ERR_IO /
 * SIPLINE_ERR_TOOBIG with the reason in why. */
int sipline_media_file_check(const char *path, char *why, size_t cap);
void sipline_media_play_tone(sipline_media *m, double hz, double dbm0);
void sipline_media_play_silence(sipline_media *m);
/* Whether a file that does not loop has played to its end. */
bool sipline_media_play_done(const sipline_media *m);
/* Records what is played out (received audio, concealment included) to a
 * WAV file; NULL stops. SIPLINE_ERR_IO. */
int sipline_media_record(sipline_media *m, const char *path);
/* Queues digits (0-9 * # A-D) to send as RFC 4733 events of 100 ms with
 * 60 ms between them. SIPLINE_ERR_STATE without a telephone-event PT,
 * SIPLINE_ERR_INVAL for another character, SIPLINE_ERR_TOOBIG when more
 * than 64 wait. */
int sipline_media_dtmf(sipline_media *m, const char *digits);

void sipline_media_stats_get(const sipline_media *m, sipline_media_stats *st);

/* Makes an a=crypto value with a fresh key: "TAG AES_CM_128_HMAC_SHA1_80
 * inline:KEY". Returns its length, or SIPLINE_ERR_TOOBIG. */
int sipline_media_sdes_new(char *out, size_t cap, unsigned tag,
                           sipline_media_rand_fn *rand, void *rand_arg);

#endif
