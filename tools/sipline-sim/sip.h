/*
 * tools/sipline-sim/sip.h: a minimal SIP reader for the simulated proxies
 * (independent of the library's parser on purpose; see sip.c).
 */
#ifndef SIPLINE_SIM_SIP_H
#define SIPLINE_SIM_SIP_H

#include <stddef.h>
#include <stdint.h>

typedef struct spl {
  const char *p;
  size_t len;
} spl;

#define SSIP_MAX_VIA 16

typedef struct ssip_msg {
  int is_req;
  spl method; /* requests */
  spl ruri;
  int status; /* responses */
  spl via[SSIP_MAX_VIA];
  unsigned n_via;
  spl from, to, call_id, cseq, contact, auth;
  unsigned cseq_n;
  int has_expires;
  uint32_t expires;
  spl body;
} ssip_msg;

/* Length of the first complete message in a stream buffer; 0 if none yet. */
size_t ssip_frame(const char *p, size_t n);
/* Parses one message (views into p). 0 or -1. */
int ssip_parse(ssip_msg *m, const char *p, size_t n);
/* The expires parameter of the first Contact; 1 when present. */
int ssip_contact_expires(const ssip_msg *m, uint32_t *out);
/* "<sip:...>" of the first Contact (or the bare URI). */
spl ssip_contact_uri(const ssip_msg *m);
/* The user part of the first sip:/sips: URI in a header value. */
spl ssip_uri_user(spl hdr);
int ssip_has_tag(spl to);
int ssip_auth_param(spl auth, const char *name, spl *out);
/* 1 when a Digest Authorization header is right for that password. */
int ssip_digest_ok(spl auth, spl method, const char *password);
const char *ssip_reason(int code);

#endif
