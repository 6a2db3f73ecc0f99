/*
 * The media engine end to end on loopback (integration.daemon_media_loop):
 * two sessions in one libuv loop, A plays a 1000 Hz tone from a WAV file
 * this test writes, B records; the recording is measured (frequency by
 * zero crossings and Goertzel, level, duration) and B must report the
 * DTMF digits A sends as RFC 4733 events. Repeated with PCMA from a 16 kHz
 * stereo file, over IPv6, with SRTP (and a wrong key: nothing decodes), a
 * mid-stream change of B's port and of the directions, and through a
 * relay that drops, reorders and duplicates. Waits are "until something
 * happened" with generous limits; the assertions are about content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <netinet/in.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <spandsp.h>

#include "media/media.h"

#define TONE_HZ 1000.0
#define TONE_DBM0 (-10.0)

static char tmpdir[512];

static uint64_t seed = 0x9e3779b97f4a7c15ull;
static void test_rand(void *arg, uint8_t *buf, size_t n) {
  (void)arg;
  for (size_t i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    buf[i] = (uint8_t)seed;
  }
}

static void path(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* A tone file of `secs` at `rate` with `ch` channels (all the same). */
static void write_tone(const char *p, int rate, int ch, double secs) {
  SF_INFO info = {.samplerate = rate,
                  .channels = ch,
                  .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
  SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
  assert_non_null(sf);
  double amp = 32767.0 * pow(10.0, (TONE_DBM0 - 3.14) / 20.0);
  size_t n = (size_t)(secs * rate);
  short *buf = calloc(n * (size_t)ch, sizeof *buf);
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < ch; c++)
      buf[i * (size_t)ch + (size_t)c] =
          (short)lrint(amp * sin(2 * M_PI * TONE_HZ * (double)i / rate));
  assert_int_equal(sf_writef_short(sf, buf, (sf_count_t)n), (sf_count_t)n);
  free(buf);
  sf_close(sf);
}

/* ---- the loop ----------------------------------------------------------- */

typedef struct pair {
  uv_loop_t loop;
  sipline_media *a, *b;
  char digits[64];
  size_t nd;
} pair;

static void on_dtmf(void *arg, sipline_media *m, char d) {
  (void)m;
  pair *t = arg;
  if (t->nd + 1 < sizeof t->digits)
    t->digits[t->nd++] = d;
}

typedef bool cond_fn(pair *t);
static void on_step(uv_timer_t *h) {
  uv_stop(h->loop);
}

/* Runs the loop until cond holds (checked every 10 ms) or limit_ms passed.
 * The limit is a safety net, not an assertion. */
static bool run_until(pair *t, cond_fn *cond, unsigned limit_ms) {
  uv_timer_t tm;
  uv_timer_init(&t->loop, &tm);
  uv_timer_start(&tm, on_step, 10, 10);
  uint64_t end = uv_now(&t->loop) + limit_ms;
  bool ok;
  while (!(ok = cond && cond(t)) && uv_now(&t->loop) < end)
    uv_run(&t->loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&tm, NULL);
  uv_run(&t->loop, UV_RUN_NOWAIT);
  return ok;
}

static void run_ms(pair *t, unsigned ms) {
  run_until(t, NULL, ms);
}

static sipline_media_stats stats(sipline_media *m) {
  sipline_media_stats s;
  sipline_media_stats_get(m, &s);
  return s;
}

static bool inband; /* the next sessions detect in-band DTMF */

static sipline_media *new_session(pair *t, const char *ip) {
  sipline_media_opts o = {.local_ip = ip,
                          .port_min = 40000,
                          .port_max = 44999,
                          .rand = test_rand,
                          .on_dtmf = on_dtmf,
                          .arg = t,
                          .inband_dtmf = inband};
  sipline_media *m = NULL;
  assert_int_equal(sipline_media_new(&m, &t->loop, &o), 0);
  struct sockaddr_storage ss;
  assert_int_equal(sipline_media_local(m, &ss), 0);
  uint16_t port =
      ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
  assert_int_equal(port % 2, 0); /* RTP on an even port */
  assert_true(port >= 40000 && port < 45000);
  return m;
}

/* Parameters that send to m's real socket. */
static sipline_media_params to(sipline_media *m, uint8_t pt) {
  sipline_media_params p = {
      .pt = pt, .dtmf_pt = 101, .dir = SIPLINE_MEDIA_SENDRECV};
  assert_int_equal(sipline_media_local(m, &p.remote), 0);
  return p;
}

static void pair_init(pair *t, const char *ip) {
  memset(t, 0, sizeof *t);
  uv_loop_init(&t->loop);
  t->a = new_session(t, ip);
  t->b = new_session(t, ip);
}

static void pair_close(pair *t) {
  sipline_media_del(t->a);
  sipline_media_del(t->b);
  uv_run(&t->loop, UV_RUN_DEFAULT); /* handles close, memory freed */
  assert_int_equal(uv_loop_close(&t->loop), 0);
}

/* ---- measuring the recording -------------------------------------------- */

typedef struct tone {
  size_t samples;      /* all samples recorded */
  size_t tone_samples; /* in 20 ms blocks louder than -40 dBm0 */
  double hz;           /* from zero crossings over the loud blocks */
  double dbm0;         /* RMS level of the loud blocks */
  double purity;       /* Goertzel power at 1000 Hz / at 800 and 1200 */
} tone;

static double goertzel(const short *x, size_t n, double hz) {
  double w = 2 * M_PI * hz / 8000, c = 2 * cos(w), s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; i++) {
    double s = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static tone measure(const char *p) {
  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *sf = sf_open(p, SFM_READ, &info);
  assert_non_null(sf);
  assert_int_equal(info.samplerate, 8000);
  assert_int_equal(info.channels, 1);
  assert_int_equal(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  tone r = {.samples = (size_t)info.frames};
  short *x = calloc(r.samples + 1, sizeof *x);
  assert_int_equal(sf_readf_short(sf, x, info.frames), info.frames);
  sf_close(sf);
  /* Keep the loud 20 ms blocks, end to end. */
  short *y = calloc(r.samples + 1, sizeof *y);
  double thr = 32767.0 * pow(10.0, (-40 - 3.14) / 20.0);
  double sq = 0;
  for (size_t b = 0; b + 160 <= r.samples; b += 160) {
    double e = 0;
    for (size_t i = 0; i < 160; i++)
      e += (double)x[b + i] * x[b + i];
    if (sqrt(e / 160) < thr)
      continue;
    memcpy(y + r.tone_samples, x + b, 160 * sizeof *y);
    r.tone_samples += 160;
    sq += e;
  }
  if (r.tone_samples) {
    size_t zc = 0;
    for (size_t i = 1; i < r.tone_samples; i++)
      zc += (y[i - 1] < 0) != (y[i] < 0);
    r.hz = zc / 2.0 / ((double)r.tone_samples / 8000);
    /* dBm0: RMS against a full-scale sine's (32767/sqrt 2), which is
     * +3.14 dBm0 in G.711. */
    r.dbm0 = 20 * log10(sqrt(sq / (double)r.tone_samples) * M_SQRT2 / 32767.0) +
             3.14;
    double side =
        goertzel(y, r.tone_samples, 800) + goertzel(y, r.tone_samples, 1200);
    r.purity = goertzel(y, r.tone_samples, TONE_HZ) / (side + 1e-9);
  }
  free(x);
  free(y);
  return r;
}

static void check_tone(const tone *r, const char *what, size_t want,
                       size_t tol) {
  printf("  %s: %zu samples recorded, tone %zu samples (%.3f s), %.1f Hz, "
         "%.2f dBm0, Goertzel 1000/(800+1200) %.0f\n",
         what, r->samples, r->tone_samples, r->tone_samples / 8000.0, r->hz,
         r->dbm0, r->purity);
  assert_true(r->hz > TONE_HZ - 10 && r->hz < TONE_HZ + 10);
  assert_true(fabs(r->dbm0 - TONE_DBM0) < 1.0);
  assert_true(r->purity > 100);
  assert_true(r->tone_samples + tol >= want && r->tone_samples <= want + tol);
}

/* ---- conditions --------------------------------------------------------- */

static bool a_done(pair *t) {
  return sipline_media_play_done(t->a);
}
static bool four_digits(pair *t) {
  return t->nd >= 4;
}
static bool rtcp_both(pair *t) {
  return stats(t->a).rtcp_recv >= 1 && stats(t->b).rtcp_recv >= 1;
}
static bool b_bye(pair *t) {
  return stats(t->b).remote_bye;
}
static size_t want_rec;
static bool b_recorded(pair *t) {
  return stats(t->b).recorded >= want_rec;
}

/* ---- scenarios ---------------------------------------------------------- */

/* Applies both sides' parameters and starts B's recording into
 * tmpdir/name (its path left in wav). */
static void start(pair *t, const sipline_media_params *pa,
                  const sipline_media_params *pb, const char *name, char *wav,
                  size_t cap) {
  path(wav, cap, name);
  assert_int_equal(sipline_media_set(t->a, pa), 0);
  assert_int_equal(sipline_media_set(t->b, pb), 0);
  assert_int_equal(sipline_media_record(t->b, wav), 0);
}

/* A plays `file` to B with the given parameters; B records; then "123#". */
static tone play_and_measure(pair *t, const char *file, const char *rec,
                             sipline_media_params pa, sipline_media_params pb) {
  char wav[600];
  start(t, &pa, &pb, rec, wav, sizeof wav);
  assert_int_equal(sipline_media_play_file(t->a, file, false), 0);
  assert_true(run_until(t, a_done, 10000));
  run_ms(t, 300); /* the last packets through B's jitter buffer */
  assert_int_equal(sipline_media_dtmf(t->a, "123#"), 0);
  run_until(t, four_digits, 5000);
  run_ms(t, 200); /* end packets repeated: nothing reported twice */
  assert_int_equal(sipline_media_record(t->b, NULL), 0);
  return measure(wav);
}

static char tone8k[600], tone16k[600];

static void basic(const char *ip, uint8_t pt, const char *file,
                  const char *name) {
  pair t;
  pair_init(&t, ip);
  tone r = play_and_measure(&t, file, name, to(t.b, pt), to(t.a, pt));
  check_tone(&r, name, 8000, 320);
  printf("  %s: digits \"%.*s\"\n", name, (int)t.nd, t.digits);
  assert_int_equal(t.nd, 4);
  assert_memory_equal(t.digits, "123#", 4);
  sipline_media_stats sa = stats(t.a), sb = stats(t.b);
  assert_int_equal(sa.dtmf_sent, 4);
  assert_int_equal(sb.dtmf_recv, 4);
  assert_int_equal(sb.remote_ssrc, sa.ssrc);
  assert_int_equal(sb.lost, 0);
  assert_int_equal(sb.pkts_dropped, 0);
  /* (concealed and late frames are not asserted: a loaded machine can
   * delay the loop past the 40 ms buffer; the tone checks above hold.) */
  printf("  %s: B concealed %llu frames, %llu late\n", name,
         (unsigned long long)sb.concealed, (unsigned long long)sb.late);
  if (pt == 0) {
    /* RTCP both ways (first report 1-3 s after start), then A's BYE. */
    assert_true(run_until(&t, rtcp_both, 8000));
    sb = stats(t.b);
    printf("  %s: A sent %llu RTP, B got %llu, RTCP %llu/%llu, jitter %u\n",
           name, (unsigned long long)sa.pkts_sent,
           (unsigned long long)sb.pkts_recv,
           (unsigned long long)stats(t.a).rtcp_recv,
           (unsigned long long)sb.rtcp_recv, sb.jitter);
    assert_int_equal(stats(t.a).peer_lost, 0);
    sipline_media_del(t.a);
    t.a = NULL;
    assert_true(run_until(&t, b_bye, 2000));
  }
  pair_close(&t);
}

static void test_pcmu(void **state) {
  (void)state;
  basic("127.0.0.1", 0, tone8k, "pcmu.wav");
}

static void test_pcma_16k_stereo(void **state) {
  (void)state;
  basic("127.0.0.1", 8, tone16k, "pcma.wav");
}

static void test_ipv6(void **state) {
  (void)state;
  basic("::1", 0, tone8k, "ipv6.wav");
}

static void test_srtp(void **state) {
  (void)state;
  pair t;
  pair_init(&t, "127.0.0.1");
  char ka[128], kb[128];
  assert_true(sipline_media_sdes_new(ka, sizeof ka, 1, test_rand, NULL) > 0);
  assert_true(sipline_media_sdes_new(kb, sizeof kb, 1, test_rand, NULL) > 0);
  sipline_media_params pa = to(t.b, 0), pb = to(t.a, 0);
  pa.srtp_local = pb.srtp_remote = ka;
  pa.srtp_remote = pb.srtp_local = kb;
  tone r = play_and_measure(&t, tone8k, "srtp.wav", pa, pb);
  check_tone(&r, "srtp.wav", 8000, 320);
  assert_int_equal(t.nd, 4);
  assert_memory_equal(t.digits, "123#", 4);
  assert_int_equal(stats(t.b).srtp_auth_fail, 0);
  pair_close(&t);
}

static void test_srtp_wrong_key(void **state) {
  (void)state;
  pair t;
  pair_init(&t, "127.0.0.1");
  char ka[128], kb[128], kx[128];
  sipline_media_sdes_new(ka, sizeof ka, 1, test_rand, NULL);
  sipline_media_sdes_new(kb, sizeof kb, 1, test_rand, NULL);
  sipline_media_sdes_new(kx, sizeof kx, 1, test_rand, NULL);
  sipline_media_params pa = to(t.b, 0), pb = to(t.a, 0);
  pa.srtp_local = ka;
  pb.srtp_remote = kx; /* B expects another key than A sends with */
  pa.srtp_remote = pb.srtp_local = kb;
  tone r = play_and_measure(&t, tone8k, "srtp_bad.wav", pa, pb);
  sipline_media_stats sa = stats(t.a), sb = stats(t.b);
  printf("  srtp_bad: A sent %llu, B auth failures %llu, accepted %llu, "
         "recorded %zu samples, digits %zu\n",
         (unsigned long long)sa.pkts_sent,
         (unsigned long long)sb.srtp_auth_fail,
         (unsigned long long)sb.pkts_recv, r.samples, t.nd);
  assert_int_equal(r.samples, 0);
  assert_int_equal(t.nd, 0);
  assert_int_equal(sb.pkts_recv, 0);
  /* every packet but those in flight (up to one catch-up burst of 5) */
  assert_true(sb.srtp_auth_fail + 6 >= sa.pkts_sent);
  assert_int_equal(stats(t.a).srtp_auth_fail, 0);
  pair_close(&t);
}

/* B moves to another port pair while the tone plays; A is told (as by an
 * UPDATE) and the stream goes on: same SSRC, sequence continued. */
static void test_port_change(void **state) {
  (void)state;
  pair t;
  pair_init(&t, "127.0.0.1");
  char wav[600];
  struct sockaddr_storage before, after;
  sipline_media_local(t.b, &before);
  /* no remote yet: nothing is sent */
  assert_int_equal(
      sipline_media_set(t.a, &(sipline_media_params){.dtmf_pt = -1}), 0);
  sipline_media_params pa = to(t.b, 0), pb = to(t.a, 0);
  start(&t, &pa, &pb, "port.wav", wav, sizeof wav);
  assert_int_equal(sipline_media_play_file(t.a, tone8k, false), 0);
  want_rec = 3200;
  assert_true(run_until(&t, b_recorded, 5000));
  assert_int_equal(sipline_media_rebind(t.b), 0);
  sipline_media_local(t.b, &after);
  assert_true(((struct sockaddr_in *)&before)->sin_port !=
              ((struct sockaddr_in *)&after)->sin_port);
  pa = to(t.b, 8); /* and the codec changes to PCMA with it */
  assert_int_equal(sipline_media_set(t.a, &pa), 0);
  assert_true(run_until(&t, a_done, 10000));
  run_ms(&t, 300);
  sipline_media_record(t.b, NULL);
  tone r = measure(wav);
  /* What was in flight to the old port is lost: a few frames. */
  check_tone(&r, "port.wav", 8000, 480);
  sipline_media_stats sa = stats(t.a), sb = stats(t.b);
  assert_int_equal(sb.remote_ssrc, sa.ssrc);
  /* Only what was in flight to the old port may be lost (a handful even
   * on a loaded machine), not the stream. */
  printf("  port: B lost %d, late %llu\n", sb.lost,
         (unsigned long long)sb.late);
  assert_true(sb.lost <= 10);
  pair_close(&t);
}

/* Hold and inactive by direction: B sendonly (A recvonly) stops B's
 * playout; inactive stops A's sending; sendrecv brings both back. */
static void test_direction(void **state) {
  (void)state;
  pair t;
  pair_init(&t, "127.0.0.1");
  char wav[600];
  sipline_media_params pa = to(t.b, 0), pb = to(t.a, 0);
  start(&t, &pa, &pb, "dir.wav", wav, sizeof wav);
  sipline_media_play_tone(t.a, TONE_HZ, TONE_DBM0);
  want_rec = 4000;
  assert_true(run_until(&t, b_recorded, 5000));
  /* B sendonly, A recvonly: A's packets reach B, which drops them */
  pb.dir = SIPLINE_MEDIA_SENDONLY;
  pa.dir = SIPLINE_MEDIA_RECVONLY;
  sipline_media_set(t.b, &pb);
  sipline_media_set(t.a, &pa);
  run_ms(&t, 200); /* the jitter buffer drains */
  sipline_media_stats b1 = stats(t.b), a1 = stats(t.a);
  run_ms(&t, 500);
  sipline_media_stats b2 = stats(t.b), a2 = stats(t.a);
  printf("  direction: B recvonly->sendonly: recorded %llu -> %llu, "
         "A sent %llu -> %llu\n",
         (unsigned long long)b1.recorded, (unsigned long long)b2.recorded,
         (unsigned long long)a1.pkts_sent, (unsigned long long)a2.pkts_sent);
  assert_int_equal(b2.recorded, b1.recorded);
  assert_int_equal(a2.pkts_sent, a1.pkts_sent); /* A recvonly sends none */
  assert_true(a2.pkts_recv > a1.pkts_recv);     /* B still sends */
  /* both inactive: nothing flows either way */
  pb.dir = pa.dir = SIPLINE_MEDIA_INACTIVE;
  sipline_media_set(t.b, &pb);
  sipline_media_set(t.a, &pa);
  run_ms(&t, 100);
  a1 = stats(t.a);
  b1 = stats(t.b);
  run_ms(&t, 400);
  a2 = stats(t.a);
  b2 = stats(t.b);
  assert_int_equal(a2.pkts_sent, a1.pkts_sent);
  assert_int_equal(b2.pkts_sent, b1.pkts_sent);
  assert_int_equal(b2.recorded, b1.recorded);
  /* resume: B plays out again, same SSRC from A */
  pb.dir = pa.dir = SIPLINE_MEDIA_SENDRECV;
  sipline_media_set(t.b, &pb);
  sipline_media_set(t.a, &pa);
  want_rec = b2.recorded + 4000;
  assert_true(run_until(&t, b_recorded, 5000));
  assert_int_equal(stats(t.b).remote_ssrc, a2.ssrc);
  sipline_media_record(t.b, NULL);
  tone r = measure(wav);
  printf("  direction: %zu samples, %.1f Hz, %.2f dBm0\n", r.samples, r.hz,
         r.dbm0);
  assert_true(r.hz > TONE_HZ - 10 && r.hz < TONE_HZ + 10);
  pair_close(&t);
}

/* Symmetric RTP, rtcp-mux and a dual-stack socket: A is bound to "::" and
 * reaches B (IPv4) through the v4-mapped address; B was told a wrong port
 * for A and learns the right one from A's packets; RTCP shares the RTP
 * ports both ways. */
static bool a_heard(pair *t) {
  return stats(t->a).recorded >= 8000 && stats(t->a).rtcp_recv >= 1 &&
         stats(t->b).rtcp_recv >= 1;
}

static void test_symmetric_mux_dualstack(void **state) {
  (void)state;
  pair t;
  memset(&t, 0, sizeof t);
  uv_loop_init(&t.loop);
  t.a = new_session(&t, "::");
  t.b = new_session(&t, "127.0.0.1");
  sipline_media_params pa = to(t.b, 0), pb = to(t.a, 0);
  struct sockaddr_in *b4 = (struct sockaddr_in *)&pb.remote;
  memset(&pb.remote, 0, sizeof pb.remote);
  uv_ip4_addr("127.0.0.1", 9, b4); /* discard: nobody there */
  pa.rtcp_mux = pb.rtcp_mux = true;
  pb.symmetric = true;
  char wav[600];
  path(wav, sizeof wav, "symmetric.wav");
  assert_int_equal(sipline_media_set(t.a, &pa), 0);
  assert_int_equal(sipline_media_set(t.b, &pb), 0);
  assert_int_equal(sipline_media_record(t.a, wav), 0);
  sipline_media_play_tone(t.b, TONE_HZ, TONE_DBM0);
  assert_true(run_until(&t, a_heard, 10000));
  sipline_media_record(t.a, NULL);
  tone r = measure(wav);
  sipline_media_stats sa = stats(t.a), sb = stats(t.b);
  printf("  symmetric: B latched onto A; A got %llu RTP, RTCP muxed "
         "%llu/%llu, RTT %u ms; %.1f Hz, %.2f dBm0\n",
         (unsigned long long)sa.pkts_recv, (unsigned long long)sa.rtcp_recv,
         (unsigned long long)sb.rtcp_recv, sa.rtt_ms, r.hz, r.dbm0);
  assert_true(r.hz > TONE_HZ - 10 && r.hz < TONE_HZ + 10);
  assert_true(fabs(r.dbm0 - TONE_DBM0) < 1.0);
  assert_int_equal(sa.pkts_dropped, 0);
  pair_close(&t);
}

/* ---- a lossy relay ------------------------------------------------------ */

typedef struct relay {
  uv_udp_t h;
  struct sockaddr_storage to;
  uint8_t held[2048];
  size_t held_len;
  unsigned n, dropped, dups, swapped;
  uint8_t buf[2048];
} relay;

static void relay_alloc(uv_handle_t *h, size_t want, uv_buf_t *b) {
  (void)want;
  relay *r = h->data;
  *b = uv_buf_init((char *)r->buf, sizeof r->buf);
}

static void relay_send(relay *r, const void *p, size_t n) {
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  uv_udp_try_send(&r->h, &b, 1, (const struct sockaddr *)&r->to);
}

/* Deterministic by packet number: every 16th dropped, every 13th sent
 * twice, every 7th held back and sent after the next one. */
static void relay_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
                       const struct sockaddr *from, unsigned flags) {
  (void)flags;
  relay *r = h->data;
  if (n <= 0 || !from)
    return;
  unsigned i = ++r->n;
  if (i % 16 == 0) {
    r->dropped++;
    return;
  }
  if (i % 7 == 0 && !r->held_len) {
    memcpy(r->held, b->base, (size_t)n);
    r->held_len = (size_t)n;
    return;
  }
  relay_send(r, b->base, (size_t)n);
  if (i % 13 == 0) {
    relay_send(r, b->base, (size_t)n);
    r->dups++;
  }
  if (r->held_len) {
    relay_send(r, r->held, r->held_len);
    r->held_len = 0;
    r->swapped++;
  }
}

static void test_relay(void **state) {
  (void)state;
  pair t;
  pair_init(&t, "127.0.0.1");
  relay rl;
  memset(&rl, 0, sizeof rl);
  uv_udp_init(&t.loop, &rl.h);
  rl.h.data = &rl;
  struct sockaddr_in any;
  uv_ip4_addr("127.0.0.1", 0, &any);
  assert_int_equal(uv_udp_bind(&rl.h, (struct sockaddr *)&any, 0), 0);
  uv_udp_recv_start(&rl.h, relay_alloc, relay_recv);
  sipline_media_params pa = to(t.b, 0), pb = to(t.a, 0);
  rl.to = pa.remote;
  struct sockaddr_storage rs;
  int len = sizeof rs;
  uv_udp_getsockname(&rl.h, (struct sockaddr *)&rs, &len);
  /* A's RTP goes through the relay, its RTCP straight to B */
  pa.remote_rtcp_port =
      (uint16_t)(ntohs(((struct sockaddr_in *)&pa.remote)->sin_port) + 1);
  ((struct sockaddr_in *)&pa.remote)->sin_port =
      ((struct sockaddr_in *)&rs)->sin_port;
  /* The tone plays twice over to give the relay some packets to spoil. */
  char wav[600];
  start(&t, &pa, &pb, "relay.wav", wav, sizeof wav);
  assert_int_equal(sipline_media_play_file(t.a, tone8k, false), 0);
  assert_true(run_until(&t, a_done, 10000));
  run_ms(&t, 300);
  assert_int_equal(sipline_media_dtmf(t.a, "123#"), 0);
  run_until(&t, four_digits, 5000);
  run_ms(&t, 200);
  sipline_media_record(t.b, NULL);
  tone r = measure(wav);
  sipline_media_stats sb = stats(t.b);
  printf("  relay: %u packets, %u dropped, %u duplicated, %u reordered; B: "
         "lost %d, concealed %llu, dup %llu, late %llu, jitter %u\n",
         rl.n, rl.dropped, rl.dups, rl.swapped, sb.lost,
         (unsigned long long)sb.concealed, (unsigned long long)sb.dup,
         (unsigned long long)sb.late, sb.jitter);
  /* Lost frames are concealed (PLC repeats the tone), so the tone keeps
   * its length, frequency and level. */
  check_tone(&r, "relay.wav", 8000, 480);
  printf("  relay: digits \"%.*s\"\n", (int)t.nd, t.digits);
  assert_int_equal(t.nd, 4);
  assert_memory_equal(t.digits, "123#", 4);
  /* (lost is RFC 3550's: duplicates offset drops, it may be <= 0.) The
   * dropped packets were concealed, the duplicates noticed (or, on a
   * loaded machine, found late). */
  assert_true(sb.concealed > 0);
  assert_true(sb.dup + sb.late > 0);
  uv_close((uv_handle_t *)&rl.h, NULL);
  pair_close(&t);
}

/* In-band DTMF (spandsp's detector on what B plays out): A plays a file
 * of DTMF tones spandsp generated, with no telephone-event at all. */
static void test_inband_dtmf(void **state) {
  (void)state;
  char file[600];
  path(file, sizeof file, "dtmf_inband.wav");
  SF_INFO info = {.samplerate = 8000,
                  .channels = 1,
                  .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
  SNDFILE *sf = sf_open(file, SFM_WRITE, &info);
  assert_non_null(sf);
  dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
  dtmf_tx_put(tx, "4567", -1);
  int16_t buf[160];
  int n;
  while ((n = dtmf_tx(tx, buf, 160)) > 0)
    sf_write_short(sf, buf, n);
  memset(buf, 0, sizeof buf);
  for (int i = 0; i < 10; i++) /* 200 ms of silence after */
    sf_write_short(sf, buf, 160);
  dtmf_tx_free(tx);
  sf_close(sf);
  inband = true;
  pair t;
  pair_init(&t, "127.0.0.1");
  inband = false;
  sipline_media_params pa = to(t.b, 8), pb = to(t.a, 8);
  pa.dtmf_pt = pb.dtmf_pt = -1;
  assert_int_equal(sipline_media_set(t.a, &pa), 0);
  assert_int_equal(sipline_media_set(t.b, &pb), 0);
  assert_int_equal(sipline_media_play_file(t.a, file, false), 0);
  assert_true(run_until(&t, a_done, 10000));
  run_until(&t, four_digits, 2000);
  printf("  inband: digits \"%.*s\"\n", (int)t.nd, t.digits);
  assert_int_equal(t.nd, 4);
  assert_memory_equal(t.digits, "4567", 4);
  pair_close(&t);
}

static void test_api_errors(void **state) {
  (void)state;
  pair t;
  pair_init(&t, "127.0.0.1");
  sipline_media_params p = to(t.b, 0);
  p.pt = 18;
  assert_int_equal(sipline_media_set(t.a, &p), SIPLINE_ERR_INVAL);
  p = to(t.b, 0);
  p.srtp_local = "1 AES_CM_128_HMAC_SHA1_80 inline:abc";
  assert_int_equal(sipline_media_set(t.a, &p), SIPLINE_ERR_INVAL);
  p.srtp_remote = p.srtp_local;
  assert_int_equal(sipline_media_set(t.a, &p), SIPLINE_ERR_MALFORMED);
  p = to(t.b, 0);
  p.dtmf_pt = -1;
  assert_int_equal(sipline_media_set(t.a, &p), 0);
  assert_int_equal(sipline_media_dtmf(t.a, "1"), SIPLINE_ERR_STATE);
  p.dtmf_pt = 101;
  sipline_media_set(t.a, &p);
  assert_int_equal(sipline_media_dtmf(t.a, "1x"), SIPLINE_ERR_INVAL);
  assert_int_equal(sipline_media_play_file(t.a, "/nonexistent.wav", false),
                   SIPLINE_ERR_IO);
  /* an IPv6 peer for an IPv4 socket */
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p.remote;
  memset(&p.remote, 0, sizeof p.remote);
  uv_ip6_addr("::1", 4000, a6);
  assert_int_equal(sipline_media_set(t.a, &p), SIPLINE_ERR_INVAL);
  /* a range with no free pair: both ports of B's pair taken */
  struct sockaddr_storage ss;
  sipline_media_local(t.b, &ss);
  uint16_t port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  sipline_media_opts o = {.local_ip = "127.0.0.1",
                          .port_min = port,
                          .port_max = (uint16_t)(port + 1),
                          .rand = test_rand};
  sipline_media *m = NULL;
  assert_int_equal(sipline_media_new(&m, &t.loop, &o), SIPLINE_ERR_EXISTS);
  o.local_ip = "not-an-address";
  assert_int_equal(sipline_media_new(&m, &t.loop, &o), SIPLINE_ERR_INVAL);
  pair_close(&t);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "%s/media_loop", SIPLINED_TMP);
  mkdir(tmpdir, 0700);
  path(tone8k, sizeof tone8k, "tone8k.wav");
  path(tone16k, sizeof tone16k, "tone16k_stereo.wav");
  write_tone(tone8k, 8000, 1, 1.0);
  write_tone(tone16k, 16000, 2, 1.0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pcmu),
      cmocka_unit_test(test_pcma_16k_stereo),
      cmocka_unit_test(test_ipv6),
      cmocka_unit_test(test_srtp),
      cmocka_unit_test(test_srtp_wrong_key),
      cmocka_unit_test(test_port_change),
      cmocka_unit_test(test_direction),
      cmocka_unit_test(test_symmetric_mux_dualstack),
      cmocka_unit_test(test_relay),
      cmocka_unit_test(test_inband_dtmf),
      cmocka_unit_test(test_api_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
