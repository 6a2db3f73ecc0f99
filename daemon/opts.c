/* daemon/opts.c: see opts.h. */
#include "opts.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "sipline/base.h"

static const char usage[] =
    "Usage: siplined -c PROFILE.xml [OPTIONS]\n"
    "The sipline SIP user agent daemon: registers the profile's lines with\n"
    "failover and fallback (SPEC R1-R13), answers NOTIFY xml-service, and\n"
    "reports status and events on a Unix control socket (see siplinectl).\n"
    "\n"
    "Configuration:\n"
    "  -c, --config FILE        flat-profile XML (the file sipline-sim takes)\n"
    "      --check              validate the profile and exit (0 ok, 2 bad)\n"
    "Network:\n"
    "  -b, --bind ADDR          local address for SIP sockets (repeat once "
    "for\n"
    "                           IPv4 and IPv6; default 127.0.0.1)\n"
    "      --advertise HOST     host put in Via/Contact (default: first "
    "--bind)\n"
    "  -p, --port-base N        line n uses UDP port N+n-1 instead of\n"
    "                           SIP_Port_n_ (run unprivileged, many daemons)\n"
    "      --connect-timeout S  TCP/TLS connect timeout (default 10)\n"
    "      --max-pending N      UDP requests sent to one server and not yet\n"
    "                           answered; more wait their turn, so that\n"
    "                           many lines do not overrun their registrar\n"
    "                           (default 256; 0 = no limit)\n"
    "      --ca-file FILE       CA bundle for TLS and https fetches\n"
    "      --tls-no-verify      do not verify TLS certificates (tests only)\n"
    "      --dns-server LIST    DNS servers \"IP[:PORT],...\" (default: "
    "system)\n"
    "Control and observability:\n"
    "  -s, --control PATH       control socket (default /run/siplined.sock\n"
    "                           as root, else $XDG_RUNTIME_DIR/siplined.sock)\n"
    "      --event-history N    events kept for late clients (default 10000;\n"
    "                           in at most N x 384 bytes)\n"
    "  -l, --log-level LEVEL    error, warn, info (default) or debug\n"
    "      --syslog             log to syslog instead of stderr\n"
    "  -t, --trace FILE.pcap    write every SIP message sent/received (pcap)\n"
    "      --hep HOST:PORT      send every SIP message as HEPv3 over UDP\n"
    "      --hep-id N           HEP capture agent id (default 2001)\n"
    "      --pid-file FILE      write the daemon's PID there\n"
    "      --instance-id URN    +sip.instance of the Contact (RFC 5626;\n"
    "                           default: a UUID drawn at start, kept across\n"
    "                           reloads)\n"
    "Execution of xml-service items (http/https URLs):\n"
    "      --fetch-connect-timeout S  (default 5)\n"
    "      --fetch-timeout S          total (default 15)\n"
    "      --fetch-max-bytes N        (default 1048576)\n"
    "NOTIFY authentication (unauthenticated answers such as 401 challenges\n"
    "are rate-limited so the phone cannot amplify traffic):\n"
    "      --challenge-limit RATE[/BURST]         per source address, per\n"
    "                           second (default 20/40)\n"
    "      --challenge-limit-global RATE[/BURST]  all sources together\n"
    "                           (default 200/400); BURST defaults to 2xRATE\n"
    "Other:\n"
    "      --shutdown-grace MS  wait for un-REGISTER on SIGTERM (default "
    "1500)\n"
    "  -h, --help               this text\n"
    "  -V, --version            the version\n"
    "\n"
    "Signals: SIGHUP reloads the profile (kept when the new one is bad);\n"
    "SIGTERM/SIGINT un-register every line and exit; a second one exits at\n"
    "once. Exit status: 0 ok, 1 runtime failure, 2 bad usage or profile.\n"
    "See siplined(8) and siplinectl(1).\n";

enum {
  O_CHECK = 256,
  O_ADVERTISE,
  O_CA,
  O_NOVERIFY,
  O_DNS,
  O_HIST,
  O_SYSLOG,
  O_HEP,
  O_HEPID,
  O_PID,
  O_FCONN,
  O_FTOTAL,
  O_FMAX,
  O_CONN,
  O_GRACE,
  O_INSTANCE,
  O_CHLIM,
  O_CHLIMG,
  O_MAXPEND,
};

static int num(const char *s, unsigned long long max, unsigned long long *v) {
  char *end;
  if (!s || !*s || *s == '-')
    return -1;
  *v = strtoull(s, &end, 10);
  return (*end || *v > max) ? -1 : 0;
}

/* "RATE[/BURST]", each 1-1000000; BURST defaults to 2 x RATE. */
static int rate_burst(const char *s, uint32_t *rate, uint32_t *burst) {
  char buf[32];
  unsigned long long r, b;
  if (!s || strlen(s) >= sizeof buf)
    return -1;
  memcpy(buf, s, strlen(s) + 1);
  char *slash = strchr(buf, '/');
  if (slash)
    *slash = '\0';
  if (num(buf, 1000000, &r) || r == 0)
    return -1;
  b = 2 * r;
  if (slash && (num(slash + 1, 1000000, &b) || b == 0))
    return -1;
  if (b > 2000000)
    b = 2000000;
  *rate = (uint32_t)r;
  *burst = (uint32_t)b;
  return 0;
}

const char *sd_default_ctl(char *buf, size_t cap) {
  const char *x = getenv("XDG_RUNTIME_DIR");
  if (geteuid() == 0)
    snprintf(buf, cap, "/run/siplined.sock");
  else if (x && *x)
    snprintf(buf, cap, "%s/siplined.sock", x);
  else
    snprintf(buf, cap, "/tmp/siplined-%ld.sock", (long)geteuid());
  return buf;
}

int sd_opts_parse(sd_opts *o, int argc, char **argv, FILE *out, char *err,
                  size_t errcap) {
  static const struct option lo[] = {
      {"config", required_argument, 0, 'c'},
      {"check", no_argument, 0, O_CHECK},
      {"bind", required_argument, 0, 'b'},
      {"advertise", required_argument, 0, O_ADVERTISE},
      {"port-base", required_argument, 0, 'p'},
      {"control", required_argument, 0, 's'},
      {"log-level", required_argument, 0, 'l'},
      {"syslog", no_argument, 0, O_SYSLOG},
      {"trace", required_argument, 0, 't'},
      {"hep", required_argument, 0, O_HEP},
      {"hep-id", required_argument, 0, O_HEPID},
      {"ca-file", required_argument, 0, O_CA},
      {"tls-no-verify", no_argument, 0, O_NOVERIFY},
      {"dns-server", required_argument, 0, O_DNS},
      {"event-history", required_argument, 0, O_HIST},
      {"fetch-connect-timeout", required_argument, 0, O_FCONN},
      {"fetch-timeout", required_argument, 0, O_FTOTAL},
      {"fetch-max-bytes", required_argument, 0, O_FMAX},
      {"connect-timeout", required_argument, 0, O_CONN},
      {"shutdown-grace", required_argument, 0, O_GRACE},
      {"pid-file", required_argument, 0, O_PID},
      {"instance-id", required_argument, 0, O_INSTANCE},
      {"challenge-limit", required_argument, 0, O_CHLIM},
      {"challenge-limit-global", required_argument, 0, O_CHLIMG},
      {"max-pending", required_argument, 0, O_MAXPEND},
      {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, 'V'},
      {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  o->log_level = SLOG_INFO;
  o->hep_id = 2001;
  o->history = 10000;
  o->fetch_connect_ms = 5000;
  o->fetch_total_ms = 15000;
  o->fetch_max = 1024 * 1024;
  o->connect_ms = 10000;
  o->shutdown_ms = 1500;
  o->max_pending = 256;
  err[0] = '\0';
  optind = 0; /* full reset (GNU), so tests may parse several times */
  opterr = 0;
  int c;
  unsigned long long v;
  while ((c = getopt_long(argc, argv, ":c:b:p:s:l:t:hV", lo, NULL)) != -1) {
    switch (c) {
    case 'c':
      o->config = optarg;
      break;
    case O_CHECK:
      o->check = 1;
      break;
    case 'b':
      if (o->n_bind == SD_MAX_BIND) {
        snprintf(err, errcap, "at most %d --bind addresses", SD_MAX_BIND);
        return 2;
      }
      o->bind[o->n_bind++] = optarg;
      break;
    case O_ADVERTISE:
      o->advertise = optarg;
      break;
    case 'p':
      if (num(optarg, 65535, &v) || v == 0) {
        snprintf(err, errcap, "--port-base: '%s' is not a port (1-65535)",
                 optarg);
        return 2;
      }
      o->port_base = (unsigned)v;
      break;
    case 's':
      o->control = optarg;
      break;
    case 'l':
      o->log_level = slog_level_parse(optarg);
      if (o->log_level < 0) {
        snprintf(err, errcap,
                 "--log-level: '%s' is not error, warn, info or debug", optarg);
        return 2;
      }
      break;
    case O_SYSLOG:
      o->use_syslog = 1;
      break;
    case 't':
      o->trace = optarg;
      break;
    case O_HEP:
      o->hep = optarg;
      break;
    case O_HEPID:
      if (num(optarg, UINT32_MAX, &v)) {
        snprintf(err, errcap, "--hep-id: '%s' is not a number", optarg);
        return 2;
      }
      o->hep_id = (uint32_t)v;
      break;
    case O_CA:
      o->ca_file = optarg;
      break;
    case O_NOVERIFY:
      o->tls_no_verify = 1;
      break;
    case O_DNS:
      o->dns_servers = optarg;
      break;
    case O_HIST:
      if (num(optarg, 1000000, &v) || v == 0) {
        snprintf(err, errcap, "--event-history: '%s' is not 1-1000000", optarg);
        return 2;
      }
      o->history = (unsigned)v;
      break;
    case O_FCONN:
    case O_FTOTAL:
    case O_CONN:
      if (num(optarg, 3600, &v) || v == 0) {
        snprintf(err, errcap, "%s: '%s' is not 1-3600 seconds",
                 c == O_FCONN    ? "--fetch-connect-timeout"
                 : c == O_FTOTAL ? "--fetch-timeout"
                                 : "--connect-timeout",
                 optarg);
        return 2;
      }
      if (c == O_FCONN)
        o->fetch_connect_ms = (unsigned)v * 1000;
      else if (c == O_FTOTAL)
        o->fetch_total_ms = (unsigned)v * 1000;
      else
        o->connect_ms = (unsigned)v * 1000;
      break;
    case O_FMAX:
      if (num(optarg, (unsigned long long)1 << 30, &v) || v == 0) {
        snprintf(err, errcap, "--fetch-max-bytes: '%s' is not 1-1073741824",
                 optarg);
        return 2;
      }
      o->fetch_max = (size_t)v;
      break;
    case O_GRACE:
      if (num(optarg, 60000, &v)) {
        snprintf(err, errcap, "--shutdown-grace: '%s' is not 0-60000 ms",
                 optarg);
        return 2;
      }
      o->shutdown_ms = (unsigned)v;
      break;
    case O_CHLIM:
    case O_CHLIMG:
      if (rate_burst(optarg, c == O_CHLIM ? &o->ch_rate : &o->ch_global_rate,
                     c == O_CHLIM ? &o->ch_burst : &o->ch_global_burst)) {
        snprintf(err, errcap,
                 "%s: '%s' is not RATE[/BURST] (each 1-1000000 per second)",
                 c == O_CHLIM ? "--challenge-limit" : "--challenge-limit-global",
                 optarg);
        return 2;
      }
      break;
    case O_MAXPEND:
      if (num(optarg, 1000000, &v)) {
        snprintf(err, errcap, "--max-pending: '%s' is not 0-1000000",
                 optarg);
        return 2;
      }
      o->max_pending = (unsigned)v;
      break;
    case O_PID:
      o->pid_file = optarg;
      break;
    case O_INSTANCE:
      if (strncasecmp(optarg, "urn:", 4) != 0 || strlen(optarg) > 120 ||
          strpbrk(optarg, "\"<> \t\r\n")) {
        snprintf(err, errcap,
                 "--instance-id: '%s' is not a URN "
                 "(urn:uuid:...)",
                 optarg);
        return 2;
      }
      o->instance_id = optarg;
      break;
    case 'h':
      fputs(usage, out);
      return 1;
    case 'V':
      fprintf(out, "siplined %s\n", SIPLINE_VERSION);
      return 1;
    case ':':
      snprintf(err, errcap, "%s needs a value (see --help)", argv[optind - 1]);
      return 2;
    default:
      snprintf(err, errcap, "unknown option '%s' (see --help)",
               argv[optind - 1]);
      return 2;
    }
  }
  if (optind < argc) {
    snprintf(err, errcap, "unexpected argument '%s' (see --help)",
             argv[optind]);
    return 2;
  }
  if (!o->config) {
    snprintf(err, errcap, "no profile: use -c PROFILE.xml (see --help)");
    return 2;
  }
  if (o->n_bind == 0)
    o->bind[o->n_bind++] = "127.0.0.1";
  return 0;
}
