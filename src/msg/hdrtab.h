/*
 * src/msg/hdrtab.h: the header-name lookup, inline so the parser's
 * per-header loop pays no call. Included by names.c (sipline_hdr_lookup) and
 * parse.c; the tables are small and static.
 */
#ifndef SIPLINE_MSG_HDRTAB_H
#define SIPLINE_MSG_HDRTAB_H

#include "msg/msg.h"

/* Compact forms by letter (RFC 3261 §7.3.3 and the extension RFCs). */
static inline sipline_hdr_id sipline__hdr_compact(unsigned char c) {
  switch (c | 0x20) {
  case 'i':
    return SIPLINE_HDR_CALL_ID;
  case 'm':
    return SIPLINE_HDR_CONTACT;
  case 'e':
    return SIPLINE_HDR_CONTENT_ENCODING;
  case 'l':
    return SIPLINE_HDR_CONTENT_LENGTH;
  case 'c':
    return SIPLINE_HDR_CONTENT_TYPE;
  case 'f':
    return SIPLINE_HDR_FROM;
  case 's':
    return SIPLINE_HDR_SUBJECT;
  case 'k':
    return SIPLINE_HDR_SUPPORTED;
  case 't':
    return SIPLINE_HDR_TO;
  case 'v':
    return SIPLINE_HDR_VIA;
  case 'o':
    return SIPLINE_HDR_EVENT;
  case 'u':
    return SIPLINE_HDR_ALLOW_EVENTS;
  case 'r':
    return SIPLINE_HDR_REFER_TO;
  case 'x':
    return SIPLINE_HDR_SESSION_EXPIRES;
  default:
    return SIPLINE_HDR_OTHER;
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
__attribute__((always_inline)) static inline bool
words_eq(sipline_hdr_id id, const uint64_t w[3], size_t n) {
  if ((w[0] | hdr_masks[id][0]) != hdr_words[id][0])
    return false;
  if (n > 8 && (w[1] | hdr_masks[id][1]) != hdr_words[id][1])
    return false;
  if (n > 16 && (w[2] | hdr_masks[id][2]) != hdr_words[id][2])
    return false;
  return true;
}

/*
 * Candidates by (length, first letter), the hash of the header lookup: no
 * two names share it except six pairs, so a lookup costs one table read and
 * at most two word compares.
 */
static const uint8_t hdr_bucket[20][26][2] = {
    [2][19] = {SIPLINE_HDR_TO, SIPLINE_HDR_OTHER},
    [3][21] = {SIPLINE_HDR_VIA, SIPLINE_HDR_OTHER},
    [4][2] = {SIPLINE_HDR_CSEQ, SIPLINE_HDR_OTHER},
    [4][3] = {SIPLINE_HDR_DATE, SIPLINE_HDR_OTHER},
    [4][5] = {SIPLINE_HDR_FROM, SIPLINE_HDR_OTHER},
    [4][17] = {SIPLINE_HDR_RACK, SIPLINE_HDR_RSEQ},
    [5][0] = {SIPLINE_HDR_ALLOW, SIPLINE_HDR_OTHER},
    [5][4] = {SIPLINE_HDR_EVENT, SIPLINE_HDR_OTHER},
    [5][17] = {SIPLINE_HDR_ROUTE, SIPLINE_HDR_OTHER},
    [6][0] = {SIPLINE_HDR_ACCEPT, SIPLINE_HDR_OTHER},
    [6][12] = {SIPLINE_HDR_MIN_SE, SIPLINE_HDR_OTHER},
    [6][18] = {SIPLINE_HDR_SERVER, SIPLINE_HDR_OTHER},
    [7][2] = {SIPLINE_HDR_CONTACT, SIPLINE_HDR_CALL_ID},
    [7][4] = {SIPLINE_HDR_EXPIRES, SIPLINE_HDR_OTHER},
    [7][17] = {SIPLINE_HDR_REQUIRE, SIPLINE_HDR_OTHER},
    [7][18] = {SIPLINE_HDR_SUBJECT, SIPLINE_HDR_OTHER},
    [7][22] = {SIPLINE_HDR_WARNING, SIPLINE_HDR_OTHER},
    [8][15] = {SIPLINE_HDR_PRIORITY, SIPLINE_HDR_OTHER},
    [8][17] = {SIPLINE_HDR_REFER_TO, SIPLINE_HDR_REPLY_TO},
    [9][2] = {SIPLINE_HDR_CALL_INFO, SIPLINE_HDR_OTHER},
    [9][18] = {SIPLINE_HDR_SUPPORTED, SIPLINE_HDR_OTHER},
    [9][19] = {SIPLINE_HDR_TIMESTAMP, SIPLINE_HDR_OTHER},
    [10][0] = {SIPLINE_HDR_ALERT_INFO, SIPLINE_HDR_OTHER},
    [10][4] = {SIPLINE_HDR_ERROR_INFO, SIPLINE_HDR_OTHER},
    [10][20] = {SIPLINE_HDR_USER_AGENT, SIPLINE_HDR_OTHER},
    [11][8] = {SIPLINE_HDR_IN_REPLY_TO, SIPLINE_HDR_OTHER},
    [11][12] = {SIPLINE_HDR_MIN_EXPIRES, SIPLINE_HDR_OTHER},
    [11][17] = {SIPLINE_HDR_RETRY_AFTER, SIPLINE_HDR_OTHER},
    [11][20] = {SIPLINE_HDR_UNSUPPORTED, SIPLINE_HDR_OTHER},
    [12][0] = {SIPLINE_HDR_ALLOW_EVENTS, SIPLINE_HDR_OTHER},
    [12][2] = {SIPLINE_HDR_CONTENT_TYPE, SIPLINE_HDR_OTHER},
    [12][12] = {SIPLINE_HDR_MAX_FORWARDS, SIPLINE_HDR_MIME_VERSION},
    [12][14] = {SIPLINE_HDR_ORGANIZATION, SIPLINE_HDR_OTHER},
    [12][17] = {SIPLINE_HDR_RECORD_ROUTE, SIPLINE_HDR_OTHER},
    [13][0] = {SIPLINE_HDR_AUTHORIZATION, SIPLINE_HDR_OTHER},
    [13][15] = {SIPLINE_HDR_PROXY_REQUIRE, SIPLINE_HDR_OTHER},
    [14][2] = {SIPLINE_HDR_CONTENT_LENGTH, SIPLINE_HDR_OTHER},
    [15][0] = {SIPLINE_HDR_ACCEPT_ENCODING, SIPLINE_HDR_ACCEPT_LANGUAGE},
    [15][18] = {SIPLINE_HDR_SESSION_EXPIRES, SIPLINE_HDR_OTHER},
    [16][2] = {SIPLINE_HDR_CONTENT_ENCODING, SIPLINE_HDR_CONTENT_LANGUAGE},
    [16][22] = {SIPLINE_HDR_WWW_AUTHENTICATE, SIPLINE_HDR_OTHER},
    [18][15] = {SIPLINE_HDR_PROXY_AUTHENTICATE, SIPLINE_HDR_OTHER},
    [18][18] = {SIPLINE_HDR_SUBSCRIPTION_STATE, SIPLINE_HDR_OTHER},
    [19][0] = {SIPLINE_HDR_AUTHENTICATION_INFO, SIPLINE_HDR_OTHER},
    [19][2] = {SIPLINE_HDR_CONTENT_DISPOSITION, SIPLINE_HDR_OTHER},
    [19][15] = {SIPLINE_HDR_PROXY_AUTHORIZATION, SIPLINE_HDR_OTHER},
};

/*
 * Names of 2 to 15 bytes (the parser's fast path) by a multiplicative hash
 * of their first eight bytes, case-folded, xor their length: the 44 such
 * names take 44 distinct slots of 128 (the multiplier was found by search).
 * words_eq() and the length then make the match exact.
 */
#define SIPLINE__HDR_HASH_K 0x515f1e555ec9a275ull
static const uint8_t hdr_hash[128] = {
    [1] = SIPLINE_HDR_PROXY_REQUIRE,
    [3] = SIPLINE_HDR_MAX_FORWARDS,
    [9] = SIPLINE_HDR_REFER_TO,
    [11] = SIPLINE_HDR_CALL_ID,
    [12] = SIPLINE_HDR_EVENT,
    [13] = SIPLINE_HDR_CSEQ,
    [14] = SIPLINE_HDR_ALLOW_EVENTS,
    [16] = SIPLINE_HDR_MIN_SE,
    [18] = SIPLINE_HDR_ROUTE,
    [21] = SIPLINE_HDR_RETRY_AFTER,
    [23] = SIPLINE_HDR_REPLY_TO,
    [25] = SIPLINE_HDR_TO,
    [30] = SIPLINE_HDR_MIME_VERSION,
    [42] = SIPLINE_HDR_CALL_INFO,
    [43] = SIPLINE_HDR_WARNING,
    [45] = SIPLINE_HDR_VIA,
    [49] = SIPLINE_HDR_EXPIRES,
    [54] = SIPLINE_HDR_ALERT_INFO,
    [57] = SIPLINE_HDR_MIN_EXPIRES,
    [58] = SIPLINE_HDR_CONTENT_TYPE,
    [64] = SIPLINE_HDR_AUTHORIZATION,
    [65] = SIPLINE_HDR_REQUIRE,
    [68] = SIPLINE_HDR_SUPPORTED,
    [71] = SIPLINE_HDR_ORGANIZATION,
    [76] = SIPLINE_HDR_SESSION_EXPIRES,
    [84] = SIPLINE_HDR_TIMESTAMP,
    [85] = SIPLINE_HDR_USER_AGENT,
    [88] = SIPLINE_HDR_SERVER,
    [89] = SIPLINE_HDR_ACCEPT,
    [91] = SIPLINE_HDR_ACCEPT_ENCODING,
    [92] = SIPLINE_HDR_ERROR_INFO,
    [100] = SIPLINE_HDR_PRIORITY,
    [101] = SIPLINE_HDR_UNSUPPORTED,
    [104] = SIPLINE_HDR_IN_REPLY_TO,
    [105] = SIPLINE_HDR_CONTENT_LENGTH,
    [111] = SIPLINE_HDR_RSEQ,
    [112] = SIPLINE_HDR_CONTACT,
    [116] = SIPLINE_HDR_ACCEPT_LANGUAGE,
    [117] = SIPLINE_HDR_SUBJECT,
    [118] = SIPLINE_HDR_ALLOW,
    [121] = SIPLINE_HDR_RACK,
    [122] = SIPLINE_HDR_RECORD_ROUTE,
    [123] = SIPLINE_HDR_DATE,
    [127] = SIPLINE_HDR_FROM,
};
static const uint8_t hdr_len[SIPLINE_HDR__MAX] = {
    [SIPLINE_HDR_ACCEPT] = 6,
    [SIPLINE_HDR_ACCEPT_ENCODING] = 15,
    [SIPLINE_HDR_ACCEPT_LANGUAGE] = 15,
    [SIPLINE_HDR_ALERT_INFO] = 10,
    [SIPLINE_HDR_ALLOW] = 5,
    [SIPLINE_HDR_ALLOW_EVENTS] = 12,
    [SIPLINE_HDR_AUTHENTICATION_INFO] = 19,
    [SIPLINE_HDR_AUTHORIZATION] = 13,
    [SIPLINE_HDR_CALL_ID] = 7,
    [SIPLINE_HDR_CALL_INFO] = 9,
    [SIPLINE_HDR_CONTACT] = 7,
    [SIPLINE_HDR_CONTENT_DISPOSITION] = 19,
    [SIPLINE_HDR_CONTENT_ENCODING] = 16,
    [SIPLINE_HDR_CONTENT_LANGUAGE] = 16,
    [SIPLINE_HDR_CONTENT_LENGTH] = 14,
    [SIPLINE_HDR_CONTENT_TYPE] = 12,
    [SIPLINE_HDR_CSEQ] = 4,
    [SIPLINE_HDR_DATE] = 4,
    [SIPLINE_HDR_ERROR_INFO] = 10,
    [SIPLINE_HDR_EVENT] = 5,
    [SIPLINE_HDR_EXPIRES] = 7,
    [SIPLINE_HDR_FROM] = 4,
    [SIPLINE_HDR_IN_REPLY_TO] = 11,
    [SIPLINE_HDR_MAX_FORWARDS] = 12,
    [SIPLINE_HDR_MIME_VERSION] = 12,
    [SIPLINE_HDR_MIN_EXPIRES] = 11,
    [SIPLINE_HDR_MIN_SE] = 6,
    [SIPLINE_HDR_ORGANIZATION] = 12,
    [SIPLINE_HDR_PRIORITY] = 8,
    [SIPLINE_HDR_PROXY_AUTHENTICATE] = 18,
    [SIPLINE_HDR_PROXY_AUTHORIZATION] = 19,
    [SIPLINE_HDR_PROXY_REQUIRE] = 13,
    [SIPLINE_HDR_RACK] = 4,
    [SIPLINE_HDR_RECORD_ROUTE] = 12,
    [SIPLINE_HDR_REFER_TO] = 8,
    [SIPLINE_HDR_REPLY_TO] = 8,
    [SIPLINE_HDR_REQUIRE] = 7,
    [SIPLINE_HDR_RETRY_AFTER] = 11,
    [SIPLINE_HDR_ROUTE] = 5,
    [SIPLINE_HDR_RSEQ] = 4,
    [SIPLINE_HDR_SERVER] = 6,
    [SIPLINE_HDR_SESSION_EXPIRES] = 15,
    [SIPLINE_HDR_SUBJECT] = 7,
    [SIPLINE_HDR_SUBSCRIPTION_STATE] = 18,
    [SIPLINE_HDR_SUPPORTED] = 9,
    [SIPLINE_HDR_TIMESTAMP] = 9,
    [SIPLINE_HDR_TO] = 2,
    [SIPLINE_HDR_UNSUPPORTED] = 11,
    [SIPLINE_HDR_USER_AGENT] = 10,
    [SIPLINE_HDR_VIA] = 3,
    [SIPLINE_HDR_WARNING] = 7,
    [SIPLINE_HDR_WWW_AUTHENTICATE] = 16,
};

/* The lookup for 1 <= n <= 15 (w as below). */
__attribute__((always_inline)) static inline sipline_hdr_id
sipline__hdr_lookup_short(const uint64_t w[3], size_t n) {
  if (n == 1)
    return sipline__hdr_compact((unsigned char)w[0]);
  const uint64_t k = (w[0] | 0x2020202020202020ull) ^ n;
  const sipline_hdr_id id =
      (sipline_hdr_id)hdr_hash[(k * SIPLINE__HDR_HASH_K) >> 57];
  if (hdr_len[id] != n || !words_eq(id, w, n))
    return SIPLINE_HDR_OTHER;
  return id;
}

/* w holds the name zero-padded to 24 bytes, little-endian. */
__attribute__((always_inline)) static inline sipline_hdr_id
sipline__hdr_lookup_words(const uint64_t w[3],
                                                       size_t n) {
  const unsigned f = (unsigned)(w[0] & 0xff) | 0x20;
  if (n == 1)
    return sipline__hdr_compact((unsigned char)f);
  if (n >= 20 || f < 'a' || f > 'z')
    return SIPLINE_HDR_OTHER;
  const uint8_t *c = hdr_bucket[n][f - 'a'];
  if (c[0] != SIPLINE_HDR_OTHER && words_eq((sipline_hdr_id)c[0], w, n))
    return (sipline_hdr_id)c[0];
  if (c[1] != SIPLINE_HDR_OTHER && words_eq((sipline_hdr_id)c[1], w, n))
    return (sipline_hdr_id)c[1];
  return SIPLINE_HDR_OTHER;
}

#endif
