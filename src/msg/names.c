/*
 * src/msg/names.c: method and header names, and the character tables.
 */
#include "msg/hdrtab.h"
#include "msg/msg.h"

#include "cc.inc"

const char *sipline__quoted_end(const char *p, const char *e) {
  p++; /* the opening quote */
  while (p < e) {
    const char c = *p;
    if (c == '"')
      return p + 1;
    if (c == '\\') {
      if (p + 1 >= e)
        return NULL;
      p += 2;
      continue;
    }
    p++;
  }
  return NULL;
}

static const char *const method_names[SIPLINE_METHOD__MAX] = {
    NULL,        "INVITE",  "ACK",   "BYE",     "CANCEL",
    "REGISTER",  "OPTIONS", "INFO",  "UPDATE",  "PRACK",
    "SUBSCRIBE", "NOTIFY",  "REFER", "MESSAGE", "PUBLISH",
};

const char *sipline_method_name(sipline_method m) {
  if ((unsigned)m >= SIPLINE_METHOD__MAX)
    return NULL;
  return method_names[m];
}

sipline_method sipline_method_from(sipline_pl n) {
  /* Dispatch on length and first byte, then one compare of a constant
   * length, which the compiler turns into a load or two (no memcmp call). */
#define M_IS(lit, id)                                                          \
  (memcmp(n.p, lit, sizeof(lit) - 1) == 0 ? (id) : SIPLINE_METHOD_UNKNOWN)
  if (n.len < 3 || n.len > 9 || n.p == NULL)
    return SIPLINE_METHOD_UNKNOWN;
  switch (n.len) {
  case 3:
    return n.p[0] == 'A' ? M_IS("ACK", SIPLINE_METHOD_ACK)
                         : M_IS("BYE", SIPLINE_METHOD_BYE);
  case 4:
    return M_IS("INFO", SIPLINE_METHOD_INFO);
  case 5:
    return n.p[0] == 'P' ? M_IS("PRACK", SIPLINE_METHOD_PRACK)
                         : M_IS("REFER", SIPLINE_METHOD_REFER);
  case 6:
    return n.p[0] == 'I'   ? M_IS("INVITE", SIPLINE_METHOD_INVITE)
           : n.p[0] == 'C' ? M_IS("CANCEL", SIPLINE_METHOD_CANCEL)
           : n.p[0] == 'U' ? M_IS("UPDATE", SIPLINE_METHOD_UPDATE)
                           : M_IS("NOTIFY", SIPLINE_METHOD_NOTIFY);
  case 7:
    return n.p[0] == 'O'   ? M_IS("OPTIONS", SIPLINE_METHOD_OPTIONS)
           : n.p[0] == 'M' ? M_IS("MESSAGE", SIPLINE_METHOD_MESSAGE)
                           : M_IS("PUBLISH", SIPLINE_METHOD_PUBLISH);
  case 8:
    return M_IS("REGISTER", SIPLINE_METHOD_REGISTER);
  default: /* 9 */
    return M_IS("SUBSCRIBE", SIPLINE_METHOD_SUBSCRIBE);
  }
#undef M_IS
}

typedef struct hdr_name {
  const char *name;
  uint8_t len;
  char compact; /* 0 when none */
} hdr_name;

#define H(s, c)                                                                \
  { s, (uint8_t)(sizeof(s) - 1), c }
static const hdr_name hdr_names[SIPLINE_HDR__MAX] = {
    [SIPLINE_HDR_OTHER] = {NULL, 0, 0},
    [SIPLINE_HDR_ACCEPT] = H("Accept", 0),
    [SIPLINE_HDR_ACCEPT_ENCODING] = H("Accept-Encoding", 0),
    [SIPLINE_HDR_ACCEPT_LANGUAGE] = H("Accept-Language", 0),
    [SIPLINE_HDR_ALERT_INFO] = H("Alert-Info", 0),
    [SIPLINE_HDR_ALLOW] = H("Allow", 0),
    [SIPLINE_HDR_ALLOW_EVENTS] = H("Allow-Events", 'u'),
    [SIPLINE_HDR_AUTHENTICATION_INFO] = H("Authentication-Info", 0),
    [SIPLINE_HDR_AUTHORIZATION] = H("Authorization", 0),
    [SIPLINE_HDR_CALL_ID] = H("Call-ID", 'i'),
    [SIPLINE_HDR_CALL_INFO] = H("Call-Info", 0),
    [SIPLINE_HDR_CONTACT] = H("Contact", 'm'),
    [SIPLINE_HDR_CONTENT_DISPOSITION] = H("Content-Disposition", 0),
    [SIPLINE_HDR_CONTENT_ENCODING] = H("Content-Encoding", 'e'),
    [SIPLINE_HDR_CONTENT_LANGUAGE] = H("Content-Language", 0),
    [SIPLINE_HDR_CONTENT_LENGTH] = H("Content-Length", 'l'),
    [SIPLINE_HDR_CONTENT_TYPE] = H("Content-Type", 'c'),
    [SIPLINE_HDR_CSEQ] = H("CSeq", 0),
    [SIPLINE_HDR_DATE] = H("Date", 0),
    [SIPLINE_HDR_ERROR_INFO] = H("Error-Info", 0),
    [SIPLINE_HDR_EVENT] = H("Event", 'o'),
    [SIPLINE_HDR_EXPIRES] = H("Expires", 0),
    [SIPLINE_HDR_FROM] = H("From", 'f'),
    [SIPLINE_HDR_IN_REPLY_TO] = H("In-Reply-To", 0),
    [SIPLINE_HDR_MAX_FORWARDS] = H("Max-Forwards", 0),
    [SIPLINE_HDR_MIME_VERSION] = H("MIME-Version", 0),
    [SIPLINE_HDR_MIN_EXPIRES] = H("Min-Expires", 0),
    [SIPLINE_HDR_MIN_SE] = H("Min-SE", 0),
    [SIPLINE_HDR_ORGANIZATION] = H("Organization", 0),
    [SIPLINE_HDR_PRIORITY] = H("Priority", 0),
    [SIPLINE_HDR_PROXY_AUTHENTICATE] = H("Proxy-Authenticate", 0),
    [SIPLINE_HDR_PROXY_AUTHORIZATION] = H("Proxy-Authorization", 0),
    [SIPLINE_HDR_PROXY_REQUIRE] = H("Proxy-Require", 0),
    [SIPLINE_HDR_RACK] = H("RAck", 0),
    [SIPLINE_HDR_RECORD_ROUTE] = H("Record-Route", 0),
    [SIPLINE_HDR_REFER_TO] = H("Refer-To", 'r'),
    [SIPLINE_HDR_REPLY_TO] = H("Reply-To", 0),
    [SIPLINE_HDR_REQUIRE] = H("Require", 0),
    [SIPLINE_HDR_RETRY_AFTER] = H("Retry-After", 0),
    [SIPLINE_HDR_ROUTE] = H("Route", 0),
    [SIPLINE_HDR_RSEQ] = H("RSeq", 0),
    [SIPLINE_HDR_SERVER] = H("Server", 0),
    [SIPLINE_HDR_SESSION_EXPIRES] = H("Session-Expires", 'x'),
    [SIPLINE_HDR_SUBJECT] = H("Subject", 's'),
    [SIPLINE_HDR_SUBSCRIPTION_STATE] = H("Subscription-State", 0),
    [SIPLINE_HDR_SUPPORTED] = H("Supported", 'k'),
    [SIPLINE_HDR_TIMESTAMP] = H("Timestamp", 0),
    [SIPLINE_HDR_TO] = H("To", 't'),
    [SIPLINE_HDR_UNSUPPORTED] = H("Unsupported", 0),
    [SIPLINE_HDR_USER_AGENT] = H("User-Agent", 0),
    [SIPLINE_HDR_VIA] = H("Via", 'v'),
    [SIPLINE_HDR_WARNING] = H("Warning", 0),
    [SIPLINE_HDR_WWW_AUTHENTICATE] = H("WWW-Authenticate", 0),
};
#undef H

const char *sipline_hdr_name(sipline_hdr_id id) {
  if ((unsigned)id >= SIPLINE_HDR__MAX)
    return NULL;
  return hdr_names[id].name;
}

sipline_hdr_id sipline_hdr_lookup(sipline_pl n) {
  if (n.p == NULL || n.len == 0 || n.len > 24)
    return SIPLINE_HDR_OTHER;
  uint64_t w[3] = {0, 0, 0};
  memcpy(w, n.p, n.len);
  return sipline__hdr_lookup_words(w, n.len);
}
