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
 * names take distinct slots of 128 (the multiplier was found by search).
 * Each slot holds its name's id, length, lower-cased words and case-fold
 * masks (as hdr_words/hdr_masks): one index, no second lookup by id.
 * Generated from hdr_names; test_msg_hdrscan checks every name.
 */
#define SIPLINE__HDR_HASH_K 0x515f1e555ec9a275ull
typedef struct hdr_slot {
  uint64_t w[2], m[2];
  uint8_t id, len;
} hdr_slot;
static const hdr_slot hdr_slots[128] = {
    [1] = {{0x65722d79786f7270ull, 0x0000006572697571ull},
           {0x2020002020202020ull, 0x0000002020202020ull},
           SIPLINE_HDR_PROXY_REQUIRE,
           13}, /* Proxy-Require */
    [3] = {{0x77726f662d78616dull, 0x0000000073647261ull},
           {0x2020202000202020ull, 0x0000000020202020ull},
           SIPLINE_HDR_MAX_FORWARDS,
           12}, /* Max-Forwards */
    [9] = {{0x6f742d7265666572ull, 0x0000000000000000ull},
           {0x2020002020202020ull, 0x0000000000000000ull},
           SIPLINE_HDR_REFER_TO,
           8}, /* Refer-To */
    [11] = {{0x0064692d6c6c6163ull, 0x0000000000000000ull},
            {0x0020200020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_CALL_ID,
            7}, /* Call-ID */
    [12] = {{0x000000746e657665ull, 0x0000000000000000ull},
            {0x0000002020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_EVENT,
            5}, /* Event */
    [13] = {{0x0000000071657363ull, 0x0000000000000000ull},
            {0x0000000020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_CSEQ,
            4}, /* CSeq */
    [14] = {{0x76652d776f6c6c61ull, 0x0000000073746e65ull},
            {0x2020002020202020ull, 0x0000000020202020ull},
            SIPLINE_HDR_ALLOW_EVENTS,
            12}, /* Allow-Events */
    [16] = {{0x000065732d6e696dull, 0x0000000000000000ull},
            {0x0000202000202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_MIN_SE,
            6}, /* Min-SE */
    [18] = {{0x0000006574756f72ull, 0x0000000000000000ull},
            {0x0000002020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_ROUTE,
            5}, /* Route */
    [21] = {{0x66612d7972746572ull, 0x0000000000726574ull},
            {0x2020002020202020ull, 0x0000000000202020ull},
            SIPLINE_HDR_RETRY_AFTER,
            11}, /* Retry-After */
    [23] = {{0x6f742d796c706572ull, 0x0000000000000000ull},
            {0x2020002020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_REPLY_TO,
            8}, /* Reply-To */
    [25] = {{0x0000000000006f74ull, 0x0000000000000000ull},
            {0x0000000000002020ull, 0x0000000000000000ull},
            SIPLINE_HDR_TO,
            2}, /* To */
    [30] = {{0x7265762d656d696dull, 0x000000006e6f6973ull},
            {0x2020200020202020ull, 0x0000000020202020ull},
            SIPLINE_HDR_MIME_VERSION,
            12}, /* MIME-Version */
    [42] = {{0x666e692d6c6c6163ull, 0x000000000000006full},
            {0x2020200020202020ull, 0x0000000000000020ull},
            SIPLINE_HDR_CALL_INFO,
            9}, /* Call-Info */
    [43] = {{0x00676e696e726177ull, 0x0000000000000000ull},
            {0x0020202020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_WARNING,
            7}, /* Warning */
    [45] = {{0x0000000000616976ull, 0x0000000000000000ull},
            {0x0000000000202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_VIA,
            3}, /* Via */
    [49] = {{0x0073657269707865ull, 0x0000000000000000ull},
            {0x0020202020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_EXPIRES,
            7}, /* Expires */
    [54] = {{0x6e692d7472656c61ull, 0x0000000000006f66ull},
            {0x2020002020202020ull, 0x0000000000002020ull},
            SIPLINE_HDR_ALERT_INFO,
            10}, /* Alert-Info */
    [57] = {{0x697078652d6e696dull, 0x0000000000736572ull},
            {0x2020202000202020ull, 0x0000000000202020ull},
            SIPLINE_HDR_MIN_EXPIRES,
            11}, /* Min-Expires */
    [58] = {{0x2d746e65746e6f63ull, 0x0000000065707974ull},
            {0x0020202020202020ull, 0x0000000020202020ull},
            SIPLINE_HDR_CONTENT_TYPE,
            12}, /* Content-Type */
    [64] = {{0x7a69726f68747561ull, 0x0000006e6f697461ull},
            {0x2020202020202020ull, 0x0000002020202020ull},
            SIPLINE_HDR_AUTHORIZATION,
            13}, /* Authorization */
    [65] = {{0x0065726975716572ull, 0x0000000000000000ull},
            {0x0020202020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_REQUIRE,
            7}, /* Require */
    [68] = {{0x6574726f70707573ull, 0x0000000000000064ull},
            {0x2020202020202020ull, 0x0000000000000020ull},
            SIPLINE_HDR_SUPPORTED,
            9}, /* Supported */
    [71] = {{0x617a696e6167726full, 0x000000006e6f6974ull},
            {0x2020202020202020ull, 0x0000000020202020ull},
            SIPLINE_HDR_ORGANIZATION,
            12}, /* Organization */
    [76] = {{0x2d6e6f6973736573ull, 0x0073657269707865ull},
            {0x0020202020202020ull, 0x0020202020202020ull},
            SIPLINE_HDR_SESSION_EXPIRES,
            15}, /* Session-Expires */
    [84] = {{0x6d617473656d6974ull, 0x0000000000000070ull},
            {0x2020202020202020ull, 0x0000000000000020ull},
            SIPLINE_HDR_TIMESTAMP,
            9}, /* Timestamp */
    [85] = {{0x6567612d72657375ull, 0x000000000000746eull},
            {0x2020200020202020ull, 0x0000000000002020ull},
            SIPLINE_HDR_USER_AGENT,
            10}, /* User-Agent */
    [88] = {{0x0000726576726573ull, 0x0000000000000000ull},
            {0x0000202020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_SERVER,
            6}, /* Server */
    [89] = {{0x0000747065636361ull, 0x0000000000000000ull},
            {0x0000202020202020ull, 0x0000000000000000ull},
            SIPLINE_HDR_ACCEPT,
            6}, /* Accept */
    [91] = {{0x652d747065636361ull, 0x00676e69646f636eull},
            {0x2000202020202020ull, 0x0020202020202020ull},
            SIPLINE_HDR_ACCEPT_ENCODING,
            15}, /* Accept-Encoding */
    [92] = {{0x6e692d726f727265ull, 0x0000000000006f66ull},
            {0x2020002020202020ull, 0x0000000000002020ull},
            SIPLINE_HDR_ERROR_INFO,
            10}, /* Error-Info */
    [100] = {{0x797469726f697270ull, 0x0000000000000000ull},
             {0x2020202020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_PRIORITY,
             8}, /* Priority */
    [101] = {{0x726f707075736e75ull, 0x0000000000646574ull},
             {0x2020202020202020ull, 0x0000000000202020ull},
             SIPLINE_HDR_UNSUPPORTED,
             11}, /* Unsupported */
    [104] = {{0x796c7065722d6e69ull, 0x00000000006f742dull},
             {0x2020202020002020ull, 0x0000000000202000ull},
             SIPLINE_HDR_IN_REPLY_TO,
             11}, /* In-Reply-To */
    [105] = {{0x2d746e65746e6f63ull, 0x00006874676e656cull},
             {0x0020202020202020ull, 0x0000202020202020ull},
             SIPLINE_HDR_CONTENT_LENGTH,
             14}, /* Content-Length */
    [111] = {{0x0000000071657372ull, 0x0000000000000000ull},
             {0x0000000020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_RSEQ,
             4}, /* RSeq */
    [112] = {{0x00746361746e6f63ull, 0x0000000000000000ull},
             {0x0020202020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_CONTACT,
             7}, /* Contact */
    [116] = {{0x6c2d747065636361ull, 0x0065676175676e61ull},
             {0x2000202020202020ull, 0x0020202020202020ull},
             SIPLINE_HDR_ACCEPT_LANGUAGE,
             15}, /* Accept-Language */
    [117] = {{0x007463656a627573ull, 0x0000000000000000ull},
             {0x0020202020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_SUBJECT,
             7}, /* Subject */
    [118] = {{0x000000776f6c6c61ull, 0x0000000000000000ull},
             {0x0000002020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_ALLOW,
             5}, /* Allow */
    [121] = {{0x000000006b636172ull, 0x0000000000000000ull},
             {0x0000000020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_RACK,
             4}, /* RAck */
    [122] = {{0x722d64726f636572ull, 0x000000006574756full},
             {0x2000202020202020ull, 0x0000000020202020ull},
             SIPLINE_HDR_RECORD_ROUTE,
             12}, /* Record-Route */
    [123] = {{0x0000000065746164ull, 0x0000000000000000ull},
             {0x0000000020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_DATE,
             4}, /* Date */
    [127] = {{0x000000006d6f7266ull, 0x0000000000000000ull},
             {0x0000000020202020ull, 0x0000000000000000ull},
             SIPLINE_HDR_FROM,
             4}, /* From */
};

/* The lookup for n <= 15 (w as below; w[2] is not read). */
__attribute__((always_inline)) static inline sipline_hdr_id
sipline__hdr_lookup_short(const uint64_t w[3], size_t n) {
  if (n == 1)
    return sipline__hdr_compact((unsigned char)w[0]);
  const uint64_t k = (w[0] | 0x2020202020202020ull) ^ n;
  const hdr_slot *sl = &hdr_slots[(k * SIPLINE__HDR_HASH_K) >> 57];
  if (sl->len != n || (w[0] | sl->m[0]) != sl->w[0] ||
      (w[1] | sl->m[1]) != sl->w[1])
    return SIPLINE_HDR_OTHER;
  return (sipline_hdr_id)sl->id;
}

/* w holds the name zero-padded to 24 bytes, little-endian. */
__attribute__((always_inline)) static inline sipline_hdr_id
sipline__hdr_lookup_words(const uint64_t w[3], size_t n) {
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
