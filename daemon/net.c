/*
 * daemon/net.c: siplined's sockets. UDP: one socket per (bind address,
 * line port), with IP_RECVERR so ICMP errors name the destination that
 * failed (SPEC R5c). TCP and TLS: client connections opened on the first
 * message to a path, plus a TCP listener on each line's port. TLS runs
 * OpenSSL over memory BIOs on top of uv_tcp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "rxframe.h"
#include "sd.h"

struct sd_udp {
  uv_udp_t h;
  sd *d;
  sipline_addr local;
  sd_udp *next;
};

struct sd_tcpl {
  uv_tcp_t h;
  sd *d;
  sipline_addr local;
  sd_tcpl *next;
};

enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING };

struct sd_conn {
  uv_tcp_t h;
  uv_connect_t creq;
  uv_timer_t timer; /* connect (and TLS handshake) timeout */
  sd *d;
  unsigned gen;      /* the UA generation that opened it */
  sipline_path path; /* as the UA knows it: errors and rx use it */
  sipline_addr real_local;
  int state;
  int inbound;
  SSL *ssl;
  BIO *rbio, *wbio;
  uint8_t *pend; /* plaintext waiting for connect/handshake */
  size_t npend;
  sd_rxframe rxf; /* received bytes cut into messages for the tracers */
  int handles; /* open libuv handles (h, timer); freed at 0 */
  sd_conn *next;
};

static uint8_t rxbuf[65536];

/* SO_RCVBUF asked for on each SIP UDP socket (see udp_open; the kernel
 * doubles it for its bookkeeping and caps it at net.core.rmem_max). */
#define SD_UDP_RCVBUF (8 * 1024 * 1024)

int sd_addr_from_sa(const struct sockaddr *sa, sipline_addr *a) {
  memset(a, 0, sizeof *a);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    a->family = 4;
    memcpy(a->ip, &s4->sin_addr, 4);
    a->port = ntohs(s4->sin_port);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
      a->family = 4;
      memcpy(a->ip, (const uint8_t *)&s6->sin6_addr + 12, 4);
    } else {
      a->family = 6;
      memcpy(a->ip, &s6->sin6_addr, 16);
    }
    a->port = ntohs(s6->sin6_port);
    return 0;
  }
  return -1;
}

void sd_addr_to_sa(const sipline_addr *a, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (a->family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, a->ip, 16);
    s6->sin6_port = htons(a->port);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, a->ip, 4);
    s4->sin_port = htons(a->port);
  }
}

static int addr_same(const sipline_addr *a, const sipline_addr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static int parse_ip(const char *s, uint16_t port, sipline_addr *a) {
  memset(a, 0, sizeof *a);
  char buf[64];
  size_t n = strlen(s);
  if (n >= sizeof buf)
    return -1;
  memcpy(buf, s, n + 1);
  if (buf[0] == '[' && n > 2 && buf[n - 1] == ']') {
    memmove(buf, buf + 1, n - 2);
    buf[n - 2] = '\0';
  }
  if (inet_pton(AF_INET, buf, a->ip) == 1)
    a->family = 4;
  else if (inet_pton(AF_INET6, buf, a->ip) == 1)
    a->family = 6;
  else
    return -1;
  a->port = port;
  return 0;
}

static const char *tperr_name(int why) {
  switch (why) {
  case SIPLINE_TPERR_UNREACHABLE:
    return "unreachable";
  case SIPLINE_TPERR_REFUSED:
    return "refused";
  case SIPLINE_TPERR_CONNECT_TIMEOUT:
    return "connect_timeout";
  case SIPLINE_TPERR_CLOSED:
    return "closed";
  case SIPLINE_TPERR_TLS:
    return "tls";
  default:
    return "?";
  }
}

/* Reports a transport failure to the UA (SPEC R5c) and on the stream as a
 * "tperr" line (shown with the tx/rx lines, as sipline-sim does). */
static void ua_tperr(sd *d, const sipline_path *path, int why) {
  if (!d->ua)
    return;
  if (path->tp == SIPLINE_TP_UDP)
    pace_unreachable(d, &path->remote);
  char a[80];
  sj_addr(&path->remote, a, sizeof a);
  slog(SLOG_INFO, "transport error to %s (%s): %s", a,
       sipline_transport_name(path->tp), tperr_name(why));
  cJSON *ev = sj_event_new("tperr", sd_now(d), 0, &d->ck);
  if (ev) {
    cJSON_AddStringToObject(ev, "to", a);
    cJSON_AddStringToObject(ev, "transport", sipline_transport_name(path->tp));
    cJSON_AddStringToObject(ev, "reason", tperr_name(why));
    sd_push_message(d, ev);
  }
  sipline_ua_transport_error(d->ua, path, why, sd_now(d));
  sd_drive(d);
}

/* ---- UDP ----------------------------------------------------------- */

/* Reads the ICMP errors queued on a UDP socket (IP_RECVERR). */
static void udp_errqueue(sd_udp *u) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&u->h, &fd) != 0)
    return;
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage dst;
    char ctl[512];
    uint8_t junk[512];
    struct iovec iov = {junk, sizeof junk};
    struct msghdr mh = {0};
    mh.msg_name = &dst;
    mh.msg_namelen = sizeof dst;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
      return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
        continue;
      const struct sock_extended_err *ee =
          (const struct sock_extended_err *)CMSG_DATA(c);
      if (ee->ee_origin != SO_EE_ORIGIN_ICMP &&
          ee->ee_origin != SO_EE_ORIGIN_ICMP6)
        continue;
      if (ee->ee_errno != ECONNREFUSED && ee->ee_errno != EHOSTUNREACH &&
          ee->ee_errno != ENETUNREACH && ee->ee_errno != EHOSTDOWN &&
          ee->ee_errno != ENETDOWN)
        continue;
      sipline_path p;
      memset(&p, 0, sizeof p);
      p.tp = SIPLINE_TP_UDP;
      p.local = u->local;
      if (sd_addr_from_sa((struct sockaddr *)&dst, &p.remote) != 0)
        continue;
      ua_tperr(u->d, &p, SIPLINE_TPERR_UNREACHABLE);
    }
  }
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h;
  (void)sz;
  b->base = (char *)rxbuf;
  b->len = sizeof rxbuf;
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
                     const struct sockaddr *from, unsigned flags) {
  sd_udp *u = h->data;
  (void)flags;
  if (n < 0) {
    /* With IP_RECVERR a pending ICMP error surfaces here first. */
    udp_errqueue(u);
    return;
  }
  if (n == 0 || !from)
    return;
  sipline_path p;
  memset(&p, 0, sizeof p);
  p.tp = SIPLINE_TP_UDP;
  p.local = u->local;
  if (sd_addr_from_sa(from, &p.remote) != 0)
    return;
  sd_wire(u->d, 0, STRACE_UDP, &p, &p.remote, &u->local,
          (const uint8_t *)b->base, (size_t)n);
  if (!u->d->ua)
    return;
  pace_rx(u->d, (const uint8_t *)b->base, (size_t)n);
  int rc = sipline_ua_recv(u->d->ua, &p, (const uint8_t *)b->base, (size_t)n,
                           sd_now(u->d));
  if (rc < 0)
    slog(SLOG_DEBUG, "dropped a datagram: %s", sipline_strerror(rc));
  sd_drive(u->d);
}

static void free_cb(uv_handle_t *h) {
  free(h->data);
}

static int udp_open(sd *d, const sipline_addr *local) {
  for (sd_udp *u = d->udp; u; u = u->next)
    if (addr_same(&u->local, local))
      return 0;
  sd_udp *u = calloc(1, sizeof *u);
  if (!u)
    return UV_ENOMEM;
  u->d = d;
  u->local = *local;
  struct sockaddr_storage ss;
  sd_addr_to_sa(local, &ss);
  int rc = uv_udp_init(d->loop, &u->h);
  if (rc) {
    free(u);
    return rc;
  }
  u->h.data = u;
  rc = uv_udp_bind(&u->h, (struct sockaddr *)&ss,
                   local->family == 6 ? UV_UDP_IPV6ONLY : 0);
  if (rc == 0) {
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)&u->h, &fd) == 0) {
      if (local->family == 6)
        setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
      else
        setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof one);
    }
    /* Room for a burst: with the default (~210 KB, a few hundred
     * datagrams) the kernel dropped what arrived while the loop was busy,
     * and each drop cost a 500 ms retransmission: a fleet's 10,000 lines
     * get 10,000 answers at once (bench/fleet), and calls at 1600/s
     * overflowed it too (bench/calls, UdpRcvbufErrors). The kernel caps
     * the size at net.core.rmem_max; a failure only leaves the default. */
    int rcvbuf = SD_UDP_RCVBUF;
    uv_recv_buffer_size((uv_handle_t *)&u->h, &rcvbuf);
    rc = uv_udp_recv_start(&u->h, alloc_cb, udp_recv);
  }
  if (rc) {
    char a[80];
    sj_addr(local, a, sizeof a);
    slog(SLOG_ERROR, "cannot bind UDP %s: %s", a, uv_strerror(rc));
    uv_close((uv_handle_t *)&u->h, free_cb);
    return rc;
  }
  u->next = d->udp;
  d->udp = u;
  char a[80];
  sj_addr(local, a, sizeof a);
  slog(SLOG_INFO, "listening on UDP %s", a);
  return 0;
}

static sd_udp *udp_pick(sd *d, const sipline_path *path) {
  sd_udp *fam = NULL, *port = NULL;
  for (sd_udp *u = d->udp; u; u = u->next) {
    if (u->local.family != path->remote.family)
      continue;
    if (path->local.family && addr_same(&u->local, &path->local))
      return u;
    if (!port && path->local.port && u->local.port == path->local.port)
      port = u;
    if (!fam)
      fam = u;
  }
  return port ? port : fam;
}

static void udp_send_done(uv_udp_send_t *req, int status) {
  (void)status;
  free(req);
}

static void udp_send(sd *d, const sipline_path *path, const uint8_t *p,
                     size_t n) {
  if (!pace_hold(d, path, p, n))
    net_udp_send_now(d, path, p, n);
}

void net_udp_send_now(sd *d, const sipline_path *path, const uint8_t *p,
                      size_t n) {
  sd_udp *u = udp_pick(d, path);
  if (!u) {
    char a[80];
    sj_addr(&path->remote, a, sizeof a);
    slog(SLOG_WARN,
         "no local UDP socket of the family of %s "
         "(add a --bind of that family)",
         a);
    ua_tperr(d, path, SIPLINE_TPERR_UNREACHABLE);
    return;
  }
  struct sockaddr_storage ss;
  sd_addr_to_sa(&path->remote, &ss);
  sd_wire(d, 1, STRACE_UDP, path, &u->local, &path->remote, p, n);
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  for (int attempt = 0; attempt < 2; attempt++) {
    int rc = uv_udp_try_send(&u->h, &b, 1, (struct sockaddr *)&ss);
    if (rc >= 0)
      return;
    if (rc == UV_EAGAIN) {
      /* queue a copy: the UA's buffer is only lent until the next call */
      uv_udp_send_t *req = malloc(sizeof *req + n);
      if (!req)
        return;
      memcpy(req + 1, p, n);
      uv_buf_t cb = uv_buf_init((char *)(req + 1), (unsigned)n);
      if (uv_udp_send(req, &u->h, &cb, 1, (struct sockaddr *)&ss,
                      udp_send_done) != 0)
        free(req);
      return;
    }
    /*
     * A pending ICMP error of an earlier datagram (IP_RECVERR) fails this
     * send: report it from the error queue, which names the destination,
     * and try once more.
     */
    if (rc == UV_ECONNREFUSED || rc == UV_EHOSTUNREACH ||
        rc == UV_ENETUNREACH) {
      udp_errqueue(u);
      continue;
    }
    slog(SLOG_WARN, "UDP send failed: %s", uv_strerror(rc));
    ua_tperr(d, path, SIPLINE_TPERR_UNREACHABLE);
    return;
  }
}

/* ---- TCP and TLS ------------------------------------------------------ */

static void conn_handle_closed(uv_handle_t *h) {
  sd_conn *c = h->data;
  if (--c->handles == 0) {
    if (c->ssl)
      SSL_free(c->ssl); /* frees the BIOs too */
    free(c->pend);
    sd_rxframe_free(&c->rxf);
    free(c);
  }
}

static void conn_unlink(sd *d, sd_conn *c) {
  for (sd_conn **pp = &d->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      return;
    }
}

/* Closes a connection; why != 0 reports it to the UA (SPEC R5c). */
static void conn_close(sd_conn *c, int why) {
  if (c->state == C_CLOSING)
    return;
  sd *d = c->d;
  c->state = C_CLOSING;
  conn_unlink(d, c);
  uv_close((uv_handle_t *)&c->h, conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
  if (why && c->gen == d->ua_gen)
    ua_tperr(d, &c->path, why);
}

static void shutdown_done(uv_shutdown_t *req, int status) {
  sd_conn *c = req->data;
  (void)status;
  free(req);
  /* the daemon's teardown may have closed them already */
  if (!uv_is_closing((uv_handle_t *)&c->h))
    uv_close((uv_handle_t *)&c->h, conn_handle_closed);
  if (!uv_is_closing((uv_handle_t *)&c->timer))
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/*
 * Closes a stream that cannot be framed any more after what is queued on it
 * (an error response, perhaps) is written, and reports it (ua.h, pull_tx).
 */
static void conn_close_flushed(sd_conn *c) {
  if (c->state == C_CLOSING)
    return;
  sd *d = c->d;
  c->state = C_CLOSING;
  conn_unlink(d, c);
  uv_read_stop((uv_stream_t *)&c->h);
  uv_shutdown_t *req = malloc(sizeof *req);
  if (req) {
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->h, shutdown_done) != 0) {
      free(req);
      req = NULL;
    }
  }
  if (!req) {
    uv_close((uv_handle_t *)&c->h, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
  }
  if (c->gen == d->ua_gen)
    ua_tperr(d, &c->path, SIPLINE_TPERR_CLOSED);
}

static void write_done(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

static int raw_write(sd_conn *c, const uint8_t *p, size_t n) {
  uv_write_t *req = malloc(sizeof *req + n);
  if (!req)
    return UV_ENOMEM;
  memcpy(req + 1, p, n);
  uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)n);
  int rc = uv_write(req, (uv_stream_t *)&c->h, &b, 1, write_done);
  if (rc)
    free(req);
  return rc;
}

/* Sends what OpenSSL has written into the memory BIO. */
static int tls_flush(sd_conn *c) {
  uint8_t buf[16384];
  int n;
  while ((n = BIO_read(c->wbio, buf, sizeof buf)) > 0)
    if (raw_write(c, buf, (size_t)n) != 0)
      return -1;
  return 0;
}

static void wire_tx(sd_conn *c, const uint8_t *p, size_t n) {
  sd_wire(c->d, 1, STRACE_TCP, &c->path, &c->real_local, &c->path.remote, p, n);
}

static int conn_write(sd_conn *c, const uint8_t *p, size_t n) {
  if (!c->ssl)
    return raw_write(c, p, n);
  int r = SSL_write(c->ssl, p, (int)n);
  if (r <= 0)
    return -1;
  return tls_flush(c);
}

static void conn_flush_pending(sd_conn *c) {
  /* traced now that the local address is known */
  if (c->npend)
    wire_tx(c, c->pend, c->npend);
  if (c->npend && conn_write(c, c->pend, c->npend) != 0) {
    conn_close(c, SIPLINE_TPERR_CLOSED);
    return;
  }
  free(c->pend);
  c->pend = NULL;
  c->npend = 0;
}

static void trace_rx(void *arg, const uint8_t *p, size_t n) {
  sd_conn *c = arg;
  sd_wire(c->d, 0, STRACE_TCP, &c->path, &c->path.remote, &c->real_local, p,
          n);
}

static void conn_deliver(sd_conn *c, const uint8_t *p, size_t n) {
  sd *d = c->d;
  /* One trace record (pcap frame, HEP packet, rx event) per message, not
   * per read: a read may hold two messages, or part of one. */
  sd_rxframe_feed(&c->rxf, p, n, trace_rx, c);
  if (!d->ua || c->gen != d->ua_gen)
    return;
  int rc = sipline_ua_recv(d->ua, &c->path, p, n, sd_now(d));
  sd_drive(d); /* sends what the UA queued, an error response perhaps */
  if (rc == SIPLINE_ERR_MALFORMED || rc == SIPLINE_ERR_TOOBIG) {
    char a[80];
    sj_addr(&c->path.remote, a, sizeof a);
    slog(SLOG_WARN, "closing the stream from %s: %s", a, sipline_strerror(rc));
    conn_close_flushed(c);
  }
}

static void tls_fail(sd_conn *c, const char *what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e)
    ERR_error_string_n(e, buf, sizeof buf);
  long vr = SSL_get_verify_result(c->ssl);
  char a[80];
  sj_addr(&c->path.remote, a, sizeof a);
  slog(SLOG_WARN, "TLS %s with %s (%s) failed: %s%s%s", what, a, c->path.host,
       buf, vr != X509_V_OK ? "; certificate: " : "",
       vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
  ERR_clear_error();
  conn_close(c, SIPLINE_TPERR_TLS);
}

static void tls_progress(sd_conn *c) {
  if (c->state == C_HANDSHAKE) {
    int r = SSL_do_handshake(c->ssl);
    tls_flush(c);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return;
      tls_fail(c, "handshake");
      return;
    }
    uv_timer_stop(&c->timer);
    c->state = C_OPEN;
    slog(SLOG_DEBUG, "TLS up with %s (%s)", c->path.host,
         SSL_get_version(c->ssl));
    conn_flush_pending(c);
    if (c->state != C_OPEN)
      return;
  }
  for (;;) {
    int r = SSL_read(c->ssl, rxbuf, sizeof rxbuf);
    if (r > 0) {
      conn_deliver(c, rxbuf, (size_t)r);
      if (c->state != C_OPEN)
        return;
      continue;
    }
    int e = SSL_get_error(c->ssl, r);
    tls_flush(c);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return;
    if (e == SSL_ERROR_ZERO_RETURN) {
      conn_close(c, SIPLINE_TPERR_CLOSED);
      return;
    }
    tls_fail(c, "read");
    return;
  }
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  sd_conn *c = s->data;
  if (n < 0) {
    conn_close(c, SIPLINE_TPERR_CLOSED);
    return;
  }
  if (n == 0)
    return;
  if (!c->ssl) {
    conn_deliver(c, (const uint8_t *)b->base, (size_t)n);
    return;
  }
  /* rxbuf is reused by SSL_read: hand the bytes to OpenSSL first */
  BIO_write(c->rbio, b->base, (int)n);
  tls_progress(c);
}

static void conn_timeout(uv_timer_t *t) {
  sd_conn *c = t->data;
  slog(SLOG_INFO, "%s connect timeout", sipline_transport_name(c->path.tp));
  conn_close(c, SIPLINE_TPERR_CONNECT_TIMEOUT);
}

static void conn_local(sd_conn *c) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname(&c->h, (struct sockaddr *)&ss, &len) == 0)
    sd_addr_from_sa((struct sockaddr *)&ss, &c->real_local);
}

static int tls_setup(sd_conn *c) {
  c->ssl = SSL_new(c->d->tls);
  if (!c->ssl)
    return -1;
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (!c->rbio || !c->wbio) {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    c->rbio = c->wbio = NULL;
    return -1;
  }
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_connect_state(c->ssl);
  const char *host = c->path.host;
  sipline_addr tmp;
  int is_ip = !host[0] || parse_ip(host, 0, &tmp) == 0;
  if (!is_ip) {
    SSL_set_tlsext_host_name(c->ssl, host); /* SNI */
    SSL_set1_host(c->ssl, host);            /* and verify the name */
  } else {
    char ip[64];
    const sipline_addr *a = host[0] ? &tmp : &c->path.remote;
    inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof ip);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), ip);
  }
  return 0;
}

static void conn_connected(uv_connect_t *req, int status) {
  sd_conn *c = req->data;
  if (c->state == C_CLOSING)
    return;
  if (status < 0) {
    char a[80];
    sj_addr(&c->path.remote, a, sizeof a);
    slog(SLOG_INFO, "%s connect to %s failed: %s",
         sipline_transport_name(c->path.tp), a, uv_strerror(status));
    conn_close(c, status == UV_ETIMEDOUT      ? SIPLINE_TPERR_CONNECT_TIMEOUT
                  : status == UV_ECONNREFUSED ? SIPLINE_TPERR_REFUSED
                                              : SIPLINE_TPERR_UNREACHABLE);
    return;
  }
  conn_local(c);
  /* a path the UA left without a local address learns the bound one from
   * what we pass to sipline_ua_recv() (ua.h, pull_tx) */
  if (!c->path.local.family)
    c->path.local = c->real_local;
  uv_read_start((uv_stream_t *)&c->h, alloc_cb, conn_read);
  if (c->path.tp == SIPLINE_TP_TLS) {
    c->state = C_HANDSHAKE;
    if (tls_setup(c) != 0) {
      tls_fail(c, "setup");
      return;
    }
    tls_progress(c);
    return;
  }
  uv_timer_stop(&c->timer);
  c->state = C_OPEN;
  conn_flush_pending(c);
}

static sd_conn *conn_new(sd *d, const sipline_path *path) {
  sd_conn *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->d = d;
  c->gen = d->ua_gen;
  c->path = *path;
  uv_tcp_init(d->loop, &c->h);
  uv_timer_init(d->loop, &c->timer);
  c->h.data = c->timer.data = c->creq.data = c;
  c->handles = 2;
  c->next = d->conns;
  d->conns = c;
  return c;
}

static sd_conn *conn_find(sd *d, const sipline_path *path) {
  for (sd_conn *c = d->conns; c; c = c->next)
    if (c->path.tp == path->tp && addr_same(&c->path.remote, &path->remote) &&
        (c->inbound || path->tp != SIPLINE_TP_TLS ||
         strcmp(c->path.host, path->host) == 0))
      return c;
  return NULL;
}

static const char *bind_for(sd *d, int family) {
  for (unsigned i = 0; i < d->o.n_bind; i++) {
    sipline_addr a;
    if (parse_ip(d->o.bind[i], 0, &a) == 0 && a.family == family)
      return d->o.bind[i];
  }
  return NULL;
}

static void stream_send(sd *d, const sipline_path *path, const uint8_t *p,
                        size_t n) {
  sd_conn *c = conn_find(d, path);
  if (!c) {
    if (path->tp == SIPLINE_TP_TLS && !d->tls) {
      slog(SLOG_ERROR, "TLS is not available");
      ua_tperr(d, path, SIPLINE_TPERR_TLS);
      return;
    }
    c = conn_new(d, path);
    if (!c)
      return;
    const char *b = bind_for(d, path->remote.family);
    sipline_addr la;
    if (b && parse_ip(b, 0, &la) == 0) {
      struct sockaddr_storage ls;
      sd_addr_to_sa(&la, &ls);
      uv_tcp_bind(&c->h, (struct sockaddr *)&ls, 0);
    }
    struct sockaddr_storage ss;
    sd_addr_to_sa(&path->remote, &ss);
    c->state = C_CONNECTING;
    uv_timer_start(&c->timer, conn_timeout, d->o.connect_ms, 0);
    int rc =
        uv_tcp_connect(&c->creq, &c->h, (struct sockaddr *)&ss, conn_connected);
    if (rc) {
      slog(SLOG_INFO, "connect: %s", uv_strerror(rc));
      /* hold the error until the UA's buffer is no longer in use */
      conn_close(c, rc == UV_ECONNREFUSED ? SIPLINE_TPERR_REFUSED
                                          : SIPLINE_TPERR_UNREACHABLE);
      return;
    }
    uv_tcp_nodelay(&c->h, 1);
  }
  if (c->state == C_OPEN) {
    wire_tx(c, p, n);
    if (conn_write(c, p, n) != 0)
      conn_close(c, SIPLINE_TPERR_CLOSED);
    return;
  }
  uint8_t *np = realloc(c->pend, c->npend + n);
  if (!np)
    return;
  memcpy(np + c->npend, p, n);
  c->pend = np;
  c->npend += n;
}

static void tcp_accept(uv_stream_t *srv, int status) {
  sd_tcpl *l = srv->data;
  sd *d = l->d;
  if (status < 0)
    return;
  sipline_path p;
  memset(&p, 0, sizeof p);
  p.tp = SIPLINE_TP_TCP;
  p.local = l->local;
  sd_conn *c = conn_new(d, &p);
  if (!c)
    return;
  if (uv_accept(srv, (uv_stream_t *)&c->h) != 0) {
    conn_close(c, 0);
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getpeername(&c->h, (struct sockaddr *)&ss, &len);
  sd_addr_from_sa((struct sockaddr *)&ss, &c->path.remote);
  c->real_local = l->local;
  c->inbound = 1;
  c->state = C_OPEN;
  uv_read_start((uv_stream_t *)&c->h, alloc_cb, conn_read);
}

static int tcp_listen(sd *d, const sipline_addr *local) {
  for (sd_tcpl *l = d->tcpl; l; l = l->next)
    if (addr_same(&l->local, local))
      return 0;
  sd_tcpl *l = calloc(1, sizeof *l);
  if (!l)
    return UV_ENOMEM;
  l->d = d;
  l->local = *local;
  uv_tcp_init(d->loop, &l->h);
  l->h.data = l;
  struct sockaddr_storage ss;
  sd_addr_to_sa(local, &ss);
  int rc = uv_tcp_bind(&l->h, (struct sockaddr *)&ss,
                       local->family == 6 ? UV_TCP_IPV6ONLY : 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&l->h, 64, tcp_accept);
  if (rc) {
    char a[80];
    sj_addr(local, a, sizeof a);
    slog(SLOG_WARN, "cannot listen on TCP %s: %s", a, uv_strerror(rc));
    uv_close((uv_handle_t *)&l->h, free_cb);
    return rc;
  }
  l->next = d->tcpl;
  d->tcpl = l;
  return 0;
}

/* ---- the module ------------------------------------------------------ */

int net_init(sd *d) {
  d->tls = SSL_CTX_new(TLS_client_method());
  if (!d->tls) {
    slog(SLOG_ERROR, "OpenSSL: cannot create a TLS context");
    return -1;
  }
  SSL_CTX_set_min_proto_version(d->tls, TLS1_2_VERSION);
  if (d->o.tls_no_verify) {
    slog(SLOG_WARN, "TLS certificate verification is OFF (--tls-no-verify)");
    SSL_CTX_set_verify(d->tls, SSL_VERIFY_NONE, NULL);
  } else {
    SSL_CTX_set_verify(d->tls, SSL_VERIFY_PEER, NULL);
  }
  if (d->o.ca_file) {
    if (SSL_CTX_load_verify_locations(d->tls, d->o.ca_file, NULL) != 1) {
      slog(SLOG_ERROR, "cannot load --ca-file %s", d->o.ca_file);
      return -1;
    }
  } else {
    SSL_CTX_set_default_verify_paths(d->tls);
  }
  return 0;
}

int net_open(sd *d) {
  int ok = 0, tried = 0;
  for (unsigned n = 1; n <= d->profile->n_lines; n++) {
    const sipline_line_cfg *lc = sipline_profile_line(d->profile, n);
    if (!lc)
      continue;
    for (unsigned i = 0; i < d->o.n_bind; i++) {
      sipline_addr a;
      if (parse_ip(d->o.bind[i], lc->sip_port, &a) != 0) {
        slog(SLOG_ERROR, "--bind %s is not an IP address", d->o.bind[i]);
        return -1;
      }
      tried++;
      if (udp_open(d, &a) == 0)
        ok++;
      /* RFC 3261 §18: every element takes TCP too (a proxy may open a
       * connection to the Contact); a busy TCP port is only a warning */
      tcp_listen(d, &a);
    }
  }
  if (tried && !ok)
    return -1;
  return 0;
}

void net_close(sd *d, int quiet) {
  pace_clear(d);
  while (d->conns)
    conn_close(d->conns, quiet ? 0 : SIPLINE_TPERR_CLOSED);
  while (d->udp) {
    sd_udp *u = d->udp;
    d->udp = u->next;
    uv_close((uv_handle_t *)&u->h, free_cb);
  }
  while (d->tcpl) {
    sd_tcpl *l = d->tcpl;
    d->tcpl = l->next;
    uv_close((uv_handle_t *)&l->h, free_cb);
  }
}

void net_send(sd *d, const sipline_path *path, const uint8_t *p, size_t n) {
  if (path->remote.family != 4 && path->remote.family != 6) {
    slog(SLOG_WARN, "the UA sent to an unset address; dropped");
    return;
  }
  if (path->tp == SIPLINE_TP_UDP)
    udp_send(d, path, p, n);
  else
    stream_send(d, path, p, n);
}
