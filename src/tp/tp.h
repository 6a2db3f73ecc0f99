/*
 * src/tp/tp.h: the transport layer without sockets (RFC 3261 §18).
 *
 * The application owns the sockets; this layer owns what sits on top of
 * them:
 *
 *  - the outgoing queue: every byte string the core wants sent, with the
 *    path it goes on (sipline_ua_pull_tx pops it). For TCP/TLS the path is
 *    the flow: the application opens a connection to path->remote the first
 *    time it sees that path (and reuses it after), so "send" never fails
 *    here; a failed connect comes back as sipline_ua_transport_error().
 *  - flows keyed by (transport, local, remote), each with the reassembly
 *    buffer of a stream transport (keep-alive CRLFs skipped, a message split
 *    anywhere, several in one read, a size limit);
 *  - framing: a UDP datagram is one message (octets past Content-Length are
 *    ignored, §18.3); a stream is cut into messages by Content-Length.
 *  - response routing (§18.2.2, RFC 3581): where a server transaction's
 *    responses go, from the request's top Via and the path it came on.
 */
#ifndef SIPLINE_TP_H
#define SIPLINE_TP_H

#include "sipline/msg.h"
#include "sipline/net.h"
#include "util/util.h"

/* Largest message a stream flow will reassemble (SIPLINE_ERR_TOOBIG past). */
#define SIPLINE__TP_MAX_MSG (64u * 1024u)

/* A flow: one TCP/TLS connection (or a UDP 5-tuple, which has no state). */
typedef struct sipline__flow {
  struct sipline__flow *next;
  sipline_path path; /* tp, local, remote (host kept from the first send) */
  sipline__buf rx;   /* stream reassembly: bytes not yet framed */
  sipline_tstamp last_rx, last_tx;
  unsigned crlf;    /* CR/LF bytes seen between messages (keep-alive ping) */
  unsigned pong_due; /* 1 after we sent a CRLFCRLF ping, until a CRLF back */
  size_t skip;      /* body bytes still to drop of a refused message */
  uint64_t n_pings; /* double-CRLF pings received (answered with CRLF) */
} sipline__flow;

/*
 * Called once for each framed message. msg is parsed (sipline_msg_parse
 * succeeded; not yet validated) and views into a buffer that is valid only
 * during the call. Return value is ignored except that a negative value is
 * passed back by sipline__tp_recv().
 */
typedef int (*sipline__tp_deliver)(void *arg, const sipline_path *path,
                                   const sipline_msg *msg, sipline_tstamp now);

/*
 * Called for a message that could not be parsed (datagram) or a stream that
 * broke framing. raw is the datagram, or the stream's bytes from where the
 * bad message starts (valid during the call); err says why and what a UAS
 * would answer (err->status, 0 = drop).
 */
typedef void (*sipline__tp_reject)(void *arg, const sipline_path *path,
                                   sipline_pl raw, const sipline_msg_error *err,
                                   sipline_tstamp now);

typedef struct sipline__tp {
  const sipline_mem *mem;
  sipline__queue txq; /* header: sipline_path; body: the bytes */
  /* Stream flows, hashed by (transport, remote): buckets allocated with
   * the first flow, so a UDP-only UA never pays for them. */
  sipline__flow **flows;
  size_t n_buckets;
  size_t n_flows;
  size_t max_msg;   /* SIPLINE__TP_MAX_MSG */
  size_t max_flows; /* 65536: more stream flows are refused with TOOBIG */
  sipline__tp_deliver deliver;
  sipline__tp_reject reject;
  void *arg;
  /* counters, for tests and status */
  uint64_t n_rx_msgs, n_rx_bad, n_tx;
} sipline__tp;

void sipline__tp_init(sipline__tp *tp, const sipline_mem *mem,
                      sipline__tp_deliver deliver, sipline__tp_reject reject,
                      void *arg);
/* Frees the queue and every flow. */
void sipline__tp_free(sipline__tp *tp);

/*
 * Input. For UDP, p/n is one datagram: parsed once (leading CRLFs of a
 * keep-alive skipped; a datagram of only CRLF/whitespace is a keep-alive and
 * ignored). For TCP/TLS, p/n is appended to the flow of path and every
 * complete message is delivered in order. Returns 0; SIPLINE_ERR_MALFORMED
 * when a datagram was rejected or a stream cannot be framed any more (the
 * flow's buffer is dropped; the application should close the connection);
 * SIPLINE_ERR_TOOBIG when a stream message exceeds max_msg (same);
 * SIPLINE_ERR_NOMEM (the bytes are lost; a stream flow is dropped); for a
 * datagram, also a negative value returned by deliver (a stream ignores
 * them: they say nothing about its framing).
 */
int sipline__tp_recv(sipline__tp *tp, const sipline_path *path,
                     const uint8_t *p, size_t n, sipline_tstamp now);

/*
 * Queues bytes to send on path (copied). For TCP/TLS it also creates the
 * flow so that responses arriving on it are framed. 0 or SIPLINE_ERR_NOMEM.
 */
int sipline__tp_send(sipline__tp *tp, const sipline_path *path, const void *p,
                     size_t n, sipline_tstamp now);

/* Pops the next queued item (free with sipline_mem_free(tp->mem)). */
sipline__qitem *sipline__tp_pop(sipline__tp *tp);
/* Gives back what sipline__tp_pop returned, once its bytes are sent. */
void sipline__tp_recycle(sipline__tp *tp, sipline__qitem *it);
static inline const sipline_path *sipline__tp_item_path(sipline__qitem *it) {
  return (const sipline_path *)sipline__qitem_hdr(it);
}
static inline const uint8_t *sipline__tp_item_data(sipline__qitem *it) {
  return sipline__qitem_body(it, sizeof(sipline_path));
}

/* The flow of path (stream transports), or NULL. */
sipline__flow *sipline__tp_flow(sipline__tp *tp, const sipline_path *path);
/* Drops the flow of path (connection closed); harmless when none. */
void sipline__tp_flow_close(sipline__tp *tp, const sipline_path *path);

/*
 * 1 when a and b name the same flow: same transport, same remote address
 * and port, and same local address and port where both are set (family 0
 * or port 0 on either side is a wildcard, so a path built for sending
 * before the socket was bound still matches the path responses come on).
 */
int sipline__path_same_flow(const sipline_path *a, const sipline_path *b);

/* 1 for TCP and TLS (no retransmissions, Timer J/K/D/I = 0). */
static inline int sipline__tp_reliable(sipline_transport tp) {
  return tp == SIPLINE_TP_TCP || tp == SIPLINE_TP_TLS;
}

/*
 * Where a response to a request received on in goes (§18.2.2 and RFC 3581
 * §4): reliable transports answer on the same flow; otherwise to the
 * source address, at the rport port when the Via had rport, else at the
 * Via's sent-by port (5060 when absent). A Via maddr is not honoured (we
 * are a UA, not a proxy) and a received parameter is irrelevant to a UAS
 * since the packet's source is known. out->local is in->local.
 */
void sipline__tp_response_path(const sipline_path *in, const sipline_via *via,
                               sipline_path *out);

/*
 * Appends the top Via as a UAS must echo it (RFC 3581 §4): the received
 * Via value with ";received=<source ip>" added when the sent-by host is not
 * that address, and "rport" filled in with the source port when the request
 * asked for it. Other Via lines are copied unchanged by the caller.
 */
void sipline__tp_via_echo(sipline__buf *b, const sipline_pl via_value,
                          const sipline_via *via, const sipline_path *in);

/* The address without port ("1.2.3.4", "::1"): length or an error. */
int sipline__addr_format_ip(const sipline_addr *a, char *out, size_t cap);
/* 1 when a and b hold the same IP (ports ignored). */
int sipline__addr_ip_eq(const sipline_addr *a, const sipline_addr *b);
/* A Via or URI host ("1.2.3.4", "[::1]") as an address (port 0);
 * SIPLINE_ERR_MALFORMED for a host name. */
int sipline__addr_from_host(sipline_pl host, sipline_addr *out);

/* "UDP", "TCP", "TLS" for a Via header (Auto prints as UDP). */
const char *sipline__tp_via_name(sipline_transport tp);

/* Parses a Via transport token ("udp" is accepted); -1 when unknown. */
int sipline__tp_from_via(sipline_pl name);

/* Parses an IPv4 or IPv6 literal ("1.2.3.4", "::1", "[::1]") without a
 * port: sipline__addr_from_host() for a C string. out may be NULL (a test
 * only). 0 or SIPLINE_ERR_MALFORMED. */
int sipline__ip_parse(const char *s, size_t len, sipline_addr *out);
/* "1.2.3.4:5060" / "[::1]:5060": sipline_addr_format() with the port
 * always written (":0" too; "?:port" for an unset address), the name the
 * policy and the simulator give servers. */
void sipline__addr_name(const sipline_addr *a, char *out, size_t cap);

#endif
