/* daemon/log.c: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int g_level = SLOG_INFO;
static int g_syslog;
static const char *g_ident = "siplined";

int slog_level_parse(const char *s) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, names[i]) == 0)
      return i;
  if (strcasecmp(s, "warning") == 0)
    return SLOG_WARN;
  return -1;
}

void slog_init(int level, int use_syslog, const char *ident) {
  g_level = level;
  g_syslog = use_syslog;
  if (ident)
    g_ident = ident;
  if (g_syslog)
    openlog(g_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int slog_enabled(int level) {
  return level <= g_level;
}

void slog(int level, const char *fmt, ...) {
  static const char *tags[] = {"error", "warn", "info", "debug"};
  static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
  if (level > g_level)
    return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_syslog) {
    syslog(prio[level], "%s", msg);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[32];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(stderr, "%s.%03ldZ %s[%ld] %s: %s\n", ts, (long)tv.tv_usec / 1000,
          g_ident, (long)getpid(), tags[level], msg);
}

/* 1 when the header line starting at p (length n) is a credentials header. */
static int is_cred_header(const char *p, size_t n) {
  static const char *names[] = {"authorization", "proxy-authorization"};
  for (size_t i = 0; i < 2; i++) {
    size_t k = strlen(names[i]);
    if (n > k && strncasecmp(p, names[i], k) == 0) {
      size_t j = k;
      while (j < n && (p[j] == ' ' || p[j] == '\t'))
        j++;
      if (j < n && p[j] == ':')
        return 1;
    }
  }
  return 0;
}

size_t slog_redact(const char *msg, size_t len, char *out, size_t cap) {
  size_t o = 0;
  if (cap == 0)
    return 0;
  size_t i = 0;
  int folded_cred = 0; /* inside a credentials header's continuation lines */
  while (i < len) {
    size_t e = i;
    while (e < len && msg[e] != '\n')
      e++;
    size_t n = e - i; /* line without its LF */
    int cont = n > 0 && (msg[i] == ' ' || msg[i] == '\t');
    const char *src = msg + i;
    size_t srcn = n;
    char buf[64];
    if (cont && folded_cred) {
      srcn = 0; /* a folded credentials line: drop it entirely */
    } else if (is_cred_header(msg + i, n)) {
      const char *colon = memchr(msg + i, ':', n);
      size_t k = (size_t)(colon - (msg + i)) + 1;
      int cr = n > 0 && msg[i + n - 1] == '\r';
      snprintf(buf, sizeof buf, "%.*s <redacted>%s", (int)(k < 40 ? k : 40),
               msg + i, cr ? "\r" : "");
      src = buf;
      srcn = strlen(buf);
      folded_cred = 1;
    } else {
      folded_cred = 0;
    }
    if (srcn > 0 || !(cont && folded_cred)) {
      for (size_t j = 0; j < srcn && o + 1 < cap; j++)
        out[o++] = src[j];
      if (e < len && o + 1 < cap)
        out[o++] = '\n';
    }
    i = e + 1;
    /* the body starts after an empty line: stop treating lines as headers */
    if (n == 0 || (n == 1 && msg[e - 1] == '\r')) {
      size_t rest = i < len ? len - i : 0;
      for (size_t j = 0; j < rest && o + 1 < cap; j++)
        out[o++] = msg[i + j];
      break;
    }
  }
  out[o] = '\0';
  return o;
}
