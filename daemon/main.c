/*
 * daemon/main.c: siplined's entry point: options, profile, sockets, loop.
 */
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "sd.h"

static void on_signal(uv_signal_t *s, int signum) {
  sd *d = s->data;
  if (signum == SIGHUP) {
    char err[512];
    slog(SLOG_INFO, "SIGHUP: reloading %s", d->o.config);
    sd_reload(d, err, sizeof err);
    return;
  }
  sd_stop(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static int open_hep(sd *d) {
  char host[256];
  const char *spec = d->o.hep;
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec || !colon[1]) {
    fprintf(stderr, "siplined: --hep %s: expected HOST:PORT\n", spec);
    return -1;
  }
  size_t hn = (size_t)(colon - spec);
  if (hn >= sizeof host)
    hn = sizeof host - 1;
  memcpy(host, spec, hn);
  host[hn] = '\0';
  if (host[0] == '[' && hn > 2 && host[hn - 1] == ']') {
    memmove(host, host + 1, hn - 2);
    host[hn - 2] = '\0';
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_DGRAM;
  int rc = getaddrinfo(host, colon + 1, &hints, &res);
  if (rc || !res) {
    fprintf(stderr, "siplined: --hep %s: %s\n", spec, gai_strerror(rc));
    return -1;
  }
  memcpy(&d->hep_addr, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  uv_udp_init(d->loop, &d->hep);
  d->hep_open = 1;
  return 0;
}

static void trim_timer_cb(uv_timer_t *t) { sd_heap_trim(t->data); }

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

int main(int argc, char **argv) {
  static sd D;
  sd *d = &D;
  char err[600];
  char ctlbuf[256];
  int rc = sd_opts_parse(&d->o, argc, argv, stdout, err, sizeof err);
  if (rc == 1)
    return 0;
  if (rc == 2) {
    fprintf(stderr, "siplined: %s\n", err);
    return 2;
  }
  if (!d->o.control)
    d->o.control = sd_default_ctl(ctlbuf, sizeof ctlbuf);
  slog_init(d->o.log_level, d->o.use_syslog, "siplined");

  if (sd_load_profile(d->o.config, &d->loaded, err, sizeof err,
                      d->profile_sha) != 0 ||
      sd_apply_overrides(d, d->loaded, err, sizeof err) != 0) {
    fprintf(stderr, "siplined: %s\n", err);
    return 2;
  }
  d->profile = d->loaded;
  if (d->o.check) {
    unsigned reg = 0;
    for (unsigned n = 1; n <= d->profile->n_lines; n++) {
      const sipline_line_cfg *lc = sipline_profile_line(d->profile, n);
      reg += lc && lc->reg && lc->proxy;
    }
    printf("%s: OK (%u line%s, %u registering, %u unknown tag%s)\n",
           d->o.config, d->profile->n_lines,
           d->profile->n_lines == 1 ? "" : "s", reg, d->profile->n_extra,
           d->profile->n_extra == 1 ? "" : "s");
    for (unsigned i = 0; i < d->profile->n_extra; i++)
      printf("%s:%u: unknown tag %s\n", d->o.config,
             d->profile->extra[i].file_line, d->profile->extra[i].tag);
    sipline_profile_del(d->loaded);
    return 0;
  }
  for (unsigned i = 0; i < d->profile->n_extra; i++)
    slog(SLOG_WARN, "%s:%u: unknown tag %s (kept, not used)", d->o.config,
         d->profile->extra[i].file_line, d->profile->extra[i].tag);

  signal(SIGPIPE, SIG_IGN);
  d->loop = uv_default_loop();
  d->mono0 = uv_hrtime();
  struct timeval tv;
  gettimeofday(&tv, NULL);
  d->ck.wall0_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
  d->slab = sd_slab_open();
  d->ring = sj_ring_new(d->o.history);
  if (!d->ring) {
    fprintf(stderr, "siplined: no memory for --event-history %u\n",
            d->o.history);
    return 1;
  }
  uv_timer_init(d->loop, &d->ua_timer);
  uv_timer_init(d->loop, &d->stop_timer);
  uv_timer_init(d->loop, &d->trim_timer);
  d->ua_timer.data = d->stop_timer.data = d->trim_timer.data = d;
  uv_timer_start(&d->trim_timer, trim_timer_cb, SD_TRIM_EVERY_MS,
                 SD_TRIM_EVERY_MS);
  uv_unref((uv_handle_t *)&d->trim_timer); /* never keeps the loop alive */

  if (d->o.trace) {
    rc = spcap_open(&d->pcap, d->o.trace);
    if (rc) {
      fprintf(stderr, "siplined: --trace %s: %s\n", d->o.trace, strerror(-rc));
      return 2;
    }
  }
  if (d->o.hep && open_hep(d) != 0)
    return 2;
  if (net_init(d) != 0 || pace_init(d) != 0)
    return 1;
  if (ctl_open(d) != 0)
    return 1;
  if (net_open(d) != 0) {
    ctl_close(d);
    return 1;
  }
  if (dns_init(d) != 0)
    slog(SLOG_WARN, "DNS is not available; only IP addresses will work");
  if (fetch_init(d) != 0)
    slog(SLOG_WARN, "libcurl is not available; URLs will not be fetched");
  if (d->o.pid_file) {
    FILE *f = fopen(d->o.pid_file, "w");
    if (f) {
      fprintf(f, "%ld\n", (long)getpid());
      fclose(f);
    } else {
      slog(SLOG_WARN, "cannot write --pid-file %s", d->o.pid_file);
    }
  }
  const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
  for (int i = 0; i < 3; i++) {
    uv_signal_init(d->loop, &d->sig[i]);
    d->sig[i].data = d;
    uv_signal_start(&d->sig[i], on_signal, sigs[i]);
  }
  slog(SLOG_INFO, "siplined %s started: %s, %u line(s)", SIPLINE_VERSION,
       d->o.config, d->profile->n_lines);
  {
    cJSON *ev = sj_event_new("started", sd_now(d), 0, &d->ck);
    cJSON_AddStringToObject(ev, "version", SIPLINE_VERSION);
    cJSON_AddNumberToObject(ev, "lines", d->profile->n_lines);
    sd_emit(d, ev);
  }
  if (sd_start_ua(d) != 0) {
    d->exit_code = 1;
  } else {
    uv_run(d->loop, UV_RUN_DEFAULT);
  }

  /* orderly teardown: close every handle, let their callbacks free */
  ctl_close(d);
  fetch_close(d);
  dns_close(d);
  net_close(d, 1);
  pace_close(d);
  sipline_ua_del(d->ua); /* and with it the running profile */
  d->ua = NULL;
  d->profile = NULL;
  uv_walk(d->loop, close_walk, NULL);
  uv_run(d->loop, UV_RUN_DEFAULT);
  uv_loop_close(d->loop);
  spcap_close(d->pcap);
  sj_ring_del(d->ring);
  sipline_profile_del(d->loaded);
  sipline_profile_del(d->next);
  sd_slab_del(d->slab); /* after the UA: it held the core's blocks */
  d->slab = NULL;
  SSL_CTX_free(d->tls);
  if (d->o.pid_file)
    unlink(d->o.pid_file);
  slog(SLOG_INFO, "exit %d", d->exit_code);
  return d->exit_code;
}
