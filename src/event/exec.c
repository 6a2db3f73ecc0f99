/*
 * src/event/exec.c: the CiscoIPPhoneExecute reader (SPEC R19-R20).
 *
 * The body comes from the network, before anything it says is trusted, so
 * the reader is strict and bounded: a size cap before expat sees a byte, no
 * DOCTYPE (hence no entity declarations, internal or external: no billion
 * laughs, no XXE), a depth cap, a cap on every attribute, and at most three
 * ExecuteItem elements. Every refusal carries a reason phrase that says what
 * is wrong, because the sender's operator reads it in their SIP trace.
 */
#include <expat.h>
#include <stdio.h>
#include <string.h>

#include "profile/xml.h"

#include "event/event.h"
#include "sipline/event.h"
#include "util/util.h"

static int set_err(sipline_exec_error *err, int rc, int status, const char *fmt,
                   ...) SIPLINE__PRINTF(4, 5);
static int set_err(sipline_exec_error *err, int rc, int status, const char *fmt,
                   ...) {
  if (err && err->status == 0) {
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    /* A reason phrase may not hold CR or LF (or other controls). */
    for (char *c = err->reason; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = ' ';
  }
  return rc;
}

static int prefix_ci(sipline_pl s, const char *pfx) {
  size_t n = strlen(pfx);
  return s.len >= n && sipline_pl_casecmp_str((sipline_pl){s.p, n}, pfx);
}

/* The phone's own URI schemes (R19: executed at once). */
static const char *const internal_schemes[] = {
    "Dial:", "EditDial:", "Key:", "Init:", "Play:"};

int sipline__exec_url_kind(sipline_pl url) {
  int http = prefix_ci(url, "http://") || prefix_ci(url, "https://");
  int internal = 0;
  for (size_t i = 0; i < SIPLINE__ARRAY_LEN(internal_schemes); i++)
    if (prefix_ci(url, internal_schemes[i]) &&
        url.len > strlen(internal_schemes[i]))
      internal = 1;
  if (!http && !internal)
    return -1;
  if (url.len > SIPLINE_EXEC_MAX_URL)
    return -1;
  for (size_t i = 0; i < url.len; i++) {
    unsigned char c = (unsigned char)url.p[i];
    if (c < 0x20 || c == 0x7f)
      return -1;
    /* A URL has no spaces (they would be %20); a Dial: number may be
     * written with spaces by some servers, so only http(s) is strict. */
    if (http && c == ' ')
      return -1;
  }
  if (http) {
    size_t skip = prefix_ci(url, "https://") ? 8 : 7;
    if (url.len == skip || url.p[skip] == '/' || url.p[skip] == '?' ||
        url.p[skip] == '#')
      return -1; /* no host */
    return 0;
  }
  return 1;
}

/* ---- Content-Type ---- */

typedef enum ctype { CT_BAD = 0, CT_XML, CT_TEXT } ctype;

static ctype content_type(sipline_pl ct) {
  const char *semi = memchr(ct.p ? ct.p : "", ';', ct.len);
  sipline_pl mt = {ct.p, semi ? (size_t)(semi - ct.p) : ct.len};
  mt = sipline_pl_trim(mt);
  if (sipline_pl_casecmp_str(mt, "application/x-cisco-remotecc-request+xml") ||
      sipline_pl_casecmp_str(mt, "text/xml") ||
      sipline_pl_casecmp_str(mt, "application/xml"))
    return CT_XML;
  if (sipline_pl_casecmp_str(mt, "text/plain") ||
      sipline_pl_casecmp_str(mt, "text/html"))
    return CT_TEXT;
  return CT_BAD;
}

/* ---- the XML document ---- */

typedef struct xstate {
  XML_Parser xp;
  sipline_exec *out;
  sipline_exec_error *err;
  int rc;
  unsigned depth;
} xstate;

static void xstop(xstate *s, int rc) {
  if (!s->rc)
    s->rc = rc;
  XML_StopParser(s->xp, XML_FALSE);
}

static void XMLCALL x_start(void *ud, const XML_Char *name,
                            const XML_Char **atts) {
  xstate *s = sipline__xml_ud(ud);
  if (s->rc)
    return;
  s->depth++;
  if (s->depth > SIPLINE_EXEC_MAX_DEPTH) {
    xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                     "XML nested deeper than %u", SIPLINE_EXEC_MAX_DEPTH));
    return;
  }
  /* Every attribute is bounded, whoever it belongs to. */
  for (size_t i = 0; atts[i]; i += 2) {
    if (strlen(atts[i + 1]) > SIPLINE_EXEC_MAX_URL) {
      xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                       "attribute %.40s longer than %u bytes", atts[i],
                       SIPLINE_EXEC_MAX_URL));
      return;
    }
  }
  if (s->depth == 1) {
    if (strcmp(name, "CiscoIPPhoneExecute") != 0)
      xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                       "root element %.40s is not CiscoIPPhoneExecute", name));
    return;
  }
  if (s->depth > 2 || strcmp(name, "ExecuteItem") != 0) {
    xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                     "unexpected element %.40s", name));
    return;
  }
  if (s->out->n >= SIPLINE_EXEC_MAX_ITEMS) {
    xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                     "too many ExecuteItem elements"));
    return;
  }
  const char *url = NULL, *prio = NULL;
  for (size_t i = 0; atts[i]; i += 2) {
    if (strcmp(atts[i], "URL") == 0)
      url = atts[i + 1];
    else if (strcmp(atts[i], "Priority") == 0)
      prio = atts[i + 1];
  }
  if (!url) {
    xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                     "ExecuteItem without URL"));
    return;
  }
  sipline_pl u = sipline_pl_trim(sipline_pl_str(url));
  int kind = sipline__exec_url_kind(u);
  if (kind < 0) {
    xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                     "bad URL in ExecuteItem %u", s->out->n + 1));
    return;
  }
  sipline_exec_item *it = &s->out->items[s->out->n++];
  memcpy(it->url, u.p, u.len);
  it->url[u.len] = '\0';
  it->internal = kind == 1;
  /* R19: 0 is the default and what any unknown value means. */
  it->priority = SIPLINE_EXEC_NOW;
  if (prio) {
    sipline_pl pv = sipline_pl_trim(sipline_pl_str(prio));
    if (pv.len == 1 && pv.p[0] == '1')
      it->priority = SIPLINE_EXEC_WHEN_IDLE;
    else if (pv.len == 1 && pv.p[0] == '2')
      it->priority = SIPLINE_EXEC_IF_IDLE;
  }
}

static void XMLCALL x_end(void *ud, const XML_Char *name) {
  xstate *s = sipline__xml_ud(ud);
  (void)name;
  if (s->depth)
    s->depth--;
}

static void XMLCALL x_text(void *ud, const XML_Char *t, int len) {
  xstate *s = sipline__xml_ud(ud);
  if (s->rc)
    return;
  /* Only layout whitespace between elements is expected; text is not
   * part of the format. */
  for (int i = 0; i < len; i++)
    if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n') {
      xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                       "unexpected text in CiscoIPPhoneExecute"));
      return;
    }
}

static void x_refuse(void *ud, sipline__xml_refusal what, const char *name) {
  xstate *s = ud;
  (void)name;
  xstop(s, set_err(s->err, SIPLINE_ERR_MALFORMED, 400,
                   what == SIPLINE__XML_DOCTYPE
                       ? "DOCTYPE not allowed"
                       : "entity declarations not allowed"));
}

static int parse_xml(sipline_pl body, sipline_exec *out,
                     sipline_exec_error *err, const sipline_mem *mem) {
  xstate s;
  memset(&s, 0, sizeof(s));
  s.out = out;
  s.err = err;
  int rc = 0;
  sipline__xml x;
  if (sipline__xml_open(&x, mem, &s, x_refuse)) {
    rc = SIPLINE_ERR_NOMEM;
    goto done;
  }
  s.xp = x.xp;
  XML_SetElementHandler(s.xp, x_start, x_end);
  XML_SetCharacterDataHandler(s.xp, x_text);
  enum XML_Status st = XML_Parse(s.xp, body.p, (int)body.len, 1);
  if (s.rc) {
    rc = s.rc;
  } else if (st != XML_STATUS_OK) {
    enum XML_Error e = XML_GetErrorCode(s.xp);
    if (e == XML_ERROR_NO_MEMORY)
      rc = SIPLINE_ERR_NOMEM;
    else
      rc =
          set_err(err, SIPLINE_ERR_MALFORMED, 400, "bad XML at line %u: %s",
                  (unsigned)XML_GetCurrentLineNumber(s.xp), XML_ErrorString(e));
  } else if (out->n == 0) {
    rc = set_err(err, SIPLINE_ERR_MALFORMED, 400, "no ExecuteItem element");
  }
done:
  sipline__xml_close(&x);
  return rc;
}

int sipline_exec_parse(sipline_pl content_type_v, sipline_pl body,
                       sipline_exec *out, sipline_exec_error *err,
                       const sipline_mem *mem) {
  if (err)
    memset(err, 0, sizeof(*err));
  if (!out)
    return SIPLINE_ERR_INVAL;
  memset(out, 0, sizeof(*out));
  if (!body.p)
    body.len = 0;
  if (!content_type_v.p)
    content_type_v.len = 0;
  ctype ct = content_type(content_type_v);
  if (ct == CT_BAD)
    return set_err(err, SIPLINE_ERR_UNSUPPORTED, 415,
                   content_type_v.len ? "unsupported Content-Type"
                                      : "missing Content-Type");
  if (body.len > SIPLINE_EXEC_MAX_BODY)
    return set_err(err, SIPLINE_ERR_MALFORMED, 400, "body larger than %u bytes",
                   SIPLINE_EXEC_MAX_BODY);
  sipline_pl t = sipline_pl_trim(body);
  if (t.len == 0)
    return set_err(err, SIPLINE_ERR_MALFORMED, 400, "empty body");
  if (t.p[0] == '<' ||
      (t.len >= 3 && (unsigned char)t.p[0] == 0xEF &&
       (unsigned char)t.p[1] == 0xBB && (unsigned char)t.p[2] == 0xBF))
    return parse_xml(body, out, err, mem);
  /* R19: "when the body is not that document, one trimmed http(s) URL". */
  if (!prefix_ci(t, "http://") && !prefix_ci(t, "https://"))
    return set_err(err, SIPLINE_ERR_MALFORMED, 400,
                   "body is neither CiscoIPPhoneExecute nor an http(s) URL");
  if (t.len > SIPLINE_EXEC_MAX_URL)
    return set_err(err, SIPLINE_ERR_MALFORMED, 400, "URL longer than %u bytes",
                   SIPLINE_EXEC_MAX_URL);
  if (sipline__exec_url_kind(t) != 0)
    return set_err(err, SIPLINE_ERR_MALFORMED, 400, "bad URL");
  out->n = 1;
  out->bare_url = 1;
  memcpy(out->items[0].url, t.p, t.len);
  out->items[0].url[t.len] = '\0';
  out->items[0].priority = SIPLINE_EXEC_NOW;
  out->items[0].internal = 0;
  return 0;
}
