/*
 * sipline/sdp.h: SDP (RFC 8866, formerly RFC 4566) as zero-copy views, a
 * printer, and RFC 3264 offer/answer helpers.
 *
 * The core stays media-free: nothing here opens a socket or touches RTP.
 * An application (the daemon) uses these functions to build the offers and
 * answers it hands to sipline_ua_call() and sipline_ua_call_sdp(), and to
 * read what the peer chose.
 *
 * Ownership: sipline_sdp_parse() fills a caller-owned, fixed-size structure
 * whose views point into the caller's input buffer; it allocates nothing, so
 * the structure is valid as long as that buffer is. The structure is large
 * (about 90 KiB with the bounds below): keep it static, on the heap or in a
 * longer-lived object rather than on a small thread stack. Output functions
 * write into a caller buffer and NUL-terminate it.
 *
 * Parser choices (strict where RFC 8866 is, lenient where phones are
 * sloppy):
 *  - strict: v=, o=, s= must be the first three lines, in that order; v= is
 *    "0"; o= has six fields with numeric sess-id and sess-version; at least
 *    one t= line before the first m=; r= only after a t=; m= sections hold
 *    only i, c, b, k, a; each single-valued line (i, u, z, k, session c)
 *    at most once per level; a type letter RFC 8866 does not define (e.g.
 *    "x=") is malformed, as §5 lets a parser reject; a NUL or a lone CR
 *    anywhere is malformed; a line is "<a-z>=<value>" with nothing around
 *    '='; ports are decimal 0..65535; IP4 and IP6 addresses are checked,
 *    and a name in o=/c= must look like an FQDN (letters, digits, '-', '.',
 *    at least one letter); an IP4 multicast c= needs its /ttl (0..255) and
 *    may add /count, an IP6 multicast c= may have /count only, a unicast c=
 *    has neither; m= needs at least one format.
 *  - lenient: lines end in CRLF or a bare LF; the last line may lack its
 *    line end; blank lines at the very end are ignored; trailing spaces and
 *    tabs on a line are ignored (so "s= " reads as an empty name, which the
 *    printer writes back as "s= "); s= may be empty; fields of o=, c=, m=
 *    and t= may be separated by more than one space; the optional
 *    session-level lines (i, u, e, p, c, b, t, r, z, k, a) may come in any
 *    order after s= and before the first m=, and so may i, c, b, k, a within
 *    a media section (the printer writes the RFC order); an empty i= or a=
 *    value ("a=name:") is kept as an empty view rather than refused.
 */
#ifndef SIPLINE_SDP_H
#define SIPLINE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sipline/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds of the parsed structure: more gives SIPLINE_ERR_TOOBIG. */
#define SIPLINE_SDP_MAX_MEDIA 16  /* m= sections */
#define SIPLINE_SDP_MAX_FMT 64    /* formats on one m= line */
#define SIPLINE_SDP_MAX_ATTR 64   /* a= lines per level (session, media) */
#define SIPLINE_SDP_MAX_BW 8      /* b= lines per level */
#define SIPLINE_SDP_MAX_CONN 4    /* c= lines per media section */
#define SIPLINE_SDP_MAX_TIME 8    /* t= lines */
#define SIPLINE_SDP_MAX_REPEAT 4  /* r= lines per t= */
#define SIPLINE_SDP_MAX_CONTACT 4 /* e= lines, and p= lines */
#define SIPLINE_SDP_MAX_CODECS 16 /* codecs of one sipline_sdp_local_media */

/* As a media index: the session level. */
#define SIPLINE_SDP_SESSION UINT32_MAX

/* A connection (c=) line: "IN IP4 224.2.1.1/127/3". */
typedef struct sipline_sdp_conn {
  sipline_pl nettype;  /* "IN" */
  sipline_pl addrtype; /* "IP4", "IP6" or another token */
  sipline_pl address;  /* without /ttl and /count (raw for non-IN types) */
  bool has_ttl;        /* IP4 multicast only */
  uint8_t ttl;
  uint32_t count; /* the /count of multicast addresses; 0 when absent */
} sipline_sdp_conn;

/* A bandwidth (b=) line: "AS:64". */
typedef struct sipline_sdp_bw {
  sipline_pl type;
  uint64_t value;
} sipline_sdp_bw;

/* An attribute (a=) line: "rtpmap:0 PCMU/8000" or the flag "sendrecv". */
typedef struct sipline_sdp_attr {
  sipline_pl name;
  sipline_pl value; /* empty for a flag */
  bool has_value;   /* true when a ':' followed the name */
} sipline_sdp_attr;

/* A time description: t= and its r= lines (kept raw). */
typedef struct sipline_sdp_time {
  uint64_t start, stop;
  sipline_pl r[SIPLINE_SDP_MAX_REPEAT];
  unsigned n_r;
} sipline_sdp_time;

/* The o= line: username sess-id sess-version nettype addrtype address. */
typedef struct sipline_sdp_o {
  sipline_pl username;
  sipline_pl sess_id;      /* digits (may exceed 64 bits) */
  sipline_pl sess_version; /* digits */
  sipline_pl nettype, addrtype, address;
} sipline_sdp_o;

/*
 * A media section. Optional single lines are views with p == NULL when the
 * line is absent.
 */
typedef struct sipline_sdp_media {
  sipline_pl media; /* "audio", "video", ... */
  uint16_t port;    /* 0: disabled or rejected */
  uint32_t nports;  /* the "/2" of "49170/2"; 0 when absent */
  sipline_pl proto; /* "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", ... */
  sipline_pl fmt[SIPLINE_SDP_MAX_FMT];
  unsigned n_fmt;
  sipline_pl i; /* i= */
  sipline_sdp_conn c[SIPLINE_SDP_MAX_CONN];
  unsigned n_c;
  sipline_sdp_bw b[SIPLINE_SDP_MAX_BW];
  unsigned n_b;
  sipline_pl k; /* k=, raw */
  sipline_sdp_attr a[SIPLINE_SDP_MAX_ATTR];
  unsigned n_a;
} sipline_sdp_media;

/* A parsed session description; zero it before filling one by hand. */
typedef struct sipline_sdp {
  sipline_sdp_o o;
  sipline_pl s;    /* session name (may be empty, see above) */
  sipline_pl i, u; /* p == NULL when absent */
  sipline_pl e[SIPLINE_SDP_MAX_CONTACT];
  unsigned n_e;
  sipline_pl p[SIPLINE_SDP_MAX_CONTACT];
  unsigned n_p;
  sipline_sdp_conn c;
  bool has_c;
  sipline_sdp_bw b[SIPLINE_SDP_MAX_BW];
  unsigned n_b;
  sipline_sdp_time t[SIPLINE_SDP_MAX_TIME];
  unsigned n_t;
  sipline_pl z, k; /* raw; p == NULL when absent */
  sipline_sdp_attr a[SIPLINE_SDP_MAX_ATTR];
  unsigned n_a;
  sipline_sdp_media m[SIPLINE_SDP_MAX_MEDIA];
  unsigned n_m;
} sipline_sdp;

/*
 * Parses the n bytes at p (a whole body, not NUL-terminated) into *out,
 * which is zeroed first. Views point into p.
 * Returns 0; SIPLINE_ERR_INVAL (out NULL, or p NULL with n > 0);
 * SIPLINE_ERR_MALFORMED (the grammar, see the top of this file);
 * SIPLINE_ERR_TOOBIG (a bound above). After a failure *out is unspecified.
 */
int sipline_sdp_parse(sipline_sdp *out, const char *p, size_t n);

/*
 * 1 when a and b hold the same description field by field (views compared
 * by their bytes, numbers by value), else 0. Printing a parsed description
 * and parsing the text again gives an equal one.
 */
int sipline_sdp_equal(const sipline_sdp *a, const sipline_sdp *b);

/*
 * Writes s as SDP text into out (CRLF line ends, lines in RFC 8866 order:
 * v o s i u e p c b t r z k a, then per media m i c b k a) and a
 * terminating NUL; an empty s= is written "s= ". Returns the length without
 * the NUL; SIPLINE_ERR_TOOBIG (cap too small, counting the NUL);
 * SIPLINE_ERR_INVAL (a view holds CR, LF or NUL, which would inject lines,
 * or a count exceeds its bound).
 */
ptrdiff_t sipline_sdp_print(const sipline_sdp *s, char *out, size_t cap);

/* --- reading helpers ------------------------------------------------------ */

/* Media direction (RFC 3264 §5.1). */
typedef enum sipline_sdp_dir {
  SIPLINE_SDP_SENDRECV = 0,
  SIPLINE_SDP_SENDONLY,
  SIPLINE_SDP_RECVONLY,
  SIPLINE_SDP_INACTIVE,
} sipline_sdp_dir;

/* "sendrecv", "sendonly", "recvonly", "inactive" ("sendrecv" otherwise). */
const char *sipline_sdp_dir_name(sipline_sdp_dir d);

/*
 * The effective direction of media section mi: its own direction
 * attribute, else the session's, else sendrecv. The last such attribute of
 * a level wins. mi out of range gives the session's (else sendrecv).
 */
sipline_sdp_dir sipline_sdp_media_dir(const sipline_sdp *s, unsigned mi);

/*
 * The effective connection of media section mi: its first c=, else the
 * session c=; NULL when neither exists or mi is out of range.
 */
const sipline_sdp_conn *sipline_sdp_media_conn(const sipline_sdp *s,
                                               unsigned mi);

/*
 * The value of the first attribute called name (ignoring case) in media
 * section mi, or at session level when mi is SIPLINE_SDP_SESSION; value may
 * be NULL. Returns 0 or SIPLINE_ERR_NOTFOUND.
 */
int sipline_sdp_attr_get(const sipline_sdp *s, unsigned mi, const char *name,
                         sipline_pl *value);

/* One payload type's encoding, from a=rtpmap or RFC 3551's static table. */
typedef struct sipline_sdp_rtpmap {
  unsigned pt;
  sipline_pl name; /* "PCMU", "telephone-event", ... */
  uint32_t rate;
  uint32_t channels; /* 1 when absent */
  bool is_static;    /* from the table: name points to static storage */
} sipline_sdp_rtpmap;

/*
 * The encoding of payload type pt in media section mi: its a=rtpmap, else
 * for a static type the RFC 3551 table (PCMU 0, GSM 3, G723 4, DVI4, LPC,
 * PCMA 8, G722 9, L16 10/11, QCELP, CN 13, MPA, G728, G729 18, and the
 * video types). Returns 0; SIPLINE_ERR_NOTFOUND; SIPLINE_ERR_MALFORMED (a
 * broken a=rtpmap line for pt).
 */
int sipline_sdp_rtpmap_get(const sipline_sdp *s, unsigned mi, unsigned pt,
                           sipline_sdp_rtpmap *out);

/* The a=fmtp parameters of pt in media section mi: 0 or NOTFOUND. */
int sipline_sdp_fmtp_get(const sipline_sdp *s, unsigned mi, unsigned pt,
                         sipline_pl *params);

/*
 * a=ptime of media section mi, else of the session, in ms ("20.0" reads as
 * 20). Returns 0; SIPLINE_ERR_NOTFOUND; SIPLINE_ERR_MALFORMED.
 */
int sipline_sdp_ptime_get(const sipline_sdp *s, unsigned mi, unsigned *ms);

/* a=rtcp (RFC 3605): a port and optionally an address. */
typedef struct sipline_sdp_rtcp {
  uint16_t port;
  sipline_pl nettype, addrtype, address; /* empty when absent */
} sipline_sdp_rtcp;

/* a=rtcp of media section mi: 0, NOTFOUND or MALFORMED. */
int sipline_sdp_rtcp_get(const sipline_sdp *s, unsigned mi,
                         sipline_sdp_rtcp *out);

/* 1 when media section mi has a=rtcp-mux (RFC 5761), else 0. */
int sipline_sdp_rtcp_mux(const sipline_sdp *s, unsigned mi);

/* An a=crypto line (RFC 4568): "1 AES_CM_128_HMAC_SHA1_80 inline:K|2^20". */
typedef struct sipline_sdp_crypto {
  unsigned tag;              /* 0 in a result: none */
  sipline_pl suite;          /* "AES_CM_128_HMAC_SHA1_80" */
  sipline_pl key_params;     /* "inline:..." (several joined by ';') */
  sipline_pl session_params; /* the rest, may be empty */
} sipline_sdp_crypto;

/*
 * Fills out[0..max) with the well-formed a=crypto lines of media section mi
 * in order and returns how many there are (which may exceed max; malformed
 * lines are skipped).
 */
unsigned sipline_sdp_crypto_list(const sipline_sdp *s, unsigned mi,
                                 sipline_sdp_crypto *out, unsigned max);

/* --- offer/answer (RFC 3264) ---------------------------------------------- */

/* A codec we can receive and send. */
typedef struct sipline_sdp_codec {
  unsigned pt;       /* payload type: 0..95 static, 96..127 dynamic */
  const char *name;  /* encoding name: "PCMU", "opus" */
  uint32_t rate;     /* clock rate */
  uint32_t channels; /* 0 or 1: one channel, not written */
  const char *fmtp;  /* a=fmtp parameters; NULL: none */
} sipline_sdp_codec;

/* One media stream we offer or can accept. */
typedef struct sipline_sdp_local_media {
  const char *media; /* NULL: "audio" */
  uint16_t port;     /* our RTP port (non-zero) */
  /* In our order of preference; 1..SIPLINE_SDP_MAX_CODECS, so that what
   * we write stays within the parser's bounds. */
  const sipline_sdp_codec *codecs;
  size_t n_codecs;
  /* RFC 4733 telephone-event/8000 (fmtp 0-16): the payload type in our
   * offers (96..127); 0: none. Answers keep the offer's type. */
  unsigned te_pt;
  sipline_sdp_dir dir; /* what we want; default sendrecv */
  unsigned ptime;      /* a=ptime in ms; 0: none */
  bool rtcp_mux;       /* offer a=rtcp-mux, and accept it in answers */
  /* SRTP (RFC 4568): with crypto_suite set, offers are RTP/SAVP with
   * "a=crypto:1 <suite> <key_params>", and RTP/SAVP offers are accepted
   * when they list the suite. NULL: RTP/AVP only. */
  const char *crypto_suite;      /* "AES_CM_128_HMAC_SHA1_80" */
  const char *crypto_key_params; /* "inline:<base64 key||salt>" */
  /* With crypto_suite: take only RTP/SAVP offers that list the suite, so
   * that an RTP/AVP offer is refused rather than answered in the clear
   * (a secure line). */
  bool srtp_only;
} sipline_sdp_local_media;

/* What we offer or can accept; the caller owns every string. */
typedef struct sipline_sdp_local {
  const char *address;      /* our media address: IPv4 or IPv6 text */
  const char *session_name; /* s=; NULL: "-" */
  const sipline_sdp_local_media *media;
  size_t n_media;
} sipline_sdp_local;

/*
 * Our o= line across a session (RFC 3264 §8). Set username (NULL: "-"),
 * sess_id (from the application's random source: the core has none) and
 * sess_version before the first offer or answer; the helpers then keep
 * sess_version: +1 whenever the description they write differs from the
 * previous one (ignoring the o= line), unchanged for an identical one.
 * prev_hash and has_prev are the helpers' memory: a 64-bit FNV-1a of the
 * previous body after its o= line, so no copy is kept (a collision, about
 * 2^-64, would keep the version).
 */
typedef struct sipline_sdp_origin {
  const char *username;
  uint64_t sess_id;
  uint64_t sess_version;
  uint64_t prev_hash;
  bool has_prev;
} sipline_sdp_origin;

/*
 * Writes an offer for local into out: s=, c= at session level, t=0 0, and
 * per stream m= (RTP/SAVP when crypto_suite is set, else RTP/AVP), then
 * a=rtpmap (also for static types) and a=fmtp per codec, telephone-event,
 * a=ptime, a=rtcp-mux, a=crypto and the direction unless sendrecv (the
 * default). A stream with port 0 is offered disabled (RFC 3264 §8.2): its
 * m= line only. Returns the length; SIPLINE_ERR_INVAL (no address, an
 * address, name or parameter holding CR or LF (or a space where SDP has
 * none), a stream without codecs or with more than SIPLINE_SDP_MAX_CODECS,
 * a payload type > 127, more than
 * SIPLINE_SDP_MAX_MEDIA streams); SIPLINE_ERR_TOOBIG (cap). *o is updated
 * only on success.
 */
ptrdiff_t sipline_sdp_make_offer(const sipline_sdp_local *local,
                                 sipline_sdp_origin *o, char *out, size_t cap);

/*
 * Writes our answer to offer (RFC 3264 §6):
 *  - one m= line per offered one, in order. An offered stream is taken by
 *    the first unused local stream (port != 0) of the same media type that
 *    speaks its protocol (RTP/AVP, or RTP/SAVP with our crypto suite among
 *    the offer's a=crypto lines) and has a codec in common. Otherwise it is
 *    rejected: port 0, the offer's formats, and a=rtpmap for those of them
 *    a local stream of that type knows (as in RFC 3264 §10.1);
 *  - codecs: the intersection in the offerer's order and with its payload
 *    types: static types (< 96) match by number, dynamic ones by name
 *    (ignoring case), rate and channels, written with our name and fmtp;
 *    telephone-event/8000 keeps the offer's type when our stream has te_pt;
 *  - direction (§6.1): we send when we want to and the offer receives, we
 *    receive when we want to and the offer sends (sendonly -> recvonly,
 *    recvonly -> sendonly, inactive -> inactive); written unless sendrecv;
 *  - SRTP: "a=crypto:<the offer's tag> <suite> <our key_params>";
 *  - a=rtcp-mux when both sides want it; a=ptime when ours is set;
 *  - t= equal to the offer's first t= (§6); c= and o= carry our address.
 * Returns the length; SIPLINE_ERR_UNSUPPORTED when the offer has media but
 * none could be accepted (no codec in common: the caller answers 488);
 * SIPLINE_ERR_INVAL; SIPLINE_ERR_TOOBIG. *o is updated only on success.
 */
ptrdiff_t sipline_sdp_make_answer(const sipline_sdp *offer,
                                  const sipline_sdp_local *local,
                                  sipline_sdp_origin *o, char *out, size_t cap);

/*
 * Writes a copy of cur (our current description, parsed) with media
 * section mi (every section when mi is SIPLINE_SDP_SESSION) set to dir, for
 * hold and resume. Session-level direction attributes are dropped and each
 * section states its own effective direction (sendrecv unwritten, so a
 * resume back to an offer without direction lines gives the same text and
 * keeps the version). The o= line is rebuilt from *o and cur's address,
 * with the version bumped when the text changes. Returns the length;
 * SIPLINE_ERR_INVAL (mi out of range); SIPLINE_ERR_TOOBIG (cap, or a
 * section whose added direction line would pass SIPLINE_SDP_MAX_ATTR, so
 * that the output would not parse).
 */
ptrdiff_t sipline_sdp_set_direction(const sipline_sdp *cur, unsigned mi,
                                    sipline_sdp_dir dir, sipline_sdp_origin *o,
                                    char *out, size_t cap);

/*
 * What a negotiated media stream uses. Views point into the remote
 * description, except local_crypto (into the local one).
 */
typedef struct sipline_sdp_result {
  bool active;        /* both ports non-zero and a codec in common */
  sipline_pl addr;    /* the remote connection address */
  bool ipv6;          /* addr is IP6 */
  uint16_t port;      /* the remote RTP port */
  uint16_t rtcp_port; /* a=rtcp, else port + 1 (port with rtcp-mux) */
  bool rtcp_mux;      /* both sides listed it */
  unsigned pt;        /* what we send: the remote's payload type */
  sipline_sdp_rtpmap codec;
  sipline_pl fmtp;     /* the remote's parameters for pt; may be empty */
  int te_pt;           /* the remote's telephone-event type; -1: none */
  unsigned ptime;      /* the remote's a=ptime; 0: none */
  sipline_sdp_dir dir; /* ours: what we may do */
  sipline_sdp_crypto local_crypto;  /* our key (to send); tag 0: none */
  sipline_sdp_crypto remote_crypto; /* their key (to receive) */
} sipline_sdp_result;

/*
 * Reads the outcome for media section mi from our description and the
 * peer's (offer and answer in either role). The codec is the first of the
 * remote's formats (other than telephone-event) that we listed, by number
 * or, for dynamic types, by name and rate. Our direction is our own
 * effective one restricted by the mirror of the remote's, and a remote c=
 * of 0.0.0.0 (the RFC 2543 hold of RFC 3264 §8.4) stops our sending. Returns 0
 * (with active false when the stream is rejected or has no common codec);
 * SIPLINE_ERR_NOTFOUND (mi out of range in either); SIPLINE_ERR_MALFORMED
 * (an active remote stream without a connection address).
 */
int sipline_sdp_negotiated(const sipline_sdp *local, const sipline_sdp *remote,
                           unsigned mi, sipline_sdp_result *r);

#ifdef __cplusplus
}
#endif
#endif
