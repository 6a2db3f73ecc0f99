/*
 * sipline-rtp: one media session from the command line, for manual checks
 * of daemon/media against another RTP endpoint (or a second sipline-rtp).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

static const char usage[] =
    "usage: sipline-rtp [options]\n"
    "  --listen [IP:]PORT   bind RTP to this even PORT (RTCP PORT+1);\n"
    "                       IP default 0.0.0.0, use [::1]:PORT for IPv6\n"
    "  --remote HOST:PORT   the peer's numeric address and RTP port\n"
    "  --play FILE.wav      send a sound file (converted to 8 kHz mono)\n"
    "  --loop               play it again and again\n"
    "  --tone HZ            send a tone at -10 dBm0 instead\n"
    "  --record FILE.wav    record what is received (8 kHz mono 16-bit)\n"
    "  --pcma               PCMA (PT 8) instead of PCMU (PT 0)\n"
    "  --dtmf DIGITS        send them as RFC 4733 events (PT 101) after 1 s\n"
    "  --dir DIR            sendrecv (default), sendonly, recvonly, "
    "inactive\n"
    "  --symmetric          send to where the peer's RTP comes from\n"
    "  --rtcp-mux           RTCP on the RTP port\n"
    "  --srtp-local LINE    our a=crypto value (key we send with)\n"
    "  --srtp-remote LINE   the peer's a=crypto value\n"
    "  --new-key            print a fresh a=crypto value and exit\n"
    "  --duration SECS      stop after SECS (default: at SIGINT)\n"
    "  --help               this text\n"
    "Received digits and, at the end, the statistics go to stdout.\n";

static int split_hostport(const char *s, char *host, size_t cap, int *port) {
  const char *colon;
  if (*s == '[') {
    const char *e = strchr(s, ']');
    if (!e || e[1] != ':')
      return -1;
    snprintf(host, cap, "%.*s", (int)(e - s - 1), s + 1);
    colon = e + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon) {
      snprintf(host, cap, "0.0.0.0");
      *port = atoi(s);
      return *port > 0 && *port < 65536 ? 0 : -1;
    }
    snprintf(host, cap, "%.*s", (int)(colon - s), s);
  }
  *port = atoi(colon + 1);
  return *port > 0 && *port < 65536 ? 0 : -1;
}

static void on_dtmf(void *arg, sipline_media *m, char d) {
  (void)arg;
  (void)m;
  printf("dtmf %c\n", d);
  fflush(stdout);
}

static uv_signal_t sig;
static uv_timer_t stop_timer, dtmf_timer;
static sipline_media *sess;
static const char *dtmf_digits;

static void stop(void) {
  sipline_media_stats st;
  sipline_media_stats_get(sess, &st);
  printf("sent %llu packets, received %llu, lost %d, jitter %u, "
         "concealed %llu, srtp failures %llu, dtmf sent %llu received "
         "%llu, rtcp %llu/%llu\n",
         (unsigned long long)st.pkts_sent, (unsigned long long)st.pkts_recv,
         st.lost, st.jitter, (unsigned long long)st.concealed,
         (unsigned long long)st.srtp_auth_fail,
         (unsigned long long)st.dtmf_sent, (unsigned long long)st.dtmf_recv,
         (unsigned long long)st.rtcp_sent, (unsigned long long)st.rtcp_recv);
  sipline_media_del(sess);
  uv_close((uv_handle_t *)&sig, NULL);
  uv_close((uv_handle_t *)&stop_timer, NULL);
  uv_close((uv_handle_t *)&dtmf_timer, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  stop();
}
static void on_stop(uv_timer_t *t) {
  (void)t;
  stop();
}
static void on_dtmf_timer(uv_timer_t *t) {
  (void)t;
  if (sipline_media_dtmf(sess, dtmf_digits) != 0)
    fprintf(stderr, "sipline-rtp: bad digits\n");
}

int main(int argc, char **argv) {
  static const struct option lo[] = {{"listen", 1, 0, 'l'},
                                     {"remote", 1, 0, 'r'},
                                     {"play", 1, 0, 'p'},
                                     {"loop", 0, 0, 'L'},
                                     {"tone", 1, 0, 't'},
                                     {"record", 1, 0, 'R'},
                                     {"pcma", 0, 0, 'a'},
                                     {"dtmf", 1, 0, 'd'},
                                     {"dir", 1, 0, 'D'},
                                     {"symmetric", 0, 0, 's'},
                                     {"rtcp-mux", 0, 0, 'm'},
                                     {"srtp-local", 1, 0, 'k'},
                                     {"srtp-remote", 1, 0, 'K'},
                                     {"new-key", 0, 0, 'n'},
                                     {"duration", 1, 0, 'T'},
                                     {"help", 0, 0, 'h'},
                                     {0, 0, 0, 0}};
  const char *listen = NULL, *remote = NULL, *play = NULL, *rec = NULL;
  double tone = 0, duration = 0;
  bool loop = false;
  sipline_media_params p = {.dtmf_pt = 101, .dir = SIPLINE_MEDIA_SENDRECV};
  int c;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 'l':
      listen = optarg;
      break;
    case 'r':
      remote = optarg;
      break;
    case 'p':
      play = optarg;
      break;
    case 'L':
      loop = true;
      break;
    case 't':
      tone = atof(optarg);
      break;
    case 'R':
      rec = optarg;
      break;
    case 'a':
      p.pt = 8;
      break;
    case 'd':
      dtmf_digits = optarg;
      break;
    case 's':
      p.symmetric = true;
      break;
    case 'm':
      p.rtcp_mux = true;
      break;
    case 'k':
      p.srtp_local = optarg;
      break;
    case 'K':
      p.srtp_remote = optarg;
      break;
    case 'T':
      duration = atof(optarg);
      break;
    case 'D': {
      int d;
      for (d = 0; d < 4; d++)
        if (strcmp(optarg, sipline_media_dir_name(d)) == 0)
          break;
      if (d == 4) {
        fprintf(stderr, "sipline-rtp: bad --dir\n%s", usage);
        return 2;
      }
      p.dir = d;
      break;
    }
    case 'n': {
      char line[128];
      sipline_media_sdes_new(line, sizeof line, 1, NULL, NULL);
      printf("%s\n", line);
      return 0;
    }
    case 'h':
      fputs(usage, stdout);
      return 0;
    default:
      fputs(usage, stderr);
      return 2;
    }
  }
  sipline_media_opts o = {.on_dtmf = on_dtmf};
  char host[64];
  int port;
  if (listen) {
    if (split_hostport(listen, host, sizeof host, &port) != 0 || port % 2) {
      fprintf(stderr, "sipline-rtp: bad --listen (an even port)\n");
      return 2;
    }
    o.local_ip = host;
    o.port_min = (uint16_t)port;
    o.port_max = (uint16_t)(port + 1);
  }
  uv_loop_t *loop_ = uv_default_loop();
  int rc = sipline_media_new(&sess, loop_, &o);
  if (rc) {
    fprintf(stderr, "sipline-rtp: cannot bind: %s\n", sipline_strerror(rc));
    return 1;
  }
  if (remote) {
    char rhost[64];
    if (split_hostport(remote, rhost, sizeof rhost, &port) != 0 ||
        (uv_ip4_addr(rhost, port, (struct sockaddr_in *)&p.remote) != 0 &&
         uv_ip6_addr(rhost, port, (struct sockaddr_in6 *)&p.remote) != 0)) {
      fprintf(stderr, "sipline-rtp: bad --remote\n");
      return 2;
    }
  }
  if ((rc = sipline_media_set(sess, &p)) != 0 ||
      (play && (rc = sipline_media_play_file(sess, play, loop)) != 0) ||
      (rec && (rc = sipline_media_record(sess, rec)) != 0)) {
    fprintf(stderr, "sipline-rtp: %s\n", sipline_strerror(rc));
    return 1;
  }
  if (tone > 0)
    sipline_media_play_tone(sess, tone, -10);
  struct sockaddr_storage ss;
  char ip[64] = "?";
  sipline_media_local(sess, &ss);
  if (ss.ss_family == AF_INET)
    uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
  else
    uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
  printf("rtp %s port %u\n", ip,
         ntohs(ss.ss_family == AF_INET
                   ? ((struct sockaddr_in *)&ss)->sin_port
                   : ((struct sockaddr_in6 *)&ss)->sin6_port));
  fflush(stdout);
  uv_signal_init(loop_, &sig);
  uv_signal_start(&sig, on_signal, SIGINT);
  uv_timer_init(loop_, &stop_timer);
  uv_timer_init(loop_, &dtmf_timer);
  if (duration > 0)
    uv_timer_start(&stop_timer, on_stop, (uint64_t)(duration * 1000), 0);
  if (dtmf_digits)
    uv_timer_start(&dtmf_timer, on_dtmf_timer, 1000, 0);
  uv_run(loop_, UV_RUN_DEFAULT);
  uv_loop_close(loop_);
  return 0;
}
