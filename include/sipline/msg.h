/*
 * sipline/msg.h: SIP messages (RFC 3261 §7, §20, §25; RFC 3581).
 *
 * The parser is zero-copy and allocation-free: a sipline_msg holds views into
 * the caller's buffer, which must outlive it. Parsing is two-level:
 *
 *  - sipline_msg_parse() splits the start line and the headers, identifies
 *    every header by full or compact name, and decodes the fields every SIP
 *    element needs (top Via, From, To, Call-ID, CSeq, Max-Forwards,
 *    Content-Length, Content-Type, Expires) and frames the body.
 *  - sipline_msg_validate() checks the grammar of every other known header
 *    (what a UAS must do before acting on a request).
 *
 * Other headers are decoded on demand with the sipline_*_parse() functions,
 * which also return views.
 */
#ifndef SIPLINE_MSG_H
#define SIPLINE_MSG_H

#include "sipline/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sipline_method {
  SIPLINE_METHOD_UNKNOWN = 0, /* an extension method: see method_name */
  SIPLINE_METHOD_INVITE,
  SIPLINE_METHOD_ACK,
  SIPLINE_METHOD_BYE,
  SIPLINE_METHOD_CANCEL,
  SIPLINE_METHOD_REGISTER,
  SIPLINE_METHOD_OPTIONS,
  SIPLINE_METHOD_INFO,
  SIPLINE_METHOD_UPDATE,
  SIPLINE_METHOD_PRACK,
  SIPLINE_METHOD_SUBSCRIBE,
  SIPLINE_METHOD_NOTIFY,
  SIPLINE_METHOD_REFER,
  SIPLINE_METHOD_MESSAGE,
  SIPLINE_METHOD_PUBLISH,
  SIPLINE_METHOD__MAX
} sipline_method;

/* The method's name ("INVITE"), or NULL for UNKNOWN. */
const char *sipline_method_name(sipline_method m);
/* Maps a name (case-sensitive, as RFC 3261 says) to a method. */
sipline_method sipline_method_from(sipline_pl name);

/* Known headers. OTHER is any header the parser keeps but does not know. */
typedef enum sipline_hdr_id {
  SIPLINE_HDR_OTHER = 0,
  SIPLINE_HDR_ACCEPT,
  SIPLINE_HDR_ACCEPT_ENCODING,
  SIPLINE_HDR_ACCEPT_LANGUAGE,
  SIPLINE_HDR_ALERT_INFO,
  SIPLINE_HDR_ALLOW,
  SIPLINE_HDR_ALLOW_EVENTS, /* u */
  SIPLINE_HDR_AUTHENTICATION_INFO,
  SIPLINE_HDR_AUTHORIZATION,
  SIPLINE_HDR_CALL_ID, /* i */
  SIPLINE_HDR_CALL_INFO,
  SIPLINE_HDR_CONTACT, /* m */
  SIPLINE_HDR_CONTENT_DISPOSITION,
  SIPLINE_HDR_CONTENT_ENCODING, /* e */
  SIPLINE_HDR_CONTENT_LANGUAGE,
  SIPLINE_HDR_CONTENT_LENGTH, /* l */
  SIPLINE_HDR_CONTENT_TYPE,   /* c */
  SIPLINE_HDR_CSEQ,
  SIPLINE_HDR_DATE,
  SIPLINE_HDR_ERROR_INFO,
  SIPLINE_HDR_EVENT, /* o */
  SIPLINE_HDR_EXPIRES,
  SIPLINE_HDR_FROM, /* f */
  SIPLINE_HDR_IN_REPLY_TO,
  SIPLINE_HDR_MAX_FORWARDS,
  SIPLINE_HDR_MIME_VERSION,
  SIPLINE_HDR_MIN_EXPIRES,
  SIPLINE_HDR_MIN_SE,
  SIPLINE_HDR_ORGANIZATION,
  SIPLINE_HDR_PRIORITY,
  SIPLINE_HDR_PROXY_AUTHENTICATE,
  SIPLINE_HDR_PROXY_AUTHORIZATION,
  SIPLINE_HDR_PROXY_REQUIRE,
  SIPLINE_HDR_RACK,
  SIPLINE_HDR_RECORD_ROUTE,
  SIPLINE_HDR_REFER_TO, /* r */
  SIPLINE_HDR_REPLY_TO,
  SIPLINE_HDR_REQUIRE,
  SIPLINE_HDR_RETRY_AFTER,
  SIPLINE_HDR_ROUTE,
  SIPLINE_HDR_RSEQ,
  SIPLINE_HDR_SERVER,
  SIPLINE_HDR_SESSION_EXPIRES, /* x */
  SIPLINE_HDR_SUBJECT,         /* s */
  SIPLINE_HDR_SUBSCRIPTION_STATE,
  SIPLINE_HDR_SUPPORTED, /* k */
  SIPLINE_HDR_TIMESTAMP,
  SIPLINE_HDR_TO, /* t */
  SIPLINE_HDR_UNSUPPORTED,
  SIPLINE_HDR_USER_AGENT,
  SIPLINE_HDR_VIA, /* v */
  SIPLINE_HDR_WARNING,
  SIPLINE_HDR_WWW_AUTHENTICATE,
  SIPLINE_HDR__MAX
} sipline_hdr_id;

/* The canonical full name ("Call-ID"), or NULL for OTHER. */
const char *sipline_hdr_name(sipline_hdr_id id);
/* Maps a full or compact name, ignoring case, to an id (OTHER if unknown). */
sipline_hdr_id sipline_hdr_lookup(sipline_pl name);

/*
 * One header line as received. value is trimmed of surrounding whitespace
 * but may still contain folded line breaks (CRLF followed by SP/HTAB), which
 * every sipline_*_parse() function treats as whitespace.
 */
typedef struct sipline_hdr {
  sipline_pl name;
  sipline_pl value;
  sipline_hdr_id id;
} sipline_hdr;

typedef enum sipline_uri_scheme {
  SIPLINE_SCHEME_OTHER = 0, /* an absoluteURI: only scheme and rest kept */
  SIPLINE_SCHEME_SIP,
  SIPLINE_SCHEME_SIPS,
  SIPLINE_SCHEME_TEL,
} sipline_uri_scheme;

/*
 * A URI. For sip/sips every part is split; user and password keep their
 * %-escapes (compare with sipline_uri_user_eq, which unescapes). params is
 * the raw ";a=b;c" run, headers the raw "?h=v&..." run without '?'. For tel,
 * user holds the number and params its parameters. For other schemes only
 * scheme and opaque are set.
 */
typedef struct sipline_uri {
  sipline_uri_scheme scheme_id;
  sipline_pl scheme;
  sipline_pl user;
  sipline_pl password;
  sipline_pl host; /* an IPv6 reference keeps its brackets */
  uint16_t port;   /* 0 when absent */
  uint8_t has_port;
  uint8_t host_is_ipv6;
  sipline_pl params;
  sipline_pl headers;
  sipline_pl opaque; /* everything after "scheme:" */
} sipline_uri;

int sipline_uri_parse(sipline_pl in, sipline_uri *out);

/* name-addr / addr-spec with header parameters (From, To, Contact, Route). */
typedef struct sipline_nameaddr {
  sipline_pl display; /* without quotes; escapes kept */
  sipline_pl uri_raw; /* the URI text, without <> */
  sipline_uri uri;
  sipline_pl params; /* header parameters after the URI, raw ";a=b" run */
  sipline_pl tag;    /* the tag parameter, empty if none */
  uint8_t star;      /* Contact: * */
} sipline_nameaddr;

/* After an error the contents of *out are unspecified (possibly stale). */
int sipline_nameaddr_parse(sipline_pl in, sipline_nameaddr *out);

/* One Via value. */
typedef struct sipline_via {
  sipline_pl protocol;  /* "SIP/2.0" */
  sipline_pl transport; /* "UDP", "TCP", "TLS", ... */
  sipline_pl host;      /* an IPv6 reference keeps its brackets */
  uint16_t port;        /* 0 when absent */
  uint8_t has_port;
  uint8_t has_rport; /* rport present, with or without a value */
  uint16_t rport;    /* its value, 0 when empty */
  sipline_pl branch;
  sipline_pl received;
  sipline_pl maddr;
  sipline_pl params; /* the raw ";..." run */
} sipline_via;

int sipline_via_parse(sipline_pl in, sipline_via *out);

/*
 * Walks a comma-separated header value one element at a time, honouring
 * quoted strings and <...>. *rest starts as the whole value; each call
 * stores the next trimmed element in *item and advances *rest. Returns 1
 * when an element was produced, 0 at the end, SIPLINE_ERR_MALFORMED for an
 * empty element or an unbalanced quote/angle bracket.
 */
int sipline_list_next(sipline_pl *rest, sipline_pl *item);

/*
 * Walk a comma-separated Via (resp. Contact, Route, Record-Route) header
 * value one value at a time, parsing each in the same pass: like
 * sipline_list_next() followed by sipline_via_parse() (resp.
 * sipline_nameaddr_parse()), at the cost of one scan. *rest starts as the
 * whole value. Returns 1 with *out filled, 0 at the end, or
 * SIPLINE_ERR_MALFORMED.
 */
int sipline_via_next(sipline_pl *rest, sipline_via *out);
int sipline_nameaddr_next(sipline_pl *rest, sipline_nameaddr *out);

/*
 * Finds parameter name (case-insensitive) in a raw ";a=b;c" run (a leading
 * ';' is optional). Returns 0 and sets *val (empty for a flag parameter;
 * quotes kept), or SIPLINE_ERR_NOTFOUND.
 */
int sipline_param_get(sipline_pl params, const char *name, sipline_pl *val);

/* Auth challenge/credentials header: scheme and comma-separated params. */
typedef struct sipline_auth_param {
  sipline_pl name;
  sipline_pl value; /* quotes removed; escapes kept */
} sipline_auth_param;

#define SIPLINE_AUTH_MAX_PARAMS 24
typedef struct sipline_auth_hdr {
  sipline_pl scheme; /* "Digest" */
  unsigned n;
  sipline_auth_param p[SIPLINE_AUTH_MAX_PARAMS];
} sipline_auth_hdr;

int sipline_auth_hdr_parse(sipline_pl in, sipline_auth_hdr *out);
/* The value of a parameter by name (case-insensitive); 0 or NOTFOUND. */
int sipline_auth_hdr_get(const sipline_auth_hdr *h, const char *name,
                         sipline_pl *val);

#define SIPLINE_MSG_MAX_HDRS 128

/* Parse modes. */
enum {
  /* The buffer is one whole datagram (UDP): a missing Content-Length means
   * "to the end"; octets past Content-Length are ignored (RFC 3261 §18.3). */
  SIPLINE_PARSE_DATAGRAM = 1u << 0,
  /* The buffer is a stream prefix (TCP/TLS): Content-Length is mandatory and
   * a short buffer gives SIPLINE_ERR_INCOMPLETE. */
  SIPLINE_PARSE_STREAM = 1u << 1,
};

/* Why a message is malformed and what a UAS should do about it. */
typedef struct sipline_msg_error {
  const char *reason; /* a static English phrase, usable as a reason phrase */
  int status;         /* 400, 505, 416, 501, ...; 0 means drop silently */
  sipline_hdr_id hdr; /* the header at fault, OTHER if none */
  size_t offset;      /* byte offset of the fault in the buffer */
} sipline_msg_error;

typedef struct sipline_msg {
  const char *buf; /* the message's first byte */
  size_t len;      /* bytes from buf through the end of the body */

  uint8_t is_request;
  /* request */
  sipline_method method;
  sipline_pl method_name;
  sipline_pl ruri_raw;
  sipline_uri ruri;
  /* response */
  uint16_t status;
  sipline_pl reason;
  sipline_pl version; /* "SIP/2.0" */

  unsigned n_hdrs;
  sipline_hdr hdrs[SIPLINE_MSG_MAX_HDRS];
  /* index + 1 of the first header of each id in hdrs, 0 when absent */
  uint8_t first[SIPLINE_HDR__MAX];
  /* how many header lines of each id */
  uint8_t count[SIPLINE_HDR__MAX];

  /* decoded by sipline_msg_parse() */
  sipline_via via; /* the top Via value */
  unsigned n_via;  /* Via values in all Via lines */
  sipline_nameaddr from;
  sipline_nameaddr to;
  sipline_pl call_id;
  uint32_t cseq;
  sipline_method cseq_method;
  sipline_pl cseq_method_name;
  uint32_t max_forwards; /* valid when has_max_forwards */
  uint8_t has_max_forwards;
  uint8_t has_expires;
  uint32_t expires;      /* valid when has_expires */
  int64_t content_length; /* -1 when absent */
  sipline_pl content_type;
  sipline_pl body;
} sipline_msg;

/*
 * Parses one message from buf. Returns the number of bytes the message
 * occupies (start line through body) on success; SIPLINE_ERR_INCOMPLETE
 * when the buffer holds only a prefix (stream mode); SIPLINE_ERR_MALFORMED
 * with *err filled (err may be NULL); SIPLINE_ERR_TOOBIG with *err filled
 * when there are more than SIPLINE_MSG_MAX_HDRS headers. Leading CRLFs
 * (keep-alives) must be skipped first with sipline_stream_skip_crlf().
 * After a failure, is_request, method_name (NULL unless the request line's
 * method was read), status (0 unless the status line was read), n_hdrs and
 * call_id (0 and NULL unless the header lines were all split) tell how far
 * the parser got; the other fields are unspecified.
 */
ptrdiff_t sipline_msg_parse(sipline_msg *m, const char *buf, size_t len,
                            unsigned flags, sipline_msg_error *err);

/*
 * Checks every known header in a parsed message against its grammar, and the
 * cross-header rules a UAS applies (CSeq method = request method, a single
 * value where the grammar allows one, ...). Returns 0 or
 * SIPLINE_ERR_MALFORMED with *err filled.
 */
int sipline_msg_validate(const sipline_msg *m, sipline_msg_error *err);

/*
 * The checks a UA applies to a well-formed message before acting on it
 * (RFC 3261 §8.2, §8.1.3.3), beyond the grammar sipline_msg_validate()
 * checks. For a request, in this order: the mandatory headers (Via, From,
 * To, Call-ID, CSeq) present, and once (400); Content-Length values agreeing
 * (400); a top Via branch that is more than the bare magic cookie (400); a
 * known method (501); a Request-URI scheme it handles, sip/sips/tel (416);
 * every Require option tag supported (420, not for ACK/CANCEL); for INVITE,
 * UPDATE and PRACK a body type it understands and no Content-Encoding (415);
 * for INVITE an Accept that admits application/sdp (406). For a response:
 * the mandatory headers, and exactly one Via value (RFC 3261 §8.1.3.3,
 * otherwise dropped).
 * Returns 0 when the UA would go on; 1 when it would reject or drop the
 * message, with *err filled: err->status is the response to send, 0 for
 * "drop silently".
 */
typedef struct sipline_msg_uas_opts {
  /* option tags the UA implements, NULL-terminated; NULL: 100rel, timer */
  const char *const *supported;
  /* body types for INVITE/UPDATE/PRACK, NULL-terminated; NULL:
   * application/sdp, multipart/mixed, multipart/alternative */
  const char *const *accept;
} sipline_msg_uas_opts;

int sipline_msg_uas_check(const sipline_msg *m,
                          const sipline_msg_uas_opts *opts,
                          sipline_msg_error *err);

/*
 * Whether a UAS can answer the request at all: a response copies the
 * request's Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2), so without
 * one of them the engine drops the request silently, whatever
 * sipline_msg_uas_check() says of it. 1 or 0.
 */
int sipline_msg_uas_answerable(const sipline_msg *m);

/* The methods the engine serves, as its Allow header lists them. */
#define SIPLINE_MSG_ALLOW                                                      \
  "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, UPDATE, INFO, PRACK"

/*
 * What the engine answers to a request that passed sipline_msg_validate()
 * and sipline_msg_uas_check() (RFC 3261 §8.2.1, §12.2.2, §11). Returns 1
 * when the engine answers it by itself, whatever its state: 200 to OPTIONS
 * (with Allow, Accept, Supported), 405 to a method it knows but does not
 * serve (REGISTER, SUBSCRIBE, REFER, MESSAGE, PUBLISH: it is no registrar
 * nor notifier), 501 to an unknown method, 481 to BYE, UPDATE, INFO or
 * PRACK without a To tag (no dialog can match). Returns 0 when a dialog, a
 * CANCELled transaction, a subscription or the application decides
 * (a To tag, INVITE, NOTIFY, CANCEL, ACK); err->status is then the answer
 * when none of them takes the request (481, 480, 489, 481, 0 = drop).
 * 405 and 501 carry Allow: SIPLINE_MSG_ALLOW (§20.5).
 */
int sipline_msg_uas_answer(const sipline_msg *m, sipline_msg_error *err);

/* The n-th (0-based) header line with this id, or NULL. */
const sipline_hdr *sipline_msg_hdr(const sipline_msg *m, sipline_hdr_id id,
                                   unsigned n);
/* The first header line whose name equals name (ignoring case), or NULL. */
const sipline_hdr *sipline_msg_hdr_by_name(const sipline_msg *m,
                                           const char *name);

/*
 * Stream framing (TCP/TLS, RFC 3261 §18.3, RFC 5626 §4.4.1): how many leading
 * CRLF keep-alive bytes to skip before a message.
 */
size_t sipline_stream_skip_crlf(const char *buf, size_t len);

/*
 * Printing. Appends the message as it would go on the wire, with canonical
 * header names and Content-Length recomputed from the body, into out (size
 * cap). Returns the length written, or SIPLINE_ERR_TOOBIG when cap is too
 * small (nothing useful is written then).
 */
ptrdiff_t sipline_msg_print(const sipline_msg *m, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
