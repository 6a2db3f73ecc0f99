/*
 * libFuzzer target for the SDP layer: the input goes through
 * sipline_sdp_parse; when it parses, it must print, parse again to an equal
 * structure and print to the same bytes; every reader runs on every media
 * section; and the input is answered (sipline_sdp_make_answer with a local
 * configuration picked by the first byte), the answer must parse with one
 * m= line per offered one, and sipline_sdp_negotiated runs both ways, as
 * does hold by sipline_sdp_set_direction. Sanitizers catch the rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sipline/sdp.h"

static sipline_sdp s1, s2, s3;
static char buf1[1 << 17], buf2[1 << 17], ans[1 << 16];

static const sipline_sdp_codec audio[] = {
    {0, "PCMU", 8000, 0, NULL},
    {8, "PCMA", 8000, 0, NULL},
    {111, "opus", 48000, 2, "useinbandfec=1"},
};
static const sipline_sdp_codec video[] = {{96, "H264", 90000, 0, NULL}};

static void readers(const sipline_sdp *s) {
  for (unsigned i = 0; i < s->n_m; i++) {
    sipline_sdp_rtpmap r;
    sipline_pl v;
    unsigned ms;
    sipline_sdp_rtcp rt;
    sipline_sdp_crypto cr[4];
    for (unsigned f = 0; f < s->m[i].n_fmt; f++) {
      (void)sipline_sdp_rtpmap_get(s, i, (unsigned)f * 7 % 128, &r);
      (void)sipline_sdp_fmtp_get(s, i, f, &v);
    }
    (void)sipline_sdp_ptime_get(s, i, &ms);
    (void)sipline_sdp_rtcp_get(s, i, &rt);
    (void)sipline_sdp_rtcp_mux(s, i);
    (void)sipline_sdp_crypto_list(s, i, cr, 4);
    (void)sipline_sdp_media_dir(s, i);
    (void)sipline_sdp_media_conn(s, i);
  }
  (void)sipline_sdp_attr_get(s, SIPLINE_SDP_SESSION, "group", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A heap copy of exactly size bytes, so ASan sees any over-read. */
  char *p = malloc(size ? size : 1);
  if (!p)
    return 0;
  memcpy(p, data, size);
  if (sipline_sdp_parse(&s1, p, size) != 0) {
    free(p);
    return 0;
  }
  ptrdiff_t n1 = sipline_sdp_print(&s1, buf1, sizeof(buf1));
  if (n1 < 0)
    abort();
  if (sipline_sdp_parse(&s2, buf1, (size_t)n1) != 0 ||
      !sipline_sdp_equal(&s1, &s2))
    abort();
  ptrdiff_t n2 = sipline_sdp_print(&s2, buf2, sizeof(buf2));
  if (n2 != n1 || memcmp(buf1, buf2, (size_t)n1) != 0)
    abort();
  readers(&s1);

  unsigned sel = size ? data[0] : 0;
  sipline_sdp_local_media lm[2] = {
      {.port = 4000,
       .codecs = audio,
       .n_codecs = 3,
       .te_pt = 101,
       .dir = (sipline_sdp_dir)(sel & 3),
       .ptime = 20,
       .rtcp_mux = (sel & 4) != 0},
      {.media = "video", .port = 4002, .codecs = video, .n_codecs = 1},
  };
  if (sel & 8) {
    lm[0].crypto_suite = "AES_CM_128_HMAC_SHA1_80";
    lm[0].crypto_key_params = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
  }
  const sipline_sdp_local local = {(sel & 16) ? "2001:db8::1" : "192.0.2.1",
                                   NULL, lm, 2};
  sipline_sdp_origin o = {"fuzz", 1, 1, 0, false};
  ptrdiff_t na = sipline_sdp_make_answer(&s1, &local, &o, ans, sizeof(ans));
  if (na > 0) {
    if (sipline_sdp_parse(&s3, ans, (size_t)na) != 0 || s3.n_m != s1.n_m)
      abort();
    for (unsigned i = 0; i < s1.n_m; i++) {
      sipline_sdp_result r;
      (void)sipline_sdp_negotiated(&s3, &s1, i, &r);
      (void)sipline_sdp_negotiated(&s1, &s3, i, &r);
    }
  } else if (na != SIPLINE_ERR_UNSUPPORTED && na != SIPLINE_ERR_TOOBIG) {
    abort();
  }
  ptrdiff_t nh = sipline_sdp_set_direction(
      &s1, SIPLINE_SDP_SESSION, SIPLINE_SDP_SENDONLY, &o, buf2, sizeof(buf2));
  if (nh > 0) {
    if (sipline_sdp_parse(&s2, buf2, (size_t)nh) != 0)
      abort();
    for (unsigned i = 0; i < s2.n_m; i++)
      if (sipline_sdp_media_dir(&s2, i) != SIPLINE_SDP_SENDONLY)
        abort();
  }
  free(p);
  return 0;
}
