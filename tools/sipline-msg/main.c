/*
 * sipline-msg: a linter for captured SIP messages.
 *
 *   sipline-msg check FILE...
 *
 * Each FILE holds one message as it came off the wire (one datagram). For
 * each, one JSON line: file, verdict (valid/invalid), kind (request/
 * response/null), method or status, call_id, error (what is wrong, null when
 * valid), response (the status sipline's engine answers on the wire: for
 * an invalid request the parser's suggestion, for a valid one what the UA
 * checks of sipline_msg_uas_check() give, then what sipline_msg_uas_answer()
 * answers by itself -- 405 to REGISTER, 501 to an unknown method, 200 to
 * OPTIONS, ...; null when a dialog or the application decides, or when the
 * message is a response, which is never answered) and, when that answer
 * carries one, allow (its Allow header value).
 * Exit status: 0 all valid, 1 any invalid, 2 usage error or unreadable file
 * (the message goes to stderr; the other files are still checked).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sipline/msg.h"

static void usage(FILE *to) {
  fprintf(to, "usage: sipline-msg check FILE...\n"
              "       sipline-msg --help\n"
              "\n"
              "Checks each FILE (one SIP message, as received in a datagram)\n"
              "against RFC 3261 and prints one JSON line per file:\n"
              "  {\"file\", \"verdict\": \"valid\"|\"invalid\",\n"
              "   \"kind\": \"request\"|\"response\"|null, \"method\" | "
              "\"status\",\n"
              "   \"call_id\", \"error\": null|reason,\n"
              "   \"response\": null|status the engine answers,\n"
              "   \"allow\": the Allow it sends with a 405 or 501}\n"
              "Exit status: 0 all valid, 1 any invalid, 2 usage error or an\n"
              "unreadable file.\n");
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  size_t cap = 65536, n = 0;
  char *b = malloc(cap);
  while (b) {
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (r == 0)
      break;
    if (n == cap) {
      char *nb = realloc(b, cap * 2);
      if (nb == NULL) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    return NULL;
  }
  *len = n;
  return b;
}

static cJSON *pl_json(sipline_pl pl) {
  if (pl.p == NULL)
    return cJSON_CreateNull();
  char *s = malloc(pl.len + 1);
  if (s == NULL)
    return cJSON_CreateNull();
  memcpy(s, pl.p, pl.len);
  s[pl.len] = '\0';
  /* cJSON escapes control bytes; a NUL would cut the string short, which
   * is acceptable for a lint report. */
  cJSON *j = cJSON_CreateString(s);
  free(s);
  return j;
}

static sipline_msg m;

/* Returns 0 valid, 1 invalid, 2 unreadable. */
static int check(const char *path) {
  size_t len = 0;
  char *buf = read_file(path, &len);
  if (buf == NULL) {
    fprintf(stderr, "sipline-msg: %s: %s\n", path,
            errno ? strerror(errno) : "cannot read");
    return 2;
  }
  sipline_msg_error e = {0};
  ptrdiff_t r = sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, &e);
  int v = r >= 0 ? sipline_msg_validate(&m, &e) : (int)r;
  /* How far the parser got: the start line, then the headers. */
  const int started = r >= 0 || m.method_name.p != NULL || m.status != 0;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "file", path);
  cJSON_AddStringToObject(o, "verdict", v == 0 ? "valid" : "invalid");
  if (v == 0 || started) {
    cJSON_AddStringToObject(o, "kind", m.is_request ? "request" : "response");
    if (m.is_request)
      cJSON_AddItemToObject(o, "method", pl_json(m.method_name));
    else
      cJSON_AddNumberToObject(o, "status", m.status);
  } else {
    cJSON_AddNullToObject(o, "kind");
  }
  /* The Call-ID as soon as the headers were split. */
  if (m.call_id.p != NULL)
    cJSON_AddItemToObject(o, "call_id", pl_json(m.call_id));
  else
    cJSON_AddNullToObject(o, "call_id");
  int response = 0;
  if (v != 0) {
    cJSON_AddStringToObject(o, "error", e.reason ? e.reason : "malformed");
    response = e.status;
  } else {
    cJSON_AddNullToObject(o, "error");
    sipline_msg_error ue = {0};
    if (sipline_msg_uas_check(&m, NULL, &ue) == 1 ||
        (m.is_request && sipline_msg_uas_answer(&m, &ue) == 1)) {
      response = ue.status;
      cJSON_AddStringToObject(o, "note", ue.reason);
    }
  }
  /* a request it cannot address an answer to is dropped (§8.2.6.2) */
  if (v == 0 && m.is_request && !sipline_msg_uas_answerable(&m))
    response = 0;
  if (response > 0 && m.is_request) {
    cJSON_AddNumberToObject(o, "response", response);
    /* the same rule as the engine's (RFC 3261 §20.5) */
    if (response == 405 || response == 501)
      cJSON_AddStringToObject(o, "allow", SIPLINE_MSG_ALLOW);
  } else {
    cJSON_AddNullToObject(o, "response");
  }
  char *line = cJSON_PrintUnformatted(o);
  if (line) {
    puts(line);
    cJSON_free(line);
  }
  cJSON_Delete(o);
  free(buf);
  return v == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc < 3 || strcmp(argv[1], "check") != 0) {
    usage(stderr);
    return 2;
  }
  int worst = 0;
  for (int i = 2; i < argc; i++) {
    int r = check(argv[i]);
    if (r > worst)
      worst = r;
  }
  fflush(stdout);
  return worst;
}
