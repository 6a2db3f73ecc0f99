/*
 * daemon/rxframe.h: what arrives on a TCP/TLS connection, cut into whole SIP
 * messages for the tracers (pcap, HEP, the debug log, the rx events).
 *
 * A read hands over any run of stream bytes: two messages at once (baresip
 * sends "100 Trying" and "200 OK" to a re-INVITE in one segment), or part
 * of one. The core frames the stream itself (sipline_ua_recv); the tracers
 * want one record per message, so a connection keeps an sd_rxframe that
 * frames the same bytes once more with the core's parser
 * (SIPLINE_PARSE_STREAM) and holds back an incomplete tail until the rest
 * comes. CRLF keep-alives come out as records of their own; bytes that do
 * not parse come out as they are, in one record, and the buffer is emptied
 * (the core closes such a stream anyway).
 */
#ifndef SIPLINED_RXFRAME_H
#define SIPLINED_RXFRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct sd_rxframe {
  uint8_t *buf; /* an incomplete message's bytes so far (owned), or NULL */
  size_t len, cap;
} sd_rxframe;

/* Called once per record; p is valid during the call only. */
typedef void (*sd_rxframe_cb)(void *arg, const uint8_t *p, size_t n);

/*
 * Feeds n bytes that follow what was fed before; calls cb for every record
 * they complete, in order. Returns 0, or -1 when memory for the tail ran
 * out (the tail was then given to cb as it is, and nothing is held).
 */
int sd_rxframe_feed(sd_rxframe *f, const uint8_t *p, size_t n, sd_rxframe_cb cb,
                    void *arg);

/* Frees the held tail; f may be reused (empty) afterwards. */
void sd_rxframe_free(sd_rxframe *f);

#endif
