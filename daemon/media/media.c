/*
 * RTP sessions on libuv (see media.h). One 20 ms clock per session drives
 * both directions: each tick sends one packet (audio or a telephone-event)
 * and plays one frame out of the jitter buffer into the recording. Ticks
 * are counted against the loop's clock, so a late timer catches up
 * instead of slowing the stream down.
 */
#include "media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <spandsp.h>
#include <srtp2/srtp.h>

#include "audio.h"
#include "rtp.h"

#define TICK_MS 20
#define MAX_CATCHUP 5 /* ticks made up at once after a stall */
#define DTMF_FRAMES 5 /* 100 ms events */
#define DTMF_ENDS 3   /* the end packet, three times (RFC 4733 2.5.1.4) */
#define DTMF_GAP 3    /* 60 ms of audio between digits */
#define DTMF_QUEUE 64
#define PKT_MAX 1500

typedef struct sock {
  uv_udp_t h;
  sipline_media *m;
  bool rtcp;
} sock;

enum { DT_IDLE, DT_EVENT, DT_END, DT_GAP };

struct sipline_media {
  uv_loop_t *loop;
  uv_timer_t tick, rtcp_timer;
  unsigned open; /* handles not yet closed */
  bool closing;
  sock *rtp, *rtcp;
  sipline_media_opts o;
  char ip[INET6_ADDRSTRLEN];
  char cname[256];
  struct sockaddr_storage bind_addr; /* the address, port 0 */

  sipline_media_params p; /* key strings cleared: keys kept below */
  bool have_params, have_remote;
  struct sockaddr_storage rtp_to, rtcp_to;

  /* sending */
  uint32_t ssrc, ts;
  uint16_t seq;
  uint64_t t0, ticks;
  sm_src src;
  bool sent_since_report;
  char dq[DTMF_QUEUE + 1];
  size_t dq_len;
  int dt_state, dt_n;
  uint8_t dt_event;
  uint32_t dt_ts;
  uint16_t dt_dur;
  bool dt_first;

  /* SRTP */
  srtp_t stx, srx;
  uint8_t lkey[SM_SRTP_KEYLEN], rkey[SM_SRTP_KEYLEN];

  /* receiving */
  sm_rxstat rx;
  sm_jb jb;
  /* Concealment: the last good frame, repeated fading (spandsp's PLC
   * would do better, but its 0.0.6 plc_fillin memcpys overlapping
   * history: undefined behaviour, ASan stops on it). */
  int16_t last[SM_FRAME];
  unsigned fade; /* frames concealed in a row */
  dtmf_rx_state_t *dtmf;
  bool have_ev;
  uint32_t ev_ts, ev_ssrc;
  sm_rec *rec;

  /* RTCP */
  uint32_t lsr;
  uint64_t lsr_at;
  sipline_media_stats st;
  uint8_t rbuf[2048];
};

const char *sipline_media_dir_name(sipline_media_dir d) {
  static const char *const n[] = {"inactive", "sendonly", "recvonly",
                                  "sendrecv"};
  return (unsigned)d < 4 ? n[d] : "?";
}

static void os_rand(void *arg, uint8_t *buf, size_t n) {
  (void)arg;
  if (uv_random(NULL, NULL, buf, n, 0, NULL) != 0)
    abort(); /* no entropy: nothing safe to do (keys come from here) */
}

static void rnd(sipline_media *m, void *buf, size_t n) {
  m->o.rand(m->o.rand_arg, buf, n);
}

static double rnd01(sipline_media *m) {
  uint32_t r;
  rnd(m, &r, sizeof r);
  return r / 4294967296.0;
}

static bool srtp_ready(void) {
  static bool done;
  if (!done && srtp_init() == srtp_err_status_ok)
    done = true;
  return done;
}

/* ---- sockets ------------------------------------------------------------ */

static void maybe_free(sipline_media *m) {
  if (!m->closing || m->open)
    return;
  if (m->stx)
    srtp_dealloc(m->stx);
  if (m->srx)
    srtp_dealloc(m->srx);
  if (m->dtmf)
    dtmf_rx_free(m->dtmf);
  sm_src_free(&m->src);
  sm_rec_close(m->rec);
  free(m);
}

static void on_handle_closed(uv_handle_t *h) {
  sipline_media *m = h->data;
  m->open--;
  maybe_free(m);
}

static void on_sock_closed(uv_handle_t *h) {
  sock *s = h->data;
  sipline_media *m = s->m;
  free(s);
  m->open--;
  maybe_free(m);
}

static void sock_close(sock *s) {
  if (s)
    uv_close((uv_handle_t *)&s->h, on_sock_closed);
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b) {
  (void)want;
  sock *s = h->data;
  /* One datagram at a time: libuv calls recv before the next alloc. The
   * slack lets SRTP grow a packet we loop back in tests. */
  b->base = (char *)s->m->rbuf;
  b->len = sizeof s->m->rbuf - SRTP_MAX_TRAILER_LEN - 4;
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
                    const struct sockaddr *from, unsigned flags);

static int sock_open(sipline_media *m, sock **out, uint16_t port, bool rtcp) {
  sock *s = calloc(1, sizeof *s);
  if (!s)
    return SIPLINE_ERR_NOMEM;
  s->m = m;
  s->rtcp = rtcp;
  s->h.data = s;
  if (uv_udp_init(m->loop, &s->h) != 0) {
    free(s);
    return SIPLINE_ERR_IO;
  }
  m->open++;
  struct sockaddr_storage a = m->bind_addr;
  if (a.ss_family == AF_INET)
    ((struct sockaddr_in *)&a)->sin_port = htons(port);
  else
    ((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
  int rc = uv_udp_bind(&s->h, (const struct sockaddr *)&a, 0);
  if (rc == 0)
    rc = uv_udp_recv_start(&s->h, on_alloc, on_recv);
  if (rc != 0) {
    sock_close(s);
    return rc == UV_EADDRINUSE || rc == UV_EACCES ? SIPLINE_ERR_EXISTS
                                                  : SIPLINE_ERR_IO;
  }
  *out = s;
  return 0;
}

/* Binds a fresh even/odd pair in the range. */
static int bind_pair(sipline_media *m, sock **rtp, sock **rtcp) {
  unsigned lo = m->o.port_min & ~1u, hi = m->o.port_max;
  if (lo < 2 || hi < lo + 1)
    return SIPLINE_ERR_INVAL;
  unsigned pairs = (hi - lo + 1) / 2;
  uint32_t r;
  rnd(m, &r, sizeof r);
  for (unsigned i = 0; i < pairs; i++) {
    uint16_t port = (uint16_t)(lo + 2 * ((r + i) % pairs));
    int rc = sock_open(m, rtp, port, false);
    if (rc == SIPLINE_ERR_EXISTS)
      continue;
    if (rc)
      return rc;
    rc = sock_open(m, rtcp, (uint16_t)(port + 1), true);
    if (rc == 0)
      return 0;
    sock_close(*rtp);
    *rtp = NULL;
    if (rc != SIPLINE_ERR_EXISTS)
      return rc;
  }
  return SIPLINE_ERR_EXISTS;
}

/* ---- sending ------------------------------------------------------------ */

static void send_to(sipline_media *m, sock *s, uint8_t *pkt, int len, bool rtcp,
                    const struct sockaddr_storage *to) {
  if (rtcp
          ? m->stx && srtp_protect_rtcp(m->stx, pkt, &len) != srtp_err_status_ok
          : m->stx && srtp_protect(m->stx, pkt, &len) != srtp_err_status_ok)
    return;
  uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
  /* Synchronous: a full socket buffer drops the packet, as a router
   * would; nothing queues behind a real-time stream. */
  (void)uv_udp_try_send(&s->h, &b, 1, (const struct sockaddr *)to);
}

static void send_rtp(sipline_media *m, uint8_t pt, bool marker, uint32_t ts,
                     const uint8_t *pl, size_t n) {
  uint8_t pkt[PKT_MAX];
  sm_rtp h = {
      .pt = pt, .marker = marker, .seq = m->seq++, .ts = ts, .ssrc = m->ssrc};
  int hl = sm_rtp_pack(pkt, sizeof pkt, &h);
  memcpy(pkt + hl, pl, n);
  send_to(m, m->rtp, pkt, hl + (int)n, false, &m->rtp_to);
  m->st.pkts_sent++;
  m->st.octets_sent += n;
  m->sent_since_report = true;
}

static void send_event(sipline_media *m, bool end) {
  sm_tev e = {
      .event = m->dt_event, .end = end, .volume = 10, .duration = m->dt_dur};
  uint8_t pl[SM_TEV_LEN];
  sm_tev_pack(pl, &e);
  send_rtp(m, (uint8_t)m->p.dtmf_pt, m->dt_first, m->dt_ts, pl, sizeof pl);
  m->dt_first = false;
}

/* One DTMF step per tick; returns whether it used the tick's packet. */
static bool dtmf_tick(sipline_media *m) {
  switch (m->dt_state) {
  case DT_IDLE:
    if (!m->dq_len || m->p.dtmf_pt < 0)
      return false;
    m->dt_event = (uint8_t)sm_tev_from_digit(m->dq[0]);
    memmove(m->dq, m->dq + 1, m->dq_len--);
    m->dt_state = DT_EVENT;
    m->dt_ts = m->ts;
    m->dt_dur = 0;
    m->dt_first = true;
    /* fall through */
  case DT_EVENT:
    m->dt_dur += SM_FRAME;
    if (m->dt_dur < DTMF_FRAMES * SM_FRAME) {
      send_event(m, false);
      return true;
    }
    m->dt_state = DT_END;
    m->dt_n = 0;
    /* fall through */
  case DT_END:
    send_event(m, true);
    if (++m->dt_n == DTMF_ENDS) {
      m->dt_state = DT_GAP;
      m->dt_n = 0;
      m->st.dtmf_sent++;
    }
    return true;
  case DT_GAP:
    if (++m->dt_n == DTMF_GAP)
      m->dt_state = DT_IDLE;
    return false;
  }
  return false;
}

static void encode(uint8_t pt, const int16_t *pcm, uint8_t *out) {
  for (int i = 0; i < SM_FRAME; i++)
    out[i] = pt == 8 ? linear_to_alaw(pcm[i]) : linear_to_ulaw(pcm[i]);
}

static void decode(uint8_t pt, const uint8_t *in, size_t n, int16_t *pcm) {
  for (size_t i = 0; i < n; i++)
    pcm[i] = pt == 8 ? alaw_to_linear(in[i]) : ulaw_to_linear(in[i]);
}

/* ---- playout ------------------------------------------------------------ */

static void record(sipline_media *m, const int16_t *pcm, size_t n) {
  if (m->dtmf)
    dtmf_rx(m->dtmf, pcm, (int)n);
  if (m->rec && sm_rec_write(m->rec, pcm, n) == 0)
    m->st.recorded += n;
}

/* A lost frame repeats the last good one, at full level the first time
 * and 3 dB quieter each next time; after five it is silence. Enough for
 * the odd loss on a LAN (a 20 ms repeat of a 1000 Hz tone is seamless). */
static void conceal(sipline_media *m, int16_t *pcm) {
  static const int gain[] = {1024, 724, 512, 362, 256};
  int g = m->fade < 5 ? gain[m->fade] : 0;
  m->fade++;
  for (int i = 0; i < SM_FRAME; i++)
    pcm[i] = (int16_t)(m->last[i] * g / 1024);
}

static void playout(sipline_media *m) {
  uint8_t f[SM_JB_FRAME];
  size_t n;
  int16_t pcm[SM_JB_FRAME];
  switch (sm_jb_get(&m->jb, f, &n)) {
  case SM_JB_FRAME_OK:
    /* f[0] is the payload type the packet came with: a codec change
     * mid-stream decodes what is already buffered correctly. */
    if (n < 1)
      return;
    if (f[0] != 0 && f[0] != 8) {
      /* A telephone-event took this packet's place: silence, not
       * concealment (the digit went to on_dtmf). */
      n = SM_FRAME + 1;
      for (size_t i = 0; i < SM_FRAME; i++)
        pcm[i] = 0;
    } else {
      decode(f[0], f + 1, n - 1, pcm);
    }
    if (n - 1 == SM_FRAME)
      memcpy(m->last, pcm, sizeof m->last);
    m->fade = 0;
    record(m, pcm, n - 1);
    break;
  case SM_JB_FRAME_LOST:
    conceal(m, pcm);
    m->st.concealed++;
    record(m, pcm, SM_FRAME);
    break;
  default:
    break;
  }
}

static void frame(sipline_media *m) {
  int16_t pcm[SM_FRAME];
  sm_src_read(&m->src, pcm);
  if (m->have_remote && (m->p.dir & SIPLINE_MEDIA_SENDONLY) && !dtmf_tick(m)) {
    uint8_t pl[SM_FRAME];
    encode(m->p.pt, pcm, pl);
    send_rtp(m, m->p.pt, false, m->ts, pl, sizeof pl);
  }
  m->ts += SM_FRAME;
  playout(m);
}

static void on_tick(uv_timer_t *t) {
  sipline_media *m = t->data;
  uint64_t due = (uv_now(m->loop) - m->t0) / TICK_MS;
  if (due > m->ticks + MAX_CATCHUP)
    m->ticks = due - MAX_CATCHUP; /* a long stall: skip, do not burst */
  while (m->ticks < due) {
    m->ticks++;
    frame(m);
  }
}

/* ---- RTCP --------------------------------------------------------------- */

static uint64_t ntp_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t sec = (uint64_t)ts.tv_sec + 2208988800u;
  uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
  return sec << 32 | frac;
}

static void send_rtcp(sipline_media *m, bool bye) {
  if (!m->have_remote)
    return;
  sm_rtcp_rb rb;
  sm_rtcp_out o = {.ssrc = m->ssrc,
                   .sr = m->sent_since_report,
                   .ntp = ntp_now(),
                   .rtp_ts = m->ts,
                   .pkts = (uint32_t)m->st.pkts_sent,
                   .octets = (uint32_t)m->st.octets_sent,
                   .cname = m->cname,
                   .bye = bye};
  if (m->rx.init && !m->rx.probation) {
    rb = (sm_rtcp_rb){.ssrc = m->rx.ssrc,
                      .fraction = sm_rxstat_fraction(&m->rx),
                      .lost = sm_rxstat_lost(&m->rx),
                      .ext_max = sm_rxstat_ext_max(&m->rx),
                      .jitter = sm_rxstat_jitter(&m->rx),
                      .lsr = m->lsr};
    if (m->lsr)
      rb.dlsr = (uint32_t)((uv_now(m->loop) - m->lsr_at) * 65536 / 1000);
    o.rb = &rb;
    o.nrb = 1;
  }
  uint8_t pkt[PKT_MAX];
  int n = sm_rtcp_build(pkt, sizeof pkt - SRTP_MAX_TRAILER_LEN - 4, &o);
  if (n < 0)
    return;
  m->sent_since_report = false;
  m->st.rtcp_sent++;
  send_to(m, m->p.rtcp_mux ? m->rtp : m->rtcp, pkt, n, true, &m->rtcp_to);
}

static void on_rtcp_timer(uv_timer_t *t) {
  sipline_media *m = t->data;
  send_rtcp(m, false);
  uv_timer_start(&m->rtcp_timer, on_rtcp_timer,
                 sm_rtcp_interval_ms(false, rnd01(m)), 0);
}

/* ---- receiving ---------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a,
                      const struct sockaddr *b) {
  if (a->ss_family != b->sa_family)
    return false;
  if (b->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port &&
           x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port &&
         memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void latch(struct sockaddr_storage *to, const struct sockaddr *from) {
  if (same_addr(to, from))
    return;
  memset(to, 0, sizeof *to);
  memcpy(to, from,
         from->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                    : sizeof(struct sockaddr_in6));
}

static void on_rtcp(sipline_media *m, uint8_t *p, int n,
                    const struct sockaddr *from) {
  if (m->srx && srtp_unprotect_rtcp(m->srx, p, &n) != srtp_err_status_ok) {
    m->st.srtp_auth_fail++;
    return;
  }
  sm_rtcp_info in;
  if (sm_rtcp_parse(p, (size_t)n, &in) != 0)
    return;
  m->st.rtcp_recv++;
  if (m->p.symmetric)
    latch(&m->rtcp_to, from);
  if (in.sr) {
    m->lsr = (uint32_t)(in.ntp >> 16);
    m->lsr_at = uv_now(m->loop);
  }
  if (in.bye)
    m->st.remote_bye = true;
  for (unsigned i = 0; i < in.nrb; i++)
    if (in.rb[i].ssrc == m->ssrc) {
      m->st.peer_lost = in.rb[i].lost;
      m->st.peer_jitter = in.rb[i].jitter;
      if (in.rb[i].lsr) {
        /* RFC 3550 6.4.1: RTT = A - LSR - DLSR, in 1/65536 s */
        uint32_t a = (uint32_t)(ntp_now() >> 16);
        uint32_t rtt = a - in.rb[i].lsr - in.rb[i].dlsr;
        if (rtt < 0x80000000u)
          m->st.rtt_ms = (uint32_t)((uint64_t)rtt * 1000 / 65536);
      }
    }
}

static void on_rtp(sipline_media *m, uint8_t *p, int n,
                   const struct sockaddr *from) {
  if (m->srx) {
    srtp_err_status_t e = srtp_unprotect(m->srx, p, &n);
    if (e != srtp_err_status_ok) {
      if (e == srtp_err_status_auth_fail)
        m->st.srtp_auth_fail++;
      m->st.pkts_dropped++;
      return;
    }
  }
  sm_rtp r;
  if (sm_rtp_unpack(p, (size_t)n, &r) != 0 || !m->have_params ||
      !(m->p.dir & SIPLINE_MEDIA_RECVONLY)) {
    m->st.pkts_dropped++;
    return;
  }
  bool tev = m->p.dtmf_pt >= 0 && r.pt == m->p.dtmf_pt;
  if (!tev && r.pt != 0 && r.pt != 8) {
    m->st.pkts_dropped++;
    return;
  }
  if (m->p.symmetric) {
    latch(&m->rtp_to, from);
    if (m->p.rtcp_mux)
      latch(&m->rtcp_to, from);
  }
  m->st.pkts_recv++;
  m->st.octets_recv += r.plen;
  m->st.remote_ssrc = r.ssrc;
  uint32_t arrival = (uint32_t)(uv_hrtime() / 125000u); /* 8 kHz units */
  (void)sm_rxstat_update(&m->rx, r.ssrc, r.seq, r.ts, arrival);
  if (tev) {
    sm_tev e;
    /* One report per event: the first packet of a new timestamp (the
     * event's start), whichever of its packets that is. */
    if (sm_tev_unpack(r.payload, r.plen, &e) == 0 &&
        (!m->have_ev || r.ts != m->ev_ts || r.ssrc != m->ev_ssrc)) {
      m->have_ev = true;
      m->ev_ts = r.ts;
      m->ev_ssrc = r.ssrc;
      char d = sm_tev_digit(e.event);
      if (d) {
        m->st.dtmf_recv++;
        if (m->o.on_dtmf)
          m->o.on_dtmf(m->o.arg, m, d);
      }
    }
    /* Its sequence number holds a place in the jitter buffer, so the
     * audio around the event is not taken for lost. */
    uint8_t mark = r.pt;
    (void)sm_jb_put(&m->jb, r.ssrc, r.seq, &mark, 1);
    return;
  }
  uint8_t f[SM_JB_FRAME];
  if (r.plen + 1 > sizeof f) {
    m->st.pkts_dropped++;
    return;
  }
  f[0] = r.pt;
  memcpy(f + 1, r.payload, r.plen);
  int rc = sm_jb_put(&m->jb, r.ssrc, r.seq, f, r.plen + 1);
  if (rc == SM_JB_LATE)
    m->st.late++;
  else if (rc == SM_JB_DUP)
    m->st.dup++;
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
                    const struct sockaddr *from, unsigned flags) {
  (void)flags;
  sock *s = h->data;
  sipline_media *m = s->m;
  if (n <= 0 || !from || m->closing)
    return;
  uint8_t *p = (uint8_t *)b->base;
  if (s->rtcp || (m->p.rtcp_mux && sm_is_rtcp(p, (size_t)n)))
    on_rtcp(m, p, (int)n, from);
  else
    on_rtp(m, p, (int)n, from);
}

static void inband_digits(void *arg, const char *digits, int len) {
  sipline_media *m = arg;
  for (int i = 0; i < len; i++) {
    m->st.dtmf_recv++;
    if (m->o.on_dtmf)
      m->o.on_dtmf(m->o.arg, m, digits[i]);
  }
}

/* ---- the API ------------------------------------------------------------ */

int sipline_media_new(sipline_media **pm, uv_loop_t *loop,
                      const sipline_media_opts *o) {
  sipline_media *m = calloc(1, sizeof *m);
  if (!m)
    return SIPLINE_ERR_NOMEM;
  m->loop = loop;
  m->o = *o;
  if (!m->o.rand)
    m->o.rand = os_rand;
  if (!m->o.port_min && !m->o.port_max) {
    m->o.port_min = 16384;
    m->o.port_max = 32767;
  }
  snprintf(m->ip, sizeof m->ip, "%s", o->local_ip ? o->local_ip : "0.0.0.0");
  snprintf(m->cname, sizeof m->cname, "%s", o->cname ? o->cname : "siplined@");
  if (!o->cname)
    snprintf(m->cname + 9, sizeof m->cname - 9, "%s", m->ip);
  m->o.local_ip = m->ip;
  m->o.cname = m->cname;
  if (uv_ip4_addr(m->ip, 0, (struct sockaddr_in *)&m->bind_addr) != 0 &&
      uv_ip6_addr(m->ip, 0, (struct sockaddr_in6 *)&m->bind_addr) != 0) {
    free(m);
    return SIPLINE_ERR_INVAL;
  }
  sm_jb_init(&m->jb, o->jb_prefetch, o->jb_max);
  if (o->inband_dtmf && !(m->dtmf = dtmf_rx_init(NULL, inband_digits, m))) {
    free(m);
    return SIPLINE_ERR_NOMEM;
  }
  rnd(m, &m->ssrc, sizeof m->ssrc);
  rnd(m, &m->seq, sizeof m->seq);
  rnd(m, &m->ts, sizeof m->ts);
  m->st.ssrc = m->ssrc;
  m->p.dtmf_pt = -1;
  m->p.dir = SIPLINE_MEDIA_SENDRECV;
  int rc = bind_pair(m, &m->rtp, &m->rtcp);
  m->closing = rc != 0; /* a failed bind frees once its handles close */
  uv_timer_init(loop, &m->tick);
  uv_timer_init(loop, &m->rtcp_timer);
  m->tick.data = m->rtcp_timer.data = m;
  m->open += 2;
  if (rc != 0) {
    uv_close((uv_handle_t *)&m->tick, on_handle_closed);
    uv_close((uv_handle_t *)&m->rtcp_timer, on_handle_closed);
    return rc;
  }
  m->t0 = uv_now(loop);
  uv_timer_start(&m->tick, on_tick, TICK_MS, TICK_MS);
  uv_timer_start(&m->rtcp_timer, on_rtcp_timer,
                 sm_rtcp_interval_ms(true, rnd01(m)), 0);
  *pm = m;
  return 0;
}

void sipline_media_del(sipline_media *m) {
  if (!m || m->closing)
    return;
  send_rtcp(m, true);
  m->closing = true;
  sm_rec_close(m->rec);
  m->rec = NULL;
  uv_close((uv_handle_t *)&m->tick, on_handle_closed);
  uv_close((uv_handle_t *)&m->rtcp_timer, on_handle_closed);
  sock_close(m->rtp);
  sock_close(m->rtcp);
}

int sipline_media_local(const sipline_media *m, struct sockaddr_storage *rtp) {
  int len = sizeof *rtp;
  memset(rtp, 0, sizeof *rtp);
  return uv_udp_getsockname(&m->rtp->h, (struct sockaddr *)rtp, &len) == 0
             ? 0
             : SIPLINE_ERR_IO;
}

int sipline_media_rebind(sipline_media *m) {
  sock *rtp = NULL, *rtcp = NULL;
  int rc = bind_pair(m, &rtp, &rtcp);
  if (rc)
    return rc;
  sock_close(m->rtp);
  sock_close(m->rtcp);
  m->rtp = rtp;
  m->rtcp = rtcp;
  return 0;
}

static int new_srtp(srtp_t *out, const uint8_t key[SM_SRTP_KEYLEN], bool tx) {
  srtp_policy_t pol;
  memset(&pol, 0, sizeof pol);
  srtp_crypto_policy_set_rtp_default(&pol.rtp); /* AES_CM_128 SHA1_80 */
  srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
  pol.ssrc.type = tx ? ssrc_any_outbound : ssrc_any_inbound;
  pol.key = (unsigned char *)key;
  pol.window_size = 128;
  return srtp_create(out, &pol) == srtp_err_status_ok ? 0 : SIPLINE_ERR_CRYPTO;
}

/* The peer as reached from our socket (v4-mapped on a "::" socket). */
static int peer_addr(const sipline_media *m, const struct sockaddr_storage *in,
                     uint16_t port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  int fam = m->bind_addr.ss_family;
  if (in->ss_family == AF_INET && fam == AF_INET) {
    memcpy(out, in, sizeof(struct sockaddr_in));
    ((struct sockaddr_in *)out)->sin_port = htons(port);
  } else if (in->ss_family == AF_INET6 && fam == AF_INET6) {
    memcpy(out, in, sizeof(struct sockaddr_in6));
    ((struct sockaddr_in6 *)out)->sin6_port = htons(port);
  } else if (in->ss_family == AF_INET && fam == AF_INET6) {
    struct sockaddr_in6 *o6 = (struct sockaddr_in6 *)out;
    o6->sin6_family = AF_INET6;
    o6->sin6_port = htons(port);
    o6->sin6_addr.s6_addr[10] = o6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&o6->sin6_addr.s6_addr[12],
           &((const struct sockaddr_in *)in)->sin_addr, 4);
  } else {
    return SIPLINE_ERR_INVAL;
  }
  return 0;
}

static uint16_t port_of(const struct sockaddr_storage *a) {
  return ntohs(a->ss_family == AF_INET
                   ? ((const struct sockaddr_in *)a)->sin_port
                   : ((const struct sockaddr_in6 *)a)->sin6_port);
}

int sipline_media_set(sipline_media *m, const sipline_media_params *p) {
  if ((p->pt != 0 && p->pt != 8) || (unsigned)p->dir > 3 ||
      (p->dtmf_pt != -1 && (p->dtmf_pt < 96 || p->dtmf_pt > 127)) ||
      !p->srtp_local != !p->srtp_remote)
    return SIPLINE_ERR_INVAL;
  struct sockaddr_storage rtp_to, rtcp_to;
  bool have_remote = p->remote.ss_family != AF_UNSPEC;
  if (have_remote) {
    uint16_t port = port_of(&p->remote);
    uint16_t cport = p->rtcp_mux           ? port
                     : p->remote_rtcp_port ? p->remote_rtcp_port
                                           : (uint16_t)(port + 1);
    int rc = peer_addr(m, &p->remote, port, &rtp_to);
    if (rc == 0)
      rc = peer_addr(m, &p->remote, cport, &rtcp_to);
    if (rc || port == 0)
      return SIPLINE_ERR_INVAL;
  }
  srtp_t stx = NULL, srx = NULL;
  sm_sdes lk, rk;
  bool srtp = p->srtp_local != NULL;
  if (srtp) {
    int rc = sm_sdes_parse(p->srtp_local, strlen(p->srtp_local), &lk);
    if (rc == 0)
      rc = sm_sdes_parse(p->srtp_remote, strlen(p->srtp_remote), &rk);
    if (rc)
      return rc;
    if (!srtp_ready())
      return SIPLINE_ERR_CRYPTO;
    /* Keys that did not change keep their context (and its rollover
     * counter and replay window). */
    if (!m->stx || memcmp(lk.key, m->lkey, sizeof lk.key))
      rc = new_srtp(&stx, lk.key, true);
    if (rc == 0 && (!m->srx || memcmp(rk.key, m->rkey, sizeof rk.key)))
      rc = new_srtp(&srx, rk.key, false);
    if (rc) {
      if (stx)
        srtp_dealloc(stx);
      return rc;
    }
  }
  /* Nothing can fail from here on. */
  if (!srtp || stx) {
    if (m->stx)
      srtp_dealloc(m->stx);
    m->stx = stx;
  }
  if (!srtp || srx) {
    if (m->srx)
      srtp_dealloc(m->srx);
    m->srx = srx;
  }
  if (srtp) {
    memcpy(m->lkey, lk.key, sizeof m->lkey);
    memcpy(m->rkey, rk.key, sizeof m->rkey);
  }
  m->p = *p;
  m->p.srtp_local = m->p.srtp_remote = NULL;
  m->have_params = true;
  m->have_remote = have_remote;
  if (have_remote) {
    m->rtp_to = rtp_to;
    m->rtcp_to = rtcp_to;
  }
  if (!(p->dir & SIPLINE_MEDIA_RECVONLY))
    sm_jb_init(&m->jb, m->o.jb_prefetch, m->o.jb_max); /* nothing to play */
  if (!(p->dir & SIPLINE_MEDIA_SENDONLY) || p->dtmf_pt < 0) {
    m->dt_state = DT_IDLE; /* an event cut short is not resumed */
    m->dq_len = 0;
  }
  return 0;
}

int sipline_media_play_file(sipline_media *m, const char *path, bool loop) {
  return sm_src_file(&m->src, path, loop);
}

int sipline_media_file_check(const char *path, char *why, size_t cap) {
  return sm_src_check(path, why, cap);
}

void sipline_media_play_tone(sipline_media *m, double hz, double dbm0) {
  sm_src_tone(&m->src, hz, dbm0);
}

void sipline_media_play_silence(sipline_media *m) {
  sm_src_silence(&m->src);
}

bool sipline_media_play_done(const sipline_media *m) {
  return m->src.kind != SM_SRC_FILE || m->src.ended;
}

int sipline_media_record(sipline_media *m, const char *path) {
  sm_rec *r = NULL;
  if (path) {
    int rc = sm_rec_open(&r, path);
    if (rc)
      return rc;
  }
  sm_rec_close(m->rec);
  m->rec = r;
  return 0;
}

int sipline_media_dtmf(sipline_media *m, const char *digits) {
  if (m->p.dtmf_pt < 0)
    return SIPLINE_ERR_STATE;
  size_t n = strlen(digits);
  for (size_t i = 0; i < n; i++)
    if (sm_tev_from_digit(digits[i]) < 0)
      return SIPLINE_ERR_INVAL;
  if (m->dq_len + n > DTMF_QUEUE)
    return SIPLINE_ERR_TOOBIG;
  memcpy(m->dq + m->dq_len, digits, n);
  m->dq_len += n;
  m->dq[m->dq_len] = 0;
  return 0;
}

void sipline_media_stats_get(const sipline_media *m, sipline_media_stats *st) {
  *st = m->st;
  st->lost = sm_rxstat_lost(&m->rx);
  st->jitter = sm_rxstat_jitter(&m->rx);
}

int sipline_media_sdes_new(char *out, size_t cap, unsigned tag,
                           sipline_media_rand_fn *rand, void *rand_arg) {
  sm_sdes k = {.tag = tag};
  (rand ? rand : os_rand)(rand_arg, k.key, sizeof k.key);
  return sm_sdes_print(out, cap, &k);
}
