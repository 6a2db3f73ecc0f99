/*
 * src/sdp/sdp.h: helpers shared by the SDP parser, printer and offer/answer
 * code. Nothing here allocates.
 */
#ifndef SIPLINE_SDP_INTERNAL_H
#define SIPLINE_SDP_INTERNAL_H

#include <stdbool.h>

#include "sipline/sdp.h"

/* RFC 8866 token-char. */
bool sipline__sdp_tokchar(unsigned char c);
/* A non-empty run of token-chars. */
bool sipline__sdp_token(sipline_pl t);
/* Dotted-quad IPv4 ("192.0.2.1"). */
bool sipline__sdp_ip4(sipline_pl a);
/* IPv6 text (RFC 4291 §2.2, with an optional embedded IPv4 tail). */
bool sipline__sdp_ip6(sipline_pl a);
/* Splits the next field off *rest at runs of spaces; false when none. */
bool sipline__sdp_field(sipline_pl *rest, sipline_pl *f);

/*
 * Bounded output: appends fail by setting err (TOOBIG, or INVAL for a view
 * that holds CR, LF or NUL) and later appends do nothing.
 */
typedef struct sipline__sdp_out {
  char *p;
  size_t len, cap;
  int err;
} sipline__sdp_out;

void sipline__sdp_put(sipline__sdp_out *o, const char *s, size_t n);
void sipline__sdp_puts(sipline__sdp_out *o, const char *s);
void sipline__sdp_putpl(sipline__sdp_out *o, sipline_pl pl);
void sipline__sdp_putu(sipline__sdp_out *o, uint64_t v);
/* Ends a line with CRLF (which put itself refuses). */
void sipline__sdp_eol(sipline__sdp_out *o);

/* An m= line of section m with the given port; its /nports only when the
 * port is its own (a rejection writes a bare 0). */
void sipline__sdp_mline(sipline__sdp_out *o, const sipline_sdp_media *m,
                        uint16_t port);

/* Printer options for the offer/answer helpers. */
typedef struct sipline__sdp_popt {
  bool skip_vo;    /* leave out v= and o= (the caller prepends them) */
  bool set_dir;    /* replace direction attributes */
  unsigned dir_mi; /* the section, or SIPLINE_SDP_SESSION for all */
  sipline_sdp_dir dir;
} sipline__sdp_popt;

void sipline__sdp_print(const sipline_sdp *s, const sipline__sdp_popt *opt,
                        sipline__sdp_out *o);
bool sipline__sdp_is_dir(sipline_pl name, sipline_sdp_dir *d);
/* Our direction given what we want and what the peer states (mirrored). */
sipline_sdp_dir sipline__sdp_dir_meet(sipline_sdp_dir mine,
                                      sipline_sdp_dir theirs);

#endif
