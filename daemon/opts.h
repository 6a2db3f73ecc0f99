/*
 * daemon/opts.h: siplined's command line (no I/O besides --help text).
 */
#ifndef SIPLINED_OPTS_H
#define SIPLINED_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SD_MAX_BIND 4

typedef struct sd_opts {
  const char *config;            /* -c: the flat-profile XML (required) */
  int check;                     /* --check: validate and exit 0/2 */
  const char *bind[SD_MAX_BIND]; /* --bind (repeatable): 127.0.0.1 */
  unsigned n_bind;
  const char *advertise;   /* --advertise: Via/Contact host; the 1st bind */
  unsigned port_base;      /* --port-base: line n on port_base+n-1; 0 off */
  const char *control;     /* --control: the Unix socket; see sd_default_ctl */
  int log_level;           /* --log-level: info */
  int use_syslog;          /* --syslog */
  const char *trace;       /* --trace FILE.pcap */
  const char *hep;         /* --hep HOST:PORT */
  uint32_t hep_id;         /* --hep-id: capture agent id, 2001 */
  const char *ca_file;     /* --ca-file (TLS and https fetches) */
  int tls_no_verify;       /* --tls-no-verify: tests only */
  const char *dns_servers; /* --dns-server: "IP[:port],..." (c-ares csv) */
  unsigned history;        /* --event-history: 10000 */
  unsigned fetch_connect_ms; /* --fetch-connect-timeout s: 5 */
  unsigned fetch_total_ms;   /* --fetch-timeout s: 15 */
  size_t fetch_max;          /* --fetch-max-bytes: 1 MiB */
  unsigned connect_ms;       /* --connect-timeout s (TCP/TLS): 10 */
  unsigned shutdown_ms;      /* --shutdown-grace ms: 1500 */
  /* --challenge-limit / --challenge-limit-global RATE[/BURST]: the NOTIFY
   * challenge limiter (sipline_ua_set_notify_limits); 0: the core's
   * default (20/s burst 40 per source, 200/s burst 400 in all) */
  uint32_t ch_rate, ch_burst, ch_global_rate, ch_global_burst;
  /* --max-pending N: UDP requests in flight per destination (pace.c);
   * 0: no limit */
  unsigned max_pending;
  const char *pid_file;      /* --pid-file */
  const char *instance_id;   /* --instance-id URN: +sip.instance (RFC 5626);
                                default: a UUID drawn once per process */
} sd_opts;

/*
 * Parses argv into *o (defaults first). Returns 0 to run, 1 when --help or
 * --version was printed to out (exit 0), or 2 with a one-line message in
 * err (exit 2). getopt state is reset so it can be called more than once.
 */
int sd_opts_parse(sd_opts *o, int argc, char **argv, FILE *out, char *err,
                  size_t errcap);
/* The default control socket: /run/siplined.sock for root, else
 * $XDG_RUNTIME_DIR/siplined.sock, else /tmp/siplined-<uid>.sock. */
const char *sd_default_ctl(char *buf, size_t cap);

#endif
