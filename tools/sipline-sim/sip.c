/*
 * tools/sipline-sim/sip.c: the simulated proxies' side of SIP.
 *
 * Deliberately independent of the library's parser and digest code: the
 * simulator checks the core against a second, small implementation, so a
 * bug in the core's parser cannot hide itself by agreeing with the server.
 * It only needs what a registrar answering a well-behaved UA needs: the
 * start line, the headers a response copies, Expires/Contact, and the digest
 * Authorization header.
 */
#include "sip.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

static int ci_eq(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  if (an != bn)
    return 0;
  for (size_t i = 0; i < an; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
      return 0;
  return 1;
}

static spl trim(spl v) {
  while (v.len && (*v.p == ' ' || *v.p == '\t')) {
    v.p++;
    v.len--;
  }
  while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t' ||
                   v.p[v.len - 1] == '\r'))
    v.len--;
  return v;
}

/* Finds the end of a message's header block; 0 when incomplete. */
size_t ssip_frame(const char *p, size_t n) {
  const char *e = NULL;
  for (size_t i = 0; i + 3 < n; i++)
    if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
        p[i + 3] == '\n') {
      e = p + i + 4;
      break;
    }
  if (!e)
    return 0;
  size_t hl = (size_t)(e - p);
  size_t clen = 0;
  /* Content-Length (or l): a stream message without it has no body. */
  const char *q = p;
  while (q < e) {
    const char *nl = memchr(q, '\n', (size_t)(e - q));
    if (!nl)
      break;
    const char *colon = memchr(q, ':', (size_t)(nl - q));
    if (colon) {
      spl name = trim((spl){q, (size_t)(colon - q)});
      if (ci_eq(name.p, name.len, "Content-Length") ||
          ci_eq(name.p, name.len, "l"))
        clen = (size_t)strtoul(colon + 1, NULL, 10);
    }
    q = nl + 1;
  }
  if (hl + clen > n)
    return 0;
  return hl + clen;
}

int ssip_parse(ssip_msg *m, const char *p, size_t n) {
  memset(m, 0, sizeof(*m));
  const char *end = p + n;
  const char *nl = memchr(p, '\n', n);
  if (!nl)
    return -1;
  spl first = trim((spl){p, (size_t)(nl - p)});
  if (first.len > 8 && memcmp(first.p, "SIP/2.0 ", 8) == 0) {
    m->is_req = 0;
    m->status = atoi(first.p + 8);
  } else {
    const char *sp = memchr(first.p, ' ', first.len);
    if (!sp)
      return -1;
    m->is_req = 1;
    m->method = (spl){first.p, (size_t)(sp - first.p)};
    const char *sp2 = memchr(sp + 1, ' ', (size_t)(first.p + first.len -
                                                   (sp + 1)));
    if (!sp2)
      return -1;
    m->ruri = (spl){sp + 1, (size_t)(sp2 - sp - 1)};
  }
  const char *q = nl + 1;
  size_t clen = 0;
  int have_clen = 0;
  for (;;) {
    if (q >= end)
      return -1;
    nl = memchr(q, '\n', (size_t)(end - q));
    if (!nl)
      return -1;
    spl line = trim((spl){q, (size_t)(nl - q)});
    q = nl + 1;
    if (line.len == 0)
      break;
    const char *colon = memchr(line.p, ':', line.len);
    if (!colon)
      return -1;
    spl name = trim((spl){line.p, (size_t)(colon - line.p)});
    spl val = trim((spl){colon + 1, (size_t)(line.p + line.len - colon - 1)});
    if (ci_eq(name.p, name.len, "Via") || ci_eq(name.p, name.len, "v")) {
      if (m->n_via < SSIP_MAX_VIA)
        m->via[m->n_via++] = val;
    } else if (ci_eq(name.p, name.len, "From") ||
               ci_eq(name.p, name.len, "f")) {
      m->from = val;
    } else if (ci_eq(name.p, name.len, "To") ||
               ci_eq(name.p, name.len, "t")) {
      m->to = val;
    } else if (ci_eq(name.p, name.len, "Call-ID") ||
               ci_eq(name.p, name.len, "i")) {
      m->call_id = val;
    } else if (ci_eq(name.p, name.len, "CSeq")) {
      m->cseq = val;
      m->cseq_n = (unsigned)strtoul(val.p, NULL, 10);
    } else if (ci_eq(name.p, name.len, "Contact") ||
               ci_eq(name.p, name.len, "m")) {
      if (!m->contact.p)
        m->contact = val;
    } else if (ci_eq(name.p, name.len, "Expires")) {
      m->has_expires = 1;
      m->expires = (uint32_t)strtoul(val.p, NULL, 10);
    } else if (ci_eq(name.p, name.len, "Authorization") ||
               ci_eq(name.p, name.len, "Proxy-Authorization")) {
      m->auth = val;
    } else if (ci_eq(name.p, name.len, "Content-Length") ||
               ci_eq(name.p, name.len, "l")) {
      have_clen = 1;
      clen = (size_t)strtoul(val.p, NULL, 10);
    }
  }
  size_t rest = (size_t)(end - q);
  m->body = (spl){q, have_clen && clen < rest ? clen : rest};
  return 0;
}

int ssip_contact_expires(const ssip_msg *m, uint32_t *out) {
  const char *p = m->contact.p;
  size_t n = m->contact.len;
  if (!p)
    return 0;
  /* Parameters follow the URI's closing '>' (or the URI when not bracketed). */
  const char *gt = memchr(p, '>', n);
  const char *s = gt ? gt + 1 : p;
  const char *e = p + n;
  while (s < e) {
    const char *semi = memchr(s, ';', (size_t)(e - s));
    if (!semi)
      break;
    s = semi + 1;
    while (s < e && *s == ' ')
      s++;
    if ((size_t)(e - s) > 8 && strncasecmp(s, "expires=", 8) == 0) {
      *out = (uint32_t)strtoul(s + 8, NULL, 10);
      return 1;
    }
  }
  return 0;
}

spl ssip_contact_uri(const ssip_msg *m) {
  spl c = m->contact;
  if (!c.p)
    return c;
  const char *lt = memchr(c.p, '<', c.len);
  if (lt) {
    const char *gt = memchr(lt, '>', (size_t)(c.p + c.len - lt));
    if (gt)
      return (spl){lt, (size_t)(gt - lt + 1)};
  }
  const char *semi = memchr(c.p, ';', c.len);
  return semi ? (spl){c.p, (size_t)(semi - c.p)} : c;
}

spl ssip_uri_user(spl hdr) {
  const char *p = hdr.p, *e = hdr.p + hdr.len;
  for (const char *s = p; s + 4 <= e; s++) {
    if (strncasecmp(s, "sip:", 4) == 0 || (s + 5 <= e &&
                                            strncasecmp(s, "sips:", 5) == 0)) {
      s += s[3] == ':' ? 4 : 5;
      const char *u = s;
      while (s < e && *s != '@' && *s != '>' && *s != ';')
        s++;
      if (s < e && *s == '@')
        return (spl){u, (size_t)(s - u)};
      return (spl){NULL, 0};
    }
  }
  return (spl){NULL, 0};
}

int ssip_has_tag(spl to) {
  const char *gt = memchr(to.p, '>', to.len);
  const char *s = gt ? gt : to.p;
  size_t n = (size_t)(to.p + to.len - s);
  for (size_t i = 0; i + 4 <= n; i++)
    if (strncasecmp(s + i, "tag=", 4) == 0 && i > 0 && s[i - 1] == ';')
      return 1;
    else if (strncasecmp(s + i, "tag=", 4) == 0 && i > 0 &&
             (s[i - 1] == ' ' || s[i - 1] == '\t'))
      return 1;
  return 0;
}

/* Gets one parameter of a Digest credentials header, unquoted. */
int ssip_auth_param(spl auth, const char *name, spl *out) {
  const char *p = auth.p, *e = auth.p + auth.len;
  if (auth.len >= 6 && strncasecmp(p, "Digest", 6) == 0)
    p += 6;
  size_t nl = strlen(name);
  while (p < e) {
    while (p < e && (*p == ' ' || *p == ',' || *p == '\t'))
      p++;
    const char *k = p;
    while (p < e && *p != '=' && *p != ',')
      p++;
    spl key = trim((spl){k, (size_t)(p - k)});
    if (p >= e || *p != '=')
      continue;
    p++;
    while (p < e && *p == ' ')
      p++;
    spl v;
    if (p < e && *p == '"') {
      const char *s = ++p;
      while (p < e && *p != '"') {
        if (*p == '\\' && p + 1 < e)
          p++;
        p++;
      }
      v = (spl){s, (size_t)(p - s)};
      if (p < e)
        p++;
    } else {
      const char *s = p;
      while (p < e && *p != ',')
        p++;
      v = trim((spl){s, (size_t)(p - s)});
    }
    if (key.len == nl && strncasecmp(key.p, name, nl) == 0) {
      *out = v;
      return 1;
    }
  }
  return 0;
}

static void hexdigest(const EVP_MD *md, const char *s, size_t n, char *out) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  EVP_Digest(s, n, d, &dl, md, NULL);
  for (unsigned i = 0; i < dl; i++)
    sprintf(out + 2 * i, "%02x", d[i]);
  out[2 * dl] = 0;
}

static void hashf(const EVP_MD *md, char *out, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof buf)
    n = 0;
  hexdigest(md, buf, (size_t)n, out);
}

int ssip_digest_ok(spl auth, spl method, const char *password) {
  spl user, realm, nonce, uri, resp, qop = {0}, nc = {0}, cnonce = {0},
                                     alg = {0};
  if (!ssip_auth_param(auth, "username", &user) ||
      !ssip_auth_param(auth, "realm", &realm) ||
      !ssip_auth_param(auth, "nonce", &nonce) ||
      !ssip_auth_param(auth, "uri", &uri) ||
      !ssip_auth_param(auth, "response", &resp))
    return 0;
  ssip_auth_param(auth, "qop", &qop);
  ssip_auth_param(auth, "nc", &nc);
  ssip_auth_param(auth, "cnonce", &cnonce);
  const EVP_MD *md = EVP_md5();
  if (ssip_auth_param(auth, "algorithm", &alg) && alg.len == 7 &&
      strncasecmp(alg.p, "SHA-256", 7) == 0)
    md = EVP_sha256();
  char ha1[2 * EVP_MAX_MD_SIZE + 1], ha2[2 * EVP_MAX_MD_SIZE + 1],
      want[2 * EVP_MAX_MD_SIZE + 1];
  hashf(md, ha1, "%.*s:%.*s:%s", (int)user.len, user.p, (int)realm.len,
        realm.p, password);
  hashf(md, ha2, "%.*s:%.*s", (int)method.len, method.p, (int)uri.len, uri.p);
  if (qop.p)
    hashf(md, want, "%s:%.*s:%.*s:%.*s:%.*s:%s", ha1, (int)nonce.len, nonce.p,
          (int)nc.len, nc.p, (int)cnonce.len, cnonce.p, (int)qop.len, qop.p,
          ha2);
  else
    hashf(md, want, "%s:%.*s:%s", ha1, (int)nonce.len, nonce.p, ha2);
  return strlen(want) == resp.len && strncasecmp(want, resp.p, resp.len) == 0;
}

const char *ssip_reason(int code) {
  switch (code) {
  case 100: return "Trying";
  case 180: return "Ringing";
  case 200: return "OK";
  case 202: return "Accepted";
  case 302: return "Moved Temporarily";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 407: return "Proxy Authentication Required";
  case 408: return "Request Timeout";
  case 423: return "Interval Too Brief";
  case 480: return "Temporarily Unavailable";
  case 481: return "Call/Transaction Does Not Exist";
  case 486: return "Busy Here";
  case 487: return "Request Terminated";
  case 500: return "Server Internal Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Server Time-out";
  case 600: return "Busy Everywhere";
  case 603: return "Decline";
  default: return "Simulated";
  }
}
