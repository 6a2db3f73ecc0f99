/*
 * sipline-bench-media: CPU per concurrent G.711 call with media. N calls
 * in one process and one libuv loop, each two sessions (both ends) on
 * loopback sending 20 ms PCMU packets both ways (a tone one way, silence
 * the other) and recording nothing, for a few seconds; prints the CPU the
 * process used (getrusage) per call and per session. Printed, never
 * asserted. Usage: sipline-bench-media [SECONDS [N...]] (default 10 s,
 * N = 10 50 100).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "media/media.h"

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void on_stop(uv_timer_t *t) {
  uv_stop(t->loop);
}

static int run(unsigned n, double secs, bool srtp) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sipline_media **s = calloc(2 * n, sizeof *s);
  sipline_media_opts o = {
      .local_ip = "127.0.0.1", .port_min = 30000, .port_max = 39999};
  for (unsigned i = 0; i < 2 * n; i++)
    if (sipline_media_new(&s[i], &loop, &o) != 0) {
      fprintf(stderr, "bench: cannot bind session %u\n", i);
      return 1;
    }
  char ka[128], kb[128];
  sipline_media_sdes_new(ka, sizeof ka, 1, NULL, NULL);
  sipline_media_sdes_new(kb, sizeof kb, 1, NULL, NULL);
  for (unsigned i = 0; i < n; i++) {
    sipline_media *a = s[2 * i], *b = s[2 * i + 1];
    sipline_media_params pa = {
        .pt = 0, .dtmf_pt = 101, .dir = SIPLINE_MEDIA_SENDRECV};
    sipline_media_params pb = pa;
    sipline_media_local(b, &pa.remote);
    sipline_media_local(a, &pb.remote);
    if (srtp) {
      pa.srtp_local = pb.srtp_remote = ka;
      pa.srtp_remote = pb.srtp_local = kb;
    }
    sipline_media_set(a, &pa);
    sipline_media_set(b, &pb);
    sipline_media_play_tone(a, 1000, -10);
  }
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, on_stop, (uint64_t)(secs * 1000), 0);
  uint64_t w0 = uv_hrtime();
  double c0 = cpu_s();
  uv_run(&loop, UV_RUN_DEFAULT);
  double cpu = cpu_s() - c0, wall = (double)(uv_hrtime() - w0) / 1e9;
  uint64_t sent = 0, recv = 0, lost = 0;
  for (unsigned i = 0; i < 2 * n; i++) {
    sipline_media_stats st;
    sipline_media_stats_get(s[i], &st);
    sent += st.pkts_sent;
    recv += st.pkts_recv;
    lost += st.lost > 0 ? (uint64_t)st.lost : 0;
  }
  double pct = 100.0 * cpu / wall;
  printf("%-5s %4u calls  %7.1f s  CPU %6.2f %%  per call %6.3f %%  "
         "per session %6.3f %%  packets sent %llu (%.0f/s) received %llu "
         "lost %llu\n",
         srtp ? "srtp" : "rtp", n, wall, pct, pct / n, pct / (2 * n),
         (unsigned long long)sent, (double)sent / wall,
         (unsigned long long)recv, (unsigned long long)lost);
  fflush(stdout);
  for (unsigned i = 0; i < 2 * n; i++)
    sipline_media_del(s[i]);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(s);
  return 0;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 10;
  unsigned ns[16] = {10, 50, 100}, nn = 3;
  if (argc > 2) {
    nn = 0;
    for (int i = 2; i < argc && nn < 16; i++)
      ns[nn++] = (unsigned)atoi(argv[i]);
  }
  printf("sipline-bench-media: G.711 PCMU 20 ms both ways, both ends of "
         "each call in this process\n");
  for (int srtp = 0; srtp < 2; srtp++)
    for (unsigned i = 0; i < nn; i++)
      if (run(ns[i], secs, srtp))
        return 1;
  return 0;
}
