/*
 * sipline/net.h: addresses, transports and paths: the words the transport
 * layer, the UA and the application share about where bytes go.
 *
 * Kept apart from sipline/ua.h so that the transport layer (src/tp) and a
 * program that only formats addresses need nothing of the UA.
 */
#ifndef SIPLINE_NET_H
#define SIPLINE_NET_H

#include "sipline/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sipline_transport {
  SIPLINE_TP_UDP = 0,
  SIPLINE_TP_TCP,
  SIPLINE_TP_TLS,
  SIPLINE_TP_AUTO /* profile only: choose by NAPTR (RFC 3263) */
} sipline_transport;

/* "UDP", "TCP", "TLS", "Auto". */
const char *sipline_transport_name(sipline_transport tp);

/* An IPv4 or IPv6 address and port; family 0 means unset. */
typedef struct sipline_addr {
  uint8_t family; /* 4 or 6 */
  uint8_t ip[16]; /* network order; IPv4 in the first 4 bytes */
  uint16_t port;
} sipline_addr;

/* Parses "1.2.3.4", "1.2.3.4:5060", "::1", "[::1]:5060". 0 or MALFORMED. */
int sipline_addr_parse(const char *s, size_t len, sipline_addr *out);
/* Writes "1.2.3.4:5060" / "[::1]:5060" (port omitted when 0). */
int sipline_addr_format(const sipline_addr *a, char *out, size_t cap);
int sipline_addr_eq(const sipline_addr *a, const sipline_addr *b);

/*
 * Where bytes go or came from. For outgoing TLS, host is the name to send as
 * SNI and to verify the certificate against ("" when the target was an IP).
 */
typedef struct sipline_path {
  sipline_transport tp;
  sipline_addr local;
  sipline_addr remote;
  char host[128];
} sipline_path;

/* Why a transport failed (sipline_ua_transport_error). */
typedef enum sipline_tperr {
  SIPLINE_TPERR_UNREACHABLE = 1, /* ICMP port/host unreachable */
  SIPLINE_TPERR_REFUSED,         /* TCP connect refused */
  SIPLINE_TPERR_CONNECT_TIMEOUT, /* TCP/TLS connect did not complete */
  SIPLINE_TPERR_CLOSED,          /* the connection closed or reset */
  SIPLINE_TPERR_TLS,             /* TLS handshake or verification failed */
} sipline_tperr;

#ifdef __cplusplus
}
#endif
#endif
