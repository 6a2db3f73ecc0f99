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
