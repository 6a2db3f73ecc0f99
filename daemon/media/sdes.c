/*
 * The SDES crypto attribute (RFC 4568 §9.1) for the one suite we offer and
 * accept, AES_CM_128_HMAC_SHA1_80. Base64 is OpenSSL's (EVP_EncodeBlock /
 * EVP_DecodeBlock), which the daemon links anyway.
 */
#include "rtp.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

static const char suite[] = "AES_CM_128_HMAC_SHA1_80";

static bool is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

int sm_sdes_parse(const char *s, size_t n, sm_sdes *out) {
  const char *e = s + n;
  static const char pfx[] = "a=crypto:";
  if (n >= sizeof pfx - 1 && memcmp(s, pfx, sizeof pfx - 1) == 0)
    s += sizeof pfx - 1;
  /* tag: 1*9DIGIT */
  unsigned long tag = 0;
  const char *t = s;
  while (s < e && *s >= '0' && *s <= '9' && s - t < 9)
    tag = tag * 10 + (unsigned)(*s++ - '0');
  if (s == t || s >= e || *s != ' ')
    return SIPLINE_ERR_MALFORMED;
  while (s < e && *s == ' ')
    s++;
  const char *cs = s;
  while (s < e && *s != ' ')
    s++;
  if ((size_t)(s - cs) != sizeof suite - 1 ||
      memcmp(cs, suite, sizeof suite - 1) != 0)
    return s == cs ? SIPLINE_ERR_MALFORMED : SIPLINE_ERR_UNSUPPORTED;
  while (s < e && *s == ' ')
    s++;
  static const char inl[] = "inline:";
  if ((size_t)(e - s) < sizeof inl - 1 || memcmp(s, inl, sizeof inl - 1))
    return SIPLINE_ERR_MALFORMED;
  s += sizeof inl - 1;
  const char *k = s;
  while (s < e && is_b64(*s))
    s++;
  if (s - k != SM_SDES_B64)
    return SIPLINE_ERR_MALFORMED;
  uint8_t buf[SM_SDES_B64];
  /* EVP_DecodeBlock keeps the '=' padding as zero bytes: 40 characters of
   * a 30-byte key have no padding, so all 30 output bytes are the key. */
  if (memchr(k, '=', SM_SDES_B64) ||
      EVP_DecodeBlock(buf, (const unsigned char *)k, SM_SDES_B64) != 30)
    return SIPLINE_ERR_MALFORMED;
  /* Optional "|lifetime" (2^n or decimal) then "|MKI:length". */
  bool had_life = false;
  while (s < e && *s == '|') {
    const char *f = ++s;
    while (s < e && *s != '|' && *s != ' ' && *s != ';' && *s != '\r' &&
           *s != '\n')
      s++;
    if (s == f)
      return SIPLINE_ERR_MALFORMED;
    if (memchr(f, ':', (size_t)(s - f)))
      return SIPLINE_ERR_UNSUPPORTED; /* an MKI: we send none, expect none */
    if (had_life)
      return SIPLINE_ERR_MALFORMED;
    had_life = true;
    for (const char *q = f; q < s; q++)
      if (!((*q >= '0' && *q <= '9') || *q == '^'))
        return SIPLINE_ERR_MALFORMED;
  }
  if (s < e && *s == ';')
    return SIPLINE_ERR_UNSUPPORTED; /* several keys */
  while (s < e && (*s == ' ' || *s == '\r' || *s == '\n'))
    s++;
  if (s < e)
    return SIPLINE_ERR_UNSUPPORTED; /* session parameters */
  out->tag = (unsigned)tag;
  memcpy(out->key, buf, SM_SRTP_KEYLEN);
  return 0;
}

int sm_sdes_print(char *out, size_t cap, const sm_sdes *in) {
  char b64[SM_SDES_B64 + 1];
  EVP_EncodeBlock((unsigned char *)b64, in->key, SM_SRTP_KEYLEN);
  int n = snprintf(out, cap, "%u %s inline:%s", in->tag, suite, b64);
  if (n < 0 || (size_t)n >= cap)
    return SIPLINE_ERR_TOOBIG;
  return n;
}
