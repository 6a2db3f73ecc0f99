/*
 * src/msg/names.c: method and header names, and the character tables.
 */
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
    NULL,     "INVITE",  "ACK",     "BYE",      "CANCEL",
    "REGISTER", "OPTIONS", "INFO",  "UPDATE",   "PRACK",
    "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE",  "PUBLISH",
};

const char *sipline_method_name(sipline_method m) {
  if ((unsigned)m >= SIPLINE_METHOD__MAX)
    return NULL;
  return method_names[m];
}

sipline_method sipline_method_from(sipline_pl n) {
  /* Dispatch on length and first byte: one memcmp at most. */
  if (n.len < 3 || n.len > 9 || n.p == NULL)
    return SIPLINE_METHOD_UNKNOWN;
  sipline_method c = SIPLINE_METHOD_UNKNOWN;
  switch (n.len) {
  case 3:
    c = n.p[0] == 'A' ? SIPLINE_METHOD_ACK
        : n.p[0] == 'B' ? SIPLINE_METHOD_BYE
                        : SIPLINE_METHOD_UNKNOWN;
    break;
  case 4:
    c = SIPLINE_METHOD_INFO;
    break;
  case 5:
    c = n.p[0] == 'P' ? SIPLINE_METHOD_PRACK : SIPLINE_METHOD_REFER;
    break;
  case 6:
    c = n.p[0] == 'I'   ? SIPLINE_METHOD_INVITE
        : n.p[0] == 'C' ? SIPLINE_METHOD_CANCEL
        : n.p[0] == 'U' ? SIPLINE_METHOD_UPDATE
                        : SIPLINE_METHOD_NOTIFY;
    break;
  case 7:
    c = n.p[0] == 'O'   ? SIPLINE_METHOD_OPTIONS
        : n.p[0] == 'M' ? SIPLINE_METHOD_MESSAGE
                        : SIPLINE_METHOD_PUBLISH;
    break;
  case 8:
    c = SIPLINE_METHOD_REGISTER;
    break;
  case 9:
    c = SIPLINE_METHOD_SUBSCRIBE;
    break;
  }
  if (c != SIPLINE_METHOD_UNKNOWN && memcmp(method_names[c], n.p, n.len) == 0)
    return c;
  return SIPLINE_METHOD_UNKNOWN;
}

typedef struct hdr_name {
  const char *name;
  uint8_t len;
  char compact; /* 0 when none */
} hdr_name;

#define H(s, c) {s, (uint8_t)(sizeof(s) - 1), c}
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

size_t sipline__hdr_name_len(sipline_hdr_id id) {
  return (unsigned)id < SIPLINE_HDR__MAX ? hdr_names[id].len : 0;
}

/* Compact forms by letter (RFC 3261 §7.3.3 and the extension RFCs). */
static sipline_hdr_id compact(unsigned char c) {
  switch (c | 0x20) {
  case 'i': return SIPLINE_HDR_CALL_ID;
  case 'm': return SIPLINE_HDR_CONTACT;
  case 'e': return SIPLINE_HDR_CONTENT_ENCODING;
  case 'l': return SIPLINE_HDR_CONTENT_LENGTH;
  case 'c': return SIPLINE_HDR_CONTENT_TYPE;
  case 'f': return SIPLINE_HDR_FROM;
  case 's': return SIPLINE_HDR_SUBJECT;
  case 'k': return SIPLINE_HDR_SUPPORTED;
  case 't': return SIPLINE_HDR_TO;
  case 'v': return SIPLINE_HDR_VIA;
  case 'o': return SIPLINE_HDR_EVENT;
  case 'u': return SIPLINE_HDR_ALLOW_EVENTS;
  case 'r': return SIPLINE_HDR_REFER_TO;
  case 'x': return SIPLINE_HDR_SESSION_EXPIRES;
  default: return SIPLINE_HDR_OTHER;
  }
}

#include "hdrwords.inc"

/*
 * Header names are compared a word at a time: the received name, zero-padded
 * to 24 bytes, OR-ed with the case-fold mask of a candidate (0x20 on letters
 * only) must equal the candidate's lower-cased words. A '-' position needs
 * an exact '-', a letter position accepts only that letter in either case:
 * the comparison is exact, and needs no byte loop.
 */
static inline bool words_eq(sipline_hdr_id id, const uint64_t w[3], size_t n) {
  if (hdr_names[id].len != n)
    return false;
  if ((w[0] | hdr_masks[id][0]) != hdr_words[id][0])
    return false;
  if (n > 8 && (w[1] | hdr_masks[id][1]) != hdr_words[id][1])
    return false;
  if (n > 16 && (w[2] | hdr_masks[id][2]) != hdr_words[id][2])
    return false;
  return true;
}

/*
 * The hash is (length, lower-case first letter): no two names share it except
 * a few pairs, so a lookup costs one switch (a jump table) and at most two
 * word compares. w holds the name zero-padded to 24 bytes, little-endian.
 */
sipline_hdr_id sipline__hdr_lookup_words(const uint64_t w[3], size_t n) {
  if (n == 0 || n > 24)
    return SIPLINE_HDR_OTHER;
  const unsigned char f = sipline__lower[(unsigned char)(w[0] & 0xff)];
  if (n == 1)
    return compact(f);
  sipline_hdr_id a = SIPLINE_HDR_OTHER, b = SIPLINE_HDR_OTHER;
#define K(l, c) (((l) << 8) | (c))
  switch (K(n, f)) {
  case K(2, 't'): a = SIPLINE_HDR_TO; break;
  case K(3, 'v'): a = SIPLINE_HDR_VIA; break;
  case K(4, 'c'): a = SIPLINE_HDR_CSEQ; break;
  case K(4, 'd'): a = SIPLINE_HDR_DATE; break;
  case K(4, 'f'): a = SIPLINE_HDR_FROM; break;
  case K(4, 'r'): a = SIPLINE_HDR_RACK; b = SIPLINE_HDR_RSEQ; break;
  case K(5, 'a'): a = SIPLINE_HDR_ALLOW; break;
  case K(5, 'e'): a = SIPLINE_HDR_EVENT; break;
  case K(5, 'r'): a = SIPLINE_HDR_ROUTE; break;
  case K(6, 'a'): a = SIPLINE_HDR_ACCEPT; break;
  case K(6, 'm'): a = SIPLINE_HDR_MIN_SE; break;
  case K(6, 's'): a = SIPLINE_HDR_SERVER; break;
  case K(7, 'c'): a = SIPLINE_HDR_CONTACT; b = SIPLINE_HDR_CALL_ID; break;
  case K(7, 'e'): a = SIPLINE_HDR_EXPIRES; break;
  case K(7, 'r'): a = SIPLINE_HDR_REQUIRE; break;
  case K(7, 's'): a = SIPLINE_HDR_SUBJECT; break;
  case K(7, 'w'): a = SIPLINE_HDR_WARNING; break;
  case K(8, 'p'): a = SIPLINE_HDR_PRIORITY; break;
  case K(8, 'r'): a = SIPLINE_HDR_REFER_TO; b = SIPLINE_HDR_REPLY_TO; break;
  case K(9, 'c'): a = SIPLINE_HDR_CALL_INFO; break;
  case K(9, 's'): a = SIPLINE_HDR_SUPPORTED; break;
  case K(9, 't'): a = SIPLINE_HDR_TIMESTAMP; break;
  case K(10, 'a'): a = SIPLINE_HDR_ALERT_INFO; break;
  case K(10, 'e'): a = SIPLINE_HDR_ERROR_INFO; break;
  case K(10, 'u'): a = SIPLINE_HDR_USER_AGENT; break;
  case K(11, 'i'): a = SIPLINE_HDR_IN_REPLY_TO; break;
  case K(11, 'm'): a = SIPLINE_HDR_MIN_EXPIRES; break;
  case K(11, 'r'): a = SIPLINE_HDR_RETRY_AFTER; break;
  case K(11, 'u'): a = SIPLINE_HDR_UNSUPPORTED; break;
  case K(12, 'a'): a = SIPLINE_HDR_ALLOW_EVENTS; break;
  case K(12, 'c'): a = SIPLINE_HDR_CONTENT_TYPE; break;
  case K(12, 'm'): a = SIPLINE_HDR_MAX_FORWARDS; b = SIPLINE_HDR_MIME_VERSION;
    break;
  case K(12, 'o'): a = SIPLINE_HDR_ORGANIZATION; break;
  case K(12, 'r'): a = SIPLINE_HDR_RECORD_ROUTE; break;
  case K(13, 'a'): a = SIPLINE_HDR_AUTHORIZATION; break;
  case K(13, 'p'): a = SIPLINE_HDR_PROXY_REQUIRE; break;
  case K(14, 'c'): a = SIPLINE_HDR_CONTENT_LENGTH; break;
  case K(15, 'a'): a = SIPLINE_HDR_ACCEPT_ENCODING; b = SIPLINE_HDR_ACCEPT_LANGUAGE;
    break;
  case K(15, 's'): a = SIPLINE_HDR_SESSION_EXPIRES; break;
  case K(16, 'c'): a = SIPLINE_HDR_CONTENT_ENCODING; b = SIPLINE_HDR_CONTENT_LANGUAGE;
    break;
  case K(16, 'w'): a = SIPLINE_HDR_WWW_AUTHENTICATE; break;
  case K(18, 'p'): a = SIPLINE_HDR_PROXY_AUTHENTICATE; break;
  case K(18, 's'): a = SIPLINE_HDR_SUBSCRIPTION_STATE; break;
  case K(19, 'a'): a = SIPLINE_HDR_AUTHENTICATION_INFO; break;
  case K(19, 'c'): a = SIPLINE_HDR_CONTENT_DISPOSITION; break;
  case K(19, 'p'): a = SIPLINE_HDR_PROXY_AUTHORIZATION; break;
  default: return SIPLINE_HDR_OTHER;
  }
#undef K
  if (words_eq(a, w, n))
    return a;
  if (b != SIPLINE_HDR_OTHER && words_eq(b, w, n))
    return b;
  return SIPLINE_HDR_OTHER;
}

sipline_hdr_id sipline_hdr_lookup(sipline_pl n) {
  if (n.p == NULL || n.len == 0 || n.len > 24)
    return SIPLINE_HDR_OTHER;
  uint64_t w[3] = {0, 0, 0};
  memcpy(w, n.p, n.len);
  return sipline__hdr_lookup_words(w, n.len);
}
