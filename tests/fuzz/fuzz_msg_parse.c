/*
 * libFuzzer target for the message layer: the input goes through
 * sipline_msg_parse as a datagram and as a stream (whole, and split at a
 * point chosen by the first byte, after the keep-alive skip), then
 * sipline_msg_validate, sipline_msg_uas_check and the printer (whose output
 * must parse again to the same body), and every sub-parser on every header
 * value. Sanitizers catch the rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sipline/msg.h"

/*
 * The message layer's sources are compiled into this file so that they get
 * the fuzzer's coverage instrumentation (the layer libraries are built
 * without -fsanitize=fuzzer-no-link); the linker then takes nothing from
 * sipline_msg. Keep the order: print.c declares a file-scope type "out".
 */
#include "../../src/msg/names.c"
#include "../../src/msg/parse.c"
#include "../../src/msg/print.c"
#include "../../src/msg/uri.c"
#include "../../src/msg/validate.c"

static sipline_msg m, m2;

static void sub_parsers(const sipline_msg *msg) {
  for (unsigned i = 0; i < msg->n_hdrs; i++) {
    const sipline_pl v = msg->hdrs[i].value;
    sipline_pl rest = v, item, val;
    sipline_via via;
    sipline_nameaddr na;
    sipline_uri u;
    sipline_auth_hdr a;
    (void)sipline_via_parse(v, &via);
    (void)sipline_nameaddr_parse(v, &na);
    (void)sipline_uri_parse(v, &u);
    if (sipline_auth_hdr_parse(v, &a) == 0)
      (void)sipline_auth_hdr_get(&a, "nonce", &val);
    (void)sipline_param_get(v, "tag", &val);
    int n = 0;
    while (sipline_list_next(&rest, &item) == 1 && n++ < 64) {
      if (sipline_via_parse(item, &via) == 0)
        (void)sipline_param_get(via.params, "ttl", &val);
      if (sipline_nameaddr_parse(item, &na) == 0)
        (void)sipline_param_get(na.uri.params, "lr", &val);
    }
    (void)sipline_hdr_lookup(msg->hdrs[i].name);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Copy into an exact-size heap buffer so ASan sees any overread. */
  char *buf = malloc(size ? size : 1);
  if (buf == NULL)
    return 0;
  memcpy(buf, data, size);
  sipline_msg_error e;
  ptrdiff_t r = sipline_msg_parse(&m, buf, size, SIPLINE_PARSE_DATAGRAM, &e);
  if (r >= 0) {
    if ((size_t)r > size)
      abort();
    sub_parsers(&m);
    (void)sipline_msg_validate(&m, &e);
    (void)sipline_msg_uas_check(&m, NULL, &e);
    size_t cap = size * 2 + 64;
    char *out = malloc(cap);
    if (out) {
      ptrdiff_t n = sipline_msg_print(&m, out, cap);
      if (n < 0)
        abort();
      ptrdiff_t r2 =
          sipline_msg_parse(&m2, out, (size_t)n, SIPLINE_PARSE_STREAM, &e);
      if (r2 == n && (m2.body.len != m.body.len ||
                      memcmp(m2.body.p, m.body.p, m.body.len) != 0))
        abort();
      free(out);
    }
  }
  /* Stream framing: keep-alives, then the whole buffer and a prefix. */
  size_t skip = sipline_stream_skip_crlf(buf, size);
  r = sipline_msg_parse(&m2, buf + skip, size - skip, SIPLINE_PARSE_STREAM, &e);
  if (r > (ptrdiff_t)(size - skip))
    abort();
  if (size > 1) {
    size_t cut = skip + (unsigned char)buf[0] % (size - skip + 1);
    if (cut > size)
      cut = size;
    ptrdiff_t rp = sipline_msg_parse(&m2, buf + skip, cut - skip,
                                     SIPLINE_PARSE_STREAM, &e);
    /* A prefix of a complete message is INCOMPLETE or the same message. */
    if (r > 0 && (size_t)r > cut - skip && rp != SIPLINE_ERR_INCOMPLETE &&
        rp != SIPLINE_ERR_MALFORMED && rp != SIPLINE_ERR_TOOBIG)
      abort();
  }
  free(buf);
  return 0;
}
