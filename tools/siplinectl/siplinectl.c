/*
 * siplinectl: talks to siplined over its control socket (JSON lines, see
 * siplined(8)) and prints readable tables, or the raw JSON with --json.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sipline/base.h"

static const char usage[] =
    "Usage: siplinectl [-s SOCKET] [--json] COMMAND [ARGS]\n"
    "Talks to siplined over its control socket.\n"
    "\n"
    "Commands:\n"
    "  status                  each line: state, where it is registered,\n"
    "                          granted expiry, next refresh, calls, and each\n"
    "                          server UP/DOWN with since-when\n"
    "  events [-f] [--since N] [--new] [--messages]\n"
    "                          recent events (SIM.md names) with wall-clock\n"
    "                          times; -f/--follow keeps streaming; --since N\n"
    "                          only those after sequence number N; --new only\n"
    "                          events from now on (with -f); --messages adds\n"
    "                          every SIP message sent (tx) and received (rx)\n"
    "  call LINE TARGET [--play WAV] [--record WAV]\n"
    "                          places a call from LINE to a user or SIP URI;\n"
    "                          sends WAV (any rate, converted) and records\n"
    "                          what arrives (8 kHz mono), else silence\n"
    "  hangup ID               ends call ID (from 'call' or the events)\n"
    "  answer ID [--play WAV] [--record WAV]\n"
    "                          answers incoming call ID (200 with our SDP)\n"
    "  dtmf ID DIGITS          sends DIGITS (0-9 * # A-D) as RFC 4733 events\n"
    "  reject ID [CODE]        refuses incoming call ID (486 by default)\n"
    "  hold ID | resume ID     UPDATE with a=sendonly / a=sendrecv (re-INVITE\n"
    "                          when the peer does not take UPDATE)\n"
    "  update ID [--no-sdp]    UPDATE with a new offer, or without SDP\n"
    "  reinvite ID [--no-sdp]  re-INVITE with a new offer, or asking for one\n"
    "  reload                  re-reads the profile (as SIGHUP)\n"
    "  stop                    un-registers every line and stops the daemon\n"
    "  send JSON               sends one raw request, prints the replies\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH       the control socket (default $SIPLINED_SOCKET,\n"
    "                          else as root /run/siplined.sock or the systemd\n"
    "                          unit's /run/siplined/siplined.sock, else\n"
    "                          $XDG_RUNTIME_DIR/siplined.sock, else\n"
    "                          /tmp/siplined-UID.sock)\n"
    "  -j, --json              print the daemon's JSON lines as they come\n"
    "  -h, --help              this text\n"
    "  -V, --version           the version\n"
    "\n"
    "Exit status: 0 ok, 1 the daemon refused the command, 2 bad usage,\n"
    "3 no daemon on the socket.\n";

static void default_sock(char *buf, size_t cap) {
  const char *e = getenv("SIPLINED_SOCKET");
  const char *x = getenv("XDG_RUNTIME_DIR");
  if (e && *e)
    snprintf(buf, cap, "%s", e);
  else if (geteuid() == 0)
    /* the systemd unit's RuntimeDirectory= socket when that is the one */
    snprintf(buf, cap, "%s",
             access("/run/siplined.sock", F_OK) != 0 &&
                     access("/run/siplined/siplined.sock", F_OK) == 0
                 ? "/run/siplined/siplined.sock"
                 : "/run/siplined.sock");
  else if (x && *x)
    snprintf(buf, cap, "%s/siplined.sock", x);
  else
    snprintf(buf, cap, "/tmp/siplined-%ld.sock", (long)geteuid());
}

static FILE *connect_to(const char *path) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sun.sun_path) {
    fprintf(stderr, "siplinectl: socket path too long\n");
    return NULL;
  }
  strcpy(sun.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
    fprintf(stderr,
            "siplinectl: cannot connect to %s: %s (is siplined "
            "running? see -s)\n",
            path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  return fdopen(fd, "r+");
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double num(const cJSON *o, const char *k, double dflt) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

/* "2026-11-24T04:33:12.123Z" -> "04:33:12.123" for compact tables. */
static const char *clock_of(const char *iso) {
  if (!iso)
    return "-";
  const char *t = strchr(iso, 'T');
  return t ? t + 1 : iso;
}

static void print_status(const cJSON *o) {
  printf("siplined %s, pid %.0f, up %.0fs, %s, profile %s\n",
         str(o, "version") ? str(o, "version") : "?", num(o, "pid", 0),
         num(o, "uptime", 0), str(o, "state") ? str(o, "state") : "?",
         str(o, "profile") ? str(o, "profile") : "?");
  const cJSON *lines = cJSON_GetObjectItemCaseSensitive(o, "lines");
  const cJSON *l;
  cJSON_ArrayForEach(l, lines) {
    printf("\nline %.0f  %s  %s", num(l, "line", 0),
           str(l, "aor") && *str(l, "aor") ? str(l, "aor") : "-",
           str(l, "state") ? str(l, "state") : "?");
    const cJSON *reg = cJSON_GetObjectItemCaseSensitive(l, "registered_at");
    if (cJSON_GetArraySize(reg) > 0) {
      printf(" at");
      const cJSON *r;
      cJSON_ArrayForEach(r, reg) printf(" %s", r->valuestring);
    }
    printf("\n  current %s, expires %.0fs",
           str(l, "current") && *str(l, "current") ? str(l, "current") : "-",
           num(l, "expires", 0));
    double in = num(l, "next_refresh_in", -1);
    if (in >= 0)
      printf(", next refresh in %.1fs (%s)", in,
             clock_of(str(l, "next_refresh")));
    if (str(l, "fallback_at"))
      printf(", fallback at %s", clock_of(str(l, "fallback_at")));
    printf(", calls %.0f\n", num(l, "calls", 0));
    printf("  %-28s %-5s %-25s %-4s %s\n", "SERVER", "STATE", "SINCE", "REG",
           "EXPIRES");
    const cJSON *sv;
    cJSON_ArrayForEach(sv, cJSON_GetObjectItemCaseSensitive(l, "servers")) {
      int reg1 =
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sv, "registered"));
      char exp[64] = "-";
      if (reg1)
        snprintf(exp, sizeof exp, "%.0fs (until %s)", num(sv, "expires", 0),
                 clock_of(str(sv, "expires_at")));
      printf("  %-28s %-5s %-25s %-4s %s\n",
             str(sv, "addr") ? str(sv, "addr") : "?",
             str(sv, "state") ? str(sv, "state") : "?",
             str(sv, "since") ? str(sv, "since") : "-", reg1 ? "yes" : "no",
             exp);
    }
  }
  const cJSON *calls = cJSON_GetObjectItemCaseSensitive(o, "calls");
  if (cJSON_GetArraySize(calls) > 0)
    printf("\n  %-4s %-4s %-10s %-3s %-30s %-10s %-8s %-14s %s\n", "call",
           "line", "state", "dir", "peer", "codec", "media", "session timer",
           "rtp sent/recv");
  const cJSON *k;
  cJSON_ArrayForEach(k, calls) {
    char st[32] = "-", rtp[48] = "-";
    if (num(k, "session_expires", 0) > 0)
      snprintf(st, sizeof st, "%.0fs %s", num(k, "session_expires", 0),
               str(k, "refresher") ? str(k, "refresher") : "");
    if (cJSON_GetObjectItemCaseSensitive(k, "pkts_sent"))
      snprintf(rtp, sizeof rtp, "%.0f/%.0f", num(k, "pkts_sent", 0),
               num(k, "pkts_recv", 0));
    printf("  %-4.0f %-4.0f %-10s %-3s %-30.30s %-10s %-8s %-14s %s\n",
           num(k, "id", 0), num(k, "line", 0),
           str(k, "state") ? str(k, "state") : "?",
           str(k, "direction") ? str(k, "direction") : "?",
           str(k, "peer") ? str(k, "peer") : "?",
           str(k, "codec") ? str(k, "codec") : "-",
           str(k, "media_direction") ? str(k, "media_direction") : "-", st,
           rtp);
  }
}

static void print_event(const cJSON *o) {
  const char *t = str(o, "time");
  double line = num(o, "line", 0);
  printf("%-24s ", t ? t : "-");
  if (line > 0)
    printf("line %-2.0f ", line);
  else
    printf("        ");
  printf("%-13s", str(o, "event") ? str(o, "event") : "?");
  for (const cJSON *it = o->child; it; it = it->next) {
    const char *k = it->string;
    if (!k || !strcmp(k, "time") || !strcmp(k, "t") || !strcmp(k, "event") ||
        !strcmp(k, "line") || !strcmp(k, "seq"))
      continue;
    if (cJSON_IsString(it))
      printf(" %s=%s", k, it->valuestring);
    else if (cJSON_IsNumber(it))
      printf(" %s=%g", k, it->valuedouble);
    else if (cJSON_IsBool(it))
      printf(" %s=%s", k, cJSON_IsTrue(it) ? "true" : "false");
    else if (cJSON_IsNull(it))
      printf(" %s=-", k);
    else if (cJSON_IsArray(it)) {
      printf(" %s=[", k);
      for (const cJSON *x = it->child; x; x = x->next)
        printf("%s%s", x == it->child ? "" : ",",
               cJSON_IsString(x) ? x->valuestring : "?");
      printf("]");
    }
  }
  printf("  #%.0f\n", num(o, "seq", 0));
}

/* The command line's options; they may stand before or after the command. */
typedef struct opts {
  char sock[256];
  int json, follow, messages, fresh, nosdp;
  const char *play, *record;
  long long since;
} opts;

/* Applies one getopt result: -1 when taken, else the exit status. */
static int take_opt(int c, opts *o) {
  switch (c) {
  case 's':
    snprintf(o->sock, sizeof o->sock, "%s", optarg);
    return -1;
  case 'j':
    o->json = 1;
    return -1;
  case 'f':
    o->follow = 1;
    return -1;
  case 'S':
    o->since = atoll(optarg);
    return -1;
  case 'm':
    o->messages = 1;
    return -1;
  case 'n':
    o->fresh = 1;
    return -1;
  case 'N':
    o->nosdp = 1;
    return -1;
  case 'P':
    o->play = optarg;
    return -1;
  case 'R':
    o->record = optarg;
    return -1;
  case 'h':
    fputs(usage, stdout);
    return 0;
  case 'V':
    printf("siplinectl %s\n", SIPLINE_VERSION);
    return 0;
  default:
    fputs(usage, stderr);
    return 2;
  }
}

enum { K_ONE, K_EVENTS, K_STATUS };

/* --play/--record, as absolute paths (the daemon's working directory is
 * not ours). */
static void media_files(cJSON *req, const opts *o) {
  const char *v[2] = {o->play, o->record};
  const char *k[2] = {"play", "record"};
  for (int i = 0; i < 2; i++) {
    if (!v[i])
      continue;
    char buf[4096];
    if (v[i][0] != '/' && getcwd(buf, sizeof buf) &&
        strlen(buf) + strlen(v[i]) + 2 < sizeof buf) {
      strcat(buf, "/");
      strcat(buf, v[i]);
      cJSON_AddStringToObject(req, k[i], buf);
    } else {
      cJSON_AddStringToObject(req, k[i], v[i]);
    }
  }
}

int main(int argc, char **argv) {
  static const struct option lo[] = {{"socket", required_argument, 0, 's'},
                                     {"json", no_argument, 0, 'j'},
                                     {"help", no_argument, 0, 'h'},
                                     {"version", no_argument, 0, 'V'},
                                     {"follow", no_argument, 0, 'f'},
                                     {"since", required_argument, 0, 'S'},
                                     {"messages", no_argument, 0, 'm'},
                                     {"new", no_argument, 0, 'n'},
                                     {"no-sdp", no_argument, 0, 'N'},
                                     {"play", required_argument, 0, 'P'},
                                     {"record", required_argument, 0, 'R'},
                                     {0, 0, 0, 0}};
  opts op = {.since = -1};
  default_sock(op.sock, sizeof op.sock);
  int c;
  while ((c = getopt_long(argc, argv, "+s:jhVfS:mnNP:R:", lo, NULL)) != -1) {
    int r = take_opt(c, &op);
    if (r >= 0)
      return r;
  }
  if (optind >= argc) {
    fputs(usage, stderr);
    return 2;
  }
  const char *cmd = argv[optind++];
  /* Options may also follow the command and be mixed with its arguments
   * (siplinectl call 1 1002 --play tone.wav): GNU getopt, restarted on
   * what follows the command, permutes the arguments to the end. */
  int sub_argc = argc - optind + 1;
  static char **sub; /* lives as long as the process (argv does) */
  sub = calloc((size_t)sub_argc + 1, sizeof *sub);
  if (!sub)
    return 2;
  sub[0] = argv[0];
  for (int i = optind; i < argc; i++)
    sub[i - optind + 1] = argv[i];
  argc = sub_argc;
  argv = sub;
  optind = 0;
  while ((c = getopt_long(argc, argv, "s:jhVfS:mnNP:R:", lo, NULL)) != -1) {
    int r = take_opt(c, &op);
    if (r >= 0)
      return r;
  }
  const char *sock = op.sock;
  int json = op.json, follow = op.follow, messages = op.messages,
      fresh = op.fresh;
  long long since = op.since;
  int nargs = argc - optind;
  char **args = argv + optind;
  cJSON *req = cJSON_CreateObject();
  int kind = K_ONE;
  if (!strcmp(cmd, "status") && nargs == 0) {
    cJSON_AddStringToObject(req, "cmd", "status");
    kind = K_STATUS;
  } else if (!strcmp(cmd, "events") && nargs == 0) {
    cJSON_AddStringToObject(req, "cmd", "events");
    if (since >= 0)
      cJSON_AddNumberToObject(req, "since", (double)since);
    if (follow)
      cJSON_AddBoolToObject(req, "follow", 1);
    if (messages)
      cJSON_AddBoolToObject(req, "messages", 1);
    if (fresh)
      cJSON_AddBoolToObject(req, "new", 1);
    kind = K_EVENTS;
  } else if (!strcmp(cmd, "call") && nargs == 2) {
    cJSON_AddStringToObject(req, "cmd", "call");
    cJSON_AddNumberToObject(req, "line", atoi(args[0]));
    cJSON_AddStringToObject(req, "to", args[1]);
    media_files(req, &op);
  } else if (!strcmp(cmd, "hangup") && nargs == 1) {
    cJSON_AddStringToObject(req, "cmd", "hangup");
    cJSON_AddNumberToObject(req, "id", atoi(args[0]));
  } else if ((!strcmp(cmd, "answer") || !strcmp(cmd, "hold") ||
              !strcmp(cmd, "resume")) &&
             nargs == 1) {
    cJSON_AddStringToObject(req, "cmd", cmd);
    cJSON_AddNumberToObject(req, "id", atoi(args[0]));
    media_files(req, &op);
  } else if (!strcmp(cmd, "dtmf") && nargs == 2) {
    cJSON_AddStringToObject(req, "cmd", cmd);
    cJSON_AddNumberToObject(req, "id", atoi(args[0]));
    cJSON_AddStringToObject(req, "digits", args[1]);
  } else if (!strcmp(cmd, "reject") && (nargs == 1 || nargs == 2)) {
    cJSON_AddStringToObject(req, "cmd", cmd);
    cJSON_AddNumberToObject(req, "id", atoi(args[0]));
    if (nargs == 2)
      cJSON_AddNumberToObject(req, "code", atoi(args[1]));
  } else if ((!strcmp(cmd, "update") || !strcmp(cmd, "reinvite")) &&
             (nargs == 1 || (nargs == 2 && !strcmp(args[1], "--no-sdp")))) {
    cJSON_AddStringToObject(req, "cmd", cmd);
    cJSON_AddNumberToObject(req, "id", atoi(args[0]));
    if (nargs == 2 || op.nosdp)
      cJSON_AddBoolToObject(req, "sdp", 0);
  } else if ((!strcmp(cmd, "reload") || !strcmp(cmd, "stop") ||
              !strcmp(cmd, "version")) &&
             nargs == 0) {
    cJSON_AddStringToObject(req, "cmd", cmd);
  } else if (!strcmp(cmd, "send") && nargs == 1) {
    cJSON_Delete(req);
    req = cJSON_Parse(args[0]);
    if (!req) {
      fprintf(stderr, "siplinectl: send: not JSON\n");
      return 2;
    }
    json = 1;
    const char *rc = str(req, "cmd");
    if (rc && !strcmp(rc, "events"))
      kind = K_EVENTS;
    follow = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow"));
  } else {
    fprintf(stderr, "siplinectl: bad command or arguments: %s (see --help)\n",
            cmd);
    cJSON_Delete(req);
    return 2;
  }
  FILE *f = connect_to(sock);
  if (!f) {
    cJSON_Delete(req);
    return 3;
  }
  char *line = cJSON_PrintUnformatted(req);
  cJSON_Delete(req);
  fprintf(f, "%s\n", line);
  fflush(f);
  cJSON_free(line);
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *buf = NULL;
  size_t cap = 0;
  int rc = 0;
  ssize_t n;
  while ((n = getline(&buf, &cap, f)) > 0) {
    cJSON *o = cJSON_Parse(buf);
    if (!o)
      continue;
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
    /* replies carry "ok"; events carry "event" (and never "ok") */
    int is_reply = ok != NULL && !cJSON_GetObjectItemCaseSensitive(o, "event");
    if (json && !(kind == K_EVENTS && is_reply && cJSON_IsTrue(ok)))
      fputs(buf, stdout);
    if (is_reply && !cJSON_IsTrue(ok)) {
      if (!json)
        fprintf(stderr, "siplinectl: %s\n",
                str(o, "error") ? str(o, "error") : "refused");
      rc = 1;
      cJSON_Delete(o);
      break;
    }
    if (kind == K_EVENTS) {
      if (is_reply) { /* {"ok":true,"end":true}: history done */
        cJSON_Delete(o);
        break;
      }
      if (!json)
        print_event(o);
      cJSON_Delete(o);
      continue;
    }
    if (!json) {
      if (kind == K_STATUS)
        print_status(o);
      else if (cJSON_GetObjectItemCaseSensitive(o, "id"))
        printf("ok, id %.0f\n", num(o, "id", 0));
      else if (str(o, "version"))
        printf("siplined %s\n", str(o, "version"));
      else
        printf("ok\n");
    }
    cJSON_Delete(o);
    break;
  }
  free(buf);
  fclose(f);
  return rc;
}
