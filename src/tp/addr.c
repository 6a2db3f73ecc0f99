/*
 * src/tp/addr.c: IPv4/IPv6 address literals with a port (sipline_addr).
 * Written by hand because the core is plain C11 (no inet_pton), and kept
 * strict: a host name is not an address.
 */
#include <stdio.h>
#include <string.h>

#include "tp.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Dotted quad, exactly four decimal parts of at most 3 digits, each <= 255. */
static int parse_v4(const char *s, size_t len, uint8_t out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part) {
      if (i >= len || s[i] != '.')
        return SIPLINE_ERR_MALFORMED;
      i++;
    }
    unsigned v = 0, nd = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 4) {
      v = v * 10 + (unsigned)(s[i] - '0');
      i++;
      nd++;
    }
    if (nd == 0 || nd > 3 || v > 255)
      return SIPLINE_ERR_MALFORMED;
    out[part] = (uint8_t)v;
  }
  return i == len ? 0 : SIPLINE_ERR_MALFORMED;
}

/* RFC 4291 §2.2 text forms, including "::" and a trailing dotted quad. */
static int parse_v6(const char *s, size_t len, uint8_t out[16]) {
  uint16_t w[8] = {0};
  int n = 0, gap = -1;
  size_t i = 0;
  if (len >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
    if (i == len)
      goto done;
  } else if (len && s[0] == ':') {
    return SIPLINE_ERR_MALFORMED;
  }
  for (;;) {
    size_t start = i;
    unsigned v = 0;
    int nd = 0;
    while (i < len && hexval(s[i]) >= 0 && nd < 5) {
      v = v * 16 + (unsigned)hexval(s[i]);
      i++;
      nd++;
    }
    if (i < len && s[i] == '.') {
      /* embedded IPv4 in the last 32 bits */
      if (n > 6)
        return SIPLINE_ERR_MALFORMED;
      uint8_t v4[4];
      if (parse_v4(s + start, len - start, v4))
        return SIPLINE_ERR_MALFORMED;
      w[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
      w[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
      i = len;
      break;
    }
    if (nd == 0 || nd > 4 || n >= 8)
      return SIPLINE_ERR_MALFORMED;
    w[n++] = (uint16_t)v;
    if (i == len)
      break;
    if (s[i] != ':')
      return SIPLINE_ERR_MALFORMED;
    i++;
    if (i < len && s[i] == ':') {
      if (gap >= 0)
        return SIPLINE_ERR_MALFORMED;
      gap = n;
      i++;
      if (i == len)
        break;
    } else if (i == len) {
      return SIPLINE_ERR_MALFORMED;
    }
  }
done:
  if (gap < 0 && n != 8)
    return SIPLINE_ERR_MALFORMED;
  if (gap >= 0) {
    if (n > 7)
      return SIPLINE_ERR_MALFORMED;
    int tail = n - gap;
    uint16_t t[8];
    memcpy(t, w, sizeof(t));
    memset(w, 0, sizeof(w));
    for (int k = 0; k < gap; k++)
      w[k] = t[k];
    for (int k = 0; k < tail; k++)
      w[8 - tail + k] = t[gap + k];
  }
  for (int k = 0; k < 8; k++) {
    out[2 * k] = (uint8_t)(w[k] >> 8);
    out[2 * k + 1] = (uint8_t)w[k];
  }
  return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *port) {
  if (len == 0 || len > 5)
    return SIPLINE_ERR_MALFORMED;
  unsigned v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return SIPLINE_ERR_MALFORMED;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > 65535)
    return SIPLINE_ERR_MALFORMED;
  *port = (uint16_t)v;
  return 0;
}

int sipline_addr_parse(const char *s, size_t len, sipline_addr *out) {
  if (!s || !out)
    return SIPLINE_ERR_INVAL;
  sipline_addr a;
  memset(&a, 0, sizeof(a));
  if (len && s[0] == '[') {
    const char *close = memchr(s, ']', len);
    if (!close)
      return SIPLINE_ERR_MALFORMED;
    size_t hl = (size_t)(close - s) - 1;
    if (parse_v6(s + 1, hl, a.ip))
      return SIPLINE_ERR_MALFORMED;
    a.family = 6;
    size_t rest = len - hl - 2;
    if (rest) {
      if (close[1] != ':' || parse_port(close + 2, rest - 1, &a.port))
        return SIPLINE_ERR_MALFORMED;
    }
    *out = a;
    return 0;
  }
  const char *colon = memchr(s, ':', len);
  if (colon && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1)) {
    /* two colons or more: a bare IPv6 literal without a port */
    if (parse_v6(s, len, a.ip))
      return SIPLINE_ERR_MALFORMED;
    a.family = 6;
    *out = a;
    return 0;
  }
  size_t hl = colon ? (size_t)(colon - s) : len;
  if (parse_v4(s, hl, a.ip))
    return SIPLINE_ERR_MALFORMED;
  a.family = 4;
  if (colon && parse_port(colon + 1, len - hl - 1, &a.port))
    return SIPLINE_ERR_MALFORMED;
  *out = a;
  return 0;
}

/* RFC 5952: lower case, the longest run (>= 2) of zero words as "::". */
static size_t format_v6(const uint8_t ip[16], char *out, size_t cap) {
  uint16_t w[8];
  for (int k = 0; k < 8; k++)
    w[k] = (uint16_t)(ip[2 * k] << 8 | ip[2 * k + 1]);
  int best = -1, best_len = 0;
  for (int k = 0; k < 8;) {
    if (w[k]) {
      k++;
      continue;
    }
    int j = k;
    while (j < 8 && !w[j])
      j++;
    if (j - k > best_len && j - k >= 2) {
      best = k;
      best_len = j - k;
    }
    k = j;
  }
  char tmp[48];
  size_t n = 0;
  for (int k = 0; k < 8; k++) {
    if (k == best) {
      tmp[n++] = ':';
      if (k == 0)
        tmp[n++] = ':';
      k += best_len - 1;
      continue;
    }
    n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%x", w[k]);
    if (k < 7)
      tmp[n++] = ':';
  }
  tmp[n] = 0;
  if (n + 1 > cap)
    return n;
  memcpy(out, tmp, n + 1);
  return n;
}

int sipline__addr_format_ip(const sipline_addr *a, char *out, size_t cap) {
  if (!a || !out || !cap)
    return SIPLINE_ERR_INVAL;
  size_t n;
  if (a->family == 4) {
    int r = snprintf(out, cap, "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2],
                     a->ip[3]);
    n = r < 0 ? cap : (size_t)r;
  } else if (a->family == 6) {
    n = format_v6(a->ip, out, cap);
  } else {
    out[0] = 0;
    return SIPLINE_ERR_INVAL;
  }
  if (n >= cap) {
    out[0] = 0;
    return SIPLINE_ERR_TOOBIG;
  }
  return (int)n;
}

int sipline_addr_format(const sipline_addr *a, char *out, size_t cap) {
  if (!a || !out || !cap)
    return SIPLINE_ERR_INVAL;
  char ip[48];
  int r = sipline__addr_format_ip(a, ip, sizeof(ip));
  if (r < 0) {
    out[0] = 0;
    return r;
  }
  int n;
  if (a->family == 6)
    n = a->port ? snprintf(out, cap, "[%s]:%u", ip, a->port)
                : snprintf(out, cap, "[%s]", ip);
  else
    n = a->port ? snprintf(out, cap, "%s:%u", ip, a->port)
                : snprintf(out, cap, "%s", ip);
  if (n < 0 || (size_t)n >= cap) {
    out[0] = 0;
    return SIPLINE_ERR_TOOBIG;
  }
  return n;
}

int sipline_addr_eq(const sipline_addr *a, const sipline_addr *b) {
  if (!a || !b || a->family != b->family || a->port != b->port)
    return 0;
  size_t n = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
  return memcmp(a->ip, b->ip, n) == 0;
}

int sipline__addr_ip_eq(const sipline_addr *a, const sipline_addr *b) {
  if (a->family != b->family)
    return 0;
  size_t n = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
  return memcmp(a->ip, b->ip, n) == 0;
}

/* A Via/URI host (IPv6 keeps its brackets) as an address; port left 0. */
int sipline__addr_from_host(sipline_pl host, sipline_addr *out) {
  if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']') {
    memset(out, 0, sizeof(*out));
    if (parse_v6(host.p + 1, host.len - 2, out->ip))
      return SIPLINE_ERR_MALFORMED;
    out->family = 6;
    return 0;
  }
  memset(out, 0, sizeof(*out));
  if (memchr(host.p, ':', host.len)) {
    if (parse_v6(host.p, host.len, out->ip))
      return SIPLINE_ERR_MALFORMED;
    out->family = 6;
    return 0;
  }
  if (parse_v4(host.p, host.len, out->ip))
    return SIPLINE_ERR_MALFORMED;
  out->family = 4;
  return 0;
}

int sipline__ip_parse(const char *s, size_t len, sipline_addr *out) {
  sipline_addr a;
  if (!s || !len || sipline__addr_from_host((sipline_pl){s, len}, &a))
    return SIPLINE_ERR_MALFORMED;
  if (out)
    *out = a;
  return 0;
}

void sipline__addr_name(const sipline_addr *a, char *out, size_t cap) {
  char ip[48];
  if (!cap)
    return;
  if (sipline__addr_format_ip(a, ip, sizeof(ip)) < 0)
    snprintf(out, cap, "?:%u", a->port);
  else if (a->family == 6)
    snprintf(out, cap, "[%s]:%u", ip, a->port);
  else
    snprintf(out, cap, "%s:%u", ip, a->port);
}
