/*
 * src/msg/validate.c: the grammar of every known header (RFC 3261 §25 and
 * the extension RFCs) and the cross-header checks a UAS applies.
 */
#include "msg/msg.h"

static int bad(const sipline_msg *m, sipline_msg_error *err,
               const char *reason, int status, sipline_hdr_id hdr,
               const char *at) {
  if (err) {
    err->reason = reason;
    err->status = m->is_request ? status : 0;
    err->hdr = hdr;
    err->offset = at && at >= m->buf ? (size_t)(at - m->buf) : 0;
  }
  return SIPLINE_ERR_MALFORMED;
}

int sipline_msg_validate(const sipline_msg *m, sipline_msg_error *err) {
  if (m->is_request && m->cseq_method_name.len &&
      !sipline_pl_eq(m->cseq_method_name, m->method_name))
    return bad(m, err, "CSeq method does not match the request", 400,
               SIPLINE_HDR_CSEQ, m->cseq_method_name.p);
  return 0;
}
