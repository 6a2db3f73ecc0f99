/*
 * Our parser: sipline_msg_parse (which already decodes the top Via, From,
 * To, Call-ID, CSeq, Content-Length), then sipline_via_next on every other
 * Via value and sipline_nameaddr_next on every Contact value (list walk and
 * full parse in one pass). No allocation: the message struct is reused.
 */
#include "bench.h"

#include "sipline/msg.h"

static sipline_msg m;

static int init(void) {
  return 0;
}

static int parse(char *buf, size_t len, bench_fields *f) {
  if (sipline_msg_parse(&m, buf, len, SIPLINE_PARSE_DATAGRAM, NULL) < 0)
    return -1;
  if (m.is_request) {
    BSTR(f, start, m.method_name.p, m.method_name.len);
    BSTR(f, ruri_host, m.ruri.host.p, m.ruri.host.len);
  } else if (f) {
    f->start[0] = (char)('0' + m.status / 100);
    f->start[1] = (char)('0' + m.status / 10 % 10);
    f->start[2] = (char)('0' + m.status % 10);
    f->start[3] = '\0';
  } else {
    bench_sink += m.status;
  }
  int nvia = 0, ncontact = 0;
  /* Walk only the Via lines, then only the Contact lines, each from the
   * parser's index (the first line of an id, and how many there are). */
  /* As many Via values as Via lines: one value a line, no list walk. */
  const int via_single = m.n_via == m.count[SIPLINE_HDR_VIA];
  unsigned left = m.count[SIPLINE_HDR_VIA];
  for (unsigned i = m.first[SIPLINE_HDR_VIA] - 1u; left > 0 && i < m.n_hdrs;
       i++) {
    const sipline_hdr *h = &m.hdrs[i];
    if (h->id != SIPLINE_HDR_VIA)
      continue;
    left--;
    sipline_pl rest = h->value;
    sipline_via v;
    int r;
    if (nvia == 0) {
      /* the top value, decoded by the parser */
      BSTR(f, via0_host, m.via.host.p, m.via.host.len);
      BNUM(f, via0_port, m.via.port);
      BSTR(f, via0_branch, m.via.branch.p, m.via.branch.len);
      nvia++;
      if (via_single || memchr(rest.p, ',', rest.len) == NULL)
        continue;
      if (sipline_via_next(&rest, &v) != 1) /* skip the top value */
        return -1;
    }
    if (via_single) {
      if (sipline_via_parse(rest, &v) != 0)
        return -1;
      bench_sink += (uintptr_t)v.host.p + v.port + (uintptr_t)v.branch.p;
      nvia++;
      continue;
    }
    while ((r = sipline_via_next(&rest, &v)) == 1) {
      bench_sink += (uintptr_t)v.host.p + v.port + (uintptr_t)v.branch.p;
      nvia++;
    }
    if (r < 0)
      return -1;
  }
  left = m.count[SIPLINE_HDR_CONTACT];
  for (unsigned i = m.first[SIPLINE_HDR_CONTACT] - 1u; left > 0 && i < m.n_hdrs;
       i++) {
    const sipline_hdr *h = &m.hdrs[i];
    if (h->id != SIPLINE_HDR_CONTACT)
      continue;
    left--;
    sipline_pl rest = h->value;
    sipline_nameaddr na;
    int r;
    while ((r = sipline_nameaddr_next(&rest, &na)) == 1) {
      if (ncontact == 0)
        BSTR(f, contact_host, na.uri.host.p, na.uri.host.len);
      else
        bench_sink += (uintptr_t)na.uri.host.p;
      ncontact++;
    }
    if (r < 0)
      return -1;
  }
  BNUM(f, nvia, nvia);
  BNUM(f, ncontact, ncontact);
  if (!m.first[SIPLINE_HDR_FROM] || !m.first[SIPLINE_HDR_TO] ||
      !m.first[SIPLINE_HDR_CALL_ID] || !m.first[SIPLINE_HDR_CSEQ])
    return -1;
  BSTR(f, from_host, m.from.uri.host.p, m.from.uri.host.len);
  BSTR(f, from_tag, m.from.tag.p, m.from.tag.len);
  BSTR(f, to_host, m.to.uri.host.p, m.to.uri.host.len);
  BSTR(f, to_tag, m.to.tag.p, m.to.tag.len);
  BSTR(f, callid, m.call_id.p, m.call_id.len);
  BNUM(f, cseq, m.cseq);
  BSTR(f, cseq_method, m.cseq_method_name.p, m.cseq_method_name.len);
  BNUM(f, clen, (long)m.content_length);
  BNUM(f, body_len, m.body.len);
  if (m.body.len) {
    BNUM(f, body_first, (unsigned char)m.body.p[0]);
    BNUM(f, body_last, (unsigned char)m.body.p[m.body.len - 1]);
  }
  return 0;
}

const bench_stack bench_sipline = {"sipline", init, parse};
